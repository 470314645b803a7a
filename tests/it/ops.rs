//! An operable daemon (issue 11), over real HTTP against `peerd serve`:
//! the OpenAPI document describes exactly the routes the router serves,
//! `/metrics` needs no key and shows sessions, queue, requests by route
//! template and refused tokens, `metrics_listen` moves it, `/healthz` and
//! `/readyz` answer, JSON logs carry one line per state change and never
//! a secret, and `/readyz` fails while the store cannot be written.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// `(path, method)` of every `.route("path", get(..).post(..))` in
/// `src/api/server.rs` (paths relative to the base path).
fn routes_in_code() -> BTreeSet<(String, String)> {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/server.rs"))
            .unwrap();
    let mut out = BTreeSet::new();
    let mut rest = src.as_str();
    while let Some(i) = rest.find(".route(") {
        rest = rest[i + 7..].trim_start();
        let Some(r) = rest.strip_prefix('"') else {
            continue;
        };
        rest = r;
        let end = rest.find('"').unwrap();
        let path = rest[..end].to_string();
        // the call's arguments, up to its closing parenthesis
        let mut depth = 1;
        let mut j = end;
        for (k, c) in rest[end..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                j = end + k;
                break;
            }
        }
        let args = &rest[end..j];
        for m in ["get", "post", "put", "delete", "patch"] {
            let call = format!("{m}(");
            if args.match_indices(&call).any(|(at, _)| {
                at == 0
                    || !args.as_bytes()[at - 1].is_ascii_alphanumeric()
                        && args.as_bytes()[at - 1] != b'_'
            }) {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

fn routes_in_doc(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((path.clone(), method.clone()));
        }
    }
    out
}

/// Samples `name{labels} value` whose labels include all of `want`.
pub fn metric(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        let (labels, v) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        want.iter()
            .all(|(k, val)| labels.split(',').any(|p| p == format!("{k}=\"{val}\"")))
            .then(|| v.parse().unwrap())
    })
}

async fn scrape(p: &Peerd) -> String {
    // the store's gauges are reused for a second between scrapes
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = Resp::send(p.http.get(format!("{}/metrics", p.url))).await;
    r.expect(200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    r.text
}

#[tokio::test]
async fn the_document_describes_every_route_under_the_base_path() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.base_path = "/peering";
    let p = Peerd::start(&o).await;
    // no token needed
    let r = Resp::send(p.http.get(format!("{}/openapi.json", p.url))).await;
    r.expect(200);
    let doc = &r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/peering");
    assert_eq!(routes_in_doc(doc), routes_in_code());
    // the error body and the bearer scheme are there
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["paths"]["/sessions"]["post"]["security"],
        json!([{"bearer": []}])
    );
    // request metrics name the route template without the base path
    let m = scrape(&p).await;
    assert_eq!(
        metric(
            &m,
            "peerd_http_requests_total",
            &[("route", "/openapi.json"), ("status", "200")]
        ),
        Some(1.0),
        "{m}"
    );
    // every operation has a 2xx answer and the shared ones
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let rs = op["responses"].as_object().unwrap();
            assert!(rs.keys().any(|c| c.starts_with('2')), "{m} {path}");
            assert!(rs.contains_key("500"), "{m} {path}");
        }
    }
}

#[tokio::test]
async fn metrics_without_a_key_health_and_readiness() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let h = Resp::send(p.http.get(format!("{}/healthz", p.url))).await;
    h.expect(200);
    assert_eq!(h.body, json!({"status": "ok"}));
    let r = Resp::send(p.http.get(format!("{}/readyz", p.url))).await;
    r.expect(200);
    assert_eq!(r.body["status"], "ready", "{}", r.text);
    assert_eq!(r.body["checks"]["store"]["ok"], true);
    assert_eq!(r.body["checks"]["worker"]["state"], "disabled");
    assert_eq!(r.body["routers"][0]["router"], "rtr1");

    let mut s = sess(ASN_A, "192.0.2.50", "192.0.2.1", "pdb:ix:1");
    s["session_secret"] = json!("Zq9-metrics-secret");
    let c = p.post("/sessions", TOK_A, &json!([s])).await;
    c.expect(200);
    let id = c.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    p.get(&format!("/sessions/{id}"), TOK_A).await.expect(200);
    p.get("/sessions/00000000-0000-0000-0000-000000000000", TOK_A)
        .await
        .expect(404);
    p.get("/sessions", "not-a-known-token").await.expect(401);
    Resp::send(p.http.get(format!("{}/sessions", p.url)))
        .await
        .expect(401);
    p.get("/admin/jobs", TOK_A).await.expect(403);

    let m = scrape(&p).await;
    assert!(!m.contains("Zq9-metrics-secret") && !m.contains(TOK_A));
    let get = |name, l: &[(&str, &str)]| metric(&m, name, l);
    // worker off: the approved session waits in the queue
    assert_eq!(
        get(
            "peerd_sessions",
            &[("router", "rtr1"), ("status", "Approved")]
        ),
        Some(1.0)
    );
    assert_eq!(
        get(
            "peerd_sessions",
            &[("router", "rtr2"), ("status", "Approved")]
        ),
        Some(0.0)
    );
    assert_eq!(
        get(
            "peerd_queue_jobs",
            &[("kind", "provision"), ("state", "ready")]
        ),
        Some(1.0)
    );
    assert_eq!(get("peerd_queue_depth", &[]), Some(1.0));
    assert!(get("peerd_queue_oldest_job_age_seconds", &[]).unwrap() > 0.0);
    let route = [("route", "/sessions/{session_id}"), ("method", "GET")];
    assert_eq!(
        get(
            "peerd_http_requests_total",
            &[route[0], route[1], ("status", "200")]
        ),
        Some(1.0)
    );
    assert_eq!(
        get(
            "peerd_http_requests_total",
            &[route[0], route[1], ("status", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        get(
            "peerd_http_request_duration_seconds_count",
            &[("route", "/sessions/{session_id}")]
        ),
        Some(2.0)
    );
    assert_eq!(
        get("peerd_auth_refused_total", &[("reason", "missing")]),
        Some(1.0)
    );
    assert_eq!(
        get("peerd_auth_refused_total", &[("reason", "invalid")]),
        Some(1.0)
    );
    assert_eq!(
        get("peerd_auth_refused_total", &[("reason", "not_operator")]),
        Some(1.0)
    );
    assert_eq!(get("peerd_peeringdb_data_present", &[]), Some(0.0));
    assert_eq!(get("peerd_store_read_ok", &[]), Some(1.0));
    // no raw paths as labels: the session id is not in the metrics
    assert!(!m.contains(&id), "{m}");

    // the same behind an operator key
    let a = p.get("/admin/metrics", &p.key).await;
    a.expect(200);
    assert!(a
        .text
        .contains("peerd_sessions{router=\"rtr1\",status=\"Approved\"} 1"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_listen_serves_metrics_apart_from_the_api() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    let port = free_port();
    o.env = vec![("PEERD_METRICS_LISTEN".into(), format!("127.0.0.1:{port}"))];
    let p = Peerd::start(&o).await;
    let api = Resp::send(p.http.get(format!("{}/metrics", p.url))).await;
    api.expect(404);
    let url = format!("http://127.0.0.1:{port}");
    let m = Resp::send(p.http.get(format!("{url}/metrics"))).await;
    m.expect(200);
    assert!(m.text.contains("peerd_build_info"));
    Resp::send(p.http.get(format!("{url}/healthz")))
        .await
        .expect(200);
    Resp::send(p.http.get(format!("{url}/readyz")))
        .await
        .expect(200);
    // nothing else there
    Resp::send(p.http.get(format!("{url}/sessions")))
        .await
        .expect(404);
}

/// Every line of `log` parsed as JSON (panics on a line that is not).
pub fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `peerd::session` lines of `lines` for session `id`, as
/// `(from, to, actor)`.
pub fn changes(lines: &[Value], id: &str) -> Vec<(String, String, String)> {
    lines
        .iter()
        .filter(|l| l["target"] == "peerd::session" && l["session"] == id)
        .map(|l| {
            (
                l["from"].as_str().unwrap().to_string(),
                l["to"].as_str().unwrap().to_string(),
                l["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn json_logs_one_line_per_state_change_and_no_secret() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    o.env = vec![("PEERD_LOG_FORMAT".into(), "json".into())];
    let p = Peerd::start(&o).await;
    let secret = "Kx7-log-secret";
    let mut s = sess(ASN_A, "192.0.2.51", "192.0.2.1", "pdb:ix:1");
    s["session_secret"] = json!(secret);
    let c = p.post("/sessions", TOK_A, &json!([s])).await;
    c.expect(200);
    let id = c.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    p.post(&format!("/admin/sessions/{id}/approve"), &p.key, &json!({}))
        .await
        .expect(200);
    // never pushed (worker off): removed at once
    p.delete(&format!("/sessions/{id}"), TOK_A)
        .await
        .expect(204);
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = json_lines(&p.log());
        if changes(&lines, &id).len() >= 3 || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ch = changes(&lines, &id);
    assert_eq!(ch[0].0, "new");
    assert_eq!(ch[0].1, "Pending");
    assert_eq!(ch[0].2, "pdb:1");
    assert_eq!(
        (ch[1].0.as_str(), ch[1].1.as_str()),
        ("Pending", "Approved")
    );
    assert!(
        ch[1].2.starts_with("operator:") || ch[1].2.contains("noc"),
        "{:?}",
        ch[1]
    );
    assert_eq!(ch.last().unwrap().1, "removed", "{ch:?}");
    for l in lines.iter().filter(|l| l["target"] == "peerd::session") {
        assert_eq!(l["router"], "rtr1");
        assert!(l["timestamp"].is_string() && l["level"] == "INFO");
    }
    let log = p.log();
    assert!(!log.contains(secret), "the secret is in the log");
    assert!(!log.contains(TOK_A) && !log.contains(&p.key));
}

/// `/readyz` while the store's filesystem is full: peerd runs in a mount
/// namespace of its own with its data directory on a small tmpfs, and the
/// test fills that tmpfs through `/proc/PID/root`. The probe's write
/// cannot be flushed, so peerd is not ready; liveness stays ok.
#[tokio::test]
#[ignore = "needs root (a tmpfs in a mount namespace of its own); run by tests/run.sh"]
async fn readyz_fails_while_the_store_cannot_be_written() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.wrap = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mkdir -p data && mount -t tmpfs -o size=16m peerd-test-store data && exec \"$@\"",
        "sh",
    ]
    .map(String::from)
    .to_vec();
    let p = Peerd::start(&o).await;
    let ready = |p: &Peerd| {
        let req = p.http.get(format!("{}/readyz", p.url));
        async move { Resp::send(req).await }
    };
    let r = ready(&p).await;
    r.expect(200);
    // its data directory, as the daemon sees it
    let pid = p.pid().unwrap();
    let data = format!("/proc/{pid}/root{}/data", p.path().display());
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mounts")).unwrap();
    assert!(mounts.contains("peerd-test-store"), "{mounts}");
    let filler = format!("{data}/filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    // The store's last page may still take a few small writes: requests
    // use it up until one cannot be made durable (answered 503), and
    // readiness says so.
    let mut refused = None;
    for i in 0..200 {
        let s = sess(
            ASN_A,
            &format!("192.0.2.{}", 10 + i % 200),
            "192.0.2.1",
            "pdb:ix:1",
        );
        let r = p.post("/sessions", TOK_A, &json!([s])).await;
        if r.status.is_server_error() {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the full store kept taking writes");
    assert!(!refused.text.contains("No space"), "{}", refused.text);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the last probe
    let r = ready(&p).await;
    r.expect(503);
    assert_eq!(r.body["status"], "not ready", "{}", r.text);
    assert_eq!(r.body["checks"]["store"]["ok"], false);
    assert_eq!(r.body["checks"]["store"]["state"], "failed");
    Resp::send(p.http.get(format!("{}/healthz", p.url)))
        .await
        .expect(200);
    // sled (0.34) refuses every write after an I/O error: with room again
    // the store stays unwritable, and readiness says so, until a restart
    std::fs::remove_file(&filler).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ready(&p).await.expect(503);
}

//! Issue 11 against the lab: after a real push, `/metrics` shows the
//! session, push and queue series with the right values, `/readyz` shows
//! the router's last push, and the JSON log has one line per state change
//! and per push, and never the session's secret.

use crate::e2e_lab::{post_one, sess, wait_gone, wait_status, TOK_P2};
use crate::lab::{take_lab, Lab};
use crate::ops::{changes, json_lines, metric};
use crate::support::{fake_pdb, profile, InventoryBuilder, Options, Peerd, Resp};
use std::time::Duration;

async fn scrape(p: &Peerd) -> String {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = Resp::send(p.http.get(format!("{}/metrics", p.url))).await;
    r.expect(200);
    r.text
}

#[tokio::test]
#[ignore = "lab"]
async fn a_push_shows_in_metrics_readiness_and_json_logs() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P2, profile(22, &[(65003, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(InventoryBuilder::lab(&lab).yaml());
    o.worker_yaml =
        "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n"
            .into();
    o.env = vec![("PEERD_LOG_FORMAT".into(), "json".into())];
    let p = Peerd::start(&o).await;
    let secret = lab.get("PEER2_MD5").to_string();
    let id = post_one(
        &p,
        TOK_P2,
        sess(
            65003,
            lab.get("PEER2_V4"),
            lab.get("RTR_V4"),
            "pdb:ix:1",
            Some(&secret),
        ),
    )
    .await;
    wait_status(&p, TOK_P2, &id, "Established", 90).await;

    let m = scrape(&p).await;
    let get = |name, l: &[(&str, &str)]| metric(&m, name, l);
    let rtr = ("router", "rtr");
    assert_eq!(
        get("peerd_sessions", &[rtr, ("status", "Established")]),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        get("peerd_sessions", &[rtr, ("status", "Approved")]),
        Some(0.0)
    );
    assert_eq!(
        get(
            "peerd_pushes_total",
            &[rtr, ("op", "add"), ("outcome", "success")]
        ),
        Some(1.0)
    );
    assert_eq!(
        get("peerd_pushes_total", &[rtr, ("outcome", "transient")]),
        None
    );
    assert_eq!(get("peerd_router_applies_total", &[rtr]), Some(1.0));
    assert_eq!(get("peerd_push_duration_seconds_count", &[rtr]), Some(1.0));
    assert!(get("peerd_push_duration_seconds_sum", &[rtr]).unwrap() > 0.0);
    assert_eq!(get("peerd_queue_depth", &[]), Some(0.0));
    assert_eq!(get("peerd_queue_oldest_job_age_seconds", &[]), Some(0.0));
    assert_eq!(
        get("peerd_bgp_neighbors", &[rtr, ("state", "established")]),
        Some(1.0)
    );
    assert_eq!(get("peerd_sessions_configured_total", &[]), Some(1.0));
    assert!(get("peerd_worker_heartbeat_timestamp_seconds", &[]).is_some());
    assert!(!m.contains(&secret));

    let r = Resp::send(p.http.get(format!("{}/readyz", p.url))).await;
    r.expect(200);
    assert_eq!(r.body["checks"]["worker"]["state"], "running", "{}", r.text);
    assert_eq!(r.body["checks"]["poller"]["state"], "running", "{}", r.text);
    let router = r.body["routers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["router"] == "rtr")
        .unwrap()
        .clone();
    assert_eq!(router["last_push"]["outcome"], "success", "{router}");
    assert_eq!(router["last_push"]["op"], "add");
    assert_eq!(router["last_push"]["sessions"], 1);
    assert_eq!(router["last_poll"]["ok"], true);

    p.delete(&format!("/sessions/{id}"), TOK_P2)
        .await
        .expect(204);
    wait_gone(&p, TOK_P2, &id, 60).await;
    let m = scrape(&p).await;
    assert_eq!(
        metric(
            &m,
            "peerd_pushes_total",
            &[rtr, ("op", "remove"), ("outcome", "success")]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "peerd_sessions", &[rtr, ("status", "Established")]),
        Some(0.0)
    );

    let log = p.log();
    assert!(!log.contains(&secret), "the session's secret is in the log");
    let lines = json_lines(&log);
    let steps: Vec<(String, String)> = changes(&lines, &id)
        .into_iter()
        .map(|(from, to, _)| (from, to))
        .collect();
    let want = [
        ("new", "Approved"),
        ("Approved", "Provisioning"),
        ("Provisioning", "Configured"),
        ("Configured", "Established"),
        ("Established", "Deleting"),
        ("Deleting", "removed"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(steps, want, "state changes of {id}");
    let actors: Vec<String> = changes(&lines, &id).into_iter().map(|c| c.2).collect();
    assert_eq!(actors[0], "pdb:22");
    assert_eq!(actors[2], "worker");
    assert_eq!(actors[3], "poller");
    let pushes: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "peerd::push")
        .collect();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    for (push, op) in pushes.iter().zip(["add", "remove"]) {
        assert_eq!(push["router"], "rtr");
        assert_eq!(push["op"], op);
        assert_eq!(push["sessions"], 1);
        assert_eq!(push["outcome"], "success");
        assert!(push["ms"].as_u64().is_some(), "{push}");
        assert!(push["session_ids"].as_str().unwrap().contains(&id));
    }
}

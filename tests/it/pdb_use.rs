//! PeeringDB data in a running `peerd serve` (issue 5): `/locations` lists
//! only the exchanges in common, a requester's address must be registered
//! to it (threat T1), max-prefix and `policy_general` from the data,
//! `require_presence`, the sync schedule, a failing or hanging PeeringDB,
//! and the offline path (`peerd peeringdb load FILE`, then `serve`).
//!
//! The data is `tests/data/peeringdb-dump.json`, served online by the
//! objects stand-in. In it, at pdb:ix:42 (192.0.2.0/24): us (AS65001, .1),
//! AS65002 (.2, Selective, 20/10 prefixes), AS65003 (.3, Restrictive),
//! AS65006 (.6, Open); at pdb:ix:43: us and AS65004 (Open, 5/5); at
//! pdb:ix:44: AS65003, AS65004, AS65005, but not us.

use crate::pdb_standin::{dump_path, Mode as ApiMode, PdbStandin};
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

pub const TOK_P2: &str = "tok-as65002";
pub const TOK_P3: &str = "tok-as65003";
pub const TOK_P4: &str = "tok-as65004";
pub const TOK_P5: &str = "tok-as65005";
pub const TOK_P6: &str = "tok-as65006";

/// Our exchanges, as the dump knows them (and one it does not).
pub fn inventory() -> String {
    InventoryBuilder::exchanges()
        .location(
            "pdb:ix:44",
            "Elsewhere-IX",
            "rtr1",
            &["203.0.113.0/24"],
            &["203.0.113.1"],
        )
        .auto()
        .policy(|p| {
            p.max_prefix_v4 = 1000;
            p.max_prefix_v6 = 200;
        })
        .yaml()
}

/// The profile stand-in with a token per network of the dump.
pub async fn profiles() -> FakePdb {
    let p = FakePdb::start().await;
    for (tok, asn) in [
        (TOK_P2, 65002),
        (TOK_P3, 65003),
        (TOK_P4, 65004),
        (TOK_P5, 65005),
        (TOK_P6, 65006),
    ] {
        p.add_token(tok, profile(u64::from(asn), &[(asn, 15, 15)]));
    }
    p
}

/// Options for the dump's world, syncing from `api` on start.
pub fn options(pdb: &FakePdb, api: &PdbStandin) -> Options {
    let mut o = Options::new(pdb);
    o.inventory_yaml = Some(inventory());
    o.pdb_api = Some(api.base.clone());
    o.pdb_sync_secs = 3600;
    o
}

/// Waits (bounded) until the daemon has PeeringDB data in use.
pub async fn wait_for_data(p: &Peerd) -> Value {
    for _ in 0..400 {
        let r = p.get("/admin/peeringdb", &p.key).await;
        r.expect(200);
        if r.body["in_use"] == json!(true) {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no PeeringDB data in use; log:\n{}", p.log());
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["locations"]
        .as_array()
        .unwrap_or_else(|| panic!("no locations: {}", r.text))
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

fn v0_ids(r: &Resp) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", r.text))
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// A session at `loc` asked for by `asn` from `ip` (draft orientation).
fn ask(asn: u32, ip: &str, our_ip: &str, loc: &str) -> Value {
    json!({
        "local_asn": asn, "local_ip": ip, "peer_asn": 65001, "peer_ip": our_ip,
        "location": {"id": loc, "type": "public"},
    })
}

/// The stored session (admin view) of the first accepted item.
async fn stored(p: &Peerd, r: &Resp) -> Value {
    let id = r.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {}", r.text));
    let a = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
    a.expect(200);
    a.body
}

#[tokio::test]
async fn pdb_locations_are_the_exchanges_in_common() {
    let pdb = profiles().await;
    let api = PdbStandin::start().await;
    let p = Peerd::start(&options(&pdb, &api)).await;
    let st = wait_for_data(&p).await;
    assert_eq!(st["exchanges"], 3, "{st}");

    let r = p.get("/locations", TOK_P2).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42"]);
    let r = p.get("/locations?asn=65004", TOK_P4).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:43"]);
    // AS65005 shares no exchange with us (it is only at 44, where we are not)
    let r = p.get("/locations", TOK_P5).await;
    assert_eq!(ids(r.expect(200)), Vec::<String>::new());
    // v0 gives the same answer in its own shape
    let r = p.get("/v0/list_locations?asn=65002", TOK_P2).await;
    assert_eq!(v0_ids(r.expect(200)), ["pdb:ix:42"]);
    let r = p.get("/v0/list_locations?asn=65005", TOK_P5).await;
    assert_eq!(v0_ids(r.expect(200)), Vec::<String>::new());
    // operators: every location, or those in common with the asn named
    let r = p.get("/locations", &p.key).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42", "pdb:ix:43", "pdb:ix:44"]);
    let r = p.get("/locations?asn=65003", &p.key).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42"]);
    // asking for another network's locations is still 403
    let r = p.get("/locations?asn=65004", TOK_P2).await;
    assert_eq!(r.expect(403).error_names(), ["asn"]);
}

#[tokio::test]
async fn pdb_address_registered_to_another_asn_is_rejected() {
    let pdb = profiles().await;
    let api = PdbStandin::start().await;
    let p = Peerd::start(&options(&pdb, &api)).await;
    wait_for_data(&p).await;

    // AS65002 asks with AS65003's address
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([ask(65002, "192.0.2.3", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);
    let msg = r.body["errors"][0]["errors"][0].as_str().unwrap();
    assert!(
        msg.contains("192.0.2.3 is registered to AS65003 at pdb:ix:42"),
        "{msg}"
    );
    // ... and over IPv6, next to a good item: only the spoofed one is refused
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([
                ask(65002, "192.0.2.2", "192.0.2.1", "pdb:ix:42"),
                ask(65002, "2001:db8::3", "2001:db8::1", "pdb:ix:42"),
            ]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["errors"][0]["name"], "sessions[1].local_ip");
    // v0 writes the request the other way round: the error names the
    // field the client used
    let r = p
        .post(
            "/v0/add_sessions",
            TOK_P2,
            &json!([{"local_asn": 65001, "local_ip": "192.0.2.1", "peer_asn": 65002,
                     "peer_ip": "192.0.2.6", "peer_type": "public",
                     "location": {"id": "pdb:ix:42", "type": "PUBLIC"}}]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].peer_ip"]);
    assert!(r.text.contains("registered to AS65006"), "{}", r.text);
    // an operator entering a request is held to the same data
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([ask(65004, "198.51.100.6", "198.51.100.1", "pdb:ix:43")]),
        )
        .await;
    r.expect(200);
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([ask(65003, "192.0.2.6", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);
    // an address nobody lists is fine without require_presence
    let r = p
        .post(
            "/sessions",
            TOK_P5,
            &json!([ask(65005, "192.0.2.55", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    r.expect(200);
}

#[tokio::test]
async fn pdb_max_prefix_and_policy_general_and_presence() {
    let pdb = profiles().await;
    let api = PdbStandin::start().await;
    let mut o = options(&pdb, &api);
    o.pdb_yaml = "  require_presence: true\n  policy_general_allowed: [Open]\n  max_prefix_margin_percent: 10\n".into();
    let p = Peerd::start(&o).await;
    wait_for_data(&p).await;

    // AS65006 is Open: approved; publishes no prefix counts: no own limit
    let r = p
        .post(
            "/sessions",
            TOK_P6,
            &json!([ask(65006, "192.0.2.6", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    let s = stored(&p, r.expect(200)).await;
    assert_eq!(s["status"], "Approved", "{s}");
    assert!(s.get("max_prefix").is_none(), "{s}");

    // AS65002 is Selective: held for an operator, with the reason; its
    // limits are 20 and 10 prefixes plus 10%
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([
                ask(65002, "192.0.2.2", "192.0.2.1", "pdb:ix:42"),
                ask(65002, "2001:db8::2", "2001:db8::1", "pdb:ix:42"),
            ]),
        )
        .await;
    r.expect(200);
    let sessions = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    for (item, want) in sessions.iter().zip([22, 11]) {
        assert_eq!(item["status"], "Pending", "{item}");
        let detail = item["status_detail"].as_str().unwrap();
        assert!(
            detail.contains("policy_general is Selective") && detail.contains("Open"),
            "{detail}"
        );
        let id = item["session_id"].as_str().unwrap();
        let a = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
        assert_eq!(a.expect(200).body["max_prefix"], want, "{}", a.text);
    }
    // an operator approves it like any other pending session
    let id = sessions[0]["session_id"].as_str().unwrap();
    p.post(&format!("/admin/sessions/{id}/approve"), &p.key, &json!({}))
        .await
        .expect(200);

    // require_presence: an address nobody lists, and a network without a
    // port at the exchange, are refused
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([ask(65002, "192.0.2.99", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);
    assert!(r.text.contains("not registered to AS65002"), "{}", r.text);
    let r = p
        .post(
            "/sessions",
            TOK_P5,
            &json!([ask(65005, "192.0.2.55", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_asn"]);
    assert!(r.text.contains("no port at pdb:ix:42"), "{}", r.text);
}

#[tokio::test]
async fn pdb_failed_sync_keeps_the_last_good_data() {
    let pdb = profiles().await;
    let api = PdbStandin::start().await;
    let p = Peerd::start(&options(&pdb, &api)).await;
    let first = wait_for_data(&p).await;
    assert!(first["source"].as_str().unwrap().starts_with("api "));
    assert_eq!(first["last_error"], Value::Null);

    // PeeringDB throttles us for an hour: the sync fails at once
    api.set_mode(ApiMode::RateLimited {
        retry_after_secs: 3600,
    });
    let r = p.post("/admin/peeringdb/sync", &p.key, &json!({})).await;
    r.expect(503);
    assert!(r.text.contains("last good data stays in use"), "{}", r.text);
    // an answer without our exchanges is a failure too
    api.set_mode(ApiMode::Normal);
    api.edit_data(|d| d["ix"]["data"] = json!([]));
    p.post("/admin/peeringdb/sync", &p.key, &json!({}))
        .await
        .expect(503);
    let st = p.get("/admin/peeringdb", &p.key).await;
    st.expect(200);
    assert_eq!(st.body["in_use"], true);
    assert_eq!(st.body["taken_at"], first["taken_at"]);
    assert_eq!(st.body["exchanges"], 3);
    assert!(st.body["last_error"]
        .as_str()
        .unwrap()
        .contains("none of our"));
    // the data in use still decides
    let r = p.get("/locations", TOK_P2).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42"]);
    // and it survives a restart (kept in the store)
    let mut p = p;
    p.restart().await;
    let st = wait_for_data(&p).await;
    assert_eq!(st["taken_at"], first["taken_at"]);
    let r = p.get("/locations", TOK_P4).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:43"]);
}

#[tokio::test]
async fn pdb_api_stays_responsive_while_peeringdb_hangs() {
    let pdb = profiles().await;
    let api = PdbStandin::start().await;
    let mut o = options(&pdb, &api);
    o.pdb_timeout_secs = 6;
    let p = Peerd::start(&o).await;
    wait_for_data(&p).await;
    // a known token, cached
    p.get("/sessions", TOK_P2).await.expect(200);

    // the objects API hangs: an on-demand sync waits on it ...
    api.set_mode(ApiMode::Hang);
    api.clear_hits();
    let sync = {
        let (http, url, key) = (p.http.clone(), p.url.clone(), p.key.clone());
        tokio::spawn(async move {
            http.post(format!("{url}/admin/peeringdb/sync"))
                .bearer_auth(key)
                .send()
                .await
        })
    };
    // ... and the profile endpoint hangs: a new token's check waits too
    pdb.set_mode(Mode::Hang);
    let before = pdb.hits();
    let check = {
        let (http, url) = (p.http.clone(), p.url.clone());
        tokio::spawn(async move {
            let r = http
                .get(format!("{url}/sessions"))
                .bearer_auth(TOK_P4)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        })
    };
    for _ in 0..400 {
        if !api.hits().is_empty() && pdb.hits() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(!api.hits().is_empty() && pdb.hits() > before, "both hang");

    // meanwhile everything else is answered, from the data in use
    p.get("/healthz", &p.key).await.expect(200);
    let r = p.get("/locations", TOK_P2).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42"]);
    p.get("/sessions", TOK_P2).await.expect(200);
    p.get("/admin/peeringdb", &p.key).await.expect(200);
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([ask(65002, "192.0.2.2", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    r.expect(200);
    assert!(
        !sync.is_finished() && !check.is_finished(),
        "the hanging calls are still waiting on PeeringDB"
    );
    sync.abort();
    // the token check gives up after timeout_secs: 503, never allow
    let (status, body) = check.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("PeeringDB"), "{body}");
}

#[tokio::test]
async fn pdb_offline_dump_load_then_serve() {
    let pdb = profiles().await;
    let mut o = Options::new(&pdb);
    o.inventory_yaml = Some(inventory());
    let mut p = Peerd::start(&o).await;
    // no PeeringDB data, no schedule: locations come from the inventory
    let st = p.get("/admin/peeringdb", &p.key).await;
    assert_eq!(st.expect(200).body["in_use"], false);
    let r = p.get("/locations", TOK_P5).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42", "pdb:ix:43", "pdb:ix:44"]);
    // ... and a spoofed address is not caught
    p.post(
        "/sessions",
        TOK_P2,
        &json!([ask(65002, "192.0.2.3", "192.0.2.1", "pdb:ix:42")]),
    )
    .await
    .expect(200);

    // the daemon holds the store: the CLI says so and changes nothing
    let dump = dump_path();
    let dump = dump.to_str().unwrap();
    let out = p.cli(&["peeringdb", "load", dump]).await;
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("is `peerd serve` running?"),
        "{}",
        out.stderr
    );

    p.kill().await;
    let out = p.cli(&["peeringdb", "load", dump]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("3 exchange(s) [pdb:ix:42, pdb:ix:43, pdb:ix:44]"),
        "{}",
        out.stdout
    );
    let out = p
        .cli(&["peeringdb", "load", "/nonexistent/dump.json"])
        .await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("cannot open"), "{}", out.stderr);

    p.start_again().await;
    let st = p.get("/admin/peeringdb", &p.key).await;
    st.expect(200);
    assert_eq!(st.body["in_use"], true);
    assert!(st.body["source"].as_str().unwrap().starts_with("dump "));
    let r = p.get("/locations", TOK_P5).await;
    assert_eq!(ids(r.expect(200)), Vec::<String>::new());
    let r = p.get("/locations", TOK_P2).await;
    assert_eq!(ids(r.expect(200)), ["pdb:ix:42"]);
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([ask(65002, "192.0.2.6", "192.0.2.1", "pdb:ix:42")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([ask(65002, "2001:db8::2", "2001:db8::1", "pdb:ix:42")]),
        )
        .await;
    let s = stored(&p, r.expect(200)).await;
    assert_eq!(s["max_prefix"], 11, "{s}");
}

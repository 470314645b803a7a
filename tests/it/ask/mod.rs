//! The asking side (issue 13), without the lab: peerd A (AS65001) asks
//! peerd B (AS65010), or a stand-in remote, for sessions; workers are off,
//! so "configured" here means "queued for our router" (`Approved`). The
//! lab tests (`e2e_ask`) take the same flows to real routers.
//!
//! - `flow`: A asks B (a real peerd): dry run, request, the remote's
//!   operator deciding, idempotence, deletion on both sides;
//! - `v0`: a v0-only stand-in that takes a while to say Configured;
//! - `hostile`: remotes that refuse, fail, hang, or answer too much,
//!   garbage or injecting values;
//! - `crash`: SIGKILL between recording a request and the remote's answer;
//! - `login`: our own PeeringDB login (`auth: peeringdb`) and its refresh.

mod crash;
mod flow;
mod hostile;
mod login;
mod v0;

use crate::pdb_standin::PdbStandin;
use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const A_ASN: u32 = 65001;
pub const B_ASN: u32 = 65010;
/// The token A presents to B (B's stand-in PeeringDB says: AS65001).
pub const TOK_A: &str = "tok-a-at-b";
/// The variable A reads it from.
pub const TOKEN_ENV: &str = "PEERD_TEST_REMOTE_TOKEN";
pub const LOC: &str = "pdb:ix:1";

/// PeeringDB as both see it: Lab-IX (`pdb:ix:1`, 192.0.2.0/24 and
/// 2001:db8::/64) with AS65001 at .1/::1 and AS65010 at .10/::10 (and
/// AS65003 at .3, for the spoofing check).
pub fn pdb_data() -> Value {
    pdb_data_for(
        ("192.0.2.0/24", "2001:db8::/64"),
        ("192.0.2.1", "2001:db8::1"),
        ("192.0.2.10", "2001:db8::10"),
    )
}

/// The same world with the given LAN and addresses (the lab's).
pub fn pdb_data_for(lan: (&str, &str), a: (&str, &str), b: (&str, &str)) -> Value {
    json!({
        "ix": {"data": [{"id": 1, "name": "Lab-IX", "status": "ok"}]},
        "ixlan": {"data": [{"id": 1, "ix_id": 1, "status": "ok"}]},
        "ixpfx": {"data": [
            {"id": 1, "ixlan_id": 1, "protocol": "IPv4", "prefix": lan.0, "status": "ok"},
            {"id": 2, "ixlan_id": 1, "protocol": "IPv6", "prefix": lan.1, "status": "ok"}]},
        "netixlan": {"data": [
            {"id": 11, "net_id": 901, "ix_id": 1, "ixlan_id": 1, "asn": A_ASN,
             "ipaddr4": a.0, "ipaddr6": a.1, "status": "ok"},
            {"id": 12, "net_id": 910, "ix_id": 1, "ixlan_id": 1, "asn": B_ASN,
             "ipaddr4": b.0, "ipaddr6": b.1, "status": "ok"},
            {"id": 13, "net_id": 903, "ix_id": 1, "ixlan_id": 1, "asn": 65003,
             "ipaddr4": "192.0.2.3", "status": "ok"}]},
        "net": {"data": [
            {"id": 901, "asn": A_ASN, "name": "Network A", "status": "ok"},
            {"id": 910, "asn": B_ASN, "name": "Network B", "info_prefixes4": 10, "info_prefixes6": 5, "status": "ok"},
            {"id": 903, "asn": 65003, "name": "Other", "status": "ok"}]}
    })
}

/// A's inventory: `rtr1` (frr, never reached) at Lab-IX.
pub fn inventory_a() -> String {
    InventoryBuilder::new(A_ASN)
        .router(router("rtr1", "frr", 2222))
        .location(
            LOC,
            "Lab-IX",
            "rtr1",
            &["192.0.2.0/24", "2001:db8::/64"],
            &["192.0.2.1", "2001:db8::1"],
        )
        .auto()
        .yaml()
}

/// B's inventory: `rtrb` (bird2, never reached) at Lab-IX.
pub fn inventory_b(approval: &str) -> String {
    let b = InventoryBuilder::new(B_ASN)
        .router(router("rtrb", "bird2", 2224))
        .location(
            LOC,
            "Lab-IX",
            "rtrb",
            &["192.0.2.0/24", "2001:db8::/64"],
            &["192.0.2.10", "2001:db8::10"],
        )
        .auto();
    if approval == "manual" {
        b.policy(|p| p.approval = peerd::inventory::Approval::Manual)
            .yaml()
    } else {
        b.yaml()
    }
}

/// Peerd B (AS65010), worker off, trusting `TOK_A` as AS65001.
pub async fn start_b(approval: &str) -> Peerd {
    let pdb = FakePdb::start().await;
    pdb.add_token(TOK_A, profile(1, &[(A_ASN, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.inventory_yaml = Some(inventory_b(approval));
    let p = Peerd::start(&o).await;
    std::mem::forget(pdb);
    p
}

/// The `outbound:` settings for one remote peer at `url`.
pub fn outbound_yaml(asn: u32, url: &str, dialect: &str, auth: &str, extra: &str) -> String {
    format!(
        "outbound:\n  allow_http_loopback: true\n  poll_interval_secs: 1\n  backoff_max_secs: 2\n  timeout_secs: 3\n  max_send_attempts: 3\n  remotes:\n    - asn: {asn}\n      url: \"{url}\"\n      dialect: {dialect}\n      auth: {auth}\n{extra}"
    )
}

/// Options of peerd A (AS65001) with PeeringDB data from `api` and the
/// remote peer's settings `outbound`; its token for the remote in
/// [`TOKEN_ENV`]. `auth_base` is a profile stand-in nobody asks (A's
/// callers here are operators).
pub async fn options_a(api: &PdbStandin, outbound: String) -> Options {
    let pdb = FakePdb::start().await;
    let mut o = Options::new(&pdb);
    std::mem::forget(pdb);
    o.inventory_yaml = Some(inventory_a());
    o.pdb_api = Some(api.base.clone());
    o.pdb_sync_secs = 3600;
    o.extra_yaml = outbound;
    o.env = vec![(TOKEN_ENV.into(), TOK_A.into())];
    o
}

/// Starts A with `outbound` settings and waits for its PeeringDB data.
pub async fn start_a(api: &PdbStandin, outbound: String) -> Peerd {
    let a = Peerd::start(&options_a(api, outbound).await).await;
    crate::pdb_use::wait_for_data(&a).await;
    a
}

/// `POST /admin/outbound` on A.
pub async fn request(a: &Peerd, body: Value) -> Resp {
    a.post("/admin/outbound", &a.key, &body).await
}

/// A's outbound sessions (admin view).
pub async fn outbound_sessions(a: &Peerd) -> Vec<Value> {
    let r = a.get("/admin/sessions?direction=outbound", &a.key).await;
    r.expect(200);
    r.body["sessions"].as_array().unwrap().clone()
}

/// Waits until `f` holds for A's admin view of session `id`.
pub async fn wait_session(
    p: &Peerd,
    id: &str,
    secs: u64,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
        if r.status.as_u16() == 200 && f(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "session {id}: waited for {what}; have {} ; log:\n{}",
            r.text,
            tail(&p.log())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `GET /admin/sessions/{id}` is 404.
pub async fn wait_404(p: &Peerd, id: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
        if r.status.as_u16() == 404 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session {id} still there: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

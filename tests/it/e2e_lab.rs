//! End to end against the lab, with `peerd serve` as a real process: a peer
//! POSTs sessions, the worker pushes them to the real routers over SSH
//! (FRR as `frr`, BIRD as `bird2`), the API shows `Configured` then
//! `Established`, the BIRD peers agree, and `DELETE` leaves nothing behind.
//! Also: coalescing, SIGKILL in the middle of pushes, and faults.

use crate::lab::{lab_routers, take_lab, Lab};
use crate::lab_driver::{peer_protocols, protocol_line};
use crate::support::{fake_pdb, profile, InventoryBuilder, Options, Peerd};
use peerd::inventory::{Credential, HostKey, Router};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub const TOK_P1: &str = "tok-peer1";
pub const TOK_P2: &str = "tok-peer2";

/// Inventory YAML for the lab ([`InventoryBuilder::lab`]), plus `extra`
/// routers, each with its own location on an IPv6 documentation subnet
/// `2001:db8:N::/64` ([`InventoryBuilder::fault_router`]).
pub fn lab_inventory_yaml(lab: &Lab, extra: &[Router]) -> String {
    extra
        .iter()
        .fold(InventoryBuilder::lab(lab), |b, r| b.fault_router(r.clone()))
        .yaml()
}

/// Starts peerd on the lab with the worker on and fast timers.
pub async fn start(
    lab: &Lab,
    extra: &[Router],
    worker_yaml: &str,
    platform_root: Option<&Path>,
) -> Peerd {
    start_with(lab_inventory_yaml(lab, extra), worker_yaml, platform_root).await
}

/// The first extra router's location (`pdb:ix:11`) with an IPv4 LAN too.
pub const EXTRA_LOC: &str = "pdb:ix:11";
pub const EXTRA_V4_LAN: &str = "198.51.100.0/24";
pub const EXTRA_V4_OURS: &str = "198.51.100.1";
pub const EXTRA_V6_OURS: &str = "2001:db8:11::1";

/// The lab inventory with `router` as the only extra router, serving
/// [`EXTRA_LOC`] over IPv4 ([`EXTRA_V4_LAN`]) and IPv6.
pub fn inventory_with_extra_v4(lab: &Lab, router: Router) -> String {
    InventoryBuilder::lab(lab)
        .fault_router(router)
        .edit_location(EXTRA_LOC, |l| {
            l.prefixes.push(EXTRA_V4_LAN.parse().unwrap());
            l.our_ips.push(EXTRA_V4_OURS.parse().unwrap());
        })
        .yaml()
}

/// Starts peerd with `inventory_yaml`, the worker on and fast timers, and a
/// stand-in PeeringDB that knows the lab peers' tokens.
pub async fn start_with(
    inventory_yaml: String,
    worker_yaml: &str,
    platform_root: Option<&Path>,
) -> Peerd {
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P1, profile(21, &[(65002, 15, 15)]));
    pdb.add_token(TOK_P2, profile(22, &[(65003, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(inventory_yaml);
    o.worker_yaml = format!(
        "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n{worker_yaml}"
    );
    o.platform_root = platform_root.map(Path::to_path_buf);
    let p = Peerd::start(&o).await;
    // the stand-in must outlive the test: leak it with the process
    std::mem::forget(pdb);
    p
}

pub fn sess(asn: u32, ip: &str, ours: &str, loc: &str, md5: Option<&str>) -> Value {
    let mut v = json!({"local_asn": asn, "local_ip": ip, "peer_asn": 65001, "peer_ip": ours,
        "peer_type": "public", "location": {"id": loc, "type": "public"}});
    if let Some(m) = md5 {
        v["session_secret"] = json!(m);
    }
    v
}

/// Waits until `GET /sessions/{id}` (as `token`) shows `status`. A wait
/// for `Configured` also ends at `Established` when the audit shows the
/// session went through `Configured` (a peer that is already up can bring
/// the session up between two looks).
pub async fn wait_status(p: &Peerd, token: &str, id: &str, want: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = p.get(&format!("/sessions/{id}"), token).await;
        if r.body["status"] == want {
            return r.body;
        }
        if want == "Configured"
            && r.body["status"] == "Established"
            && times_entered(p, id, "Configured").await > 0
        {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "session {id}: wanted {want}, have {} ({}); log:\n{}",
            r.body["status"],
            r.body["status_detail"],
            tail(&p.log())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `GET /sessions/{id}` answers 404.
pub async fn wait_gone(p: &Peerd, token: &str, id: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = p.get(&format!("/sessions/{id}"), token).await;
        if r.status.as_u16() == 404 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "session {id} still there: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// How often the audit trail shows the session entering `status`.
pub async fn times_entered(p: &Peerd, id: &str, status: &str) -> usize {
    let r = p.get(&format!("/admin/sessions/{id}/audit"), &p.key).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.body["events"]
        .as_array()
        .or_else(|| r.body.as_array())
        .unwrap_or_else(|| panic!("audit shape: {}", r.body))
        .iter()
        .filter(|e| e["to"] == status)
        .count()
}

/// Neighbor addresses in FRR's running config (read locally as root).
pub fn frr_neighbors(lab: &Lab) -> Vec<String> {
    let out = Command::new(lab.get("RTR_VTYSH"))
        .args(["-c", "show running-config bgpd"])
        .output()
        .expect("vtysh");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 4 && w[0] == "neighbor" && w[2] == "remote-as").then(|| w[1].to_string())
        })
        .collect()
}

/// Session files in BIRD's include directory.
pub fn bird_files(lab: &Lab) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(lab.get("RTR2_PEERS_DIR"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    v.sort();
    v
}

/// BGP protocols our BIRD router runs (excluding the base config's).
pub fn bird_protocols(lab: &Lab) -> Vec<String> {
    let out = Command::new(lab.get("RTR2_BIRDC"))
        .args(["show", "protocols"])
        .output()
        .expect("birdc");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("BGP"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// POSTs one session and returns its id.
pub async fn post_one(p: &Peerd, token: &str, body: Value) -> String {
    let r = p.post("/sessions", token, &json!([body])).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The acceptance flow on one router: v4, v6 and v4+MD5 sessions reach
/// Configured then Established (API and BIRD peer), DELETE removes them.
/// POSTs an IPv4, an IPv6 and an IPv4+MD5 session (AS65002, AS65002,
/// AS65003) at `loc` and waits until each is `Configured`, exactly once.
pub async fn post_three_configured(
    p: &Peerd,
    addrs: [&str; 3],
    ours: (&str, &str),
    loc: &str,
    md5: &str,
) -> [(&'static str, String); 3] {
    let ids = [
        (
            TOK_P1,
            post_one(p, TOK_P1, sess(65002, addrs[0], ours.0, loc, None)).await,
        ),
        (
            TOK_P1,
            post_one(p, TOK_P1, sess(65002, addrs[1], ours.1, loc, None)).await,
        ),
        (
            TOK_P2,
            post_one(p, TOK_P2, sess(65003, addrs[2], ours.0, loc, Some(md5))).await,
        ),
    ];
    for (tok, id) in &ids {
        wait_status(p, tok, id, "Configured", 60).await;
        assert_eq!(times_entered(p, id, "Configured").await, 1, "{id}");
    }
    ids
}

async fn flow(loc: &str, ours_key: (&str, &str), proto: &str) {
    let _one = take_lab().await;
    let lab = Lab::load();
    let p = start(&lab, &[], "", None).await;
    let (v4, v6) = (
        lab.get(ours_key.0).to_string(),
        lab.get(ours_key.1).to_string(),
    );
    let ids = vec![
        (
            TOK_P1,
            "PEER1",
            format!("{proto}_v4"),
            post_one(&p, TOK_P1, sess(65002, lab.get("PEER1_V4"), &v4, loc, None)).await,
        ),
        (
            TOK_P1,
            "PEER1",
            format!("{proto}_v6"),
            post_one(&p, TOK_P1, sess(65002, lab.get("PEER1_V6"), &v6, loc, None)).await,
        ),
        (
            TOK_P2,
            "PEER2",
            format!("{proto}_v4"),
            post_one(
                &p,
                TOK_P2,
                sess(
                    65003,
                    lab.get("PEER2_V4"),
                    &v4,
                    loc,
                    Some(lab.get("PEER2_MD5")),
                ),
            )
            .await,
        ),
    ];
    for (tok, peer, pr, id) in &ids {
        wait_status(&p, tok, id, "Established", 90).await;
        assert_eq!(times_entered(&p, id, "Configured").await, 1, "{id}");
        let line = protocol_line(&peer_protocols(&lab, peer), pr);
        assert!(line.contains("Established"), "{peer} {pr}: {line}");
    }
    // the secret never comes back
    let r = p.get(&format!("/sessions/{}", ids[2].3), TOK_P2).await;
    assert!(!r.text.contains(lab.get("PEER2_MD5")), "{}", r.text);
    for (tok, _, _, id) in &ids {
        let r = p.delete(&format!("/sessions/{id}"), tok).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    for (tok, _, _, id) in &ids {
        wait_gone(&p, tok, id, 60).await;
    }
    if proto == "rtr" {
        assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
    } else {
        assert_eq!(bird_files(&lab), Vec::<String>::new());
        assert_eq!(bird_protocols(&lab), Vec::<String>::new());
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn frr_sessions_configure_establish_and_delete() {
    flow("pdb:ix:1", ("RTR_V4", "RTR_V6"), "rtr").await;
}

#[tokio::test]
#[ignore = "lab"]
async fn bird2_sessions_configure_establish_and_delete() {
    flow("pdb:ix:2", ("RTR2_V4", "RTR2_V6"), "rtr2").await;
}

/// 20 sessions approved together for one router go out in one SSH apply
/// (the worker's apply counter at `/admin/metrics`).
#[tokio::test]
#[ignore = "lab"]
async fn twenty_approved_together_are_one_apply() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let p = start(&lab, &[], "", None).await;
    let body: Vec<Value> = (0..20)
        .map(|i| {
            sess(
                65002,
                &format!("192.0.2.{}", 100 + i),
                lab.get("RTR_V4"),
                "pdb:ix:1",
                None,
            )
        })
        .collect();
    let r = p.post("/sessions", TOK_P1, &json!(body)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let ids: Vec<String> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 20);
    for id in &ids {
        wait_status(&p, TOK_P1, id, "Configured", 60).await;
    }
    let m = p.get("/admin/metrics", &p.key).await;
    assert!(
        m.text
            .contains("peerd_router_applies_total{router=\"rtr\"} 1\n"),
        "{}",
        m.text
    );
    assert_eq!(frr_neighbors(&lab).len(), 20);
    for id in &ids {
        p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    }
    for id in &ids {
        wait_gone(&p, TOK_P1, id, 60).await;
    }
    assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
}

/// SIGKILL in the middle of pushes, 10 times at different points: every
/// session ends Configured exactly once, and neither router holds a
/// duplicate or leftover neighbor.
#[tokio::test]
#[ignore = "lab"]
async fn sigkill_mid_push_ten_times() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let mut p = start(&lab, &[], "", None).await;
    let mut all: Vec<String> = Vec::new();
    let mut want_frr = BTreeSet::new();
    for round in 0..10u32 {
        let mut body = Vec::new();
        for k in 0..3u32 {
            let host = 100 + round * 6 + k;
            let ip = format!("192.0.2.{host}");
            want_frr.insert(ip.clone());
            body.push(sess(65002, &ip, lab.get("RTR_V4"), "pdb:ix:1", None));
            let ip2 = format!("192.0.2.{}", host + 3);
            body.push(sess(65002, &ip2, lab.get("RTR2_V4"), "pdb:ix:2", None));
        }
        let r = p.post("/sessions", TOK_P1, &json!(body)).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        for s in r.body["sessions"].as_array().unwrap() {
            all.push(s["session_id"].as_str().unwrap().to_string());
        }
        // kill at a different point of the push each round
        tokio::time::sleep(Duration::from_millis(u64::from(round) * 120)).await;
        p.restart().await;
    }
    for id in &all {
        wait_status(&p, TOK_P1, id, "Configured", 120).await;
    }
    for id in &all {
        assert_eq!(times_entered(&p, id, "Configured").await, 1, "{id}");
    }
    let frr = frr_neighbors(&lab);
    let frr_set: BTreeSet<String> = frr.iter().cloned().collect();
    assert_eq!(frr.len(), frr_set.len(), "duplicate FRR neighbor: {frr:?}");
    assert_eq!(frr_set, want_frr);
    let files = bird_files(&lab);
    let protos = bird_protocols(&lab);
    assert_eq!(files.len(), 30, "{files:?}");
    assert_eq!(protos.len(), 30, "{protos:?}");
    for id in &all {
        p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    }
    for id in &all {
        wait_gone(&p, TOK_P1, id, 120).await;
    }
    assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
    assert_eq!(bird_files(&lab), Vec::<String>::new());
}

/// Copies the repo's templates and drivers and adds a `hang` platform whose
/// apply is a command that never ends (timeout 1 s).
fn platform_root_with_hang() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let d = tempfile::tempdir().unwrap();
    for sub in ["templates", "drivers"] {
        let st = Command::new("cp")
            .args([
                "-r",
                root.join(sub).to_str().unwrap(),
                d.path().to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let frr = std::fs::read_to_string(root.join("drivers/frr.yaml")).unwrap();
    let hang = frr
        .replace(
            "description: FRRouting (vtysh) over SSH",
            "description: hangs (test)",
        )
        .replacen(
            "command: vtysh -f /dev/stdin\n      stdin: add.vtysh.tera\n      timeout_secs: 120",
            "command: sleep 30\n      timeout_secs: 1",
            1,
        );
    assert_ne!(hang, frr, "the frr profile changed shape; adjust the test");
    std::fs::write(d.path().join("drivers/hang.yaml"), hang).unwrap();
    Command::new("cp")
        .args([
            "-r",
            d.path().join("templates/frr").to_str().unwrap(),
            d.path().join("templates/hang").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    d
}

/// A wrong host key, a refused connection, an auth failure and a hanging
/// command: each session keeps retrying with a clear status_detail, while
/// a good router keeps provisioning and the API keeps answering.
#[tokio::test]
#[ignore = "lab"]
async fn faults_retry_with_clear_detail_and_block_nobody() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let (rtr, _) = lab_routers(&lab);
    let wrong_pub = std::fs::read_to_string(format!("{}.pub", lab.get("WRONG_SSH_KEY"))).unwrap();
    let mut badkey = rtr.clone();
    badkey.name = "badkey".into();
    badkey.host_key = HostKey::Key(wrong_pub.trim().into());
    let mut refused = rtr.clone();
    refused.name = "refused".into();
    refused.host_key = HostKey::Key(lab.get("HOSTKEY_PUB").into());
    refused.port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut badauth = rtr.clone();
    badauth.name = "badauth".into();
    badauth.credential = Credential::KeyFile(lab.get("WRONG_SSH_KEY").into());
    let mut hang = rtr.clone();
    hang.name = "hang".into();
    hang.platform = "hang".into();
    let root = platform_root_with_hang();
    let p = start(
        &lab,
        &[badkey, refused, badauth, hang],
        "  max_attempts: 1000\n",
        Some(root.path()),
    )
    .await;
    let mut faulty = Vec::new();
    for (n, what) in [
        (11, "host key mismatch"),
        (12, "connect"),
        (13, "authentication"),
        (14, "timed out"),
    ] {
        let id = post_one(
            &p,
            TOK_P1,
            sess(
                65002,
                &format!("2001:db8:{n}::2"),
                &format!("2001:db8:{n}::1"),
                &format!("pdb:ix:{n}"),
                None,
            ),
        )
        .await;
        faulty.push((id, what));
    }
    let good = post_one(
        &p,
        TOK_P1,
        sess(65002, "192.0.2.150", lab.get("RTR_V4"), "pdb:ix:1", None),
    )
    .await;
    wait_status(&p, TOK_P1, &good, "Configured", 60).await;
    for (id, what) in &faulty {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = p.get(&format!("/sessions/{id}"), TOK_P1).await;
            let detail = r.body["status_detail"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            if detail.contains(what) && detail.contains("retrying") {
                assert!(
                    ["Approved", "Provisioning"].contains(&r.body["status"].as_str().unwrap()),
                    "{}",
                    r.body
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "session {id}: no {what:?} in {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // the API keeps answering while the faulty routers keep failing
    let r = p.get("/sessions?asn=65002", TOK_P1).await;
    assert_eq!(r.status.as_u16(), 200);
    p.delete(&format!("/sessions/{good}"), TOK_P1).await;
    wait_gone(&p, TOK_P1, &good, 60).await;
    assert!(!frr_neighbors(&lab).contains(&"192.0.2.150".to_string()));
}

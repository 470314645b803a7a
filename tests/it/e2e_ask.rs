//! The asking side end to end in the lab: two peerd instances, network A
//! (AS65001, its router the lab's FRR `rtr`, 192.0.2.1) and network B
//! (AS65010, its router the lab's BIRD `rtrb`, 192.0.2.10).
//!
//! A's operator logs A in at PeeringDB (the OAuth stand-in, which is
//! PeeringDB for both), then `peerd request 65010`. B checks A's token at
//! PeeringDB, its policy approves, B configures BIRD; A sees the acceptance
//! and configures FRR. Both routers and both APIs see the sessions
//! Established (IPv4 and IPv6, with a TCP-MD5 secret A generated). A
//! deletes: both routers lose the neighbors, both APIs answer 404.
//!
//! The same against a v0-only stand-in that takes a while to say
//! Configured (202, then 200); when it says so, the test configures its
//! end on `rtrb` (as the stand-in's operator would), and BGP comes up.

use crate::ask::{
    outbound_yaml, pdb_data_for, wait_404, wait_session, A_ASN, B_ASN, LOC, TOKEN_ENV, TOK_A,
};
use crate::e2e_lab::frr_neighbors;
use crate::lab::{take_lab, Lab};
use crate::lab_driver::protocol_line;
use crate::oauth_standin::{
    profile as oauth_profile, StandIn, CLIENT_ID, CLIENT_SECRET, REDIRECT, SECRET_ENV,
};
use crate::pdb_standin::PdbStandin;
use crate::support::remote::RemoteStandin;
use crate::support::{FakePdb, InventoryBuilder, Options, Peerd};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const FAST_WORKER: &str =
    "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n";

/// B's inventory: `rtrb` (bird2 over SSH) at Lab-IX.
fn inventory_b(lab: &Lab) -> String {
    let mut rtrb = lab.router("rtrb", "bird2", "RTRB_PORT");
    rtrb.import_policy = Some(lab.get("RTRB_POLICY_IN").into());
    rtrb.export_policy = Some(lab.get("RTRB_POLICY_OUT").into());
    rtrb.vars
        .insert("include_dir".into(), lab.get("RTRB_PEERS_DIR").into());
    rtrb.vars
        .insert("bird_conf".into(), lab.get("RTRB_CONF").into());
    rtrb.vars.insert(
        "bird_socket".into(),
        format!("{}/bird.ctl", lab.get("RTRB_DIR")),
    );
    InventoryBuilder::new(lab.get("RTRB_ASN").parse().unwrap())
        .router(rtrb)
        .location(
            LOC,
            "Lab-IX",
            "rtrb",
            &[lab.get("LAN_V4"), lab.get("LAN_V6")],
            &[lab.get("RTRB_V4"), lab.get("RTRB_V6")],
        )
        .auto()
        .policy(|p| p.time_window_secs = 3600)
        .yaml()
}

/// PeeringDB's data for the lab LAN.
fn pdb_lab(lab: &Lab) -> Value {
    pdb_data_for(
        (lab.get("LAN_V4"), lab.get("LAN_V6")),
        (lab.get("RTR_V4"), lab.get("RTR_V6")),
        (lab.get("RTRB_V4"), lab.get("RTRB_V6")),
    )
}

/// A on the lab (our routers `rtr` and `rtr2`), worker on.
async fn start_a(
    lab: &Lab,
    api: &PdbStandin,
    outbound: String,
    pdb_url: Option<&str>,
    login: bool,
) -> Peerd {
    let placeholder = FakePdb::start().await;
    let mut o = Options::new(&placeholder);
    std::mem::forget(placeholder);
    if let Some(u) = pdb_url {
        o.pdb_url = u.into();
    }
    o.worker = true;
    o.worker_yaml = FAST_WORKER.into();
    o.inventory_yaml = Some(InventoryBuilder::lab(lab).yaml());
    o.pdb_api = Some(api.base.clone());
    o.pdb_sync_secs = 3600;
    o.extra_yaml = outbound;
    o.env = vec![(TOKEN_ENV.into(), TOK_A.into())];
    if login {
        o.pdb_yaml = format!("  client_id: {CLIENT_ID}\n  client_secret_env: {SECRET_ENV}\n  redirect_url: {REDIRECT}\n");
        o.env.push((SECRET_ENV.into(), CLIENT_SECRET.into()));
    }
    let a = Peerd::start(&o).await;
    crate::pdb_use::wait_for_data(&a).await;
    a
}

/// FRR's BGP state of neighbor `ip` (`Established`, `Active`, ...).
fn frr_state(lab: &Lab, ip: &str) -> String {
    let out = Command::new(lab.get("RTR_VTYSH"))
        .args(["-c", &format!("show bgp neighbors {ip} json")])
        .output()
        .expect("vtysh");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v[ip]["bgpState"].as_str().unwrap_or("").to_string()
}

/// `birdc show protocols` of rtrb.
fn rtrb_protocols(lab: &Lab) -> String {
    let out = Command::new(lab.get("RTRB_BIRDC"))
        .args(["show", "protocols"])
        .output()
        .expect("birdc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rtrb_bgp_lines(lab: &Lab) -> Vec<String> {
    rtrb_protocols(lab)
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("BGP"))
        .map(String::from)
        .collect()
}

fn rtrb_files(lab: &Lab) -> Vec<String> {
    std::fs::read_dir(lab.get("RTRB_PEERS_DIR"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect()
}

/// Waits until `f` holds (checked every 300 ms).
async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// No neighbor of B's addresses left on FRR, nothing on rtrb.
fn routers_clean(lab: &Lab) -> bool {
    let frr = frr_neighbors(lab);
    !frr.iter()
        .any(|n| n == lab.get("RTRB_V4") || n == lab.get("RTRB_V6"))
        && rtrb_files(lab).is_empty()
        && rtrb_bgp_lines(lab).is_empty()
}

#[tokio::test]
#[ignore = "lab"]
async fn a_asks_b_and_frr_and_bird_reach_established_then_a_deletes() {
    let _one = take_lab().await;
    let lab = Lab::load();
    assert!(
        routers_clean(&lab),
        "leftovers from an earlier run: FRR {:?}, rtrb {:?}",
        frr_neighbors(&lab),
        rtrb_files(&lab)
    );
    // PeeringDB (OAuth and profiles) for both networks
    let pdb = StandIn::start().await;
    // B: BIRD on rtrb, trusting PeeringDB for who asks
    let placeholder = FakePdb::start().await;
    let mut ob = Options::new(&placeholder);
    std::mem::forget(placeholder);
    ob.pdb_url = pdb.base.clone();
    ob.worker = true;
    ob.worker_yaml = FAST_WORKER.into();
    ob.inventory_yaml = Some(inventory_b(&lab));
    let b = Peerd::start(&ob).await;
    // A: FRR on rtr, B as a remote peer with our PeeringDB token, MD5 generated
    let api = PdbStandin::start_with(pdb_lab(&lab)).await;
    let outbound = outbound_yaml(
        B_ASN,
        &b.url,
        "draft",
        "peeringdb",
        "      secret: generate\n",
    );
    let a = start_a(&lab, &api, outbound, Some(&pdb.base), true).await;

    // A's operator logs A in at PeeringDB, once
    pdb.set_user(oauth_profile(7, &[(A_ASN, 15, 15)]));
    let start = a.post("/admin/outbound/login", &a.key, &json!({})).await;
    start.expect(200);
    let back = pdb
        .authorize(start.body["authorize_url"].as_str().unwrap())
        .await;
    let cb = format!(
        "/auth/callback?code={}&state={}",
        back["code"], back["state"]
    );
    a.call(reqwest::Method::GET, &cb, None, None)
        .await
        .expect(200);

    // peerd request 65010
    let out = crate::support::cli(
        a.path(),
        &[
            "request", "65010", "--url", &a.url, "--key", &a.key, "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let asked: Value = serde_json::from_str(&out.stdout).unwrap();
    let sessions = asked["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{asked}");
    let ids: Vec<(String, String, String)> = sessions
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap().to_string(),
                s["remote"]["session_id"].as_str().unwrap().to_string(),
                s["local_ip"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Established, as both APIs see it
    for (ours, theirs, _) in &ids {
        let s = wait_session(&a, ours, 120, "Established at A", |s| {
            s["status"] == "Established"
        })
        .await;
        assert_eq!(s["router"], "rtr");
        assert_eq!(s["session_secret"], "<redacted>");
        wait_session(&b, theirs, 60, "Established at B", |s| {
            s["status"] == "Established"
        })
        .await;
        // A's view of the remote follows too
        wait_session(&a, ours, 30, "remote Established", |s| {
            s["remote"]["status"] == "Established"
        })
        .await;
    }
    // ... and as both routers see it
    for (_, _, their_ip) in &ids {
        assert_eq!(
            frr_state(&lab, their_ip),
            "Established",
            "FRR towards {their_ip}"
        );
    }
    let bgp = rtrb_bgp_lines(&lab);
    assert_eq!(bgp.len(), 2, "{bgp:?}");
    assert!(bgp.iter().all(|l| l.contains("Established")), "{bgp:?}");
    // the generated secret is configured on both routers, never answered
    let secret_shown = a.get(&format!("/sessions/{}", ids[0].0), &a.key).await;
    assert!(secret_shown.text.contains("<redacted>"));

    // A deletes: both routers lose the neighbors, both APIs answer 404
    for (ours, _, _) in &ids {
        a.delete(&format!("/sessions/{ours}"), &a.key)
            .await
            .expect(204);
    }
    for (ours, theirs, _) in &ids {
        wait_404(&a, ours, 60).await;
        wait_404(&b, theirs, 60).await;
        a.get(&format!("/sessions/{ours}"), &a.key)
            .await
            .expect(404);
        b.get(&format!("/sessions/{theirs}"), &b.key)
            .await
            .expect(404);
    }
    until(30, "both routers without the sessions", || {
        routers_clean(&lab)
    })
    .await;
    let st = a.get("/admin/outbound", &a.key).await;
    assert_eq!(st.body["pending_deletes"], json!([]), "{}", st.text);
}

/// rtrb's end of a session the v0 stand-in "configured".
fn configure_rtrb(lab: &Lab, n: usize, asker_ip: &str) {
    let v6 = asker_ip.contains(':');
    let (local, family) = if v6 {
        (lab.get("RTRB_V6"), "ipv6")
    } else {
        (lab.get("RTRB_V4"), "ipv4")
    };
    let conf = format!(
        "protocol bgp v0test{n} {{\n    local {local} as {};\n    neighbor {asker_ip} as {A_ASN};\n    {family} {{ import filter {}; export filter {}; }};\n}}\n",
        lab.get("RTRB_ASN"),
        lab.get("RTRB_POLICY_IN"),
        lab.get("RTRB_POLICY_OUT"),
    );
    std::fs::write(
        format!("{}/v0test{n}.conf", lab.get("RTRB_PEERS_DIR")),
        conf,
    )
    .unwrap();
    let out = Command::new(lab.get("RTRB_BIRDC"))
        .arg("configure")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Reconfigur"),
        "{out:?}"
    );
}

fn unconfigure_rtrb(lab: &Lab) {
    for f in rtrb_files(lab) {
        if f.starts_with("v0test") {
            let _ = std::fs::remove_file(format!("{}/{f}", lab.get("RTRB_PEERS_DIR")));
        }
    }
    let _ = Command::new(lab.get("RTRB_BIRDC"))
        .arg("configure")
        .output();
}

#[tokio::test]
#[ignore = "lab"]
async fn a_asks_a_v0_remote_and_frr_reaches_established() {
    let _one = take_lab().await;
    let lab = Lab::load();
    unconfigure_rtrb(&lab);
    assert!(
        routers_clean(&lab),
        "leftovers: FRR {:?}, rtrb {:?}",
        frr_neighbors(&lab),
        rtrb_files(&lab)
    );
    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], true).await;
    remote.configure_after(3);
    let labc = Lab::load();
    let n = std::sync::atomic::AtomicUsize::new(0);
    remote.on_configured(move |h| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        configure_rtrb(&labc, i, &h.local_ip);
    });
    let api = PdbStandin::start_with(pdb_lab(&lab)).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let a = start_a(
        &lab,
        &api,
        outbound_yaml(B_ASN, &remote.base, "v0", &auth, ""),
        None,
        false,
    )
    .await;

    let r = a
        .post("/admin/outbound", &a.key, &json!({"asn": B_ASN}))
        .await;
    r.expect(200);
    let sessions = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", r.text);
    for s in &sessions {
        assert_eq!(s["status"], "Pending", "202: the remote is not done yet");
    }
    for s in &sessions {
        let id = s["session_id"].as_str().unwrap();
        let got = wait_session(&a, id, 120, "Established", |s| s["status"] == "Established").await;
        assert_eq!(got["remote"]["status"], "Configured");
        let ip = s["local_ip"].as_str().unwrap();
        assert_eq!(frr_state(&lab, ip), "Established", "FRR towards {ip}");
    }
    let bgp = rtrb_bgp_lines(&lab);
    assert!(
        bgp.iter().filter(|l| l.contains("Established")).count() == 2,
        "{bgp:?}"
    );
    assert!(protocol_line(&rtrb_protocols(&lab), "v0test0").contains("Established"));
    // delete: our end leaves FRR; a v0 remote has no delete route
    for s in &sessions {
        let id = s["session_id"].as_str().unwrap();
        a.delete(&format!("/sessions/{id}"), &a.key)
            .await
            .expect(204);
        wait_404(&a, id, 60).await;
    }
    assert!(remote.deletes().is_empty());
    unconfigure_rtrb(&lab);
    until(30, "both routers clean", || routers_clean(&lab)).await;
}

//! Graceful shutdown and maintenance against the lab, with `peerd serve`
//! as a real process and FRR (`rtr`) announcing a route of its own
//! (`RTR_OWN_V6`) to the BIRD peer `peer1`:
//!
//! - a `DELETE` of an `Established` session first sends the route tagged
//!   GRACEFUL_SHUTDOWN (65535:0, seen in peer1's `birdc show route all`),
//!   waits `worker.drain_secs`, then removes the neighbor; a SIGKILL in the
//!   middle of the wait neither loses nor shortens it;
//! - a maintenance window on `rtr` drains and shuts its sessions down,
//!   keeps them (listed, `status_detail` names the window, `GET
//!   /maintenance` shows it to their peer only), and ending it brings them
//!   back to `Established`.

use crate::e2e_lab::{
    frr_neighbors, lab_inventory_yaml, post_one, sess, start_with, wait_gone, wait_status, TOK_P1,
    TOK_P2,
};
use crate::lab::{take_lab, Lab};
use crate::lab_driver::{peer_protocols, protocol_line};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// peer1's view of rtr's own route (`birdc show route <prefix> all`).
fn peer1_route(lab: &Lab) -> String {
    let cmd = lab.get("PEER1_BIRDC");
    let mut parts = cmd.split_whitespace();
    let out = Command::new(parts.next().unwrap())
        .args(parts)
        .args(["show", "route", lab.get("RTR_OWN_V6"), "all"])
        .output()
        .expect("birdc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn wait_route(lab: &Lab, want_gshut: bool, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = peer1_route(lab);
        let has_route = r.contains("BGP.as_path");
        if has_route && r.contains("(65535,0)") == want_gshut {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "peer1: wanted rtr's route {} GRACEFUL_SHUTDOWN:\n{r}",
            if want_gshut { "with" } else { "without" }
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn drained_delete_on_frr_tags_routes_then_removes_and_survives_a_kill() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let mut p = start_with(lab_inventory_yaml(&lab, &[]), "  drain_secs: 4\n", None).await;
    let id = post_one(
        &p,
        TOK_P1,
        sess(
            65002,
            lab.get("PEER1_V6"),
            lab.get("RTR_V6"),
            "pdb:ix:1",
            None,
        ),
    )
    .await;
    wait_status(&p, TOK_P1, &id, "Established", 90).await;
    let before = wait_route(&lab, false, 30).await;
    assert!(!before.contains("(65535,0)"), "{before}");

    let r = p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    // the peer receives the routes tagged 65535:0 while the neighbor stays
    let tagged = wait_route(&lab, true, 30).await;
    let started = Instant::now();
    assert!(tagged.contains("(65535,0)"), "{tagged}");
    assert!(frr_neighbors(&lab).contains(&lab.get("PEER1_V6").to_string()));
    // the deadline is recorded (status_detail says until when)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = p.get(&format!("/sessions/{id}"), TOK_P1).await;
        assert_eq!(s.body["status"], "Deleting", "{}", s.text);
        let d = s.body["status_detail"].as_str().unwrap_or_default();
        if d.contains("GRACEFUL_SHUTDOWN") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", s.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // killed mid-drain: the restarted peerd waits for the rest, then removes
    p.restart().await;
    let s = p.get(&format!("/sessions/{id}"), TOK_P1).await;
    if started.elapsed() < Duration::from_secs(3) {
        assert_eq!(s.body["status"], "Deleting", "{}", s.text);
        assert!(frr_neighbors(&lab).contains(&lab.get("PEER1_V6").to_string()));
    }
    wait_gone(&p, TOK_P1, &id, 60).await;
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "removed after {:?}, before the drain time",
        started.elapsed()
    );
    assert!(!frr_neighbors(&lab).contains(&lab.get("PEER1_V6").to_string()));
    // drained once, removed once
    let line = protocol_line(&peer_protocols(&lab, "PEER1"), "rtr_v6");
    assert!(!line.contains("Established"), "{line}");
    let log = p.log();
    assert_eq!(
        log.matches("draining before removal").count(),
        1,
        "drain pushed more than once:\n{log}"
    );
}

#[tokio::test]
#[ignore = "lab"]
async fn frr_maintenance_shuts_sessions_down_keeps_them_and_restores_them() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let p = start_with(
        lab_inventory_yaml(&lab, &[]),
        "  drain_secs: 2\n  maintenance_tick_ms: 300\n",
        None,
    )
    .await;
    let v6 = post_one(
        &p,
        TOK_P1,
        sess(
            65002,
            lab.get("PEER1_V6"),
            lab.get("RTR_V6"),
            "pdb:ix:1",
            None,
        ),
    )
    .await;
    let v4 = post_one(
        &p,
        TOK_P1,
        sess(
            65002,
            lab.get("PEER1_V4"),
            lab.get("RTR_V4"),
            "pdb:ix:1",
            None,
        ),
    )
    .await;
    for id in [&v6, &v4] {
        wait_status(&p, TOK_P1, id, "Established", 90).await;
    }
    // nothing planned yet
    let m = p.get("/maintenance", TOK_P1).await;
    assert_eq!(m.status.as_u16(), 200, "{}", m.text);
    assert_eq!(m.body["windows"], json!([]), "{}", m.text);

    let out = p
        .admin_cli(&[
            "maintenance",
            "start",
            "--router",
            "rtr",
            "--reason",
            "line card swap",
        ])
        .await;
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let w = p.get("/admin/maintenance", &p.key).await;
    let win = w.body["windows"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(w.body["windows"][0]["status"], "active", "{}", w.text);

    // drained first (peer1 sees the route tagged), then shut down
    wait_route(&lab, true, 30).await;
    for id in [&v6, &v4] {
        let s = wait_status(&p, TOK_P1, id, "Down", 60).await;
        let d = s["status_detail"].as_str().unwrap_or_default();
        assert!(d.contains(&format!("maintenance {win}")), "{s}");
    }
    // kept: on the router (shut down), still listed
    let run = Command::new(lab.get("RTR_VTYSH"))
        .args(["-c", "show running-config bgpd"])
        .output()
        .unwrap();
    let run = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.contains(&format!("neighbor {} shutdown", lab.get("PEER1_V6"))),
        "{run}"
    );
    let l = p.get("/sessions?asn=65002", TOK_P1).await;
    assert_eq!(
        l.body["sessions"].as_array().unwrap().len(),
        2,
        "{}",
        l.text
    );
    // the peer sees the window; another network with no session there does not
    let m = p.get("/maintenance", TOK_P1).await;
    assert_eq!(m.body["windows"][0]["id"], win.as_str(), "{}", m.text);
    assert_eq!(m.body["windows"][0]["reason"], "line card swap");
    assert!(
        m.body["windows"][0].get("created_by").is_none(),
        "{}",
        m.text
    );
    let v0 = p.get("/v0/maintenance", TOK_P1).await;
    assert_eq!(v0.body, m.body);
    let other = p.get("/maintenance", TOK_P2).await;
    assert_eq!(other.body["windows"], json!([]), "{}", other.text);
    // sessions stay down across polls (no expiry, no drift repair)
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in [&v6, &v4] {
        let s = p.get(&format!("/sessions/{id}"), TOK_P1).await;
        assert_eq!(s.body["status"], "Down", "{}", s.text);
    }

    // out of maintenance: back to Established, untagged
    let out = p.admin_cli(&["maintenance", "end", &win]).await;
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    for id in [&v6, &v4] {
        let s = wait_status(&p, TOK_P1, id, "Established", 90).await;
        let d = s["status_detail"].as_str().unwrap_or_default();
        assert!(!d.contains("maintenance"), "{s}");
    }
    wait_route(&lab, false, 30).await;
    let m = p.get("/maintenance", TOK_P1).await;
    assert_eq!(m.body["windows"], json!([]), "{}", m.text);

    for id in [&v6, &v4] {
        p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    }
    for id in [&v6, &v4] {
        wait_gone(&p, TOK_P1, id, 60).await;
    }
    assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
}

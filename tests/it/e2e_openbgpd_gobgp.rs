//! End to end on the lab's OpenBGPD (`rtr3`, platform `openbgpd`) and GoBGP
//! (`rtr4`, platform `gobgp`), with `peerd serve` as a real process: the
//! sessions a peer POSTs reach `Established` (the API, the router and the
//! BIRD peers agree), `DELETE` leaves nothing of peerd's on the router, and
//! a neighbor configured by hand is seen by the profile's verify read
//! before the first push (the request for its address is `Failed`, the
//! neighbor stays as it was). GoBGP also: a neighbor deleted by hand (as a
//! gobgpd restart would) comes back, and a session with a secret is
//! refused at intake (gobgp's CLI cannot set TCP-MD5).

use crate::e2e_lab::{
    post_one, post_three_configured, sess, start_with, wait_gone, wait_status, TOK_P1, TOK_P2,
};
use crate::lab::{take_lab, Lab};
use crate::lab_driver::{peer_protocols, protocol_line};
use crate::support::InventoryBuilder;
use peerd::platform::{ObservedNeighbor, ParserKind};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a lab tool (locally, as root) and returns its stdout.
fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The router's neighbors, read as the platform's verify read reads them.
fn neighbors(lab: &Lab, platform: &str) -> Vec<ObservedNeighbor> {
    let (text, parser) = match platform {
        "openbgpd" => (
            run(lab.get("RTR3_BGPCTL"), &["-j", "show", "summary"]),
            "openbgpd-neighbors-json",
        ),
        _ => (
            run(lab.get("RTR4_GOBGP"), &["neighbor", "-j"]),
            "gobgp-neighbors-json",
        ),
    };
    ParserKind::from_name(parser).unwrap().parse(&text).unwrap()
}

/// `address peer-as state` of each neighbor, sorted.
fn summary(v: &[ObservedNeighbor]) -> Vec<String> {
    v.iter()
        .map(|n| {
            format!(
                "{} {} {}",
                n.address,
                n.peer_as.unwrap_or(0),
                n.state.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn detail(v: &serde_json::Value) -> &str {
    v["status_detail"].as_str().unwrap_or_default()
}

/// A neighbor in rtr3's `hand.conf` (bgpd.conf includes it), applied with
/// `bgpctl reload`; emptied again on drop.
struct ObgpByHand<'a> {
    lab: &'a Lab,
    text: String,
}

impl<'a> ObgpByHand<'a> {
    fn new(lab: &'a Lab, text: &str) -> Self {
        let me = ObgpByHand {
            lab,
            text: text.to_string(),
        };
        me.write(text);
        me
    }

    fn write(&self, text: &str) {
        std::fs::write(self.lab.get("RTR3_HAND_CONF"), text).unwrap();
        let out = run(self.lab.get("RTR3_BGPCTL"), &["reload"]);
        assert!(out.contains("request processed"), "{out}");
    }
}

impl Drop for ObgpByHand<'_> {
    fn drop(&mut self) {
        self.write("");
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn openbgpd_sessions_establish_and_delete_a_hand_neighbor_stays() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let foreign = "192.0.2.63";
    let hand = ObgpByHand::new(
        &lab,
        &format!("neighbor {foreign} {{\n    remote-as 65063\n    descr \"by hand\"\n}}\n"),
    );
    let p = start_with(InventoryBuilder::lab_more(&lab).yaml(), "", None).await;
    let (v4, v6) = (lab.get("RTR3_V4"), lab.get("RTR3_V6"));

    let id = post_one(&p, TOK_P1, sess(65002, foreign, v4, "pdb:ix:3", None)).await;
    let failed = wait_status(&p, TOK_P1, &id, "Failed", 60).await;
    assert_eq!(
        detail(&failed),
        format!("neighbor {foreign} already exists on router rtr3 and was not configured by peerd")
    );

    let addrs = [
        lab.get("PEER1_V4"),
        lab.get("PEER1_V6"),
        lab.get("PEER2_V4"),
    ];
    let ids = post_three_configured(&p, addrs, (v4, v6), "pdb:ix:3", lab.get("PEER2_MD5")).await;
    for (tok, id) in &ids {
        wait_status(&p, tok, id, "Established", 90).await;
    }
    for (peer, pr) in [
        ("PEER1", "rtr3_v4"),
        ("PEER1", "rtr3_v6"),
        ("PEER2", "rtr3_v4"),
    ] {
        let line = protocol_line(&peer_protocols(&lab, peer), pr);
        assert!(line.contains("Established"), "{peer} {pr}: {line}");
    }
    // the router agrees; the neighbor made by hand is there, not up
    let have = summary(&neighbors(&lab, "openbgpd"));
    assert_eq!(have.len(), 4, "{have:?}");
    for want in [
        format!("{} 65002 Established", addrs[0]),
        format!("{} 65002 Established", addrs[1]),
        format!("{} 65003 Established", addrs[2]),
    ] {
        assert!(have.contains(&want), "{want} not in {have:?}");
    }
    assert!(
        have.iter()
            .any(|n| n.starts_with(&format!("{foreign} 65063 ")) && !n.ends_with("Established")),
        "{have:?}"
    );

    for (tok, id) in &ids {
        let r = p.delete(&format!("/sessions/{id}"), tok).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    for (tok, id) in &ids {
        wait_gone(&p, tok, id, 60).await;
    }
    // only the neighbor made by hand is left, as it was made
    let have = neighbors(&lab, "openbgpd");
    assert_eq!(have.len(), 1, "{:?}", summary(&have));
    assert_eq!(
        (have[0].address.to_string(), have[0].peer_as),
        (foreign.into(), Some(65063))
    );
    assert_eq!(
        std::fs::read_to_string(lab.get("RTR3_HAND_CONF")).unwrap(),
        hand.text
    );
    let dir = std::path::Path::new(lab.get("RTR3_PEERS_DIR"));
    let files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, vec!["sessions.inc".to_string()]);
    assert_eq!(
        std::fs::read_to_string(dir.join("sessions.inc")).unwrap(),
        ""
    );
    drop(p);
}

/// A neighbor added with the gobgp CLI by hand; deleted again on drop.
struct GobgpByHand<'a> {
    lab: &'a Lab,
    addr: &'a str,
}

impl Drop for GobgpByHand<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.lab.get("RTR4_GOBGP"))
            .args(["neighbor", "del", self.addr])
            .output();
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn gobgp_sessions_establish_come_back_and_delete_a_hand_neighbor_stays() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let gobgp = lab.get("RTR4_GOBGP");
    let foreign = "192.0.2.64";
    run(gobgp, &["neighbor", "add", foreign, "as", "65064"]);
    let _hand = GobgpByHand {
        lab: &lab,
        addr: foreign,
    };
    let p = start_with(InventoryBuilder::lab_more(&lab).yaml(), "", None).await;
    let (v4, v6) = (lab.get("RTR4_V4"), lab.get("RTR4_V6"));

    let id = post_one(&p, TOK_P1, sess(65002, foreign, v4, "pdb:ix:4", None)).await;
    let failed = wait_status(&p, TOK_P1, &id, "Failed", 60).await;
    assert_eq!(
        detail(&failed),
        format!("neighbor {foreign} already exists on router rtr4 and was not configured by peerd")
    );

    let (a4, a6) = (lab.get("PEER1_V4"), lab.get("PEER1_V6"));
    let ids = [
        post_one(&p, TOK_P1, sess(65002, a4, v4, "pdb:ix:4", None)).await,
        post_one(&p, TOK_P1, sess(65002, a6, v6, "pdb:ix:4", None)).await,
    ];
    for id in &ids {
        wait_status(&p, TOK_P1, id, "Established", 90).await;
    }
    for pr in ["rtr4_v4", "rtr4_v6"] {
        let line = protocol_line(&peer_protocols(&lab, "PEER1"), pr);
        assert!(line.contains("Established"), "{pr}: {line}");
    }
    let have = summary(&neighbors(&lab, "gobgp"));
    for want in [
        format!("{a4} 65002 Established"),
        format!("{a6} 65002 Established"),
    ] {
        assert!(have.contains(&want), "{want} not in {have:?}");
    }

    // gone from gobgpd (as after a gobgpd restart): pushed again
    run(gobgp, &["neighbor", "del", a4]);
    until(20, "the deleted neighbor did not come back", || {
        summary(&neighbors(&lab, "gobgp"))
            .iter()
            .any(|n| n.starts_with(&format!("{a4} 65002 ")))
    })
    .await;
    wait_status(&p, TOK_P1, &ids[0], "Established", 90).await;

    // a secret: refused at intake (400, naming the field), nothing stored
    // or pushed, the secret never quoted
    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &serde_json::json!([sess(
                65003,
                lab.get("PEER2_V4"),
                v4,
                "pdb:ix:4",
                Some(lab.get("PEER2_MD5")),
            )]),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(
        r.body["errors"][0]["name"], "sessions[0].session_secret",
        "{}",
        r.text
    );
    assert!(
        r.text.contains("cannot set a TCP-MD5 password") && !r.text.contains(lab.get("PEER2_MD5")),
        "{}",
        r.text
    );
    let peer2 = lab.get("PEER2_V4");
    assert!(
        !summary(&neighbors(&lab, "gobgp"))
            .iter()
            .any(|n| n.starts_with(&format!("{peer2} "))),
        "pushed without its secret"
    );

    for id in &ids {
        let r = p.delete(&format!("/sessions/{id}"), TOK_P1).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    for id in &ids {
        wait_gone(&p, TOK_P1, id, 60).await;
    }
    let have = neighbors(&lab, "gobgp");
    assert_eq!(have.len(), 1, "{:?}", summary(&have));
    assert_eq!(
        (have[0].address.to_string(), have[0].peer_as),
        (foreign.into(), Some(65064))
    );
    drop(p);
}

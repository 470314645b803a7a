//! One owner per neighbor address, end to end on the lab's real routers
//! (FRR, BIRD, netconfd), with `peerd serve` as a real process: a second
//! network's request for a configured session's address is refused with 409
//! and the router keeps the first network's neighbor; two networks racing
//! for one address (concurrent POSTs) get exactly one session, and the
//! router holds exactly that network's neighbor. One test per platform.

use crate::e2e_lab::{
    inventory_with_extra_v4, post_one, sess, start, start_with, wait_gone, wait_status, EXTRA_LOC,
    EXTRA_V4_OURS, TOK_P1, TOK_P2,
};
use crate::lab::{take_lab, Lab};
use crate::lab_netconf::{self as nl, LabStream};
use crate::support::Peerd;
use peerd::transport::netconf::{Datastore, Filter, NetconfSession};
use serde_json::json;
use std::process::Command;

/// How a test reads our router's running configuration: (neighbor
/// address, peer AS) pairs.
enum View {
    Frr,
    Bird,
    Netconf(Box<NetconfSession<LabStream>>, String),
}

impl View {
    async fn neighbors(&mut self, lab: &Lab) -> Vec<(String, String)> {
        match self {
            View::Frr => {
                let out = Command::new(lab.get("RTR_VTYSH"))
                    .args(["-c", "show running-config bgpd"])
                    .output()
                    .expect("vtysh");
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| {
                        let w: Vec<&str> = l.split_whitespace().collect();
                        (w.len() >= 4 && w[0] == "neighbor" && w[2] == "remote-as")
                            .then(|| (w[1].to_string(), w[3].to_string()))
                    })
                    .collect()
            }
            View::Bird => {
                // each session is one include file: `neighbor ADDR as ASN;`
                let mut out = Vec::new();
                for e in std::fs::read_dir(lab.get("RTR2_PEERS_DIR")).unwrap() {
                    let path = e.unwrap().path();
                    if path.extension().is_none_or(|x| x != "conf") {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).unwrap();
                    for l in text.lines() {
                        let w: Vec<&str> = l.split_whitespace().collect();
                        if w.len() == 4 && w[0] == "neighbor" && w[2] == "as" {
                            out.push((w[1].to_string(), w[3].trim_end_matches(';').to_string()));
                        }
                    }
                }
                // and BIRD runs what the files say
                let protos = Command::new(lab.get("RTR2_BIRDC"))
                    .args(["show", "protocols"])
                    .output()
                    .expect("birdc");
                let n = String::from_utf8_lossy(&protos.stdout)
                    .lines()
                    .filter(|l| l.split_whitespace().nth(1) == Some("BGP"))
                    .count();
                assert_eq!(n, out.len(), "BIRD runs one protocol per file");
                out
            }
            View::Netconf(s, ns) => {
                let f = nl::bgp_filter(ns);
                let data = s
                    .get_config(Datastore::Running, Some(&Filter::Subtree(&f)))
                    .await
                    .expect("get-config running");
                data.element
                    .find_all_ns(&[(ns.as_str(), "bgp"), (ns.as_str(), "neighbor")])
                    .iter()
                    .map(|n| {
                        (
                            n.child_text("address").unwrap_or_default().to_string(),
                            n.child_text("peer-as").unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            }
        }
    }

    /// The peer AS of every neighbor at `addr`.
    async fn at(&mut self, lab: &Lab, addr: &str) -> Vec<String> {
        self.neighbors(lab)
            .await
            .into_iter()
            .filter(|(a, _)| a == addr)
            .map(|(_, asn)| asn)
            .collect()
    }
}

/// The flow on one router: `held` is configured for AS65002, AS65003's
/// request for it is refused and the router keeps AS65002's neighbor; both
/// race for `raced` and exactly one gets it, on the router too.
async fn one_owner(p: &Peerd, lab: &Lab, view: &mut View, loc: &str, ours: &str, addrs: [&str; 2]) {
    let [held, raced] = addrs;
    let first = post_one(p, TOK_P1, sess(65002, held, ours, loc, None)).await;
    wait_status(p, TOK_P1, &first, "Configured", 60).await;
    assert_eq!(view.at(lab, held).await, vec!["65002"]);

    let r = p
        .post(
            "/sessions",
            TOK_P2,
            &json!([sess(65003, held, ours, loc, None)]),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text);
    assert!(
        !r.text.contains(&first) && !r.text.contains("65002"),
        "{}",
        r.text
    );
    // give a worker the chance to (wrongly) push anything
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        view.at(lab, held).await,
        vec!["65002"],
        "the first network's neighbor stays"
    );
    let g = p.get(&format!("/sessions/{first}"), TOK_P1).await;
    assert_eq!(g.body["status"], "Configured", "{}", g.text);

    let body1 = json!([sess(65002, raced, ours, loc, None)]);
    let body2 = json!([sess(65003, raced, ours, loc, None)]);
    let (r1, r2) = tokio::join!(
        p.post("/sessions", TOK_P1, &body1),
        p.post("/sessions", TOK_P2, &body2)
    );
    let codes = [r1.status.as_u16(), r2.status.as_u16()];
    let (winner, tok, asn) = match codes {
        [200, 409] => (r1, TOK_P1, "65002"),
        [409, 200] => (r2, TOK_P2, "65003"),
        _ => panic!("{raced}: {codes:?}: {} / {}", r1.text, r2.text),
    };
    let won = winner.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_status(p, tok, &won, "Configured", 60).await;
    assert_eq!(view.at(lab, raced).await, vec![asn]);

    for (t, id) in [(TOK_P1, &first), (tok, &won)] {
        let r = p.delete(&format!("/sessions/{id}"), t).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    for (t, id) in [(TOK_P1, &first), (tok, &won)] {
        wait_gone(p, t, id, 60).await;
    }
    for a in addrs {
        assert!(view.at(lab, a).await.is_empty(), "{a} left on the router");
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn frr_one_owner_per_address() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let p = start(&lab, &[], "", None).await;
    let ours = lab.get("RTR_V4").to_string();
    let addrs = ["192.0.2.180", "192.0.2.181"];
    one_owner(&p, &lab, &mut View::Frr, "pdb:ix:1", &ours, addrs).await;
}

#[tokio::test]
#[ignore = "lab"]
async fn bird2_one_owner_per_address() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let p = start(&lab, &[], "", None).await;
    let ours = lab.get("RTR2_V4").to_string();
    let addrs = ["192.0.2.182", "192.0.2.183"];
    one_owner(&p, &lab, &mut View::Bird, "pdb:ix:2", &ours, addrs).await;
}

#[tokio::test]
#[ignore = "lab"]
async fn netconf_one_owner_per_address() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let nc = nl::lab();
    let mut me = nl::connect(&nc).await;
    let addrs = ["198.51.100.80", "198.51.100.81"];
    nl::remove(&mut me, &nc.ns, &addrs).await;
    let mut router = lab.router("nc", "lab-netconf", "NETCONF_PORT");
    router.vars.insert("namespace".into(), nc.ns.clone());
    let p = start_with(inventory_with_extra_v4(&lab, router), "", None).await;
    let mut view = View::Netconf(Box::new(me), nc.ns.clone());
    one_owner(&p, &lab, &mut view, EXTRA_LOC, EXTRA_V4_OURS, addrs).await;
    if let View::Netconf(me, _) = view {
        me.close().await.unwrap();
    }
}

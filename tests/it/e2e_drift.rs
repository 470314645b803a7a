//! Neighbors peerd did not make, and drift, on the lab's real routers with
//! `peerd serve` as a real process (the NETCONF platforms' cases are in
//! [`crate::e2e_netconf`] and [`crate::e2e_openconfig`]):
//!
//! - FRR: a neighbor configured by hand (vtysh) is seen before the first
//!   push: the request for its address is `Failed` with the reason and the
//!   neighbor stays as the operator made it; a peerd neighbor removed by
//!   hand comes back (poller, audit `drift-repair`, metric); one whose
//!   remote-as is changed by hand makes its session `Failed` and stays;
//! - BIRD: a BGP protocol configured by hand (its own file, `birdc
//!   configure`) is seen by `show protocols all`, and left alone.

use crate::e2e_lab::{post_one, sess, start, wait_status, TOK_P1};
use crate::lab::{frr_by_hand, take_lab, vtysh, Lab};
use crate::support::Peerd;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The `neighbor ADDR ...` lines of FRR's running config.
fn frr_lines(lab: &Lab, addr: &str) -> Vec<String> {
    let prefix = format!("neighbor {addr} ");
    vtysh(lab, &["show running-config bgpd"])
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// The session's audit actions (admin API).
async fn actions(p: &Peerd, id: &str) -> Vec<String> {
    let r = p.get(&format!("/admin/sessions/{id}/audit"), &p.key).await;
    r.body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("audit: {}", r.text))
        .iter()
        .map(|e| format!("{} {}", e["action"], e["detail"]))
        .collect()
}

/// Waits until `f` holds (polling every 200 ms), or panics with `what`.
async fn until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn detail(v: &Value) -> &str {
    v["status_detail"].as_str().unwrap_or_default()
}

#[tokio::test]
#[ignore = "lab"]
async fn frr_foreign_neighbor_is_untouched_and_drift_is_repaired_or_failed() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let (foreign, ours) = ("192.0.2.60", "192.0.2.61");
    frr_by_hand(
        &lab,
        &[
            format!("no neighbor {foreign}"),
            format!("no neighbor {ours}"),
        ],
    );
    frr_by_hand(
        &lab,
        &[
            format!("neighbor {foreign} remote-as 65060"),
            format!("neighbor {foreign} description operator"),
        ],
    );
    let by_hand = frr_lines(&lab, foreign);
    let p = start(&lab, &[], "", None).await;

    // 1. the operator's neighbor: refused before any push, left as it was
    let id = post_one(
        &p,
        TOK_P1,
        sess(65002, foreign, lab.get("RTR_V4"), "pdb:ix:1", None),
    )
    .await;
    let failed = wait_status(&p, TOK_P1, &id, "Failed", 60).await;
    assert_eq!(
        detail(&failed),
        format!("neighbor {foreign} already exists on router rtr and was not configured by peerd")
    );
    assert_eq!(frr_lines(&lab, foreign), by_hand);

    // 2. peerd's neighbor removed by hand comes back
    let id = post_one(
        &p,
        TOK_P1,
        sess(65002, ours, lab.get("RTR_V4"), "pdb:ix:1", None),
    )
    .await;
    wait_status(&p, TOK_P1, &id, "Configured", 60).await;
    let pushed = frr_lines(&lab, ours);
    assert!(
        pushed.contains(&format!("neighbor {ours} remote-as 65002")),
        "{pushed:?}"
    );
    frr_by_hand(&lab, &[format!("no neighbor {ours}")]);
    assert_eq!(frr_lines(&lab, ours), Vec::<String>::new());
    // poll interval 0.5 s: seen, confirmed by a read soon after, pushed again
    until(20, "the removed neighbor did not come back", || {
        frr_lines(&lab, ours) == pushed
    })
    .await;
    wait_status(&p, TOK_P1, &id, "Configured", 30).await;
    let trail = actions(&p, &id).await;
    assert!(
        trail.iter().any(|a| a.starts_with("\"drift-repair\"")
            && a.contains(&format!("drift: neighbor {ours} missing on router rtr"))),
        "{trail:?}"
    );
    let m = p.get("/admin/metrics", &p.key).await;
    assert!(
        m.text.contains("peerd_drift_repairs_total 1\n"),
        "{}",
        m.text
    );

    // 3. its remote-as changed by hand: Failed, and not fought over
    frr_by_hand(&lab, &[format!("neighbor {ours} remote-as 65099")]);
    let failed = wait_status(&p, TOK_P1, &id, "Failed", 30).await;
    assert_eq!(
        detail(&failed),
        format!("drift: neighbor {ours} on router rtr has remote-as 65099, expected 65002; not repaired")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        frr_lines(&lab, ours).contains(&format!("neighbor {ours} remote-as 65099")),
        "{:?}",
        frr_lines(&lab, ours)
    );
    drop(p);
    frr_by_hand(
        &lab,
        &[
            format!("no neighbor {foreign}"),
            format!("no neighbor {ours}"),
        ],
    );
}

/// A BIRD protocol file the "operator" wrote next to peerd's (removed, and
/// BIRD reconfigured, on drop).
struct BirdByHand {
    file: PathBuf,
    birdc: String,
}

impl BirdByHand {
    fn new(lab: &Lab, text: &str) -> BirdByHand {
        let file = PathBuf::from(lab.get("RTR2_PEERS_DIR")).join("operator-manual.conf");
        std::fs::write(&file, text).unwrap();
        let b = BirdByHand {
            file,
            birdc: lab.get("RTR2_BIRDC").into(),
        };
        b.configure();
        b
    }

    fn configure(&self) {
        let out = Command::new(&self.birdc)
            .arg("configure")
            .output()
            .expect("birdc");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Reconfigur"), "birdc configure: {text}");
    }
}

impl Drop for BirdByHand {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        self.configure();
    }
}

#[tokio::test]
#[ignore = "lab"]
async fn bird_foreign_protocol_is_seen_and_left_alone() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let addr = "192.0.2.62";
    let text = format!(
        "# configured by hand, not by peerd\nprotocol bgp manual_peer {{\n    local {} as {};\n    \
         neighbor {addr} as 65062;\n    ipv4 {{ import none; export none; }};\n}}\n",
        lab.get("RTR2_V4"),
        lab.get("RTR2_ASN")
    );
    let by_hand = BirdByHand::new(&lab, &text);
    let p = start(&lab, &[], "", None).await;
    let id = post_one(
        &p,
        TOK_P1,
        sess(65002, addr, lab.get("RTR2_V4"), "pdb:ix:2", None),
    )
    .await;
    let failed = wait_status(&p, TOK_P1, &id, "Failed", 60).await;
    assert_eq!(
        detail(&failed),
        format!("neighbor {addr} already exists on router rtr2 and was not configured by peerd")
    );
    assert_eq!(std::fs::read_to_string(&by_hand.file).unwrap(), text);
    let files = crate::e2e_lab::bird_files(&lab);
    assert_eq!(
        files,
        vec!["operator-manual.conf".to_string()],
        "peerd wrote nothing"
    );
    assert_eq!(
        crate::e2e_lab::bird_protocols(&lab),
        vec!["manual_peer".to_string()]
    );
    drop(p);
}

//! End to end on the lab with IRR prefix filters: `peerd serve` expands
//! the peers' lists with the real `bgpq4` from the stand-in IRR server
//! ([`crate::irr_standin`]); after a push the prefix list is on FRR
//! (`show ip prefix-list`, bound to the neighbor) and in BIRD's session
//! file (a prefix set in the import filter), the sessions come up, and a
//! peer whose expansion is empty is held (policy `hold`): never pushed,
//! no empty filter anywhere, `status_detail` says why.

use crate::e2e_lab::{
    bird_files, frr_neighbors, post_one, sess, wait_gone, wait_status, TOK_P1, TOK_P2,
};
use crate::irr_standin::{IrrData, IrrStandin};
use crate::lab::{take_lab, Lab};
use crate::support::{fake_pdb, profile, InventoryBuilder, Options, Peerd};
use peerd::inventory::{OnEmpty, PrefixFilter};
use std::process::Command;
use std::time::{Duration, Instant};

fn vtysh(lab: &Lab, cmd: &str) -> String {
    let out = Command::new(lab.get("RTR_VTYSH"))
        .args(["-c", cmd])
        .output()
        .expect("vtysh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn list_name(id: &str, asn: u32) -> String {
    format!("peerd_as{asn}_{}_in", id.replace('-', ""))
}

#[tokio::test]
#[ignore = "lab"]
async fn irr_prefix_lists_on_frr_and_bird_and_an_empty_expansion_holds() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let mut data = IrrData::fixture();
    // what peer1 announces in the lab, and one more
    data.routes.insert(
        "AS65002".into(),
        vec!["198.51.100.0/24".into(), "192.0.2.0/24".into()],
    );
    let irr = IrrStandin::start(data).await;
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P1, profile(21, &[(65002, 15, 15)]));
    pdb.add_token(TOK_P2, profile(22, &[(65003, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(
        InventoryBuilder::lab(&lab)
            .policy(|p| {
                p.prefix_filter = Some(PrefixFilter {
                    enabled: true,
                    on_empty: OnEmpty::Hold,
                })
            })
            .yaml(),
    );
    o.worker_yaml =
        "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n"
            .into();
    o.extra_yaml = irr.yaml();
    let p = Peerd::start(&o).await;

    let frr = post_one(
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
    let bird = post_one(
        &p,
        TOK_P1,
        sess(
            65002,
            lab.get("PEER1_V4"),
            lab.get("RTR2_V4"),
            "pdb:ix:2",
            None,
        ),
    )
    .await;
    wait_status(&p, TOK_P1, &frr, "Established", 90).await;
    wait_status(&p, TOK_P1, &bird, "Established", 90).await;

    // FRR: the list, bound to the neighbor
    let name = list_name(&frr, 65002);
    let shown = vtysh(&lab, &format!("show ip prefix-list {name}"));
    assert!(shown.contains("permit 198.51.100.0/24"), "{shown}");
    assert!(shown.contains("permit 192.0.2.0/24"), "{shown}");
    let running = vtysh(&lab, "show running-config bgpd");
    assert!(
        running.contains(&format!(
            "neighbor {} prefix-list {name} in",
            lab.get("PEER1_V4")
        )),
        "{running}"
    );
    // BIRD: the prefix set in the session's import filter
    let file = std::path::Path::new(lab.get("RTR2_PEERS_DIR")).join(format!(
        "{}.conf",
        list_name(&bird, 65002).trim_end_matches("_in")
    ));
    let conf = std::fs::read_to_string(&file).unwrap();
    assert!(conf.contains("if ! (net ~ ["), "{conf}");
    assert!(conf.contains("198.51.100.0/24"), "{conf}");

    // AS65003 has nothing in the IRR: held, never pushed
    let held = post_one(
        &p,
        TOK_P2,
        sess(
            65003,
            lab.get("PEER2_V4"),
            lab.get("RTR_V4"),
            "pdb:ix:1",
            None,
        ),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = p.get(&format!("/sessions/{held}"), TOK_P2).await;
        let detail = r.body["status_detail"].as_str().unwrap_or("").to_string();
        if detail.contains("held") {
            assert!(detail.contains("AS65003"), "{detail}");
            assert!(detail.contains("empty"), "{detail}");
            assert_ne!(r.body["status"], "Configured");
            break;
        }
        assert!(Instant::now() < deadline, "not held: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!frr_neighbors(&lab).contains(&lab.get("PEER2_V4").to_string()));
    let none = vtysh(
        &lab,
        &format!("show ip prefix-list {}", list_name(&held, 65003)),
    );
    assert!(!none.contains("permit"), "{none}");

    for (tok, id) in [(TOK_P1, &frr), (TOK_P1, &bird), (TOK_P2, &held)] {
        let r = p.delete(&format!("/sessions/{id}"), tok).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    }
    for (tok, id) in [(TOK_P1, &frr), (TOK_P1, &bird), (TOK_P2, &held)] {
        wait_gone(&p, tok, id, 60).await;
    }
    assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
    assert_eq!(bird_files(&lab), Vec::<String>::new());
    let gone = vtysh(&lab, &format!("show ip prefix-list {name}"));
    assert!(!gone.contains("permit"), "{gone}");
    std::mem::forget(pdb);
}

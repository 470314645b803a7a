//! IRR prefix lists in rendered configs: goldens for FRR and BIRD (add
//! with lists of both families, remove), the refusal to render an empty
//! filter, and (lab-tagged) the renders fed to `vtysh --dryrun` and
//! `bird -p`.

use crate::support::InventoryBuilder;
use peerd::inventory::{Inventory, OnEmpty, PrefixFilter};
use peerd::irr::{PrefixEntry, PrefixList};
use peerd::model::Session;
use peerd::platform::{Op, Profiles, PushPlan};
use peerd::render::{self, Filters, TemplateEnv};
use std::path::Path;

fn shipped() -> (TemplateEnv, Profiles) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    (
        TemplateEnv::load(&root.join("templates")).expect("templates"),
        Profiles::load(&root.join("drivers")).expect("profiles"),
    )
}

fn inventory(platform: &str) -> Inventory {
    InventoryBuilder::golden(platform)
        .policy(|p| {
            p.prefix_filter = Some(PrefixFilter {
                enabled: true,
                on_empty: OnEmpty::Hold,
            })
        })
        .build()
}

fn session(n: u32, v6: bool) -> Session {
    let (local, peer) = if v6 {
        ("2001:db8::2", "2001:db8::1")
    } else {
        ("192.0.2.2", "192.0.2.1")
    };
    Session {
        session_id: format!("7e57da7a-0000-4000-8000-{n:012x}"),
        seq: n as u64,
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (65002, local.parse().unwrap()),
            (65001, peer.parse().unwrap()),
        )
    }
}

fn entry(p: &str, ge: Option<u8>, le: Option<u8>) -> PrefixEntry {
    PrefixEntry::new(p.parse().unwrap(), ge, le).unwrap()
}

fn filters(sessions: &[Session]) -> Filters {
    let v4 = PrefixList {
        entries: vec![
            entry("192.0.2.0/24", None, None),
            entry("198.51.100.0/24", None, Some(32)),
            entry("203.0.113.0/24", Some(25), Some(28)),
        ],
    };
    let v6 = PrefixList {
        entries: vec![
            entry("2001:db8:1::/48", None, None),
            entry("2001:db8:2::/48", None, Some(64)),
        ],
    };
    sessions
        .iter()
        .map(|s| {
            let l = if s.local_ip.is_ipv4() { &v4 } else { &v6 };
            (s.session_id.clone(), l.clone())
        })
        .collect()
}

fn golden(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../golden",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

fn render(platform: &str, op: Op, sessions: &[Session]) -> PushPlan {
    let (env, profiles) = shipped();
    let inv = inventory(platform);
    render::render_batch_filtered(&env, &profiles, op, sessions, &inv, &filters(sessions))
        .unwrap()
        .plan
}

fn text(platform: &str, op: Op, sessions: &[Session]) -> String {
    let (env, profiles) = shipped();
    let inv = inventory(platform);
    let p = render::render_batch_filtered(&env, &profiles, op, sessions, &inv, &filters(sessions))
        .unwrap();
    render::format_push(&p)
}

#[test]
fn golden_irr_prefix_lists_frr_and_bird2() {
    let batch = [session(1, false), session(2, true)];
    for platform in ["frr", "bird2"] {
        for op in [Op::Add, Op::Remove] {
            let t = text(platform, op, &batch);
            if op == Op::Add {
                assert!(t.contains("198.51.100.0/24"), "{t}");
                assert!(t.contains("2001:db8:2::/48"), "{t}");
            }
            golden(&format!("{platform}__{}_irr_filter", op.as_str()), &t);
        }
    }
    let frr = text("frr", Op::Add, &batch);
    assert!(frr.contains("ip prefix-list peerd_as65002_7e57da7a000040008000000000000001_in seq 15 permit 203.0.113.0/24 ge 25 le 28"), "{frr}");
    assert!(
        frr.contains(
            "neighbor 2001:db8::2 prefix-list peerd_as65002_7e57da7a000040008000000000000002_in in"
        ),
        "{frr}"
    );
    let bird = text("bird2", Op::Add, &batch);
    assert!(bird.contains("203.0.113.0/24{25,28}"), "{bird}");
    assert!(bird.contains("2001:db8:2::/48{48,64}"), "{bird}");
}

#[test]
fn an_empty_or_missing_list_is_never_rendered() {
    let (env, profiles) = shipped();
    let inv = inventory("frr");
    let batch = [session(1, false)];
    let mut empty = Filters::new();
    for f in [Filters::new(), {
        empty.insert(batch[0].session_id.clone(), PrefixList::default());
        empty
    }] {
        let e = render::render_batch_filtered(&env, &profiles, Op::Add, &batch, &inv, &f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no good list"), "{e}");
    }
    // a list of the other family is no list either
    let mut wrong = Filters::new();
    wrong.insert(
        batch[0].session_id.clone(),
        PrefixList {
            entries: vec![entry("2001:db8:1::/48", None, None)],
        },
    );
    assert!(render::render_batch_filtered(&env, &profiles, Op::Add, &batch, &inv, &wrong).is_err());
    // removal needs no list
    assert!(render::render_batch(&env, &profiles, Op::Remove, &batch, &inv).is_ok());
}

/// The FRR renders with prefix lists pass `vtysh --dryrun`.
#[test]
#[ignore = "lab"]
fn frr_irr_renders_parse_with_vtysh_dryrun() {
    let dir = tempfile::tempdir().unwrap();
    let batch = [session(1, false), session(2, true)];
    for op in [Op::Add, Op::Remove] {
        let PushPlan::Exec { steps, .. } = render("frr", op, &batch) else {
            panic!()
        };
        for (i, s) in steps.iter().enumerate() {
            let Some(stdin) = &s.stdin else { continue };
            let f = dir.path().join(format!("{}-{i}.conf", op.as_str()));
            std::fs::write(&f, stdin).unwrap();
            let out = std::process::Command::new("vtysh")
                .args(["--dryrun", "-f"])
                .arg(&f)
                .output()
                .expect("vtysh");
            assert!(
                out.status.success(),
                "vtysh --dryrun refused:\n{stdin}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The BIRD renders with prefix sets pass `bird -p`.
#[test]
#[ignore = "lab"]
fn bird_irr_renders_parse_with_bird_p() {
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("peerd");
    std::fs::create_dir_all(&inc).unwrap();
    let main = dir.path().join("bird.conf");
    std::fs::write(
        &main,
        format!(
            "router id 192.0.2.1;\nprotocol device {{}}\ninclude \"{}/*.conf\";\n",
            inc.display()
        ),
    )
    .unwrap();
    let PushPlan::Exec { steps, .. } =
        render("bird2", Op::Add, &[session(1, false), session(2, true)])
    else {
        panic!()
    };
    for s in &steps {
        if let (Some(file), Some(stdin)) = (&s.file, &s.stdin) {
            std::fs::write(inc.join(file), stdin).unwrap();
        }
    }
    let out = std::process::Command::new("bird")
        .args(["-p", "-c"])
        .arg(&main)
        .output()
        .expect("bird");
    assert!(
        out.status.success(),
        "bird -p refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An operator's per-peer override replaces the PeeringDB-derived limit
/// and the defaults, per family.
#[test]
fn max_prefix_override_per_peer() {
    let (env, profiles) = shipped();
    let mut inv = InventoryBuilder::golden("frr").build();
    inv.policy.max_prefix_overrides.insert(
        65002,
        peerd::inventory::MaxPrefixOverride {
            v4: Some(4242),
            v6: None,
        },
    );
    let mut v4 = session(1, false);
    v4.max_prefix = Some(22);
    let v6 = session(2, true);
    let text = render::render_for_cli(&env, &profiles, &inv, Op::Add, &[v4, v6], true).unwrap();
    assert!(
        text.contains("neighbor 192.0.2.2 maximum-prefix 4242"),
        "{text}"
    );
    assert!(
        text.contains("neighbor 2001:db8::2 maximum-prefix 200"),
        "{text}"
    );
    golden("frr__add_max_prefix_override", &text);
}

//! Golden: max-prefix limits from PeeringDB reach the rendered router
//! config (issue 5). The path is the intake's: the dump is loaded into a
//! snapshot, a request is validated and checked against it, the session
//! gets `max_prefix` from the requester's `info_prefixes4/6` plus the
//! margin, and FRR and BIRD render it instead of the inventory's default
//! (1000 / 200 here). AS65002 publishes 20 and 10 prefixes: with 10% the
//! limits are 22 (IPv4) and 11 (IPv6).

use crate::pdb_standin::dump_path;
use crate::support::InventoryBuilder;
use peerd::inventory::Inventory;
use peerd::model::{Caller, Session, SessionStatus};
use peerd::peeringdb::load_dump;
use peerd::platform::{Op, Profiles};
use peerd::policy::pdb::max_prefix;
use peerd::render::{self, TemplateEnv};
use peerd::validate::registry::{check_registration, Registry};
use peerd::validate::{validate_items, Dialect, SessionMeta};
use peerd::wire::CreateBody;
use std::collections::BTreeSet;
use std::path::Path;

const MARGIN: u32 = 10;

fn inventory(platform: &str) -> Inventory {
    InventoryBuilder::golden(platform).build()
}

/// AS65002's request for an IPv4 and an IPv6 session, taken in as the API
/// does, with fixed ids so the render is stable.
fn taken_in(inv: &Inventory) -> Vec<Session> {
    let snap = load_dump(&dump_path(), inv).expect("dump");
    let caller = Caller {
        principal: "pdb:1234".into(),
        asns: BTreeSet::from([65002]),
        is_operator: false,
        read_only: false,
    };
    let body = CreateBody::from_slice(
        br#"[{"local_asn": 65002, "local_ip": "192.0.2.2", "peer_asn": 65001, "peer_ip": "192.0.2.1",
              "location": {"id": "pdb:ix:42", "type": "public"}},
             {"local_asn": 65002, "local_ip": "2001:db8::2", "peer_asn": 65001, "peer_ip": "2001:db8::1",
              "location": {"id": "pdb:ix:42", "type": "public"}}]"#,
    )
    .expect("body");
    validate_items(inv, &caller, &body, Dialect::Draft)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let valid = r.expect("valid");
            let reg = Registry {
                snapshot: &snap,
                require_presence: true,
            };
            check_registration(reg, &valid, &format!("sessions[{i}]")).expect("registered");
            let mut s = valid.to_session(SessionMeta {
                session_id: format!("7e57da7a-0000-4000-8000-0000000000{:02x}", 0x10 + i),
                request_id: "7e57da7a-0000-4000-8000-000000000000".into(),
                status: SessionStatus::Approved,
                status_detail: None,
                seq: i as u64,
                now_ms: 0,
                created_by: caller.principal.clone(),
            });
            let st = peerd::config::PeeringDbSettings {
                max_prefix_margin_percent: MARGIN,
                ..Default::default()
            };
            s.max_prefix = max_prefix(&snap, &valid, &st);
            s
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

#[test]
fn golden_peeringdb_max_prefix_frr_and_bird2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = TemplateEnv::load(&root.join("templates")).expect("templates");
    let profiles = Profiles::load(&root.join("drivers")).expect("profiles");
    for (platform, v4, v6) in [
        ("frr", "maximum-prefix 22", "maximum-prefix 11"),
        ("bird2", "import limit 22", "import limit 11"),
    ] {
        let inv = inventory(platform);
        let sessions = taken_in(&inv);
        assert_eq!(
            sessions.iter().map(|s| s.max_prefix).collect::<Vec<_>>(),
            [Some(22), Some(11)]
        );
        let text = render::render_for_cli(&env, &profiles, &inv, Op::Add, &sessions, true)
            .unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert!(text.contains(v4) && text.contains(v6), "{text}");
        assert!(
            !text.contains(" 1000") && !text.contains(" 200\n"),
            "the inventory default is not used: {text}"
        );
        golden(&format!("{platform}__add_pdb_max_prefix"), &text);
    }
}

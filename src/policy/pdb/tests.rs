//! Unit tests of the policy drawn from PeeringDB data.

use super::*;
use crate::config::PeeringDbSettings;
use crate::peeringdb::types::{Ix, IxLan, Net, NetIxLan, RawData};
use std::collections::BTreeSet;

fn snap() -> Snapshot {
    let row = |id, asn| NetIxLan {
        id,
        net_id: asn - 65000,
        ix_id: 42,
        ixlan_id: 42,
        asn,
        ipaddr4: None,
        ipaddr6: None,
        speed: 0,
        is_rs_peer: false,
        operational: true,
        status: "ok".into(),
    };
    let net = |asn, p4, policy: &str| Net {
        id: asn - 65000,
        asn,
        name: format!("Net {asn}"),
        irr_as_set: String::new(),
        info_prefixes4: p4,
        info_prefixes6: Some(10),
        policy_general: policy.into(),
        info_never_via_route_servers: false,
        status: "ok".into(),
    };
    let raw = RawData {
        ix: vec![Ix {
            id: 42,
            name: "IX".into(),
            name_long: String::new(),
            city: String::new(),
            country: String::new(),
            status: "ok".into(),
        }],
        ixlan: vec![IxLan {
            id: 42,
            ix_id: 42,
            name: String::new(),
            mtu: None,
            rs_asn: None,
            status: "ok".into(),
        }],
        ixpfx: vec![],
        netixlan: vec![row(1, 65002), row(2, 65003), row(3, 65004)],
        net: vec![
            net(65002, Some(20), "Open"),
            net(65003, None, "Restrictive"),
            net(65004, Some(5), ""),
        ],
    };
    Snapshot::build(&BTreeSet::from([42]), raw, "test", 1)
}

fn settings(allowed: &[&str]) -> PeeringDbSettings {
    PeeringDbSettings {
        policy_general_allowed: allowed.iter().map(|s| s.to_string()).collect(),
        ..PeeringDbSettings::default()
    }
}

#[test]
fn policy_general_gate() {
    let s = snap();
    assert_eq!(policy_general_hold(&s, &settings(&[]), 65003), None);
    let open = settings(&["Open", "selective"]);
    assert_eq!(policy_general_hold(&s, &open, 65002), None);
    let r = policy_general_hold(&s, &open, 65003).unwrap();
    assert!(r.contains("policy_general is Restrictive"), "{r}");
    assert!(r.contains("Open, selective"), "{r}");
    let r = policy_general_hold(&s, &open, 65004).unwrap();
    assert!(r.contains("publishes no policy_general"), "{r}");
    assert!(
        policy_general_hold(&s, &open, 65099).is_some(),
        "unknown network"
    );
    assert_eq!(clean("Open\n<b>;"), "Openb");
}

#[test]
fn max_prefix_by_family() {
    let s = snap();
    let st = |percent, abs| PeeringDbSettings {
        max_prefix_margin_percent: percent,
        max_prefix_margin_abs: abs,
        ..Default::default()
    };
    let mut v = crate::policy::tests::session(65002);
    assert_eq!(max_prefix(&s, &v, &st(10, 0)), Some(22));
    v.local_ip = "2001:db8::2".parse().unwrap();
    assert_eq!(max_prefix(&s, &v, &st(10, 0)), Some(11));
    v.local_asn = crate::model::Asn(65003);
    v.local_ip = "192.0.2.3".parse().unwrap();
    assert_eq!(max_prefix(&s, &v, &st(10, 0)), None, "not published");
}

#[test]
fn max_prefix_margin_math() {
    // 20 published (IPv4), 10 (IPv6): percent rounded up, then the absolute margin
    let s = snap();
    let v = crate::policy::tests::session(65002);
    for (percent, abs, want) in [
        (0, 0, 20),
        (10, 0, 22),
        (10, 5, 27),
        (0, 100, 120),
        (15, 0, 23),
        (1, 0, 21),
    ] {
        let st = PeeringDbSettings {
            max_prefix_margin_percent: percent,
            max_prefix_margin_abs: abs,
            ..Default::default()
        };
        assert_eq!(max_prefix(&s, &v, &st), Some(want), "{percent}% + {abs}");
    }
    let huge = PeeringDbSettings {
        max_prefix_margin_percent: u32::MAX,
        max_prefix_margin_abs: u32::MAX,
        ..Default::default()
    };
    assert_eq!(max_prefix(&s, &v, &huge), Some(u32::MAX), "saturates");
}

//! Unit tests of the PeeringDB snapshot: building it and asking it.

use super::*;
use crate::peeringdb::types::{Ix, IxLan, IxPfx, NetIxLan};

fn row(id: u32, ix: u32, asn: u32, v4: &str, v6: Option<&str>) -> NetIxLan {
    NetIxLan {
        id,
        net_id: asn - 65000,
        ix_id: ix,
        ixlan_id: ix,
        asn,
        ipaddr4: v4.parse().ok(),
        ipaddr6: v6.and_then(|s| s.parse().ok()),
        speed: 10000,
        is_rs_peer: false,
        operational: true,
        status: "ok".into(),
    }
}

fn net(asn: u32, p4: Option<u32>, p6: Option<u32>, policy: &str) -> types::Net {
    types::Net {
        id: asn - 65000,
        asn,
        name: format!("Net {asn}"),
        irr_as_set: format!("AS-N{asn}"),
        info_prefixes4: p4,
        info_prefixes6: p6,
        policy_general: policy.into(),
        info_never_via_route_servers: false,
        status: "ok".into(),
    }
}

fn ix(id: u32) -> Ix {
    Ix {
        id,
        name: format!("IX{id}"),
        name_long: String::new(),
        city: String::new(),
        country: String::new(),
        status: "ok".into(),
    }
}

fn lan(id: u32) -> IxLan {
    IxLan {
        id,
        ix_id: id,
        name: String::new(),
        mtu: Some(1500),
        rs_asn: None,
        status: "ok".into(),
    }
}

fn pfx(id: u32, lan: u32, p: &str) -> IxPfx {
    IxPfx {
        id,
        ixlan_id: lan,
        protocol: if p.contains(':') { "IPv6" } else { "IPv4" }.into(),
        prefix: p.parse().ok(),
        in_dfz: true,
        status: "ok".into(),
    }
}

fn sample() -> Snapshot {
    let mut deleted = row(9, 42, 65009, "192.0.2.9", None);
    deleted.status = "deleted".into();
    let raw = RawData {
        ix: vec![ix(42), ix(43), ix(44)],
        ixlan: vec![lan(42), lan(43), lan(44)],
        ixpfx: vec![
            pfx(1, 42, "192.0.2.0/24"),
            pfx(2, 42, "2001:db8::1/64"),
            pfx(3, 43, "198.51.100.0/24"),
            pfx(4, 44, "203.0.113.0/24"),
        ],
        netixlan: vec![
            row(3, 42, 65002, "192.0.2.2", Some("2001:db8::2")),
            row(1, 42, 65001, "192.0.2.1", Some("2001:db8::1")),
            row(2, 43, 65001, "198.51.100.1", None),
            row(4, 43, 65003, "198.51.100.3", None),
            row(5, 44, 65004, "203.0.113.4", None),
            // a second network claiming 65003's address at ix 43
            row(6, 43, 65005, "198.51.100.3", None),
            deleted,
        ],
        net: vec![
            net(65001, Some(10), Some(5), "Open"),
            net(65002, Some(100), None, "Selective"),
            net(65003, Some(0), Some(7), ""),
            net(65004, Some(1), Some(1), "Open"),
            net(65009, Some(1), Some(1), "Open"),
        ],
    };
    Snapshot::build(&BTreeSet::from([42, 43, 45]), raw, "test", 1)
}

#[test]
fn build_restricts_to_wanted_exchanges_and_live_rows() {
    let s = sample();
    assert_eq!(
        s.exchanges.keys().copied().collect::<Vec<_>>(),
        vec![42, 43]
    );
    let ex = s.exchange(42).unwrap();
    assert_eq!(
        ex.prefixes,
        vec![
            "192.0.2.0/24".parse::<IpNet>().unwrap(),
            "2001:db8::/64".parse().unwrap()
        ]
    );
    assert_eq!(
        ex.members.iter().map(|m| m.asn).collect::<Vec<_>>(),
        vec![65001, 65002]
    );
    assert!(
        s.net(65004).is_none(),
        "only at ix 44, which we do not serve"
    );
    assert!(s.net(65009).is_none(), "its only row is deleted");
    assert!(s.net(65005).is_none(), "no net object for it");
    assert!(s.summary().contains("2 exchange(s) [pdb:ix:42, pdb:ix:43]"));
}

#[test]
fn common_exchanges() {
    let s = sample();
    assert_eq!(s.common_exchanges(65001, 65002), vec![42]);
    assert_eq!(s.common_exchanges(65001, 65003), vec![43]);
    assert_eq!(s.common_exchanges(65001, 65001), vec![42, 43]);
    assert!(s.common_exchanges(65001, 65004).is_empty());
    assert!(s.common_exchanges(65002, 65003).is_empty());
    assert_eq!(s.exchanges_of(65001), vec![42, 43]);
    assert!(s.present_at(42, 65002) && !s.present_at(43, 65002));
}

#[test]
fn ip_registration() {
    let s = sample();
    let ip = |t: &str| t.parse::<IpAddr>().unwrap();
    assert_eq!(s.ip_registered_to(42, ip("192.0.2.2")), Some(65002));
    assert_eq!(s.ip_registered_to(42, ip("2001:db8:0::2")), Some(65002));
    assert_eq!(s.ip_registered_to(42, ip("192.0.2.77")), None);
    assert_eq!(
        s.ip_registered_to(43, ip("192.0.2.2")),
        None,
        "other exchange"
    );
    assert_eq!(s.ip_registered_to(99, ip("192.0.2.2")), None);
    // two networks list the same address: nobody is vouched for
    assert_eq!(s.asns_for_ip(43, ip("198.51.100.3")), vec![65003, 65005]);
    assert_eq!(s.ip_registered_to(43, ip("198.51.100.3")), None);
    assert_eq!(
        s.member_ips(42, 65002),
        vec![ip("192.0.2.2"), ip("2001:db8::2")]
    );
}

#[test]
fn max_prefix_with_margin() {
    let s = sample();
    assert_eq!(s.max_prefix(65001, Family::V4, 10), Some(11));
    assert_eq!(
        s.max_prefix(65001, Family::V6, 10),
        Some(6),
        "5.5 rounds up"
    );
    assert_eq!(s.max_prefix(65001, Family::V4, 0), Some(10));
    assert_eq!(s.max_prefix(65002, Family::V4, 25), Some(125));
    assert_eq!(s.max_prefix(65002, Family::V6, 10), None, "not published");
    assert_eq!(s.max_prefix(65003, Family::V4, 10), None, "zero");
    assert_eq!(s.max_prefix(65099, Family::V4, 10), None, "unknown");
    assert_eq!(Family::of("2001:db8::1".parse().unwrap()), Family::V6);
}

#[test]
fn max_prefix_saturates() {
    let mut s = sample();
    s.nets.get_mut(&65001).unwrap().info_prefixes4 = Some(u32::MAX);
    assert_eq!(s.max_prefix(65001, Family::V4, 50), Some(u32::MAX));
}

#[test]
fn policy_general() {
    let s = sample();
    assert_eq!(s.policy_general(65001), Some("Open"));
    assert_eq!(s.policy_general(65002), Some("Selective"));
    assert_eq!(s.policy_general(65003), None, "empty");
    assert_eq!(s.policy_general(65099), None);
}

#[test]
fn json_round_trip() {
    let s = sample();
    let text = serde_json::to_string(&s).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

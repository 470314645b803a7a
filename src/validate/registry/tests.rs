//! Unit tests of the PeeringDB registration check.

use super::*;
use crate::model::{Asn, LocationRef, LocationType};
use crate::peeringdb::types::{Ix, IxLan, NetIxLan, RawData};
use std::collections::BTreeSet;

fn row(id: u32, asn: u32, v4: &str) -> NetIxLan {
    NetIxLan {
        id,
        net_id: asn - 65000,
        ix_id: 42,
        ixlan_id: 42,
        asn,
        ipaddr4: v4.parse().ok(),
        ipaddr6: None,
        speed: 10000,
        is_rs_peer: false,
        operational: true,
        status: "ok".into(),
    }
}

fn snap() -> Snapshot {
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
        netixlan: vec![
            row(1, 65001, "192.0.2.1"),
            row(2, 65002, "192.0.2.2"),
            row(3, 65003, "192.0.2.3"),
            row(4, 65004, "192.0.2.3"),
            row(5, 65004, "192.0.2.4"),
            // AS65005 has a port without an IPv4 address
            row(6, 65005, "none"),
        ],
        net: vec![],
    };
    Snapshot::build(&BTreeSet::from([42]), raw, "test", 1)
}

fn session(asn: u32, ip: &str, loc: &str, flipped: bool) -> ValidSession {
    ValidSession {
        local_asn: Asn(asn),
        local_ip: ip.parse().unwrap(),
        peer_asn: Asn(65001),
        peer_ip: "192.0.2.1".parse().unwrap(),
        local_bgp_role: None,
        peer_bgp_role: None,
        local_insert_asn: true,
        peer_insert_asn: true,
        local_monitoring_session: false,
        peer_monitoring_session: false,
        peer_type: LocationType::Public,
        session_secret: None,
        location: LocationRef {
            id: loc.into(),
            kind: LocationType::Public,
        },
        router: "rtr1".into(),
        flipped,
    }
}

fn check(asn: u32, ip: &str, loc: &str, strict: bool) -> Result<(), Rejection> {
    let s = snap();
    let reg = Registry {
        snapshot: &s,
        require_presence: strict,
    };
    check_registration(reg, &session(asn, ip, loc, false), "sessions[0]")
}

fn only_error(r: Result<(), Rejection>) -> (String, String) {
    let e = r.unwrap_err();
    assert_eq!(e.errors.len(), 1, "{e:?}");
    (e.errors[0].name.clone(), e.errors[0].errors[0].clone())
}

#[test]
fn registered_address_passes() {
    for strict in [false, true] {
        assert!(check(65002, "192.0.2.2", "pdb:ix:42", strict).is_ok());
    }
}

#[test]
fn address_of_another_network_is_refused() {
    for strict in [false, true] {
        let (name, msg) = only_error(check(65002, "192.0.2.4", "pdb:ix:42", strict));
        assert_eq!(name, "sessions[0].local_ip");
        assert!(
            msg.contains("192.0.2.4 is registered to AS65004 at pdb:ix:42"),
            "{msg}"
        );
    }
    // listed by two networks: it vouches for neither
    let (_, msg) = only_error(check(65003, "192.0.2.3", "pdb:ix:42", false));
    assert!(
        msg.contains("AS65004") && msg.contains("as well as to AS65003"),
        "{msg}"
    );
}

#[test]
fn field_names_follow_the_client() {
    let s = snap();
    let reg = Registry {
        snapshot: &s,
        require_presence: true,
    };
    let e = check_registration(
        reg,
        &session(65002, "192.0.2.4", "pdb:ix:42", true),
        "sessions[3]",
    )
    .unwrap_err();
    assert_eq!(e.errors[0].name, "sessions[3].peer_ip");
    let e = check_registration(
        reg,
        &session(65099, "192.0.2.99", "pdb:ix:42", true),
        "sessions[3]",
    )
    .unwrap_err();
    assert_eq!(e.errors[0].name, "sessions[3].peer_asn");
}

#[test]
fn unlisted_address_needs_require_presence_to_be_refused() {
    assert!(check(65002, "192.0.2.77", "pdb:ix:42", false).is_ok());
    let (name, msg) = only_error(check(65002, "192.0.2.77", "pdb:ix:42", true));
    assert_eq!(name, "sessions[0].local_ip");
    assert!(msg.contains("not registered to AS65002"), "{msg}");
    // a port without that address family listed
    assert!(check(65005, "192.0.2.5", "pdb:ix:42", false).is_ok());
    assert!(check(65005, "192.0.2.5", "pdb:ix:42", true).is_err());
}

#[test]
fn absent_network_or_exchange() {
    assert!(check(65099, "192.0.2.99", "pdb:ix:42", false).is_ok());
    let (name, msg) = only_error(check(65099, "192.0.2.99", "pdb:ix:42", true));
    assert_eq!(name, "sessions[0].local_asn");
    assert!(msg.contains("AS65099 has no port at pdb:ix:42"), "{msg}");
    // an exchange the data does not hold
    assert!(check(65002, "192.0.2.2", "pdb:ix:7", false).is_ok());
    let (name, _) = only_error(check(65002, "192.0.2.2", "pdb:ix:7", true));
    assert_eq!(name, "sessions[0].location.id");
    // not a PeeringDB exchange at all
    assert!(check(65099, "192.0.2.99", "pni-fra-1", true).is_ok());
}

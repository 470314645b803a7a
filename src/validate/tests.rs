//! Unit tests of session and request validation.

use super::*;
use crate::wire::{CreateBody, SessionIn};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const INV: &str = r#"
asn: 65001
routers:
  - name: rtr1
    platform: frr
    host: 127.0.0.1
    port: 2222
    user: labops
    credential: { key_file: /tmp/key }
    host_key: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake lab" }
  - name: rtr2
    platform: bird2
    host: 127.0.0.1
    user: labops
    credential: { key_file: /tmp/key }
    host_key: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake lab" }
locations:
  - id: pdb:ix:42
    type: public
    name: Lab-IX
    router: rtr1
    prefixes: [192.0.2.0/24, "2001:db8::/64"]
    our_ips: [192.0.2.1, "2001:db8::1"]
  - id: pdb:ix:43
    type: private
    name: Lab-PNI
    router: rtr2
    prefixes: [198.51.100.0/24, 203.0.113.0/25, 203.0.113.128/25]
    our_ips: [198.51.100.1, 203.0.113.1]
policy:
  approval: auto
  allow_private_asns: true
"#;

fn inv() -> Inventory {
    Inventory::from_yaml(INV, "test.yaml").unwrap()
}

fn inv_no_private() -> Inventory {
    let mut i = inv();
    i.policy.allow_private_asns = false;
    i
}

fn caller(asns: &[u32]) -> Caller {
    Caller {
        principal: "pdb:1".into(),
        asns: asns.iter().copied().collect::<BTreeSet<_>>(),
        is_operator: false,
        read_only: false,
    }
}

fn operator() -> Caller {
    Caller {
        principal: "operator:noc".into(),
        asns: BTreeSet::new(),
        is_operator: true,
        read_only: false,
    }
}

fn item(v: Value) -> SessionIn {
    SessionIn::from_value(v, "sessions[0]").expect("item parses")
}

/// A valid draft-orientation request from AS65002.
fn base() -> Value {
    json!({
        "local_asn": 65002,
        "local_ip": "192.0.2.2",
        "peer_asn": 65001,
        "peer_ip": "192.0.2.1",
        "location": {"id": "pdb:ix:42", "type": "public"}
    })
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

fn ok(v: Value) -> ValidSession {
    validate_session(&inv(), &caller(&[65002]), &item(v), "sessions[0]").expect("valid")
}

fn err(v: Value) -> Rejection {
    validate_session(&inv(), &caller(&[65002]), &item(v), "sessions[0]").expect_err("invalid")
}

/// The rejection names `field` (full path `sessions[0].<field>`).
fn assert_names(r: &Rejection, field: &str) {
    let name = format!("sessions[0].{field}");
    assert!(
        r.errors.iter().any(|e| e.name == name),
        "expected an error on {name}, got {:?}",
        r.errors
    );
}

fn err_on(v: Value, field: &str) -> Rejection {
    let r = err(v);
    assert_eq!(r.status, RejectionStatus::Invalid, "{r:?}");
    assert_names(&r, field);
    r
}

#[test]
fn draft_orientation_with_defaults() {
    let s = ok(base());
    assert!(!s.flipped);
    assert_eq!(s.local_asn, Asn(65002));
    assert_eq!(s.peer_asn, Asn(65001));
    assert_eq!(s.local_ip.to_string(), "192.0.2.2");
    assert_eq!(s.peer_ip.to_string(), "192.0.2.1");
    assert!(s.local_insert_asn && s.peer_insert_asn);
    assert!(!s.local_monitoring_session && !s.peer_monitoring_session);
    assert_eq!(s.peer_type, LocationType::Public);
    assert_eq!(s.router, "rtr1");
    assert_eq!(s.location.id, "pdb:ix:42");
    assert_eq!(s.session_secret, None);
    assert_eq!((s.local_bgp_role, s.peer_bgp_role), (None, None));
}

#[test]
fn flipped_orientation_is_normalised() {
    let v = json!({
        "local_asn": 65001,
        "local_ip": "2001:db8::1",
        "peer_asn": 65002,
        "peer_ip": "2001:db8::2",
        "local_bgp_role": 4,
        "peer_insert_asn": false,
        "local_monitoring_session": true,
        "location": {"id": "pdb:ix:42"}
    });
    let s = ok(v);
    assert!(s.flipped);
    assert_eq!(s.local_asn, Asn(65002));
    assert_eq!(s.local_ip.to_string(), "2001:db8::2");
    assert_eq!(s.peer_asn, Asn(65001));
    assert_eq!(s.peer_ip.to_string(), "2001:db8::1");
    // the client's peer_* is the requester, local_* is us
    assert!(!s.local_insert_asn);
    assert!(s.peer_insert_asn);
    assert!(s.peer_monitoring_session);
    assert!(!s.local_monitoring_session);
    assert_eq!((s.local_bgp_role, s.peer_bgp_role), (Some(4), Some(4)));
}

#[test]
fn flipped_errors_use_the_clients_field_names() {
    // flipped: the client's local_ip is ours; give a foreign address there
    let v = json!({
        "local_asn": 65001, "local_ip": "192.0.2.9",
        "peer_asn": 65002, "peer_ip": "192.0.2.2",
        "location": {"id": "pdb:ix:42"}
    });
    let r = err_on(v, "local_ip");
    assert!(
        !r.errors.iter().any(|e| e.name == "sessions[0].peer_ip"),
        "{r:?}"
    );
    // and a requester address outside the LAN lands on the client's peer_ip
    let v = json!({
        "local_asn": 65001, "local_ip": "192.0.2.1",
        "peer_asn": 65002, "peer_ip": "198.51.100.2",
        "location": {"id": "pdb:ix:42"}
    });
    err_on(v, "peer_ip");
}

#[test]
fn neither_or_both_ours_is_invalid() {
    err_on(with(base(), "peer_asn", json!(65003)), "peer_asn");
    let r = err_on(with(base(), "local_asn", json!(65001)), "local_asn");
    assert!(r.errors[0].errors[0].contains("both"), "{r:?}");
}

#[test]
fn foreign_requester_is_forbidden() {
    let r = validate_session(&inv(), &caller(&[65003]), &item(base()), "sessions[0]").unwrap_err();
    assert_eq!(r.status, RejectionStatus::Forbidden);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].name, "sessions[0].local_asn");
    // flipped: the requester is the client's peer_asn
    let v = json!({
        "local_asn": 65001, "local_ip": "192.0.2.1",
        "peer_asn": 65002, "peer_ip": "192.0.2.2",
        "location": {"id": "pdb:ix:42"}
    });
    let r = validate_session(&inv(), &caller(&[65003]), &item(v), "sessions[5]").unwrap_err();
    assert_eq!(r.status, RejectionStatus::Forbidden);
    assert_eq!(r.errors[0].name, "sessions[5].peer_asn");
    // an operator may act for anyone
    assert!(validate_session(&inv(), &operator(), &item(base()), "sessions[0]").is_ok());
}

#[test]
fn asn_forms_and_ranges() {
    assert_eq!(
        ok(with(base(), "local_asn", json!("65002"))).local_asn,
        Asn(65002)
    );
    assert_eq!(
        ok(with(base(), "peer_asn", json!("65001"))).peer_asn,
        Asn(65001)
    );
    for bad in [
        json!("AS65002"),
        json!("-1"),
        json!(-1),
        json!(65002.5),
        json!(true),
        json!(""),
        json!(" 65002"),
    ] {
        err_on(with(base(), "local_asn", bad), "local_asn");
    }
    let r = err_on(with(base(), "local_asn", json!(4294967296u64)), "local_asn");
    assert!(r.errors[0].errors[0].contains("range"), "{r:?}");
    err_on(with(base(), "local_asn", json!("99999999999")), "local_asn");
    let mut v = base();
    v.as_object_mut().unwrap().remove("local_asn");
    let r = err_on(v, "local_asn");
    assert_eq!(r.errors[0].errors, vec!["required".to_string()]);
}

#[test]
fn reserved_asns_are_refused() {
    for asn in [0u32, 23456, 64496, 65535, 65551, 100000, 4294967295] {
        let op = operator();
        let r = validate_session(
            &inv(),
            &op,
            &item(with(base(), "local_asn", json!(asn))),
            "sessions[0]",
        )
        .unwrap_err();
        assert_eq!(r.status, RejectionStatus::Invalid, "AS{asn}");
        assert_names(&r, "local_asn");
        assert!(r.errors[0].errors[0].contains("reserved"), "{r:?}");
    }
}

#[test]
fn private_asns_follow_policy() {
    let c = caller(&[65002]);
    let it = item(base());
    assert!(validate_session(&inv(), &c, &it, "sessions[0]").is_ok());
    let r = validate_session(&inv_no_private(), &c, &it, "sessions[0]").unwrap_err();
    assert_eq!(r.status, RejectionStatus::Invalid);
    assert_names(&r, "local_asn");
    assert!(r.errors[0].errors[0].contains("private"), "{r:?}");
    // 32-bit private range too
    let op = operator();
    let it = item(with(base(), "local_asn", json!(4200000001u32)));
    assert!(validate_session(&inv(), &op, &it, "sessions[0]").is_ok());
    assert!(validate_session(&inv_no_private(), &op, &it, "sessions[0]").is_err());
    // our own (private, lab) ASN is never the problem
    let it = item(with(base(), "local_asn", json!(13335)));
    assert!(validate_session(&inv_no_private(), &op, &it, "sessions[0]").is_ok());
}

#[test]
fn ip_rules() {
    // outside the LAN
    let r = err_on(with(base(), "local_ip", json!("198.51.100.2")), "local_ip");
    assert!(r.errors[0].errors[0].contains("outside"), "{r:?}");
    // our own address as local_ip (here, and one of ours at another location)
    let r = err_on(with(base(), "local_ip", json!("192.0.2.1")), "local_ip");
    assert!(r.errors[0].errors[0].contains("our addresses"), "{r:?}");
    let r = err_on(with(base(), "local_ip", json!("198.51.100.1")), "local_ip");
    assert!(r
        .errors
        .iter()
        .any(|e| e.errors.iter().any(|m| m.contains("our addresses"))));
    // peer_ip not ours at this location
    err_on(with(base(), "peer_ip", json!("192.0.2.3")), "peer_ip");
    err_on(with(base(), "peer_ip", json!("198.51.100.1")), "peer_ip");
    // mixed families
    err_on(with(base(), "peer_ip", json!("2001:db8::1")), "peer_ip");
    // unparsable, with prefix length, wrong type
    err_on(with(base(), "local_ip", json!("192.0.2.256")), "local_ip");
    err_on(with(base(), "local_ip", json!("192.0.02.2")), "local_ip");
    let r = err_on(with(base(), "local_ip", json!("192.0.2.2/24")), "local_ip");
    assert!(r.errors[0].errors[0].contains("prefix length"), "{r:?}");
    err_on(with(base(), "local_ip", json!(3221225986u32)), "local_ip");
    err_on(with(base(), "local_ip", json!("fe80::1%eth0")), "local_ip");
    // network and broadcast addresses
    err_on(with(base(), "local_ip", json!("192.0.2.0")), "local_ip");
    err_on(with(base(), "local_ip", json!("192.0.2.255")), "local_ip");
    // v6 works
    let v = with(
        with(base(), "local_ip", json!("2001:db8::2")),
        "peer_ip",
        json!("2001:db8::1"),
    );
    assert_eq!(ok(v).peer_ip.to_string(), "2001:db8::1");
    // required
    let mut v = base();
    v.as_object_mut().unwrap().remove("local_ip");
    err_on(v, "local_ip");
}

#[test]
fn our_ip_may_be_omitted() {
    let mut v = with(base(), "local_ip", json!("2001:db8::2"));
    v.as_object_mut().unwrap().remove("peer_ip");
    assert_eq!(ok(v).peer_ip.to_string(), "2001:db8::1");
    // at pdb:ix:43 the requester's prefix decides which of ours
    let op = operator();
    let v = json!({"local_asn": 65002, "local_ip": "203.0.113.5", "peer_asn": 65001,
                   "location": {"id": "pdb:ix:43"}});
    let s = validate_session(&inv(), &op, &item(v), "sessions[0]").unwrap();
    assert_eq!(s.peer_ip.to_string(), "203.0.113.1");
    assert_eq!(s.router, "rtr2");
    assert_eq!(s.peer_type, LocationType::Private);
    // no address of ours in the requester's prefix
    let v = json!({"local_asn": 65002, "local_ip": "203.0.113.130", "peer_asn": 65001,
                   "location": {"id": "pdb:ix:43"}});
    let r = validate_session(&inv(), &op, &item(v), "sessions[0]").unwrap_err();
    assert_names(&r, "peer_ip");
}

#[test]
fn both_addresses_in_the_same_prefix() {
    let op = operator();
    let v = json!({"local_asn": 65002, "local_ip": "203.0.113.5", "peer_asn": 65001,
                   "peer_ip": "198.51.100.1", "location": {"id": "pdb:ix:43"}});
    let r = validate_session(&inv(), &op, &item(v), "sessions[0]").unwrap_err();
    assert_names(&r, "local_ip");
}

#[test]
fn location_rules() {
    err_on(
        with(base(), "location", json!({"id": "pdb:ix:99"})),
        "location.id",
    );
    err_on(
        with(base(), "location", json!({"id": "pdb:fac:42"})),
        "location.id",
    );
    err_on(with(base(), "location", json!({"id": 42})), "location.id");
    err_on(
        with(base(), "location", json!({"type": "public"})),
        "location.id",
    );
    err_on(with(base(), "location", json!("pdb:ix:42")), "location");
    err_on(
        with(
            base(),
            "location",
            json!({"id": "pdb:ix:42", "type": "private"}),
        ),
        "location.type",
    );
    err_on(
        with(
            base(),
            "location",
            json!({"id": "pdb:ix:42", "type": "semi"}),
        ),
        "location.type",
    );
    err_on(
        with(
            base(),
            "location",
            json!({"id": "pdb:ix:42", "colour": "blue"}),
        ),
        "location.colour",
    );
    let r = err_on(
        with(
            base(),
            "location",
            json!({"id": "pdb:ix:42", "bad key\n": 1}),
        ),
        "location",
    );
    assert!(!format!("{r:?}").contains("bad key"), "{r:?}");
    let mut v = base();
    v.as_object_mut().unwrap().remove("location");
    err_on(v, "location");
    // type is case-insensitive
    assert_eq!(
        ok(with(
            base(),
            "location",
            json!({"id": "pdb:ix:42", "type": "PUBLIC"})
        ))
        .location
        .kind,
        LocationType::Public
    );
}

#[test]
fn peer_type_must_match() {
    assert_eq!(
        ok(with(base(), "peer_type", json!("public"))).peer_type,
        LocationType::Public
    );
    assert_eq!(
        ok(with(base(), "peer_type", json!("Public"))).peer_type,
        LocationType::Public
    );
    err_on(with(base(), "peer_type", json!("private")), "peer_type");
    err_on(with(base(), "peer_type", json!("peer")), "peer_type");
    err_on(with(base(), "peer_type", json!(1)), "peer_type");
}

#[test]
fn roles() {
    for (a, b) in [(0, 3), (3, 0), (1, 2), (2, 1), (4, 4)] {
        let v = with(
            with(base(), "local_bgp_role", json!(a)),
            "peer_bgp_role",
            json!(b),
        );
        let s = ok(v);
        assert_eq!((s.local_bgp_role, s.peer_bgp_role), (Some(a), Some(b)));
    }
    for (a, b) in [
        (0, 0),
        (3, 3),
        (1, 1),
        (2, 2),
        (0, 4),
        (4, 3),
        (1, 3),
        (0, 2),
    ] {
        let v = with(
            with(base(), "local_bgp_role", json!(a)),
            "peer_bgp_role",
            json!(b),
        );
        err_on(v, "peer_bgp_role");
    }
    err_on(with(base(), "local_bgp_role", json!(5)), "local_bgp_role");
    err_on(with(base(), "local_bgp_role", json!(-1)), "local_bgp_role");
    err_on(with(base(), "peer_bgp_role", json!("4")), "peer_bgp_role");
    // one side implies the other
    let s = ok(with(base(), "local_bgp_role", json!(3)));
    assert_eq!((s.local_bgp_role, s.peer_bgp_role), (Some(3), Some(0)));
    let s = ok(with(base(), "peer_bgp_role", json!(1)));
    assert_eq!((s.local_bgp_role, s.peer_bgp_role), (Some(2), Some(1)));
}

#[test]
fn flags() {
    let v = with(
        with(base(), "local_monitoring_session", json!(true)),
        "peer_monitoring_session",
        json!(true),
    );
    err_on(v, "peer_monitoring_session");
    let s = ok(with(base(), "local_monitoring_session", json!(true)));
    assert!(s.local_monitoring_session && !s.peer_monitoring_session);
    let s = ok(with(
        with(base(), "local_insert_asn", json!(false)),
        "peer_insert_asn",
        json!(null),
    ));
    assert!(!s.local_insert_asn && s.peer_insert_asn);
    err_on(
        with(base(), "local_insert_asn", json!("false")),
        "local_insert_asn",
    );
    err_on(
        with(base(), "peer_monitoring_session", json!(0)),
        "peer_monitoring_session",
    );
}

#[test]
fn secrets_and_md5_alias() {
    let s = ok(with(base(), "session_secret", json!("lab-md5-secret")));
    assert_eq!(
        s.session_secret.as_ref().map(|x| x.expose()),
        Some("lab-md5-secret")
    );
    let s = ok(with(base(), "md5", json!("lab-md5-secret")));
    assert_eq!(
        s.session_secret.as_ref().map(|x| x.expose()),
        Some("lab-md5-secret")
    );
    let s = ok(with(
        with(base(), "md5", json!("same")),
        "session_secret",
        json!("same"),
    ));
    assert_eq!(s.session_secret.as_ref().map(|x| x.expose()), Some("same"));
    // "" means none (the v0 client sends md5: "")
    assert_eq!(ok(with(base(), "md5", json!(""))).session_secret, None);
    let r = err_on(
        with(
            with(base(), "md5", json!("alpha1")),
            "session_secret",
            json!("beta2"),
        ),
        "md5",
    );
    let text = format!("{r:?}");
    assert!(
        !text.contains("alpha1") && !text.contains("beta2"),
        "{text}"
    );
    err_on(
        with(base(), "session_secret", json!("x".repeat(81))),
        "session_secret",
    );
    err_on(
        with(base(), "session_secret", json!("with space")),
        "session_secret",
    );
    err_on(with(base(), "md5", json!("hash#tag")), "md5");
    err_on(with(base(), "md5", json!(12345)), "md5");
    // a rejected secret is never echoed
    let r = err(with(base(), "session_secret", json!("hunter2;drop")));
    assert!(!format!("{r:?}").contains("hunter2"));
    // ValidSession's Debug does not show it either
    let s = ok(with(base(), "session_secret", json!("hunter2")));
    assert!(!format!("{s:?}").contains("hunter2"));
}

/// Newline, quotes, braces, semicolon, NUL (and friends) in every free-text
/// field: each is refused and named.
#[test]
fn injection_corpus() {
    let corpus = [
        "x\ny",
        "x\r\ny",
        "x\"y",
        "x'y",
        "x{y",
        "x}y",
        "x;y",
        "x\0y",
        "x\\y",
        "x\u{1b}[31my",
        "x\u{7f}",
    ];
    // (field path, how to place the value into a base request)
    type Place = fn(Value, &str) -> Value;
    let fields: [(&str, Place); 9] = [
        ("session_secret", |v, s| with(v, "session_secret", json!(s))),
        ("md5", |v, s| with(v, "md5", json!(s))),
        ("location.id", |v, s| with(v, "location", json!({"id": s}))),
        ("location.type", |v, s| {
            with(v, "location", json!({"id": "pdb:ix:42", "type": s}))
        }),
        ("peer_type", |v, s| with(v, "peer_type", json!(s))),
        ("status", |v, s| with(v, "status", json!(s))),
        ("uuid", |v, s| with(v, "uuid", json!(s))),
        ("request_id", |v, s| with(v, "request_id", json!(s))),
        ("session_id", |v, s| with(v, "session_id", json!(s))),
    ];
    for (field, place) in fields {
        for bad in corpus {
            for dialect in [Dialect::Draft, Dialect::V0] {
                let it = item(place(base(), bad));
                let r =
                    validate_session_with(&inv(), &caller(&[65002]), &it, "sessions[0]", dialect)
                        .expect_err(&format!("{field} = {bad:?} must be refused"));
                assert_names(&r, field);
            }
        }
        // and a long value
        let long = "a".repeat(100);
        let r = err(place(base(), &long));
        assert_names(&r, field);
    }
    // request level: return_url and request_id
    for bad in corpus {
        let body = CreateBody::from_value(
            json!({"sessions": [base()], "return_url": format!("https://example.net/{bad}")}),
        )
        .unwrap();
        let r = validate_request(&inv(), &body).unwrap_err();
        assert!(
            r.errors.iter().any(|e| e.name == "return_url"),
            "{bad:?}: {r:?}"
        );
        let body =
            CreateBody::from_value(json!({"sessions": [base()], "request_id": bad})).unwrap();
        let r = validate_request(&inv(), &body).unwrap_err();
        assert!(
            r.errors.iter().any(|e| e.name == "request_id"),
            "{bad:?}: {r:?}"
        );
    }
}

#[test]
fn echoed_fields_are_accepted_and_ignored() {
    let v = with(
        with(
            with(base(), "status", json!("Pending")),
            "session_id",
            json!("abc"),
        ),
        "uuid",
        json!("d6f1c1a2-0000-4000-8000-000000000000"),
    );
    ok(with(v, "request_id", json!("r-1")));
}

#[test]
fn v0_input_from_the_poc_client() {
    // peerctl: local = receiver (us), peer = initiator; ASNs as strings;
    // location type in capitals; md5 ""; status and uuid echoed; peer_type
    // is peerctl's own session kind.
    let v = json!({
        "peer_asn": "65002",
        "peer_ip": "192.0.2.2",
        "peer_type": "peer",
        "location": {"id": "pdb:ix:42", "type": "PUBLIC"},
        "local_asn": "65001",
        "local_ip": "192.0.2.1",
        "status": "pending",
        "uuid": "0b5f8c1e-8a43-4b7e-9f0e-6f2b1d2c3a4b",
        "md5": ""
    });
    let it = item(v.clone());
    let s = validate_session_v0(&inv(), &caller(&[65002]), &it, "sessions[0]").unwrap();
    assert!(s.flipped);
    assert_eq!(s.local_asn, Asn(65002));
    assert_eq!(s.local_ip.to_string(), "192.0.2.2");
    assert_eq!(s.peer_ip.to_string(), "192.0.2.1");
    assert_eq!(s.peer_type, LocationType::Public);
    assert_eq!(s.session_secret, None);
    // the draft dialect refuses peerctl's peer_type, and names it
    let r = validate_session(&inv(), &caller(&[65002]), &it, "sessions[0]").unwrap_err();
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert_names(&r, "peer_type");
    // v0 still checks a public/private peer_type against the location
    let it = item(with(v, "peer_type", json!("PRIVATE")));
    let r = validate_session_v0(&inv(), &caller(&[65002]), &it, "sessions[0]").unwrap_err();
    assert_names(&r, "peer_type");
}

#[test]
fn many_errors_are_reported_together() {
    let v = json!({
        "local_asn": 65002, "local_ip": "nonsense", "peer_asn": 65001, "peer_ip": "192.0.2.7",
        "local_bgp_role": 9, "location": {"id": "pdb:ix:42"}, "md5": "a b"
    });
    let r = err(v);
    for f in ["local_ip", "peer_ip", "local_bgp_role", "md5"] {
        assert_names(&r, f);
    }
    // every name is a field path under the item
    assert!(
        r.errors.iter().all(|e| e.name.starts_with("sessions[0].")),
        "{r:?}"
    );
}

#[test]
fn request_level_checks() {
    let i = inv();
    let body = CreateBody::from_value(json!([])).unwrap();
    let r = validate_request(&i, &body).unwrap_err();
    assert_eq!(r.errors[0].name, "sessions");
    let many: Vec<Value> = (0..21).map(|_| base()).collect();
    let body = CreateBody::from_value(Value::Array(many)).unwrap();
    let r = validate_request(&i, &body).unwrap_err();
    assert!(r.errors[0].errors[0].contains("at most 20"), "{r:?}");
    let body = CreateBody::from_value(Value::Array((0..20).map(|_| base()).collect())).unwrap();
    assert!(validate_request(&i, &body).is_ok());
    let body =
        CreateBody::from_value(json!({"sessions": [base()], "return_url": "ftp://x"})).unwrap();
    assert_eq!(
        validate_request(&i, &body).unwrap_err().errors[0].name,
        "return_url"
    );
    let body = CreateBody::from_value(
        json!({"sessions": [base()], "return_url": "https://peering.example.net/api", "request_id": "abc-1"}),
    )
    .unwrap();
    assert!(validate_request(&i, &body).is_ok());
}

#[test]
fn items_are_validated_in_order_with_their_paths() {
    let body = CreateBody::from_value(json!([
        base(),
        {"local_asn": 65002, "colour": "blue"},
        with(base(), "peer_ip", json!("192.0.2.9")),
        with(base(), "local_asn", json!(65003)),
    ]))
    .unwrap();
    let out = validate_items(&inv(), &caller(&[65002]), &body, Dialect::Draft);
    assert_eq!(out.len(), 4);
    assert!(out[0].is_ok());
    let e1 = out[1].as_ref().unwrap_err();
    assert_eq!(e1.errors[0].name, "sessions[1].colour");
    let e2 = out[2].as_ref().unwrap_err();
    assert_eq!(e2.errors[0].name, "sessions[2].peer_ip");
    let e3 = out[3].as_ref().unwrap_err();
    assert_eq!(e3.status, RejectionStatus::Forbidden);
    assert_eq!(e3.errors[0].name, "sessions[3].local_asn");
}

#[test]
fn builds_the_model_session() {
    let s = ok(with(base(), "session_secret", json!("lab-md5-secret")));
    let m = s.to_session(SessionMeta {
        session_id: "sid".into(),
        request_id: "rid".into(),
        status: SessionStatus::Approved,
        status_detail: None,
        seq: 7,
        now_ms: 1000,
        created_by: "pdb:1".into(),
    });
    assert_eq!(m.local_asn, Asn(65002));
    assert_eq!(m.peer_asn, Asn(65001));
    assert_eq!(m.router, "rtr1");
    assert_eq!(m.status, SessionStatus::Approved);
    assert_eq!(
        (m.seq, m.created_ms, m.updated_ms, m.configured_ms),
        (7, 1000, 1000, None)
    );
    assert_eq!(
        m.session_secret.as_ref().map(|x| x.expose()),
        Some("lab-md5-secret")
    );
    assert_eq!(m.created_by, "pdb:1");
    // identical requests build sessions that are the same request
    let m2 = ok(with(base(), "md5", json!("lab-md5-secret"))).to_session(SessionMeta {
        session_id: "other".into(),
        request_id: "other".into(),
        status: SessionStatus::Pending,
        status_detail: None,
        seq: 8,
        now_ms: 2000,
        created_by: "pdb:1".into(),
    });
    assert!(m.same_request_as(&m2));
    assert_eq!((&m.router, m.local_ip), (&m2.router, m2.local_ip));
}

//! Unit tests of the checks on remote answers.

use super::view::*;
use super::RemoteError;
use crate::wire::remote::RemoteSession;
use serde_json::json;

fn draft(v: serde_json::Value) -> RemoteSession {
    serde_json::from_value(v).unwrap()
}

fn base() -> serde_json::Value {
    json!({"session_id": "s-1", "request_id": "r-1", "local_asn": 65001, "local_ip": "192.0.2.1",
        "peer_asn": 65010, "peer_ip": "192.0.2.10", "location": {"id": "pdb:ix:1", "type": "public"},
        "status": "Pending", "status_detail": "waits for an operator"})
}

#[test]
fn a_session_is_oriented_to_us_whichever_way_it_is_written() {
    let v = RemoteView::from_draft("s", &draft(base()), 65001, 65010).unwrap();
    assert!(v.is_pair("192.0.2.1".parse().unwrap(), "192.0.2.10".parse().unwrap()));
    let mut flipped = base();
    flipped["local_asn"] = json!(65010);
    flipped["local_ip"] = json!("192.0.2.10");
    flipped["peer_asn"] = json!(65001);
    flipped["peer_ip"] = json!("192.0.2.1");
    let w = RemoteView::from_draft("s", &draft(flipped), 65001, 65010).unwrap();
    assert_eq!((w.our_ip, w.their_ip), (v.our_ip, v.their_ip));
}

#[test]
fn values_that_decide_are_refused_unless_plain() {
    let cases = [
        ("local_asn", json!(65099), "not between AS65001 and AS65010"),
        ("peer_ip", json!("2001:db8::10"), "one family"),
        ("session_id", json!("../../etc"), "session_id"),
        ("session_id", json!("x".repeat(65)), "session_id"),
        (
            "status",
            json!("Configured\nneighbor 203.0.113.1"),
            "status",
        ),
        ("status", json!("Configured; rm -rf /"), "status"),
        ("request_id", json!("a b"), "request_id"),
    ];
    for (field, value, want) in cases {
        let mut v = base();
        v[field] = value;
        let e = RemoteView::from_draft("sessions[0]", &draft(v), 65001, 65010).unwrap_err();
        assert!(e.contains(want), "{field}: {e}");
        assert!(!e.contains('\n'));
    }
    let mut v = base();
    v["location"]["id"] = json!("pdb:ix:1\"; drop");
    assert!(RemoteView::from_draft("s", &draft(v), 65001, 65010).is_err());
}

#[test]
fn free_text_is_neutralised_and_bounded() {
    let mut v = base();
    v["status_detail"] = json!("line1\nline2\t\"quoted\" {x}; $(rm) `y` <z>");
    let d = RemoteView::from_draft("s", &draft(v), 65001, 65010)
        .unwrap()
        .detail
        .unwrap();
    assert_eq!(d, "line1 line2 quoted x (rm) y z");
    let long = neutral_text(&"a".repeat(10_000));
    assert!(long.len() <= DETAIL_MAX + 3);
    assert_eq!(neutral_text("\u{7}\u{1b}[31m"), "[31m");
    assert_eq!(neutral_text("é ü"), "");
}

#[test]
fn too_many_sessions_are_refused() {
    let items = vec![draft(base()); MAX_SESSIONS + 1];
    let e = views(&items, |p, s| RemoteView::from_draft(p, s, 65001, 65010)).unwrap_err();
    assert!(matches!(e, RemoteError::Malformed(_)));
}

#[test]
fn transient_errors_are_told_apart() {
    assert!(RemoteError::Timeout(5).is_transient());
    assert!(RemoteError::Unavailable(503).is_transient());
    assert!(!RemoteError::Refused {
        status: 403,
        reasons: vec![]
    }
    .is_transient());
    assert!(RemoteError::Malformed("x".into()).outcome_unknown());
    assert!(!RemoteError::NotFound.outcome_unknown());
    assert!(super::is_accepted("configured") && !super::is_accepted("Pending"));
}

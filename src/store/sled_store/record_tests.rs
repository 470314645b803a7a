//! The session record's stored form: every field round-trips, older JSON
//! records still read, and no bytes make the decoder panic.

use super::*;
use crate::model::{new_id, RemotePhase};
use proptest::prelude::*;

fn plain() -> Session {
    Session {
        request_id: new_id(),
        created_by: "operator:noc".into(),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (64512, "2001:db8::50".parse().unwrap()),
            (65001, "2001:db8::1".parse().unwrap()),
        )
    }
}

/// Every optional part set, ids that are not UUIDs, IPv4.
fn full() -> Session {
    Session {
        session_id: "not-a-uuid".into(),
        request_id: "0000F60D-8ACE-45EF-9F4B-DF396AF14D71".into(),
        local_asn: Asn(4_200_000_000),
        local_ip: "192.0.2.10".parse().unwrap(),
        peer_ip: "192.0.2.1".parse().unwrap(),
        local_bgp_role: Some(3),
        peer_bgp_role: Some(0),
        local_insert_asn: false,
        peer_insert_asn: true,
        local_monitoring_session: true,
        peer_monitoring_session: false,
        peer_type: LocationType::Private,
        session_secret: Some(Secret::new("s3cret ☃")),
        location: LocationRef {
            id: "pdb:fac:7".into(),
            kind: LocationType::Private,
        },
        status: SessionStatus::Deleting,
        status_detail: Some("router said: \"no\"".into()),
        seq: u64::MAX,
        created_ms: 1,
        updated_ms: u64::MAX,
        configured_ms: Some(0),
        max_prefix: Some(u32::MAX),
        pushed: true,
        direction: Direction::Outbound,
        remote: Some(RemoteState {
            phase: RemotePhase::Sent,
            session_id: Some("r-1".into()),
            attempts: 3,
            ..RemoteState::default()
        }),
        drain: Some(Drain { until_ms: Some(9) }),
        maintenance: Some(MaintenanceHold {
            window: "w1".into(),
            drain: None,
            shutdown: true,
        }),
        ..plain()
    }
}

#[test]
fn every_field_round_trips() {
    for s in [plain(), full()] {
        let b = encode_session(&s).unwrap();
        assert_eq!(b[0], FORM_1);
        assert_eq!(decode_session(&b).unwrap(), s);
    }
    for status in SessionStatus::ALL {
        let s = Session { status, ..plain() };
        assert_eq!(decode_session(&encode_session(&s).unwrap()).unwrap(), s);
    }
}

#[test]
fn a_plain_record_is_a_fraction_of_its_json() {
    let s = plain();
    let json = serde_json::to_vec(&s).unwrap();
    let b = encode_session(&s).unwrap();
    assert!(b.len() * 3 < json.len(), "{} vs {}", b.len(), json.len());
}

#[test]
fn json_records_of_older_layouts_still_read() {
    for s in [plain(), full()] {
        let json = serde_json::to_vec(&s).unwrap();
        assert!(is_json(&json));
        assert_eq!(decode_session(&json).unwrap(), s);
    }
    assert!(!is_json(&encode_session(&plain()).unwrap()));
}

#[test]
fn bad_bytes_are_corrupt_not_a_panic() {
    let b = encode_session(&full()).unwrap();
    for n in 0..b.len() {
        assert!(
            matches!(decode_session(&b[..n]), Err(StoreError::Corrupt(_))),
            "{n}"
        );
    }
    let mut long = b.clone();
    long.push(0);
    assert!(decode_session(&long).is_err());
    let mut flag = b.clone();
    flag[1] |= 0x80;
    assert!(decode_session(&flag).is_err());
    assert!(decode_session(&[2, 0, 0]).is_err());
    let err = decode_session(&[FORM_1]).unwrap_err().to_string();
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn uuid_ids_take_16_bytes_and_keep_their_text() {
    let id = new_id();
    assert_eq!(id_text(&id_bytes(&id).unwrap()), id);
    for not in [
        "",
        "x",
        "0000F60D-8ACE-45EF-9F4B-DF396AF14D71",
        "0000f60d_8ace-45ef-9f4b-df396af14d71",
    ] {
        assert_eq!(id_bytes(not), None, "{not}");
    }
}

proptest! {
    #[test]
    fn any_bytes_decode_or_fail_cleanly(mut b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_session(&b);
        if !b.is_empty() {
            b[0] = FORM_1;
            let _ = decode_session(&b);
        }
    }

    #[test]
    fn mutated_records_decode_or_fail_cleanly(i in 0usize..400, v in any::<u8>()) {
        let mut b = encode_session(&full()).unwrap();
        let i = i % b.len();
        b[i] = v;
        let _ = decode_session(&b);
    }
}

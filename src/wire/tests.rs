//! Unit tests of the wire shapes.

use super::*;
use crate::inventory;
use crate::model::{LocationType, Secret, Session, SessionStatus};
use serde_json::{json, Value};

fn session(secret: Option<&str>) -> Session {
    let ip = |s: &str| s.parse().unwrap();
    Session {
        session_id: "8f0c2f7e-5b7a-4c1e-9d3a-0a1b2c3d4e5f".into(),
        request_id: "1d2e3f40-5b7a-4c1e-9d3a-0a1b2c3d4e5f".into(),
        local_bgp_role: Some(4),
        peer_bgp_role: Some(4),
        session_secret: secret.map(Secret::new),
        status: SessionStatus::Configured,
        seq: 3,
        created_ms: 1,
        updated_ms: 2,
        configured_ms: Some(2),
        created_by: "pdb:1".into(),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (65002, ip("192.0.2.2")),
            (65001, ip("192.0.2.1")),
        )
    }
}

fn location() -> inventory::Location {
    inventory::Location {
        id: "pdb:ix:42".into(),
        kind: LocationType::Public,
        name: "Lab-IX".into(),
        router: "rtr1".into(),
        prefixes: vec!["192.0.2.0/24".parse().unwrap()],
        our_ips: vec!["192.0.2.1".parse().unwrap()],
        prefix_filter: None,
    }
}

const SECRET: &str = "s3cr3t-Very-Unique-9f8e";

#[test]
fn session_out_shape() {
    let v = serde_json::to_value(SessionOut::from(&session(None))).unwrap();
    assert_eq!(
        v,
        json!({
            "session_id": "8f0c2f7e-5b7a-4c1e-9d3a-0a1b2c3d4e5f",
            "request_id": "1d2e3f40-5b7a-4c1e-9d3a-0a1b2c3d4e5f",
            "local_asn": 65002, "local_ip": "192.0.2.2",
            "peer_asn": 65001, "peer_ip": "192.0.2.1",
            "local_bgp_role": 4, "peer_bgp_role": 4,
            "local_insert_asn": true, "peer_insert_asn": true,
            "local_monitoring_session": false, "peer_monitoring_session": false,
            "peer_type": "public",
            "location": {"id": "pdb:ix:42", "type": "public"},
            "status": "Configured"
        })
    );
}

#[test]
fn secrets_are_never_in_output() {
    let mut s = session(Some(SECRET));
    s.status_detail = Some(format!("router said: neighbor 192.0.2.2 password {SECRET}"));
    let draft = serde_json::to_string(&SessionOut::from(&s)).unwrap();
    assert!(!draft.contains(SECRET), "{draft}");
    let v: Value = serde_json::from_str(&draft).unwrap();
    assert_eq!(v["session_secret"], "<redacted>");
    assert_eq!(
        v["status_detail"],
        "router said: neighbor 192.0.2.2 password <redacted>"
    );

    let create = CreateOut {
        request_id: s.request_id.clone(),
        sessions: vec![SessionOut::from(&s)],
        errors: vec![],
    };
    let list = ListSessionsOut {
        sessions: vec![SessionOut::from(&s)],
        next_token: None,
    };
    let v0 = V0SessionsOut::new([&s], s.request_id.clone());
    for text in [
        serde_json::to_string(&create).unwrap(),
        serde_json::to_string(&list).unwrap(),
        serde_json::to_string(&v0).unwrap(),
        format!("{:?}", SessionOut::from(&s)),
        format!("{:?}", V0SessionOut::from(&s)),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    let v: Value = serde_json::to_value(&v0).unwrap();
    assert_eq!(v["sessions"][0]["md5"], "<redacted>");
    // and without a secret: v0 says "", the draft omits the field
    let s = session(None);
    let v: Value = serde_json::to_value(V0SessionOut::from(&s)).unwrap();
    assert_eq!(v["md5"], "");
    let v: Value = serde_json::to_value(SessionOut::from(&s)).unwrap();
    assert!(v.get("session_secret").is_none());
}

#[test]
fn session_in_debug_redacts() {
    let it = SessionIn::from_value(
        json!({"session_secret": SECRET, "md5": SECRET}),
        "sessions[0]",
    )
    .unwrap();
    let d = format!("{it:?}");
    assert!(!d.contains(SECRET), "{d}");
    assert!(d.contains("<redacted>"));
}

#[test]
fn output_views_round_trip() {
    let out = SessionOut::from(&session(Some(SECRET)));
    let text = serde_json::to_string(&out).unwrap();
    let back: SessionOut = serde_json::from_str(&text).unwrap();
    assert_eq!(back, out);
    let v0 = V0SessionsOut::new([&session(None)], "rid");
    let back: V0SessionsOut = serde_json::from_str(&serde_json::to_string(&v0).unwrap()).unwrap();
    assert_eq!(back, v0);
}

#[test]
fn listings_and_next_token() {
    let l = ListSessionsOut {
        sessions: vec![],
        next_token: None,
    };
    assert_eq!(serde_json::to_value(&l).unwrap(), json!({"sessions": []}));
    let l = ListSessionsOut {
        sessions: vec![],
        next_token: Some("abc".into()),
    };
    assert_eq!(
        serde_json::to_value(&l).unwrap(),
        json!({"sessions": [], "next_token": "abc"})
    );
    let locs = ListLocationsOut {
        locations: vec![LocationOut::from(&location())],
        next_token: None,
    };
    assert_eq!(
        serde_json::to_value(&locs).unwrap(),
        json!({"locations": [{"id": "pdb:ix:42", "type": "public", "name": "Lab-IX"}]})
    );
}

#[test]
fn v0_shapes() {
    let loc = location();
    let v = serde_json::to_value(V0ListLocationsOut::new([&loc], "rid")).unwrap();
    assert_eq!(
        v,
        json!({"items": [{"id": "pdb:ix:42", "type": "PUBLIC"}], "requestId": "rid", "error": null})
    );
    let v = serde_json::to_value(V0SessionsOut::new([&session(None)], "rid")).unwrap();
    assert_eq!(
        v,
        json!({
            "sessions": [{
                "localAsn": 65002, "localIp": "192.0.2.2",
                "peerAsn": 65001, "peerIp": "192.0.2.1",
                "peerType": "public", "md5": "",
                "location": {"id": "pdb:ix:42", "type": "PUBLIC"},
                "status": "Configured",
                "uuid": "8f0c2f7e-5b7a-4c1e-9d3a-0a1b2c3d4e5f"
            }],
            "requestId": "rid",
            "error": null
        })
    );
}

#[test]
fn error_body_shape_and_merging() {
    let mut errs = Vec::new();
    push_field_error(&mut errs, "sessions[2].peer_ip", "first");
    push_field_error(&mut errs, "sessions[2].peer_ip", "second");
    push_field_error(&mut errs, "sessions[2].peer_ip", "second");
    push_field_error(&mut errs, "request", "other");
    let v = serde_json::to_value(ErrorBody::from(errs)).unwrap();
    assert_eq!(
        v,
        json!({"errors": [
            {"name": "sessions[2].peer_ip", "errors": ["first", "second"]},
            {"name": "request", "errors": ["other"]}
        ]})
    );
    assert_eq!(
        serde_json::to_value(ErrorBody::one("request", "x")).unwrap(),
        json!({"errors": [{"name": "request", "errors": ["x"]}]})
    );
}

#[test]
fn create_body_forms() {
    let item =
        json!({"local_asn": 65002, "local_ip": "192.0.2.2", "location": {"id": "pdb:ix:42"}});
    let bare =
        CreateBody::from_slice(serde_json::to_string(&json!([item])).unwrap().as_bytes()).unwrap();
    assert!(bare.bare);
    assert_eq!(bare.sessions.len(), 1);
    assert!(bare.sessions[0].is_ok());

    let obj = CreateBody::from_value(
        json!({"sessions": [item], "return_url": "https://x.example", "request_id": "r1"}),
    )
    .unwrap();
    assert!(!obj.bare);
    assert_eq!(obj.return_url.as_deref(), Some("https://x.example"));
    assert_eq!(obj.request_id.as_deref(), Some("r1"));

    // through serde as well (e.g. axum's Json extractor)
    let via: CreateBody = serde_json::from_value(json!({"sessions": [item]})).unwrap();
    assert_eq!(via.sessions.len(), 1);
}

#[test]
fn create_body_errors() {
    let e = CreateBody::from_slice(b"{not json").unwrap_err();
    assert_eq!(e.errors[0].name, "request");
    let e = CreateBody::from_value(json!("sessions")).unwrap_err();
    assert_eq!(e.errors[0].name, "request");
    let e = CreateBody::from_value(json!({"sessions": [], "colour": "blue"})).unwrap_err();
    assert_eq!(e.errors[0].name, "request.colour");
    let e = CreateBody::from_value(json!({"return_url": "https://x.example"})).unwrap_err();
    assert_eq!(e.errors[0].name, "sessions");
    let e = CreateBody::from_value(json!({"sessions": {}})).unwrap_err();
    assert_eq!(e.errors[0].name, "sessions");
    let e = CreateBody::from_value(json!({"sessions": [], "return_url": 5, "request_id": []}))
        .unwrap_err();
    let names: Vec<_> = e.errors.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["return_url", "request_id"]);
    assert!(serde_json::from_value::<CreateBody>(json!({"sessions": 1})).is_err());
}

#[test]
fn bad_items_fail_alone_with_their_path() {
    let body = CreateBody::from_value(json!([
        {"local_asn": 65002},
        {"local_asn": 65002, "colour": "blue", "Weird Key\n": 1},
        "not an object",
    ]))
    .unwrap();
    assert!(body.sessions[0].is_ok());
    let e1 = body.sessions[1].as_ref().unwrap_err();
    let names: Vec<_> = e1.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"sessions[1].colour"), "{names:?}");
    assert!(names.contains(&"sessions[1]"), "{names:?}");
    assert!(!format!("{e1:?}").contains("Weird"), "{e1:?}");
    let e2 = body.sessions[2].as_ref().unwrap_err();
    assert_eq!(e2[0].name, "sessions[2]");
}

#[test]
fn session_in_keeps_raw_values() {
    let it = SessionIn::from_value(
        json!({"local_asn": "65002", "peer_asn": 65001, "local_ip": 7, "peer_ip": null,
               "location": {"id": "pdb:ix:42", "type": "PUBLIC"}, "uuid": "u", "status": "ok"}),
        "sessions[0]",
    )
    .unwrap();
    assert_eq!(it.local_asn, Some(json!("65002")));
    assert_eq!(it.peer_asn, Some(json!(65001)));
    assert_eq!(it.local_ip, Some(json!(7)));
    assert_eq!(it.peer_ip, None);
    // deny_unknown_fields also holds for direct deserialization
    assert!(serde_json::from_value::<SessionIn>(json!({"colour": 1})).is_err());
}

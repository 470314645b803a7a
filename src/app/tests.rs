//! Unit tests of the use cases, on a real sled store in a temporary
//! directory: what each answers, and the refusal kind of each "no".

use super::*;
use crate::model::{new_id, Caller, Session, SessionStatus};
use crate::store::SledStore;
use crate::validate::Dialect;
use crate::wire::CreateBody;
use std::collections::BTreeSet;

const INVENTORY: &str = r#"
asn: 65001
routers:
  - name: rtr1
    platform: frr
    host: 127.0.0.1
    user: ops
    credential: { key_file: /nonexistent/key }
    host_key: { key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeTestKeyOnly test" }
locations:
  - id: pdb:ix:42
    type: public
    name: Lab-IX
    router: rtr1
    prefixes: [192.0.2.0/24]
    our_ips: [192.0.2.1]
policy:
  approval: manual
  allow_private_asns: true
"#;

fn ctx() -> (tempfile::TempDir, Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let ctx = Ctx {
        store: Arc::new(store),
        inventory: Arc::new(Inventory::from_yaml(INVENTORY, "inventory.yaml").unwrap()),
        settings: Arc::new(Settings::default()),
        snapshot: None,
        wake: Arc::default(),
        outbound: None,
        no_md5_routers: Default::default(),
    };
    (dir, ctx)
}

fn peer(asn: u32) -> Caller {
    Caller {
        principal: format!("pdb:{asn}"),
        asns: BTreeSet::from([asn]),
        is_operator: false,
        read_only: false,
    }
}

fn operator() -> Caller {
    Caller {
        principal: "operator:ops".into(),
        asns: BTreeSet::new(),
        is_operator: true,
        read_only: false,
    }
}

fn body(asn: u32, host: u8) -> CreateBody {
    CreateBody::from_value(serde_json::json!([{
        "local_asn": asn, "local_ip": format!("192.0.2.{host}"),
        "peer_asn": 65001, "peer_ip": "192.0.2.1",
        "location": {"id": "pdb:ix:42", "type": "public"},
    }]))
    .unwrap()
}

/// One Pending session of AS`asn` at `.host`.
async fn pending(ctx: &Ctx, asn: u32, host: u8) -> Session {
    let out = intake(ctx, &peer(asn), body(asn, host), Dialect::Draft)
        .await
        .unwrap();
    assert!(out.refused().is_none(), "{:?}", out.errors);
    let s = out.accepted.into_iter().next().unwrap();
    assert_eq!(s.status, SessionStatus::Pending);
    s
}

#[tokio::test]
async fn intake_sorts_refusals_by_kind() {
    let (_d, ctx) = ctx();
    pending(&ctx, 65002, 2).await;
    // an ASN the caller may not act for: forbidden
    let out = intake(&ctx, &peer(65002), body(65003, 3), Dialect::Draft)
        .await
        .unwrap();
    assert_eq!(out.refused().unwrap().refusal, Refusal::Forbidden);
    // another network's address: a conflict, naming no one
    let out = intake(&ctx, &peer(65004), body(65004, 2), Dialect::Draft)
        .await
        .unwrap();
    let e = out.refused().unwrap();
    assert_eq!(e.refusal, Refusal::Conflict);
    assert!(!e.to_string().contains("65002"), "{e}");
    // the same request again: the same session, no refusal
    let again = intake(&ctx, &peer(65002), body(65002, 2), Dialect::Draft)
        .await
        .unwrap();
    assert!(again.refused().is_none());
    // an empty request is refused as a whole
    let empty = CreateBody::from_value(serde_json::json!([])).unwrap();
    let e = intake(&ctx, &peer(65002), empty, Dialect::Draft)
        .await
        .unwrap_err();
    assert_eq!(e.refusal, Refusal::Invalid);
}

#[tokio::test]
async fn operators_approve_and_reject() {
    let (_d, ctx) = ctx();
    let op = operator();
    let a = pending(&ctx, 65002, 2).await;
    let b = pending(&ctx, 65003, 3).await;
    let s = approve(&ctx, &op, &a.session_id).await.unwrap();
    assert_eq!(s.status, SessionStatus::Approved);
    let e = approve(&ctx, &op, &a.session_id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::Conflict);
    assert_eq!(e.errors[0].name, "status");

    let e = reject(&ctx, &op, &b.session_id, "  ").await.unwrap_err();
    assert_eq!(
        (e.refusal, e.errors[0].name.as_str()),
        (Refusal::Invalid, "reason")
    );
    let e = reject(&ctx, &op, &b.session_id, "no\nway")
        .await
        .unwrap_err();
    assert_eq!(e.refusal, Refusal::Invalid);
    let s = reject(&ctx, &op, &b.session_id, " not at this IX ")
        .await
        .unwrap();
    assert_eq!(s.status, SessionStatus::Rejected);
    assert_eq!(s.status_detail.as_deref(), Some("not at this IX"));

    // peers do not decide; unknown sessions are not found
    let e = approve(&ctx, &peer(65002), &a.session_id)
        .await
        .unwrap_err();
    assert_eq!(e.refusal, Refusal::Forbidden);
    let e = approve(&ctx, &op, &new_id()).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::NotFound);
    let e = approve(&ctx, &op, "not-an-id").await.unwrap_err();
    assert_eq!(e.refusal, Refusal::NotFound);
    // nothing waits for a retry of a Pending session... or a Rejected one
    let e = retry(&ctx, &op, &b.session_id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::Conflict);
    let e = force_remove(&ctx, &op, &b.session_id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::Conflict);
}

/// A viewer's operator key reads and changes nothing: every use case that
/// changes something refuses it (forbidden), and nothing moved.
#[tokio::test]
async fn viewers_change_nothing() {
    let (_d, ctx) = ctx();
    let viewer = Caller {
        read_only: true,
        ..operator()
    };
    let s = pending(&ctx, 65002, 2).await;
    let id = s.session_id.as_str();
    for e in [
        approve(&ctx, &viewer, id).await.unwrap_err(),
        reject(&ctx, &viewer, id, "no").await.unwrap_err(),
        retry(&ctx, &viewer, id).await.unwrap_err(),
        force_remove(&ctx, &viewer, id)
            .await
            .map(|_| ())
            .unwrap_err(),
        delete(&ctx, &viewer, id).await.map(|_| ()).unwrap_err(),
        intake(&ctx, &viewer, body(65003, 3), Dialect::Draft)
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert_eq!(e.refusal, Refusal::Forbidden, "{e}");
        assert!(e.to_string().contains("viewer"), "{e}");
    }
    // it still reads
    let seen = session(&ctx, id).await.unwrap();
    assert_eq!(seen.status, SessionStatus::Pending);
}

#[tokio::test]
async fn peers_see_and_delete_only_their_own() {
    let (_d, ctx) = ctx();
    let s = pending(&ctx, 65002, 2).await;
    let id = s.session_id.as_str();
    let e = visible_session(&ctx, &peer(65003), id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::NotFound);
    let e = delete(&ctx, &peer(65003), id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::NotFound);
    assert_eq!(visible_session(&ctx, &peer(65002), id).await.unwrap(), s);
    assert_eq!(visible_session(&ctx, &operator(), id).await.unwrap(), s);
    // never pushed: removed at once
    let done = delete(&ctx, &peer(65002), id).await.unwrap();
    assert!(matches!(done, Deletion::Removed(_)), "{done:?}");
    let e = session(&ctx, id).await.unwrap_err();
    assert_eq!(e.refusal, Refusal::NotFound);
}

#[test]
fn preview_takes_a_request_file_as_an_operator() {
    let inv = Inventory::from_yaml(INVENTORY, "inventory.yaml").unwrap();
    let sessions = intake::preview(&inv, &body(65002, 2)).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, SessionStatus::Approved);
    let e = intake::preview(&inv, &body(65002, 1)).unwrap_err();
    assert_eq!(e.refusal, Refusal::Invalid);
    assert!(e.to_string().starts_with("sessions[0]"), "{e}");
}

#[tokio::test]
async fn a_secret_for_a_router_that_cannot_set_tcp_md5_is_refused_at_intake() {
    let (_d, mut ctx) = ctx();
    ctx.no_md5_routers = Arc::new(BTreeSet::from(["rtr1".to_string()]));
    let with_secret = CreateBody::from_value(serde_json::json!([{
        "local_asn": 65002, "local_ip": "192.0.2.7",
        "peer_asn": 65001, "peer_ip": "192.0.2.1",
        "location": {"id": "pdb:ix:42", "type": "public"},
        "session_secret": "s3cret-value",
    }]))
    .unwrap();
    let out = intake(&ctx, &peer(65002), with_secret, Dialect::Draft)
        .await
        .unwrap();
    assert!(out.accepted.is_empty());
    assert_eq!(out.refused().map(|e| e.refusal), Some(Refusal::Invalid));
    let text = format!("{:?}", out.errors);
    assert!(
        text.contains("sessions[0].session_secret")
            && text.contains("cannot set a TCP-MD5 password")
            && !text.contains("s3cret-value"),
        "{text}"
    );
    // without a secret, the same router takes it
    pending(&ctx, 65002, 7).await;
}

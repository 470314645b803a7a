//! The "created" event that is not stored: derived from the record until
//! the session's first stored event, then stored ahead of it.

use super::*;
use crate::model::AuditEvent;
use crate::model::SessionStatus::*;
use crate::store::rules::created_event;

/// The event the insert stored before layout 5.
fn as_stored_before(s: &Session, status: SessionStatus) -> AuditEvent {
    created_event(s, status, s.created_ms)
}

fn keys_of(st: &SledStore, id: &str) -> usize {
    let prefix = super::super::keys::audit_prefix(id);
    st.inner.trees.audit.scan_prefix(prefix).count()
}

#[test]
fn a_new_session_stores_no_event_and_its_trail_shows_created() {
    let (_d, st) = store();
    let s = insert_one(&st, session(64512, 1, Pending));
    assert_eq!(keys_of(&st, &s.session_id), 0);
    let trail = st.audit(&s.session_id).unwrap();
    assert_eq!(trail, vec![as_stored_before(&s, Pending)]);
    assert_eq!(trail[0].action, "created");
    assert_eq!(trail[0].actor, s.created_by);
    assert_eq!(
        trail[0].detail.as_deref(),
        Some(&*format!("request {}", s.request_id))
    );
    // an unknown session has no trail
    assert!(st
        .audit("0190d3a8-0000-7000-8000-000000000000")
        .unwrap()
        .is_empty());
}

#[test]
fn the_first_change_stores_created_in_the_first_status_then_itself() {
    let (_d, st) = store();
    let s = insert_one(&st, session(64512, 1, Pending));
    st.transition(&s.session_id, Approved, opts("op")).unwrap();
    st.transition(&s.session_id, Provisioning, opts("worker"))
        .unwrap();
    let trail = st.audit(&s.session_id).unwrap();
    assert_eq!(trail.len(), 3);
    assert_eq!(trail[0], as_stored_before(&s, Pending));
    assert_eq!(
        (trail[1].from, trail[1].to),
        (Some(Pending), Some(Approved))
    );
    assert_eq!(
        (trail[2].from, trail[2].to),
        (Some(Approved), Some(Provisioning))
    );
    assert_eq!(keys_of(&st, &s.session_id), 1);
}

#[test]
fn removing_a_session_never_changed_keeps_created_and_removed() {
    let (_d, st) = store();
    let s = insert_one(&st, session(64512, 1, Approved));
    st.set_detail(&s.session_id, Some("noted".into()), "op")
        .unwrap();
    let t = insert_one(&st, session(64512, 2, Pending));
    st.remove_session(&t.session_id, "op").unwrap();
    let trail = st.audit(&t.session_id).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0], as_stored_before(&t, Pending));
    assert_eq!(trail[1].action, "removed");
    // a change that is not a transition keeps the status it was created in
    let trail = st.audit(&s.session_id).unwrap();
    assert_eq!(trail[0], as_stored_before(&s, Approved));
    assert_eq!(trail[1].action, "detail");
}

#[test]
fn an_insert_and_a_change_in_one_batch_keep_both_events() {
    let (_d, st) = store();
    let s = session(64512, 1, Pending);
    let id = s.session_id.clone();
    let req = request(64512);
    let mut s = s;
    s.request_id = req.request_id.clone();
    let r = req.clone();
    let out = st
        .inner
        .writer
        .write(move |tx| {
            let out = super::super::sessions::insert_request(tx, &r, &[s], 1_000)?;
            let Inserted::New(n) = &out[0] else {
                unreachable!()
            };
            let mut m = n.clone();
            m.status = Approved;
            tx.store_moved(&m, Pending)?;
            tx.audit(
                &m,
                &crate::store::rules::event(&m, "op", "transition", Some(Pending), None, 2_000),
            )?;
            Ok(out)
        })
        .unwrap();
    let Inserted::New(n) = &out[0] else {
        unreachable!()
    };
    let trail = st.audit(&id).unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0], as_stored_before(n, Pending));
    assert_eq!(trail[1].to, Some(Approved));
}

//! Outbound sessions in the store: the direction filter, the remote side
//! (`set_remote`) and its audit, and outbound sessions under the address
//! rule like any other.

use super::*;
use crate::model::{Direction, RemotePhase, RemoteState};
use crate::store::SessionFilter;

fn outbound(asn: u32, n: u32) -> Session {
    let mut s = session(asn, n, SessionStatus::Pending);
    s.direction = Direction::Outbound;
    s.remote = Some(RemoteState::default());
    s
}

fn new_one(r: Inserted) -> Session {
    match r {
        Inserted::New(s) => s,
        other => panic!("not new: {other:?}"),
    }
}

#[test]
fn listings_filter_by_direction() {
    let (_d, st) = store();
    let o = new_one(insert(&st, 65010, vec![outbound(65010, 1)]).remove(0));
    let i = new_one(insert(&st, 65010, vec![session(65010, 2, SessionStatus::Pending)]).remove(0));
    let list = |d: Option<Direction>| -> Vec<String> {
        let f = SessionFilter {
            direction: d,
            ..Default::default()
        };
        st.list_sessions(&f, None, 100)
            .unwrap()
            .sessions
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    assert_eq!(list(Some(Direction::Outbound)), vec![o.session_id.clone()]);
    assert_eq!(list(Some(Direction::Inbound)), vec![i.session_id.clone()]);
    assert_eq!(list(None).len(), 2);
    // stored and read back as written
    let back = st.get_session(&o.session_id).unwrap().unwrap();
    assert_eq!(back.direction, Direction::Outbound);
    assert_eq!(back.remote, Some(RemoteState::default()));
}

#[test]
fn the_remote_side_is_recorded_and_audited_when_it_changes() {
    let (_d, st) = store();
    let o = new_one(insert(&st, 65010, vec![outbound(65010, 1)]).remove(0));
    let r = RemoteState {
        phase: RemotePhase::Sent,
        session_id: Some("s-1".into()),
        status: Some("Pending".into()),
        ..Default::default()
    };
    let s = st
        .set_remote(
            &o.session_id,
            r.clone(),
            Some(Some("waits".into())),
            "remote:AS65010",
        )
        .unwrap();
    assert_eq!(
        s.remote.as_ref().unwrap().session_id.as_deref(),
        Some("s-1")
    );
    assert_eq!(s.status_detail.as_deref(), Some("waits"));
    assert_eq!(s.status, SessionStatus::Pending, "no status change");
    let audited = |st: &SledStore| {
        st.audit(&o.session_id)
            .unwrap()
            .iter()
            .filter(|e| e.action == "remote")
            .count()
    };
    assert_eq!(audited(&st), 1);
    // a look that learns nothing new writes no audit record
    let mut again = r.clone();
    again.checked_ms = Some(42);
    st.set_remote(&o.session_id, again, None, "remote:AS65010")
        .unwrap();
    assert_eq!(audited(&st), 1);
    let mut accepted = r;
    accepted.status = Some("Approved".into());
    st.set_remote(&o.session_id, accepted, None, "remote:AS65010")
        .unwrap();
    assert_eq!(audited(&st), 2);
    // inbound sessions have no remote side
    let i = new_one(insert(&st, 65002, vec![session(65002, 1, SessionStatus::Pending)]).remove(0));
    assert!(matches!(
        st.set_remote(&i.session_id, RemoteState::default(), None, "x"),
        Err(crate::store::StoreError::Conflict(_))
    ));
    assert!(matches!(
        st.set_remote("nope", RemoteState::default(), None, "x"),
        Err(crate::store::StoreError::NotFound(_))
    ));
}

#[test]
fn an_outbound_session_holds_its_neighbor_address_like_any() {
    let (_d, st) = store();
    let o = new_one(insert(&st, 65010, vec![outbound(65010, 1)]).remove(0));
    // the same network asking us for the same session gets ours back
    let mut twin = session(65010, 1, SessionStatus::Pending);
    twin.session_secret = o.session_secret.clone();
    match insert(&st, 65010, vec![twin]).remove(0) {
        Inserted::Existing(s) => assert_eq!(s.session_id, o.session_id),
        other => panic!("{other:?}"),
    }
    // another network cannot have the address
    let mut other = session(65099, 1, SessionStatus::Pending);
    other.local_ip = o.local_ip;
    assert_eq!(insert(&st, 65099, vec![other]).remove(0), Inserted::Taken);
    // refused by the remote: the address is free again
    let opts = TransitionOpts {
        actor: "remote:AS65010".into(),
        ..Default::default()
    };
    st.transition(&o.session_id, SessionStatus::Rejected, opts)
        .unwrap();
    assert!(matches!(
        insert(&st, 65010, vec![outbound(65010, 1)]).remove(0),
        Inserted::New(_)
    ));
}

//! Holds (drain, maintenance) and deferred jobs.

use super::{insert_one, opts, session, store};
use crate::model::{Drain, JobKind, MaintenanceHold, NeighborForm, SessionStatus as S};
use crate::store::{HoldChange, Store, StoreError};

fn established(st: &super::SledStore, n: u32) -> crate::model::Session {
    let s = insert_one(st, session(65002, n, S::Approved));
    let id = s.session_id.clone();
    st.transition(&id, S::Provisioning, opts("w")).unwrap();
    st.mark_pushed(std::slice::from_ref(&id)).unwrap();
    st.transition(&id, S::Configured, opts("w")).unwrap();
    st.transition(&id, S::Established, opts("p")).unwrap()
}

#[test]
fn deleting_an_established_session_marks_it_for_a_drain() {
    let (_d, st) = store();
    let s = established(&st, 1);
    assert_eq!(s.drain, None);
    let s = st
        .transition(&s.session_id, S::Deleting, opts("peer"))
        .unwrap();
    assert_eq!(s.drain, Some(Drain::default()));
    assert_eq!(s.form(), NeighborForm::Drain);
    // a session that was not up is removed without one
    let d = established(&st, 2);
    st.transition(&d.session_id, S::Down, opts("p")).unwrap();
    let d = st
        .transition(&d.session_id, S::Deleting, opts("peer"))
        .unwrap();
    assert_eq!(d.drain, None);
    assert_eq!(d.form(), NeighborForm::Normal);
}

#[test]
fn set_hold_is_compare_and_set_and_queues_one_refresh() {
    let (_d, st) = store();
    let s = established(&st, 1);
    let hold = MaintenanceHold {
        window: "w1".into(),
        drain: Some(Drain::default()),
        shutdown: false,
    };
    let change = HoldChange {
        actor: "maintenance".into(),
        action: "maintenance".into(),
        expect_maintenance: Some(None),
        maintenance: Some(Some(hold.clone())),
        refresh: true,
        ..Default::default()
    };
    let h = st.set_hold(&s.session_id, &change).unwrap();
    assert_eq!(h.maintenance, Some(hold));
    assert_eq!(h.status, S::Established, "no status change");
    assert_eq!(h.form(), NeighborForm::Drain);
    // the same change again: the session is held already
    assert!(matches!(
        st.set_hold(&s.session_id, &change),
        Err(StoreError::Conflict(_))
    ));
    let refresh: Vec<_> = st
        .jobs()
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JobKind::Refresh)
        .collect();
    assert_eq!(refresh.len(), 1);
    // a Refresh waiting is not queued twice
    let release = HoldChange {
        actor: "maintenance".into(),
        action: "maintenance".into(),
        maintenance: Some(None),
        refresh: true,
        ..Default::default()
    };
    st.set_hold(&s.session_id, &release).unwrap();
    let n = st
        .jobs()
        .unwrap()
        .iter()
        .filter(|j| j.kind == JobKind::Refresh)
        .count();
    assert_eq!(n, 1);
    // deleting cancels the waiting Refresh
    st.transition(&s.session_id, S::Deleting, opts("peer"))
        .unwrap();
    let kinds: Vec<JobKind> = st.jobs().unwrap().iter().map(|j| j.kind).collect();
    assert_eq!(kinds, vec![JobKind::Deprovision]);
}

#[test]
fn defer_gives_the_job_back_for_later_without_an_attempt() {
    let (_d, st) = store();
    let s = established(&st, 1);
    st.transition(&s.session_id, S::Deleting, opts("peer"))
        .unwrap();
    let now = crate::model::now_ms();
    let jobs = st.claim(now, 60_000, "w", 10, &[]).unwrap();
    assert_eq!(jobs.len(), 1);
    let tok = jobs[0].lease.as_ref().unwrap().token;
    let j = st.defer(jobs[0].job_id, tok, now + 5_000).unwrap();
    assert_eq!(j.attempts, 0);
    assert_eq!(j.lease, None);
    assert!(st.claim(now, 60_000, "w", 10, &[]).unwrap().is_empty());
    // the wait survives a reclaim (a restart) and ends at its time
    st.reclaim_expired(u64::MAX).unwrap();
    assert!(st
        .claim(now + 4_000, 60_000, "w", 10, &[])
        .unwrap()
        .is_empty());
    assert_eq!(
        st.claim(now + 5_000, 60_000, "w", 10, &[]).unwrap().len(),
        1
    );
    // a stale lease cannot defer
    assert!(matches!(
        st.defer(j.job_id, tok, now),
        Err(StoreError::LeaseLost(_))
    ));
}

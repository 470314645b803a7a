//! The job queue: ordering, leases, retries, concurrency.

use super::*;
use crate::model::{Job, JobKind, SessionStatus::*};
use crate::store::Store;
use crate::store::StoreError;
use std::collections::HashSet;
use std::sync::Arc;

const T0: u64 = 1_000_000;

/// A store with `n` Approved sessions, their Provision jobs removed, so
/// tests enqueue exactly the jobs they want.
fn with_sessions(mk: &Mk, n: u32) -> (Fresh, Arc<dyn Store>, Vec<Session>) {
    let d = mk();
    let st = d.st.clone();
    let sessions: Vec<Session> = (0..n)
        .map(|i| insert_one(&*st, session(64512, i, Pending)))
        .collect();
    (d, st, sessions)
}

fn token(j: &Job) -> u64 {
    j.lease.as_ref().unwrap().token
}

pub fn claim_is_ordered_bounded_and_skips_busy_routers(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 4);
    let id = |i: usize| s[i].session_id.clone();
    let j_late = st
        .enqueue(&id(0), "rtr1", JobKind::Expire, T0 + 50)
        .unwrap();
    let j_early = st
        .enqueue(&id(1), "rtr1", JobKind::Expire, T0 + 10)
        .unwrap();
    let j_other = st
        .enqueue(&id(2), "rtr2", JobKind::Expire, T0 + 20)
        .unwrap();
    let j_future = st
        .enqueue(&id(3), "rtr1", JobKind::Expire, T0 + 10_000)
        .unwrap();

    // nothing is ready before its time
    assert!(st.claim(T0, 1000, "w1", 10, &[]).unwrap().is_empty());

    // busy router skipped, oldest first, at most `max`
    let busy = vec!["rtr2".to_string()];
    let got = st.claim(T0 + 100, 1000, "w1", 1, &busy).unwrap();
    assert_eq!(
        got.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        vec![j_early]
    );
    let l = got[0].lease.as_ref().unwrap();
    assert_eq!((l.owner.as_str(), l.until_ms), ("w1", T0 + 1100));
    let got = st.claim(T0 + 100, 1000, "w1", 10, &busy).unwrap();
    assert_eq!(
        got.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        vec![j_late]
    );
    let got = st.claim(T0 + 100, 1000, "w2", 10, &[]).unwrap();
    assert_eq!(
        got.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        vec![j_other]
    );
    // all ready jobs are leased now
    assert!(st.claim(T0 + 100, 1000, "w3", 10, &[]).unwrap().is_empty());
    let got = st.claim(T0 + 10_000, 1000, "w3", 10, &[]).unwrap();
    assert_eq!(got[0].job_id, j_future);

    // claims are audited on the session
    let trail = st.audit(&id(1)).unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "job_claimed" && e.actor == "w1"));
}

pub fn lease_expiry_and_reclaim(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 2);
    let a = st
        .enqueue(&s[0].session_id, "rtr1", JobKind::Expire, T0)
        .unwrap();
    let b = st
        .enqueue(&s[1].session_id, "rtr1", JobKind::Expire, T0)
        .unwrap();
    let got = st.claim(T0, 1000, "crashed", 10, &[]).unwrap();
    assert_eq!(got.len(), 2);
    let old_a = got.iter().find(|j| j.job_id == a).unwrap().clone();
    let live_b = got.iter().find(|j| j.job_id == b).unwrap().clone();
    // b's worker is alive and renews
    st.renew(b, token(&live_b), T0 + 900, 5000).unwrap();

    // before expiry nothing is reclaimed; a live lease is never claimed again
    assert_eq!(st.reclaim_expired(T0 + 999).unwrap(), 0);
    assert!(st.claim(T0 + 999, 1000, "w2", 10, &[]).unwrap().is_empty());

    // after expiry only a comes back, with its attempts unchanged
    assert_eq!(st.reclaim_expired(T0 + 1001).unwrap(), 1);
    assert_eq!(st.reclaim_expired(T0 + 1001).unwrap(), 0);
    let again = st.claim(T0 + 1001, 1000, "w2", 10, &[]).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job_id, a);
    assert_eq!(again[0].attempts, 0);
    assert_ne!(token(&again[0]), token(&old_a));

    // the crashed worker's token is dead
    assert!(matches!(
        st.complete(a, token(&old_a)),
        Err(StoreError::LeaseLost(id)) if id == a
    ));
    st.complete(a, token(&again[0])).unwrap();
    st.complete(b, token(&live_b)).unwrap();
    assert!(st.jobs().unwrap().is_empty());
    let trail = st.audit(&s[0].session_id).unwrap();
    assert!(trail.iter().any(|e| e.action == "lease_expired"));
}

pub fn retry_after_backoff(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 1);
    let id = st
        .enqueue(&s[0].session_id, "rtr1", JobKind::Expire, T0)
        .unwrap();
    let j = st.claim(T0, 1000, "w", 1, &[]).unwrap().remove(0);
    let failed = st
        .fail(id, token(&j), T0 + 5000, "connection refused")
        .unwrap();
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.not_before_ms, T0 + 5000);
    assert_eq!(failed.last_error.as_deref(), Some("connection refused"));
    assert!(failed.lease.is_none());

    // not claimable before retry_at, claimable after
    assert!(st.claim(T0 + 4999, 1000, "w", 1, &[]).unwrap().is_empty());
    let j2 = st.claim(T0 + 5000, 1000, "w", 1, &[]).unwrap().remove(0);
    assert_eq!((j2.job_id, j2.attempts), (id, 1));
    let failed = st.fail(id, token(&j2), T0 + 9000, "timeout").unwrap();
    assert_eq!(failed.attempts, 2);
    assert_eq!(st.jobs().unwrap(), vec![failed]);
    let trail = st.audit(&s[0].session_id).unwrap();
    let fails: Vec<_> = trail.iter().filter(|e| e.action == "job_failed").collect();
    assert_eq!(fails.len(), 2);
    assert!(fails[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("connection refused"));
}

pub fn lease_lost_on_wrong_token_or_unknown_job(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 1);
    let id = st
        .enqueue(&s[0].session_id, "rtr1", JobKind::Expire, T0)
        .unwrap();
    let j = st.claim(T0, 1000, "w", 1, &[]).unwrap().remove(0);
    let bad = token(&j).wrapping_add(1);
    assert!(matches!(
        st.complete(id, bad),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        st.fail(id, bad, T0, "x"),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        st.renew(id, bad, T0, 10),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        st.complete(9999, 1),
        Err(StoreError::LeaseLost(9999))
    ));
    // an unclaimed job has no lease to present
    let id2 = st
        .enqueue(&s[0].session_id, "rtr1", JobKind::Expire, T0 + 10_000)
        .unwrap();
    assert!(matches!(st.complete(id2, 0), Err(StoreError::LeaseLost(_))));
    st.complete(id, token(&j)).unwrap();
    assert!(matches!(
        st.complete(id, token(&j)),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        st.enqueue(&"no-such-session".to_string(), "rtr1", JobKind::Expire, T0),
        Err(StoreError::NotFound(_))
    ));
}

pub fn provision_retry_and_reapproval(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let s = insert_one(&*st, session(64512, 1, Approved));
    let id = &s.session_id;
    let now = crate::model::now_ms();
    let j = st.claim(now, 60_000, "w", 1, &[]).unwrap().remove(0);
    st.transition(id, Provisioning, opts("worker")).unwrap();
    // transient failure: the job goes back with backoff, no second job
    st.fail(j.job_id, token(&j), now + 1, "timeout").unwrap();
    st.transition(id, Approved, opts("worker")).unwrap();
    assert_eq!(st.jobs().unwrap().len(), 1);

    // permanent failure races an operator retry: the job is re-queued
    let j = st.claim(now + 1, 60_000, "w", 1, &[]).unwrap().remove(0);
    st.transition(id, Provisioning, opts("worker")).unwrap();
    st.transition(id, Failed, opts("worker")).unwrap();
    st.transition(id, Approved, opts("operator:noc")).unwrap();
    assert_eq!(st.jobs().unwrap().len(), 1, "the running job covers it");
    st.complete(j.job_id, token(&j)).unwrap();
    let jobs = st.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_ne!(jobs[0].job_id, j.job_id);
    assert_eq!(jobs[0].kind, JobKind::Provision);
    assert!(jobs[0].lease.is_none());
}

pub fn no_job_is_claimed_twice_by_concurrent_claimers(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 20);
    let mut all = HashSet::new();
    for (i, sess) in s.iter().enumerate() {
        for k in 0..15u64 {
            let router = format!("rtr{}", i % 3);
            all.insert(
                st.enqueue(&sess.session_id, &router, JobKind::Expire, T0 + k)
                    .unwrap(),
            );
        }
    }
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let st = st.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut empty = 0;
                while empty < 3 {
                    let got = st
                        .claim(T0 + 100, 3_600_000, &format!("w{t}"), 1 + t, &[])
                        .unwrap();
                    if got.is_empty() {
                        empty += 1;
                    }
                    for j in got {
                        // complete half of them; the rest stay leased
                        if j.job_id % 2 == 0 {
                            st.complete(j.job_id, token(&j)).unwrap();
                        }
                        mine.push(j.job_id);
                    }
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in threads {
        claimed.extend(t.join().unwrap());
    }
    let uniq: HashSet<u64> = claimed.iter().copied().collect();
    assert_eq!(uniq.len(), claimed.len(), "a job was claimed twice");
    assert_eq!(uniq, all, "every job was claimed");
    let left = st.jobs().unwrap();
    assert_eq!(left.len(), all.len() / 2);
    assert!(left.iter().all(|j| j.lease.is_some() && j.job_id % 2 == 1));
}

/// `session_jobs` answers one session's jobs, in id order, and nothing
/// of another's; a finished job leaves it.
pub fn session_jobs_are_one_sessions_in_order(mk: &Mk) {
    let (_d, st, s) = with_sessions(mk, 3);
    let id = |i: usize| s[i].session_id.clone();
    let a1 = st.enqueue(&id(0), "rtr1", JobKind::Expire, T0).unwrap();
    let b1 = st.enqueue(&id(1), "rtr1", JobKind::Expire, T0 + 5).unwrap();
    let a2 = st
        .enqueue(&id(0), "rtr1", JobKind::Expire, T0 + 10_000)
        .unwrap();
    let ids = |sid: &str| -> Vec<u64> {
        st.session_jobs(sid)
            .unwrap()
            .iter()
            .map(|j| j.job_id)
            .collect()
    };
    assert_eq!(ids(&id(0)), vec![a1, a2]);
    assert_eq!(ids(&id(1)), vec![b1]);
    assert!(ids(&id(2)).is_empty());
    assert!(ids("00000000-0000-7000-8000-000000000000").is_empty());
    for sid in [id(0), id(1), id(2)] {
        let all: Vec<u64> = st
            .jobs()
            .unwrap()
            .iter()
            .filter(|j| j.session_id == sid)
            .map(|j| j.job_id)
            .collect();
        assert_eq!(ids(&sid), all, "the same as the whole queue says");
    }
    let j = st.claim(T0, 1000, "w", 1, &[]).unwrap().remove(0);
    assert_eq!(j.job_id, a1);
    st.complete(a1, token(&j)).unwrap();
    assert_eq!(ids(&id(0)), vec![a2]);
}

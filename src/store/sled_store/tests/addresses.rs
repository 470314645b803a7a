//! The address rule: one owner per neighbor address at a router, released
//! on removal and terminal statuses, handed over from a `Deleting` session
//! to its repeat (whose push waits for the removal); the layout upgrade.

use super::*;
use crate::model::{now_ms, JobKind, SessionStatus::*};
use crate::store::{RemoveOpts, StoreError};

const ADDR: &str = "2001:db8::50";

fn at(asn: u32, status: SessionStatus) -> Session {
    session_at(asn, ADDR.parse().unwrap(), status)
}

/// Holders of [`ADDR`] at `rtr1`, as stored.
fn holders(st: &SledStore) -> Vec<String> {
    let probe = at(1, Pending);
    st.inner.trees.holders(&probe).unwrap()
}

fn kinds_ready(st: &SledStore) -> Vec<(JobKind, String)> {
    st.claim(now_ms(), 60_000, "w", 100, &[])
        .unwrap()
        .into_iter()
        .map(|j| {
            // hand the job back at once, unchanged
            st.fail(j.job_id, j.lease.as_ref().unwrap().token, 0, "test")
                .unwrap();
            (j.kind, j.session_id)
        })
        .collect()
}

fn push(st: &SledStore, id: &str) {
    st.transition(id, Provisioning, opts("worker")).unwrap();
    assert_eq!(st.mark_pushed(&[id.to_string()]).unwrap(), vec![id]);
    st.transition(id, Configured, opts("worker")).unwrap();
}

#[test]
fn another_network_is_refused_and_names_nobody() {
    let (_d, st) = store();
    let a = insert_one(&st, at(64512, Approved));
    // another network, same address at the same router: refused
    assert_eq!(
        insert(&st, 64513, vec![at(64513, Approved)]),
        vec![Inserted::Taken]
    );
    // even with every other parameter equal, or another of our addresses
    let mut b = at(64513, Pending);
    b.peer_ip = "2001:db8::2".parse().unwrap();
    assert_eq!(insert(&st, 64513, vec![b]), vec![Inserted::Taken]);
    // the same network: identical -> the existing one; else a conflict
    assert_eq!(
        insert(&st, 64512, vec![at(64512, Approved)]),
        vec![Inserted::Existing(a.clone())]
    );
    let mut other = at(64512, Approved);
    other.peer_ip = "2001:db8::2".parse().unwrap();
    assert_eq!(
        insert(&st, 64512, vec![other]),
        vec![Inserted::Conflict(a.clone())]
    );
    // the same address at another router is another neighbor
    let mut elsewhere = at(64513, Approved);
    elsewhere.router = "rtr2".into();
    assert!(matches!(
        insert(&st, 64513, vec![elsewhere])[0],
        Inserted::New(_)
    ));
    assert_eq!(holders(&st), vec![a.session_id.clone()]);
    // a refused item does not stop the rest of its request
    let out = insert(
        &st,
        64513,
        vec![at(64513, Approved), session(64513, 7, Approved)],
    );
    assert_eq!(out[0], Inserted::Taken);
    assert!(matches!(out[1], Inserted::New(_)));
}

#[test]
fn racing_networks_one_wins() {
    for _round in 0..5 {
        let (_d, st) = store();
        let threads: Vec<_> = (0..8u32)
            .map(|i| {
                let st = st.clone();
                std::thread::spawn(move || {
                    let asn = 64512 + i;
                    insert(&st, asn, vec![at(asn, Approved)]).pop().unwrap()
                })
            })
            .collect();
        let out: Vec<Inserted> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let won: Vec<&Session> = out
            .iter()
            .filter_map(|o| match o {
                Inserted::New(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(won.len(), 1, "{out:?}");
        assert_eq!(out.iter().filter(|o| **o == Inserted::Taken).count(), 7);
        assert_eq!(holders(&st), vec![won[0].session_id.clone()]);
        assert_eq!(st.jobs().unwrap().len(), 1);
    }
}

#[test]
fn released_on_removal_and_terminal_statuses() {
    let (_d, st) = store();
    let taken = |st: &SledStore| insert(st, 64599, vec![at(64599, Pending)])[0] == Inserted::Taken;

    // removed (the worker after Deprovision, or a DELETE)
    let a = insert_one(&st, at(64512, Pending));
    assert!(taken(&st));
    st.remove_session(&a.session_id, "worker").unwrap();
    assert!(holders(&st).is_empty());

    // rejected
    let b = insert_one(&st, at(64513, Pending));
    st.transition(&b.session_id, Rejected, opts("operator:noc"))
        .unwrap();
    assert!(holders(&st).is_empty());
    // a session created Rejected (policy) holds nothing either
    insert_one(&st, at(64514, Rejected));
    assert!(holders(&st).is_empty());

    // unestablished (its neighbor was removed): also no longer pushed
    let c = insert_one(&st, at(64515, Approved));
    push(&st, &c.session_id);
    let c2 = st
        .transition(&c.session_id, Unestablished, opts("worker"))
        .unwrap();
    assert!(!c2.pushed);
    assert!(holders(&st).is_empty());

    // Deleting still holds it (until removed); Failed holds it
    let d = insert_one(&st, at(64516, Approved));
    push(&st, &d.session_id);
    st.transition(&d.session_id, Deleting, opts("pdb:1"))
        .unwrap();
    assert!(taken(&st));
    st.remove_session_if(
        &d.session_id,
        RemoveOpts {
            actor: "operator:noc".into(),
            action: Some("force-remove".into()),
            expect: vec![Deleting, Failed],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(holders(&st).is_empty());
    let e = insert_one(&st, at(64517, Approved));
    st.transition(&e.session_id, Provisioning, opts("worker"))
        .unwrap();
    st.transition(&e.session_id, Failed, opts("worker"))
        .unwrap();
    assert!(taken(&st));

    // a terminal session cannot take an address back from its new owner
    let err = st
        .transition(&b.session_id, Deleting, opts("pdb:1"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(holders(&st), vec![e.session_id.clone()]);
}

#[test]
fn deleting_hands_over_to_its_repeat_whose_push_waits() {
    let (_d, st) = store();
    let old = insert_one(&st, at(64512, Approved));
    let jobs = st.claim(now_ms(), 1000, "w", 10, &[]).unwrap();
    push(&st, &old.session_id);
    for j in jobs {
        st.complete(j.job_id, j.lease.unwrap().token).unwrap();
    }
    assert!(st.jobs().unwrap().is_empty());
    st.transition(&old.session_id, Deleting, opts("pdb:1"))
        .unwrap();

    // another network: still refused while the removal runs
    assert_eq!(
        insert(&st, 64513, vec![at(64513, Approved)]),
        vec![Inserted::Taken]
    );
    // the same network with other parameters: a conflict
    let mut other = at(64512, Approved);
    other.local_monitoring_session = true;
    assert!(matches!(
        insert(&st, 64512, vec![other])[0],
        Inserted::Conflict(_)
    ));
    // an identical repeat: a new session that holds the address too
    let Inserted::New(new) = insert(&st, 64512, vec![at(64512, Approved)]).pop().unwrap() else {
        panic!("expected a new session");
    };
    assert_ne!(new.session_id, old.session_id);
    assert!(new.status_detail.as_deref().unwrap().contains("removed"));
    assert_eq!(
        holders(&st),
        vec![old.session_id.clone(), new.session_id.clone()]
    );
    // repeated again: now that one is the answer; others still refused
    assert_eq!(
        insert(&st, 64512, vec![at(64512, Approved)]),
        vec![Inserted::Existing(new.clone())]
    );
    assert_eq!(
        insert(&st, 64513, vec![at(64513, Approved)]),
        vec![Inserted::Taken]
    );

    // only the removal is claimable; the new push waits for it
    assert_eq!(
        kinds_ready(&st),
        vec![(JobKind::Deprovision, old.session_id.clone())]
    );
    assert_eq!(
        kinds_ready(&st),
        vec![(JobKind::Deprovision, old.session_id.clone())]
    );
    st.remove_session(&old.session_id, "worker").unwrap();
    assert_eq!(
        kinds_ready(&st),
        vec![(JobKind::Provision, new.session_id.clone())]
    );
    assert_eq!(holders(&st), vec![new.session_id.clone()]);
}

#[test]
fn mark_pushed_and_conditional_removal_are_ordered() {
    let (_d, st) = store();
    let a = insert_one(&st, at(64512, Approved));
    let b = insert_one(&st, session(64512, 2, Approved));
    // only Provisioning sessions are marked; gone ones are left out
    assert_eq!(
        st.mark_pushed(std::slice::from_ref(&a.session_id)).unwrap(),
        Vec::<String>::new()
    );
    st.transition(&a.session_id, Provisioning, opts("worker"))
        .unwrap();
    st.transition(&b.session_id, Provisioning, opts("worker"))
        .unwrap();
    let unpushed = || RemoveOpts {
        actor: "pdb:1".into(),
        action: Some("delete".into()),
        expect: vec![Provisioning],
        unpushed: true,
        ..Default::default()
    };
    // b is removed before the worker marks it: the worker must not push it
    st.remove_session_if(&b.session_id, unpushed()).unwrap();
    let ids = vec![a.session_id.clone(), b.session_id.clone(), "gone".into()];
    assert_eq!(st.mark_pushed(&ids).unwrap(), vec![a.session_id.clone()]);
    // a is marked: a removal without the router is refused now
    let err = st.remove_session_if(&a.session_id, unpushed()).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let mut o = unpushed();
    o.unpushed = false;
    o.expect = vec![Deleting];
    assert!(matches!(
        st.remove_session_if(&a.session_id, o),
        Err(StoreError::Conflict(_))
    ));
    assert!(st.get_session(&a.session_id).unwrap().unwrap().pushed);
    let trail = st.audit(&b.session_id).unwrap();
    assert_eq!(trail.last().unwrap().action, "delete");
}

#[test]
fn requeue_now_resets_waiting_jobs_only() {
    let (_d, st) = store();
    let a = insert_one(&st, at(64512, Approved));
    // no retry while the push runs
    let j = st
        .claim(now_ms(), 60_000, "w", 10, &[])
        .unwrap()
        .pop()
        .unwrap();
    let tok = j.lease.as_ref().unwrap().token;
    assert!(matches!(
        st.requeue_now(&a.session_id, "operator:noc"),
        Err(StoreError::Conflict(_))
    ));
    // backing off: ready now, attempts reset
    let later = now_ms() + 3_600_000;
    let failed = st.fail(j.job_id, tok, later, "connection refused").unwrap();
    assert_eq!(failed.attempts, 1);
    assert!(st.claim(now_ms(), 60_000, "w", 10, &[]).unwrap().is_empty());
    st.requeue_now(&a.session_id, "operator:noc").unwrap();
    let job = st.jobs().unwrap().pop().unwrap();
    assert_eq!((job.attempts, job.last_error.as_deref()), (0, None));
    assert!(job.not_before_ms <= now_ms());
    assert_eq!(st.claim(now_ms(), 60_000, "w", 10, &[]).unwrap().len(), 1);
    let trail = st.audit(&a.session_id).unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "retry" && e.actor == "operator:noc"));
    // nothing waits
    let p = insert_one(&st, session(64512, 3, Pending));
    let err = st.requeue_now(&p.session_id, "operator:noc").unwrap_err();
    assert!(matches!(err, StoreError::Conflict(m) if m.contains("Pending")));
}

#[test]
fn layout_1_is_upgraded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = {
        let st = SledStore::open(dir.path()).unwrap();
        let a = insert_one(&st, at(64512, Approved));
        push(&st, &a.session_id);
        let b = insert_one(&st, session(64512, 2, Pending));
        let c = insert_one(&st, session(64512, 3, Pending));
        st.transition(&c.session_id, Rejected, opts("operator:noc"))
            .unwrap();
        // Make it look like layout 1: layout 2's trees without
        // `addresses`, a `dedup` tree, and records written before `pushed`
        // existed.
        to_layout_2(&st, |rec| {
            rec.as_object_mut().unwrap().remove("pushed");
        });
        let t = &st.inner.trees;
        t.addresses.clear().unwrap();
        st.inner
            .db
            .open_tree("dedup")
            .unwrap()
            .insert("k", "v")
            .unwrap();
        t.meta
            .insert(
                super::super::keys::SCHEMA,
                &super::super::keys::u64_key(1)[..],
            )
            .unwrap();
        st.inner.db.flush().unwrap();
        (a, b, c)
    };
    let st = SledStore::open(dir.path()).unwrap();
    assert!(st.get_session(&a.session_id).unwrap().unwrap().pushed);
    assert!(!st.get_session(&b.session_id).unwrap().unwrap().pushed);
    assert_eq!(holders(&st), vec![a.session_id.clone()]);
    assert_eq!(
        st.inner.trees.holders(&b).unwrap(),
        vec![b.session_id.clone()]
    );
    assert!(st.inner.trees.holders(&c).unwrap().is_empty());
    assert!(!st
        .inner
        .db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == b"dedup"));
    assert_eq!(
        insert(&st, 64513, vec![at(64513, Approved)]),
        vec![Inserted::Taken]
    );
    drop(st);
    // opened again: nothing left to upgrade
    let st = SledStore::open(dir.path()).unwrap();
    assert_eq!(holders(&st), vec![a.session_id]);
}

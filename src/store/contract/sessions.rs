//! Sessions: insert/dedup/conflict, transitions and audit, listing.

use super::*;
use crate::model::{JobKind, SessionStatus::*};
use crate::store::Store;
use crate::store::{SessionFilter, StoreError};
use std::collections::HashSet;

pub fn insert_new_existing_and_conflict(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let a = session(64512, 1, Pending);
    let out = insert(&*st, 64512, vec![a.clone()]);
    let Inserted::New(stored) = &out[0] else {
        panic!("{out:?}")
    };
    assert!(stored.seq > 0);
    assert!(stored.created_ms > 0);
    assert_eq!(
        st.get_session(&a.session_id).unwrap().as_ref(),
        Some(stored)
    );

    // identical repeat (new ids) -> the existing session
    let out = insert(&*st, 64512, vec![session(64512, 1, Pending)]);
    assert_eq!(out, vec![Inserted::Existing(stored.clone())]);

    // same dedup key, other parameters -> conflict
    let mut other = session(64512, 1, Pending);
    other.peer_monitoring_session = true;
    let out = insert(&*st, 64512, vec![other.clone()]);
    assert_eq!(out, vec![Inserted::Conflict(stored.clone())]);
    assert!(st.get_session(&other.session_id).unwrap().is_none());

    // the request record lists new and existing sessions, not conflicts
    let req = request(64512);
    let mut again = session(64512, 1, Pending);
    again.request_id = req.request_id.clone();
    let fresh = session(64512, 2, Pending);
    let out = st
        .insert_request(&req, vec![again, other, fresh.clone()])
        .unwrap();
    assert!(matches!(out[0], Inserted::Existing(_)));
    assert!(matches!(out[1], Inserted::Conflict(_)));
    assert!(matches!(out[2], Inserted::New(_)));
    let rec = st.get_request(&req.request_id).unwrap().unwrap();
    assert_eq!(
        rec.session_ids,
        vec![a.session_id.clone(), fresh.session_id]
    );

    // one `created` audit record per new session
    let trail = st.audit(&a.session_id).unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "created");
    assert_eq!(trail[0].to, Some(Pending));

    // the same request id twice is refused as a whole
    let err = st.insert_request(&req, vec![session(64512, 9, Pending)]);
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(
        st.list_sessions(&SessionFilter::default(), None, 100)
            .unwrap()
            .sessions
            .len(),
        2
    );
}

pub fn dedup_inside_one_request_and_after_terminal(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let a = session(64512, 1, Pending);
    let out = insert(&*st, 64512, vec![a.clone(), session(64512, 1, Pending)]);
    assert!(matches!(out[0], Inserted::New(_)));
    assert!(matches!(&out[1], Inserted::Existing(s) if s.session_id == a.session_id));

    // once rejected, the same session may be asked for again
    st.transition(&a.session_id, Rejected, opts("operator:noc"))
        .unwrap();
    let out = insert(&*st, 64512, vec![session(64512, 1, Pending)]);
    let Inserted::New(b) = &out[0] else {
        panic!("{out:?}")
    };
    assert_ne!(b.session_id, a.session_id);
    assert!(b.seq > a.seq);

    // a session created as Rejected (by policy) blocks nothing
    let c = session(64512, 5, Rejected);
    insert_one(&*st, c);
    assert!(matches!(
        insert(&*st, 64512, vec![session(64512, 5, Pending)])[0],
        Inserted::New(_)
    ));

    // new sessions must start in Pending, Approved or Rejected
    let bad = insert_request_err(&*st, session(64512, 7, Configured));
    assert!(matches!(bad, StoreError::Conflict(_)), "{bad:?}");
}

fn insert_request_err(st: &dyn Store, s: Session) -> StoreError {
    st.insert_request(&request(s.local_asn.0), vec![s])
        .unwrap_err()
}

pub fn transitions_follow_the_table_and_write_audit(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let s = insert_one(&*st, session(64512, 1, Pending));
    let id = &s.session_id;

    // refused: not in the table; nothing changes, no audit record
    let err = st.transition(id, Configured, opts("worker")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadTransition {
                from: Pending,
                to: Configured
            }
        ),
        "{err:?}"
    );
    assert_eq!(st.get_session(id).unwrap().unwrap().status, Pending);
    assert_eq!(st.audit(id).unwrap().len(), 1);

    let mut o = opts("operator:noc");
    o.action = Some("approve".into());
    o.detail = Some(Some("looks fine".into()));
    let s2 = st.transition(id, Approved, o).unwrap();
    assert_eq!(s2.status, Approved);
    assert_eq!(s2.status_detail.as_deref(), Some("looks fine"));
    st.transition(id, Provisioning, opts("worker")).unwrap();
    let c = st.transition(id, Configured, opts("worker")).unwrap();
    let first = c.configured_ms.expect("configured_ms set");
    st.transition(id, Approved, opts("operator:noc")).unwrap();
    st.transition(id, Provisioning, opts("worker")).unwrap();
    let c2 = st.transition(id, Configured, opts("worker")).unwrap();
    assert_eq!(
        c2.configured_ms,
        Some(first),
        "configured_ms is set only once"
    );

    let trail = st.audit(id).unwrap();
    let steps: Vec<_> = trail.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(trail[0].action, "created");
    assert_eq!(trail[1].action, "approve");
    assert_eq!(trail[1].actor, "operator:noc");
    assert_eq!(trail[1].detail.as_deref(), Some("looks fine"));
    assert_eq!(
        &steps[1..],
        &[
            (Some(Pending), Some(Approved)),
            (Some(Approved), Some(Provisioning)),
            (Some(Provisioning), Some(Configured)),
            (Some(Configured), Some(Approved)),
            (Some(Approved), Some(Provisioning)),
            (Some(Provisioning), Some(Configured)),
        ]
    );

    // detail only: Some(None) clears
    let mut o = opts("worker");
    o.detail = Some(None);
    assert_eq!(
        st.transition(id, Established, o).unwrap().status_detail,
        None
    );
    let s3 = st
        .set_detail(id, Some("flapping".into()), "poller")
        .unwrap();
    assert_eq!(s3.status, Established);
    assert_eq!(st.audit(id).unwrap().last().unwrap().action, "detail");

    assert!(matches!(
        st.transition("nope", Approved, opts("x")),
        Err(StoreError::NotFound(_))
    ));
}

pub fn expect_is_compare_and_set(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let s = insert_one(&*st, session(64512, 1, Pending));
    let mut o = opts("operator:a");
    o.expect = vec![Approved, Failed];
    let err = st.transition(&s.session_id, Deleting, o).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        st.get_session(&s.session_id).unwrap().unwrap().status,
        Pending
    );

    let mut o = opts("operator:a");
    o.expect = vec![Pending];
    st.transition(&s.session_id, Approved, o.clone()).unwrap();
    // a second operator racing on the same expectation loses
    assert!(matches!(
        st.transition(&s.session_id, Approved, o),
        Err(StoreError::Conflict(_))
    ));
}

pub fn approval_and_deletion_keep_the_queue_in_step(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    // created Approved -> one Provision job
    let a = insert_one(&*st, session(64512, 1, Approved));
    let jobs = st.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].kind, &jobs[0].session_id),
        (JobKind::Provision, &a.session_id)
    );

    // Pending -> Approved enqueues; Deleting cancels the unclaimed Provision
    let b = insert_one(&*st, session(64512, 2, Pending));
    assert_eq!(st.jobs().unwrap().len(), 1);
    st.transition(&b.session_id, Approved, opts("policy"))
        .unwrap();
    let for_b = |st: &dyn Store| -> Vec<JobKind> {
        st.jobs()
            .unwrap()
            .into_iter()
            .filter(|j| j.session_id == b.session_id)
            .map(|j| j.kind)
            .collect()
    };
    assert_eq!(for_b(&*st), vec![JobKind::Provision]);
    st.transition(&b.session_id, Deleting, opts("pdb:1"))
        .unwrap();
    assert_eq!(for_b(&*st), vec![JobKind::Deprovision]);

    // a claimed (running) Provision is left to its worker
    let claimed = st
        .claim(crate::model::now_ms(), 60_000, "w", 10, &[])
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let pa = claimed
        .iter()
        .find(|j| j.session_id == a.session_id)
        .unwrap();
    st.transition(&a.session_id, Deleting, opts("pdb:1"))
        .unwrap();
    let kinds: Vec<_> = st
        .jobs()
        .unwrap()
        .into_iter()
        .filter(|j| j.session_id == a.session_id)
        .map(|j| (j.kind, j.lease.is_some()))
        .collect();
    assert_eq!(
        kinds,
        vec![(JobKind::Provision, true), (JobKind::Deprovision, false)]
    );
    st.complete(pa.job_id, pa.lease.as_ref().unwrap().token)
        .unwrap();
}

pub fn remove_session_drops_indexes_but_keeps_audit(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let s = insert_one(&*st, session(64512, 1, Pending));
    st.transition(&s.session_id, Deleting, opts("pdb:1"))
        .unwrap();
    st.remove_session(&s.session_id, "worker").unwrap();
    assert!(st.get_session(&s.session_id).unwrap().is_none());
    assert!(st.jobs().unwrap().is_empty(), "unclaimed jobs go with it");
    let f = SessionFilter {
        owner_asn: Some(64512),
        ..Default::default()
    };
    assert!(st.list_sessions(&f, None, 10).unwrap().sessions.is_empty());
    let trail = st.audit(&s.session_id).unwrap();
    assert_eq!(trail.last().unwrap().action, "removed");
    // the same session may be requested again
    assert!(matches!(
        insert(&*st, 64512, vec![session(64512, 1, Pending)])[0],
        Inserted::New(_)
    ));
    assert!(matches!(
        st.remove_session(&s.session_id, "worker"),
        Err(StoreError::NotFound(_))
    ));
}

pub fn list_filters_and_cursor(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(insert_one(&*st, session(64512, n, Pending)).session_id);
        insert_one(&*st, session(64513, n, Pending));
    }
    let mut r2 = session(64513, 50, Approved);
    r2.router = "rtr2".into();
    let r2 = insert_one(&*st, r2);
    st.transition(&ids[1], Approved, opts("policy")).unwrap();

    let list = |f: SessionFilter| -> Vec<String> {
        st.list_sessions(&f, None, 100)
            .unwrap()
            .sessions
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    let mine = list(SessionFilter {
        owner_asn: Some(64512),
        ..Default::default()
    });
    assert_eq!(mine, ids);
    let approved = list(SessionFilter {
        status: Some(Approved),
        ..Default::default()
    });
    assert_eq!(approved, vec![ids[1].clone(), r2.session_id.clone()]);
    let on_r2 = list(SessionFilter {
        router: Some("rtr2".into()),
        ..Default::default()
    });
    assert_eq!(on_r2, vec![r2.session_id.clone()]);
    let by_req = list(SessionFilter {
        request_id: Some(r2.request_id.clone()),
        ..Default::default()
    });
    assert_eq!(by_req, vec![r2.session_id.clone()]);
    // another owner's request id shows nothing to this owner
    let leak = list(SessionFilter {
        request_id: Some(r2.request_id.clone()),
        owner_asn: Some(64512),
        ..Default::default()
    });
    assert!(leak.is_empty());
    assert!(list(SessionFilter {
        request_id: Some("unknown".into()),
        ..Default::default()
    })
    .is_empty());

    // pages of 2: next only while more exist
    let f = SessionFilter {
        owner_asn: Some(64512),
        ..Default::default()
    };
    let p1 = st.list_sessions(&f, None, 2).unwrap();
    let p2 = st.list_sessions(&f, p1.next.as_deref(), 2).unwrap();
    let p3 = st.list_sessions(&f, p2.next.as_deref(), 2).unwrap();
    assert_eq!(p3.sessions.len(), 1);
    assert!(p3.next.is_none());
    let exact = st.list_sessions(&f, p1.next.as_deref(), 3).unwrap();
    assert_eq!(exact.sessions.len(), 3);
    assert!(exact.next.is_none(), "no next when nothing more exists");

    for bad in ["garbage", "%%%", "AAAAAAAAAAAA"] {
        assert!(matches!(
            st.list_sessions(&f, Some(bad), 2),
            Err(StoreError::BadCursor)
        ));
    }
}

pub fn paging_250_while_inserting_neither_skips_nor_repeats(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    for chunk in 0..25u32 {
        let batch = (0..10)
            .map(|i| session(64512, chunk * 10 + i, Pending))
            .collect();
        insert(&*st, 64512, batch);
    }
    let writer = {
        let st = st.clone();
        std::thread::spawn(move || {
            for n in 0..150u32 {
                // mine, in pairs (one transaction), and someone else's
                insert(
                    &*st,
                    64512,
                    vec![
                        session(64512, 1000 + 2 * n, Pending),
                        session(64512, 1001 + 2 * n, Pending),
                    ],
                );
                insert_one(&*st, session(64513, n, Pending));
            }
        })
    };
    let f = SessionFilter {
        owner_asn: Some(64512),
        ..Default::default()
    };
    let all = SessionFilter::default();
    let (mut seen, mut seen_all) = (Vec::new(), Vec::new());
    let (mut cur, mut cur_all): (Option<String>, Option<String>) = (None, None);
    let mut pages = 0;
    loop {
        let p = st.list_sessions(&f, cur.as_deref(), 100).unwrap();
        let q = st.list_sessions(&all, cur_all.as_deref(), 100).unwrap();
        assert!(p.sessions.len() <= 100 && q.sessions.len() <= 100);
        pages += 1;
        for s in &p.sessions {
            assert_eq!(s.local_asn.0, 64512);
        }
        seen.extend(p.sessions.iter().map(|s| s.seq));
        seen_all.extend(q.sessions.iter().map(|s| s.seq));
        // resume after the last one seen (a finished listing is polled again
        // until the writer is done, like a client that comes back later)
        if let Some(l) = p.sessions.last() {
            let c = crate::store::rules::encode_cursor(l.seq);
            if let Some(n) = &p.next {
                assert_eq!(n, &c);
            }
            cur = Some(c);
        }
        if let Some(l) = q.sessions.last() {
            cur_all = Some(crate::store::rules::encode_cursor(l.seq));
        }
        if p.next.is_none() && q.next.is_none() && writer.is_finished() {
            // one more round after the writer is done to pick up its tail
            let p = st.list_sessions(&f, cur.as_deref(), 1000).unwrap();
            let q = st.list_sessions(&all, cur_all.as_deref(), 1000).unwrap();
            seen.extend(p.sessions.iter().map(|s| s.seq));
            seen_all.extend(q.sessions.iter().map(|s| s.seq));
            break;
        }
        std::thread::yield_now();
    }
    writer.join().unwrap();
    assert!(pages >= 3);
    for (got, filter) in [(&seen, &f), (&seen_all, &all)] {
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
        let expect: Vec<u64> = st
            .list_sessions(filter, None, 100_000)
            .unwrap()
            .sessions
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(got, &expect, "nothing skipped");
    }
    assert_eq!(seen.len(), 250 + 300);
    assert_eq!(seen_all.len(), 250 + 300 + 150);
    let uniq: HashSet<_> = seen.iter().collect();
    assert_eq!(uniq.len(), seen.len());
}

pub fn meta_is_namespaced(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    st.meta_put("tokens", "a", b"1").unwrap();
    st.meta_put("tokens", "b", b"2").unwrap();
    st.meta_put("tokensx", "a", b"3").unwrap();
    st.meta_put("", "x", b"4").unwrap();
    assert_eq!(
        st.meta_get("tokens", "a").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(st.meta_get("tokens", "zz").unwrap(), None);
    assert_eq!(
        st.meta_list("tokens").unwrap(),
        vec![
            ("a".to_string(), b"1".to_vec()),
            ("b".to_string(), b"2".to_vec())
        ]
    );
    assert_eq!(
        st.meta_list("").unwrap(),
        vec![("x".to_string(), b"4".to_vec())]
    );
    st.meta_delete("tokens", "a").unwrap();
    assert_eq!(st.meta_get("tokens", "a").unwrap(), None);
    assert_eq!(st.meta_list("tokens").unwrap().len(), 1);
}

//! The one writer: a failing mutation in a batch, durable inserts; the
//! layout 2 -> 3 upgrade. (Listing and paging are contract tests:
//! `store::contract::listing`.)

use super::*;
use crate::model::SessionStatus::*;
use crate::store::contract::listing::{filter, ids, on};
use crate::store::{SessionFilter, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

#[test]
fn a_failing_mutation_leaves_its_batch_mates_alone() {
    let (_d, st) = store();
    let req = request(64512);
    let st = Arc::new(st);
    // many writers at once (they share batches); every third reuses one
    // request id, which only the first may have
    let handles: Vec<_> = (0..24u32)
        .map(|i| {
            let (st, req) = (st.clone(), req.clone());
            std::thread::spawn(move || {
                let mut r = if i % 3 == 0 { req } else { request(64512) };
                r.created_by = format!("t{i}");
                let mut s = session(64512, i, Pending);
                s.request_id = r.request_id.clone();
                (i, st.insert_request(&r, vec![s]))
            })
        })
        .collect();
    let mut ok = BTreeMap::new();
    let mut refused = 0;
    for h in handles {
        match h.join().unwrap() {
            (i, Ok(out)) => {
                assert!(matches!(out[0], Inserted::New(_)));
                ok.insert(i, out);
            }
            (i, Err(StoreError::Conflict(_))) => {
                assert_eq!(i % 3, 0);
                refused += 1;
            }
            (_, Err(e)) => panic!("{e}"),
        }
    }
    assert_eq!(refused, 7);
    assert_eq!(ok.len(), 17);
    // the refused ones left nothing: no session, no audit record
    let listed = st
        .list_sessions(&SessionFilter::default(), None, 100)
        .unwrap()
        .sessions;
    assert_eq!(listed.len(), 17);
    for s in &listed {
        assert_eq!(st.audit(&s.session_id).unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_request_durable_answers_once_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = {
        let st = SledStore::open(dir.path()).unwrap();
        let mut futs = Vec::new();
        for n in 0..40u32 {
            let req = request(64512);
            let mut s = session(64512, n, Pending);
            s.request_id = req.request_id.clone();
            futs.push(st.insert_request_durable(req, vec![s]));
        }
        let out = futures::future::join_all(futs).await;
        let new: Vec<Session> = out
            .into_iter()
            .map(|r| match r.unwrap().pop().unwrap() {
                Inserted::New(s) => s,
                other => panic!("{other:?}"),
            })
            .collect();
        // a repeat is answered with the stored session, also once on disk
        let req = request(64512);
        let mut again = session(64512, 3, Pending);
        again.request_id = req.request_id.clone();
        let out = st.insert_request_durable(req, vec![again]).await.unwrap();
        assert_eq!(out, vec![Inserted::Existing(new[3].clone())]);
        (new[0].clone(), new[39].clone())
        // dropped without any other flush
    };
    let st = SledStore::open(dir.path()).unwrap();
    assert_eq!(st.get_session(&a.session_id).unwrap(), Some(a));
    assert_eq!(st.get_session(&b.session_id).unwrap(), Some(b));
}

#[test]
fn layout_2_is_rekeyed_and_indexed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, pending) = {
        let st = SledStore::open(dir.path()).unwrap();
        let mut r1 = Vec::new();
        let mut pending = Vec::new();
        for n in 0..12u32 {
            let router = if n % 2 == 0 { "rtr1" } else { "rtr2" };
            let s = insert_one(&st, on(router, 64512, n, Pending));
            let s = if n % 3 == 0 {
                st.transition(&s.session_id, Approved, opts("p")).unwrap()
            } else {
                pending.push(s.session_id.clone());
                s
            };
            if router == "rtr1" {
                r1.push(s.session_id);
            }
        }
        to_layout_2(&st, |_| {});
        (r1, pending)
    };
    let st = SledStore::open(dir.path()).unwrap();
    assert!(!st
        .inner
        .db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == b"session_ids"));
    for id in r1.iter().chain(&pending) {
        assert_eq!(&st.get_session(id).unwrap().unwrap().session_id, id);
    }
    assert_eq!(ids(&st, &filter(Some("rtr1"), None), 5), r1);
    assert_eq!(ids(&st, &filter(None, Some(Pending)), 5), pending);
    let v = st.inner.trees.meta.get(super::super::keys::SCHEMA).unwrap();
    assert_eq!(
        super::super::keys::read_u64(&v.unwrap()),
        Some(super::super::keys::SCHEMA_VERSION)
    );
}

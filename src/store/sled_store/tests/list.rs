//! The listing indexes (by status, by router) and paging under writes;
//! the one writer: a failing mutation in a batch, durable inserts; the
//! layout 2 -> 3 upgrade.

use super::*;
use crate::model::SessionStatus::{self, *};
use crate::store::{SessionFilter, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn on(router: &str, asn: u32, n: u32, status: SessionStatus) -> Session {
    let mut s = session(asn, n, status);
    s.router = router.into();
    s
}

fn ids(st: &SledStore, f: &SessionFilter, page: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    loop {
        let p = st.list_sessions(f, cur.as_deref(), page).unwrap();
        assert!(p.sessions.len() <= page);
        out.extend(p.sessions.iter().map(|s| s.session_id.clone()));
        match p.next {
            Some(n) => cur = Some(n),
            None => return out,
        }
    }
}

fn filter(router: Option<&str>, status: Option<SessionStatus>) -> SessionFilter {
    SessionFilter {
        router: router.map(str::to_string),
        status,
        ..Default::default()
    }
}

#[test]
fn listing_by_router_and_by_status_through_the_indexes() {
    let (_d, st) = store();
    // 3 routers, sessions in creation order, some moved on
    let mut all: Vec<Session> = Vec::new();
    for n in 0..60u32 {
        let r = ["rtr1", "rtr2", "rtr3"][n as usize % 3];
        let status = if n % 4 == 0 { Pending } else { Approved };
        all.push(insert_one(&st, on(r, 64512 + n % 2, n, status)));
    }
    for s in all.iter_mut().filter(|s| s.status == Approved).step_by(2) {
        *s = st
            .transition(&s.session_id, Provisioning, opts("w"))
            .unwrap();
    }
    let removed = all.remove(7);
    st.remove_session(&removed.session_id, "t").unwrap();
    let expect = |pred: &dyn Fn(&Session) -> bool| -> Vec<String> {
        all.iter()
            .filter(|s| pred(s))
            .map(|s| s.session_id.clone())
            .collect()
    };
    for page in [1, 4, 100] {
        for r in ["rtr1", "rtr2", "rtr3", "nowhere"] {
            assert_eq!(
                ids(&st, &filter(Some(r), None), page),
                expect(&|s| s.router == r),
                "{r}"
            );
            for status in [Pending, Approved, Provisioning, Established] {
                assert_eq!(
                    ids(&st, &filter(Some(r), Some(status)), page),
                    expect(&|s| s.router == r && s.status == status),
                    "{r} {status}"
                );
            }
        }
        for status in [Pending, Approved, Provisioning, Established] {
            assert_eq!(
                ids(&st, &filter(None, Some(status)), page),
                expect(&|s| s.status == status),
                "{status}"
            );
            let mine = SessionFilter {
                owner_asn: Some(64513),
                status: Some(status),
                router: Some("rtr2".into()),
                ..Default::default()
            };
            assert_eq!(
                ids(&st, &mine, page),
                expect(&|s| s.status == status && s.router == "rtr2" && s.local_asn.0 == 64513),
            );
        }
    }
    // a cursor from one filter is just a position in another
    let p = st
        .list_sessions(&filter(Some("rtr1"), None), None, 2)
        .unwrap();
    let rest = st
        .list_sessions(&filter(None, Some(Pending)), p.next.as_deref(), 100)
        .unwrap();
    let after = p.sessions.last().unwrap().seq;
    assert!(rest
        .sessions
        .iter()
        .all(|s| s.seq > after && s.status == Pending));
}

/// Paging by router and by status while another thread inserts, moves
/// and removes sessions: every session that is in the filter all along is
/// listed exactly once, in order; nothing is listed twice.
#[test]
fn paging_by_router_and_status_under_writes_skips_and_repeats_nothing() {
    let (_d, st) = store();
    let mut stable_r1 = Vec::new(); // on rtr1 all along (their status moves)
    let mut stable_pending = Vec::new(); // Pending all along
    let mut movers = Vec::new(); // on rtr1, moved Pending -> Approved -> ...
    for n in 0..300u32 {
        let router = if n % 2 == 0 { "rtr1" } else { "rtr2" };
        let s = insert_one(&st, on(router, 64512, n, Pending));
        match n % 3 {
            0 => stable_pending.push(s),
            _ if router == "rtr1" => movers.push(s),
            _ => {}
        }
    }
    stable_r1.extend(
        stable_pending
            .iter()
            .chain(movers.iter())
            .filter(|s| s.router == "rtr1")
            .cloned(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (st, done) = (st.clone(), done.clone());
        let movers = movers.clone();
        std::thread::spawn(move || {
            let mut n = 1000;
            for round in 0..3 {
                for s in &movers {
                    let to = [Approved, Provisioning, Failed][round];
                    st.transition(&s.session_id, to, opts("w")).unwrap();
                    // newcomers and leavers on both routers
                    let x = insert_one(&st, on("rtr1", 64513, n, Pending));
                    n += 1;
                    if n % 3 == 0 {
                        st.remove_session(&x.session_id, "t").unwrap();
                    }
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let page = |f: &SessionFilter, cur: &Option<String>| st.list_sessions(f, cur.as_deref(), 7);
    let mut lists = 0;
    while !done.load(Ordering::SeqCst) || lists < 3 {
        for (f, stable) in [
            (filter(Some("rtr1"), None), &stable_r1),
            (filter(None, Some(Pending)), &stable_pending),
        ] {
            let mut seen: Vec<Session> = Vec::new();
            let mut cur = None;
            loop {
                let p = page(&f, &cur).unwrap();
                seen.extend(p.sessions.iter().cloned());
                match p.next {
                    Some(n) => cur = Some(n),
                    None => break,
                }
            }
            assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "no repeats");
            let got: HashSet<&str> = seen.iter().map(|s| s.session_id.as_str()).collect();
            for s in stable {
                assert!(got.contains(s.session_id.as_str()), "skipped {}", s.seq);
            }
            for s in &seen {
                assert!(f.router.as_deref().is_none_or(|r| s.router == r));
                assert!(f.status.is_none_or(|x| s.status == x));
            }
        }
        lists += 1;
    }
    writer.join().unwrap();
}

#[test]
fn session_counts_from_the_router_index_match_a_full_read() {
    let (_d, st) = store();
    for n in 0..40u32 {
        let r = ["rtr10", "rtr2", "a"][n as usize % 3];
        let s = insert_one(
            &st,
            on(r, 64512, n, if n % 2 == 0 { Pending } else { Approved }),
        );
        if n % 5 == 0 {
            let to = if n % 2 == 0 { Rejected } else { Provisioning };
            st.transition(&s.session_id, to, opts("w")).unwrap();
        }
        if n % 7 == 0 {
            st.remove_session(&s.session_id, "t").unwrap();
        }
    }
    let mut want: BTreeMap<(String, usize), u64> = BTreeMap::new();
    for id in ids(&st, &SessionFilter::default(), 100) {
        let s = st.get_session(&id).unwrap().unwrap();
        let rank = SessionStatus::ALL
            .iter()
            .position(|x| *x == s.status)
            .unwrap();
        *want.entry((s.router, rank)).or_default() += 1;
    }
    let got: Vec<(String, usize, u64)> = st
        .session_counts()
        .unwrap()
        .into_iter()
        .map(|c| {
            let rank = SessionStatus::ALL
                .iter()
                .position(|x| *x == c.status)
                .unwrap();
            (c.router, rank, c.count)
        })
        .collect();
    let want: Vec<(String, usize, u64)> = want.into_iter().map(|((r, k), n)| (r, k, n)).collect();
    assert_eq!(got, want);
}

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

//! Listing by router and by status (through whatever index the backend
//! keeps), paging under writes, session counts per router and status.

use super::{insert_one, opts, session, Mk};
use crate::model::Session;
use crate::model::SessionStatus::{self, *};
use crate::store::{SessionFilter, Store};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn on(router: &str, asn: u32, n: u32, status: SessionStatus) -> Session {
    let mut s = session(asn, n, status);
    s.router = router.into();
    s
}

pub fn ids(st: &dyn Store, f: &SessionFilter, page: usize) -> Vec<String> {
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

pub fn filter(router: Option<&str>, status: Option<SessionStatus>) -> SessionFilter {
    SessionFilter {
        router: router.map(str::to_string),
        status,
        ..Default::default()
    }
}

pub fn listing_by_router_and_by_status_through_the_indexes(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    // 3 routers, sessions in creation order, some moved on
    let mut all: Vec<Session> = Vec::new();
    for n in 0..60u32 {
        let r = ["rtr1", "rtr2", "rtr3"][n as usize % 3];
        let status = if n % 4 == 0 { Pending } else { Approved };
        all.push(insert_one(&*st, on(r, 64512 + n % 2, n, status)));
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
                ids(&*st, &filter(Some(r), None), page),
                expect(&|s| s.router == r),
                "{r}"
            );
            for status in [Pending, Approved, Provisioning, Established] {
                assert_eq!(
                    ids(&*st, &filter(Some(r), Some(status)), page),
                    expect(&|s| s.router == r && s.status == status),
                    "{r} {status}"
                );
            }
        }
        // any of several statuses (the poller's read of a router)
        for set in [
            vec![Pending, Provisioning],
            vec![Approved],
            vec![Established, Down],
        ] {
            for r in [Some("rtr2"), None] {
                let f = SessionFilter {
                    router: r.map(str::to_string),
                    any_status: set.clone(),
                    ..Default::default()
                };
                assert_eq!(
                    ids(&*st, &f, page),
                    expect(&|s| set.contains(&s.status) && r.is_none_or(|r| s.router == r)),
                    "{r:?} {set:?}"
                );
            }
            let narrowed = SessionFilter {
                status: Some(Pending),
                any_status: set.clone(),
                ..Default::default()
            };
            assert_eq!(
                ids(&*st, &narrowed, page),
                expect(&|s| s.status == Pending && set.contains(&s.status)),
                "Pending and {set:?}"
            );
        }
        for status in [Pending, Approved, Provisioning, Established] {
            assert_eq!(
                ids(&*st, &filter(None, Some(status)), page),
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
                ids(&*st, &mine, page),
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
pub fn paging_by_router_and_status_under_writes_skips_and_repeats_nothing(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    let mut stable_r1 = Vec::new(); // on rtr1 all along (their status moves)
    let mut stable_pending = Vec::new(); // Pending all along
    let mut movers = Vec::new(); // on rtr1, moved Pending -> Approved -> ...
    for n in 0..300u32 {
        let router = if n % 2 == 0 { "rtr1" } else { "rtr2" };
        let s = insert_one(&*st, on(router, 64512, n, Pending));
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
                    let x = insert_one(&*st, on("rtr1", 64513, n, Pending));
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
            (
                SessionFilter {
                    any_status: vec![Failed, Pending],
                    ..Default::default()
                },
                &stable_pending,
            ),
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
                assert!(crate::store::rules::matches(&f, s), "{f:?}: {}", s.status);
            }
        }
        lists += 1;
    }
    writer.join().unwrap();
}

pub fn session_counts_from_the_router_index_match_a_full_read(mk: &Mk) {
    let f = mk();
    let st = f.st.clone();
    for n in 0..40u32 {
        let r = ["rtr10", "rtr2", "a"][n as usize % 3];
        let s = insert_one(
            &*st,
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
    for id in ids(&*st, &SessionFilter::default(), 100) {
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

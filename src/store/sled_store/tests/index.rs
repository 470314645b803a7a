//! The in-memory listing index over a real store: built again at a
//! reopen it lists what the writes kept; candidates whose records fail
//! the filter; the upgrade from layout 4 (index trees dropped, an old
//! journal's writes to them skipped).

use super::*;
use crate::model::{Direction, SessionStatus::*};
use crate::store::contract::listing::{ids, on};
use crate::store::SessionFilter;

/// Every listing shape a store answers, each paged at several sizes.
fn listings(st: &SledStore) -> Vec<Vec<String>> {
    let mut filters = vec![SessionFilter::default()];
    for r in ["rtr1", "rtr2", "rtr3", "nowhere"] {
        filters.push(SessionFilter {
            router: Some(r.into()),
            ..Default::default()
        });
        filters.push(SessionFilter {
            router: Some(r.into()),
            any_status: vec![Approved, Provisioning],
            ..Default::default()
        });
    }
    for s in SessionStatus::ALL {
        filters.push(SessionFilter {
            status: Some(s),
            ..Default::default()
        });
    }
    filters.push(SessionFilter {
        any_status: vec![Pending, Rejected],
        ..Default::default()
    });
    for asn in [64512, 64513, 64514] {
        filters.push(SessionFilter {
            owner_asn: Some(asn),
            ..Default::default()
        });
    }
    let mut out = Vec::new();
    for f in &filters {
        for page in [1, 3, 50] {
            out.push(ids(st, f, page));
        }
    }
    out
}

#[test]
fn the_index_built_at_a_reopen_lists_what_the_writes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (before, counts) = {
        let st = SledStore::open(dir.path()).unwrap();
        let mut all = Vec::new();
        for n in 0..90u32 {
            let r = ["rtr1", "rtr2", "rtr3"][n as usize % 3];
            all.push(insert_one(&st, on(r, 64512 + n % 3, n, Pending)));
        }
        for s in all.iter().step_by(4) {
            st.transition(&s.session_id, Approved, opts("p")).unwrap();
        }
        for s in all.iter().step_by(8) {
            st.transition(&s.session_id, Provisioning, opts("w"))
                .unwrap();
        }
        for s in all.iter().skip(1).step_by(5) {
            st.remove_session(&s.session_id, "t").unwrap();
        }
        for s in all.iter().skip(2).step_by(7) {
            // some were removed or moved on: those refuse
            let _ = st.transition(&s.session_id, Rejected, opts("p"));
        }
        (listings(&st), st.session_counts().unwrap())
    };
    assert!(before.iter().any(|l| l.len() > 20));
    let st = SledStore::open(dir.path()).unwrap();
    assert_eq!(listings(&st), before);
    assert_eq!(st.session_counts().unwrap(), counts);
}

/// A direction is not in the index: its candidates are read and most
/// fail the check, and the page fills from further candidates.
#[test]
fn pages_fill_past_candidates_whose_records_fail_the_check() {
    let (_d, st) = store();
    let mut outbound = Vec::new();
    for n in 0..40u32 {
        let mut s = on("rtr1", 64512, n, Pending);
        if n % 7 == 3 {
            s.direction = Direction::Outbound;
        }
        let s = insert_one(&st, s);
        if s.direction == Direction::Outbound {
            outbound.push(s.session_id);
        }
    }
    assert_eq!(outbound.len(), 6);
    for router in [None, Some("rtr1".to_string())] {
        let f = SessionFilter {
            direction: Some(Direction::Outbound),
            router: router.clone(),
            ..Default::default()
        };
        for page in 1..=8 {
            assert_eq!(ids(&st, &f, page), outbound, "page {page}");
        }
        // the last match ends the listing: no empty page after it
        let p = st.list_sessions(&f, None, 6).unwrap();
        assert_eq!(p.sessions.len(), 6);
        assert!(p.next.is_none());
    }
}

#[test]
fn layout_4_drops_its_index_trees_and_an_old_journal_still_replays() {
    use super::super::{journal, keys};
    let dir = tempfile::tempdir().unwrap();
    let a = {
        let st = SledStore::open(dir.path()).unwrap();
        let a = insert_one(&st, on("rtr1", 64512, 1, Approved));
        let db = &st.inner.db;
        for t in ["owners", "by_status", "by_router"] {
            db.open_tree(t).unwrap().insert(b"k", &b"v"[..]).unwrap();
        }
        // a batch an older peerd left: a write to by_status (tree 2) and
        // one to meta (tree 11)
        let j = db.open_tree("journal").unwrap();
        let writes = [
            (2u8, &b"k2"[..], Some(&b"v"[..])),
            (11u8, &b"ns-key"[..], Some(&b"kept"[..])),
        ];
        journal::write(&j, 99, journal::encode(writes.into_iter())).unwrap();
        st.inner
            .trees
            .meta
            .insert(keys::SCHEMA, &keys::u64_key(4)[..])
            .unwrap();
        db.flush().unwrap();
        a
    };
    let st = SledStore::open(dir.path()).unwrap();
    let names = st.inner.db.tree_names();
    for t in ["owners", "by_status", "by_router"] {
        assert!(!names.iter().any(|n| n.as_ref() == t.as_bytes()), "{t}");
    }
    assert_eq!(
        st.inner.trees.meta.get(b"ns-key").unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert!(st.inner.trees.journal_is_empty());
    let v = st.inner.trees.meta.get(keys::SCHEMA).unwrap().unwrap();
    assert_eq!(keys::read_u64(&v), Some(keys::SCHEMA_VERSION));
    assert_eq!(
        ids(&st, &SessionFilter::default(), 10),
        vec![a.session_id.clone()]
    );
    let f = SessionFilter {
        status: Some(Approved),
        router: Some("rtr1".into()),
        ..Default::default()
    };
    assert_eq!(ids(&st, &f, 10), vec![a.session_id]);
}

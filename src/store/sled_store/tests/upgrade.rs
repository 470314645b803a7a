//! The layout upgrade at open (layout 1 had a `dedup` tree and no
//! `addresses`).

use super::*;
use crate::model::SessionStatus::*;

const ADDR: &str = "2001:db8::50";

fn at(asn: u32, status: SessionStatus) -> Session {
    session_at(asn, ADDR.parse().unwrap(), status)
}

/// Holders of [`ADDR`] at `rtr1`, as stored.
fn holders(st: &SledStore) -> Vec<String> {
    let probe = at(1, Pending);
    st.inner.trees.holders(&probe).unwrap()
}

fn push(st: &SledStore, id: &str) {
    st.transition(id, Provisioning, opts("worker")).unwrap();
    assert_eq!(st.mark_pushed(&[id.to_string()]).unwrap(), vec![id]);
    st.transition(id, Configured, opts("worker")).unwrap();
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

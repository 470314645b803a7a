//! Tests of the sled store (temporary directories, no timing assertions):
//! the store contract (`store::contract`), and what is sled's own
//! (reopening, the directory lock, group commit, the layout upgrade).

mod audit;
mod durability;
mod index;
mod list;
mod upgrade;

use super::SledStore;
use crate::model::{Session, SessionStatus};
pub use crate::store::contract::{insert, insert_one, opts, request, session, session_at, Fresh};
use crate::store::{Inserted, Store};
use std::sync::Arc;

pub fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    (dir, s)
}

/// A fresh sled store for the contract suite.
pub fn fresh() -> Fresh {
    let (dir, st) = store();
    let probe = st.clone();
    Fresh {
        st: Arc::new(st),
        holders: Box::new(move |s| probe.inner.trees.holders(s).unwrap()),
        _guard: Box::new(dir),
    }
}

fn backend() -> Option<Box<crate::store::contract::Mk>> {
    Some(Box::new(fresh))
}

mod contract {
    crate::store::contract::contract_tests!(super::backend);
}

#[test]
fn cursors_have_the_shared_form() {
    for n in [0, 1, 250, u64::MAX] {
        assert_eq!(
            super::keys::encode_cursor(n),
            crate::store::rules::encode_cursor(n)
        );
    }
}

/// Rewrites a store's trees the way layout 2 kept them: `sessions` keyed
/// by seq and in JSON, `session_ids` from id to seq, no listing index trees;
/// schema 2.
/// `edit` may change each record on the way (as an older peerd wrote it).
pub fn to_layout_2(st: &SledStore, edit: impl Fn(&mut serde_json::Value)) {
    use super::keys;
    let t = &st.inner.trees;
    let ids = st.inner.db.open_tree("session_ids").unwrap();
    let all: Vec<(sled::IVec, sled::IVec)> = t.sessions.iter().map(|i| i.unwrap()).collect();
    for (id, v) in all {
        let s = super::record::decode_session(&v).unwrap();
        let mut rec = serde_json::to_value(&s).unwrap();
        let seq = keys::u64_key(rec["seq"].as_u64().unwrap());
        edit(&mut rec);
        t.sessions.remove(&id).unwrap();
        t.sessions
            .insert(seq, serde_json::to_vec(&rec).unwrap())
            .unwrap();
        ids.insert(&id, &seq[..]).unwrap();
    }
    t.meta.insert(keys::SCHEMA, &keys::u64_key(2)[..]).unwrap();
    st.inner.db.flush().unwrap();
}

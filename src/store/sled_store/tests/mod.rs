//! Tests of the sled store (temporary directories, no timing assertions):
//! the store contract (`store::contract`), and what is sled's own
//! (reopening, the directory lock, group commit, the layout upgrade).

mod durability;
mod upgrade;

use super::SledStore;
use crate::model::{Session, SessionStatus};
pub use crate::store::contract::{insert, insert_one, opts, session, session_at, Fresh};
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

//! A batch's overlay: the writes of the mutations in one batch, over the
//! trees, with an undo log so that a failing mutation leaves nothing
//! behind, and the batch's listing-index changes ([`IndexOp`]). See
//! `tx.rs` for how a batch is run and applied.

use super::super::Result;
use super::backend;
use super::index::IndexOp;
use sled::IVec;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The tree numbers of a batch (and of the journal): 0 to 11, in [`Tx`](super::tx::Tx)
/// order. Numbers 1 to 3 were `owners`, `by_status` and `by_router`
/// (layouts up to 4): nothing writes them now, and a journal an older
/// peerd left with writes to them is replayed without those (the upgrade
/// to layout 5 drops the trees).
pub(super) const TREES: usize = 12;

/// One write to undo: tree, key, and what the overlay held for it before.
type Undo = (usize, Vec<u8>, Option<Option<IVec>>);

/// The writes of one batch, what it read from the trees (nobody else
/// writes them, so a read stays true for the whole batch), the undo
/// log of the mutation running now, and the batch's index changes.
#[derive(Default)]
pub struct Overlay {
    pub(super) writes: RefCell<[BTreeMap<Vec<u8>, Option<IVec>>; TREES]>,
    reads: RefCell<[BTreeMap<Vec<u8>, Option<IVec>>; TREES]>,
    undo: RefCell<Vec<Undo>>,
    index: RefCell<Vec<IndexOp>>,
}

/// Where a mutation starts in an [`Overlay`] (see [`Overlay::mark`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    undo: usize,
    index: usize,
}

impl Overlay {
    /// Where the running mutation starts: [`Overlay::rollback`] to it
    /// undoes everything written since, index changes too.
    pub fn mark(&self) -> Mark {
        Mark {
            undo: self.undo.borrow().len(),
            index: self.index.borrow().len(),
        }
    }

    pub fn rollback(&self, mark: Mark) {
        self.index.borrow_mut().truncate(mark.index);
        let mut undo = self.undo.borrow_mut();
        let mut writes = self.writes.borrow_mut();
        while undo.len() > mark.undo {
            let Some((t, k, prev)) = undo.pop() else {
                break;
            };
            match prev {
                Some(p) => writes[t].insert(k, p),
                None => writes[t].remove(&k),
            };
        }
    }

    /// The running mutation succeeded: its writes stay.
    pub fn keep(&self) {
        self.undo.borrow_mut().clear();
    }

    pub fn is_empty(&self) -> bool {
        self.writes.borrow().iter().all(|w| w.is_empty())
    }

    /// The batch's index changes, in order (taken out: [`Trees::apply`]
    /// consumes the overlay).
    pub fn take_index_ops(&self) -> Vec<IndexOp> {
        std::mem::take(&mut *self.index.borrow_mut())
    }

    pub(super) fn index_op(&self, op: IndexOp) {
        self.index.borrow_mut().push(op);
    }

    /// The value the batch wrote for `key` of tree `t`, if it wrote one
    /// (`Some(None)`: removed).
    fn written(&self, t: usize, key: &[u8]) -> Option<Option<IVec>> {
        self.writes.borrow()[t].get(key).cloned()
    }

    fn put(&self, t: usize, key: &[u8], value: Option<IVec>) {
        let prev = self.writes.borrow_mut()[t].insert(key.to_vec(), value);
        self.undo.borrow_mut().push((t, key.to_vec(), prev));
    }
}

/// One tree as a mutation sees it: the batch's writes over the tree.
pub struct View<'a> {
    pub(super) t: usize,
    pub(super) tree: &'a sled::Tree,
    pub(super) ov: &'a Overlay,
}

impl View<'_> {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>> {
        let key = key.as_ref();
        if let Some(v) = self.ov.written(self.t, key) {
            return Ok(v);
        }
        if let Some(v) = self.ov.reads.borrow()[self.t].get(key) {
            return Ok(v.clone());
        }
        let v = self.tree.get(key).map_err(backend)?;
        self.ov.reads.borrow_mut()[self.t].insert(key.to_vec(), v.clone());
        Ok(v)
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> Result<()> {
        self.ov.put(self.t, key.as_ref(), Some(value.into()));
        Ok(())
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.ov.put(self.t, key.as_ref(), None);
        Ok(())
    }

    /// What this batch wrote for `key`, if anything (`Some(None)`:
    /// removed); the tree is not read.
    pub fn written(&self, key: impl AsRef<[u8]>) -> Option<Option<IVec>> {
        self.ov.written(self.t, key.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::super::index::Entry;
    use super::super::tx::Trees;
    use super::*;
    use crate::model::SessionStatus;

    /// Empty trees in a directory of their own.
    fn scratch() -> (tempfile::TempDir, Trees) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let trees = Trees::open(&db).unwrap();
        (dir, trees)
    }

    #[test]
    fn a_failed_mutation_leaves_nothing_and_the_batch_applies_atomically() {
        let (_dir, trees) = scratch();
        let ov = Overlay::default();
        let tx = trees.tx(&ov);
        tx.meta.insert(b"a", &b"1"[..]).unwrap();
        ov.keep();
        let mark = ov.mark();
        tx.meta.insert(b"a", &b"2"[..]).unwrap();
        tx.meta.insert(b"b", &b"2"[..]).unwrap();
        tx.sessions.remove(b"x").unwrap();
        assert_eq!(tx.meta.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
        ov.rollback(mark);
        assert_eq!(tx.meta.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(tx.meta.get(b"b").unwrap(), None);
        assert!(ov.writes.borrow()[0].is_empty());
        // nothing reaches the trees before the batch is applied
        assert_eq!(trees.meta.get(b"a").unwrap(), None);
        tx.sessions.insert(b"s", &b"v"[..]).unwrap();
        trees.apply(ov).unwrap();
        assert_eq!(trees.meta.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(
            trees.sessions.get(b"s").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(trees.meta.get(b"b").unwrap(), None);
    }

    #[test]
    fn a_failed_mutation_leaves_no_index_change() {
        let (_dir, trees) = scratch();
        let ov = Overlay::default();
        let tx = trees.tx(&ov);
        let mut s = crate::store::contract::session(64512, 1, SessionStatus::Pending);
        s.seq = 1;
        tx.index(&s);
        ov.keep();
        let mark = ov.mark();
        tx.delete_session(&s).unwrap();
        s.seq = 2;
        tx.index(&s);
        ov.rollback(mark);
        s.seq = 1;
        assert_eq!(ov.take_index_ops(), vec![IndexOp::Put(Entry::of(&s))]);
        assert!(ov.take_index_ops().is_empty());
    }
}

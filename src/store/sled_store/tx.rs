//! The trees of the store, and [`Tx`]: one batch of writes over all of
//! them, applied atomically.
//!
//! Every write goes through the store's one writer thread (`writer.rs`).
//! A mutation is a closure over a [`Tx`]: it reads through the batch's
//! overlay (its own writes and those of the mutations before it in the
//! batch, then the trees) and writes into the overlay only. A mutation
//! that fails leaves nothing behind ([`Overlay::rollback`]). The writer
//! then applies the whole batch ([`Trees::apply`]): its writes go to the
//! redo journal first (`journal.rs`), then to the trees as plain inserts
//! and removes, and the journal entry goes. No sled transaction: a plain
//! write may run while a flush writes the log, a transaction may not.
//! Nobody else writes to the trees, so the overlay never reads a stale
//! value.
//!
//! The listing index is not a tree (layout 5 on): it lives in memory
//! (`index.rs`). A mutation records its changes to it as [`IndexOp`]s in
//! the overlay, rolled back with its writes; the writer applies a batch's
//! ops once the batch is in the trees (`writer.rs`).

use super::super::{Result, StoreError};
use super::audit;
use super::backend;
use super::index::{Entry, IndexOp};
use super::journal;
use super::keys;
use super::overlay::{Overlay, View};
use super::record::{decode_session, encode_session};
use crate::model::{AuditEvent, Job, Session, SessionStatus};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What a mutation returns (kept for the code's shape: a mutation fails
/// with a plain [`StoreError`], and everything it wrote is rolled back).
pub type TxResult<T> = Result<T>;

/// Fails the running mutation with `e`.
pub fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(e)
}

pub fn encode<T: Serialize>(v: &T) -> std::result::Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

pub fn decode<T: DeserializeOwned>(b: &[u8], what: &str) -> std::result::Result<T, StoreError> {
    serde_json::from_slice(b).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub use crate::store::rules::is_terminal;

/// The sled trees of one store (layout in [`keys`]).
#[derive(Clone)]
pub struct Trees {
    pub sessions: sled::Tree,
    pub addresses: sled::Tree,
    pub requests: sled::Tree,
    pub jobs: sled::Tree,
    pub ready: sled::Tree,
    pub leased: sled::Tree,
    pub session_jobs: sled::Tree,
    pub audit: sled::Tree,
    pub meta: sled::Tree,
    /// The redo journal (`journal.rs`), written by [`Trees::apply`] only.
    journal: sled::Tree,
    /// The next batch number in the journal.
    batch: Arc<AtomicU64>,
}

/// A mutation's view of every tree.
pub struct Tx<'a> {
    pub sessions: View<'a>,
    pub addresses: View<'a>,
    pub requests: View<'a>,
    pub jobs: View<'a>,
    pub ready: View<'a>,
    pub leased: View<'a>,
    pub session_jobs: View<'a>,
    pub audit: View<'a>,
    pub meta: View<'a>,
    ov: &'a Overlay,
}

impl Trees {
    pub fn open(db: &sled::Db) -> Result<Trees> {
        let t = |name: &str| db.open_tree(name).map_err(backend);
        Ok(Trees {
            sessions: t("sessions")?,
            addresses: t("addresses")?,
            requests: t("requests")?,
            jobs: t("jobs")?,
            ready: t("jobs_ready")?,
            leased: t("jobs_leased")?,
            session_jobs: t("session_jobs")?,
            audit: t("audit")?,
            meta: t("meta")?,
            journal: t("journal")?,
            batch: Arc::default(),
        })
    }

    /// Writes again the batches a crash interrupted (whole, or not at
    /// all: see `journal.rs`), before anything reads the trees. Answers
    /// how many.
    pub fn replay_journal(&self) -> Result<usize> {
        let n = journal::replay(&self.journal, |t, k, v| self.put(t, k, v))?;
        self.batch
            .store(journal::next_batch(&self.journal)?, Ordering::SeqCst);
        Ok(n)
    }

    /// Tree number `t` ([`TREES`](super::overlay::TREES)); `None` for a retired one. The
    /// primary `sessions` tree is 0: [`Trees::apply`] writes the trees in
    /// number order, so nothing about a session is visible before its
    /// record.
    fn tree(&self, t: u8) -> Result<Option<&sled::Tree>> {
        Ok(Some(match t {
            0 => &self.sessions,
            1..=3 => return Ok(None),
            4 => &self.addresses,
            5 => &self.requests,
            6 => &self.jobs,
            7 => &self.ready,
            8 => &self.leased,
            9 => &self.session_jobs,
            10 => &self.audit,
            11 => &self.meta,
            _ => return Err(StoreError::Corrupt(format!("journal names tree {t}"))),
        }))
    }

    /// The view of a batch in `ov`.
    pub fn tx<'a>(&'a self, ov: &'a Overlay) -> Tx<'a> {
        let v = |t: usize, tree: &'a sled::Tree| View { t, tree, ov };
        Tx {
            sessions: v(0, &self.sessions),
            addresses: v(4, &self.addresses),
            requests: v(5, &self.requests),
            jobs: v(6, &self.jobs),
            ready: v(7, &self.ready),
            leased: v(8, &self.leased),
            session_jobs: v(9, &self.session_jobs),
            audit: v(10, &self.audit),
            meta: v(11, &self.meta),
            ov,
        }
    }

    /// Applies a batch's writes atomically: into the journal, then to
    /// the trees (the primary `sessions` first), then out of the journal.
    /// Should a write fail, the batch stays in the journal and the next
    /// open writes it again.
    pub fn apply(&self, ov: Overlay) -> Result<()> {
        if let Some(keys) = self.journal_and_write(ov, usize::MAX)? {
            for k in keys {
                self.journal.remove(k).map_err(backend)?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn journal_is_empty(&self) -> bool {
        self.journal.is_empty()
    }

    /// What a crash in the middle of [`Trees::apply`] leaves: the batch in
    /// the journal and only its first `reached` writes in the trees.
    #[cfg(test)]
    pub fn apply_cut_short(&self, ov: Overlay, reached: usize) -> Result<()> {
        self.journal_and_write(ov, reached).map(drop)
    }

    /// Journals the batch and writes (at most `limit` of) its writes to
    /// the trees; answers the journal keys (`None`: nothing to write).
    fn journal_and_write(&self, ov: Overlay, limit: usize) -> Result<Option<Vec<[u8; 12]>>> {
        let writes = ov.writes.into_inner();
        if writes.iter().all(BTreeMap::is_empty) {
            return Ok(None);
        }
        let each = || {
            writes.iter().enumerate().flat_map(|(t, w)| {
                w.iter()
                    .map(move |(k, v)| (t as u8, k.as_slice(), v.as_deref()))
            })
        };
        let batch = self.batch.fetch_add(1, Ordering::SeqCst);
        let keys = journal::write(&self.journal, batch, journal::encode(each()))?;
        for (t, k, v) in each().take(limit) {
            self.put(t, k, v)?;
        }
        Ok(Some(keys))
    }

    /// One write of a batch to tree `t` (in [`Tx`] order); `None` removes.
    fn put(&self, t: u8, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let Some(tree) = self.tree(t)? else {
            return Ok(());
        };
        match value {
            Some(v) => tree.insert(key, v).map(drop),
            None => tree.remove(key).map(drop),
        }
        .map_err(backend)
    }

    /// Runs `f` as one batch of its own and applies it, on the calling
    /// thread. Only where no writer thread runs (opening the store, before
    /// the listing index is built from the trees: its index changes are
    /// dropped).
    pub fn run_now<A>(&self, f: impl FnOnce(&Tx<'_>) -> TxResult<A>) -> Result<A> {
        let ov = Overlay::default();
        let a = f(&self.tx(&ov))?;
        self.apply(ov)?;
        Ok(a)
    }

    /// A session by id, outside a batch (one lookup).
    pub fn load_session(&self, id: impl AsRef<[u8]>) -> Result<Option<Session>> {
        match self.sessions.get(id).map_err(backend)? {
            Some(v) => Ok(Some(decode_session(&v)?)),
            None => Ok(None),
        }
    }

    /// The ids holding `s`'s neighbor address, outside a batch.
    pub fn holders(&self, s: &Session) -> Result<Vec<String>> {
        match self
            .addresses
            .get(keys::address_key(&s.router, &s.local_ip))
            .map_err(backend)?
        {
            Some(v) => decode(&v, "address holders"),
            None => Ok(Vec::new()),
        }
    }

    pub fn load_job(&self, job_id: u64) -> Result<Option<Job>> {
        match self.jobs.get(keys::u64_key(job_id)).map_err(backend)? {
            Some(v) => Ok(Some(decode(&v, "job")?)),
            None => Ok(None),
        }
    }
}

impl Tx<'_> {
    /// Increments and returns a counter kept in `meta` (first value 1).
    pub fn next_counter(&self, name: &[u8]) -> TxResult<u64> {
        let cur = match self.meta.get(name)? {
            Some(v) => match keys::read_u64(&v) {
                Some(n) => n,
                None => return abort(StoreError::Corrupt("counter".into())),
            },
            None => 0,
        };
        let next = cur + 1;
        self.meta.insert(name, &keys::u64_key(next))?;
        Ok(next)
    }

    /// Appends `ev`, an event of session `s`, to its trail. A session is
    /// stored without its "created" event (one new key fewer a POST);
    /// the trail's first stored event brings it, derived from `s` (its
    /// creator, time and request; the status it was created in is the one
    /// `ev` leaves, or its status now: until this first stored event, no
    /// status change happened, each writes one).
    pub fn audit(&self, s: &Session, ev: &AuditEvent) -> TxResult<()> {
        let open = keys::audit_key(&ev.session_id, keys::AUDIT_OPEN);
        if self.audit.get(&open)?.is_none() {
            let first = ev.from.unwrap_or(s.status);
            self.append_audit(&audit::created(s, first))?;
        }
        self.append_audit(ev)
    }

    /// Appends `ev` to its session's audit chunk (`audit.rs`); a full
    /// chunk moves to the next audit number first.
    pub fn append_audit(&self, ev: &AuditEvent) -> TxResult<()> {
        let open = keys::audit_key(&ev.session_id, keys::AUDIT_OPEN);
        let mut chunk = match self.audit.get(&open)? {
            Some(v) if audit::is_full(&v) => {
                let n = self.next_counter(keys::COUNTER_AUDIT)?;
                self.audit.insert(keys::audit_key(&ev.session_id, n), v)?;
                audit::new_chunk()
            }
            Some(v) => v.to_vec(),
            None => audit::new_chunk(),
        };
        audit::append(&mut chunk, &encode(ev)?);
        self.audit.insert(open, chunk)?;
        Ok(())
    }

    pub fn load_session(&self, id: &str) -> TxResult<Option<Session>> {
        match self.sessions.get(id)? {
            Some(v) => Ok(Some(decode_session(&v)?)),
            None => Ok(None),
        }
    }

    /// Like [`Tx::load_session`] but a missing session aborts with NotFound.
    pub fn session(&self, id: &str) -> TxResult<Session> {
        match self.load_session(id)? {
            Some(s) => Ok(s),
            None => abort(StoreError::NotFound(format!("session {id}"))),
        }
    }

    /// Writes the record of an existing (already indexed) session whose
    /// status did not change.
    pub fn store_session(&self, s: &Session) -> TxResult<()> {
        self.sessions
            .insert(s.session_id.as_bytes(), encode_session(s)?)?;
        Ok(())
    }

    /// Writes the record of a session that was in `from` and moves it in
    /// the listing index.
    pub fn store_moved(&self, s: &Session, from: SessionStatus) -> TxResult<()> {
        if from != s.status {
            self.index(s);
        }
        self.store_session(s)
    }

    /// Puts `s` in the listing index (new, or moved to its status) once
    /// the batch is applied.
    pub fn index(&self, s: &Session) {
        self.ov.index_op(IndexOp::Put(Entry::of(s)));
    }

    /// Removes a session's record, and it from the listing index.
    pub fn delete_session(&self, s: &Session) -> TxResult<()> {
        self.sessions.remove(s.session_id.as_bytes())?;
        self.ov.index_op(IndexOp::Remove(s.seq));
        Ok(())
    }

    /// The ids of the sessions holding `s`'s neighbor address at its router.
    pub fn holders(&self, s: &Session) -> TxResult<Vec<String>> {
        match self
            .addresses
            .get(keys::address_key(&s.router, &s.local_ip))?
        {
            Some(v) => decode(&v, "address holders"),
            None => Ok(Vec::new()),
        }
    }

    fn set_holders(&self, s: &Session, ids: &[String]) -> TxResult<()> {
        let key = keys::address_key(&s.router, &s.local_ip);
        if ids.is_empty() {
            self.addresses.remove(key)?;
        } else {
            self.addresses.insert(key, encode(&ids)?)?;
        }
        Ok(())
    }

    /// Adds `s` to the holders of its address (once).
    pub fn hold_address(&self, s: &Session) -> TxResult<()> {
        let mut ids = self.holders(s)?;
        if !ids.contains(&s.session_id) {
            ids.push(s.session_id.clone());
            self.set_holders(s, &ids)?;
        }
        Ok(())
    }

    /// Drops `s` from the holders of its address, if it is one.
    pub fn release_address(&self, s: &Session) -> TxResult<()> {
        let mut ids = self.holders(s)?;
        let before = ids.len();
        ids.retain(|i| *i != s.session_id);
        if ids.len() != before {
            self.set_holders(s, &ids)?;
        }
        Ok(())
    }

    /// The other sessions holding `s`'s address (those still stored).
    pub fn other_holders(&self, s: &Session) -> TxResult<Vec<Session>> {
        let mut out = Vec::new();
        for id in self.holders(s)? {
            if id != s.session_id {
                if let Some(h) = self.load_session(&id)? {
                    out.push(h);
                }
            }
        }
        Ok(out)
    }
}

//! The trees of the store and one multi-tree transaction over all of them.
//!
//! Every mutating call runs exactly one [`Trees::run`]; the helpers on
//! [`Tx`] keep indexes, counters and audit records in step inside it.
//! (sled 0.34 serialises transactions with one process-wide lock, so a
//! transaction never conflicts and is never retried in practice; closures
//! are still written to be re-runnable.)

use super::super::{Result, StoreError};
use super::keys;
use crate::model::{AuditEvent, Job, JobKind, Session, SessionStatus, UnixMillis};
use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError, Transactional,
    TransactionalTree,
};

pub type TxResult<T> = ConflictableTransactionResult<T, StoreError>;

/// Aborts the running transaction with `e`.
pub fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

pub fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub fn encode<T: Serialize>(v: &T) -> std::result::Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

pub fn decode<T: DeserializeOwned>(b: &[u8], what: &str) -> std::result::Result<T, StoreError> {
    serde_json::from_slice(b).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn enc<T: Serialize>(v: &T) -> TxResult<Vec<u8>> {
    encode(v).map_err(ConflictableTransactionError::Abort)
}

fn dec<T: DeserializeOwned>(b: &[u8], what: &str) -> TxResult<T> {
    decode(b, what).map_err(ConflictableTransactionError::Abort)
}

/// Statuses after which a session no longer holds its neighbor address
/// (it leaves the `addresses` index). A removed session is gone anyway.
pub fn is_terminal(s: SessionStatus) -> bool {
    matches!(s, SessionStatus::Rejected | SessionStatus::Unestablished)
}

/// The sled trees of one store (layout in [`keys`]).
#[derive(Clone)]
pub struct Trees {
    pub sessions: sled::Tree,
    pub session_ids: sled::Tree,
    pub owners: sled::Tree,
    pub addresses: sled::Tree,
    pub requests: sled::Tree,
    pub jobs: sled::Tree,
    pub ready: sled::Tree,
    pub leased: sled::Tree,
    pub session_jobs: sled::Tree,
    pub audit: sled::Tree,
    pub meta: sled::Tree,
}

/// A transaction's view of every tree.
pub struct Tx<'a> {
    pub sessions: &'a TransactionalTree,
    pub session_ids: &'a TransactionalTree,
    pub owners: &'a TransactionalTree,
    pub addresses: &'a TransactionalTree,
    pub requests: &'a TransactionalTree,
    pub jobs: &'a TransactionalTree,
    pub ready: &'a TransactionalTree,
    pub leased: &'a TransactionalTree,
    pub session_jobs: &'a TransactionalTree,
    pub audit: &'a TransactionalTree,
    pub meta: &'a TransactionalTree,
}

impl Trees {
    pub fn open(db: &sled::Db) -> Result<Trees> {
        let t = |name: &str| db.open_tree(name).map_err(backend);
        Ok(Trees {
            sessions: t("sessions")?,
            session_ids: t("session_ids")?,
            owners: t("owners")?,
            addresses: t("addresses")?,
            requests: t("requests")?,
            jobs: t("jobs")?,
            ready: t("jobs_ready")?,
            leased: t("jobs_leased")?,
            session_jobs: t("session_jobs")?,
            audit: t("audit")?,
            meta: t("meta")?,
        })
    }

    /// Runs `f` as one atomic transaction over all trees.
    pub fn run<A>(&self, f: impl Fn(&Tx<'_>) -> TxResult<A>) -> Result<A> {
        // The primary `sessions` tree comes first: sled commits trees in
        // this order, so an index entry is never visible before its record.
        let trees = (
            &self.sessions,
            &self.session_ids,
            &self.owners,
            &self.addresses,
            &self.requests,
            &self.jobs,
            &self.ready,
            &self.leased,
            &self.session_jobs,
            &self.audit,
            &self.meta,
        );
        trees
            .transaction(
                |(
                    sessions,
                    session_ids,
                    owners,
                    addresses,
                    requests,
                    jobs,
                    ready,
                    leased,
                    session_jobs,
                    audit,
                    meta,
                )| {
                    f(&Tx {
                        sessions,
                        session_ids,
                        owners,
                        addresses,
                        requests,
                        jobs,
                        ready,
                        leased,
                        session_jobs,
                        audit,
                        meta,
                    })
                },
            )
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => backend(e),
            })
    }

    /// A session by id, outside a transaction.
    pub fn load_session(&self, id: &str) -> Result<Option<Session>> {
        let Some(seq) = self.session_ids.get(id).map_err(backend)? else {
            return Ok(None);
        };
        self.session_by_seq(&seq)
    }

    /// A session by its `sessions` key, outside a transaction.
    pub fn session_by_seq(&self, seq_key: &[u8]) -> Result<Option<Session>> {
        match self.sessions.get(seq_key).map_err(backend)? {
            Some(v) => Ok(Some(decode(&v, "session")?)),
            None => Ok(None),
        }
    }

    /// The ids holding `s`'s neighbor address, outside a transaction.
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

    pub fn audit(&self, ev: &AuditEvent) -> TxResult<()> {
        let n = self.next_counter(keys::COUNTER_AUDIT)?;
        self.audit
            .insert(keys::audit_key(&ev.session_id, n), enc(ev)?)?;
        Ok(())
    }

    pub fn load_session(&self, id: &str) -> TxResult<Option<Session>> {
        let Some(seq) = self.session_ids.get(id)? else {
            return Ok(None);
        };
        match self.sessions.get(&seq)? {
            Some(v) => Ok(Some(dec(&v, "session")?)),
            None => abort(StoreError::Corrupt(format!(
                "session index points to a missing record: {id}"
            ))),
        }
    }

    /// Like [`Tx::load_session`] but a missing session aborts with NotFound.
    pub fn session(&self, id: &str) -> TxResult<Session> {
        match self.load_session(id)? {
            Some(s) => Ok(s),
            None => abort(StoreError::NotFound(format!("session {id}"))),
        }
    }

    /// Writes the record of an existing (already indexed) session.
    pub fn store_session(&self, s: &Session) -> TxResult<()> {
        self.sessions.insert(&keys::u64_key(s.seq), enc(s)?)?;
        Ok(())
    }

    /// The ids of the sessions holding `s`'s neighbor address at its router.
    pub fn holders(&self, s: &Session) -> TxResult<Vec<String>> {
        match self
            .addresses
            .get(keys::address_key(&s.router, &s.local_ip))?
        {
            Some(v) => dec(&v, "address holders"),
            None => Ok(Vec::new()),
        }
    }

    fn set_holders(&self, s: &Session, ids: &[String]) -> TxResult<()> {
        let key = keys::address_key(&s.router, &s.local_ip);
        if ids.is_empty() {
            self.addresses.remove(key)?;
        } else {
            self.addresses.insert(key, enc(&ids)?)?;
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

    // ---- jobs ---------------------------------------------------------------

    pub fn load_job(&self, job_id: u64) -> TxResult<Option<Job>> {
        match self.jobs.get(keys::u64_key(job_id))? {
            Some(v) => Ok(Some(dec(&v, "job")?)),
            None => Ok(None),
        }
    }

    pub fn put_job(&self, job: &Job) -> TxResult<()> {
        self.jobs.insert(&keys::u64_key(job.job_id), enc(job)?)?;
        Ok(())
    }

    pub fn session_job_ids(&self, session_id: &str) -> TxResult<Vec<u64>> {
        match self.session_jobs.get(session_id)? {
            Some(v) => dec(&v, "session jobs"),
            None => Ok(Vec::new()),
        }
    }

    fn set_session_job_ids(&self, session_id: &str, ids: &[u64]) -> TxResult<()> {
        if ids.is_empty() {
            self.session_jobs.remove(session_id)?;
        } else {
            self.session_jobs.insert(session_id, enc(&ids)?)?;
        }
        Ok(())
    }

    /// The jobs of one session, in id order.
    pub fn session_jobs(&self, session_id: &str) -> TxResult<Vec<Job>> {
        let mut out = Vec::new();
        for id in self.session_job_ids(session_id)? {
            if let Some(j) = self.load_job(id)? {
                out.push(j);
            }
        }
        Ok(out)
    }

    /// Creates a ready job and indexes it.
    pub fn new_job(
        &self,
        session_id: &str,
        router: &str,
        kind: JobKind,
        not_before_ms: UnixMillis,
        now: UnixMillis,
    ) -> TxResult<Job> {
        let job = Job {
            job_id: self.next_counter(keys::COUNTER_JOB)?,
            session_id: session_id.to_string(),
            router: router.to_string(),
            kind,
            attempts: 0,
            not_before_ms,
            lease: None,
            last_error: None,
            created_ms: now,
        };
        self.put_job(&job)?;
        self.ready
            .insert(&keys::timed_key(not_before_ms, job.job_id), &[][..])?;
        let mut ids = self.session_job_ids(session_id)?;
        ids.push(job.job_id);
        self.set_session_job_ids(session_id, &ids)?;
        Ok(job)
    }

    /// Removes a job and all its index entries.
    pub fn delete_job(&self, job: &Job) -> TxResult<()> {
        self.jobs.remove(&keys::u64_key(job.job_id))?;
        self.ready
            .remove(&keys::timed_key(job.not_before_ms, job.job_id))?;
        if let Some(l) = &job.lease {
            self.leased
                .remove(&keys::timed_key(l.until_ms, job.job_id))?;
        }
        let mut ids = self.session_job_ids(&job.session_id)?;
        ids.retain(|i| *i != job.job_id);
        self.set_session_job_ids(&job.session_id, &ids)?;
        Ok(())
    }

    /// Moves a leased job back to the ready index (lease cleared).
    pub fn release_job(&self, job: &mut Job) -> TxResult<()> {
        if let Some(l) = job.lease.take() {
            self.leased
                .remove(&keys::timed_key(l.until_ms, job.job_id))?;
        }
        self.ready
            .insert(&keys::timed_key(job.not_before_ms, job.job_id), &[][..])?;
        self.put_job(job)
    }
}

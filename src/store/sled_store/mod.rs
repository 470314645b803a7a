//! The sled implementation of [`Store`] (the embedded default).
//!
//! One sled database in the data directory, with one tree per record kind
//! and index (layout in `keys.rs`). Every mutating call is one mutation
//! (`tx.rs`) that also writes its audit record(s), run by the store's one
//! writer thread (`writer.rs`), many to a batch that a redo journal makes
//! atomic (`journal.rs`, replayed at open); a flusher thread beside it
//! serves `durable()` by group commit. Reads go to the trees
//! directly, on the caller's thread: point reads never wait for a flush.
//! Listings (by requester, status, router, or all) go through an index in
//! memory (`index.rs`), built from `sessions` by a thread of its own at
//! open (`live.rs`: the open does not wait for it, a listing does) and
//! kept by the writer (`list.rs`).
//!
//! sled locks its directory: one process at a time. [`SledStore`] is a
//! cheap handle (`Clone`, an `Arc` inside); the database closes when the
//! last handle is dropped.

mod audit;
mod codec;
mod hold;
mod index;
mod journal;
mod keys;
mod list;
mod live;
mod migrate;
mod overlay;
mod queue;
mod record;
mod remote;
mod seqs;
mod sessions;
mod tx;
mod tx_jobs;
mod writer;

#[cfg(test)]
mod tests;

use super::{
    HoldChange, Inserted, Page, RemoveOpts, Result, SessionFilter, Store, StoreError,
    TransitionOpts,
};
use crate::model::{
    AuditEvent, Job, JobKind, RemoteState, RequestRecord, Session, SessionId, SessionStatus,
    UnixMillis,
};
use futures::future::BoxFuture;
use std::path::Path;
use std::sync::Arc;
use tx::Trees;

/// A sled error as the store's (every file of this store maps them so).
fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The sled-backed store. Clones share one open database.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    trees: Trees,
    writer: writer::Writer,
    /// The listing index (`live.rs`), and the thread building it at open.
    index: Arc<live::LiveIndex>,
    builder: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// sled lets one process open a directory, so this process is the only
    /// one that could hold a lease: they live in memory (the same rules as
    /// PostgreSQL's table, nothing to persist).
    leases: crate::store::lease::LocalLeases,
    /// Last field: dropped after every sled handle above.
    _snapshot: SnapshotOnClose,
}

/// sled 0.34 writes its snapshot (where each page is in the log) only
/// while it opens, and an open replays the log written since the last
/// one: after a busy run, everything that run wrote. So a store that
/// closes cleanly opens itself once more, which replays that log now and
/// writes the snapshot; the next start finds little to replay. A crash
/// skips this and the next start replays as before (nothing is lost
/// either way: the snapshot is only an index into the log).
struct SnapshotOnClose {
    dir: std::path::PathBuf,
    cache_bytes: u64,
}

impl Drop for SnapshotOnClose {
    fn drop(&mut self) {
        // never create a store where the last one was removed meanwhile
        if !self.dir.join("conf").is_file() {
            return;
        }
        let t = std::time::Instant::now();
        match open_db(&self.dir, self.cache_bytes) {
            Ok(db) => {
                drop(db);
                tracing::debug!(
                    ms = t.elapsed().as_millis() as u64,
                    "store snapshot written"
                );
            }
            // still held (a handle outside this store): the next open replays
            Err(e) => tracing::debug!(error = %e, "store snapshot on close skipped"),
        }
    }
}

/// The sled settings of a store in `dir`.
fn sled_config(dir: &Path, cache_bytes: u64) -> sled::Config {
    sled::Config::new().path(dir).cache_capacity(cache_bytes)
}

/// Settings of the sled store.
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache, bytes (sled's own default is 1 GiB).
    pub cache_bytes: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_bytes: 64 << 20,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.index.cancel();
        let builder = self.builder.lock().map(|mut b| b.take());
        if let Ok(Some(b)) = builder {
            let _ = b.join();
        }
        self.writer.stop();
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "store flush on close failed");
        }
    }
}

/// How long an open waits for a lock that is being let go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens sled's database in `dir`. A store this process has just closed
/// may still be locked for a moment: sled's I/O threads let go of its
/// file after the last handle is dropped. So a lock held is tried again
/// for up to [`LOCK_WAIT`] before the answer is [`StoreError::Locked`]
/// (another process holding it keeps it that long, and longer).
fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db> {
    let since = std::time::Instant::now();
    loop {
        match sled_config(dir, cache_bytes)
            .open()
            .map_err(|e| open_error(dir, e))
        {
            Err(StoreError::Locked(_)) if since.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// sled reports a directory another process holds as an I/O error
/// "could not acquire lock on ...: WouldBlock" (flock's EWOULDBLOCK).
fn open_error(dir: &Path, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e {
        let text = io.to_string();
        if io.kind() == std::io::ErrorKind::WouldBlock
            || text.contains("could not acquire lock")
            || text.contains("WouldBlock")
        {
            return StoreError::Locked(dir.display().to_string());
        }
    }
    StoreError::Backend(format!("cannot open store in {}: {e}", dir.display()))
}

impl SledStore {
    /// Opens (or creates) the store in `dir`. Fails with
    /// [`StoreError::Locked`] if another process holds it open.
    pub fn open(dir: &Path) -> Result<SledStore> {
        Self::open_with(dir, &SledOptions::default())
    }

    /// The bytes the `sessions` tree holds for `s` (its compact stored
    /// form), for a benchmark's bare baseline to write the same.
    pub fn record_bytes(s: &Session) -> Result<Vec<u8>> {
        record::encode_session(s)
    }

    /// [`SledStore::open`] with settings.
    pub fn open_with(dir: &Path, opts: &SledOptions) -> Result<SledStore> {
        let db = open_db(dir, opts.cache_bytes)?;
        let trees = Trees::open(&db)?;
        let replayed = trees.replay_journal()?;
        if replayed > 0 {
            tracing::info!(
                batches = replayed,
                "store: wrote again what a crash interrupted"
            );
        }
        match trees.meta.get(keys::SCHEMA).map_err(backend)? {
            None => {
                trees
                    .meta
                    .insert(keys::SCHEMA, &keys::u64_key(keys::SCHEMA_VERSION))
                    .map_err(backend)?;
            }
            Some(v) if keys::read_u64(&v) == Some(keys::SCHEMA_VERSION) => {}
            Some(v) if keys::read_u64(&v).is_some_and(|n| n < keys::SCHEMA_VERSION) => {
                let from = keys::read_u64(&v).unwrap_or_default();
                migrate::upgrade(&db, &trees, from)?;
            }
            Some(_) => {
                return Err(StoreError::Corrupt(format!(
                    "store in {} has an unknown layout version",
                    dir.display()
                )))
            }
        }
        let seq = match trees.meta.get(keys::COUNTER_SEQ).map_err(backend)? {
            Some(v) => keys::read_u64(&v).ok_or_else(|| StoreError::Corrupt("counter".into()))?,
            None => 0,
        };
        // the writer starts first: the index logs its batches until built
        let index = live::LiveIndex::building();
        let writer = writer::Writer::start(db.clone(), trees.clone(), seq, index.clone())?;
        let builder = index.build(trees.sessions.clone())?;
        Ok(SledStore {
            inner: Arc::new(Inner {
                db,
                trees,
                writer,
                index,
                builder: std::sync::Mutex::new(Some(builder)),
                leases: Default::default(),
                _snapshot: SnapshotOnClose {
                    dir: dir.to_path_buf(),
                    cache_bytes: opts.cache_bytes,
                },
            }),
        })
    }
}

impl Store for SledStore {
    fn durable(&self) -> BoxFuture<'static, Result<()>> {
        self.inner.writer.durable()
    }

    fn insert_request(
        &self,
        request: &RequestRecord,
        sessions: Vec<Session>,
    ) -> Result<Vec<Inserted>> {
        let (request, now) = (request.clone(), crate::model::now_ms());
        let out = self
            .inner
            .writer
            .write(move |tx| sessions::insert_request(tx, &request, &sessions, now))?;
        sessions::log_created(&out);
        Ok(out)
    }

    fn insert_request_durable(
        &self,
        request: RequestRecord,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<Inserted>>> {
        let now = crate::model::now_ms();
        let done = self
            .inner
            .writer
            .write_durable(move |tx| sessions::insert_request(tx, &request, &sessions, now));
        Box::pin(async move {
            let out = done.await?;
            sessions::log_created(&out);
            Ok(out)
        })
    }

    fn get_session(&self, id: &str) -> Result<Option<Session>> {
        self.inner.trees.load_session(id)
    }

    fn session_counts(&self) -> Result<Vec<super::SessionCount>> {
        self.inner.session_counts()
    }

    fn get_request(&self, id: &str) -> Result<Option<RequestRecord>> {
        self.inner.get_request(id)
    }

    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        self.inner.list_sessions(filter, after, limit)
    }

    fn transition(&self, id: &str, to: SessionStatus, opts: TransitionOpts) -> Result<Session> {
        self.inner.transition(id, to, opts)
    }

    fn mark_pushed(&self, ids: &[SessionId]) -> Result<Vec<SessionId>> {
        self.inner.mark_pushed(ids)
    }

    fn set_detail(&self, id: &str, detail: Option<String>, actor: &str) -> Result<Session> {
        self.inner.set_detail(id, detail, actor)
    }

    fn set_remote(
        &self,
        id: &str,
        remote: RemoteState,
        detail: Option<Option<String>>,
        actor: &str,
    ) -> Result<Session> {
        self.inner.set_remote(id, remote, detail, actor)
    }

    fn set_hold(&self, id: &str, change: &HoldChange) -> Result<Session> {
        self.inner.set_hold(id, change)
    }

    fn defer(&self, job_id: u64, lease_token: u64, at: UnixMillis) -> Result<Job> {
        self.inner.defer(job_id, lease_token, at)
    }

    fn remove_session(&self, id: &str, actor: &str) -> Result<()> {
        self.inner.remove_session(id, actor)
    }

    fn remove_session_if(&self, id: &str, opts: RemoveOpts) -> Result<Session> {
        self.inner.remove_session_if(id, opts)
    }

    fn requeue_now(&self, id: &str, actor: &str) -> Result<Session> {
        self.inner.requeue_now(id, actor)
    }

    fn audit(&self, session_id: &str) -> Result<Vec<AuditEvent>> {
        self.inner.audit(session_id)
    }

    fn enqueue(
        &self,
        session_id: &SessionId,
        router: &str,
        kind: JobKind,
        not_before: UnixMillis,
    ) -> Result<u64> {
        self.inner.enqueue(session_id, router, kind, not_before)
    }

    fn claim(
        &self,
        now: UnixMillis,
        lease_ms: u64,
        owner: &str,
        max: usize,
        busy_routers: &[String],
    ) -> Result<Vec<Job>> {
        self.inner.claim(now, lease_ms, owner, max, busy_routers)
    }

    fn complete(&self, job_id: u64, lease_token: u64) -> Result<()> {
        self.inner.complete(job_id, lease_token)
    }

    fn fail(
        &self,
        job_id: u64,
        lease_token: u64,
        retry_at: UnixMillis,
        error: &str,
    ) -> Result<Job> {
        self.inner.fail(job_id, lease_token, retry_at, error)
    }

    fn renew(&self, job_id: u64, lease_token: u64, now: UnixMillis, lease_ms: u64) -> Result<()> {
        self.inner.renew(job_id, lease_token, now, lease_ms)
    }

    fn reclaim_expired(&self, now: UnixMillis) -> Result<usize> {
        self.inner.reclaim_expired(now)
    }

    fn jobs(&self) -> Result<Vec<Job>> {
        self.inner.jobs()
    }

    fn session_jobs(&self, session_id: &str) -> Result<Vec<Job>> {
        self.inner.session_jobs(session_id)
    }

    fn meta_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let v = self
            .inner
            .trees
            .meta
            .get(keys::meta_key(ns, key))
            .map_err(backend)?;
        Ok(v.map(|v| v.to_vec()))
    }

    fn meta_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<()> {
        let (k, v) = (keys::meta_key(ns, key), value.to_vec());
        self.inner.writer.write(move |tx| tx.meta.insert(k, v))
    }

    fn meta_delete(&self, ns: &str, key: &str) -> Result<()> {
        let k = keys::meta_key(ns, key);
        self.inner.writer.write(move |tx| tx.meta.remove(k))
    }

    fn meta_namespaces(&self) -> Result<Vec<String>> {
        // keys are a u32 length, the namespace, the key; the store's own
        // counters start with 0xff (no namespace is that long)
        let mut out: Vec<String> = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        loop {
            let next = self
                .inner
                .trees
                .meta
                .range(from.clone()..)
                .next()
                .transpose()
                .map_err(backend)?;
            let Some((k, _)) = next else { break };
            if k.first() == Some(&0xff) || k.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([k[0], k[1], k[2], k[3]]) as usize;
            let ns = k
                .get(4..4 + len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| StoreError::Corrupt("meta key".into()))?
                .to_string();
            // the next namespace sorts after every key of this one
            from = next_prefix(&keys::meta_prefix(&ns));
            out.push(ns);
        }
        out.sort();
        Ok(out)
    }

    fn meta_list(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = keys::meta_prefix(ns);
        let mut out = Vec::new();
        for item in self.inner.trees.meta.scan_prefix(&prefix) {
            let (k, v) = item.map_err(backend)?;
            let key = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| StoreError::Corrupt("meta key".into()))?;
            out.push((key.to_string(), v.to_vec()));
        }
        Ok(out)
    }

    fn hold_lease(&self, name: &str, owner: &str, now: UnixMillis, ttl_ms: u64) -> Result<bool> {
        Ok(self.inner.leases.hold(name, owner, now, ttl_ms))
    }

    fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.inner.leases.release(name, owner);
        Ok(())
    }
}

/// The smallest key after every key starting with `p`.
fn next_prefix(p: &[u8]) -> Vec<u8> {
    let mut k = p.to_vec();
    while let Some(last) = k.pop() {
        if last < 0xff {
            k.push(last + 1);
            return k;
        }
    }
    vec![0xff]
}

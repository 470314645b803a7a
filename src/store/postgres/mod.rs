//! The PostgreSQL implementation of [`Store`], for several peerd instances
//! sharing one database (the embedded sled store stays the default).
//!
//! - `pool.rs`: a small bounded pool of tokio-postgres connections, usable
//!   from sync code on any thread;
//! - `schema.rs`: versioned migrations embedded in the binary, applied at
//!   open under an advisory lock; a newer database is refused;
//! - `tx.rs`: one write transaction per mutating call, serialised across
//!   instances by a transaction-scoped advisory lock;
//! - `batch.rs`: group commit for the API's inserts (the requests waiting
//!   at once share one transaction);
//! - `sessions.rs`, `queue.rs`, `leases.rs`: the contract's operations.
//!
//! Every mutation has committed when its call returns (PostgreSQL's
//! `synchronous_commit` decides what committed means on the server; keep
//! it `on`), so [`Store::durable`] has nothing left to wait for.

mod batch;
mod import;
mod insert;
mod leases;
mod listen;
mod pool;
mod queue;
mod schema;
mod sessions;
mod tx;

#[cfg(test)]
pub mod tests;

use super::{
    HoldChange, Inserted, Page, RemoveOpts, Result, SessionFilter, Store, StoreError,
    TransitionOpts,
};
use crate::config::StoreSettings;
use crate::model::{
    AuditEvent, Job, JobKind, RemoteState, RequestRecord, Session, SessionId, SessionStatus,
    UnixMillis,
};
use futures::future::BoxFuture;
use pool::{block, pg, Pool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use import::{Import, Imported};
pub use schema::latest as schema_version;

/// The PostgreSQL-backed store. Clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Arc<Pool>,
    /// Claims pass over routers another owner holds a live lease on.
    router_leases: bool,
    /// The API's inserts waiting for their batch (group commit).
    batch: Arc<batch::Batcher>,
}

/// The connection settings of `s`, with the password from its reference.
/// A password inside the URL is refused (it would end up in files and
/// process listings); errors never repeat the URL.
fn connection_config(s: &StoreSettings) -> Result<tokio_postgres::Config> {
    let mut c = tokio_postgres::Config::from_str(&s.url).map_err(|_| {
        StoreError::Backend(
            "store.url is not a PostgreSQL URL (postgres://user@host/db or postgres://user@/db?host=/socket/dir)"
                .into(),
        )
    })?;
    if c.get_password().is_some() {
        return Err(StoreError::Backend(
            "store.url must not carry a password: use store.password_file or store.password_env"
                .into(),
        ));
    }
    if let Some(pw) = s.password().map_err(StoreError::Backend)? {
        c.password(pw);
    }
    if c.get_connect_timeout().is_none() {
        c.connect_timeout(Duration::from_secs(s.connect_timeout_secs.max(1)));
    }
    if c.get_application_name().is_none() {
        c.application_name("peerd");
    }
    Ok(c)
}

impl PgStore {
    /// Connects, brings the schema up to date (or refuses a newer one).
    /// Router leases are on (see [`PgStore::with_router_leases`]).
    pub fn open(settings: &StoreSettings) -> Result<PgStore> {
        Ok(
            Self::open_config(connection_config(settings)?, settings.pool_size)?
                .with_router_leases(true),
        )
    }

    /// With `on`, [`Store::claim`] passes over every router for which
    /// another owner holds a live lease: several instances never push to
    /// one router at once. (The store contract alone lets owners claim
    /// any ready job; one process keeps its own routers apart with
    /// `busy_routers`.)
    pub fn with_router_leases(mut self, on: bool) -> PgStore {
        self.router_leases = on;
        self
    }

    /// [`PgStore::open`] with connection settings made by the caller.
    pub fn open_config(config: tokio_postgres::Config, pool_size: usize) -> Result<PgStore> {
        let pool = Pool::new(config, pool_size)?;
        {
            let mut c = pool.get()?;
            schema::migrate(&mut c)?;
        }
        Ok(PgStore {
            pool: Arc::new(pool),
            router_leases: false,
            batch: Arc::default(),
        })
    }

    /// Runs `f` as one write transaction holding the write lock.
    fn write<T>(&self, f: impl FnOnce(&tx::Tx<'_>) -> Result<T>) -> Result<T> {
        let mut c = self.pool.get()?;
        let statements = std::mem::take(&mut c.statements);
        let tx = tx::Tx::new(&c, statements);
        let out = f(&tx);
        let (ended, statements) = tx.end(out.is_ok());
        let failed = matches!(out, Err(StoreError::Backend(_))) || ended.is_err();
        match statements {
            // after a database error the statements are prepared again
            // (one may be stale: a newer peerd changed the schema)
            Some(s) if !failed => c.statements = s,
            Some(_) => {}
            // neither committed nor rolled back for sure: never reused
            None => c.discard(),
        }
        let out = out?;
        ended?;
        Ok(out)
    }
}

impl Store for PgStore {
    fn durable(&self) -> BoxFuture<'static, Result<()>> {
        // Each call committed before it returned.
        Box::pin(futures::future::ready(Ok(())))
    }

    fn insert_request(
        &self,
        request: &RequestRecord,
        sessions: Vec<Session>,
    ) -> Result<Vec<Inserted>> {
        self.pg_insert_request(request, sessions)
    }

    fn insert_request_durable(
        &self,
        request: RequestRecord,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<Inserted>>> {
        // committed when it resolves: with the requests waiting at the
        // same time, in one transaction (batch.rs), off the async threads
        let this = self.clone();
        Box::pin(async move {
            match tokio::runtime::Handle::try_current() {
                Ok(_) => this.pg_insert_batched(request, sessions).await,
                Err(_) => this.pg_insert_request(&request, sessions),
            }
        })
    }

    fn get_session(&self, id: &str) -> Result<Option<Session>> {
        self.pg_get_session(id)
    }

    fn get_request(&self, id: &str) -> Result<Option<RequestRecord>> {
        self.pg_get_request(id)
    }

    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        self.pg_list_sessions(filter, after, limit)
    }

    fn transition(&self, id: &str, to: SessionStatus, opts: TransitionOpts) -> Result<Session> {
        self.pg_transition(id, to, opts)
    }

    fn mark_pushed(&self, ids: &[SessionId]) -> Result<Vec<SessionId>> {
        self.pg_mark_pushed(ids)
    }

    fn set_detail(&self, id: &str, detail: Option<String>, actor: &str) -> Result<Session> {
        self.pg_set_detail(id, detail, actor)
    }

    fn set_hold(&self, id: &str, change: &HoldChange) -> Result<Session> {
        self.pg_set_hold(id, change)
    }

    fn set_remote(
        &self,
        id: &str,
        remote: RemoteState,
        detail: Option<Option<String>>,
        actor: &str,
    ) -> Result<Session> {
        self.pg_set_remote(id, remote, detail, actor)
    }

    fn remove_session(&self, id: &str, actor: &str) -> Result<()> {
        let opts = RemoveOpts {
            actor: actor.to_string(),
            ..Default::default()
        };
        self.pg_remove_session_if(id, &opts).map(|_| ())
    }

    fn remove_session_if(&self, id: &str, opts: RemoveOpts) -> Result<Session> {
        self.pg_remove_session_if(id, &opts)
    }

    fn requeue_now(&self, id: &str, actor: &str) -> Result<Session> {
        self.pg_requeue_now(id, actor)
    }

    fn audit(&self, session_id: &str) -> Result<Vec<AuditEvent>> {
        self.pg_audit(session_id)
    }

    fn enqueue(
        &self,
        session_id: &SessionId,
        router: &str,
        kind: JobKind,
        not_before: UnixMillis,
    ) -> Result<u64> {
        self.pg_enqueue(session_id, router, kind, not_before)
    }

    fn claim(
        &self,
        now: UnixMillis,
        lease_ms: u64,
        owner: &str,
        max: usize,
        busy_routers: &[String],
    ) -> Result<Vec<Job>> {
        self.pg_claim(now, lease_ms, owner, max, busy_routers)
    }

    fn complete(&self, job_id: u64, lease_token: u64) -> Result<()> {
        self.pg_complete(job_id, lease_token)
    }

    fn fail(
        &self,
        job_id: u64,
        lease_token: u64,
        retry_at: UnixMillis,
        error: &str,
    ) -> Result<Job> {
        self.pg_fail(job_id, lease_token, retry_at, error)
    }

    fn defer(&self, job_id: u64, lease_token: u64, at: UnixMillis) -> Result<Job> {
        self.pg_defer(job_id, lease_token, at)
    }

    fn renew(&self, job_id: u64, lease_token: u64, now: UnixMillis, lease_ms: u64) -> Result<()> {
        self.pg_renew(job_id, lease_token, now, lease_ms)
    }

    fn reclaim_expired(&self, now: UnixMillis) -> Result<usize> {
        self.pg_reclaim_expired(now)
    }

    fn jobs(&self) -> Result<Vec<Job>> {
        self.pg_jobs()
    }

    fn session_jobs(&self, session_id: &str) -> Result<Vec<Job>> {
        self.pg_session_jobs(session_id)
    }

    fn meta_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let c = self.pool.get()?;
        let row = block(c.query_opt(
            "SELECT value FROM peerd_meta WHERE ns = $1 AND key = $2",
            &[&ns, &key],
        ))
        .map_err(pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn meta_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<()> {
        let c = self.pool.get()?;
        block(c.execute(
            "INSERT INTO peerd_meta (ns, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value",
            &[&ns, &key, &value],
        ))
        .map_err(pg)?;
        Ok(())
    }

    fn meta_delete(&self, ns: &str, key: &str) -> Result<()> {
        let c = self.pool.get()?;
        block(c.execute(
            "DELETE FROM peerd_meta WHERE ns = $1 AND key = $2",
            &[&ns, &key],
        ))
        .map_err(pg)?;
        Ok(())
    }

    fn meta_namespaces(&self) -> Result<Vec<String>> {
        let c = self.pool.get()?;
        let rows =
            block(c.query("SELECT DISTINCT ns FROM peerd_meta ORDER BY ns", &[])).map_err(pg)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn meta_list(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let c = self.pool.get()?;
        let rows = block(c.query(
            "SELECT key, value FROM peerd_meta WHERE ns = $1 ORDER BY key",
            &[&ns],
        ))
        .map_err(pg)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn hold_lease(&self, name: &str, owner: &str, now: UnixMillis, ttl_ms: u64) -> Result<bool> {
        self.pg_hold_lease(name, owner, now, ttl_ms)
    }

    fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.pg_release_lease(name, owner)
    }
}

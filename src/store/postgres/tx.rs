//! One write transaction and the row helpers used inside it.
//!
//! Every mutating call is one transaction that first takes a
//! transaction-scoped advisory lock ([`WRITE_LOCK`]): writers of all
//! instances are serialised, as sled serialises its transactions, so the
//! address rule, the queue and the counters are decided on a stable view
//! and no transaction is ever retried. Reads take no lock (MVCC). The
//! lock is released at commit, after the commit is visible, so sequence
//! numbers become visible in order (paging never skips a session).

use super::pool::{block, pg, Statements};
use crate::model::{AuditEvent, Job, JobKind, Session, UnixMillis};
use crate::store::{Result, StoreError};
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Client, Row, Statement};

/// Advisory lock every write transaction holds until it ends.
pub const WRITE_LOCK: i64 = 0x7065_6572_6400_0002;

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

const SELECT_SESSION: &str = "SELECT body FROM peerd_sessions WHERE session_id = $1";
const HOLD_ADDRESS: &str = "INSERT INTO peerd_holders (router, address, session_id)
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const OTHER_HOLDERS: &str =
    "SELECT s.body FROM peerd_holders h JOIN peerd_sessions s ON s.session_id = h.session_id
     WHERE h.router = $1 AND h.address = $2 AND h.session_id <> $3 ORDER BY h.ord";
const INSERT_AUDIT: &str =
    "INSERT INTO peerd_audit (n, session_id, body) VALUES (nextval('peerd_audit_n'), $1, $2)";

/// A millisecond time or counter as a BIGINT.
pub fn int(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// A JSON column of a row as `T`.
pub fn body<T: DeserializeOwned>(row: &Row, col: usize, what: &str) -> Result<T> {
    let v: Json<serde_json::Value> = row
        .try_get(col)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?;
    serde_json::from_value(v.0).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub fn json<T: serde::Serialize>(v: &T) -> Result<Json<serde_json::Value>> {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

pub fn direction_str(d: crate::model::Direction) -> &'static str {
    match d {
        crate::model::Direction::Inbound => "inbound",
        crate::model::Direction::Outbound => "outbound",
    }
}

/// A write transaction (holding [`WRITE_LOCK`]) on one connection.
///
/// Round trips are what a write costs most, so `BEGIN` and the lock are
/// not sent on their own: they go in the same round trip as the
/// transaction's first statements, and [`Tx::pipeline_and_commit`] sends
/// `COMMIT` with its last ones. Statements are prepared once per
/// connection and reused (no parse, one round trip each, not two). Should
/// the transaction end without a commit, [`Tx::end`] rolls it back.
pub struct Tx<'a> {
    c: &'a Client,
    prepared: RefCell<Statements>,
    /// `BEGIN` and the lock have been sent.
    begun: Cell<bool>,
    /// `COMMIT` has been sent and answered.
    committed: Cell<bool>,
}

const BEGIN: &str = "BEGIN";
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const COMMIT: &str = "COMMIT";

/// `BEGIN` and the lock, to be sent ahead of a transaction's first
/// statements.
type Head<'f> = futures::future::BoxFuture<'f, std::result::Result<(), tokio_postgres::Error>>;

impl<'a> Tx<'a> {
    /// A transaction on `c` (nothing sent yet); `prepared`: the
    /// connection's statements, given back by [`Tx::end`].
    pub fn new(c: &'a Client, prepared: Statements) -> Tx<'a> {
        Tx {
            c,
            prepared: RefCell::new(prepared),
            begun: Cell::new(false),
            committed: Cell::new(false),
        }
    }

    /// Commits when `commit` (unless already committed) and rolls back
    /// otherwise. The connection's statements when it may be used again
    /// (`Ok(None)`: it may not, its transaction state is unknown).
    pub fn end(self, commit: bool) -> (Result<()>, Option<Statements>) {
        let Tx {
            c,
            prepared,
            begun,
            committed,
        } = self;
        let prepared = prepared.into_inner();
        if !begun.get() || committed.get() {
            return (Ok(()), Some(prepared));
        }
        let committed = match prepared.get(COMMIT) {
            Some(st) if commit => block(c.execute(st, &[])).map(|_| ()).map_err(pg),
            Some(_) => Ok(()),
            None => Err(StoreError::Backend("COMMIT not prepared".into())),
        };
        if commit && committed.is_ok() {
            return (Ok(()), Some(prepared));
        }
        // not to commit, or a failed COMMIT (which ends the transaction
        // anyway): roll back to be sure
        let back = block(c.batch_execute("ROLLBACK")).is_ok();
        (
            if commit { committed } else { Ok(()) },
            back.then_some(prepared),
        )
    }

    /// `BEGIN` and the lock when not sent yet (prepared; the caller polls
    /// it before its own statements, so that they are sent first).
    fn head(&self) -> Result<Option<Head<'_>>> {
        if self.begun.get() {
            return Ok(None);
        }
        // COMMIT too: `end` needs it
        self.prepare_all([BEGIN, LOCK, COMMIT].into_iter())?;
        let (begin, lock) = (self.statement(BEGIN)?, self.statement(LOCK)?);
        self.begun.set(true);
        let c = self.c;
        Ok(Some(Box::pin(async move {
            let b = c.execute(&begin, &[]);
            let l = c.execute(&lock, &[&WRITE_LOCK]);
            futures::future::try_join(b, l).await.map(|_| ())
        })))
    }

    /// Runs `f` after the transaction's head (when not sent yet), both
    /// sent in one round trip.
    fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    {
        if self.committed.get() {
            return Err(StoreError::Backend("statement after commit".into()));
        }
        match self.head()? {
            None => block(f).map_err(pg),
            Some(h) => block(futures::future::try_join(h, f))
                .map(|((), t)| t)
                .map_err(pg),
        }
    }

    /// `sql` prepared in this connection (once).
    fn statement(&self, sql: &str) -> Result<Statement> {
        self.prepare_all(std::iter::once(sql))?;
        self.prepared
            .borrow()
            .get(sql)
            .cloned()
            .ok_or_else(|| StoreError::Backend(format!("statement not prepared: {sql}")))
    }

    /// Prepares those of `sqls` not prepared yet, sent together (one
    /// round trip for all).
    fn prepare_all<'s>(&self, sqls: impl Iterator<Item = &'s str>) -> Result<()> {
        let mut missing: Vec<&str> = Vec::new();
        {
            let done = self.prepared.borrow();
            for sql in sqls {
                if !done.contains_key(sql) && !missing.contains(&sql) {
                    missing.push(sql);
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let prepares = missing.iter().map(|sql| self.c.prepare(sql));
        let statements = block(futures::future::try_join_all(prepares)).map_err(pg)?;
        let mut done = self.prepared.borrow_mut();
        for (sql, st) in missing.into_iter().zip(statements) {
            done.insert(sql.to_string(), st);
        }
        Ok(())
    }

    pub fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        self.run(self.c.query(&st, params))
    }

    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let st = self.statement(sql)?;
        self.run(self.c.query_opt(&st, params))
    }

    pub fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let st = self.statement(sql)?;
        self.run(self.c.execute(&st, params))
    }

    /// Runs `stmts` in order, sent together: one round trip for all (once
    /// each is prepared). Their rows, in order.
    pub fn pipeline(&self, stmts: &[(&str, Params<'_>)]) -> Result<Vec<Vec<Row>>> {
        self.send(stmts, false)
    }

    /// [`Tx::pipeline`], then `COMMIT` in the same round trip: the
    /// transaction's last statements (nothing may follow).
    pub fn pipeline_and_commit(&self, stmts: &[(&str, Params<'_>)]) -> Result<Vec<Vec<Row>>> {
        self.send(stmts, true)
    }

    fn send(&self, stmts: &[(&str, Params<'_>)], commit: bool) -> Result<Vec<Vec<Row>>> {
        let tail: &[(&str, Params<'_>)] = if commit { &[(COMMIT, &[])] } else { &[] };
        let all: Vec<&(&str, Params<'_>)> = stmts.iter().chain(tail).collect();
        self.prepare_all(all.iter().map(|(sql, _)| *sql))?;
        let prepared = all
            .iter()
            .map(|(sql, _)| self.statement(sql))
            .collect::<Result<Vec<_>>>()?;
        let queries = prepared
            .iter()
            .zip(&all)
            .map(|(st, (_, params))| self.c.query(st, params));
        let mut rows = self.run(futures::future::try_join_all(queries))?;
        if commit {
            self.committed.set(true);
            rows.pop();
        }
        Ok(rows)
    }

    /// The next value of one of the schema's sequences (a fixed name).
    fn next(&self, sequence: &'static str) -> Result<u64> {
        let row = self.query(&format!("SELECT nextval('{sequence}')"), &[])?;
        let row = row
            .first()
            .ok_or_else(|| StoreError::Backend(format!("{sequence}: no value")))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Wakes the workers of every instance (LISTEN `peerd_jobs`) once
    /// this transaction commits (PostgreSQL folds repeats into one).
    pub fn notify_jobs(&self) -> Result<()> {
        self.execute("SELECT pg_notify('peerd_jobs', '')", &[])?;
        Ok(())
    }

    pub fn audit(&self, ev: &AuditEvent) -> Result<()> {
        self.execute(INSERT_AUDIT, &[&ev.session_id, &json(ev)?])?;
        Ok(())
    }

    // ---- sessions -----------------------------------------------------------

    pub fn load_session(&self, id: &str) -> Result<Option<Session>> {
        match self.query_opt(SELECT_SESSION, &[&id])? {
            Some(r) => Ok(Some(body(&r, 0, "session")?)),
            None => Ok(None),
        }
    }

    pub fn session(&self, id: &str) -> Result<Session> {
        self.load_session(id)?
            .ok_or_else(|| StoreError::NotFound(format!("session {id}")))
    }

    /// Writes the record of an existing session.
    pub fn store_session(&self, s: &Session) -> Result<()> {
        self.execute(
            "UPDATE peerd_sessions SET status = $2, direction = $3, body = $4 WHERE session_id = $1",
            &[&s.session_id, &s.status.as_str(), &direction_str(s.direction), &json(s)?],
        )?;
        Ok(())
    }

    pub fn delete_session(&self, s: &Session) -> Result<()> {
        self.execute(
            "DELETE FROM peerd_sessions WHERE session_id = $1",
            &[&s.session_id],
        )?;
        Ok(())
    }

    pub fn hold_address(&self, s: &Session) -> Result<()> {
        self.execute(
            HOLD_ADDRESS,
            &[&s.router, &s.local_ip.to_string(), &s.session_id],
        )?;
        Ok(())
    }

    pub fn release_address(&self, s: &Session) -> Result<()> {
        self.execute(
            "DELETE FROM peerd_holders WHERE router = $1 AND address = $2 AND session_id = $3",
            &[&s.router, &s.local_ip.to_string(), &s.session_id],
        )?;
        Ok(())
    }

    /// The other sessions holding `s`'s address.
    pub fn other_holders(&self, s: &Session) -> Result<Vec<Session>> {
        let rows = self.query(
            OTHER_HOLDERS,
            &[&s.router, &s.local_ip.to_string(), &s.session_id],
        )?;
        rows.iter().map(|r| body(r, 0, "session")).collect()
    }

    // ---- jobs ---------------------------------------------------------------

    pub fn load_job(&self, job_id: u64) -> Result<Option<Job>> {
        match self.query_opt(
            "SELECT body FROM peerd_jobs WHERE job_id = $1",
            &[&int(job_id)],
        )? {
            Some(r) => Ok(Some(body(&r, 0, "job")?)),
            None => Ok(None),
        }
    }

    /// Writes a job (insert or update), its columns from its record.
    pub fn put_job(&self, job: &Job) -> Result<()> {
        let until = job.lease.as_ref().map(|l| int(l.until_ms));
        self.execute(
            "INSERT INTO peerd_jobs (job_id, session_id, router, not_before_ms, lease_until_ms, body)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (job_id) DO UPDATE SET not_before_ms = EXCLUDED.not_before_ms,
                 lease_until_ms = EXCLUDED.lease_until_ms, body = EXCLUDED.body",
            &[
                &int(job.job_id),
                &job.session_id,
                &job.router,
                &int(job.not_before_ms),
                &until,
                &json(job)?,
            ],
        )?;
        Ok(())
    }

    /// The jobs of one session, in id order.
    pub fn session_jobs(&self, session_id: &str) -> Result<Vec<Job>> {
        let rows = self.query(
            "SELECT body FROM peerd_jobs WHERE session_id = $1 ORDER BY job_id",
            &[&session_id],
        )?;
        rows.iter().map(|r| body(r, 0, "job")).collect()
    }

    pub fn new_job(
        &self,
        session_id: &str,
        router: &str,
        kind: JobKind,
        not_before_ms: UnixMillis,
        now: UnixMillis,
    ) -> Result<Job> {
        let job_id = self.next("peerd_job_id")?;
        let job = Job::fresh(job_id, session_id, router, kind, not_before_ms, now);
        self.put_job(&job)?;
        Ok(job)
    }

    pub fn delete_job(&self, job: &Job) -> Result<()> {
        self.execute(
            "DELETE FROM peerd_jobs WHERE job_id = $1",
            &[&int(job.job_id)],
        )?;
        Ok(())
    }

    /// Clears a job's lease (it is ready again at `not_before_ms`).
    pub fn release_job(&self, job: &mut Job) -> Result<()> {
        job.lease = None;
        self.put_job(job)
    }
}

//! The job queue on PostgreSQL: enqueue, claim with a lease, complete,
//! fail, renew, reclaim, retry now.
//!
//! A claim runs in a write transaction: it selects ready jobs oldest first
//! `FOR UPDATE SKIP LOCKED` (so a claimer never waits on rows another one
//! holds) and leases them to `owner` with a random token; `complete`,
//! `fail` and `renew` check the token. A lease that expires is reclaimed
//! by whichever instance runs `reclaim_expired` first.
//!
//! The router lease (on in `peerd serve`, see [`PgStore::with_router_leases`];
//! the store contract itself is per owner): a claim passes over every router for which another
//! owner (another instance's worker) holds a live lease, so at most one
//! instance pushes to a router at a time, while one claim still takes all
//! of a free router's ready jobs for the worker to coalesce. A killed
//! instance's routers are free again when its leases expire.

use super::tx::{body, int, Tx};
use super::PgStore;
use crate::model::{now_ms, Job, JobKind, Lease, Session, SessionId, SessionStatus, UnixMillis};
use crate::store::rules::{clip, event, kind_str};
use crate::store::{Result, StoreError};

/// Ready jobs looked at per claim.
const CLAIM_SCAN: i64 = 1000;
/// Jobs reclaimed per call.
const RECLAIM_BATCH: i64 = 10_000;

fn leased_job(tx: &Tx<'_>, job_id: u64, token: u64) -> Result<Job> {
    match tx.load_job(job_id)? {
        Some(j) if j.lease.as_ref().is_some_and(|l| l.token == token) => Ok(j),
        _ => Err(StoreError::LeaseLost(job_id)),
    }
}

fn job_audit(tx: &Tx<'_>, job: &Job, actor: &str, action: &str, detail: String) -> Result<()> {
    if let Some(s) = tx.load_session(&job.session_id)? {
        let mut ev = event(&s, actor, action, None, Some(clip(&detail)), now_ms());
        ev.to = None;
        tx.audit(&ev)?;
    }
    Ok(())
}

/// True for a `Provision` job that must wait for a `Deleting` holder of
/// its session's address.
fn waits_for_removal(tx: &Tx<'_>, job: &Job) -> Result<bool> {
    if job.kind != JobKind::Provision {
        return Ok(false);
    }
    let Some(s) = tx.load_session(&job.session_id)? else {
        return Ok(false);
    };
    let others: Vec<Session> = tx.other_holders(&s)?;
    Ok(others.iter().any(|h| h.status == SessionStatus::Deleting))
}

impl PgStore {
    pub(super) fn pg_enqueue(
        &self,
        session_id: &SessionId,
        router: &str,
        kind: JobKind,
        not_before: UnixMillis,
    ) -> Result<u64> {
        let now = now_ms();
        self.write(|tx| {
            tx.session(session_id)?;
            let job = tx.new_job(session_id, router, kind, not_before, now)?;
            let detail = format!("{} job {} for router {router}", kind_str(kind), job.job_id);
            job_audit(tx, &job, "queue", "enqueued", detail)?;
            tx.notify_jobs()?;
            Ok(job.job_id)
        })
    }

    pub(super) fn pg_claim(
        &self,
        now: UnixMillis,
        lease_ms: u64,
        owner: &str,
        max: usize,
        busy_routers: &[String],
    ) -> Result<Vec<Job>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let until = now.saturating_add(lease_ms);
        self.write(|tx| {
            let rows = tx.query(
                "SELECT body FROM peerd_jobs
                 WHERE lease_until_ms IS NULL AND not_before_ms <= $1 AND NOT (router = ANY($2))
                   AND (NOT $5 OR router NOT IN (
                       SELECT router FROM peerd_jobs
                       WHERE lease_until_ms >= $1 AND body -> 'lease' ->> 'owner' <> $4))
                 ORDER BY not_before_ms, job_id LIMIT $3
                 FOR UPDATE SKIP LOCKED",
                &[
                    &int(now),
                    &busy_routers,
                    &CLAIM_SCAN,
                    &owner,
                    &self.router_leases,
                ],
            )?;
            let mut got = Vec::new();
            for r in &rows {
                if got.len() == max {
                    break;
                }
                let mut job: Job = body(r, 0, "job")?;
                if waits_for_removal(tx, &job)? {
                    continue;
                }
                job.lease = Some(Lease {
                    owner: owner.to_string(),
                    token: rand::random::<u64>(),
                    until_ms: until,
                });
                tx.put_job(&job)?;
                let detail = format!(
                    "{} job {} attempt {} claimed by {owner}",
                    kind_str(job.kind),
                    job.job_id,
                    job.attempts + 1
                );
                job_audit(tx, &job, owner, "job_claimed", detail)?;
                got.push(job);
            }
            Ok(got)
        })
    }

    pub(super) fn pg_complete(&self, job_id: u64, lease_token: u64) -> Result<()> {
        let now = now_ms();
        self.write(|tx| {
            let job = leased_job(tx, job_id, lease_token)?;
            tx.delete_job(&job)?;
            let owner = job.lease.as_ref().map(|l| l.owner.as_str()).unwrap_or("");
            let detail = format!("{} job {} done", kind_str(job.kind), job.job_id);
            job_audit(tx, &job, owner, "job_done", detail)?;
            if job.kind == JobKind::Provision {
                if let Some(s) = tx.load_session(&job.session_id)? {
                    let other = tx
                        .session_jobs(&s.session_id)?
                        .iter()
                        .any(|j| j.kind == JobKind::Provision);
                    if s.status == SessionStatus::Approved && !other {
                        let j =
                            tx.new_job(&s.session_id, &s.router, JobKind::Provision, now, now)?;
                        let detail = format!("provision job {} (approved again)", j.job_id);
                        job_audit(tx, &j, "queue", "enqueued", detail)?;
                        tx.notify_jobs()?;
                    }
                }
            }
            Ok(())
        })
    }

    pub(super) fn pg_fail(
        &self,
        job_id: u64,
        lease_token: u64,
        retry_at: UnixMillis,
        error: &str,
    ) -> Result<Job> {
        let error = clip(error);
        self.write(|tx| {
            let mut job = leased_job(tx, job_id, lease_token)?;
            let owner = job
                .lease
                .as_ref()
                .map(|l| l.owner.clone())
                .unwrap_or_default();
            job.attempts += 1;
            job.last_error = Some(error.clone());
            job.not_before_ms = retry_at;
            tx.release_job(&mut job)?;
            let detail = format!(
                "{} job {} attempt {} failed, retry at {retry_at}: {error}",
                kind_str(job.kind),
                job.job_id,
                job.attempts
            );
            job_audit(tx, &job, &owner, "job_failed", detail)?;
            Ok(job)
        })
    }

    /// [`crate::store::Store::defer`]: the job is released, claimable at
    /// `at`, its attempts unchanged.
    pub(super) fn pg_defer(&self, job_id: u64, lease_token: u64, at: UnixMillis) -> Result<Job> {
        self.write(|tx| {
            let mut job = leased_job(tx, job_id, lease_token)?;
            job.not_before_ms = at;
            tx.release_job(&mut job)?;
            Ok(job)
        })
    }

    pub(super) fn pg_renew(
        &self,
        job_id: u64,
        lease_token: u64,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<()> {
        self.write(|tx| {
            let mut job = leased_job(tx, job_id, lease_token)?;
            let Some(lease) = job.lease.as_mut() else {
                return Err(StoreError::LeaseLost(job_id));
            };
            lease.until_ms = now.saturating_add(lease_ms);
            tx.put_job(&job)
        })
    }

    pub(super) fn pg_reclaim_expired(&self, now: UnixMillis) -> Result<usize> {
        self.write(|tx| {
            let rows = tx.query(
                "SELECT body FROM peerd_jobs WHERE lease_until_ms < $1
                 ORDER BY lease_until_ms, job_id LIMIT $2",
                &[&int(now), &RECLAIM_BATCH],
            )?;
            let mut n = 0;
            for r in &rows {
                let mut job: Job = body(r, 0, "job")?;
                let Some(lease) = job.lease.clone() else {
                    continue;
                };
                tx.release_job(&mut job)?;
                let detail = format!(
                    "{} job {} lease of {} expired at {}",
                    kind_str(job.kind),
                    job.job_id,
                    lease.owner,
                    lease.until_ms
                );
                job_audit(tx, &job, "queue", "lease_expired", detail)?;
                n += 1;
            }
            if n > 0 {
                tx.notify_jobs()?;
            }
            Ok(n)
        })
    }

    pub(super) fn pg_requeue_now(&self, id: &str, actor: &str) -> Result<Session> {
        let now = now_ms();
        self.write(|tx| {
            let mut s = tx.session(id)?;
            let jobs = tx.session_jobs(id)?;
            let running = jobs.iter().any(|j| j.lease.is_some());
            let waiting: Vec<Job> = jobs.into_iter().filter(|j| j.lease.is_none()).collect();
            if waiting.is_empty() {
                return Err(StoreError::Conflict(if running {
                    "a push of this session is running now; nothing to retry".into()
                } else {
                    format!(
                        "nothing to retry: the session is {} and no job of it waits",
                        s.status
                    )
                }));
            }
            let mut done = Vec::new();
            for mut j in waiting {
                j.not_before_ms = j.not_before_ms.min(now);
                j.attempts = 0;
                j.last_error = None;
                tx.put_job(&j)?;
                done.push(format!("{} job {}", kind_str(j.kind), j.job_id));
            }
            s.status_detail = Some("an operator asked for a retry now".into());
            s.updated_ms = now;
            tx.store_session(&s)?;
            let detail = format!("{} ready now, attempts reset", done.join(", "));
            tx.audit(&event(
                &s,
                actor,
                "retry",
                Some(s.status),
                Some(detail),
                now,
            ))?;
            tx.notify_jobs()?;
            Ok(s)
        })
    }

    pub(super) fn pg_jobs(&self) -> Result<Vec<Job>> {
        self.query_jobs("SELECT body FROM peerd_jobs ORDER BY job_id", &[])
    }

    /// One session's jobs (index `peerd_jobs_session`).
    pub(super) fn pg_session_jobs(&self, session_id: &str) -> Result<Vec<Job>> {
        self.query_jobs(
            "SELECT body FROM peerd_jobs WHERE session_id = $1 ORDER BY job_id",
            &[&session_id],
        )
    }

    /// The jobs a `SELECT body` gives, in its order.
    fn query_jobs(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Job>> {
        let c = self.pool.get()?;
        let rows = super::pool::block(c.query(sql, params)).map_err(super::pool::pg)?;
        rows.iter().map(|r| body(r, 0, "job")).collect()
    }
}

//! The job queue: enqueue, claim with a lease, complete, fail, renew, reclaim.
//!
//! Ready jobs are indexed by `(not_before_ms, job_id)`, leased ones by
//! `(until_ms, job_id)`. Claims scan the ready index outside the writer
//! for candidates, then take them in one mutation that re-checks each
//! ready entry: mutations run one after the other, so a job whose entry
//! another claimer removed first is skipped, and no job is ever leased
//! twice.
//!
//! A `Provision` job whose session shares its address with a `Deleting`
//! holder (a repeat of a session being deleted) is passed over until that
//! holder is removed, so the removal always reaches the router first.

use super::super::{Result, StoreError};
use super::backend;
use super::keys;
use super::overlay::Overlay;
use super::sessions::{clip, event};
use super::tx::{abort, decode, Trees, Tx, TxResult};
use super::Inner;
use crate::model::{now_ms, Job, JobKind, Lease, Session, SessionId, SessionStatus, UnixMillis};
use crate::store::rules::kind_str;

/// Jobs reclaimed per transaction.
const RECLAIM_BATCH: usize = 256;
/// Rescans when concurrent claimers took some of our candidates.
const CLAIM_PASSES: usize = 8;

/// A job whose lease `token` still matches, else `LeaseLost`.
fn leased_job(tx: &Tx<'_>, job_id: u64, token: u64) -> TxResult<Job> {
    match tx.load_job(job_id)? {
        Some(j) if j.lease.as_ref().is_some_and(|l| l.token == token) => Ok(j),
        _ => abort(StoreError::LeaseLost(job_id)),
    }
}

/// Writes a queue audit record if the session still exists.
fn job_audit(tx: &Tx<'_>, job: &Job, actor: &str, action: &str, detail: String) -> TxResult<()> {
    if let Some(s) = tx.load_session(&job.session_id)? {
        let mut ev = event(&s, actor, action, None, Some(clip(&detail)), now_ms());
        ev.to = None;
        tx.audit(&s, &ev)?;
    }
    Ok(())
}

/// True for a `Provision` job that must wait: another holder of its
/// session's address is `Deleting` (read outside a transaction).
fn waits_for_removal(trees: &Trees, job: &Job) -> Result<bool> {
    if job.kind != JobKind::Provision {
        return Ok(false);
    }
    let Some(s) = trees.load_session(&job.session_id)? else {
        return Ok(false);
    };
    for id in trees.holders(&s)? {
        if id != s.session_id {
            if let Some(h) = trees.load_session(&id)? {
                if h.status == SessionStatus::Deleting {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// [`waits_for_removal`] inside a transaction.
fn waits_for_removal_tx(tx: &Tx<'_>, job: &Job) -> TxResult<bool> {
    if job.kind != JobKind::Provision {
        return Ok(false);
    }
    let Some(s) = tx.load_session(&job.session_id)? else {
        return Ok(false);
    };
    let others: Vec<Session> = tx.other_holders(&s)?;
    Ok(others.iter().any(|h| h.status == SessionStatus::Deleting))
}

impl Inner {
    pub fn enqueue(
        &self,
        session_id: &SessionId,
        router: &str,
        kind: JobKind,
        not_before: UnixMillis,
    ) -> Result<u64> {
        let now = now_ms();
        let (session_id, router) = (session_id.clone(), router.to_string());
        self.writer.write(move |tx| {
            tx.session(&session_id)?;
            let job = tx.new_job(&session_id, &router, kind, not_before, now)?;
            let detail = format!("{} job {} for router {router}", kind_str(kind), job.job_id);
            job_audit(tx, &job, "queue", "enqueued", detail)?;
            Ok(job.job_id)
        })
    }

    pub fn claim(
        &self,
        now: UnixMillis,
        lease_ms: u64,
        owner: &str,
        max: usize,
        busy_routers: &[String],
    ) -> Result<Vec<Job>> {
        let mut claimed: Vec<Job> = Vec::new();
        for _ in 0..CLAIM_PASSES {
            let want = max - claimed.len();
            if want == 0 {
                break;
            }
            let mut candidates = Vec::new();
            for item in self.trees.ready.range(..=keys::timed_key(now, u64::MAX)) {
                let (k, _) = item.map_err(backend)?;
                let (_, job_id) = keys::split_timed(&k)
                    .ok_or_else(|| StoreError::Corrupt("ready index".into()))?;
                let Some(job) = self.trees.load_job(job_id)? else {
                    continue;
                };
                if busy_routers.contains(&job.router) || waits_for_removal(&self.trees, &job)? {
                    continue;
                }
                candidates.push(k);
                if candidates.len() == want {
                    break;
                }
            }
            if candidates.is_empty() {
                break;
            }
            let until = now.saturating_add(lease_ms);
            let asked = candidates.len();
            let owner = owner.to_string();
            let got = self.writer.write(move |tx| {
                let mut got = Vec::new();
                for k in &candidates {
                    if tx.ready.get(k)?.is_none() {
                        continue; // another claimer was first
                    }
                    let Some((_, job_id)) = keys::split_timed(k) else {
                        continue;
                    };
                    let Some(mut job) = tx.load_job(job_id)? else {
                        continue;
                    };
                    if job.lease.is_some() || waits_for_removal_tx(tx, &job)? {
                        continue;
                    }
                    tx.ready.remove(&k[..])?;
                    tx.leased.insert(keys::timed_key(until, job_id), &[][..])?;
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
                    job_audit(tx, &job, &owner, "job_claimed", detail)?;
                    got.push(job);
                }
                Ok(got)
            })?;
            let lost_some = got.len() < asked;
            claimed.extend(got);
            if !lost_some {
                break;
            }
        }
        Ok(claimed)
    }

    pub fn complete(&self, job_id: u64, lease_token: u64) -> Result<()> {
        let now = now_ms();
        self.writer.write(move |tx| {
            let job = leased_job(tx, job_id, lease_token)?;
            tx.delete_job(&job)?;
            let owner = job.lease.as_ref().map(|l| l.owner.as_str()).unwrap_or("");
            let detail = format!("{} job {} done", kind_str(job.kind), job.job_id);
            job_audit(tx, &job, owner, "job_done", detail)?;
            // Approved again while this Provision ran (operator retry, re-push):
            // `transition` did not queue a second job, so queue it now.
            if job.kind == JobKind::Provision {
                if let Some(s) = tx.load_session(&job.session_id)? {
                    let other = tx
                        .session_jobs(&s.session_id)?
                        .iter()
                        .any(|j| j.kind == JobKind::Provision);
                    if s.status == crate::model::SessionStatus::Approved && !other {
                        let j =
                            tx.new_job(&s.session_id, &s.router, JobKind::Provision, now, now)?;
                        let detail = format!("provision job {} (approved again)", j.job_id);
                        job_audit(tx, &j, "queue", "enqueued", detail)?;
                    }
                }
            }
            Ok(())
        })
    }

    pub fn fail(
        &self,
        job_id: u64,
        lease_token: u64,
        retry_at: UnixMillis,
        error: &str,
    ) -> Result<Job> {
        let error = clip(error);
        self.writer.write(move |tx| {
            let mut job = leased_job(tx, job_id, lease_token)?;
            let owner = job
                .lease
                .as_ref()
                .map(|l| l.owner.clone())
                .unwrap_or_default();
            job.attempts += 1;
            job.last_error = Some(error.clone());
            // The ready key depends on not_before; release_job writes the new one.
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

    pub fn renew(
        &self,
        job_id: u64,
        lease_token: u64,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<()> {
        self.writer.write(move |tx| {
            let mut job = leased_job(tx, job_id, lease_token)?;
            let Some(lease) = job.lease.as_mut() else {
                return abort(StoreError::LeaseLost(job_id));
            };
            tx.leased.remove(keys::timed_key(lease.until_ms, job_id))?;
            lease.until_ms = now.saturating_add(lease_ms);
            tx.leased
                .insert(keys::timed_key(lease.until_ms, job_id), &[][..])?;
            tx.put_job(&job)
        })
    }

    pub fn reclaim_expired(&self, now: UnixMillis) -> Result<usize> {
        let mut total = 0;
        loop {
            let mut expired = Vec::new();
            for item in self.trees.leased.range(..keys::timed_key(now, 0)) {
                let (k, _) = item.map_err(backend)?;
                expired.push(k);
                if expired.len() == RECLAIM_BATCH {
                    break;
                }
            }
            if expired.is_empty() {
                break;
            }
            let n = self.writer.write(move |tx| {
                let mut n = 0;
                for k in &expired {
                    if tx.leased.get(k)?.is_none() {
                        continue; // completed, failed or renewed meanwhile
                    }
                    tx.leased.remove(&k[..])?;
                    let Some((until, job_id)) = keys::split_timed(k) else {
                        continue;
                    };
                    let Some(mut job) = tx.load_job(job_id)? else {
                        continue;
                    };
                    // Only a key that matches the job's current lease counts.
                    let Some(lease) = job.lease.clone().filter(|l| l.until_ms == until) else {
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
                Ok(n)
            })?;
            total += n;
        }
        Ok(total)
    }

    pub fn requeue_now(&self, id: &str, actor: &str) -> Result<Session> {
        let now = now_ms();
        let (id, actor) = (id.to_string(), actor.to_string());
        self.writer.write(move |tx| {
            let mut s = tx.session(&id)?;
            let jobs = tx.session_jobs(&id)?;
            let running = jobs.iter().any(|j| j.lease.is_some());
            let waiting: Vec<Job> = jobs.into_iter().filter(|j| j.lease.is_none()).collect();
            if waiting.is_empty() {
                return abort(StoreError::Conflict(if running {
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
                tx.ready
                    .remove(keys::timed_key(j.not_before_ms, j.job_id))?;
                j.not_before_ms = j.not_before_ms.min(now);
                j.attempts = 0;
                j.last_error = None;
                tx.ready
                    .insert(keys::timed_key(j.not_before_ms, j.job_id), &[][..])?;
                tx.put_job(&j)?;
                done.push(format!("{} job {}", kind_str(j.kind), j.job_id));
            }
            s.status_detail = Some("an operator asked for a retry now".into());
            s.updated_ms = now;
            tx.store_session(&s)?;
            let detail = format!("{} ready now, attempts reset", done.join(", "));
            tx.audit(
                &s,
                &event(&s, &actor, "retry", Some(s.status), Some(detail), now),
            )?;
            Ok(s)
        })
    }

    pub fn jobs(&self) -> Result<Vec<Job>> {
        let mut out = Vec::new();
        for item in self.trees.jobs.iter() {
            let (_, v) = item.map_err(backend)?;
            out.push(decode(&v, "job")?);
        }
        Ok(out)
    }

    /// One session's jobs, through `session_jobs` (ids in order): the
    /// batches' own reader, over an overlay that holds no write.
    pub fn session_jobs(&self, session_id: &str) -> Result<Vec<Job>> {
        self.trees.tx(&Overlay::default()).session_jobs(session_id)
    }
}

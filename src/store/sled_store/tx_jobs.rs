//! The job rows of a batch: a job, its place in the ready or leased
//! queue, and its session's list of job ids (`keys.rs`).

use super::keys;
use super::tx::{decode, encode, Tx, TxResult};
use crate::model::{Job, JobKind, UnixMillis};

impl Tx<'_> {
    pub fn load_job(&self, job_id: u64) -> TxResult<Option<Job>> {
        match self.jobs.get(keys::u64_key(job_id))? {
            Some(v) => Ok(Some(decode(&v, "job")?)),
            None => Ok(None),
        }
    }

    pub fn put_job(&self, job: &Job) -> TxResult<()> {
        self.jobs.insert(keys::u64_key(job.job_id), encode(job)?)?;
        Ok(())
    }

    pub fn session_job_ids(&self, session_id: &str) -> TxResult<Vec<u64>> {
        match self.session_jobs.get(session_id)? {
            Some(v) => decode(&v, "session jobs"),
            None => Ok(Vec::new()),
        }
    }

    fn set_session_job_ids(&self, session_id: &str, ids: &[u64]) -> TxResult<()> {
        if ids.is_empty() {
            self.session_jobs.remove(session_id)?;
        } else {
            self.session_jobs.insert(session_id, encode(&ids)?)?;
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
        let job_id = self.next_counter(keys::COUNTER_JOB)?;
        let job = Job::fresh(job_id, session_id, router, kind, not_before_ms, now);
        self.put_job(&job)?;
        self.ready
            .insert(keys::timed_key(not_before_ms, job.job_id), &[][..])?;
        let mut ids = self.session_job_ids(session_id)?;
        ids.push(job.job_id);
        self.set_session_job_ids(session_id, &ids)?;
        Ok(job)
    }

    /// Removes a job and all its index entries.
    pub fn delete_job(&self, job: &Job) -> TxResult<()> {
        self.jobs.remove(keys::u64_key(job.job_id))?;
        self.ready
            .remove(keys::timed_key(job.not_before_ms, job.job_id))?;
        if let Some(l) = &job.lease {
            self.leased
                .remove(keys::timed_key(l.until_ms, job.job_id))?;
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
                .remove(keys::timed_key(l.until_ms, job.job_id))?;
        }
        self.ready
            .insert(keys::timed_key(job.not_before_ms, job.job_id), &[][..])?;
        self.put_job(job)
    }
}

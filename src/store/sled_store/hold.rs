//! Holds on a session (graceful-shutdown drain, maintenance) and deferred
//! jobs: [`Inner::set_hold`] changes them under compare-and-set and queues
//! a `Refresh` in the same transaction; [`Inner::defer`] gives a leased job
//! back for later without counting an attempt (a drain that waits).

use super::super::{HoldChange, Result, StoreError};
use super::sessions::{clip, event};
use super::tx::abort;
use super::Inner;
use crate::model::{now_ms, Job, JobKind, Session, UnixMillis};

impl Inner {
    pub fn set_hold(&self, id: &str, change: &HoldChange) -> Result<Session> {
        let now = now_ms();
        let (id, change) = (id.to_string(), change.clone());
        self.writer.write(move |tx| {
            let mut s = tx.session(&id)?;
            if !change.expect.is_empty() && !change.expect.contains(&s.status) {
                return abort(StoreError::Conflict(format!(
                    "session is {}, not one this change applies to",
                    s.status
                )));
            }
            if let Some(m) = &change.expect_maintenance {
                if s.maintenance != *m {
                    return abort(StoreError::Conflict(
                        "the session's maintenance changed meanwhile".into(),
                    ));
                }
            }
            if let Some(d) = &change.expect_drain {
                if s.drain != *d {
                    return abort(StoreError::Conflict(
                        "the session's drain changed meanwhile".into(),
                    ));
                }
            }
            if let Some(d) = &change.drain {
                s.drain = d.clone();
            }
            if let Some(m) = &change.maintenance {
                s.maintenance = m.clone();
            }
            if let Some(d) = &change.status_detail {
                s.status_detail = d.as_deref().map(clip);
            }
            s.updated_ms = now;
            if change.refresh {
                let waiting = tx
                    .session_jobs(&s.session_id)?
                    .iter()
                    .any(|j| j.kind == JobKind::Refresh && j.lease.is_none());
                if !waiting {
                    tx.new_job(&s.session_id, &s.router, JobKind::Refresh, now, now)?;
                }
            }
            tx.store_session(&s)?;
            let detail = change.detail.as_deref().map(clip);
            let mut ev = event(
                &s,
                &change.actor,
                &change.action,
                Some(s.status),
                detail,
                now,
            );
            ev.to = None;
            tx.audit(&s, &ev)?;
            Ok(s)
        })
    }

    pub fn defer(&self, job_id: u64, lease_token: u64, at: UnixMillis) -> Result<Job> {
        self.writer.write(move |tx| {
            let mut job = match tx.load_job(job_id)? {
                Some(j) if j.lease.as_ref().is_some_and(|l| l.token == lease_token) => j,
                _ => return abort(StoreError::LeaseLost(job_id)),
            };
            job.not_before_ms = at;
            tx.release_job(&mut job)?;
            Ok(job)
        })
    }
}

//! Graceful shutdown (RFC 8326) and maintenance on the router.
//!
//! - A `Deprovision` of a session marked for a drain ([`Session::drain`]:
//!   it was `Established` when deleted) first re-pushes its neighbor in the
//!   drain form (routes tagged 65535:0), records the deadline on the
//!   session and defers the job to it ([`Store::defer`], no attempt
//!   counted); at the deadline the removal runs as usual. The deadline is
//!   on disk, so a restarted worker waits for the rest of it, and a push
//!   that may or may not have landed before a kill is simply pushed again
//!   (the add is idempotent).
//! - A `Refresh` re-pushes a configured neighbor in the form it should have
//!   now ([`Session::form`]): drained then shut down while a maintenance
//!   window holds it, normal again after; no status change.
//!
//! Platforms without the drain form remove (or shut down) at once.
//!
//! [`Store::defer`]: crate::store::Store::defer

use super::Worker;
use crate::driver::PushError;
use crate::model::{now_ms, Drain, Job, Session, SessionStatus};
use crate::platform::Op;
use crate::store::HoldChange;
use crate::wire::rfc3339;

const ACTOR: &str = "worker";

fn token(job: &Job) -> u64 {
    job.lease.as_ref().map(|l| l.token).unwrap_or_default()
}

impl Worker {
    /// True when `router` drains before a removal or a shutdown.
    fn drains(&self, router: &str) -> bool {
        self.cfg.drain_secs > 0 && self.render.drains(router)
    }

    fn defer(&self, job: &Job, at: u64) {
        if let Err(e) = self.store.defer(job.job_id, token(job), at) {
            tracing::warn!(job = job.job_id, error = %e, "could not defer job");
        }
    }

    /// Of the `Deprovision` work, returns what may be removed now: a
    /// session to drain is pushed in the drain form and waits (its job
    /// deferred to the deadline), one still draining waits.
    pub(super) async fn drain_first(
        &self,
        router: &str,
        work: Vec<(Job, Session)>,
    ) -> Vec<(Job, Session)> {
        if !self.drains(router) {
            return work;
        }
        let now = now_ms();
        let (mut ready, mut start) = (Vec::new(), Vec::new());
        for (job, s) in work {
            match &s.drain {
                Some(Drain { until_ms: Some(t) }) if now < *t => self.defer(&job, *t),
                // shut down for maintenance: it sends no routes to tag
                Some(Drain { until_ms: None }) if s.form() == crate::model::NeighborForm::Drain => {
                    start.push((job, s))
                }
                _ => ready.push((job, s)),
            }
        }
        if start.is_empty() {
            return ready;
        }
        let sessions: Vec<Session> = start.iter().map(|(_, s)| s.clone()).collect();
        tracing::info!(router, sessions = sessions.len(), "draining before removal");
        match self.push(Op::Add, &sessions).await {
            Ok(_) => {
                let until = now_ms() + self.cfg.drain_secs * 1000;
                let detail = format!(
                    "deletion requested: routes tagged GRACEFUL_SHUTDOWN (65535:0) until {}, then the neighbor is removed",
                    rfc3339(until)
                );
                let mut waiting = Vec::new();
                for (job, s) in start {
                    let change = HoldChange {
                        actor: ACTOR.into(),
                        action: "drain".into(),
                        detail: Some(format!("draining until {}", rfc3339(until))),
                        expect: vec![SessionStatus::Deleting],
                        expect_drain: Some(s.drain.clone()),
                        drain: Some(Some(Drain {
                            until_ms: Some(until),
                        })),
                        status_detail: Some(Some(detail.clone())),
                        ..Default::default()
                    };
                    match self.store.set_hold(&s.session_id, &change) {
                        Ok(_) => waiting.push(job),
                        Err(e) => {
                            // changed meanwhile: look again at once
                            tracing::info!(session = %s.session_id, error = %e, "drain not recorded");
                            self.defer(&job, now_ms());
                        }
                    }
                }
                if let Err(e) = self.store.durable().await {
                    tracing::error!(error = %e, "flushing the store failed");
                }
                for job in waiting {
                    self.defer(&job, until);
                }
            }
            // a drain that cannot be rendered or applied does not hold up
            // the removal
            Err(PushError::Permanent(e)) => {
                tracing::warn!(router, error = %e, "drain failed: removing at once");
                ready.extend(start);
            }
            Err(e) => self.handle_failure(router, &start, e, None),
        }
        ready
    }

    /// `Refresh`: re-pushes each configured session in its current form;
    /// a maintenance drain waits its time, then the session is shut down.
    pub(super) async fn run_refresh(&self, router: &str, jobs: Vec<Job>) {
        let now = now_ms();
        let drains = self.drains(router);
        let mut work: Vec<(Job, Session, bool)> = Vec::new();
        for job in jobs {
            let s = match self.store.get_session(&job.session_id) {
                Ok(Some(s)) if s.pushed && s.status.is_configured() => s,
                // not on the router (yet): its push renders the right form
                Ok(_) => {
                    self.complete(&job);
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading session failed");
                    self.defer(&job, now + self.cfg.backoff(1));
                    continue;
                }
            };
            let drain = s
                .maintenance
                .as_ref()
                .filter(|m| !m.shutdown)
                .and_then(|m| m.drain.clone());
            match drain {
                Some(Drain { until_ms: None }) if drains => work.push((job, s, true)),
                Some(Drain { until_ms: Some(t) }) if drains && now < t => self.defer(&job, t),
                // drained (or no drain here): shut down
                Some(_) => match self.shut_down(&s) {
                    Ok(s) => work.push((job, s, false)),
                    Err(e) => {
                        tracing::info!(session = %s.session_id, error = %e, "shutdown not recorded");
                        self.complete(&job);
                    }
                },
                None => work.push((job, s, false)),
            }
        }
        if work.is_empty() {
            return;
        }
        let sessions: Vec<Session> = work.iter().map(|(_, s, _)| s.clone()).collect();
        tracing::info!(router, sessions = sessions.len(), "refreshing neighbors");
        match self.push(Op::Add, &sessions).await {
            Ok(_) => {
                let until = now_ms() + self.cfg.drain_secs * 1000;
                let mut waiting = Vec::new();
                for (job, s, drain) in work {
                    if !drain {
                        self.complete(&job);
                        continue;
                    }
                    let mut hold = s.maintenance.clone();
                    if let Some(h) = hold.as_mut() {
                        h.drain = Some(Drain {
                            until_ms: Some(until),
                        });
                    }
                    let change = HoldChange {
                        actor: ACTOR.into(),
                        action: "drain".into(),
                        detail: Some(format!(
                            "maintenance: draining until {}, then shut down",
                            rfc3339(until)
                        )),
                        expect_maintenance: Some(s.maintenance.clone()),
                        maintenance: Some(hold),
                        ..Default::default()
                    };
                    match self.store.set_hold(&s.session_id, &change) {
                        Ok(_) => waiting.push(job),
                        Err(e) => {
                            tracing::info!(session = %s.session_id, error = %e, "drain not recorded");
                            self.complete(&job);
                        }
                    }
                }
                if let Err(e) = self.store.durable().await {
                    tracing::error!(error = %e, "flushing the store failed");
                }
                for job in waiting {
                    self.defer(&job, until);
                }
            }
            Err(e) => {
                let work: Vec<(Job, Session)> = work.into_iter().map(|(j, s, _)| (j, s)).collect();
                self.handle_failure(router, &work, e, None)
            }
        }
    }

    /// Records that a held session is to be shut down now (its drain is over).
    fn shut_down(&self, s: &Session) -> crate::store::Result<Session> {
        let mut hold = s.maintenance.clone();
        if let Some(h) = hold.as_mut() {
            h.drain = None;
            h.shutdown = true;
        }
        let change = HoldChange {
            actor: ACTOR.into(),
            action: "shutdown".into(),
            detail: Some("maintenance: neighbor shut down".into()),
            expect_maintenance: Some(s.maintenance.clone()),
            maintenance: Some(hold),
            ..Default::default()
        };
        self.store.set_hold(&s.session_id, &change)
    }
}

//! One router's batch: the claimed jobs of one router, split by kind, each
//! kind pushed as one coalesced apply, with the resulting status changes.

use super::Worker;
use crate::driver::{is_resource_exhaustion, PushError};
use crate::model::{now_ms, Job, JobKind, Session, SessionStatus};
use crate::platform::Op;
use crate::store::TransitionOpts;
use std::sync::atomic::Ordering;
use std::time::Duration;

const ACTOR: &str = "worker";

fn opts(
    expect: &[SessionStatus],
    detail: Option<Option<String>>,
    action: Option<&str>,
) -> TransitionOpts {
    TransitionOpts {
        detail,
        actor: ACTOR.into(),
        action: action.map(str::to_string),
        expect: expect.to_vec(),
    }
}

pub(super) fn token(job: &Job) -> u64 {
    job.lease.as_ref().map(|l| l.token).unwrap_or_default()
}

impl Worker {
    /// Runs every claimed job of `router`: removals first, then additions.
    pub(super) async fn run_router_batch(&self, router: &str, jobs: Vec<Job>) {
        let renewer = self.spawn_renewer(&jobs);
        let (mut adds, mut removes, mut expires, mut refreshes) = (vec![], vec![], vec![], vec![]);
        for j in jobs {
            match j.kind {
                JobKind::Provision => adds.push(j),
                JobKind::Deprovision => removes.push(j),
                JobKind::Expire => expires.push(j),
                JobKind::Refresh => refreshes.push(j),
            }
        }
        if !removes.is_empty() {
            self.run_removal(router, removes, JobKind::Deprovision)
                .await;
        }
        if !expires.is_empty() {
            self.run_removal(router, expires, JobKind::Expire).await;
        }
        if !adds.is_empty() {
            self.run_add(router, adds).await;
        }
        if !refreshes.is_empty() {
            self.run_refresh(router, refreshes).await;
        }
        renewer.abort();
        if let Err(e) = self.store.durable().await {
            tracing::error!(error = %e, "flushing the store failed");
        }
    }

    /// Keeps the leases of a long push alive.
    fn spawn_renewer(&self, jobs: &[Job]) -> tokio::task::JoinHandle<()> {
        let leases: Vec<(u64, u64)> = jobs.iter().map(|j| (j.job_id, token(j))).collect();
        let store = self.store.clone();
        let lease_ms = self.cfg.lease_ms;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((lease_ms / 3).max(100))).await;
                for (id, tok) in &leases {
                    // a job already completed is simply gone: ignore
                    let _ = store.renew(*id, *tok, now_ms(), lease_ms);
                }
            }
        })
    }

    pub(super) fn complete(&self, job: &Job) {
        if let Err(e) = self.store.complete(job.job_id, token(job)) {
            tracing::warn!(job = job.job_id, error = %e, "completing job failed");
        }
    }

    /// Provision: sessions move to `Provisioning`, one push, then `Configured`.
    async fn run_add(&self, router: &str, jobs: Vec<Job>) {
        let mut work: Vec<(Job, Session)> = Vec::new();
        for job in jobs {
            match self.store.get_session(&job.session_id) {
                Ok(Some(s)) if s.status == SessionStatus::Approved => {
                    let detail = Some(Some(format!("pushing to router {router}")));
                    match self.store.transition(
                        &s.session_id,
                        SessionStatus::Provisioning,
                        opts(&[SessionStatus::Approved], detail, None),
                    ) {
                        Ok(s) => work.push((job, s)),
                        // changed under us (deleted, rejected): drop the job
                        Err(e) => {
                            tracing::info!(session = %s.session_id, error = %e, "session changed before push");
                            self.complete(&job);
                        }
                    }
                }
                // resumed after a crash or a retry
                Ok(Some(s)) if s.status == SessionStatus::Provisioning => work.push((job, s)),
                // configured already (crash after the status change), or no
                // longer wanted: nothing to push
                Ok(_) => self.complete(&job),
                Err(e) => {
                    tracing::error!(error = %e, "reading session failed");
                    let _ = self.store.fail(
                        job.job_id,
                        token(&job),
                        now_ms() + self.cfg.backoff(1),
                        &e.to_string(),
                    );
                }
            }
        }
        if work.is_empty() {
            return;
        }
        let (work, filters) = self.prefix_filters(router, work).await;
        if work.is_empty() {
            return;
        }
        let Some(work) = self.claim_addresses(router, work).await else {
            return;
        };
        let sessions: Vec<Session> = work.iter().map(|(_, s)| s.clone()).collect();
        tracing::info!(router, sessions = sessions.len(), "applying neighbors");
        match self.push_filtered(Op::Add, &sessions, &filters).await {
            Ok(out) => {
                self.metrics
                    .router_ms_total
                    .fetch_add(out.router_ms, Ordering::Relaxed);
                for (job, s) in &work {
                    match self.store.transition(
                        &s.session_id,
                        SessionStatus::Configured,
                        opts(
                            &[SessionStatus::Provisioning],
                            Some(None),
                            Some("configured"),
                        ),
                    ) {
                        Ok(_) => {
                            self.metrics
                                .sessions_configured
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            tracing::info!(session = %s.session_id, error = %e, "not marked Configured")
                        }
                    }
                    self.complete(job);
                }
            }
            Err(e) => self.handle_failure(router, &work, e, Some(SessionStatus::Failed)),
        }
    }

    /// Before the first push of a session, reads the router: a neighbor
    /// already at its address was not made by peerd (a live session of
    /// peerd owns an address alone), so that session goes `Failed` and the
    /// router is not touched. The rest are marked `pushed`, durably, before
    /// the push may change the router. `None` when nothing is left to push
    /// (or the read failed and the jobs were rescheduled).
    async fn claim_addresses(
        &self,
        router: &str,
        work: Vec<(Job, Session)>,
    ) -> Option<Vec<(Job, Session)>> {
        let first: Vec<Session> = work
            .iter()
            .filter(|(_, s)| !s.pushed)
            .map(|(_, s)| s.clone())
            .collect();
        if first.is_empty() {
            return Some(work);
        }
        let present = match self.running_neighbors(router, &first).await {
            Ok(observed) => observed
                .into_iter()
                .map(|o| o.address)
                .collect::<std::collections::HashSet<_>>(),
            Err(e) => {
                self.handle_failure(router, &work, e, Some(SessionStatus::Failed));
                return None;
            }
        };
        let mut keep = Vec::with_capacity(work.len());
        for (job, s) in work {
            if s.pushed || !present.contains(&s.local_ip) {
                keep.push((job, s));
                continue;
            }
            let detail = format!(
                "neighbor {} already exists on router {router} and was not configured by peerd",
                s.local_ip
            );
            tracing::warn!(session = %s.session_id, router, neighbor = %s.local_ip, "address taken on the router: not pushed");
            if let Err(e) = self.store.transition(
                &s.session_id,
                SessionStatus::Failed,
                opts(
                    &[SessionStatus::Provisioning],
                    Some(Some(detail)),
                    Some("foreign-neighbor"),
                ),
            ) {
                tracing::warn!(session = %s.session_id, error = %e, "could not mark failed");
            }
            self.complete(&job);
        }
        let ids: Vec<String> = keep
            .iter()
            .filter(|(_, s)| !s.pushed)
            .map(|(_, s)| s.session_id.clone())
            .collect();
        if ids.is_empty() {
            return (!keep.is_empty()).then_some(keep);
        }
        let marked = match self.store.mark_pushed(&ids) {
            Ok(marked) => self.store.durable().await.map(|()| marked),
            Err(e) => Err(e),
        };
        let marked = match marked {
            Ok(m) => m,
            Err(e) => {
                let err = PushError::Transient(format!("recording the push: {e}"));
                self.handle_failure(router, &keep, err, Some(SessionStatus::Failed));
                return None;
            }
        };
        // A session deleted during the read (it never reached the router,
        // so it was removed at once) is not pushed.
        let mut pushed = Vec::with_capacity(keep.len());
        for (job, s) in keep {
            if s.pushed || marked.contains(&s.session_id) {
                pushed.push((job, s));
            } else {
                tracing::info!(session = %s.session_id, "session changed during the read: not pushed");
                self.complete(&job);
            }
        }
        (!pushed.is_empty()).then_some(pushed)
    }

    /// Deprovision (then the session is removed) or Expire (then it is
    /// `Unestablished`): one push that removes every neighbor of the batch.
    async fn run_removal(&self, router: &str, jobs: Vec<Job>, kind: JobKind) {
        let wanted: &[SessionStatus] = match kind {
            JobKind::Deprovision => &[SessionStatus::Deleting],
            _ => &[SessionStatus::Configured, SessionStatus::Down],
        };
        let mut work: Vec<(Job, Session)> = Vec::new();
        for job in jobs {
            match self.store.get_session(&job.session_id) {
                // never reached the router: nothing to take off it
                Ok(Some(s))
                    if kind == JobKind::Deprovision
                        && s.status == SessionStatus::Deleting
                        && !s.pushed =>
                {
                    self.remove_unpushed(&s);
                    self.complete(&job);
                }
                Ok(Some(s)) if wanted.contains(&s.status) => work.push((job, s)),
                Ok(_) => self.complete(&job),
                Err(e) => {
                    let _ = self.store.fail(
                        job.job_id,
                        token(&job),
                        now_ms() + self.cfg.backoff(1),
                        &e.to_string(),
                    );
                }
            }
        }
        if kind == JobKind::Deprovision {
            work = self.drain_first(router, work).await;
        }
        if work.is_empty() {
            return;
        }
        let sessions: Vec<Session> = work.iter().map(|(_, s)| s.clone()).collect();
        match self.push(Op::Remove, &sessions).await {
            Ok(out) => {
                self.metrics
                    .router_ms_total
                    .fetch_add(out.router_ms, Ordering::Relaxed);
                for (job, s) in &work {
                    let r = match kind {
                        JobKind::Deprovision => self.store.remove_session(&s.session_id, ACTOR),
                        _ => self
                            .store
                            .transition(
                                &s.session_id,
                                SessionStatus::Unestablished,
                                opts(
                                    wanted,
                                    Some(Some(
                                        "not established within the time window; config removed"
                                            .into(),
                                    )),
                                    Some("expired"),
                                ),
                            )
                            .map(|_| ()),
                    };
                    if let Err(e) = r {
                        tracing::info!(session = %s.session_id, error = %e, "removal not recorded");
                    }
                    self.complete(job);
                }
            }
            // a removal is never given up: it retries at the longest backoff
            Err(e) => self.handle_failure(router, &work, e, None),
        }
    }

    /// Removes a `Deleting` session that never reached its router, without
    /// contacting it.
    fn remove_unpushed(&self, s: &Session) {
        let opts = crate::store::RemoveOpts {
            actor: ACTOR.into(),
            action: None,
            detail: Some(format!(
                "never pushed to router {}: removed without contacting it",
                s.router
            )),
            expect: vec![SessionStatus::Deleting],
            unpushed: true,
        };
        if let Err(e) = self.store.remove_session_if(&s.session_id, opts) {
            tracing::info!(session = %s.session_id, error = %e, "removal not recorded");
        }
    }

    /// Records a failed push: retry with backoff and say so in
    /// `status_detail`, or (after the budget, or for a permanent error)
    /// move to `exhausted` with the router's message. Running out of file
    /// descriptors (here or on the router) is never permanent and never
    /// spends the budget: it retries at the longest backoff.
    pub(super) fn handle_failure(
        &self,
        router: &str,
        work: &[(Job, Session)],
        err: PushError,
        exhausted: Option<SessionStatus>,
    ) {
        // out of file descriptors (here or on the router) passes by itself
        let err = err.classified();
        let msg = err.to_string();
        tracing::warn!(router, error = %msg, "push failed");
        let permanent = matches!(err, PushError::Permanent(_));
        // never given up for: it is no fault of the session or the router's config
        let no_fds = is_resource_exhaustion(&msg);
        for (job, s) in work {
            let attempt = job.attempts + 1;
            let spent = attempt >= self.cfg.max_attempts;
            let give_up = permanent || (spent && !no_fds);
            if let (true, Some(to)) = (give_up, exhausted) {
                // the driver's message usually names the router already
                let detail = if msg.starts_with(&format!("router {router}:")) {
                    format!("{msg} (after {attempt} attempt(s))")
                } else {
                    format!("router {router}: {msg} (after {attempt} attempt(s))")
                };
                if let Err(e) = self.store.transition(
                    &s.session_id,
                    to,
                    opts(&[s.status], Some(Some(detail)), Some("push-failed")),
                ) {
                    tracing::warn!(session = %s.session_id, error = %e, "could not mark failed");
                }
                self.complete(job);
                continue;
            }
            let delay = if give_up || spent {
                self.cfg.backoff_max_ms
            } else {
                self.cfg.backoff(attempt)
            };
            let detail = format!(
                "attempt {attempt} on router {router} failed: {msg}; retrying in {}s",
                delay.div_ceil(1000)
            );
            if let Err(e) = self
                .store
                .fail(job.job_id, token(job), now_ms() + delay, &msg)
            {
                tracing::warn!(job = job.job_id, error = %e, "could not reschedule job");
            }
            if let Err(e) = self.store.set_detail(&s.session_id, Some(detail), ACTOR) {
                tracing::warn!(session = %s.session_id, error = %e, "could not record detail");
            }
        }
    }
}

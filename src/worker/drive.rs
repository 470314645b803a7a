//! The worker's trips to a router: it renders the batch or the reads for
//! the router's platform and hands what it rendered to the driver. A render
//! failure is permanent (`render: ...`): retrying the same data cannot help.
//!
//! Every push is counted and logged here, once: the `peerd::push` log line
//! (router, operation, sessions, outcome, ms) and the push metrics.

use super::Worker;
use crate::driver::{NeighborState, PushError, PushOutcome, RouterReads};
use crate::metrics::PushResult;
use crate::model::Session;
use crate::platform::ReadPlan;
use crate::platform::{ObservedNeighbor, Op};
use crate::render::{Filters, RenderError, Renderer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// What one poll read from a router.
#[derive(Debug)]
pub(super) struct PollRead {
    /// The neighbors in the running config, or why they could not be read.
    pub running: Result<Vec<ObservedNeighbor>, PushError>,
    /// BGP state by neighbor address; `None` when the platform has none.
    pub state: Option<Result<HashMap<IpAddr, NeighborState>, PushError>>,
}

/// The reads of one router, rendered (CPU work: a poll renders every live
/// session of the router, so the poller does it off the async threads).
#[derive(Debug)]
pub(super) struct ReadsPlan {
    router: String,
    verify: Result<ReadPlan, PushError>,
    state_plan: Option<Result<ReadPlan, PushError>>,
    secrets: Vec<String>,
}

/// Renders the verify read of `sessions` (and the BGP state read when
/// `state`) for `router`.
pub(super) fn plan_reads(
    render: &Renderer,
    router: &str,
    sessions: &[Session],
    state: bool,
) -> ReadsPlan {
    ReadsPlan {
        router: router.to_string(),
        verify: render.verify(sessions).map_err(render_err),
        state_plan: if state {
            render.state(router).map_err(render_err).transpose()
        } else {
            None
        },
        secrets: session_secrets(sessions),
    }
}

fn render_err(e: RenderError) -> PushError {
    PushError::Permanent(format!("render: {e}"))
}

/// The session secrets of `sessions` (a read's answer may show them).
fn session_secrets(sessions: &[Session]) -> Vec<String> {
    sessions
        .iter()
        .filter_map(|s| s.session_secret.as_ref())
        .map(|s| s.expose().to_string())
        .collect()
}

impl Worker {
    /// Renders `op` for every session (all on one router) as one batch and
    /// has the driver apply and verify it; counts and logs the push.
    pub(super) async fn push(
        &self,
        op: Op,
        sessions: &[Session],
    ) -> Result<PushOutcome, PushError> {
        self.push_filtered(op, sessions, &Filters::new()).await
    }

    /// [`Self::push`] with the sessions' IRR prefix lists.
    pub(super) async fn push_filtered(
        &self,
        op: Op,
        sessions: &[Session],
        filters: &Filters,
    ) -> Result<PushOutcome, PushError> {
        let started = Instant::now();
        let result = match self
            .render
            .batch_filtered(op, sessions, filters)
            .map_err(render_err)
        {
            Ok(push) => self.driver.push(push).await,
            Err(e) => Err(e),
        };
        let took = started.elapsed();
        let router = sessions.first().map_or("", |s| s.router.as_str());
        let op_name = match op {
            Op::Add => "add",
            Op::Remove => "remove",
        };
        let outcome = match &result {
            Ok(_) => PushResult::Success,
            Err(e) => match e.clone().classified() {
                PushError::Permanent(_) => PushResult::Permanent,
                PushError::Transient(_) => PushResult::Transient,
            },
        };
        // the driver redacted the sessions' secrets from its message
        let error = result.as_ref().err().map(|e| e.to_string());
        self.metrics.record_push_result(
            router,
            op_name,
            outcome,
            sessions.len(),
            took,
            error.as_deref(),
        );
        let ids: Vec<&str> = sessions
            .iter()
            .take(20)
            .map(|s| s.session_id.as_str())
            .collect();
        let ms = took.as_millis() as u64;
        match &result {
            Ok(_) => tracing::info!(
                target: "peerd::push",
                router,
                op = op_name,
                sessions = sessions.len(),
                session_ids = %ids.join(","),
                outcome = outcome.as_str(),
                ms,
                "push"
            ),
            // the driver redacted the sessions' secrets from its message
            Err(e) => tracing::warn!(
                target: "peerd::push",
                router,
                op = op_name,
                sessions = sessions.len(),
                session_ids = %ids.join(","),
                outcome = outcome.as_str(),
                ms,
                error = %e,
                "push"
            ),
        }
        result
    }

    /// The neighbors of `router`'s running config, read through the verify
    /// read as a push of `sessions` would render it (peerd's or not; at
    /// least every one at these sessions' addresses, with their peer AS
    /// where the platform shows it). Read before a session's first push, so
    /// that peerd never changes a neighbor it did not create. Changes
    /// nothing.
    pub(super) async fn running_neighbors(
        &self,
        router: &str,
        sessions: &[Session],
    ) -> Result<Vec<ObservedNeighbor>, PushError> {
        self.read(router, sessions, false).await.running
    }

    /// One poll of `router`: its running config's neighbors as
    /// [`Self::running_neighbors`] reads them for `sessions` (for drift),
    /// and BGP state where the platform reports it, over one connection.
    /// Each part fails on its own.
    pub(super) async fn poll_read(&self, router: &str, sessions: &[Session]) -> PollRead {
        let state = self.render.reads_state(router);
        self.read(router, sessions, state).await
    }

    async fn read(&self, router: &str, sessions: &[Session], state: bool) -> PollRead {
        let plan = plan_reads(&self.render, router, sessions, state);
        self.read_planned(plan).await
    }

    /// Makes the reads of `plan` (rendered by [`plan_reads`]) on its router.
    pub(super) async fn read_planned(&self, plan: ReadsPlan) -> PollRead {
        let ReadsPlan {
            router,
            verify,
            state_plan,
            secrets,
        } = plan;
        let reads = RouterReads {
            router: router.clone(),
            running: verify.as_ref().ok().cloned(),
            state: state_plan.as_ref().and_then(|p| p.as_ref().ok()).cloned(),
            secrets,
        };
        let read = self.driver.read(reads).await;
        let unanswered = || PushError::Transient(format!("router {router}: no answer"));
        let running = verify.and_then(|_| read.running.unwrap_or_else(|| Err(unanswered())));
        let state =
            state_plan.map(|p| p.and_then(|_| read.state.unwrap_or_else(|| Err(unanswered()))));
        PollRead { running, state }
    }
}

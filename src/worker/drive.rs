//! The worker's trips to a router: it renders the batch or the reads for
//! the router's platform and hands what it rendered to the driver. A render
//! failure is permanent (`render: ...`): retrying the same data cannot help.

use super::Worker;
use crate::driver::{NeighborState, PushError, PushOutcome, RouterReads};
use crate::model::Session;
use crate::platform::{ObservedNeighbor, Op};
use crate::render::RenderError;
use std::collections::HashMap;
use std::net::IpAddr;

/// What one poll read from a router.
#[derive(Debug)]
pub(super) struct PollRead {
    /// The neighbors in the running config, or why they could not be read.
    pub running: Result<Vec<ObservedNeighbor>, PushError>,
    /// BGP state by neighbor address; `None` when the platform has none.
    pub state: Option<Result<HashMap<IpAddr, NeighborState>, PushError>>,
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
    /// has the driver apply and verify it.
    pub(super) async fn push(
        &self,
        op: Op,
        sessions: &[Session],
    ) -> Result<PushOutcome, PushError> {
        let push = self.render.batch(op, sessions).map_err(render_err)?;
        self.driver.push(push).await
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
        let verify = self.render.verify(sessions).map_err(render_err);
        let state_plan = if state {
            self.render.state(router).map_err(render_err).transpose()
        } else {
            None
        };
        let reads = RouterReads {
            router: router.to_string(),
            running: verify.as_ref().ok().cloned(),
            state: state_plan.as_ref().and_then(|p| p.as_ref().ok()).cloned(),
            secrets: session_secrets(sessions),
        };
        let read = self.driver.read(reads).await;
        let unanswered = || PushError::Transient(format!("router {router}: no answer"));
        let running = verify.and_then(|_| read.running.unwrap_or_else(|| Err(unanswered())));
        let state =
            state_plan.map(|p| p.and_then(|_| read.state.unwrap_or_else(|| Err(unanswered()))));
        PollRead { running, state }
    }
}

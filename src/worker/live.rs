//! Reads on demand for the operator console: what a router reports now
//! about one session (its neighbor in the running config and, where the
//! platform reports it, the BGP state), through the same render and
//! driver as the poller, over one connection, bounded in time. Changes
//! nothing on the router and nothing in the store.

use super::Worker;
use crate::driver::NeighborState;
use crate::model::Session;
use crate::platform::ObservedNeighbor;
use crate::render::Renderer;
use std::time::{Duration, Instant};

/// What the router said about one session.
#[derive(Debug)]
pub struct LiveRead {
    /// The neighbor at the session's address in the running config
    /// (`Ok(None)`: there is none), or why it could not be read.
    pub neighbor: Result<Option<ObservedNeighbor>, String>,
    /// The BGP state of that neighbor; `None` when the platform reports
    /// no state (or the read of the config already failed).
    pub state: Option<Result<NeighborState, String>>,
    /// How long the read took.
    pub ms: u64,
}

impl Worker {
    /// The renderer the worker pushes with (templates, profiles,
    /// inventory): the console shows a session's config with it.
    pub fn renderer(&self) -> &Renderer {
        &self.render
    }

    /// Reads `session`'s router now (running config and BGP state), giving
    /// up after `timeout`.
    pub async fn read_now(&self, session: &Session, timeout: Duration) -> LiveRead {
        let started = Instant::now();
        let read = tokio::time::timeout(
            timeout,
            self.poll_read(&session.router, std::slice::from_ref(session)),
        )
        .await;
        let ms = started.elapsed().as_millis() as u64;
        let Ok(read) = read else {
            return LiveRead {
                neighbor: Err(format!(
                    "router {} did not answer within {} s",
                    session.router,
                    timeout.as_secs()
                )),
                state: None,
                ms,
            };
        };
        let neighbor = read
            .running
            .map(|all| all.into_iter().find(|n| n.address == session.local_ip))
            .map_err(|e| e.to_string());
        let state = read.state.map(|r| {
            r.map(|m| {
                m.get(&session.local_ip)
                    .copied()
                    .unwrap_or(NeighborState::Absent)
            })
            .map_err(|e| e.to_string())
        });
        LiveRead {
            neighbor,
            state,
            ms,
        }
    }
}

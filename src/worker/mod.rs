//! The provisioning worker: claims jobs from the store's queue, coalesces the
//! ready jobs of one router into one push, runs one push at a time per router
//! (routers never wait on each other), and moves sessions along the status
//! table: `Approved -> Provisioning -> Configured`, retries transient errors
//! with backoff (shown in `status_detail`), marks `Failed` after the retry
//! budget, removes neighbors of `Deleting` sessions and then the sessions.
//!
//! Crash safety: the push is idempotent and a job is completed only after
//! the session's new status is stored, so a worker killed at any point
//! re-runs the job after a restart and ends in the same state, with each
//! session reaching `Configured` exactly once (a job whose session is
//! already configured is just completed).

mod batch;
#[cfg(test)]
mod lifecycle_tests;
pub mod poller;
#[cfg(test)]
mod tests;

use crate::config::WorkerSettings;
use crate::metrics::Metrics;
use crate::model::{now_ms, Job, Session};
use crate::store::Store;
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// What a push does on the router (put neighbors on, or take them off).
pub use crate::driver::Op;

/// A push failure, classified for the retry decision.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PushError {
    /// Worth retrying (connection refused, timeout, lock held, ...).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help (the router refused the config, bad profile).
    #[error("{0}")]
    Permanent(String),
}

impl PushError {
    /// The error with a permanent-looking failure that is really the lack
    /// of file descriptors (ours or the router's: `EMFILE`/`ENFILE`, "Too
    /// many open files") made transient: it passes by itself, so it must
    /// never mark a session `Failed`.
    pub fn classified(self) -> PushError {
        match self {
            PushError::Permanent(m) if is_resource_exhaustion(&m) => PushError::Transient(m),
            other => other,
        }
    }
}

/// True when `msg` says a process ran out of file descriptors: the
/// `strerror` texts of `EMFILE`/`ENFILE` ("Too many open files", "... in
/// system"), Rust's `(os error 24)`/`(os error 23)`, or the errno names.
pub fn is_resource_exhaustion(msg: &str) -> bool {
    let lower = msg.to_ascii_lowercase();
    lower.contains("too many open files")
        || lower.contains("file table overflow")
        || lower.contains("os error 24)")
        || lower.contains("os error 23)")
        || msg
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "EMFILE" || w == "ENFILE")
}

/// What a successful push reports back.
#[derive(Clone, Debug, Default)]
pub struct PushOutcome {
    /// Time spent talking to the router (connect, apply, verify).
    pub router_ms: u64,
}

/// BGP state of one neighbor as the router reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighborState {
    Established,
    /// Configured but not established (Idle, Connect, Active, ...).
    NotEstablished,
    /// The router has no such neighbor.
    Absent,
}

/// The worker's view of a router: one batched, verified push, and a state
/// read. Implemented by `driver` (a platform profile bound to a transport).
pub trait RouterDriver: Send + Sync + 'static {
    /// Applies `op` for every session (all on `router`) in one render and
    /// one apply, then checks the running config (neighbor present with the
    /// right peer AS for `Add`, absent for `Remove`). Must be idempotent.
    fn push(
        &self,
        router: &str,
        op: Op,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<PushOutcome, PushError>>;

    /// False when the router's platform cannot report BGP state (the poller
    /// then leaves its sessions `Configured`).
    fn reads_state(&self, _router: &str) -> bool {
        true
    }

    /// Reads the router's running configuration through the profile's
    /// verify read-back, as rendered for `sessions`: the BGP neighbors
    /// configured there (peerd's or not; at least every one at these
    /// sessions' addresses), with their peer AS where the platform shows it.
    /// The worker calls it before a session's first push, so that peerd
    /// never changes a neighbor it did not create. Changes nothing.
    fn running_neighbors(
        &self,
        router: &str,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<crate::driver::ObservedNeighbor>, PushError>>;

    /// Reads the BGP state of the given sessions' neighbors, keyed by the
    /// neighbor address (the requester's `local_ip`).
    fn bgp_state(
        &self,
        router: &str,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<HashMap<IpAddr, NeighborState>, PushError>>;

    /// One poll of `router`: its running config's neighbors as
    /// [`Self::running_neighbors`] reads them for `sessions` (for drift),
    /// and BGP state when [`Self::reads_state`]. Each part fails on its
    /// own. The live driver makes both reads over one connection.
    fn poll(&self, router: &str, sessions: Vec<Session>) -> BoxFuture<'static, PollRead> {
        let running = self.running_neighbors(router, sessions.clone());
        let state = self
            .reads_state(router)
            .then(|| self.bgp_state(router, sessions));
        Box::pin(async move {
            let running = running.await;
            let state = match state {
                Some(f) => Some(f.await),
                None => None,
            };
            PollRead { running, state }
        })
    }
}

/// What one poll read from a router.
#[derive(Debug)]
pub struct PollRead {
    /// The neighbors in the running config, or why they could not be read.
    pub running: Result<Vec<crate::driver::ObservedNeighbor>, PushError>,
    /// BGP state by neighbor address; `None` when the platform has none.
    pub state: Option<Result<HashMap<IpAddr, NeighborState>, PushError>>,
}

/// The worker. Cheap to clone; `run` drives it until shutdown.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    driver: Arc<dyn RouterDriver>,
    cfg: WorkerSettings,
    owner: String,
    busy: Arc<Mutex<HashSet<String>>>,
    wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Drift seen on the last poll, by session id (acted on when the next
    /// poll sees it again).
    drift: Arc<Mutex<HashMap<String, poller::Suspect>>>,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, driver: Arc<dyn RouterDriver>, cfg: WorkerSettings) -> Self {
        Worker {
            store,
            driver,
            cfg,
            owner: format!("worker-{}-{}", std::process::id(), now_ms()),
            busy: Arc::default(),
            wake: Arc::default(),
            metrics: Arc::default(),
            drift: Arc::default(),
        }
    }

    /// Shares the API's wake-up signal and counters with this worker.
    pub fn with_signals(mut self, wake: Arc<Notify>, metrics: Arc<Metrics>) -> Self {
        self.wake = wake;
        self.metrics = metrics;
        self
    }

    /// A handle the API uses to wake the worker right after it queued work.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` turns true. In-flight pushes finish on their
    /// own tasks; their jobs stay leased and are reclaimed on the next start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // sled allows one process per store, so every lease present at start
        // belongs to a dead process: make those jobs claimable now.
        match self.store.reclaim_expired(u64::MAX) {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "reclaimed jobs leased by a previous run"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reclaiming leases failed"),
        }
        let tick = Duration::from_millis(self.cfg.tick_ms.max(10));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = self.wake.notified() => {
                    // let a burst of approvals land before claiming
                    tokio::time::sleep(tick).await;
                }
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() { break; }
                }
            }
            if let Err(e) = self.tick_once() {
                tracing::error!(error = %e, "worker tick failed");
            }
        }
    }

    /// One look at the queue: reclaim expired leases, claim ready jobs for
    /// idle routers, and start one push task per router.
    pub fn tick_once(&self) -> crate::store::Result<usize> {
        let now = now_ms();
        self.store.reclaim_expired(now)?;
        let busy: Vec<String> = self
            .busy
            .lock()
            .expect("busy lock")
            .iter()
            .cloned()
            .collect();
        let jobs = self.store.claim(
            now,
            self.cfg.lease_ms,
            &self.owner,
            self.cfg.max_batch,
            &busy,
        )?;
        let n = jobs.len();
        let mut by_router: BTreeMap<String, Vec<Job>> = BTreeMap::new();
        for j in jobs {
            by_router.entry(j.router.clone()).or_default().push(j);
        }
        for (router, jobs) in by_router {
            self.busy.lock().expect("busy lock").insert(router.clone());
            let me = self.clone();
            tokio::spawn(async move {
                me.run_router_batch(&router, jobs).await;
                me.busy.lock().expect("busy lock").remove(&router);
                me.wake.notify_one();
            });
        }
        Ok(n)
    }
}

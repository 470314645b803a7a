//! The provisioning worker: claims jobs from the store's queue, coalesces the
//! ready jobs of one router into one push, renders it for the router's
//! platform ([`crate::render`]) and hands the rendered plan to the driver
//! port ([`crate::driver::RouterDriver`]), one push at a time per router
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
mod drift;
mod drive;
mod hold;
mod irr;
mod lane;
#[cfg(test)]
mod lifecycle_tests;
pub mod live;
pub mod poller;
pub use irr::{AsSetLookup, IrrSource};
#[cfg(test)]
mod tests;

use crate::config::WorkerSettings;
use crate::driver::RouterDriver;
use crate::metrics::Metrics;
use crate::model::{now_ms, Job};
use crate::render::Renderer;
use crate::store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The worker. Cheap to clone; `run` drives it until shutdown.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    /// Renders each batch and read for its router's platform.
    render: Renderer,
    /// Runs what was rendered on the router.
    driver: Arc<dyn RouterDriver>,
    cfg: WorkerSettings,
    owner: String,
    busy: Arc<Mutex<HashSet<String>>>,
    wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Drift seen on the last poll, by session id (acted on when the next
    /// poll sees it again).
    drift: Arc<Mutex<HashMap<String, drift::Suspect>>>,
    /// Other processes share the store (PostgreSQL): a lease present at
    /// start may be a live one of another instance.
    shared_store: bool,
    /// How IRR prefix lists are expanded (none: filtered sessions are held).
    irr: Option<Arc<IrrSource>>,
    /// One permit: the poller's CPU work (listing and rendering a router's
    /// live sessions) runs for one router at a time.
    poll_cpu: Arc<tokio::sync::Semaphore>,
    /// The thread that work runs on (see `lane.rs`).
    poll_lane: Arc<lane::Lane>,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        render: Renderer,
        driver: Arc<dyn RouterDriver>,
        cfg: WorkerSettings,
    ) -> Self {
        Worker {
            store,
            render,
            driver,
            cfg,
            // the lease owner of jobs, routers and loops: unique across
            // hosts too (two hosts may share a pid and a millisecond)
            owner: format!(
                "worker-{}-{}-{:08x}",
                std::process::id(),
                now_ms(),
                rand::random::<u32>()
            ),
            busy: Arc::default(),
            wake: Arc::default(),
            metrics: Arc::default(),
            drift: Arc::default(),
            shared_store: false,
            irr: None,
            poll_cpu: Arc::new(tokio::sync::Semaphore::new(1)),
            poll_lane: Arc::new(lane::Lane::new("peerd-poller")),
        }
    }

    /// The store is shared with other instances: at start only expired
    /// leases are reclaimed (with sled, every lease then is a dead run's).
    pub fn with_shared_store(mut self, shared: bool) -> Self {
        self.shared_store = shared;
        self
    }

    /// Shares the API's wake-up signal and counters with this worker.
    pub fn with_signals(mut self, wake: Arc<Notify>, metrics: Arc<Metrics>) -> Self {
        self.wake = wake;
        self.metrics = metrics;
        self
    }

    /// Who this instance is in the store: its job and lease owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// A handle the API uses to wake the worker right after it queued work.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` turns true. In-flight pushes finish on their
    /// own tasks; their jobs stay leased and are reclaimed on the next start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // sled allows one process per store, so every lease present at start
        // belongs to a dead process: make those jobs claimable now. A shared
        // store's live leases may be another instance's: they wait to expire.
        let before = if self.shared_store {
            now_ms()
        } else {
            u64::MAX
        };
        match self.store.reclaim_expired(before) {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "reclaimed jobs leased by a previous run"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reclaiming leases failed"),
        }
        let tick = Duration::from_millis(self.cfg.tick_ms.max(10));
        loop {
            self.metrics.worker_beat();
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

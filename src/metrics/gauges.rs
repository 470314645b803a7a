//! Gauges read at scrape time from outside the process's counters: the
//! sessions by router and status and the job queue (from the store), and
//! the PeeringDB data (from its sync). The API gathers them; this renders.

use super::expo::Expo;
use crate::model::{Job, JobKind, SessionStatus, UnixMillis};
use std::collections::BTreeMap;

/// The PeeringDB data in use and its sync.
#[derive(Clone, Debug, Default)]
pub struct PdbGauges {
    /// When the data in use was taken (`None`: no data).
    pub taken_at_ms: Option<UnixMillis>,
    pub last_success_ms: Option<UnixMillis>,
    /// Failed syncs since start.
    pub failures: u64,
    /// The last attempt failed.
    pub last_failed: bool,
    /// Seconds between scheduled syncs (0 = none).
    pub interval_secs: u64,
}

/// What one scrape read.
#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub now_ms: UnixMillis,
    /// Routers of the inventory: each gets every status, 0 where none.
    pub routers: Vec<String>,
    /// Sessions by (router, status).
    pub sessions: Vec<(String, SessionStatus, u64)>,
    /// Every queued job.
    pub jobs: Vec<Job>,
    /// `None` when the daemon has no PeeringDB sync at all.
    pub pdb: Option<PdbGauges>,
}

fn kind_label(k: JobKind) -> &'static str {
    match k {
        JobKind::Provision => "provision",
        JobKind::Deprovision => "deprovision",
        JobKind::Expire => "expire",
        JobKind::Refresh => "refresh",
    }
}

impl Gauges {
    pub fn render(&self) -> String {
        let mut e = Expo::new();
        self.render_sessions(&mut e);
        self.render_queue(&mut e);
        if let Some(p) = &self.pdb {
            self.render_pdb(&mut e, p);
        }
        e.finish()
    }

    fn render_sessions(&self, e: &mut Expo) {
        let mut by: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for r in &self.routers {
            for st in SessionStatus::ALL {
                by.insert((r, st.as_str()), 0);
            }
        }
        for (r, st, n) in &self.sessions {
            *by.entry((r, st.as_str())).or_default() += n;
        }
        e.family(
            "peerd_sessions",
            "gauge",
            "Sessions in the store, by router and status.",
        );
        for ((router, status), n) in by {
            e.sample(
                "peerd_sessions",
                &[("router", router), ("status", status)],
                n,
            );
        }
    }

    fn render_queue(&self, e: &mut Expo) {
        let mut by: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for k in [JobKind::Provision, JobKind::Deprovision, JobKind::Expire] {
            for s in ["ready", "waiting", "leased"] {
                by.insert((kind_label(k), s), 0);
            }
        }
        for j in &self.jobs {
            let state = match &j.lease {
                Some(l) if l.until_ms > self.now_ms => "leased",
                _ if j.not_before_ms > self.now_ms => "waiting",
                _ => "ready",
            };
            *by.entry((kind_label(j.kind), state)).or_default() += 1;
        }
        e.family(
            "peerd_queue_jobs",
            "gauge",
            "Jobs in the queue, by kind and state (ready: claimable now; waiting: backing off or not due; leased: a push is running).",
        );
        for ((kind, state), n) in by {
            e.sample("peerd_queue_jobs", &[("kind", kind), ("state", state)], n);
        }
        e.single(
            "peerd_queue_depth",
            "gauge",
            "Jobs in the queue.",
            self.jobs.len(),
        );
        let oldest = self.jobs.iter().map(|j| j.created_ms).min();
        let age = oldest.map_or(0.0, |c| self.now_ms.saturating_sub(c) as f64 / 1000.0);
        e.single(
            "peerd_queue_oldest_job_age_seconds",
            "gauge",
            "Age of the oldest job in the queue (0 when empty).",
            format_args!("{age:.3}"),
        );
    }

    fn render_pdb(&self, e: &mut Expo, p: &PdbGauges) {
        e.single(
            "peerd_peeringdb_data_present",
            "gauge",
            "1 when PeeringDB data is in use.",
            u8::from(p.taken_at_ms.is_some()),
        );
        if let Some(t) = p.taken_at_ms {
            e.single(
                "peerd_peeringdb_data_age_seconds",
                "gauge",
                "Age of the PeeringDB data in use.",
                self.now_ms.saturating_sub(t) / 1000,
            );
        }
        if let Some(t) = p.last_success_ms {
            e.single(
                "peerd_peeringdb_last_sync_success_timestamp_seconds",
                "gauge",
                "When the last PeeringDB sync succeeded.",
                t / 1000,
            );
        }
        e.single(
            "peerd_peeringdb_sync_failures_total",
            "counter",
            "PeeringDB syncs that failed since start.",
            p.failures,
        );
        e.single(
            "peerd_peeringdb_last_sync_failed",
            "gauge",
            "1 when the last PeeringDB sync attempt failed.",
            u8::from(p.last_failed),
        );
        e.single(
            "peerd_peeringdb_sync_interval_seconds",
            "gauge",
            "Seconds between scheduled PeeringDB syncs (0 = none).",
            p.interval_secs,
        );
    }
}

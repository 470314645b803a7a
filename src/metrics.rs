//! Counters the worker keeps, served as Prometheus text at
//! `/admin/metrics`. A leaf: the API and the worker share one [`Metrics`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counters the worker keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Applies per router (one per coalesced push).
    applies: Mutex<BTreeMap<String, u64>>,
    pub push_failures: AtomicU64,
    pub sessions_configured: AtomicU64,
    /// Total time spent in router round trips, for the benchmark.
    pub router_ms_total: AtomicU64,
    /// Drift the poller acted on (a neighbor missing, or changed by hand).
    pub drift_detected: AtomicU64,
    /// Missing neighbors the poller re-provisioned.
    pub drift_repairs: AtomicU64,
}

impl Metrics {
    pub fn record_apply(&self, router: &str) {
        *self
            .applies
            .lock()
            .expect("metrics lock")
            .entry(router.to_string())
            .or_default() += 1;
    }

    pub fn applies(&self, router: &str) -> u64 {
        self.applies
            .lock()
            .expect("metrics lock")
            .get(router)
            .copied()
            .unwrap_or(0)
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP peerd_router_applies_total Coalesced pushes applied per router.\n");
        out.push_str("# TYPE peerd_router_applies_total counter\n");
        for (r, n) in self.applies.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "peerd_router_applies_total{{router=\"{r}\"}} {n}\n"
            ));
        }
        for (name, help, v) in [
            (
                "peerd_push_failures_total",
                "Failed push attempts.",
                &self.push_failures,
            ),
            (
                "peerd_sessions_configured_total",
                "Sessions that reached Configured.",
                &self.sessions_configured,
            ),
            (
                "peerd_router_ms_total",
                "Milliseconds spent in router round trips.",
                &self.router_ms_total,
            ),
            (
                "peerd_drift_detected_total",
                "Neighbors found missing or changed by hand on their router.",
                &self.drift_detected,
            ),
            (
                "peerd_drift_repairs_total",
                "Missing neighbors re-provisioned by the poller.",
                &self.drift_repairs,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

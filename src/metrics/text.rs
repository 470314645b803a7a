//! The process's own series as Prometheus text ([`Metrics::render`]):
//! HTTP, routers (pushes and polls), leases, refusals and the worker's
//! counters. The store's and PeeringDB's gauges are in `gauges.rs`.

use super::{lock, Expo, Metrics, PushResult, RouterStats, REFUSAL_REASONS};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

impl Metrics {
    /// The process's own series in Prometheus text (the store's and
    /// PeeringDB's gauges are [`Gauges::render`]).
    pub fn render(&self) -> String {
        let mut e = Expo::new();
        e.family("peerd_build_info", "gauge", "Version of the running peerd.");
        e.sample(
            "peerd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );
        self.render_http(&mut e);
        self.render_routers(&mut e);
        let refused = lock(&self.refused).clone();
        e.family(
            "peerd_auth_refused_total",
            "counter",
            "Requests refused at authentication, by reason.",
        );
        for reason in REFUSAL_REASONS {
            let n = refused.get(reason).copied().unwrap_or(0);
            e.sample("peerd_auth_refused_total", &[("reason", reason)], n);
        }
        for (name, help, v) in [
            (
                "peerd_sessions_configured_total",
                "Sessions the worker moved to Configured.",
                &self.sessions_configured,
            ),
            (
                "peerd_router_ms_total",
                "Milliseconds spent in successful router round trips.",
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
            (
                "peerd_irr_holds_total",
                "Pushes of a session held for want of a good IRR prefix list.",
                &self.irr_holds,
            ),
        ] {
            e.single(name, "counter", help, v.load(Ordering::Relaxed));
        }

        self.render_leases(&mut e);
        if let Some(ms) = self.worker_last_beat() {
            e.single(
                "peerd_worker_heartbeat_timestamp_seconds",
                "gauge",
                "When the worker's loop last went round.",
                ms / 1000,
            );
        }
        e.finish()
    }

    fn render_leases(&self, e: &mut Expo) {
        if !lock(&self.poll_beats).is_empty() {
            e.single(
                "peerd_poller_routers",
                "gauge",
                "Routers this instance polls (holds the poll lease of).",
                self.routers_polled(),
            );
        }
        let leases = self.leases();
        e.family(
            "peerd_lease_held",
            "gauge",
            "Named leases (background work done once across instances): 1 when this instance holds it.",
        );
        for (name, held) in &leases {
            e.sample("peerd_lease_held", &[("lease", name)], u64::from(*held));
        }
    }

    fn render_http(&self, e: &mut Expo) {
        let h = lock(&self.http);
        e.family(
            "peerd_http_requests_total",
            "counter",
            "HTTP requests answered, by route template, method and status.",
        );
        for (route, st) in &h.routes {
            for ((method, status), n) in &st.requests {
                let status = status.to_string();
                e.sample(
                    "peerd_http_requests_total",
                    &[("route", route), ("method", method), ("status", &status)],
                    n,
                );
            }
        }
        e.family(
            "peerd_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request, by route template.",
        );
        for (route, st) in &h.routes {
            e.histogram(
                "peerd_http_request_duration_seconds",
                &[("route", route)],
                &st.latency,
            );
        }
    }

    fn render_routers(&self, e: &mut Expo) {
        let r = lock(&self.routers);
        e.family(
            "peerd_pushes_total",
            "counter",
            "Pushes to a router (one per coalesced batch), by operation and outcome.",
        );
        for (router, st) in r.iter() {
            for ((op, result), n) in &st.pushes {
                e.sample(
                    "peerd_pushes_total",
                    &[("router", router), ("op", op), ("outcome", result.as_str())],
                    n,
                );
            }
        }
        e.family(
            "peerd_push_duration_seconds",
            "histogram",
            "Time a push to a router took, whatever its outcome.",
        );
        for (router, st) in r.iter().filter(|(_, s)| s.push_seconds.count() > 0) {
            e.histogram(
                "peerd_push_duration_seconds",
                &[("router", router)],
                &st.push_seconds,
            );
        }
        per_router(
            e,
            &r,
            "peerd_router_applies_total",
            "counter",
            "Successful pushes per router (failed attempts are in peerd_pushes_total).",
            |st| {
                let ok = st
                    .pushes
                    .iter()
                    .filter(|((_, res), _)| *res == PushResult::Success);
                Some(ok.map(|(_, n)| n).sum())
            },
        );
        e.family(
            "peerd_bgp_neighbors",
            "gauge",
            "BGP state of the polled sessions' neighbors, as the router's last state read saw them.",
        );
        for (router, st) in r.iter() {
            if let Some(b) = st.bgp {
                for (state, n) in [
                    ("established", b.established),
                    ("not_established", b.not_established),
                    ("absent", b.absent),
                ] {
                    e.sample(
                        "peerd_bgp_neighbors",
                        &[("router", router), ("state", state)],
                        n,
                    );
                }
            }
        }
        per_router(
            e,
            &r,
            "peerd_bgp_sessions_down_max_prefix",
            "gauge",
            "Polled sessions the router keeps down because the peer sent more prefixes than the session's limit (max-prefix), as its last state read saw them.",
            |st| st.bgp.map(|b| b.down_max_prefix),
        );
        per_router(
            e,
            &r,
            "peerd_poll_failures_total",
            "counter",
            "Polls of a router that failed (config or state read).",
            |st| st.last_poll.map(|_| st.poll_failures),
        );
        per_router(
            e,
            &r,
            "peerd_poll_last_timestamp_seconds",
            "gauge",
            "When a router's last poll ended.",
            |st| st.last_poll.map(|p| p.at_ms / 1000),
        );
    }
}

/// A family with one sample per router: those `value` answers for.
fn per_router(
    e: &mut Expo,
    routers: &BTreeMap<String, RouterStats>,
    name: &str,
    kind: &str,
    help: &str,
    value: impl Fn(&RouterStats) -> Option<u64>,
) {
    e.family(name, kind, help);
    for (router, st) in routers {
        if let Some(v) = value(st) {
            e.sample(name, &[("router", router)], v);
        }
    }
}

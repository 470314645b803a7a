//! What the daemon observes about itself, served as Prometheus text at
//! `GET /metrics` (and `/admin/metrics`), and read by `GET /readyz`.
//!
//! A leaf: the API, the worker and the poller share one [`Metrics`] and
//! record into it; the API adds the gauges it reads from the store and the
//! PeeringDB sync at scrape time ([`Gauges`]). Labels carry only router
//! names, statuses, route templates, methods, status codes and fixed
//! reason words: never a token, a secret or text a peer sent.

pub mod expo;
mod gauges;
mod text;

#[cfg(test)]
mod tests;

pub use expo::{Expo, Histogram, CONTENT_TYPE};
pub use gauges::{Gauges, PdbGauges};

use crate::model::now_ms;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How a push ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushResult {
    Success,
    /// Failed; will be retried.
    Transient,
    /// Failed; retrying cannot help (the router refused, render failed).
    Permanent,
}

impl PushResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PushResult::Success => "success",
            PushResult::Transient => "transient",
            PushResult::Permanent => "permanent",
        }
    }
}

/// The last push to one router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastPush {
    pub at_ms: u64,
    pub result: PushResult,
    /// `add` or `remove`.
    pub op: &'static str,
    pub sessions: usize,
    pub ms: u64,
}

/// One push as the console lists it: [`LastPush`] and the router's error
/// when it failed (as the driver worded it, the sessions' secrets
/// redacted; at most [`MAX_ERROR_CHARS`] characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRecord {
    pub push: LastPush,
    pub error: Option<String>,
}

/// Pushes kept per router for [`Metrics::recent_pushes`].
pub const RECENT_PUSHES: usize = 20;
/// Longest push error kept.
pub const MAX_ERROR_CHARS: usize = 500;

/// The last poll of one router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastPoll {
    pub at_ms: u64,
    pub ok: bool,
}

/// BGP state of a router's polled sessions, as its last state read saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BgpCounts {
    pub established: u64,
    /// Of `not_established`: those the router keeps down because the
    /// peer sent more prefixes than the limit (max-prefix).
    pub down_max_prefix: u64,
    pub not_established: u64,
    pub absent: u64,
}

#[derive(Debug)]
struct RouterStats {
    pushes: BTreeMap<(&'static str, PushResult), u64>,
    push_seconds: Histogram,
    last_push: Option<LastPush>,
    /// The last [`RECENT_PUSHES`] pushes, oldest first.
    recent: std::collections::VecDeque<PushRecord>,
    /// The last push that failed (kept when it leaves `recent`).
    last_failure: Option<PushRecord>,
    bgp: Option<BgpCounts>,
    last_poll: Option<LastPoll>,
    poll_failures: u64,
}

impl Default for RouterStats {
    fn default() -> Self {
        RouterStats {
            pushes: BTreeMap::new(),
            push_seconds: Histogram::new(expo::PUSH_BUCKETS),
            last_push: None,
            recent: Default::default(),
            last_failure: None,
            bgp: None,
            last_poll: None,
            poll_failures: 0,
        }
    }
}

/// The requests of one route template.
#[derive(Debug)]
struct RouteStats {
    /// By (method, status).
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Http {
    /// By route template (looked up without allocating).
    routes: BTreeMap<String, RouteStats>,
}

/// Most distinct route labels kept (templates are few; this bounds a bug).
const MAX_ROUTES: usize = 200;

/// Reasons a bearer token is refused (the `reason` label).
pub const REFUSAL_REASONS: &[&str] = &[
    "missing",
    "malformed",
    "unknown",
    "expired",
    "revoked",
    "invalid",
    "rate_limited",
    "lookup_budget",
    "unavailable",
    "not_operator",
    "read_only",
];

/// The process's counters, histograms and heartbeats.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Sessions the worker moved to `Configured`.
    pub sessions_configured: AtomicU64,
    /// Total time spent in router round trips (the benchmark reads it).
    pub router_ms_total: AtomicU64,
    /// Drift the poller acted on (a neighbor missing, or changed by hand).
    pub drift_detected: AtomicU64,
    /// Missing neighbors the poller re-provisioned.
    pub drift_repairs: AtomicU64,
    /// Pushes of a session held for want of a good IRR prefix list.
    pub irr_holds: AtomicU64,
    http: Mutex<Http>,
    routers: Mutex<BTreeMap<String, RouterStats>>,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    /// When the worker's loop last went round (epoch ms; 0 = never).
    worker_beat_ms: AtomicU64,
    /// The poller was started.
    poller_started: AtomicBool,
    /// When each router's poll loop last went round (epoch ms).
    poll_beats: Mutex<BTreeMap<String, u64>>,
    /// The named leases this instance asked for, and whether it holds
    /// each (`poll:<router>`, the singleton loops').
    leases: Mutex<BTreeMap<String, bool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A method label: the standard ones, else `other` (a client may send any).
pub fn method_label(m: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN.iter().find(|k| **k == m).copied().unwrap_or("other")
}

impl Metrics {
    // ---- HTTP ---------------------------------------------------------------

    /// One answered request: `route` is the matched route template
    /// (`/sessions/{session_id}`), or `unmatched`.
    pub fn record_http(&self, route: &str, method: &str, status: u16, took: Duration) {
        let mut h = lock(&self.http);
        let route = if h.routes.contains_key(route) || h.routes.len() < MAX_ROUTES {
            route
        } else {
            "other"
        };
        if !h.routes.contains_key(route) {
            h.routes.insert(
                route.to_string(),
                RouteStats {
                    requests: BTreeMap::new(),
                    latency: Histogram::new(expo::HTTP_BUCKETS),
                },
            );
        }
        let st = h.routes.get_mut(route).expect("inserted above");
        *st.requests
            .entry((method_label(method), status))
            .or_default() += 1;
        st.latency.observe(took.as_secs_f64());
    }

    /// Requests answered for `route` so far (all methods and statuses).
    pub fn http_requests(&self, route: &str) -> u64 {
        lock(&self.http)
            .routes
            .get(route)
            .map_or(0, |s| s.requests.values().sum())
    }

    /// A bearer token (or caller) refused; `reason` is one of
    /// [`REFUSAL_REASONS`].
    pub fn record_refused(&self, reason: &'static str) {
        *lock(&self.refused).entry(reason).or_default() += 1;
    }

    pub fn refused(&self, reason: &str) -> u64 {
        lock(&self.refused).get(reason).copied().unwrap_or(0)
    }

    // ---- pushes and polls ---------------------------------------------------

    /// One push of `sessions` sessions to `router` (`op`: `add`/`remove`).
    pub fn record_push(
        &self,
        router: &str,
        op: &'static str,
        result: PushResult,
        sessions: usize,
        took: Duration,
    ) {
        self.record_push_result(router, op, result, sessions, took, None);
    }

    /// [`Self::record_push`] with the router's error of a failed push
    /// (already free of secrets), kept for the console.
    pub fn record_push_result(
        &self,
        router: &str,
        op: &'static str,
        result: PushResult,
        sessions: usize,
        took: Duration,
        error: Option<&str>,
    ) {
        let mut r = lock(&self.routers);
        let st = r.entry(router.to_string()).or_default();
        *st.pushes.entry((op, result)).or_default() += 1;
        st.push_seconds.observe(took.as_secs_f64());
        let push = LastPush {
            at_ms: now_ms(),
            result,
            op,
            sessions,
            ms: took.as_millis() as u64,
        };
        st.last_push = Some(push);
        let error = error.map(|e| {
            e.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .take(MAX_ERROR_CHARS)
                .collect::<String>()
        });
        let rec = PushRecord { push, error };
        if result != PushResult::Success {
            st.last_failure = Some(rec.clone());
        }
        if st.recent.len() == RECENT_PUSHES {
            st.recent.pop_front();
        }
        st.recent.push_back(rec);
    }

    /// The last pushes to `router` (at most [`RECENT_PUSHES`]), newest first.
    pub fn recent_pushes(&self, router: &str) -> Vec<PushRecord> {
        lock(&self.routers)
            .get(router)
            .map(|s| s.recent.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// The last push to `router` that failed, with its error.
    pub fn last_failure(&self, router: &str) -> Option<PushRecord> {
        lock(&self.routers)
            .get(router)
            .and_then(|s| s.last_failure.clone())
    }

    /// Successful pushes to `router` (one per coalesced apply).
    pub fn applies(&self, router: &str) -> u64 {
        self.pushes(router, PushResult::Success)
    }

    /// Pushes to `router` that ended with `result`.
    pub fn pushes(&self, router: &str, result: PushResult) -> u64 {
        lock(&self.routers).get(router).map_or(0, |s| {
            s.pushes
                .iter()
                .filter(|((_, r), _)| *r == result)
                .map(|(_, n)| n)
                .sum()
        })
    }

    pub fn last_push(&self, router: &str) -> Option<LastPush> {
        lock(&self.routers).get(router).and_then(|s| s.last_push)
    }

    /// One poll of `router` ended (`bgp`: what its state read saw, when
    /// the platform has one and the read worked).
    pub fn record_poll(&self, router: &str, ok: bool, bgp: Option<BgpCounts>) {
        let now = now_ms();
        let mut r = lock(&self.routers);
        let st = r.entry(router.to_string()).or_default();
        st.last_poll = Some(LastPoll { at_ms: now, ok });
        if !ok {
            st.poll_failures += 1;
        }
        if bgp.is_some() {
            st.bgp = bgp;
        }
        drop(r);
        lock(&self.poll_beats).insert(router.to_string(), now);
    }

    pub fn last_poll(&self, router: &str) -> Option<LastPoll> {
        lock(&self.routers).get(router).and_then(|s| s.last_poll)
    }

    // ---- heartbeats -----------------------------------------------------------

    /// The worker's loop went round.
    pub fn worker_beat(&self) {
        self.worker_beat_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// When the worker's loop last went round (`None`: never).
    pub fn worker_last_beat(&self) -> Option<u64> {
        Some(self.worker_beat_ms.load(Ordering::Relaxed)).filter(|m| *m > 0)
    }

    /// The poller starts with these routers (each counts as just polled).
    pub fn poller_started(&self, routers: &[String]) {
        let now = now_ms();
        let mut b = lock(&self.poll_beats);
        for r in routers {
            b.insert(r.clone(), now);
        }
        self.poller_started.store(true, Ordering::Relaxed);
    }

    /// Another instance holds `router`'s poll lease: this one skipped the
    /// poll, and its loop still went round.
    pub fn poll_skipped(&self, router: &str) {
        lock(&self.poll_beats).insert(router.to_string(), now_ms());
    }

    /// Whether this instance holds the lease `name` now.
    pub fn set_lease(&self, name: &str, held: bool) {
        lock(&self.leases).insert(name.to_string(), held);
    }

    /// The leases asked for, and whether each is held.
    pub fn leases(&self) -> BTreeMap<String, bool> {
        lock(&self.leases).clone()
    }

    /// How many routers this instance polls (holds the poll lease of).
    pub fn routers_polled(&self) -> u64 {
        lock(&self.leases)
            .iter()
            .filter(|(k, v)| **v && k.starts_with("poll:"))
            .count() as u64
    }

    /// `None` before the poller started; else each router's last beat.
    pub fn poll_beats(&self) -> Option<BTreeMap<String, u64>> {
        self.poller_started
            .load(Ordering::Relaxed)
            .then(|| lock(&self.poll_beats).clone())
    }
}

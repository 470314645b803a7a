//! Operations routes, no token needed:
//!
//! - `GET /healthz`: liveness; the process answers.
//! - `GET /readyz`: readiness. The store takes a write and flushes it to
//!   disk within [`PROBE_TIMEOUT`] (a real write in the metadata area),
//!   the worker's loop and each router's poll loop went round recently.
//!   Each router's last push and poll are shown, never failed on. 503
//!   with the same body when a check fails.
//! - `GET /metrics`: Prometheus text: the process's counters
//!   ([`crate::metrics::Metrics`]) and gauges read from the store and the
//!   PeeringDB sync ([`crate::metrics::Gauges`]).
//!
//! The store reads of a scrape and the readiness probe are each shared by
//! callers that come within a second of each other, so neither route can
//! be used to load the store.

use super::common::blocking;
use super::error::ApiError;
use super::state::AppState;
use crate::metrics::{Gauges, PdbGauges, CONTENT_TYPE};
use crate::model::now_ms;
use crate::wire::{
    rfc3339, CheckOut, ChecksOut, HealthOut, LastPollOut, LastPushOut, ReadyOut, RouterReadyOut,
};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Longest the store probe (write and flush) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a probe result or a scrape's store reads are reused.
const REUSE: Duration = Duration::from_secs(1);

/// `GET /openapi.json` (described in `openapi.rs`; the router put the
/// document in [`super::state::OpsCache::openapi`]).
pub async fn openapi_json(State(st): State<AppState>) -> Response {
    match st.ops.openapi.get() {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response(),
        None => ApiError::not_found("route").into_response(),
    }
}

/// `GET /healthz`.
#[utoipa::path(
    get, path = "/healthz", tag = "operations", operation_id = "healthz",
    summary = "Liveness",
    description = "The process is up and answering. Says nothing about the store, the worker or the routers (see `/readyz`).",
    responses((status = 200, description = "Alive.", body = HealthOut)),
    security(())
)]
pub async fn healthz() -> Json<HealthOut> {
    Json(HealthOut {
        status: "ok".into(),
    })
}

/// Writes and flushes a probe record; the time it took, or why not.
async fn probe_store(st: &AppState) -> Result<u64, String> {
    let cache = &st.ops;
    let mut last = cache.probe.lock().await;
    if let Some((at, r)) = &*last {
        if at.elapsed() < REUSE {
            return r.clone();
        }
    }
    let r = if cache.probing.swap(true, Ordering::SeqCst) {
        Err("the previous store probe has not finished".to_string())
    } else {
        let started = Instant::now();
        let store = st.store.clone();
        let probing = cache.probing.clone();
        let write = tokio::task::spawn_blocking(move || {
            let r = store.meta_put("health", "probe", &now_ms().to_be_bytes());
            probing.store(false, Ordering::SeqCst);
            r
        });
        let store = st.store.clone();
        let done = tokio::time::timeout(PROBE_TIMEOUT, async move {
            write
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            store.durable().await.map_err(|e| e.to_string())
        })
        .await;
        match done {
            Ok(Ok(())) => Ok(started.elapsed().as_millis() as u64),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "readiness: the store cannot be written");
                Err("the store cannot be written".to_string())
            }
            Err(_) => {
                tracing::error!(
                    secs = PROBE_TIMEOUT.as_secs(),
                    "readiness: the store probe timed out"
                );
                Err(format!(
                    "the store did not take a write within {} s",
                    PROBE_TIMEOUT.as_secs()
                ))
            }
        }
    };
    *last = Some((Instant::now(), r.clone()));
    r
}

fn check(ok: bool, state: &str, detail: Option<String>, ms: Option<u64>) -> CheckOut {
    CheckOut {
        ok,
        state: state.into(),
        detail,
        ms,
    }
}

fn worker_check(st: &AppState, now: u64) -> CheckOut {
    let w = &st.settings.worker;
    if !w.enabled {
        return check(true, "disabled", None, None);
    }
    let stale = (w.tick_ms.saturating_mul(40)).max(30_000);
    match st.metrics.worker_last_beat() {
        None => check(
            false,
            "starting",
            Some("the worker has not started yet".into()),
            None,
        ),
        Some(b) if now.saturating_sub(b) > stale => check(
            false,
            "stalled",
            Some(format!(
                "the worker's loop has not run for {} s",
                (now - b) / 1000
            )),
            Some(now - b),
        ),
        Some(b) => check(true, "running", None, Some(now.saturating_sub(b))),
    }
}

fn poller_check(st: &AppState, now: u64) -> CheckOut {
    let w = &st.settings.worker;
    if !w.enabled {
        return check(true, "disabled", None, None);
    }
    // a poll may wait on a router's connect and read timeouts
    let stale = w.poll_interval_ms.saturating_mul(3).saturating_add(120_000);
    let Some(beats) = st.metrics.poll_beats() else {
        return check(
            false,
            "starting",
            Some("the poller has not started yet".into()),
            None,
        );
    };
    let stalled: Vec<&str> = beats
        .iter()
        .filter(|(_, b)| now.saturating_sub(**b) > stale)
        .map(|(r, _)| r.as_str())
        .collect();
    if stalled.is_empty() {
        check(true, "running", None, None)
    } else {
        check(
            false,
            "stalled",
            Some(format!(
                "no poll ended recently for: {}",
                stalled.join(", ")
            )),
            None,
        )
    }
}

fn routers(st: &AppState) -> Vec<RouterReadyOut> {
    st.inventory
        .routers
        .iter()
        .map(|r| RouterReadyOut {
            router: r.name.clone(),
            last_push: st.metrics.last_push(&r.name).map(|p| LastPushOut {
                outcome: p.result.as_str().into(),
                op: p.op.into(),
                sessions: p.sessions,
                at: rfc3339(p.at_ms),
                ms: p.ms,
            }),
            last_poll: st.metrics.last_poll(&r.name).map(|p| LastPollOut {
                ok: p.ok,
                at: rfc3339(p.at_ms),
            }),
        })
        .collect()
}

/// `GET /readyz`.
#[utoipa::path(
    get, path = "/readyz", tag = "operations", operation_id = "readyz",
    summary = "Readiness",
    description = "Ready when the store takes a write and flushes it to disk within 5 s, and the worker and the poller are running (or disabled in the settings). Each router's last push and poll are shown but never make peerd unready.",
    responses(
        (status = 200, description = "Ready.", body = ReadyOut),
        (status = 503, description = "Not ready: the failing check says why.", body = ReadyOut),
    ),
    security(())
)]
pub async fn readyz(State(st): State<AppState>) -> Response {
    let store = match probe_store(&st).await {
        Ok(ms) => check(true, "ok", None, Some(ms)),
        Err(e) => check(false, "failed", Some(e), None),
    };
    let now = now_ms();
    let checks = ChecksOut {
        store,
        worker: worker_check(&st, now),
        poller: poller_check(&st, now),
    };
    let ready = checks.store.ok && checks.worker.ok && checks.poller.ok;
    let body = ReadyOut {
        status: if ready { "ready" } else { "not ready" }.into(),
        checks,
        routers: routers(&st),
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// The gauges read from the store and the PeeringDB sync, rendered.
async fn gauges(st: &AppState) -> String {
    let mut last = st.ops.gauges.lock().await;
    if let Some((at, text)) = &*last {
        if at.elapsed() < REUSE {
            return text.clone();
        }
    }
    let read = blocking(st, |s| Ok((s.session_counts()?, s.jobs()?))).await;
    let pdb = st.peeringdb.as_ref().map(|p| {
        let s = p.status();
        PdbGauges {
            taken_at_ms: s.taken_at,
            last_success_ms: s.last_success,
            failures: s.failures,
            last_failed: s.last_error.is_some(),
            interval_secs: st.settings.peeringdb.sync_interval_secs,
        }
    });
    let mut g = Gauges {
        now_ms: now_ms(),
        routers: st
            .inventory
            .routers
            .iter()
            .map(|r| r.name.clone())
            .collect(),
        pdb,
        ..Default::default()
    };
    let ok = match read {
        Ok((counts, jobs)) => {
            g.sessions = counts
                .into_iter()
                .map(|c| (c.router, c.status, c.count))
                .collect();
            g.jobs = jobs;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: reading the store failed");
            false
        }
    };
    let mut text = if ok { g.render() } else { String::new() };
    text.push_str(&format!(
        "# HELP peerd_store_read_ok 1 when this scrape could read the store (sessions and queue).\n# TYPE peerd_store_read_ok gauge\npeerd_store_read_ok {}\n",
        u8::from(ok)
    ));
    *last = Some((Instant::now(), text.clone()));
    text
}

/// The whole exposition (also served by `/admin/metrics`).
pub async fn exposition(st: &AppState) -> Response {
    let mut text = st.metrics.render();
    text.push_str(&gauges(st).await);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// `GET /metrics`.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Prometheus text exposition: sessions by router and status, the job queue, pushes by router and outcome with their duration, BGP neighbor states from the poller, HTTP requests by route template and status with their latency, refused tokens by reason, drift repairs, the PeeringDB data's age and sync failures. No label carries a token, a secret or text a peer sent. With `metrics_listen` set, served on that listener only.",
    responses((status = 200, description = "The exposition.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)),
    security(())
)]
pub async fn metrics(State(st): State<AppState>) -> Response {
    exposition(&st).await
}

/// Unused routes of the metrics listener.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

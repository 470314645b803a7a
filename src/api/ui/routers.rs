//! Routers: each with its platform and transport, its sessions, its last
//! push and last error, whether its last poll reached it, and its last
//! pushes (from the worker's counters, [`crate::metrics::Metrics`]: what
//! `/readyz` and `/metrics` show). "Check connection" runs `peerd check
//! --connect` for one router ([`crate::driver::probe::check_connection`]:
//! a read-only login, bounded in time); it changes nothing, so a viewer
//! may run it too.

use super::chrome::{self, Frame};
use super::ctx::{Numbers, Operator, UiState};
use super::form::Form;
use super::view::{time, Time};
use crate::driver::probe::{check_connection, ConnectCheck};
use crate::metrics::{PushRecord, PushResult};
use crate::model::now_ms;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

/// How long each step of a connection check may take (connect, handshake,
/// login, hello), so the whole stays within the request timeout.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Serialize)]
pub struct PushView {
    pub time: Time,
    pub op: &'static str,
    pub sessions: usize,
    pub outcome: &'static str,
    pub ok: bool,
    pub ms: u64,
    pub error: Option<String>,
}

impl PushView {
    fn of(p: &PushRecord, now: u64) -> PushView {
        PushView {
            time: time(p.push.at_ms, now),
            op: p.push.op,
            sessions: p.push.sessions,
            outcome: p.push.result.as_str(),
            ok: p.push.result == PushResult::Success,
            ms: p.push.ms,
            error: p.error.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct RouterRow {
    pub name: String,
    pub platform: String,
    pub transport: String,
    pub address: String,
    pub sessions: u64,
    pub last_push: Option<PushView>,
    pub last_error: Option<PushView>,
    /// `reachable`, `unreachable` (the last poll failed) or `unknown`.
    pub reach: &'static str,
    pub last_poll: Option<Time>,
    /// Newest first (only on the routers page).
    pub recent: Vec<PushView>,
}

/// One row per router of the inventory.
pub fn rows(ui: &UiState, numbers: Option<&Numbers>, with_recent: bool) -> Vec<RouterRow> {
    let now = now_ms();
    let m = &ui.app.metrics;
    ui.app
        .inventory
        .routers
        .iter()
        .map(|r| {
            let transport = ui
                .app
                .worker
                .as_ref()
                .and_then(|w| w.renderer().profiles.get(&r.platform))
                .map(|p| p.kind().as_str().to_string())
                .unwrap_or_default();
            let sessions = numbers
                .map(|n| {
                    n.counts
                        .iter()
                        .filter(|c| c.router == r.name)
                        .map(|c| c.count)
                        .sum()
                })
                .unwrap_or(0);
            let recent = m.recent_pushes(&r.name);
            let poll = m.last_poll(&r.name);
            RouterRow {
                name: r.name.clone(),
                platform: r.platform.clone(),
                transport,
                address: format!("{}:{}", r.host, r.port),
                sessions,
                last_push: recent.first().map(|p| PushView::of(p, now)),
                last_error: m.last_failure(&r.name).map(|p| PushView::of(&p, now)),
                reach: match poll {
                    Some(p) if p.ok => "reachable",
                    Some(_) => "unreachable",
                    None => "unknown",
                },
                last_poll: poll.map(|p| time(p.at_ms, now)),
                recent: if with_recent {
                    recent.iter().map(|p| PushView::of(p, now)).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

async fn page(
    ui: &UiState,
    op: &Operator,
    query: Option<&str>,
    check: Option<ConnectCheck>,
    status: StatusCode,
) -> Response {
    let numbers = ui.numbers().await.ok();
    let rows = rows(ui, numbers.as_ref(), true);
    let mut frame = Frame::new("Routers", "routers").status(status);
    if check.is_some() {
        frame = frame.still();
    }
    chrome::render(
        ui,
        Some(op),
        query,
        frame,
        "routers.html",
        json!({"routers": rows, "check": check, "wired": ui.app.worker.is_some()}),
    )
    .await
}

/// `GET /ui/routers`.
pub async fn show(State(ui): State<UiState>, op: Operator, uri: Uri) -> Response {
    page(&ui, &op, uri.query(), None, StatusCode::OK).await
}

/// `POST /ui/routers/{name}/check`: logs in to the router read-only and
/// shows the outcome with the routers.
pub async fn check(
    State(ui): State<UiState>,
    op: Operator,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    if !op.csrf_ok(form.get("csrf").unwrap_or("")) {
        return super::csrf_refused(&ui, &op).await;
    }
    let back = Some(ui.url("/routers"));
    let Some(router) = ui.app.inventory.router(&name).cloned() else {
        let e = crate::app::AppError::not_found("router");
        return chrome::refusal(&ui, Some(&op), &e, back).await;
    };
    let Some(worker) = ui.app.worker.clone() else {
        let e = crate::app::AppError::unavailable("the worker is not running in this process");
        return chrome::refusal(&ui, Some(&op), &e, back).await;
    };
    let Ok(_permit) = ui.router_calls.clone().try_acquire_owned() else {
        let e = crate::app::AppError::unavailable(
            "other router checks are running; try again in a moment",
        );
        return chrome::refusal(&ui, Some(&op), &e, back).await;
    };
    let profile = worker.renderer().profiles.get(&router.platform).cloned();
    let outcome = check_connection(&router, profile.as_ref(), CHECK_TIMEOUT).await;
    tracing::info!(operator = %op.name, router = %name, ok = outcome.ok, "console: connection check");
    page(&ui, &op, None, Some(outcome), StatusCode::OK).await
}

//! The overview: sessions by status (each a link to that list), the
//! routers (last push, last error, reachability), the job queue (depth,
//! the oldest job's age), the worker's heartbeat and the age of the
//! PeeringDB data. The same numbers `/metrics` and `/readyz` show, read
//! from the store at most about once a second whoever looks.

use super::chrome::{self, Frame};
use super::ctx::{Operator, UiState};
use super::routers::rows;
use super::view::{ago, time};
use crate::model::{now_ms, SessionStatus};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde_json::{json, Value};

fn pdb(ui: &UiState, now: u64) -> Value {
    let Some(sync) = &ui.app.peeringdb else {
        return Value::Null;
    };
    let s = sync.status();
    json!({
        "taken": s.taken_at.map(|t| time(t, now)),
        "source": s.source,
        "exchanges": s.exchanges,
        "networks": s.networks,
        "last_success": s.last_success.map(|t| time(t, now)),
        "last_error": s.last_error,
        "interval": ago(ui.app.settings.peeringdb.sync_interval_secs.saturating_mul(1000)),
        "scheduled": ui.app.settings.peeringdb.sync_interval_secs > 0,
    })
}

fn worker(ui: &UiState, now: u64) -> Value {
    if !ui.app.settings.worker.enabled {
        return json!({"state": "disabled", "beat": null});
    }
    match ui.app.metrics.worker_last_beat() {
        None => json!({"state": "starting", "beat": null}),
        Some(b) => json!({"state": "running", "beat": time(b, now)}),
    }
}

/// `GET /ui`.
pub async fn show(State(ui): State<UiState>, op: Operator, uri: Uri) -> Response {
    let now = now_ms();
    let numbers = ui.numbers().await;
    let (statuses, jobs, total, error) = match &numbers {
        Ok(n) => {
            let statuses: Vec<Value> = SessionStatus::ALL
                .iter()
                .map(|st| {
                    let count: u64 = n
                        .counts
                        .iter()
                        .filter(|c| c.status == *st)
                        .map(|c| c.count)
                        .sum();
                    json!({
                        "status": st.as_str(),
                        "count": count,
                        "href": ui.url(&format!("/sessions?status={st}")),
                    })
                })
                .collect();
            let total: u64 = n.counts.iter().map(|c| c.count).sum();
            let j = &n.jobs;
            let jobs = json!({
                "depth": j.depth,
                "oldest": j.oldest_ms.map(|t| time(t, now)),
                "provision": j.provision,
                "deprovision": j.deprovision,
                "expire": j.expire,
                "refresh": j.refresh,
                "retrying": j.retrying,
                "leased": j.leased,
            });
            (statuses, jobs, total, None)
        }
        Err(e) => (
            Vec::new(),
            Value::Null,
            0,
            Some(
                e.errors
                    .iter()
                    .flat_map(|f| f.errors.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
    };
    let routers = rows(&ui, numbers.as_ref().ok(), false);
    chrome::render(
        &ui,
        Some(&op),
        uri.query(),
        Frame::new("Overview", "overview"),
        "overview.html",
        json!({
            "statuses": statuses,
            "total": total,
            "jobs": jobs,
            "routers": routers,
            "pdb": pdb(&ui, now),
            "worker": worker(&ui, now),
            "error": error,
        }),
    )
    .await
}

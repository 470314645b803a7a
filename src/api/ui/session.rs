//! One session: every field (the secret only as "set"), `status_detail`,
//! what PeeringDB says of the requester, the config peerd renders for its
//! router (what a push sends, secrets redacted: the renderer of `peerd
//! render`), its audit trail, and the operator's actions: approve, reject
//! with a reason, retry now, delete, force remove (the use cases of
//! [`crate::app`]). A removed session's page still shows its trail.
//!
//! `GET /ui/sessions/{id}/router` asks the router now what it has for the
//! session: its neighbor in the running config and its BGP state, read
//! through the worker's driver over one connection, within
//! [`READ_TIMEOUT`]; at most a few such reads run at once.

use super::chrome::{self, Frame};
use super::ctx::{Operator, UiState};
use super::form::Form;
use super::page::{self, Flash};
use super::queue::requester;
use super::view::time;
use crate::app::{self, AppError, Deletion, Refusal};
use crate::driver::NeighborState;
use crate::model::{is_id, now_ms, Session, SessionStatus};
use crate::platform::Op;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a read of the router may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most audit events shown (the newest).
const MAX_EVENTS: usize = 500;

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn role(r: Option<u8>) -> String {
    match r {
        None => "not set".into(),
        Some(0) => "0 (provider)".into(),
        Some(1) => "1 (RS)".into(),
        Some(2) => "2 (RS-client)".into(),
        Some(3) => "3 (customer)".into(),
        Some(4) => "4 (peer)".into(),
        Some(n) => n.to_string(),
    }
}

/// Every field, as label and value, in reading order (never the secret).
fn fields(ui: &UiState, s: &Session, now: u64) -> Vec<Value> {
    let loc = ui
        .app
        .inventory
        .location(&s.location.id)
        .map(|l| format!("{} ({})", s.location.id, l.name))
        .unwrap_or_else(|| s.location.id.clone());
    let t = |ms: u64| {
        let t = time(ms, now);
        json!({"time": t})
    };
    let text = |v: String| json!({"text": v});
    let mut out = vec![
        ("Session id", text(s.session_id.clone())),
        (
            "Request",
            json!({"text": s.request_id, "href": ui.url(&format!("/sessions?request={}", s.request_id))}),
        ),
        ("Requester (local) ASN", text(format!("AS{}", s.local_asn))),
        ("Requester address", text(s.local_ip.to_string())),
        ("Our (peer) ASN", text(format!("AS{}", s.peer_asn))),
        ("Our address", text(s.peer_ip.to_string())),
        ("Location", text(loc)),
        ("Peer type", text(s.peer_type.as_str().into())),
        ("Router", text(s.router.clone())),
        ("BGP role, requester", text(role(s.local_bgp_role))),
        ("BGP role, ours", text(role(s.peer_bgp_role))),
        (
            "Insert ASN, requester / ours",
            text(format!(
                "{} / {}",
                yes_no(s.local_insert_asn),
                yes_no(s.peer_insert_asn)
            )),
        ),
        (
            "Monitoring, requester / ours",
            text(format!(
                "{} / {}",
                yes_no(s.local_monitoring_session),
                yes_no(s.peer_monitoring_session)
            )),
        ),
        (
            "Session secret",
            text(
                if s.session_secret.is_some() {
                    "set (hidden)"
                } else {
                    "none"
                }
                .into(),
            ),
        ),
        (
            "Max prefix",
            text(s.max_prefix.map_or("not set".into(), |m| m.to_string())),
        ),
        ("Pushed to the router", text(yes_no(s.pushed).into())),
        ("Created by", text(s.created_by.clone())),
        ("Created", t(s.created_ms)),
        ("Updated", t(s.updated_ms)),
    ];
    if let Some(c) = s.configured_ms {
        out.push(("First configured", t(c)));
    }
    out.into_iter()
        .map(|(label, mut v)| {
            v["label"] = json!(label);
            v
        })
        .collect()
}

/// The config peerd renders for the session's router (redacted), or why
/// there is none.
fn config(ui: &UiState, s: &Session) -> Value {
    let Some(w) = &ui.app.worker else {
        return json!({"error": "the worker is not running in this process"});
    };
    let op = if s.status == SessionStatus::Deleting {
        Op::Remove
    } else {
        Op::Add
    };
    let r = w.renderer();
    match crate::render::render_for_cli(
        &r.env,
        &r.profiles,
        &r.inv,
        op,
        std::slice::from_ref(s),
        false,
    ) {
        Ok(text) => json!({"op": op.as_str(), "text": text}),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// What an admin may do to a session in its status.
fn actions(s: SessionStatus) -> Value {
    use SessionStatus::*;
    json!({
        "approve": matches!(s, Pending | Failed),
        "reject": matches!(s, Pending | Failed),
        "retry": matches!(s, Failed | Approved | Provisioning | Deleting),
        "delete": s != Deleting,
        "force_remove": matches!(s, Deleting | Failed),
    })
}

/// `GET /ui/sessions/{id}`.
pub async fn show(
    State(ui): State<UiState>,
    op: Operator,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let now = now_ms();
    if !is_id(&id) {
        return chrome::refusal(&ui, Some(&op), &AppError::not_found("session"), None).await;
    }
    let ctx = ui.app.app();
    let session = app::session(&ctx, &id).await;
    let sid = id.clone();
    let events = match ctx.blocking(move |s| s.audit(&sid)).await {
        Ok(e) => e,
        Err(e) => return chrome::refusal(&ui, Some(&op), &e, None).await,
    };
    let session = match session {
        Ok(s) => Some(s),
        Err(e) if e.refusal == Refusal::NotFound && !events.is_empty() => None,
        Err(e) => return chrome::refusal(&ui, Some(&op), &e, Some(ui.url("/sessions"))).await,
    };
    let skipped = events.len().saturating_sub(MAX_EVENTS);
    let audit: Vec<Value> = events[skipped..]
        .iter()
        .map(|e| {
            json!({
                "time": time(e.at_ms, now),
                "actor": e.actor,
                "action": e.action,
                "from": e.from.map(|s| s.as_str()),
                "to": e.to.map(|s| s.as_str()),
                "detail": e.detail,
            })
        })
        .collect();
    let title = format!("Session {}", &id[..8]);
    let body = match &session {
        Some(s) => json!({
            "id": id,
            "removed": false,
            "status": s.status.as_str(),
            "detail": s.status_detail,
            "fields": fields(&ui, s, now),
            "pdb": requester(ui.app.snapshot().as_deref(), s, ui.app.settings.peeringdb.max_prefix_margin_percent),
            "config": config(&ui, s),
            "actions": actions(s.status),
            "here": ui.url(&format!("/sessions/{id}")),
            "read_href": ui.url(&format!("/sessions/{id}/router")),
            "audit": audit,
            "skipped": skipped,
        }),
        None => json!({
            "id": id,
            "removed": true,
            "audit": audit,
            "skipped": skipped,
        }),
    };
    chrome::render(
        &ui,
        Some(&op),
        uri.query(),
        Frame::new(title, "sessions"),
        "session.html",
        body,
    )
    .await
}

/// `GET /ui/sessions/{id}/router`: what the router reports now.
pub async fn router_read(
    State(ui): State<UiState>,
    op: Operator,
    Path(id): Path<String>,
) -> Response {
    let back = Some(ui.url(&format!(
        "/sessions/{}",
        id.chars().take(36).collect::<String>()
    )));
    let s = match app::session(&ui.app.app(), &id).await {
        Ok(s) => s,
        Err(e) => return chrome::refusal(&ui, Some(&op), &e, back).await,
    };
    let Some(worker) = ui.app.worker.clone() else {
        let e = AppError::unavailable("the worker is not running in this process");
        return chrome::refusal(&ui, Some(&op), &e, back).await;
    };
    let Ok(_permit) = ui.router_calls.clone().try_acquire_owned() else {
        let e = AppError::unavailable("other router reads are running; try again in a moment");
        return chrome::refusal(&ui, Some(&op), &e, back).await;
    };
    let read = worker.read_now(&s, READ_TIMEOUT).await;
    let neighbor = match &read.neighbor {
        Ok(Some(n)) => json!({
            "present": true,
            "address": n.address.to_string(),
            "peer_as": n.peer_as,
            "state": n.state,
            "name": n.name,
            "has_secret": n.has_secret,
            "matches": n.peer_as.is_none_or(|a| a == s.local_asn.0),
        }),
        Ok(None) => json!({"present": false}),
        Err(e) => json!({"error": e}),
    };
    let state = match &read.state {
        None => Value::Null,
        Some(Ok(st)) => json!({"text": match st {
            NeighborState::Established => "Established",
            NeighborState::NotEstablished => "configured, not established",
            NeighborState::Down(crate::platform::DownReason::MaxPrefix) => {
                "configured, down: the peer sent more prefixes than its limit (max-prefix)"
            }
            NeighborState::Absent => "no such neighbor",
        }}),
        Some(Err(e)) => json!({"error": e}),
    };
    chrome::render(
        &ui,
        Some(&op),
        None,
        Frame::new(format!("Router read of {}", &s.session_id[..8]), "sessions").still(),
        "router_read.html",
        json!({
            "id": s.session_id,
            "router": s.router,
            "address": s.local_ip.to_string(),
            "asn": s.local_asn.0,
            "status": s.status.as_str(),
            "neighbor": neighbor,
            "state": state,
            "ms": read.ms,
            "back": back,
            "again": ui.url(&format!("/sessions/{}/router", s.session_id)),
        }),
    )
    .await
}

/// `POST /ui/sessions/{id}/{action}`: `approve`, `reject` (`reason`),
/// `retry`, `delete`, `force-remove`.
pub async fn act(
    State(ui): State<UiState>,
    op: Operator,
    Path((id, action)): Path<(String, String)>,
    form: Form,
) -> Response {
    let here = if is_id(&id) {
        format!("/sessions/{id}")
    } else {
        "/sessions".into()
    };
    let back = form.back(&ui, &here);
    if let Some(refused) = super::may_change(&ui, &op, &form, &back).await {
        return refused;
    }
    let ctx = ui.app.app();
    let caller = op.caller();
    let (result, flash) = match action.as_str() {
        "approve" => (
            app::approve(&ctx, &caller, &id).await.map(|_| None),
            Flash::Approved,
        ),
        "reject" => {
            let reason = form.get("reason").unwrap_or("");
            (
                app::reject(&ctx, &caller, &id, reason).await.map(|_| None),
                Flash::Rejected,
            )
        }
        "retry" => (
            app::retry(&ctx, &caller, &id).await.map(|_| None),
            Flash::Retried,
        ),
        "delete" => (
            app::delete(&ctx, &caller, &id).await.map(|d| match d {
                Deletion::Removed(_) | Deletion::Deleting(_) => None,
            }),
            Flash::Deleted,
        ),
        "force-remove" => (
            app::force_remove(&ctx, &caller, &id)
                .await
                .map(|d| d.warning),
            Flash::ForceRemoved,
        ),
        _ => {
            let e = AppError::not_found("action");
            return chrome::refusal(&ui, Some(&op), &e, Some(back)).await;
        }
    };
    tracing::info!(operator = %op.name, session_id = %id.chars().take(36).collect::<String>(), action = %action, ok = result.is_ok(), "console: session action");
    match result {
        Ok(None) => page::redirect(&page::with_flash(&back, flash, 1, Some(&id))),
        Ok(Some(warning)) => {
            chrome::message(
                &ui,
                Some(&op),
                StatusCode::OK,
                "Removed",
                vec![flash.text(1), warning],
                Some(ui.url(&here)),
            )
            .await
        }
        Err(e) => chrome::refusal(&ui, Some(&op), &e, Some(back)).await,
    }
}

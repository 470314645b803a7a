//! The approval queue: Pending sessions, oldest first, a page at a time
//! (the store's status index), each with what PeeringDB says of the
//! requester: its name, `policy_general`, whether it is present at the
//! location, and the max-prefix limits its published counts give. An
//! operator approves or rejects (with a reason) one session, or every
//! selected one together ([`decide`]); each goes through the use case
//! ([`crate::app::approve`], [`crate::app::reject`]) and is on disk
//! before the answer.

use super::chrome::{self, Frame};
use super::ctx::{Operator, UiState};
use super::form::Form;
use super::page::{self, Flash};
use super::sessions::{list_page, Row, PAGE};
use crate::app;
use crate::model::{now_ms, Session, SessionStatus};
use crate::peeringdb::snapshot::Family;
use crate::peeringdb::{ix_id, Snapshot};
use crate::store::SessionFilter;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

/// Most sessions decided by one form.
const MAX_SELECTED: usize = 200;

/// What PeeringDB says of a requester.
#[derive(Serialize)]
pub struct Requester {
    pub known: bool,
    pub name: Option<String>,
    pub policy: Option<String>,
    /// Present at the session's location (`None`: not a PeeringDB exchange).
    pub present: Option<bool>,
    pub max_v4: Option<u32>,
    pub max_v6: Option<u32>,
}

/// The requester of `s` as `snap` has it.
pub fn requester(snap: Option<&Snapshot>, s: &Session, margin: u32) -> Option<Requester> {
    let snap = snap?;
    let asn = s.local_asn.0;
    let net = snap.net(asn);
    Some(Requester {
        known: net.is_some(),
        name: net.map(|n| n.name.clone()),
        policy: snap.policy_general(asn).map(str::to_string),
        present: ix_id(&s.location.id).map(|ix| snap.present_at(ix, asn)),
        max_v4: snap.max_prefix(asn, Family::V4, margin),
        max_v6: snap.max_prefix(asn, Family::V6, margin),
    })
}

#[derive(Serialize)]
struct QueueRow {
    row: Row,
    pdb: Option<Requester>,
    max_prefix: Option<u32>,
    family: &'static str,
}

/// `GET /ui/queue?after=`.
pub async fn show(State(ui): State<UiState>, op: Operator, uri: Uri) -> Response {
    let now = now_ms();
    let after = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "after")
        .map(|(_, v)| v.into_owned())
        .filter(|a| crate::api::common::next_token(Some(a)).is_ok_and(|t| t.is_some()));
    let filter = SessionFilter {
        status: Some(SessionStatus::Pending),
        ..Default::default()
    };
    let listed = list_page(&ui, filter, None, after.clone(), PAGE).await;
    let (rows, next, error) = match listed {
        Ok(l) => {
            let snap = ui.app.snapshot();
            let margin = ui.app.settings.peeringdb.max_prefix_margin_percent;
            let rows: Vec<QueueRow> = l
                .sessions
                .iter()
                .map(|s| QueueRow {
                    row: Row::of(&ui, s, now),
                    pdb: requester(snap.as_deref(), s, margin),
                    max_prefix: s.max_prefix,
                    family: if s.local_ip.is_ipv4() { "IPv4" } else { "IPv6" },
                })
                .collect();
            (rows, l.next, None)
        }
        Err(e) => (
            Vec::new(),
            None,
            Some(
                e.errors
                    .into_iter()
                    .flat_map(|f| f.errors)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
    };
    let here = match &after {
        Some(a) => ui.url(&format!("/queue?after={a}")),
        None => ui.url("/queue"),
    };
    chrome::render(
        &ui,
        Some(&op),
        uri.query(),
        Frame::new("Approval queue", "queue"),
        "queue.html",
        json!({
            "rows": rows,
            "next": next.map(|n| ui.url(&format!("/queue?after={n}"))),
            "first": after.map(|_| ui.url("/queue")),
            "here": here,
            "pdb": ui.app.peeringdb.is_some() && ui.app.snapshot().is_some(),
            "error": error,
        }),
    )
    .await
}

/// `POST /ui/queue`: `action` (`approve` or `reject`) for every `id`
/// selected, `reason` for a rejection. All done: back to the queue with a
/// note; any refused: a page saying which and why (the others are done).
pub async fn decide(State(ui): State<UiState>, op: Operator, form: Form) -> Response {
    let back = form.back(&ui, "/queue");
    if let Some(refused) = super::may_change(&ui, &op, &form, &back).await {
        return refused;
    }
    let ids = form.all("id");
    let action = form.get("action").unwrap_or("");
    let reason = form.get("reason").unwrap_or("");
    let lines_err = |m: &str| vec![m.to_string()];
    if ids.is_empty() {
        return chrome::message(
            &ui,
            Some(&op),
            StatusCode::BAD_REQUEST,
            "Nothing selected",
            lines_err("Select at least one session."),
            Some(back),
        )
        .await;
    }
    if ids.len() > MAX_SELECTED {
        return chrome::message(
            &ui,
            Some(&op),
            StatusCode::BAD_REQUEST,
            "Too many selected",
            lines_err(&format!("At most {MAX_SELECTED} sessions at once.")),
            Some(back),
        )
        .await;
    }
    let flash = match action {
        "approve" => Flash::Approved,
        "reject" => Flash::Rejected,
        _ => {
            return chrome::message(
                &ui,
                Some(&op),
                StatusCode::BAD_REQUEST,
                "Unknown action",
                lines_err("Approve or reject."),
                Some(back),
            )
            .await
        }
    };
    let ctx = ui.app.app();
    let caller = op.caller();
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        let r = match flash {
            Flash::Approved => app::approve(&ctx, &caller, id).await,
            _ => app::reject(&ctx, &caller, id, reason).await,
        };
        match r {
            Ok(s) => done.push(s.session_id),
            Err(e) => refused.push(format!(
                "{}: {}",
                id.chars().take(36).collect::<String>(),
                e.errors
                    .iter()
                    .flat_map(|f| f.errors.iter().map(move |m| format!("{}: {m}", f.name)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
    tracing::info!(operator = %op.name, action, done = done.len(), refused = refused.len(), "console: queue decision");
    if refused.is_empty() {
        let sid = (done.len() == 1).then(|| done[0].as_str());
        return page::redirect(&page::with_flash(&back, flash, done.len(), sid));
    }
    let mut lines = vec![format!("{}: {} done.", flash.code(), done.len())];
    lines.extend(refused.into_iter().map(|r| format!("Refused {r}")));
    chrome::message(
        &ui,
        Some(&op),
        StatusCode::CONFLICT,
        "Some were refused",
        lines,
        Some(back),
    )
    .await
}

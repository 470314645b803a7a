//! Tokens and keys: the peerd tokens issued by the peer login (id,
//! holder, ASNs, state; never the token) a page at a time, with a revoke
//! button each; and the operator keys of the keys file (name, role, hash
//! id; never the key), with a revoke button each. Revoking a key edits
//! the keys file as `peerd key revoke` does, so the daemon's user must be
//! allowed to write it; the page says so when it is not. A revoked key's
//! console sessions end at their next page.

use super::chrome::{self, Frame};
use super::ctx::{Operator, UiState};
use super::form::Form;
use super::page::{self, Flash};
use super::view::time;
use crate::app::AppError;
use crate::auth::operator::{load_keys, revoke_key as revoke_in_file};
use crate::auth::TokenError;
use crate::model::now_ms;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::json;

/// Tokens on one page.
const PAGE: usize = 50;

/// `GET /ui/tokens?page=`.
pub async fn show(State(ui): State<UiState>, op: Operator, uri: Uri) -> Response {
    let now = now_ms();
    let page_no: usize = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(100_000);
    let tokens = ui.app.tokens.clone();
    let listed = tokio::task::spawn_blocking(move || tokens.list()).await;
    let (tokens, total, error) = match listed {
        Ok(Ok(list)) => {
            let total = list.len();
            let rows: Vec<_> = list
                .iter()
                .rev() // newest first
                .skip(page_no * PAGE)
                .take(PAGE)
                .map(|t| {
                    json!({
                        "id": t.id,
                        "principal": t.principal,
                        "asns": t.asns.iter().map(|a| format!("AS{a}")).collect::<Vec<_>>().join(", "),
                        "created": time(t.created_ms, now),
                        "expires": time(t.expires_ms, now),
                        "state": if t.revoked { "revoked" } else if t.expired { "expired" } else { "active" },
                        "active": !t.revoked && !t.expired,
                    })
                })
                .collect();
            (rows, total, None)
        }
        Ok(Err(e)) => (Vec::new(), 0, Some(e.to_string())),
        Err(e) => (Vec::new(), 0, Some(e.to_string())),
    };
    let file = ui.app.settings.operator_keys_file.clone();
    let keys = match tokio::task::spawn_blocking(move || load_keys(&file)).await {
        Ok(Ok(keys)) => keys
            .iter()
            .map(|k| {
                json!({
                    "name": k.name,
                    "role": k.role.as_str(),
                    "id": k.id(),
                    "you": k.name == op.name,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let pages = total.div_ceil(PAGE);
    let link = |n: usize| ui.url(&format!("/tokens?page={n}"));
    chrome::render(
        &ui,
        Some(&op),
        uri.query(),
        Frame::new("Tokens and keys", "tokens"),
        "tokens.html",
        json!({
            "tokens": tokens,
            "total": total,
            "error": error,
            "keys": keys,
            "keys_file": ui.app.settings.operator_keys_file.display().to_string(),
            "page": page_no + 1,
            "pages": pages.max(1),
            "next": (page_no + 1 < pages).then(|| link(page_no + 1)),
            "prev": (page_no > 0).then(|| link(page_no - 1)),
            "here": ui.url(&if page_no > 0 { format!("/tokens?page={page_no}") } else { "/tokens".into() }),
            "login": ui.app.login.is_some(),
        }),
    )
    .await
}

/// `POST /ui/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(ui): State<UiState>,
    op: Operator,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let back = form.back(&ui, "/tokens");
    if let Some(refused) = super::may_change(&ui, &op, &form, &back).await {
        return refused;
    }
    match ui.app.tokens.revoke_by_id(&id).await {
        Ok(id) => {
            tracing::info!(operator = %op.name, token_id = %id, "console: peer token revoked");
            page::redirect(&page::with_flash(&back, Flash::TokenRevoked, 1, None))
        }
        Err(e) => {
            let e = match e {
                TokenError::Unknown => AppError::not_found("token"),
                TokenError::Store(_) => {
                    AppError::unavailable("the token store is unavailable; try again later")
                }
                other => AppError::invalid("id", other.to_string()),
            };
            chrome::refusal(&ui, Some(&op), &e, Some(back)).await
        }
    }
}

/// `POST /ui/keys/{name}/revoke`: removes the key from the keys file.
pub async fn revoke_key(
    State(ui): State<UiState>,
    op: Operator,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let back = form.back(&ui, "/tokens");
    if let Some(refused) = super::may_change(&ui, &op, &form, &back).await {
        return refused;
    }
    let file = ui.app.settings.operator_keys_file.clone();
    let n = name.clone();
    match tokio::task::spawn_blocking(move || revoke_in_file(&file, &n)).await {
        Ok(Ok(gone)) => {
            tracing::warn!(operator = %op.name, key = %gone.name, "console: operator key revoked");
            page::redirect(&page::with_flash(&back, Flash::KeyRevoked, 1, None))
        }
        Ok(Err(e)) => {
            chrome::message(
                &ui,
                Some(&op),
                StatusCode::CONFLICT,
                "Not revoked",
                vec![e.to_string()],
                Some(back),
            )
            .await
        }
        Err(e) => chrome::refusal(&ui, Some(&op), &AppError::internal(e), Some(back)).await,
    }
}

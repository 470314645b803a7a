//! The operator console at `{base_path}/ui`: HTML pages rendered on the
//! server from templates compiled into the binary, with one stylesheet and
//! one small script (both compiled in too; no CDN, no build step). Every
//! read-only page works without JavaScript; the script shows times in the
//! browser's time zone, refreshes a page's live parts every second (status
//! changes show within 2 s without a reload), and adds select-all and
//! confirmations.
//!
//! | route | what |
//! |---|---|
//! | `GET /ui`, `/ui/` | overview: sessions by status, routers (last push, last error, reachability), queue depth and oldest job, PeeringDB age |
//! | `GET, POST /ui/login`, `POST /ui/logout` | operator key in, session cookie out ([`login`]) |
//! | `GET /ui/queue`, `POST /ui/queue` | Pending sessions with what PeeringDB says of the requester; approve or reject the selected ones |
//! | `GET /ui/sessions` | every session, filtered by status, router, location, ASN or request, paged |
//! | `GET /ui/sessions/{id}` | one session: every field (not the secret), the config it renders for its router (redacted), its audit trail, actions |
//! | `POST /ui/sessions/{id}/{approve,reject,retry,delete,force-remove}` | the operator use cases of [`crate::app`] |
//! | `GET /ui/sessions/{id}/router` | what the router reports now about it (a read through the driver, bounded) |
//! | `GET /ui/routers`, `POST /ui/routers/{name}/check` | routers with their last pushes; `peerd check --connect` for one |
//! | `GET /ui/tokens`, `POST /ui/tokens/{id}/revoke`, `POST /ui/keys/{name}/revoke` | peers' tokens and operator keys |
//! | `GET /ui/assets/{console.css,console.js}` | the assets (no login) |
//!
//! Only a console session opens a page ([`ctx::Operator`]); a `viewer`
//! sees every page and changes nothing (its forms are not shown, and the
//! use cases refuse it). Every `POST` but the login carries the session's
//! CSRF token. These routes are HTML, not API: `/openapi.json` does not
//! describe them.

mod chrome;
mod ctx;
mod form;
mod login;
mod overview;
mod page;
mod queue;
mod routers;
mod session;
mod sessions;
mod tokens;
mod view;

use super::state::AppState;
use crate::auth::console::ConsoleSessions;
use crate::auth::operator::OperatorVerifier;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ctx::{Operator, UiState};
use std::sync::Arc;

/// The console's routes (`/ui...`, relative to the base path like every
/// route) for `st`; `base` (the normalised base path) goes into its links
/// and its cookie's path.
pub fn router(st: &AppState, base: &str) -> Result<Router<AppState>, String> {
    let operators = OperatorVerifier::new(st.settings.operator_keys_file.clone())
        .map_err(|e| format!("console: {e}"))?;
    let ui = UiState {
        app: st.clone(),
        sessions: ConsoleSessions::new(st.store.clone(), st.settings.ui.session_ttl_secs),
        operators: Arc::new(operators),
        views: Arc::new(view::Views::new()?),
        prefix: format!("{base}/ui"),
        numbers: Arc::default(),
        router_calls: Arc::new(tokio::sync::Semaphore::new(ctx::ROUTER_CALLS)),
    };
    let p = |rest: &str| format!("/ui{rest}");
    let r: Router<UiState> = Router::new()
        .route(&p(""), get(overview::show))
        .route(&p("/"), get(overview::show))
        .route(&p("/login"), get(login::show).post(login::submit))
        .route(&p("/logout"), post(login::logout))
        .route(&p("/queue"), get(queue::show).post(queue::decide))
        .route(&p("/sessions"), get(sessions::list))
        .route(&p("/sessions/{id}"), get(session::show))
        .route(&p("/sessions/{id}/router"), get(session::router_read))
        .route(&p("/sessions/{id}/{action}"), post(session::act))
        .route(&p("/routers"), get(routers::show))
        .route(&p("/routers/{name}/check"), post(routers::check))
        .route(&p("/tokens"), get(tokens::show))
        .route(&p("/tokens/{id}/revoke"), post(tokens::revoke_token))
        .route(&p("/keys/{name}/revoke"), post(tokens::revoke_key))
        .route(&p("/assets/{file}"), get(asset));
    Ok(r.with_state(ui))
}

/// `GET /ui/assets/{file}`: the stylesheet and the script. Their URLs
/// carry a hash of their content, so they may be cached for good.
async fn asset(Path(file): Path<String>) -> Response {
    let (ctype, body) = match file.as_str() {
        "console.css" => ("text/css; charset=utf-8", view::CSS),
        "console.js" => ("text/javascript; charset=utf-8", view::JS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// A `POST` whose CSRF token is missing or belongs to another session.
async fn csrf_refused(ui: &UiState, op: &Operator) -> Response {
    tracing::warn!(operator = %op.name, "console: a form without this session's CSRF token was refused");
    chrome::message(
        ui,
        Some(op),
        StatusCode::FORBIDDEN,
        "Refused",
        vec![
            "This form did not carry this session's token (reload the page and try again).".into(),
        ],
        None,
    )
    .await
}

/// A viewer tried to change something.
async fn viewer_refused(ui: &UiState, op: &Operator, back: String) -> Response {
    chrome::refusal(ui, Some(op), &crate::app::AppError::read_only(), Some(back)).await
}

/// The CSRF and role checks of a form that changes something: `None`
/// when it may go on, else the refusal to answer.
async fn may_change(
    ui: &UiState,
    op: &Operator,
    form: &form::Form,
    back: &str,
) -> Option<Response> {
    if !op.csrf_ok(form.get("csrf").unwrap_or("")) {
        return Some(csrf_refused(ui, op).await);
    }
    if !op.can_change() {
        return Some(viewer_refused(ui, op, back.to_string()).await);
    }
    None
}

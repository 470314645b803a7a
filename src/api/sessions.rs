//! Draft routes for sessions: create (`POST /sessions`), list, get, delete.
//! A caller only ever sees sessions whose requester ASN it may act for;
//! anything else is 404, never 403.

use super::common::{blocking, next_token, owner_asn, page_size};
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Auth, JsonBody};
use super::state::AppState;
use crate::app;
use crate::model::is_id;
use crate::store::SessionFilter;
use crate::validate::Dialect;
use crate::wire::{CreateBody, CreateOut, ListSessionsOut, SessionOut};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

/// `POST /sessions`: 200 with accepted sessions and the refused items'
/// errors; nothing accepted -> 400 (403 / 409 when that is all there was).
#[utoipa::path(
    post, path = "/sessions", tag = "sessions", operation_id = "createSessions",
    summary = "Request sessions",
    description = "Requests BGP sessions. Each item is validated on its own: the answer lists the accepted sessions (new ones, and identical repeats of existing ones) and the errors of the refused items. Accepted means stored on disk. With nothing accepted the answer is an error: 403 or 409 when every refusal was of that kind, else 400.",
    request_body(content = CreateBody, description = "A bare array of sessions, or `{\"sessions\": [...]}`."),
    responses(
        (status = 200, description = "Some or all sessions accepted; `errors` names the refused items.", body = CreateOut),
        (status = 400, description = "Invalid body, or no session accepted."),
        (status = 403, description = "The caller may not act for the requesting ASN."),
        (status = 409, description = "The neighbor address is held by another session."),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(st): State<AppState>,
    Auth(caller): Auth,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    let body = CreateBody::from_slice(&bytes)
        .map_err(|b| ApiError::with_items(StatusCode::BAD_REQUEST, b.errors))?;
    let out = app::intake(&st.app(), &caller, body, Dialect::Draft).await?;
    if let Some(refused) = out.refused() {
        return Err(refused.into());
    }
    Ok(Json(CreateOut {
        request_id: out.request_id,
        sessions: out.accepted.iter().map(SessionOut::from).collect(),
        errors: out.errors,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only sessions this ASN requested (required when the caller acts for
    /// several ASNs).
    #[param(value_type = u64, required = false, maximum = 4294967295_u64)]
    pub asn: Option<u32>,
    /// Only the sessions of this request.
    #[param(value_type = String, required = false, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub request_id: Option<String>,
    /// Page size, 1 to 100 (default and ceiling: `limits.max_page`).
    #[param(value_type = i64, required = false, minimum = 1, maximum = 100)]
    pub max_results: Option<i64>,
    /// The `next_token` of the previous page.
    #[param(value_type = String, required = false, pattern = "^[A-Za-z0-9_=-]{1,256}$")]
    pub next_token: Option<String>,
}

/// `GET /sessions?asn=&request_id=&max_results=&next_token=`.
#[utoipa::path(
    get, path = "/sessions", tag = "sessions", operation_id = "listSessions",
    summary = "List sessions",
    description = "Sessions the caller's ASN requested, oldest first, a page at a time.",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of sessions; `next_token` is absent on the last.", body = ListSessionsOut),
        (status = 400, description = "Invalid parameter."),
        (status = 403, description = "The caller may not act for `asn`."),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListSessionsOut>, ApiError> {
    let limit = page_size(&st, q.max_results)?;
    let after = next_token(q.next_token.as_deref())?;
    let owner = owner_asn(&caller, q.asn)?;
    if let Some(r) = &q.request_id {
        if !is_id(r) {
            return Err(ApiError::invalid("request_id", "not a request id"));
        }
    }
    let filter = SessionFilter {
        owner_asn: owner,
        request_id: q.request_id.clone(),
        ..Default::default()
    };
    let page = blocking(&st, move |s| {
        s.list_sessions(&filter, after.as_deref(), limit)
    })
    .await?;
    Ok(Json(ListSessionsOut {
        sessions: page.sessions.iter().map(SessionOut::from).collect(),
        next_token: page.next,
    }))
}

/// `GET /sessions/{session_id}`.
#[utoipa::path(
    get, path = "/sessions/{session_id}", tag = "sessions", operation_id = "getSession",
    summary = "Get one session",
    params(("session_id" = String, Path, description = "The session id the server assigned.")),
    responses(
        (status = 200, description = "The session.", body = SessionOut),
        (status = 404, description = "No such session, or not the caller's."),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SessionOut>, ApiError> {
    let s = app::visible_session(&st.app(), &caller, &id).await?;
    Ok(Json(SessionOut::from(&s)))
}

/// `DELETE /sessions/{session_id}`: 204. A session whose config never
/// reached its router (Pending, never pushed, Rejected) or is already gone
/// from it (Unestablished) is removed at once, without the router; any
/// other goes `Deleting`, which queues the removal from the router, and
/// answers 404 once that is done.
#[utoipa::path(
    delete, path = "/sessions/{session_id}", tag = "sessions", operation_id = "deleteSession",
    summary = "Delete a session",
    description = "A session whose config never reached its router is removed at once; any other goes `Deleting` while its config is removed from the router, then is gone (404).",
    params(("session_id" = String, Path, description = "The session id the server assigned.")),
    responses(
        (status = 204, description = "Removed, or removal queued."),
        (status = 404, description = "No such session, or not the caller's."),
        (status = 409, description = "The session cannot be deleted now."),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app::delete(&st.app(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

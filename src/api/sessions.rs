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

/// `POST /sessions`: 200 with accepted sessions and the refused items'
/// errors; nothing accepted -> 400 (403 / 409 when that is all there was).
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub asn: Option<u32>,
    pub request_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `GET /sessions?asn=&request_id=&max_results=&next_token=`.
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
pub async fn delete(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    app::delete(&st.app(), &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

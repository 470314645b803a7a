//! The v0 proof-of-concept routes, in the exact shapes of its slides:
//! `GET /v0/list_locations`, `POST /v0/add_sessions` (a bare array, snake
//! case in, camelCase out) and `GET /v0/get_status` (200 when every session
//! is settled, 202 while any waits, 404 for an unknown request id).

use super::common::{blocking, page_size};
use super::error::ApiError;
use super::extract::{ApiQuery, Auth, JsonBody};
use super::locations::filter;
use super::state::AppState;
use crate::app;
use crate::model::{is_id, new_id, Session};
use crate::store::SessionFilter;
use crate::validate::Dialect;
use crate::wire::{CreateBody, V0ListLocationsOut, V0SessionsOut};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListLocationsQuery {
    /// The asking network.
    #[param(value_type = u64, maximum = 4294967295_u64)]
    pub asn: u32,
    /// `PUBLIC` or `PRIVATE` (any case).
    #[param(value_type = String, required = false)]
    pub location_type: Option<String>,
}

/// `GET /v0/list_locations?asn=&location_type=`.
#[utoipa::path(
    get, path = "/v0/list_locations", tag = "v0", operation_id = "v0ListLocations",
    summary = "List peering locations (v0)",
    params(ListLocationsQuery),
    responses(
        (status = 200, description = "The locations.", body = V0ListLocationsOut),
        (status = 400, description = "Invalid parameter."),
        (status = 403, description = "The caller may not act for `asn`."),
    ),
    security(("bearer" = []))
)]
pub async fn list_locations(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ListLocationsQuery>,
) -> Result<Json<V0ListLocationsOut>, ApiError> {
    let locs = filter(&st, &caller, Some(q.asn), q.location_type.as_deref())?;
    Ok(Json(V0ListLocationsOut::new(locs, new_id())))
}

/// `POST /v0/add_sessions`: 200 with the accepted sessions; when some items
/// were refused, `error` summarises why. Nothing accepted: the error body
/// with 400 (403 / 409 when that is all there was).
#[utoipa::path(
    post, path = "/v0/add_sessions", tag = "v0", operation_id = "v0AddSessions",
    summary = "Request sessions (v0)",
    description = "As `POST /sessions`, answered in the v0 shapes (camelCase). When some items were refused, `error` summarises why.",
    request_body(content = CreateBody, description = "A bare array of sessions (snake_case)."),
    responses(
        (status = 200, description = "Some or all sessions accepted.", body = V0SessionsOut),
        (status = 400, description = "Invalid body, or no session accepted."),
        (status = 403, description = "The caller may not act for the requesting ASN."),
        (status = 409, description = "The neighbor address is held by another session."),
    ),
    security(("bearer" = []))
)]
pub async fn add_sessions(
    State(st): State<AppState>,
    Auth(caller): Auth,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    let body = CreateBody::from_slice(&bytes)
        .map_err(|b| ApiError::with_items(StatusCode::BAD_REQUEST, b.errors))?;
    let out = app::intake(&st.app(), &caller, body, Dialect::V0).await?;
    if let Some(refused) = out.refused() {
        return Err(refused.into());
    }
    let mut answer = V0SessionsOut::new(&out.accepted, out.request_id);
    if !out.errors.is_empty() {
        let summary: Vec<String> = out
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.name, e.errors.join(", ")))
            .collect();
        answer.error = Some(summary.join("; "));
    }
    Ok(Json(answer).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The requesting network.
    #[param(value_type = u64, maximum = 4294967295_u64)]
    pub asn: u32,
    /// The request (as `add_sessions` answered it); without it, the
    /// network's sessions (first page).
    #[param(value_type = String, required = false, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub request_id: Option<String>,
}

/// `GET /v0/get_status?asn=&request_id=`.
#[utoipa::path(
    get, path = "/v0/get_status", tag = "v0", operation_id = "v0GetStatus",
    summary = "Status of a request (v0)",
    params(StatusQuery),
    responses(
        (status = 200, description = "Every session is settled.", body = V0SessionsOut),
        (status = 202, description = "Some session is still waiting (Pending, Approved, Provisioning, Deleting).", body = V0SessionsOut),
        (status = 400, description = "Invalid parameter."),
        (status = 403, description = "The caller may not act for `asn`."),
        (status = 404, description = "Unknown request id."),
    ),
    security(("bearer" = []))
)]
pub async fn get_status(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Response, ApiError> {
    if !caller.may_act_for(q.asn) {
        return Err(ApiError::forbidden(
            "asn",
            format!("you may not act for AS{}", q.asn),
        ));
    }
    let asn = q.asn;
    let (request_id, sessions): (String, Vec<Session>) = match q.request_id {
        Some(rid) => {
            if !is_id(&rid) {
                return Err(ApiError::not_found("request"));
            }
            let filter = SessionFilter {
                owner_asn: Some(asn),
                request_id: Some(rid.clone()),
                ..Default::default()
            };
            let r2 = rid.clone();
            let (rec, page) = blocking(&st, move |s| {
                Ok((s.get_request(&r2)?, s.list_sessions(&filter, None, 100)?))
            })
            .await?;
            // Unknown, or another network's request: the same 404.
            match rec {
                Some(r) if r.requester_asn.0 == asn || !page.sessions.is_empty() => {}
                _ => return Err(ApiError::not_found("request")),
            }
            (rid, page.sessions)
        }
        None => {
            let limit = page_size(&st, None)?;
            let filter = SessionFilter {
                owner_asn: Some(asn),
                ..Default::default()
            };
            let page = blocking(&st, move |s| s.list_sessions(&filter, None, limit)).await?;
            (String::new(), page.sessions)
        }
    };
    let waiting = sessions.iter().any(|s| s.status.is_waiting());
    let code = if waiting {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(V0SessionsOut::new(&sessions, request_id))).into_response())
}

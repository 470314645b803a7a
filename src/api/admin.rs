//! Admin routes (operator keys only; anyone else gets 403): every session
//! by status, approve, reject with a reason, retry now, force remove (the
//! operator use cases of [`crate::app`]), a session's audit trail, and the
//! job queue.

use super::common::{blocking, next_token, page_size};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Operator};
use super::state::AppState;
use crate::app;
use crate::model::{is_id, Direction, SessionStatus};
use crate::store::SessionFilter;
use crate::wire::{
    rfc3339, AdminSessionOut, AuditEventOut, AuditOut, ForceRemovedOut, JobOut, JobsOut,
    ListAdminOut, RejectIn,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminListQuery {
    pub status: Option<String>,
    pub asn: Option<u32>,
    pub router: Option<String>,
    pub request_id: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `GET /admin/sessions?status=&asn=&router=&request_id=&direction=&max_results=&next_token=`.
pub async fn list(
    State(st): State<AppState>,
    Operator(_op): Operator,
    ApiQuery(q): ApiQuery<AdminListQuery>,
) -> Result<Json<ListAdminOut>, ApiError> {
    let limit = page_size(&st, q.max_results)?;
    let after = next_token(q.next_token.as_deref())?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(SessionStatus::parse(s).ok_or_else(|| {
            ApiError::invalid("status", "not a session status (Pending, Approved, ...)")
        })?),
    };
    if let Some(r) = &q.request_id {
        if !is_id(r) {
            return Err(ApiError::invalid("request_id", "not a request id"));
        }
    }
    let direction = match q.direction.as_deref() {
        None | Some("") => None,
        Some(d) => Some(
            Direction::parse(d)
                .ok_or_else(|| ApiError::invalid("direction", "inbound or outbound"))?,
        ),
    };
    let filter = SessionFilter {
        owner_asn: q.asn,
        request_id: q.request_id,
        status,
        router: q.router,
        direction,
    };
    let page = blocking(&st, move |s| {
        s.list_sessions(&filter, after.as_deref(), limit)
    })
    .await?;
    Ok(Json(ListAdminOut {
        sessions: page.sessions.iter().map(AdminSessionOut::from).collect(),
        next_token: page.next,
    }))
}

/// `GET /admin/sessions/{id}`.
pub async fn get_one(
    State(st): State<AppState>,
    Operator(_op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let s = app::session(&st.app(), &id).await?;
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/approve`: Pending or Failed -> Approved
/// (queued for provisioning).
pub async fn approve(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let s = app::approve(&st.app(), &op, &id).await?;
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/reject` `{"reason": "..."}`: Pending or
/// Failed -> Rejected, the reason in `status_detail` for the peer to read.
pub async fn reject(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RejectIn>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let s = app::reject(&st.app(), &op, &id, &body.reason).await?;
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/retry`: a Failed session, or one backing off
/// after failed attempts, goes back to the queue now with its attempts
/// reset ([`app::retry`]); 409 when nothing waits.
pub async fn retry(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let s = app::retry(&st.app(), &op, &id).await?;
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/force-remove`: a Deleting or Failed session
/// leaves the store without its router being contacted
/// ([`app::force_remove`]); the answer warns when config may remain
/// there. 409 for other statuses.
pub async fn force_remove(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ForceRemovedOut>, ApiError> {
    let done = app::force_remove(&st.app(), &op, &id).await?;
    Ok(Json(ForceRemovedOut {
        removed: true,
        session: AdminSessionOut::from(&done.session),
        warning: done.warning,
    }))
}

/// `GET /admin/sessions/{id}/audit`: oldest first; kept after deletion.
pub async fn audit(
    State(st): State<AppState>,
    Operator(_op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AuditOut>, ApiError> {
    if !is_id(&id) {
        return Err(ApiError::not_found("session"));
    }
    let sid = id.clone();
    let events = blocking(&st, move |s| s.audit(&sid)).await?;
    if events.is_empty() {
        return Err(ApiError::not_found("session"));
    }
    Ok(Json(AuditOut {
        session_id: id,
        events: events
            .into_iter()
            .map(|e| AuditEventOut {
                at: rfc3339(e.at_ms),
                actor: e.actor,
                action: e.action,
                from: e.from,
                to: e.to,
                detail: e.detail,
            })
            .collect(),
    }))
}

/// `GET /admin/jobs`.
pub async fn jobs(
    State(st): State<AppState>,
    Operator(_op): Operator,
) -> Result<(StatusCode, Json<JobsOut>), ApiError> {
    let jobs = blocking(&st, |s| s.jobs()).await?;
    Ok((
        StatusCode::OK,
        Json(JobsOut {
            jobs: jobs.iter().map(JobOut::from).collect(),
        }),
    ))
}

/// `GET /admin/metrics`: the worker's counters in Prometheus text format.
pub async fn metrics(
    State(st): State<AppState>,
    Operator(_op): Operator,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        st.metrics.render(),
    )
}

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
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminListQuery {
    /// Only sessions in this status (any case).
    #[param(value_type = SessionStatus, required = false)]
    pub status: Option<String>,
    /// Only sessions this ASN requested.
    #[param(value_type = u64, required = false, maximum = 4294967295_u64)]
    pub asn: Option<u32>,
    /// Only sessions on this router.
    #[param(value_type = String, required = false)]
    pub router: Option<String>,
    /// Only the sessions of this request.
    #[param(value_type = String, required = false, pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub request_id: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Page size, 1 to 100.
    #[param(value_type = i64, required = false, minimum = 1, maximum = 100)]
    pub max_results: Option<i64>,
    /// The `next_token` of the previous page.
    #[param(value_type = String, required = false, pattern = "^[A-Za-z0-9_=-]{1,256}$")]
    pub next_token: Option<String>,
}

/// `GET /admin/sessions?status=&asn=&router=&request_id=&direction=&max_results=&next_token=`.
#[utoipa::path(
    get, path = "/admin/sessions", tag = "admin", operation_id = "adminListSessions",
    summary = "List every session",
    params(AdminListQuery),
    responses(
        (status = 200, description = "One page of sessions.", body = ListAdminOut),
        (status = 400, description = "Invalid parameter."),
    ),
    security(("bearer" = []))
)]
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
        ..Default::default()
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
#[utoipa::path(
    get, path = "/admin/sessions/{session_id}", tag = "admin", operation_id = "adminGetSession",
    summary = "Get any session",
    params(("session_id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "The session.", body = AdminSessionOut),
        (status = 404, description = "No such session."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    post, path = "/admin/sessions/{session_id}/approve", tag = "admin", operation_id = "adminApprove",
    summary = "Approve a session",
    description = "Pending or Failed -> Approved (queued for provisioning).",
    params(("session_id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "Approved: queued for provisioning.", body = AdminSessionOut),
        (status = 404, description = "No such session."),
        (status = 409, description = "The session is not Pending or Failed."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    post, path = "/admin/sessions/{session_id}/reject", tag = "admin", operation_id = "adminReject",
    summary = "Reject a session",
    description = "Pending or Failed -> Rejected; the reason goes to `status_detail` for the peer to read.",
    params(("session_id" = String, Path, description = "The session id.")),
    request_body = RejectIn,
    responses(
        (status = 200, description = "Rejected.", body = AdminSessionOut),
        (status = 400, description = "Invalid reason."),
        (status = 404, description = "No such session."),
        (status = 409, description = "The session is not Pending or Failed."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    post, path = "/admin/sessions/{session_id}/retry", tag = "admin", operation_id = "adminRetry",
    summary = "Retry a push now",
    description = "A Failed session, or one backing off after failed attempts, goes back to the queue now with its attempts reset.",
    params(("session_id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "Queued again.", body = AdminSessionOut),
        (status = 404, description = "No such session."),
        (status = 409, description = "Nothing waits (or the push is running now)."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    post, path = "/admin/sessions/{session_id}/force-remove", tag = "admin", operation_id = "adminForceRemove",
    summary = "Remove a session without its router",
    description = "A Deleting or Failed session leaves the store without its router being contacted.",
    params(("session_id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "Removed; `warning` says when config may remain on the router.", body = ForceRemovedOut),
        (status = 404, description = "No such session."),
        (status = 409, description = "The session is not Deleting or Failed."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get, path = "/admin/sessions/{session_id}/audit", tag = "admin", operation_id = "adminAudit",
    summary = "Audit trail of a session",
    params(("session_id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "Every recorded change, oldest first (kept after deletion).", body = AuditOut),
        (status = 404, description = "No trail for this id."),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get, path = "/admin/jobs", tag = "admin", operation_id = "adminJobs",
    summary = "The job queue",
    responses(
        (status = 200, description = "Every queued job, in id order.", body = JobsOut),
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get, path = "/admin/metrics", tag = "admin", operation_id = "adminMetrics",
    summary = "Metrics (operator key)",
    description = "Kept for scrapers configured with an operator key; `GET /metrics` serves the same without a key.",
    responses(
        (status = 200, description = "Prometheus text exposition, the same as `GET /metrics`.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    ),
    security(("bearer" = []))
)]
pub async fn metrics(
    State(st): State<AppState>,
    Operator(_op): Operator,
) -> axum::response::Response {
    super::ops::exposition(&st).await
}

//! Admin routes (operator keys only; anyone else gets 403): every session
//! by status, approve, reject with a reason, retry now, force remove, a
//! session's audit trail, and the job queue. Each change is recorded with
//! the operator's name.

use super::common::{blocking, durable, next_token, page_size};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Operator};
use super::lifecycle;
use super::state::AppState;
use crate::model::{is_id, Session, SessionStatus};
use crate::store::{SessionFilter, TransitionOpts};
use crate::wire::{
    rfc3339, AdminSessionOut, AuditEventOut, AuditOut, ForceRemovedOut, JobOut, JobsOut,
    ListAdminOut, RejectIn,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

/// Longest rejection reason.
pub const REASON_MAX: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminListQuery {
    pub status: Option<String>,
    pub asn: Option<u32>,
    pub router: Option<String>,
    pub request_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `GET /admin/sessions?status=&asn=&router=&request_id=&max_results=&next_token=`.
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
    let filter = SessionFilter {
        owner_asn: q.asn,
        request_id: q.request_id,
        status,
        router: q.router,
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

async fn session(st: &AppState, id: &str) -> Result<Session, ApiError> {
    if !is_id(id) {
        return Err(ApiError::not_found("session"));
    }
    let id = id.to_string();
    blocking(st, move |s| s.get_session(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("session"))
}

/// `GET /admin/sessions/{id}`.
pub async fn get_one(
    State(st): State<AppState>,
    Operator(_op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    Ok(Json(AdminSessionOut::from(&session(&st, &id).await?)))
}

/// Moves a session to `to` if it is in one of `from`; 409 otherwise.
async fn decide(
    st: &AppState,
    id: &str,
    to: SessionStatus,
    from: &[SessionStatus],
    opts: TransitionOpts,
) -> Result<Session, ApiError> {
    let cur = session(st, id).await?;
    if !from.contains(&cur.status) {
        let want: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::conflict(
            "status",
            format!(
                "the session is {}; only {} sessions can become {to}",
                cur.status,
                want.join(" or ")
            ),
        ));
    }
    let sid = cur.session_id.clone();
    let s = blocking(st, move |s| s.transition(&sid, to, opts)).await?;
    durable(st).await?;
    Ok(s)
}

/// `POST /admin/sessions/{id}/approve`: Pending or Failed -> Approved
/// (queued for provisioning).
pub async fn approve(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let from = [SessionStatus::Pending, SessionStatus::Failed];
    let opts = TransitionOpts {
        detail: Some(None),
        actor: op.principal.clone(),
        action: Some("approve".into()),
        expect: from.to_vec(),
    };
    let s = decide(&st, &id, SessionStatus::Approved, &from, opts).await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, "session approved");
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
    let reason = body.reason.trim().to_string();
    if reason.is_empty() {
        return Err(ApiError::invalid("reason", "required"));
    }
    crate::validate::text::check_text(&reason, REASON_MAX)
        .map_err(|m| ApiError::invalid("reason", m))?;
    let from = [SessionStatus::Pending, SessionStatus::Failed];
    let opts = TransitionOpts {
        detail: Some(Some(reason)),
        actor: op.principal.clone(),
        action: Some("reject".into()),
        expect: from.to_vec(),
    };
    let s = decide(&st, &id, SessionStatus::Rejected, &from, opts).await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, "session rejected");
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/retry`: a Failed session, or one backing off
/// after failed attempts, goes back to the queue now with its attempts
/// reset ([`lifecycle::retry_now`]); 409 when nothing waits.
pub async fn retry(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminSessionOut>, ApiError> {
    let cur = session(&st, &id).await?;
    let actor = op.principal.clone();
    let s = blocking(&st, move |s| {
        lifecycle::retry_now(s, &cur.session_id, &actor)
    })
    .await?;
    durable(&st).await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, status = %s.status, "retry now");
    Ok(Json(AdminSessionOut::from(&s)))
}

/// `POST /admin/sessions/{id}/force-remove`: a Deleting or Failed session
/// leaves the store without its router being contacted
/// ([`lifecycle::force_remove`]); the answer warns when config may remain
/// there. 409 for other statuses.
pub async fn force_remove(
    State(st): State<AppState>,
    Operator(op): Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ForceRemovedOut>, ApiError> {
    let cur = session(&st, &id).await?;
    let actor = op.principal.clone();
    let done = blocking(&st, move |s| {
        lifecycle::force_remove(s, &cur.session_id, &actor)
    })
    .await?;
    durable(&st).await?;
    tracing::warn!(session_id = %done.session.session_id, by = %op.principal,
        router = %done.session.router, "session force-removed without its router");
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

//! An operator's decisions on one session: approve, reject with a reason,
//! retry now, force remove. Each change is recorded with the operator's
//! name and is on disk before the use case returns. The HTTP layer lets
//! only operators reach these (admin routes); they check again.

use super::lifecycle::{self, ForceRemoved};
use super::{AppError, Ctx};
use crate::model::{is_id, Caller, Session, SessionStatus};
use crate::store::TransitionOpts;
use crate::validate::text::check_text;

/// Longest rejection reason.
pub const REASON_MAX: usize = 500;

/// Only operators decide, and only those who may change things (not a
/// viewer).
fn operator_only(op: &Caller) -> Result<(), AppError> {
    if op.is_operator && !op.may_change() {
        Err(AppError::read_only())
    } else if op.is_operator {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "request",
            "admin routes need an operator key",
        ))
    }
}

/// The session `id`, whoever's it is (what operators see); not found when
/// there is none.
pub async fn session(ctx: &Ctx, id: &str) -> Result<Session, AppError> {
    if !is_id(id) {
        return Err(AppError::not_found("session"));
    }
    // a point read: it never waits for the disk (see store's Reads)
    ctx.store
        .get_session(id)?
        .ok_or_else(|| AppError::not_found("session"))
}

/// An outbound session waiting for the remote's answer is decided by the
/// remote: approving it would configure our end before the remote agreed,
/// rejecting it would leave the remote's end waiting (delete it instead).
async fn not_waiting_for_remote(ctx: &Ctx, id: &str, what: &str) -> Result<(), AppError> {
    let s = session(ctx, id).await?;
    if super::outbound::is_outbound(&s) && s.status == SessionStatus::Pending {
        return Err(AppError::conflict(
            "status",
            format!(
                "the session waits for AS{}'s answer and cannot be {what} here; delete it to withdraw the request",
                s.local_asn
            ),
        ));
    }
    Ok(())
}

/// Moves a session to `to` if it is in one of `from`; a conflict otherwise.
async fn decide(
    ctx: &Ctx,
    id: &str,
    to: SessionStatus,
    from: &[SessionStatus],
    opts: TransitionOpts,
) -> Result<Session, AppError> {
    let cur = session(ctx, id).await?;
    if !from.contains(&cur.status) {
        let want: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(AppError::conflict(
            "status",
            format!(
                "the session is {}; only {} sessions can become {to}",
                cur.status,
                want.join(" or ")
            ),
        ));
    }
    let sid = cur.session_id.clone();
    let s = ctx.blocking(move |s| s.transition(&sid, to, opts)).await?;
    ctx.durable().await?;
    Ok(s)
}

/// Pending or Failed -> Approved (queued for provisioning).
pub async fn approve(ctx: &Ctx, op: &Caller, id: &str) -> Result<Session, AppError> {
    operator_only(op)?;
    not_waiting_for_remote(ctx, id, "approved").await?;
    let from = [SessionStatus::Pending, SessionStatus::Failed];
    let opts = TransitionOpts {
        detail: Some(None),
        actor: op.principal.clone(),
        action: Some("approve".into()),
        expect: from.to_vec(),
    };
    let s = decide(ctx, id, SessionStatus::Approved, &from, opts).await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, "session approved");
    Ok(s)
}

/// Pending or Failed -> Rejected, the reason (required, plain text of at
/// most [`REASON_MAX`] characters) in `status_detail` for the peer to read.
pub async fn reject(ctx: &Ctx, op: &Caller, id: &str, reason: &str) -> Result<Session, AppError> {
    operator_only(op)?;
    not_waiting_for_remote(ctx, id, "rejected").await?;
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "required"));
    }
    check_text(&reason, REASON_MAX).map_err(|m| AppError::invalid("reason", m))?;
    let from = [SessionStatus::Pending, SessionStatus::Failed];
    let opts = TransitionOpts {
        detail: Some(Some(reason)),
        actor: op.principal.clone(),
        action: Some("reject".into()),
        expect: from.to_vec(),
    };
    let s = decide(ctx, id, SessionStatus::Rejected, &from, opts).await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, "session rejected");
    Ok(s)
}

/// Retry now: a Failed session, or one backing off after failed attempts,
/// goes back to the queue now with its attempts reset
/// ([`lifecycle::retry_now`]); a conflict when nothing waits.
pub async fn retry(ctx: &Ctx, op: &Caller, id: &str) -> Result<Session, AppError> {
    operator_only(op)?;
    let cur = session(ctx, id).await?;
    let actor = op.principal.clone();
    let s = ctx
        .blocking(move |s| lifecycle::retry_now(s, &cur.session_id, &actor))
        .await?;
    ctx.durable().await?;
    tracing::info!(session_id = %s.session_id, by = %op.principal, status = %s.status, "retry now");
    Ok(s)
}

/// A Deleting or Failed session leaves the store without its router being
/// contacted ([`lifecycle::force_remove`]); the outcome warns when config
/// may remain there. A conflict for other statuses.
pub async fn force_remove(ctx: &Ctx, op: &Caller, id: &str) -> Result<ForceRemoved, AppError> {
    operator_only(op)?;
    let cur = session(ctx, id).await?;
    let actor = op.principal.clone();
    let done = ctx
        .blocking(move |s| lifecycle::force_remove(s, &cur.session_id, &actor))
        .await?;
    ctx.durable().await?;
    tracing::warn!(session_id = %done.session.session_id, by = %op.principal,
        router = %done.session.router, "session force-removed without its router");
    Ok(done)
}

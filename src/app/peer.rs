//! A peer's own sessions: which ones it may see, and deleting one.
//! A caller only ever sees sessions whose requester ASN it may act for;
//! anything else is "not found", so nobody learns that another network's
//! session exists. (An outbound session's `local_asn` is the remote we
//! asked: that network sees it too, and may delete it.)

use super::lifecycle::{self, Deletion};
use super::{AppError, Ctx};
use crate::model::{is_id, Caller, Session};

/// The session if it exists and `caller` may see it (its requester ASN is
/// one the caller acts for, or the caller is an operator); else not found.
pub async fn visible_session(ctx: &Ctx, caller: &Caller, id: &str) -> Result<Session, AppError> {
    if !is_id(id) {
        return Err(AppError::not_found("session"));
    }
    // a point read: it never waits for the disk (see store's Reads)
    match ctx.store.get_session(id).map_err(AppError::from)? {
        Some(s) if caller.may_act_for(s.local_asn.0) => Ok(s),
        _ => Err(AppError::not_found("session")),
    }
}

/// Deletes a session the caller may see ([`lifecycle::delete`]): one whose
/// config never reached its router (Pending, never pushed, Rejected) or is
/// already gone from it (Unestablished) is removed at once, without the
/// router; any other goes `Deleting`, which queues the removal from the
/// router. On disk before it returns.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: &str) -> Result<Deletion, AppError> {
    if !caller.may_change() {
        return Err(AppError::read_only());
    }
    let s = visible_session(ctx, caller, id).await?;
    if super::outbound::is_outbound(&s) {
        // ours at a remote: the remote's end goes too
        let (sid, from) = (s.session_id.clone(), s.status);
        let done = super::outbound::withdraw(ctx, caller, s).await?;
        tracing::info!(session_id = %sid, by = %caller.principal, from = %from, "outbound session deletion");
        return Ok(done);
    }
    let sid = s.session_id.clone();
    let actor = caller.principal.clone();
    let done = ctx
        .blocking(move |store| lifecycle::delete(store, &sid, &actor))
        .await?;
    ctx.durable().await?;
    let what = match done {
        Deletion::Removed(_) => "removed",
        Deletion::Deleting(_) => "deleting",
    };
    tracing::info!(session_id = %s.session_id, by = %caller.principal, from = %s.status, what, "session deletion");
    Ok(done)
}

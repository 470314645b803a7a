//! Deleting an outbound session: our end goes as any session's does
//! ([`super::super::lifecycle::delete`]: `Deleting`, the worker removes the
//! neighbor, then the session), and the remote is asked to delete its end
//! (draft `DELETE /sessions/{id}`). The remote deletion is recorded on
//! disk first ([`super::DELETE_NS`]) and tried at once; when the remote
//! cannot be reached the follower retries it with backoff. A v0 remote has
//! no delete: its own time window removes its end.
//!
//! When the remote network itself deletes the session through our API, it
//! is not called back.

use super::super::lifecycle::{self, Deletion};
use super::super::{AppError, Ctx};
use super::{meta_put, tools, Outbound, PendingDelete, DELETE_NS};
use crate::model::{now_ms, Caller, RemotePhase, Session};
use crate::outbound::{Deleted, RemoteError};

/// Records that the remote's end of `s` must be deleted (if the remote
/// may hold it), to be done by [`run_delete`].
pub(super) fn queue_delete(ctx: &Ctx, s: &Session, why: &str) -> Result<(), AppError> {
    let r = s.remote.clone().unwrap_or_default();
    if r.phase == RemotePhase::Gone {
        return Ok(());
    }
    let pd = PendingDelete {
        remote_asn: s.local_asn.0,
        remote_session_id: r.session_id.clone(),
        our_ip: s.peer_ip,
        their_ip: s.local_ip,
        created_ms: now_ms(),
        next_ms: 0,
        attempts: 0,
        last_error: None,
    };
    meta_put(ctx, DELETE_NS, &s.session_id, &pd)?;
    tracing::info!(session_id = %s.session_id, remote_asn = pd.remote_asn, why, "deletion at the remote queued");
    // the session (if it is still stored) no longer counts as held there
    let mut gone = r;
    gone.phase = RemotePhase::Gone;
    if let Err(e) = ctx.store.set_remote(
        &s.session_id,
        gone,
        None,
        &format!("remote:AS{}", s.local_asn),
    ) {
        tracing::debug!(session_id = %s.session_id, error = %e, "remote phase not updated");
    }
    Ok(())
}

/// An operator (or the remote network) deletes outbound session `s`.
pub async fn withdraw(ctx: &Ctx, caller: &Caller, s: Session) -> Result<Deletion, AppError> {
    let by_remote = !caller.is_operator && caller.may_act_for(s.local_asn.0);
    let ob = if by_remote { None } else { tools(ctx).ok() };
    if ob.is_some() {
        queue_delete(ctx, &s, "deleted by an operator")?;
    }
    let sid = s.session_id.clone();
    let actor = caller.principal.clone();
    let done = ctx
        .blocking(move |store| lifecycle::delete(store, &sid, &actor))
        .await?;
    ctx.durable().await?;
    if let Some(ob) = ob {
        if let Some(pd) = super::meta_get::<PendingDelete>(ctx, DELETE_NS, &s.session_id)? {
            run_delete(ctx, &ob, &s.session_id, pd, u32::MAX).await;
            ctx.durable().await?;
        }
    }
    Ok(done)
}

/// One attempt at a queued remote deletion: done (or nothing to do) drops
/// the record; a failure is retried later with backoff, at most
/// `max_attempts` times.
pub(super) async fn run_delete(
    ctx: &Ctx,
    ob: &Outbound,
    sid: &str,
    mut pd: PendingDelete,
    max_attempts: u32,
) {
    let asn = pd.remote_asn;
    let outcome: Result<String, String> = async {
        let peer = ob
            .remote(asn)
            .map_err(|_| format!("AS{asn} is no longer in outbound.remotes"))?;
        let t = ob.target(peer).await?;
        let id = match pd.remote_session_id.clone() {
            Some(id) => id,
            None => {
                // never confirmed: does the remote hold it after all?
                let listed = ob
                    .client
                    .list(&t, None)
                    .await
                    .or_else(|e| match e {
                        RemoteError::NotFound => Ok(Default::default()),
                        e => Err(e),
                    })
                    .map_err(|e| format!("AS{asn}: {e}"))?;
                match listed
                    .sessions
                    .iter()
                    .find(|v| v.is_pair(pd.our_ip, pd.their_ip))
                    .and_then(|v| v.session_id.clone())
                {
                    Some(id) => id,
                    None => return Ok(format!("AS{asn} does not hold it")),
                }
            }
        };
        match ob.client.delete(&t, &id).await {
            Ok(Deleted::Done) => Ok(format!("AS{asn} deleted its session {id}")),
            Ok(Deleted::AlreadyGone) => Ok(format!("AS{asn} no longer had session {id}")),
            Err(RemoteError::Unsupported(m)) => Ok(m.to_string()),
            // its words are not kept here: the session (and so its secret,
            // which a remote could quote) may be gone already
            Err(RemoteError::Refused { status, .. }) => Err(format!(
                "AS{asn} did not delete session {id}: it refused (HTTP {status})"
            )),
            Err(RemoteError::Malformed(_)) => Err(format!(
                "AS{asn} did not delete session {id}: its answer was not understood"
            )),
            Err(e) => Err(format!("AS{asn}: {e}")),
        }
    }
    .await;
    match outcome {
        Ok(what) => {
            tracing::info!(session_id = %sid, remote_asn = asn, what, "deletion at the remote done");
            if let Err(e) = ctx.store.meta_delete(DELETE_NS, sid) {
                tracing::error!(session_id = %sid, error = %e, "dropping a done remote deletion failed");
            }
        }
        Err(why) => {
            pd.attempts = pd.attempts.saturating_add(1);
            if pd.attempts >= max_attempts {
                tracing::warn!(session_id = %sid, remote_asn = asn, attempts = pd.attempts, error = %why,
                    "giving up deleting the session at the remote; its own time window removes its end");
                let _ = ctx.store.meta_delete(DELETE_NS, sid);
                return;
            }
            pd.next_ms = now_ms() + ob.backoff_ms(pd.attempts);
            tracing::warn!(session_id = %sid, remote_asn = asn, attempts = pd.attempts, error = %why,
                "deleting the session at the remote failed; trying again later");
            pd.last_error = Some(why);
            if let Err(e) = meta_put(ctx, DELETE_NS, sid, &pd) {
                tracing::error!(session_id = %sid, error = %e, "recording a remote deletion failed");
            }
        }
    }
}

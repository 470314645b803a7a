//! What the remote's word means for our end of an outbound session: one
//! place that turns a remote status (or a failure to learn it) into the
//! stored remote state and, when it decides something, a transition of
//! our session. Shared by the first send and the follower.
//!
//! - remote `Approved`, `Provisioning`, `Configured`, `Established`,
//!   `Down`: accepted; a `Pending` session of ours becomes `Approved`
//!   (queued: the worker provisions our end);
//! - remote `Rejected`, or a refusal of the request: a `Pending` session
//!   becomes `Rejected` with the reason (nothing configured);
//! - remote `Unestablished`/`Deleting`, or the remote no longer knows it:
//!   a `Pending` session is `Rejected`, a live one is deleted (its
//!   neighbor removed by the worker);
//! - anything else (`Pending` there, unknown words): we wait, and
//!   `status_detail` says what the remote said.
//!
//! The remote state is stored before the transition, so a crash between
//! the two is repaired by the next look (same remote state, same act).

use super::super::lifecycle;
use super::super::{AppError, Ctx};
use super::remote_of;
use crate::model::{now_ms, RemotePhase, RemoteState, Session, SessionStatus};
use crate::outbound::{is_accepted, is_gone, is_refused, RemoteView};
use crate::store::TransitionOpts;

fn actor(asn: u32) -> String {
    format!("remote:AS{asn}")
}

/// `text` with the session's secret (if any) redacted: a remote could
/// quote it back.
pub(super) fn scrub(s: &Session, text: String) -> String {
    match &s.session_secret {
        Some(sec) if !sec.expose().is_empty() => text.replace(sec.expose(), "<redacted>"),
        _ => text,
    }
}

/// `text` with the secret of every session of `all` redacted (a remote
/// answering about one session may quote another's).
pub(super) fn scrub_all(all: &[Session], text: String) -> String {
    all.iter().fold(text, |t, s| scrub(s, t))
}

/// The remote's free text in `views` with every secret of `all` redacted.
pub(super) fn scrub_views(views: &mut [RemoteView], all: &[Session]) {
    for v in views {
        if let Some(d) = v.detail.take() {
            v.detail = Some(scrub_all(all, d));
        }
    }
}

async fn store_remote(
    ctx: &Ctx,
    s: &Session,
    r: RemoteState,
    detail: Option<Option<String>>,
    asn: u32,
) -> Result<Session, AppError> {
    let id = s.session_id.clone();
    let who = actor(asn);
    ctx.blocking(move |st| st.set_remote(&id, r, detail, &who))
        .await
}

/// Moves `s` to `to` if it is still in `from`; a session that moved on
/// meanwhile (or was deleted) is left as it is.
async fn move_to(ctx: &Ctx, s: &Session, to: SessionStatus, detail: String, asn: u32) {
    let id = s.session_id.clone();
    let opts = TransitionOpts {
        detail: Some(Some(detail)),
        actor: actor(asn),
        action: Some("remote".into()),
        expect: vec![s.status],
    };
    if let Err(e) = ctx.blocking(move |st| st.transition(&id, to, opts)).await {
        tracing::info!(session_id = %s.session_id, to = %to, error = %e, "outbound session moved on meanwhile");
    }
}

/// Deletes our end of a live session the remote gave up.
async fn remove_ours(ctx: &Ctx, s: &Session, asn: u32) {
    let id = s.session_id.clone();
    let who = actor(asn);
    if let Err(e) = ctx
        .blocking(move |st| lifecycle::delete(st, &id, &who))
        .await
    {
        tracing::info!(session_id = %s.session_id, error = %e, "outbound session: removing our end failed");
    } else {
        tracing::info!(session_id = %s.session_id, remote_asn = asn, "the remote gave the session up; removing our end");
    }
}

/// The remote reported `v` for our session `s`: store it and act on it.
pub(super) async fn adopt(
    ctx: &Ctx,
    asn: u32,
    s: &Session,
    v: &RemoteView,
) -> Result<(), AppError> {
    let mut r = remote_of(s);
    r.phase = RemotePhase::Sent;
    r.session_id = v.session_id.clone().or(r.session_id);
    r.request_id = v.request_id.clone().or(r.request_id);
    r.status = v.status.clone();
    r.detail = v.detail.clone().map(|d| scrub(s, d));
    r.attempts = 0;
    r.checked_ms = Some(now_ms());
    let st = r.status.clone().unwrap_or_default();
    let said = match &r.detail {
        Some(d) => format!("AS{asn} has it as {st}: {d}"),
        None if st.is_empty() => format!("AS{asn} has it (no status given)"),
        None => format!("AS{asn} has it as {st}"),
    };
    let refused = is_refused(&st) || is_gone(&st);
    if refused {
        r.phase = RemotePhase::Gone;
    }
    match s.status {
        SessionStatus::Pending => {
            if is_accepted(&st) {
                store_remote(ctx, s, r, None, asn).await?;
                let msg = format!("AS{asn} accepted it (status {st}); configuring our end");
                move_to(ctx, s, SessionStatus::Approved, msg, asn).await;
            } else if refused {
                store_remote(ctx, s, r, None, asn).await?;
                move_to(
                    ctx,
                    s,
                    SessionStatus::Rejected,
                    format!("{said}; nothing configured"),
                    asn,
                )
                .await;
            } else {
                store_remote(ctx, s, r, Some(Some(format!("{said}; waiting"))), asn).await?;
            }
        }
        SessionStatus::Rejected | SessionStatus::Unestablished | SessionStatus::Deleting => {
            store_remote(ctx, s, r, None, asn).await?;
        }
        _ => {
            store_remote(ctx, s, r, None, asn).await?;
            if refused {
                remove_ours(ctx, s, asn).await;
            }
        }
    }
    Ok(())
}

/// The remote refused our request for `s` (or an item of it).
pub(super) async fn refused(
    ctx: &Ctx,
    asn: u32,
    s: &Session,
    reason: &str,
) -> Result<(), AppError> {
    let mut r = remote_of(s);
    r.phase = RemotePhase::Gone;
    r.status = Some("Rejected".into());
    r.detail = Some(scrub(s, reason.to_string()));
    r.checked_ms = Some(now_ms());
    store_remote(ctx, s, r, None, asn).await?;
    if s.status == SessionStatus::Pending {
        let msg = scrub(
            s,
            format!("AS{asn} refused it: {reason}; nothing configured"),
        );
        move_to(ctx, s, SessionStatus::Rejected, msg, asn).await;
    }
    Ok(())
}

/// The remote no longer knows `s` (404, or absent from its answer).
pub(super) async fn gone(ctx: &Ctx, asn: u32, s: &Session) -> Result<(), AppError> {
    let mut r = remote_of(s);
    r.phase = RemotePhase::Gone;
    r.detail = Some(format!("AS{asn} no longer has this session"));
    r.checked_ms = Some(now_ms());
    store_remote(ctx, s, r, None, asn).await?;
    match s.status {
        SessionStatus::Pending => {
            let msg = format!("AS{asn} no longer has this session; nothing configured");
            move_to(ctx, s, SessionStatus::Rejected, msg, asn).await;
        }
        SessionStatus::Rejected | SessionStatus::Unestablished | SessionStatus::Deleting => {}
        _ => remove_ours(ctx, s, asn).await,
    }
    Ok(())
}

/// A send (or a look at the remote) for `s` failed with `why`. A request
/// the remote never confirmed is given up after `max` attempts
/// (`Rejected`, nothing configured); one it holds is simply looked at
/// again later.
pub(super) async fn failed_attempt(
    ctx: &Ctx,
    asn: u32,
    s: &Session,
    why: &str,
    max: u32,
    retry_in_ms: u64,
) -> Result<(), AppError> {
    let mut r = remote_of(s);
    r.attempts = r.attempts.saturating_add(1);
    let n = r.attempts;
    if n >= max && s.status == SessionStatus::Pending && r.phase == RemotePhase::Sending {
        r.detail = Some(why.to_string());
        store_remote(ctx, s, r, None, asn).await?;
        let msg = format!(
            "no confirmed answer from AS{asn} after {n} attempt(s), giving up: {why}; nothing configured"
        );
        move_to(ctx, s, SessionStatus::Rejected, msg, asn).await;
        return Ok(());
    }
    let detail = (s.status == SessionStatus::Pending).then(|| {
        Some(format!(
            "attempt {n} to reach AS{asn} failed: {why}; asking again in {}s",
            retry_in_ms.div_ceil(1000)
        ))
    });
    store_remote(ctx, s, r, detail, asn).await?;
    Ok(())
}

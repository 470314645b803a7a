//! The one log line per session state change, for every store: a session
//! created, moved from one status to another, or removed, with who did it.
//! Each implementation calls [`log_change`] once per change, after the
//! transaction that made it committed (so a retried or aborted
//! transaction logs nothing). The line carries ids, the router, statuses
//! and the actor: never a secret or text a peer sent.

use crate::model::{Session, SessionStatus};

/// Logs `session: from -> to` under the target `peerd::session`; `from`
/// is `None` for a new session, `to` is `None` for a removed one.
pub fn log_change(
    s: &Session,
    from: Option<SessionStatus>,
    to: Option<SessionStatus>,
    actor: &str,
    action: &str,
) {
    let from = from.map_or("new", SessionStatus::as_str);
    let to = to.map_or("removed", SessionStatus::as_str);
    tracing::info!(
        target: "peerd::session",
        session = %s.session_id,
        router = %s.router,
        from,
        to,
        actor,
        action,
        "session {from} -> {to}"
    );
}

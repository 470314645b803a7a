//! Pure rules every store applies the same way: which statuses a session
//! may start in or hold its address in, the address rule's verdict from
//! the holders of an address (see the [module doc](super)), audit records,
//! clipping of free text, list filters, list cursors. Both the sled and
//! the PostgreSQL store use these.

use super::{Inserted, SessionFilter};
use crate::model::{AuditEvent, JobKind, RemoteState, Session, SessionStatus, UnixMillis};

/// Statuses a session may be created in.
pub const INITIAL: [SessionStatus; 3] = [
    SessionStatus::Pending,
    SessionStatus::Approved,
    SessionStatus::Rejected,
];

/// Longest `status_detail` / audit detail kept (characters).
pub const MAX_DETAIL: usize = 2000;

/// The detail of a session that waits for a `Deleting` holder.
pub const HANDOVER_DETAIL: &str =
    "waits until the previous session at this address is removed from the router";

pub fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_DETAIL) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Statuses after which a session no longer holds its neighbor address.
pub fn is_terminal(s: SessionStatus) -> bool {
    matches!(s, SessionStatus::Rejected | SessionStatus::Unestablished)
}

pub fn event(
    s: &Session,
    actor: &str,
    action: &str,
    from: Option<SessionStatus>,
    detail: Option<String>,
    now: UnixMillis,
) -> AuditEvent {
    AuditEvent {
        at_ms: now,
        session_id: s.session_id.clone(),
        actor: actor.to_string(),
        action: action.to_string(),
        from,
        to: Some(s.status),
        detail,
    }
}

/// A new session's first audit event: `created`, by its creator, in
/// `status` (the status it was created in), at `at`.
pub fn created_event(s: &Session, status: SessionStatus, at: UnixMillis) -> AuditEvent {
    let mut ev = event(
        s,
        &s.created_by,
        "created",
        None,
        Some(format!("request {}", s.request_id)),
        at,
    );
    ev.to = Some(status);
    ev
}

pub fn kind_str(k: JobKind) -> &'static str {
    match k {
        JobKind::Provision => "provision",
        JobKind::Deprovision => "deprovision",
        JobKind::Expire => "expire",
        JobKind::Refresh => "refresh",
    }
}

/// What the other holders of a neighbor address make of a new session
/// `s` there: `Err` is the answer without a write; `Ok(true)` a hand-over
/// from `Deleting` holders, `Ok(false)` a free address.
pub fn address_rule(s: &Session, others: Vec<Session>) -> Result<bool, Box<Inserted>> {
    let holders: Vec<Session> = others
        .into_iter()
        .filter(|h| !is_terminal(h.status))
        .collect();
    let refusal = |h: &Session| {
        if h.local_asn != s.local_asn {
            Inserted::Taken
        } else if h.same_request_as(s) {
            Inserted::Existing(h.clone())
        } else {
            Inserted::Conflict(h.clone())
        }
    };
    if let Some(owner) = holders.iter().find(|h| h.status != SessionStatus::Deleting) {
        return Err(Box::new(refusal(owner)));
    }
    if let Some(h) = holders.iter().find(|h| !h.same_request_as(s)) {
        return Err(Box::new(match refusal(h) {
            Inserted::Taken => Inserted::Taken,
            _ => Inserted::Conflict(h.clone()),
        }));
    }
    Ok(!holders.is_empty())
}

/// Whether `s` passes the filters other than `request_id`.
pub fn matches(f: &SessionFilter, s: &Session) -> bool {
    f.owner_asn.is_none_or(|a| s.local_asn.0 == a)
        && f.status.is_none_or(|st| s.status == st)
        && (f.any_status.is_empty() || f.any_status.contains(&s.status))
        && f.router.as_deref().is_none_or(|r| s.router == r)
        && f.direction.is_none_or(|d| s.direction == d)
}

/// What an operator reads of a session's remote side and detail (an
/// audit record is written only when it changes).
pub fn visible_remote(s: &Session) -> impl PartialEq {
    let r: Option<&RemoteState> = s.remote.as_ref();
    (
        r.map(|r| r.phase),
        r.and_then(|r| r.session_id.clone()),
        r.and_then(|r| r.request_id.clone()),
        r.and_then(|r| r.status.clone()),
        r.and_then(|r| r.detail.clone()),
        s.status_detail.clone(),
    )
}

/// The audit text of a remote side.
pub fn remote_text(remote: &RemoteState) -> String {
    format!(
        "remote {}{}{}",
        remote.phase.as_str(),
        remote
            .status
            .as_deref()
            .map(|st| format!(", status {st}"))
            .unwrap_or_default(),
        remote
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default(),
    )
}

const CURSOR_VERSION: u8 = 1;

/// Opaque list cursor: base64url of a version byte and the last seq seen.
pub fn encode_cursor(seq: u64) -> String {
    use base64::Engine;
    let mut b = [0u8; 9];
    b[0] = CURSOR_VERSION;
    b[1..].copy_from_slice(&seq.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Parses a cursor made by [`encode_cursor`]; anything else is `BadCursor`.
pub fn decode_cursor(s: &str) -> Result<u64, super::StoreError> {
    use super::StoreError;
    use base64::Engine;
    if s.len() > 32 {
        return Err(StoreError::BadCursor);
    }
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| StoreError::BadCursor)?;
    if b.len() != 9 || b[0] != CURSOR_VERSION {
        return Err(StoreError::BadCursor);
    }
    Ok(u64::from_be_bytes(
        b[1..].try_into().map_err(|_| StoreError::BadCursor)?,
    ))
}

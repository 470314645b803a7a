//! The HTTP client of the asking side: peerd calling another network's
//! Peering API, in its dialect (draft-ietf-grow-peering-api-01, or the v0
//! proof of concept).
//!
//! The remote is not trusted. Every call is bounded in time
//! (`outbound.timeout_secs`) and size (`outbound.max_answer_bytes`); only
//! `https://` is spoken (`http://` to loopback only when
//! `outbound.allow_http_loopback`); a redirect is followed only within the
//! same scheme, host and port (at most 3), never to another host, so the
//! bearer token never leaves for somewhere else. Answers are parsed into
//! the strict shapes of [`crate::wire::remote`] and then checked
//! ([`view`]): the session must be between our ASN and the remote's, ids
//! and status strings must be short and plain, free text is neutralised.
//! What comes out ([`RemoteView`]) is data the asking side may store; none
//! of it reaches a template (sessions are built from what *we* asked).
//!
//! The bearer token is never logged and never part of an error.

mod client;
pub mod view;

#[cfg(test)]
mod tests;

pub use client::{Created, Deleted, Listed, RemoteClient};
pub use view::{neutral_text, RemoteView};

use crate::config::RemoteDialect;

/// One remote API, as a call needs it. `Debug` hides the token.
#[derive(Clone)]
pub struct Target {
    /// The remote's ASN.
    pub asn: u32,
    /// Its API base URL (checked: see [`crate::config::check_url`]).
    pub base: reqwest::Url,
    pub dialect: RemoteDialect,
    /// Sent as `Authorization: Bearer ...`.
    pub token: String,
    /// Our ASN (the `asn` query parameter, and one side of every session).
    pub our_asn: u32,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("asn", &self.asn)
            .field("base", &self.base.as_str())
            .field("dialect", &self.dialect)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why a call to a remote did not give an answer we can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// No connection (refused, DNS, TLS).
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    /// No (complete) answer within `outbound.timeout_secs`.
    #[error("no answer within {0}s")]
    Timeout(u64),
    /// 5xx or 429: it may work later.
    #[error("it answered HTTP {0}; trying again later")]
    Unavailable(u16),
    /// A 4xx refusal, with the messages it gave (neutralised).
    #[error("it refused (HTTP {status}){}", fmt_reasons(reasons))]
    Refused { status: u16, reasons: Vec<String> },
    /// 404 where a thing was asked for by id.
    #[error("it does not know it (HTTP 404)")]
    NotFound,
    /// An answer we do not accept: bad JSON, unknown fields, values that
    /// fail the checks, too large, a redirect elsewhere.
    #[error("its answer was refused: {0}")]
    Malformed(String),
    /// The dialect has no such route (v0 has no delete).
    #[error("{0}")]
    Unsupported(&'static str),
}

fn fmt_reasons(r: &[String]) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(": {}", r.join("; "))
    }
}

impl RemoteError {
    /// Worth trying again later (as opposed to an answer that will not
    /// change by itself).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Unreachable(_) | RemoteError::Timeout(_) | RemoteError::Unavailable(_)
        )
    }

    /// For a request we sent: the remote may have stored it although we
    /// did not get (or understand) its answer.
    pub fn outcome_unknown(&self) -> bool {
        self.is_transient() || matches!(self, RemoteError::Malformed(_))
    }
}

/// True for the remote statuses that mean "accepted": the remote approved
/// the session and provisions (or has provisioned) its end.
pub fn is_accepted(status: &str) -> bool {
    [
        "Approved",
        "Provisioning",
        "Configured",
        "Established",
        "Down",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(status))
}

/// True for the remote statuses that mean the remote will not (or no
/// longer) run its end: `Rejected`, `Unestablished`, `Deleting`, `Failed`
/// is not among them (an operator there may retry).
pub fn is_refused(status: &str) -> bool {
    status.eq_ignore_ascii_case("Rejected")
}

/// Statuses in which the remote's end is going or gone.
pub fn is_gone(status: &str) -> bool {
    ["Unestablished", "Deleting"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(status))
}

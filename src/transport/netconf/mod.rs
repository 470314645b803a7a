//! Our own NETCONF client (RFC 6241 over RFC 6242 framing).
//!
//! - [`framing`]: base:1.0 end-of-message and base:1.1 chunked framing, pure
//!   and incremental, with a message size bound.
//! - [`xml`], [`rpc`], [`reply`]: building requests and reading replies,
//!   pure; `<rpc-error>`s become typed [`RpcError`]s with the device's text.
//! - [`client`]: [`NetconfSession`] over any `AsyncRead + AsyncWrite` stream
//!   (the SSH `netconf` subsystem in production): hello and capability
//!   exchange, message-id correlation, timeouts on every read.
//! - [`txn`]: the transactional push (lock, discard, edit candidate,
//!   confirmed commit with a persist id, verify, confirm, unlock) and the
//!   recovery of a confirmed commit after a restart.
//!
//! Payloads are never logged: they carry MD5 secrets.

pub mod client;
pub mod framing;
pub mod reply;
pub mod rpc;
#[cfg(test)]
pub(crate) mod testing;
pub mod txn;
pub mod xml;

use std::time::Duration;

pub use client::{Capabilities, NetconfSession, SessionConfig};
pub use framing::{Framing, FramingError};
pub use reply::{Data, ErrorTag, ErrorType, RpcError, RpcReply, Severity};
pub use rpc::{Commit, Datastore, DefaultOperation, EditConfig, ErrorOption, Filter, TestOption};
pub use txn::{
    new_persist_id, push, recover, CommitMode, PushError, PushOutcome, PushRequest, PushStage,
    RecoverOutcome, Rollback,
};
pub use xml::{Element, XmlError};

/// The NETCONF base namespace.
pub const BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
/// base:1.0 capability (end-of-message framing).
pub const CAP_BASE_10: &str = "urn:ietf:params:netconf:base:1.0";
/// base:1.1 capability (chunked framing).
pub const CAP_BASE_11: &str = "urn:ietf:params:netconf:base:1.1";
/// `:candidate`.
pub const CAP_CANDIDATE: &str = ":candidate";
/// `:writable-running`.
pub const CAP_WRITABLE_RUNNING: &str = ":writable-running";
/// `:confirmed-commit`, any version.
pub const CAP_CONFIRMED_COMMIT: &str = ":confirmed-commit";
/// `:confirmed-commit:1.1` (persist, persist-id, cancel-commit).
pub const CAP_CONFIRMED_COMMIT_11: &str = ":confirmed-commit:1.1";
/// `:rollback-on-error`.
pub const CAP_ROLLBACK_ON_ERROR: &str = ":rollback-on-error";
/// `:validate`, any version.
pub const CAP_VALIDATE: &str = ":validate";
/// `:xpath`.
pub const CAP_XPATH: &str = ":xpath";

/// Any failure of the NETCONF client.
#[derive(Debug, thiserror::Error)]
pub enum NetconfError {
    /// Reading or writing the stream failed.
    #[error("NETCONF I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the stream.
    #[error("NETCONF session closed by the server")]
    Closed,
    /// No complete answer in time.
    #[error("NETCONF {op} timed out after {after:?}")]
    Timeout {
        /// What we were waiting for (`hello` or an operation name).
        op: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The byte stream lost its framing (or a message was too large).
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// A message was not well-formed XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The server broke the protocol (unexpected message, wrong message-id,
    /// bad hello).
    #[error("NETCONF protocol violation: {0}")]
    Protocol(String),
    /// A request could not be built (for example a payload that is not
    /// well-formed XML). Nothing was sent.
    #[error("NETCONF request refused before sending: {0}")]
    Request(String),
    /// The server lacks a capability the operation needs. Nothing was sent.
    #[error("NETCONF server lacks capability {0}")]
    MissingCapability(&'static str),
    /// `<lock>` was refused because another session holds the lock (or,
    /// on netconfd, has a confirmed commit pending): retryable.
    #[error("lock on {target} denied (held by session {holder}): {message}", holder = holder.map_or("?".to_string(), |h| h.to_string()))]
    LockDenied {
        /// The datastore.
        target: Datastore,
        /// `session-id` of the holder if the server said.
        holder: Option<u32>,
        /// The device's message.
        message: String,
    },
    /// The server answered the operation with `<rpc-error>`s.
    #[error("{op} failed: {}", join_errors(errors))]
    Rpc {
        /// The operation (`edit-config`, `commit`, ...).
        op: &'static str,
        /// The errors (severity error first, warnings after).
        errors: Vec<RpcError>,
    },
    /// The session is unusable after an earlier failure (timeout, framing or
    /// protocol error); open a new one.
    #[error("NETCONF session unusable after an earlier failure: {0}")]
    Broken(String),
    /// The caller's verification of the pushed configuration failed.
    #[error("verification failed: {0}")]
    Verify(String),
}

pub(crate) fn join_errors(errors: &[RpcError]) -> String {
    if errors.is_empty() {
        return "no error details".to_string();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl NetconfError {
    /// True for failures worth retrying later unchanged: lock contention,
    /// transport trouble, timeouts, resource shortage on the device.
    pub fn is_retryable(&self) -> bool {
        match self {
            NetconfError::LockDenied { .. }
            | NetconfError::Io(_)
            | NetconfError::Closed
            | NetconfError::Timeout { .. }
            | NetconfError::Broken(_) => true,
            NetconfError::Rpc { errors, .. } => errors.iter().any(|e| {
                e.severity == Severity::Error
                    && matches!(
                        e.tag,
                        ErrorTag::InUse | ErrorTag::LockDenied | ErrorTag::ResourceDenied
                    )
            }),
            _ => false,
        }
    }

    /// True if this is lock contention.
    pub fn is_lock_denied(&self) -> bool {
        matches!(self, NetconfError::LockDenied { .. })
    }

    /// The `<rpc-error>`s, if the server sent any.
    pub fn rpc_errors(&self) -> &[RpcError] {
        match self {
            NetconfError::Rpc { errors, .. } => errors,
            _ => &[],
        }
    }

    /// True if the session cannot be used any more after this error.
    pub fn breaks_session(&self) -> bool {
        matches!(
            self,
            NetconfError::Io(_)
                | NetconfError::Closed
                | NetconfError::Timeout { .. }
                | NetconfError::Framing(_)
                | NetconfError::Xml(_)
                | NetconfError::Protocol(_)
                | NetconfError::Broken(_)
        )
    }
}

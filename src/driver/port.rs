//! The worker's port: what the worker asks of a router once it has
//! rendered the plans ([`RouterDriver`]), what comes back ([`PushOutcome`],
//! [`RouterRead`], [`NeighborState`]) and how failures are classified
//! ([`PushError`]).
//!
//! # The one classification
//!
//! Every executor and the worker decide transient or permanent here, by
//! one rule:
//!
//! - transient (retried with backoff, the reason in `status_detail`):
//!   whatever is the network's, the login's or the moment's fault: refused
//!   connections, timeouts, dropped channels, a host key or credential
//!   problem (it keeps retrying until an operator fixes the router or the
//!   inventory), NETCONF lock contention and broken sessions, a verify that
//!   did not find the change yet, and running out of file descriptors,
//!   ours or the router's, whatever the message came wrapped in;
//! - permanent (the session goes `Failed` with the router's words): the
//!   router refused the config (a command's exit status or output, a
//!   NETCONF `<rpc-error>`), a rollback that failed, a plan the platform
//!   cannot run.

use crate::platform::{DownReason, ObservedNeighbor, ReadPlan, RenderedPush};
use crate::transport::netconf::NetconfError;
use crate::transport::TransportError;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;

/// A push or read failure, classified for the retry decision.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PushError {
    /// Worth retrying (connection refused, timeout, lock held, ...).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help (the router refused the config, bad profile).
    #[error("{0}")]
    Permanent(String),
}

impl PushError {
    /// The error with a permanent-looking failure that is really the lack
    /// of file descriptors (ours or the router's: `EMFILE`/`ENFILE`, "Too
    /// many open files") made transient: it passes by itself, so it must
    /// never mark a session `Failed`.
    pub fn classified(self) -> PushError {
        match self {
            PushError::Permanent(m) if is_resource_exhaustion(&m) => PushError::Transient(m),
            other => other,
        }
    }

    /// A transport failure, told as `msg` (the error's text, redacted by
    /// the caller): a remote command's own failure is the router refusing;
    /// everything else (connect, timeout, channel, host key, login,
    /// credential, output bound) is retried.
    pub fn from_transport(e: &TransportError, msg: String) -> PushError {
        match e {
            TransportError::Remote { .. } => PushError::Permanent(msg),
            _ => PushError::Transient(msg),
        }
        .classified()
    }

    /// A NETCONF failure, told as `msg`: lock contention, transport
    /// trouble, timeouts, a device short of resources, a broken session and
    /// a verify that failed are retried; an `<rpc-error>` refusing the
    /// request is permanent.
    pub fn from_netconf(e: &NetconfError, msg: String) -> PushError {
        if e.is_retryable() || e.breaks_session() || matches!(e, NetconfError::Verify(_)) {
            PushError::Transient(msg)
        } else {
            PushError::Permanent(msg).classified()
        }
    }

    /// The router refused what it was sent (a step's exit status or
    /// output): permanent, unless it ran out of file descriptors.
    pub fn refused(msg: String) -> PushError {
        PushError::Permanent(msg).classified()
    }

    /// The same error with its text passed through `f` (redaction).
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> PushError {
        match self {
            PushError::Transient(m) => PushError::Transient(f(&m)),
            PushError::Permanent(m) => PushError::Permanent(f(&m)),
        }
    }
}

/// True when `msg` says a process ran out of file descriptors: the
/// `strerror` texts of `EMFILE`/`ENFILE` ("Too many open files", "... in
/// system"), Rust's `(os error 24)`/`(os error 23)`, or the errno names.
pub fn is_resource_exhaustion(msg: &str) -> bool {
    let lower = msg.to_ascii_lowercase();
    lower.contains("too many open files")
        || lower.contains("file table overflow")
        || lower.contains("os error 24)")
        || lower.contains("os error 23)")
        || msg
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "EMFILE" || w == "ENFILE")
}

/// What a successful push reports back.
#[derive(Clone, Debug, Default)]
pub struct PushOutcome {
    /// Time spent talking to the router (connect, apply, verify).
    pub router_ms: u64,
}

/// BGP state of one neighbor as the router reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighborState {
    Established,
    /// Configured but not established (Idle, Connect, Active, ...).
    NotEstablished,
    /// Configured, not established, and the router says why (e.g. its
    /// max-prefix limit was hit).
    Down(DownReason),
    /// The router has no such neighbor.
    Absent,
}

/// The reads to make on one router, rendered by the worker, made over one
/// connection.
#[derive(Clone, Debug)]
pub struct RouterReads {
    pub router: String,
    /// The verify read as rendered for some sessions: the neighbors of the
    /// running configuration (before a first push, and for drift).
    pub running: Option<ReadPlan>,
    /// The platform's BGP state read.
    pub state: Option<ReadPlan>,
    /// Secrets the answers may show (the sessions'), kept out of every
    /// message.
    pub secrets: Vec<String>,
}

/// What the reads found, each part for its read (`None`: not asked).
#[derive(Debug, Default)]
pub struct RouterRead {
    /// The neighbors in the running config, or why they could not be read.
    pub running: Option<Result<Vec<ObservedNeighbor>, PushError>>,
    /// BGP state by neighbor address.
    pub state: Option<Result<HashMap<IpAddr, NeighborState>, PushError>>,
}

/// The worker's view of the routers: it renders, the driver runs what was
/// rendered. Implemented by [`super::Executors`] (ssh-exec and NETCONF).
pub trait RouterDriver: Send + Sync + 'static {
    /// Applies a rendered push to its router and checks the running config
    /// ([`RenderedPush::check_verify`]: every neighbor present with the
    /// right peer AS for an add, none left for a remove). Must be
    /// idempotent.
    fn push(&self, push: RenderedPush) -> BoxFuture<'static, Result<PushOutcome, PushError>>;

    /// Makes `reads` over one connection and parses each answer with its
    /// plan's parser. Changes nothing. Each part fails on its own.
    fn read(&self, reads: RouterReads) -> BoxFuture<'static, RouterRead>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn running_out_of_file_descriptors_is_transient() {
        for m in [
            "router r1: remote command exited with status 1: vtysh: Too many open files",
            "accept: Too many open files in system",
            "cannot open /etc/bird/x.conf (os error 24)",
            "socket: EMFILE",
            "ENFILE: file table overflow",
        ] {
            assert!(is_resource_exhaustion(m), "{m}");
            assert!(matches!(
                PushError::Permanent(m.into()).classified(),
                PushError::Transient(_)
            ));
        }
        for m in [
            "% Unknown command: neighbor",
            "itemfile missing",
            "os error 2)",
        ] {
            assert!(!is_resource_exhaustion(m), "{m}");
            assert!(matches!(
                PushError::Permanent(m.into()).classified(),
                PushError::Permanent(_)
            ));
        }
    }

    #[test]
    fn transport_failures_are_retried_unless_the_router_refused() {
        let r = || "r1".to_string();
        let transient = [
            TransportError::Connect {
                router: r(),
                addr: "a".into(),
                reason: "refused".into(),
            },
            TransportError::Timeout {
                router: r(),
                what: "x".into(),
                after: Duration::from_secs(1),
            },
            TransportError::Channel {
                router: r(),
                detail: "closed".into(),
            },
            // a person must fix these, and until then the session retries
            // with the reason in status_detail
            TransportError::HostKeyMismatch {
                router: r(),
                expected: "a".into(),
                got: "b".into(),
            },
            TransportError::Auth {
                router: r(),
                user: "u".into(),
                method: "password".into(),
            },
            TransportError::Credential {
                router: r(),
                detail: "no such file".into(),
            },
        ];
        for e in transient {
            let p = PushError::from_transport(&e, e.to_string());
            assert!(matches!(p, PushError::Transient(_)), "{e}");
        }
        let remote = |stderr: &str| TransportError::Remote {
            router: r(),
            status: 1,
            stderr: stderr.into(),
        };
        let e = remote("% Unknown command: neighbor");
        assert!(matches!(
            PushError::from_transport(&e, e.to_string()),
            PushError::Permanent(_)
        ));
        let e = remote("vtysh: Too many open files");
        assert!(matches!(
            PushError::from_transport(&e, e.to_string()),
            PushError::Transient(_)
        ));
        assert!(matches!(
            PushError::refused("`birdc configure` exited with status 1: syntax error".into()),
            PushError::Permanent(_)
        ));
    }

    #[test]
    fn netconf_failures() {
        let e = NetconfError::Closed;
        assert!(matches!(
            PushError::from_netconf(&e, e.to_string()),
            PushError::Transient(_)
        ));
        let e = NetconfError::Verify("neighbor missing".into());
        assert!(matches!(
            PushError::from_netconf(&e, e.to_string()),
            PushError::Transient(_)
        ));
        let e = NetconfError::Request("not XML".into());
        assert!(matches!(
            PushError::from_netconf(&e, e.to_string()),
            PushError::Permanent(_)
        ));
        let e = NetconfError::Request("EMFILE".into());
        assert!(matches!(
            PushError::from_netconf(&e, e.to_string()),
            PushError::Transient(_)
        ));
    }
}

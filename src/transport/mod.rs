//! Transports: how peerd reaches a router. [`ssh`] runs commands over an SSH
//! exec channel (and opens subsystems such as `netconf` for the NETCONF
//! client). Every transport reports failures as a [`TransportError`], whose
//! messages name the router and the failing step but never carry a secret
//! (passwords, key material, MD5 secrets): they end up in `status_detail`
//! and in logs. Whether a failure is worth retrying is decided once, by the
//! driver (its `PushError`), not here.
//!
//! The layer below the driver: it knows nothing about sessions, templates
//! or platforms. Command strings are built by the caller from validated data
//! only; peer-supplied values travel on stdin, never inside a command string.

pub mod netconf;
pub mod ssh;

use std::time::Duration;

/// Longest router output quoted in a [`TransportError::Remote`] message.
const REMOTE_EXCERPT_CHARS: usize = 1000;

/// A transport failure. Every message names the router (inventory name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The server presented a host key other than the pinned one. Nothing
    /// was sent to it (no authentication was attempted).
    #[error(
        "router {router}: SSH host key mismatch: pinned {expected}, server presented {got}; \
         refusing to connect (check the router, then update its pinned host key)"
    )]
    HostKeyMismatch {
        router: String,
        /// Fingerprint(s) of the pinned key(s) (`SHA256:...`).
        expected: String,
        /// Fingerprint of the key the server presented, or why there was none.
        got: String,
    },
    /// TCP connection refused, host unreachable, name not resolved, or the
    /// SSH handshake broke off before authentication.
    #[error("router {router}: cannot connect to {addr}: {reason}")]
    Connect {
        router: String,
        addr: String,
        reason: String,
    },
    /// The server rejected our credentials.
    #[error("router {router}: SSH authentication as user {user:?} with {method} was rejected")]
    Auth {
        router: String,
        user: String,
        /// `public key (ssh-ed25519 SHA256:...)` or `password`.
        method: String,
    },
    /// A step did not finish in time.
    #[error("router {router}: timed out after {after:?} while {what}")]
    Timeout {
        router: String,
        /// The step: `connecting to 127.0.0.1:22`, `running a command`, ...
        what: String,
        after: Duration,
    },
    /// The command printed more than the configured bound; it was cut off.
    #[error("router {router}: command output exceeded the limit of {limit} bytes; the command was aborted")]
    OutputTooLarge { router: String, limit: usize },
    /// The SSH connection or channel failed after authentication (channel
    /// refused, exec/subsystem refused, connection lost).
    #[error("router {router}: SSH channel error: {detail}")]
    Channel { router: String, detail: String },
    /// Our own credential or pinned host key could not be loaded (missing
    /// file, unset variable, encrypted or malformed key). Never holds the
    /// credential itself.
    #[error("router {router}: {detail}")]
    Credential { router: String, detail: String },
    /// The remote command ran and failed.
    #[error("router {router}: remote command exited with status {status}{}", excerpt(.stderr))]
    Remote {
        router: String,
        status: u32,
        /// The command's stderr (or stdout when stderr was empty), trimmed.
        stderr: String,
    },
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return String::new();
    }
    let mut out: String = s
        .chars()
        .take(REMOTE_EXCERPT_CHARS)
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if s.chars().count() > REMOTE_EXCERPT_CHARS {
        out.push_str(" [...]");
    }
    format!(": {out}")
}

impl TransportError {
    /// The router (inventory name) the error is about.
    pub fn router(&self) -> &str {
        match self {
            TransportError::HostKeyMismatch { router, .. }
            | TransportError::Connect { router, .. }
            | TransportError::Auth { router, .. }
            | TransportError::Timeout { router, .. }
            | TransportError::OutputTooLarge { router, .. }
            | TransportError::Channel { router, .. }
            | TransportError::Credential { router, .. }
            | TransportError::Remote { router, .. } => router,
        }
    }

    /// Replaces every occurrence of each secret in the error's text with
    /// `<redacted>`. Router output can echo what it was sent (vtysh prints
    /// the offending line), so a driver that sent a secret on stdin passes
    /// it here before the error is stored or logged.
    pub fn redact(self, secrets: &[&str]) -> Self {
        let r = |s: String| redact_str(s, secrets);
        match self {
            TransportError::Remote {
                router,
                status,
                stderr,
            } => TransportError::Remote {
                router,
                status,
                stderr: r(stderr),
            },
            TransportError::Channel { router, detail } => TransportError::Channel {
                router,
                detail: r(detail),
            },
            TransportError::Connect {
                router,
                addr,
                reason,
            } => TransportError::Connect {
                router,
                addr,
                reason: r(reason),
            },
            other => other,
        }
    }
}

/// Replaces each non-empty secret in `s` with `<redacted>`.
pub fn redact_str(mut s: String, secrets: &[&str]) -> String {
    for sec in secrets.iter().filter(|x| !x.is_empty()) {
        if s.contains(sec) {
            s = s.replace(sec, "<redacted>");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_router_and_both_fingerprints() {
        let e = TransportError::HostKeyMismatch {
            router: "rtr1".into(),
            expected: "SHA256:aaa".into(),
            got: "SHA256:bbb".into(),
        };
        let m = e.to_string();
        assert!(
            m.contains("rtr1") && m.contains("SHA256:aaa") && m.contains("SHA256:bbb"),
            "{m}"
        );
        let t = TransportError::Timeout {
            router: "rtr1".into(),
            what: "running a command".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(
            t.to_string(),
            "router rtr1: timed out after 1s while running a command"
        );
    }

    #[test]
    fn remote_excerpt_is_bounded_and_redactable() {
        let e = TransportError::Remote {
            router: "r".into(),
            status: 2,
            stderr: format!(
                "line 3: neighbor 192.0.2.2 password s3cr3t\x1b[0m{}",
                "x".repeat(5000)
            ),
        };
        let e = e.redact(&["s3cr3t", ""]);
        let m = e.to_string();
        assert!(!m.contains("s3cr3t"), "{m}");
        assert!(m.contains("<redacted>"));
        assert!(!m.contains('\x1b'));
        assert!(m.len() < 1200, "{}", m.len());
        assert!(m.ends_with("[...]"));
        let empty = TransportError::Remote {
            router: "r".into(),
            status: 1,
            stderr: "  ".into(),
        };
        assert_eq!(
            empty.to_string(),
            "router r: remote command exited with status 1"
        );
    }
}

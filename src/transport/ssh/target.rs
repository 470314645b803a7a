//! [`SshTarget`]: everything needed to reach one router, resolved from its
//! inventory entry (address, pinned host keys, credential), with limits.

use super::credential::{self, AuthSecret};
use super::pin;
use crate::inventory::{HostKey, Router};
use crate::transport::TransportError;
use russh::keys::PublicKey;
use std::time::Duration;

/// Default limit for TCP connect, SSH handshake and authentication (each).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit for one command, from opening its channel to its exit.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Default bound on one command's stdout + stderr.
pub const DEFAULT_MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// Everything needed to reach one router: address, pinned host key(s),
/// resolved credential, limits. Built from an inventory [`Router`]; its
/// `Debug` output never shows the credential.
#[derive(Clone, Debug)]
pub struct SshTarget {
    /// The router's inventory name (used in every error).
    pub router: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// TCP connect, SSH handshake and authentication each get this long.
    pub connect_timeout: Duration,
    /// One [`SshSession::exec`] (or subsystem start) gets this long.
    pub command_timeout: Duration,
    /// Most bytes of stdout + stderr one command may produce.
    pub max_output: usize,
    pub(super) host_keys: Vec<PublicKey>,
    pub(super) auth: AuthSecret,
}

impl SshTarget {
    /// Resolves the router's credential reference (reads the key file,
    /// password variable or password file now) and its pinned host key,
    /// with default timeouts and output bound.
    pub fn from_router(router: &Router) -> Result<SshTarget, TransportError> {
        let cred_err = |detail: String| TransportError::Credential {
            router: router.name.clone(),
            detail,
        };
        let host_keys =
            match &router.host_key {
                HostKey::Key(line) => vec![pin::parse_key_line(line)
                    .map_err(|e| cred_err(format!("pinned host key: {e}")))?],
                HostKey::KnownHosts(path) => pin::load_known_hosts(path, &router.host, router.port)
                    .map_err(|e| cred_err(format!("pinned host key: {e}")))?,
            };
        let auth = credential::load(&router.credential).map_err(cred_err)?;
        Ok(SshTarget {
            router: router.name.clone(),
            host: router.host.clone(),
            port: router.port,
            user: router.user.clone(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            max_output: DEFAULT_MAX_OUTPUT,
            host_keys,
            auth,
        })
    }

    /// Sets the connect (and handshake, and auth) timeout.
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the per-command timeout.
    pub fn with_command_timeout(mut self, t: Duration) -> Self {
        self.command_timeout = t;
        self
    }

    /// Sets the bound on one command's output (stdout + stderr, bytes).
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// Fingerprints of the pinned host key(s): `ssh-ed25519 SHA256:...`.
    pub fn pinned_fingerprints(&self) -> Vec<String> {
        self.host_keys.iter().map(pin::describe).collect()
    }

    /// `host:port`, with brackets around an IPv6 literal.
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(super) fn timeout_err(&self, what: impl Into<String>, after: Duration) -> TransportError {
        TransportError::Timeout {
            router: self.router.clone(),
            what: what.into(),
            after,
        }
    }
}

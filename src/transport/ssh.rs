//! The `ssh-exec` transport on russh: connect to a router with its host key
//! pinned, authenticate with a key or password from the inventory's
//! references, run commands (optionally feeding stdin) with a timeout and a
//! bound on the output, and open subsystems (`netconf`) as byte streams.
//!
//! # Commands and peer data
//!
//! A command string is executed by the router's shell or CLI. The caller
//! builds it from validated, operator-controlled data only (fixed command
//! words, paths derived from validated ids). **No peer-supplied value may be
//! put into a command string**, however well it was validated: peer data
//! (addresses, ASNs, descriptions, MD5 secrets) travels in the rendered
//! config on stdin (`vtysh -f /dev/stdin`, `cat > file`).
//!
//! # Host keys
//!
//! Only the pinned key (an inline OpenSSH public key, or the entries for
//! `[host]:port` / `host` in a known_hosts file) is accepted; any other key
//! fails the handshake with
//! [`crate::transport::TransportError::HostKeyMismatch`] naming both
//! fingerprints, before any credential is sent.
//!
//! ```no_run
//! # async fn demo(router: &peerd::inventory::Router) -> Result<(), peerd::transport::TransportError> {
//! use peerd::transport::ssh::{connect, SshTarget};
//! let target = SshTarget::from_router(router)?;
//! let session = connect(&target).await?;
//! let out = session.exec("vtysh -f /dev/stdin", Some(b"router bgp 65001\n")).await?;
//! let out = out.check(&target.router)?; // non-zero exit -> TransportError::Remote
//! session.close().await;
//! # let _ = out; Ok(()) }
//! ```

mod connect;
mod credential;
mod files;
mod pin;
mod preflight;
mod session;
mod stream;
mod target;

pub use connect::connect;
pub use preflight::check_router_files;
pub use session::{ExecOutput, SshSession};
pub use stream::SubsystemStream;
pub use target::{SshTarget, DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_OUTPUT};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

    fn is_send_sync<T: Send + Sync>() {}
    fn is_send<T: Send>(_: &T) {}

    #[test]
    fn sessions_and_their_futures_can_move_between_tasks() {
        is_send_sync::<SshSession>();
        is_send_sync::<SshTarget>();
        is_send_sync::<TransportError>();
        is_send::<Option<SubsystemStream>>(&None);
    }

    /// Compiled, never run: the futures the worker spawns must be `Send`.
    #[allow(dead_code)]
    async fn futures_are_send(s: &SshSession, t: &SshTarget) {
        let c = connect(t);
        is_send(&c);
        let e = s.exec("true", Some(b"x"));
        is_send(&e);
        let sub = s.subsystem("netconf");
        is_send(&sub);
    }
}

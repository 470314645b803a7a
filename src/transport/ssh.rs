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
//! fails the handshake with [`TransportError::HostKeyMismatch`] naming both
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

mod credential;
mod pin;

use super::TransportError;
use crate::inventory::{HostKey, Router};
use credential::AuthSecret;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect, MethodKind, Preferred};
use std::borrow::Cow;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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
    host_keys: Vec<PublicKey>,
    auth: AuthSecret,
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

    fn timeout_err(&self, what: impl Into<String>, after: Duration) -> TransportError {
        TransportError::Timeout {
            router: self.router.clone(),
            what: what.into(),
            after,
        }
    }
}

/// What a command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status; 255 when the command was killed by a signal
    /// (then `exit_signal` names it), as OpenSSH's client reports it.
    pub exit_status: u32,
    /// The signal that ended the command, if any (`TERM`, `KILL`, ...).
    pub exit_signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == 0 && self.exit_signal.is_none()
    }

    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// `Ok(self)` on success, else [`TransportError::Remote`] carrying the
    /// exit status and stderr (stdout when stderr is empty: vtysh `-c`
    /// prints its errors there).
    pub fn check(self, router: &str) -> Result<ExecOutput, TransportError> {
        if self.success() {
            return Ok(self);
        }
        let text = if self.stderr.iter().all(u8::is_ascii_whitespace) {
            self.stdout_text()
        } else {
            self.stderr_text()
        };
        let text = match &self.exit_signal {
            Some(sig) => format!("killed by signal {sig}; {text}"),
            None => text,
        };
        Err(TransportError::Remote {
            router: router.to_string(),
            status: self.exit_status,
            stderr: text,
        })
    }
}

/// The russh handler: accepts only the pinned key(s) and remembers what
/// the server presented, so a mismatch can be reported with both
/// fingerprints.
struct PinnedKeys {
    pinned: Vec<PublicKey>,
    seen: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for PinnedKeys {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host certificate is judged by its bare key: we pin keys, not CAs.
        let key = key.public_key();
        let ok = self.pinned.iter().any(|p| p.key_data() == key.key_data());
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(key);
        }
        Ok(ok)
    }
}

/// An authenticated SSH connection to one router. Commands run one channel
/// each; several may run one after another (or concurrently) on one
/// session. Dropping it closes the connection; [`SshSession::close`] does so
/// politely.
pub struct SshSession {
    handle: client::Handle<PinnedKeys>,
    router: String,
    command_timeout: Duration,
    max_output: usize,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("router", &self.router)
            .field("closed", &self.handle.is_closed())
            .finish()
    }
}

/// The host key algorithms to offer: exactly those of the pinned keys, so
/// the server cannot pick another of its keys (which would be refused).
fn host_key_algorithms(pinned: &[PublicKey]) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for k in pinned {
        let algs = match k.algorithm() {
            Algorithm::Rsa { .. } => vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
                // Last resort for older network gear: SHA-1 signatures.
                // The key itself is still checked against the pin.
                Algorithm::Rsa { hash: None },
            ],
            a => vec![a],
        };
        for a in algs {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// Connects, checks the host key against the pin, authenticates.
pub async fn connect(target: &SshTarget) -> Result<SshSession, TransportError> {
    let addr = target.addr();
    let router = || target.router.clone();
    let ct = target.connect_timeout;

    let tcp = tokio::time::timeout(
        ct,
        tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| target.timeout_err(format!("connecting to {addr}"), ct))?
    .map_err(|e| TransportError::Connect {
        router: router(),
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let _ = tcp.set_nodelay(true);

    let config = client::Config {
        preferred: Preferred {
            key: Cow::Owned(host_key_algorithms(&target.host_keys)),
            ..Preferred::default()
        },
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        ..client::Config::default()
    };
    let seen = Arc::new(Mutex::new(None));
    let handler = PinnedKeys {
        pinned: target.host_keys.clone(),
        seen: seen.clone(),
    };
    let expected = || target.pinned_fingerprints().join(" or ");
    let mut handle = match tokio::time::timeout(
        ct,
        client::connect_stream(Arc::new(config), tcp, handler),
    )
    .await
    {
        Err(_) => return Err(target.timeout_err(format!("in the SSH handshake with {addr}"), ct)),
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            let got = seen.lock().ok().and_then(|s| s.clone());
            return Err(match (e, got) {
                (russh::Error::UnknownKey, Some(got)) => TransportError::HostKeyMismatch {
                    router: router(),
                    expected: expected(),
                    got: pin::describe(&got),
                },
                (
                    russh::Error::NoCommonAlgo {
                        kind: russh::AlgorithmKind::Key,
                        theirs,
                        ..
                    },
                    _,
                ) => TransportError::HostKeyMismatch {
                    router: router(),
                    expected: expected(),
                    got: format!(
                        "no key of a pinned type (server offers {})",
                        theirs.join(", ")
                    ),
                },
                (e, _) => TransportError::Connect {
                    router: router(),
                    addr,
                    reason: format!("SSH handshake failed: {e}"),
                },
            });
        }
    };

    match tokio::time::timeout(ct, authenticate(&mut handle, target)).await {
        Err(_) => {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            return Err(target.timeout_err(format!("authenticating as {}", target.user), ct));
        }
        Ok(Err(e)) => {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            return Err(e);
        }
        Ok(Ok(())) => {}
    }
    Ok(SshSession {
        handle,
        router: router(),
        command_timeout: target.command_timeout,
        max_output: target.max_output,
    })
}

async fn authenticate(
    handle: &mut client::Handle<PinnedKeys>,
    target: &SshTarget,
) -> Result<(), TransportError> {
    let lost = |e: russh::Error| TransportError::Connect {
        router: target.router.clone(),
        addr: target.addr(),
        reason: format!("connection lost during authentication: {e}"),
    };
    let user = target.user.clone();
    let (ok, method) = match &target.auth {
        AuthSecret::Key(key) => {
            let hash = if key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(lost)?
                    .flatten()
            } else {
                None
            };
            let method = format!("public key ({})", pin::describe(key.public_key()));
            let r = handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key.clone(), hash))
                .await
                .map_err(lost)?;
            (r.success(), method)
        }
        AuthSecret::Password(pw) => {
            let r = handle
                .authenticate_password(user.clone(), pw.expose())
                .await
                .map_err(lost)?;
            match r {
                AuthResult::Success => (true, "password".to_string()),
                AuthResult::Failure {
                    remaining_methods, ..
                } if remaining_methods.contains(&MethodKind::KeyboardInteractive) => {
                    // Many routers take passwords only as keyboard-interactive.
                    let ok = keyboard_interactive(handle, &user, pw.expose())
                        .await
                        .map_err(lost)?;
                    (ok, "password (keyboard-interactive)".to_string())
                }
                AuthResult::Failure { .. } => (false, "password".to_string()),
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(TransportError::Auth {
            router: target.router.clone(),
            user: target.user.clone(),
            method,
        })
    }
}

/// Answers keyboard-interactive prompts with the password (hidden prompts)
/// for a few rounds; empty rounds get empty answers.
async fn keyboard_interactive(
    handle: &mut client::Handle<PinnedKeys>,
    user: &str,
    password: &str,
) -> Result<bool, russh::Error> {
    let mut resp = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    for _ in 0..4 {
        match resp {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                resp = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Ok(false)
}

/// Why reading a command's output stopped early.
enum ReadStop {
    TooLarge,
    Lost(String),
}

impl SshSession {
    /// The router this session is connected to.
    pub fn router(&self) -> &str {
        &self.router
    }

    /// True once the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    fn channel_err(&self, detail: impl Into<String>) -> TransportError {
        TransportError::Channel {
            router: self.router.clone(),
            detail: detail.into(),
        }
    }

    /// Runs `command` on a new channel, writes `stdin` (if any) and closes
    /// it, and collects stdout and stderr until the command exits.
    ///
    /// `command` must be built from validated, operator-controlled data
    /// only; never put a peer-supplied value into it (see the module docs).
    ///
    /// Errors: [`TransportError::Timeout`] past the command timeout,
    /// [`TransportError::OutputTooLarge`] past the output bound (the command
    /// is then signalled and its channel closed), [`TransportError::Channel`]
    /// if the server refuses the channel or the connection drops. A non-zero
    /// exit status is not an error here: see [`ExecOutput::check`].
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec_with_timeout(command, stdin, self.command_timeout)
            .await
    }

    /// [`SshSession::exec`] with its own timeout (a platform profile's
    /// per-step `timeout_secs`).
    pub async fn exec_with_timeout(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        t: Duration,
    ) -> Result<ExecOutput, TransportError> {
        let timeout_err = || TransportError::Timeout {
            router: self.router.clone(),
            what: "running a command".into(),
            after: t,
        };
        let deadline = tokio::time::Instant::now() + t;
        let channel = tokio::time::timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| timeout_err())?
            .map_err(|e| self.channel_err(format!("cannot open a session channel: {e}")))?;
        let (mut rd, wr) = channel.split();

        let body = async {
            wr.exec(true, command)
                .await
                .map_err(|e| ReadStop::Lost(format!("cannot send the exec request: {e}")))?;
            // Feed stdin concurrently with reading, so a command that talks
            // back while it reads cannot deadlock against us.
            let writer = async {
                if let Some(data) = stdin {
                    if let Err(e) = wr.data(data).await {
                        tracing::debug!(router = %self.router, "stdin not fully delivered: {e}");
                    }
                }
                let _ = wr.eof().await;
                std::future::pending::<()>().await
            };
            let reader = read_exec(&mut rd, self.max_output);
            tokio::select! {
                r = reader => r,
                _ = writer => unreachable!("the writer never completes"),
            }
        };
        let result = tokio::time::timeout_at(deadline, body).await;
        match result {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(stop)) => {
                abort_channel(&wr).await;
                Err(match stop {
                    ReadStop::TooLarge => TransportError::OutputTooLarge {
                        router: self.router.clone(),
                        limit: self.max_output,
                    },
                    ReadStop::Lost(d) => self.channel_err(d),
                })
            }
            Err(_) => {
                abort_channel(&wr).await;
                Err(timeout_err())
            }
        }
    }

    /// Like [`SshSession::exec`], then [`ExecOutput::check`]: a non-zero
    /// exit status becomes [`TransportError::Remote`].
    pub async fn exec_checked(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        self.exec(command, stdin).await?.check(&self.router)
    }

    /// Starts the subsystem `name` (e.g. `netconf`) on a new channel and
    /// returns it as a byte stream. Keep the session alive while the
    /// stream is used; dropping the stream closes the channel. The start
    /// is bounded by the command timeout; reads and writes on the stream
    /// are not (the caller bounds its own exchanges).
    pub async fn subsystem(&self, name: &str) -> Result<SubsystemStream, TransportError> {
        let t = self.command_timeout;
        let start =
            async {
                let mut channel =
                    self.handle.channel_open_session().await.map_err(|e| {
                        self.channel_err(format!("cannot open a session channel: {e}"))
                    })?;
                channel.request_subsystem(true, name).await.map_err(|e| {
                    self.channel_err(format!("cannot request subsystem {name:?}: {e}"))
                })?;
                let mut early = Vec::new();
                loop {
                    match channel.wait().await {
                        Some(ChannelMsg::Success) => break,
                        Some(ChannelMsg::Failure) => {
                            let _ = channel.close().await;
                            return Err(
                                self.channel_err(format!("the server refused subsystem {name:?}"))
                            );
                        }
                        Some(ChannelMsg::Data { data }) => early.extend_from_slice(&data),
                        Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                            return Err(self.channel_err(format!(
                                "the channel closed while starting subsystem {name:?}"
                            )));
                        }
                        Some(_) => {}
                    }
                    if early.len() > self.max_output {
                        return Err(TransportError::OutputTooLarge {
                            router: self.router.clone(),
                            limit: self.max_output,
                        });
                    }
                }
                Ok(SubsystemStream {
                    early,
                    pos: 0,
                    inner: channel.into_stream(),
                })
            };
        tokio::time::timeout(t, start)
            .await
            .map_err(|_| TransportError::Timeout {
                router: self.router.clone(),
                what: format!("starting subsystem {name:?}"),
                after: t,
            })?
    }

    /// Closes the connection (SSH disconnect). Errors are ignored: the
    /// connection is gone either way.
    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "peerd done", "en")
            .await;
    }
}

/// Collects an exec channel's output until it closes.
async fn read_exec(rd: &mut russh::ChannelReadHalf, max: usize) -> Result<ExecOutput, ReadStop> {
    let mut out = ExecOutput {
        exit_status: 0,
        exit_signal: None,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let mut status = None;
    let mut accepted = false;
    while let Some(msg) = rd.wait().await {
        match msg {
            ChannelMsg::Success => accepted = true,
            ChannelMsg::Failure if !accepted => {
                return Err(ReadStop::Lost(
                    "the server refused to run the command".into(),
                ));
            }
            ChannelMsg::Data { data } => {
                if out.stdout.len() + out.stderr.len() + data.len() > max {
                    return Err(ReadStop::TooLarge);
                }
                out.stdout.extend_from_slice(&data);
            }
            ChannelMsg::ExtendedData { data, .. } => {
                if out.stdout.len() + out.stderr.len() + data.len() > max {
                    return Err(ReadStop::TooLarge);
                }
                out.stderr.extend_from_slice(&data);
            }
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.exit_signal = Some(format!("{signal_name:?}"));
                status.get_or_insert(255);
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    match status {
        Some(s) => {
            out.exit_status = s;
            Ok(out)
        }
        None => Err(ReadStop::Lost(
            "the channel closed without an exit status (connection lost?)".into(),
        )),
    }
}

/// Stops a command we gave up on: signal it, close its channel. Bounded,
/// since a dead connection must not hold us here.
async fn abort_channel(wr: &russh::ChannelWriteHalf<client::Msg>) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = wr.signal(russh::Sig::KILL).await;
        let _ = wr.close().await;
    })
    .await;
}

/// A started subsystem as a byte stream (`AsyncRead + AsyncWrite`). Bytes
/// the server sent before it confirmed the start are delivered first.
pub struct SubsystemStream {
    early: Vec<u8>,
    pos: usize,
    inner: russh::ChannelStream<client::Msg>,
}

impl std::fmt::Debug for SubsystemStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubsystemStream").finish_non_exhaustive()
    }
}

impl AsyncRead for SubsystemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pos < self.early.len() {
            let n = buf.remaining().min(self.early.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.early[start..start + n]);
            self.pos += n;
            if self.pos == self.early.len() {
                self.early = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SubsystemStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn host_key_algorithms_follow_the_pins() {
        let ed = pin::parse_key_line(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K",
        )
        .unwrap();
        assert_eq!(
            host_key_algorithms(std::slice::from_ref(&ed)),
            vec![Algorithm::Ed25519]
        );
        assert_eq!(
            host_key_algorithms(&[ed.clone(), ed]),
            vec![Algorithm::Ed25519]
        );
    }

    #[test]
    fn check_prefers_stderr_and_reports_signals() {
        let out = ExecOutput {
            exit_status: 1,
            exit_signal: None,
            stdout: b"% Unknown command: foo\n".to_vec(),
            stderr: b"\n".to_vec(),
        };
        let e = out.check("r").unwrap_err();
        assert!(e.to_string().contains("Unknown command"), "{e}");
        let out = ExecOutput {
            exit_status: 255,
            exit_signal: Some("KILL".into()),
            stdout: vec![],
            stderr: b"boom".to_vec(),
        };
        let e = out.check("r").unwrap_err().to_string();
        assert!(e.contains("signal KILL") && e.contains("boom"), "{e}");
        let ok = ExecOutput {
            exit_status: 0,
            exit_signal: None,
            stdout: b"x".to_vec(),
            stderr: vec![],
        };
        assert!(ok.check("r").is_ok());
    }
}

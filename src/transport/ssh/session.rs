//! [`SshSession`]: an authenticated connection to one router. Commands run
//! on their own exec channel each, with stdin, a timeout and a bound on the
//! output ([`ExecOutput`]); subsystems (`netconf`) start as byte streams.

use super::pin::PinnedKeys;
use super::stream::SubsystemStream;
use crate::transport::TransportError;
use russh::client;
use russh::{ChannelMsg, Disconnect};
use std::time::Duration;

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

impl SshSession {
    pub(super) fn new(
        handle: client::Handle<PinnedKeys>,
        router: String,
        command_timeout: Duration,
        max_output: usize,
    ) -> Self {
        SshSession {
            handle,
            router,
            command_timeout,
            max_output,
        }
    }
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("router", &self.router)
            .field("closed", &self.handle.is_closed())
            .finish()
    }
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
                Ok(SubsystemStream::new(early, channel.into_stream()))
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

#[cfg(test)]
mod tests {
    use super::*;

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

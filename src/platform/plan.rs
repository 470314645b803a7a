//! The push plan: exactly what a render decided to send to one router for
//! one batch of sessions, and how to check the router took it.
//!
//! Render builds a [`RenderedPush`]; the worker hands it to the driver.
//! Nothing here does I/O. The plan holds MD5 secrets in clear
//! (they are part of the config), so its `Debug` output and
//! [`RenderedPush::redact`] hide them.

use super::parsers::{router_words, ObservedNeighbor, ParserKind};
use super::profile::{NetconfSettings, TransportKind};
use crate::transport::netconf::Datastore;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Put neighbors on the router, or take them off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Remove,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Remove => "remove",
        }
    }
}

/// One command of an ssh-exec plan.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecStep {
    /// The command line, built from fixed text and safe tokens only.
    pub command: String,
    /// Bytes for the command's stdin (may hold a secret).
    pub stdin: Option<String>,
    /// The session this step belongs to (`for_each: session` steps).
    pub session_id: Option<String>,
    /// The per-session file name, when the profile writes one file per session.
    pub file: Option<String>,
    pub expect_exit: Vec<u32>,
    pub expect_output: Vec<String>,
    pub fail_output: Vec<String>,
    pub timeout: Duration,
}

impl ExecStep {
    /// Judges a finished command: exit status (None = killed by a signal or
    /// no status), stdout and stderr. `Err` carries a one-line reason that
    /// includes the router's own words.
    pub fn check(&self, exit: Option<u32>, stdout: &str, stderr: &str) -> Result<(), String> {
        let said = || router_words(stdout, stderr);
        match exit {
            Some(c) if self.expect_exit.contains(&c) => {}
            Some(c) => {
                return Err(format!(
                    "`{}` exited with status {c}: {}",
                    self.command,
                    said()
                ))
            }
            None => {
                return Err(format!(
                    "`{}` ended without an exit status: {}",
                    self.command,
                    said()
                ))
            }
        }
        if let Some(m) = self
            .fail_output
            .iter()
            .find(|m| stdout.contains(m.as_str()) || stderr.contains(m.as_str()))
        {
            return Err(format!("`{}` reported {m:?}: {}", self.command, said()));
        }
        if !self.expect_output.is_empty()
            && !self
                .expect_output
                .iter()
                .any(|m| stdout.contains(m.as_str()))
        {
            return Err(format!(
                "`{}` did not report any of {:?}: {}",
                self.command,
                self.expect_output,
                said()
            ));
        }
        Ok(())
    }
}

/// What is sent, by transport.
#[derive(Clone, PartialEq, Eq)]
pub enum PushPlan {
    /// ssh-exec: run `steps` in order over one connection; on a failure run
    /// `rollback` (best effort).
    Exec {
        steps: Vec<ExecStep>,
        rollback: Vec<ExecStep>,
    },
    /// netconf: one edit-config with `config` (the whole `<config>` element)
    /// inside the transaction `settings` describe.
    Netconf {
        settings: NetconfSettings,
        config: String,
    },
}

/// A read from the router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadRequest {
    /// ssh-exec: run this command.
    Exec { command: String, timeout: Duration },
    /// netconf `<get-config>` with a subtree filter.
    NetconfGetConfig {
        source: Datastore,
        filter: String,
        timeout: Duration,
    },
    /// netconf `<get>` with a subtree filter.
    NetconfGet { filter: String, timeout: Duration },
    /// netconf custom RPC (the content of `<rpc>`).
    NetconfRpc { body: String, timeout: Duration },
}

impl ReadRequest {
    /// One line for humans.
    pub fn summary(&self) -> String {
        match self {
            ReadRequest::Exec { command, .. } => format!("exec `{command}`"),
            ReadRequest::NetconfGetConfig { source, .. } => {
                format!("netconf get-config source={}", source.as_str())
            }
            ReadRequest::NetconfGet { .. } => "netconf get".into(),
            ReadRequest::NetconfRpc { .. } => "netconf rpc".into(),
        }
    }
}

/// A read plus the parser for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPlan {
    pub request: ReadRequest,
    pub parser: ParserKind,
    /// The profile trusts the answer to show whether a neighbor has a
    /// secret (`verify.secret_visible`); otherwise `has_secret` is cleared.
    pub secret_visible: bool,
}

impl ReadPlan {
    /// Parses the router's answer.
    pub fn parse(&self, output: &str) -> Result<Vec<ObservedNeighbor>, String> {
        let mut v = self.parser.parse(output)?;
        if !self.secret_visible {
            for n in &mut v {
                n.has_secret = None;
            }
        }
        Ok(v)
    }
}

/// What verify must find after an add (and must not find after a remove).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedNeighbor {
    pub session_id: String,
    pub address: IpAddr,
    pub peer_as: u32,
}

/// Everything one apply sends to one router for one batch.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedPush {
    pub router: String,
    pub platform: String,
    pub transport: TransportKind,
    pub op: Op,
    /// The sessions in this batch, in order.
    pub session_ids: Vec<String>,
    pub plan: PushPlan,
    /// How to read back the config after the apply.
    pub verify: ReadPlan,
    pub expected: Vec<ExpectedNeighbor>,
    /// Secrets that appear in the plan, for redaction only.
    pub(crate) secrets: Vec<String>,
}

impl RenderedPush {
    /// `text` with every secret of this push replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        redact_with(&self.secrets, text)
    }

    /// Parses the verify read's answer and checks it against [`Self::expected`]:
    /// after an add every neighbor must be there with the right peer AS,
    /// after a remove none may be left. `Err` lists each problem.
    pub fn check_verify(&self, output: &str) -> Result<(), Vec<String>> {
        let observed = self
            .verify
            .parse(output)
            .map_err(|e| vec![format!("cannot read the router's configuration: {e}")])?;
        check_expected(self.op, &self.expected, &observed)
    }
}

/// Replaces each secret (longest first) in `text`.
pub fn redact_with(secrets: &[String], text: &str) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in sorted {
        out = out.replace(s.as_str(), "<redacted>");
    }
    out
}

/// The verify rule, shared by every platform.
pub fn check_expected(
    op: Op,
    expected: &[ExpectedNeighbor],
    observed: &[ObservedNeighbor],
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for e in expected {
        let found = observed.iter().find(|o| o.address == e.address);
        match (op, found) {
            (Op::Add, None) => problems.push(format!(
                "neighbor {} (session {}) is not in the router's configuration",
                e.address, e.session_id
            )),
            (Op::Add, Some(o)) => match o.peer_as {
                Some(a) if a == e.peer_as => {}
                Some(a) => problems.push(format!(
                    "neighbor {} (session {}) has peer AS {a}, expected {}",
                    e.address, e.session_id, e.peer_as
                )),
                None => problems.push(format!(
                    "neighbor {} (session {}) has no peer AS in the router's configuration",
                    e.address, e.session_id
                )),
            },
            (Op::Remove, Some(_)) => problems.push(format!(
                "neighbor {} (session {}) is still in the router's configuration",
                e.address, e.session_id
            )),
            (Op::Remove, None) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

impl fmt::Debug for ExecStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecStep")
            .field("command", &self.command)
            .field("stdin_bytes", &self.stdin.as_ref().map(String::len))
            .field("session_id", &self.session_id)
            .field("file", &self.file)
            .field("expect_exit", &self.expect_exit)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for PushPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushPlan::Exec { steps, rollback } => f
                .debug_struct("Exec")
                .field("steps", steps)
                .field("rollback", rollback)
                .finish(),
            PushPlan::Netconf { settings, config } => f
                .debug_struct("Netconf")
                .field("settings", settings)
                .field("config_bytes", &config.len())
                .finish(),
        }
    }
}

impl fmt::Debug for RenderedPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedPush")
            .field("router", &self.router)
            .field("platform", &self.platform)
            .field("transport", &self.transport)
            .field("op", &self.op)
            .field("session_ids", &self.session_ids)
            .field("plan", &self.plan)
            .field("verify", &self.verify)
            .field("expected", &self.expected)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> ExecStep {
        ExecStep {
            command: "birdc configure".into(),
            stdin: None,
            session_id: None,
            file: None,
            expect_exit: vec![0],
            expect_output: vec!["Reconfigured".into()],
            fail_output: vec!["error".into()],
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn step_check_uses_status_and_markers() {
        let s = step();
        assert!(s
            .check(Some(0), "BIRD 2.0.12 ready.\nReconfigured\n", "")
            .is_ok());
        let e = s
            .check(Some(1), "", "bird.conf:1:45 syntax error")
            .unwrap_err();
        assert!(e.contains("status 1") && e.contains("syntax error"), "{e}");
        let e = s
            .check(Some(0), "Reconfigured, error somewhere", "")
            .unwrap_err();
        assert!(e.contains("reported \"error\""), "{e}");
        let e = s.check(Some(0), "Reading configuration", "").unwrap_err();
        assert!(e.contains("did not report"), "{e}");
        assert!(s
            .check(None, "", "")
            .unwrap_err()
            .contains("without an exit status"));
    }

    #[test]
    fn redaction_hides_every_secret() {
        let out = redact_with(
            &["s3cret".into(), "s3cret-longer".into()],
            "a s3cret-longer b s3cret",
        );
        assert_eq!(out, "a <redacted> b <redacted>");
    }

    #[test]
    fn verify_rule() {
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        let exp = vec![ExpectedNeighbor {
            session_id: "s1".into(),
            address: ip,
            peer_as: 65002,
        }];
        let obs = |asn| {
            vec![ObservedNeighbor {
                peer_as: asn,
                ..ObservedNeighbor::new(ip)
            }]
        };
        assert!(check_expected(Op::Add, &exp, &obs(Some(65002))).is_ok());
        assert!(
            check_expected(Op::Add, &exp, &obs(Some(65003))).unwrap_err()[0]
                .contains("expected 65002")
        );
        assert!(check_expected(Op::Add, &exp, &obs(None)).is_err());
        assert!(check_expected(Op::Add, &exp, &[]).unwrap_err()[0].contains("not in"));
        assert!(check_expected(Op::Remove, &exp, &[]).is_ok());
        assert!(
            check_expected(Op::Remove, &exp, &obs(Some(65002))).unwrap_err()[0].contains("still")
        );
    }
}

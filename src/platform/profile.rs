//! The platform profile schema: one `drivers/<platform>.yaml` per platform.
//!
//! A profile is data: which transport, which templates render the change,
//! how the change is applied (ssh-exec steps, or a NETCONF transaction),
//! how the result is verified and how BGP state is read (each read names a
//! parser implemented in [`super::parsers`]).
//!
//! The profile is a tagged union on its `transport` key: an `ssh-exec`
//! profile has `steps` and `command` reads, a `netconf` profile has its
//! `netconf` settings, `config` templates and NETCONF reads, and neither
//! can hold the other's keys (they are unknown keys, refused with the file,
//! line and key). The YAML stays flat: `transport` sits next to the other
//! keys. [`Profile::parse`] reads the tag first and then the whole file as
//! that transport's shape, so every error keeps its line and column (serde's
//! own internally tagged enums buffer the map and lose them). What serde
//! cannot express is checked by [`super::check`].

use crate::transport::netconf::{Datastore, DefaultOperation, ErrorOption};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How peerd talks to the router: the tag of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// One SSH exec channel per command (the remote runs it, with stdin).
    SshExec,
    /// NETCONF (RFC 6241) over the SSH `netconf` subsystem (RFC 6242).
    Netconf,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::SshExec => "ssh-exec",
            TransportKind::Netconf => "netconf",
        }
    }
}

/// One platform profile, as loaded from `drivers/<platform>.yaml`.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The platform name: the file stem (`frr` for `drivers/frr.yaml`).
    pub platform: String,
    /// The file it was loaded from (for error messages).
    pub file: String,
    /// Free text for humans.
    pub description: String,
    /// Defaults for `router.vars`; an inventory router's own `vars` win.
    pub vars: BTreeMap<String, String>,
    /// False when the platform cannot set a TCP-MD5 password (`tcp_md5:
    /// false`, e.g. the GoBGP CLI): a batch holding a session with a
    /// `session_secret` is refused at render, never pushed without it.
    pub tcp_md5: bool,
    /// True when the add templates render a neighbor's drain form (its
    /// routes tagged GRACEFUL_SHUTDOWN, RFC 8326: `form == "drain"`).
    /// False: a `DELETE` removes at once and maintenance shuts down at
    /// once, without a drain.
    pub graceful_shutdown: bool,
    /// True when the add templates render a neighbor's shutdown form
    /// (`form == "shutdown"`: configured but administratively down), for
    /// maintenance. False: maintenance leaves its sessions as they are.
    pub shutdown: bool,
    /// True when the add templates render the neighbor's IRR import prefix
    /// list (`prefix_lists: true`). False (the default): an add of a
    /// session at a location that filters imports is refused at render,
    /// never pushed without its filter.
    pub prefix_lists: bool,
    /// The transport and everything that depends on it.
    pub transport: Transport,
}

/// The part of a profile that depends on its transport.
#[derive(Clone, Debug)]
pub enum Transport {
    SshExec(SshExecSpec),
    Netconf(NetconfSpec),
}

/// An `ssh-exec` platform: commands over SSH.
#[derive(Clone, Debug)]
pub struct SshExecSpec {
    /// How to put neighbors on the router.
    pub add: StepsSpec,
    /// How to take them off again.
    pub remove: StepsSpec,
    /// How to read back the configuration and check the change is there.
    pub verify: CommandRead,
    /// How to read BGP session state (absent: the platform cannot tell).
    pub state: Option<CommandRead>,
}

/// A `netconf` platform: one NETCONF transaction per push.
#[derive(Clone, Debug)]
pub struct NetconfSpec {
    /// The transaction settings.
    pub netconf: NetconfSettings,
    pub add: ConfigSpec,
    pub remove: ConfigSpec,
    /// A get-config of running (the transaction reads it back between the
    /// confirmed and the confirming commit).
    pub verify: NetconfRead,
    pub state: Option<NetconfRead>,
}

/// The file as an `ssh-exec` profile (flat, as operators write it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SshExecDoc {
    #[serde(rename = "transport")]
    _transport: TransportKind,
    #[serde(default)]
    description: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default = "default_true")]
    tcp_md5: bool,
    #[serde(default)]
    graceful_shutdown: bool,
    #[serde(default)]
    shutdown: bool,
    #[serde(default)]
    prefix_lists: bool,
    add: StepsSpec,
    remove: StepsSpec,
    verify: CommandRead,
    #[serde(default)]
    state: Option<CommandRead>,
}

/// The file as a `netconf` profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetconfDoc {
    #[serde(rename = "transport")]
    _transport: TransportKind,
    #[serde(default)]
    description: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default = "default_true")]
    tcp_md5: bool,
    #[serde(default)]
    graceful_shutdown: bool,
    #[serde(default)]
    shutdown: bool,
    #[serde(default)]
    prefix_lists: bool,
    netconf: NetconfSettings,
    add: ConfigSpec,
    remove: ConfigSpec,
    verify: NetconfRead,
    #[serde(default)]
    state: Option<NetconfRead>,
}

/// Only the tag (every other key is read in the second pass).
#[derive(Deserialize)]
struct Tag {
    transport: TransportKind,
}

/// Keys only a `netconf` profile has, and keys only an `ssh-exec` one has:
/// named in the message when a profile holds the other transport's key.
const NETCONF_KEYS: &[&str] = &["netconf", "config", "get_config", "get", "rpc"];
const SSH_EXEC_KEYS: &[&str] = &["steps", "rollback", "command"];

impl Profile {
    /// Parses the YAML of `drivers/<platform>.yaml`; `Err` is the message
    /// (without the file name).
    pub fn parse(platform: &str, file: &str, text: &str) -> Result<Profile, String> {
        let kind = serde_saphyr::from_str::<Tag>(text)
            .map_err(|e| e.to_string())?
            .transport;
        let located = |e: serde_saphyr::Error| {
            let msg = e.to_string();
            match other_transports_key(kind, &msg) {
                Some(note) => format!("{msg}\n  note: {note}"),
                None => msg,
            }
        };
        let (description, vars, caps, transport) = match kind {
            TransportKind::SshExec => {
                let d: SshExecDoc = serde_saphyr::from_str(text).map_err(located)?;
                let spec = SshExecSpec {
                    add: d.add,
                    remove: d.remove,
                    verify: d.verify,
                    state: d.state,
                };
                let caps = (d.tcp_md5, d.graceful_shutdown, d.shutdown, d.prefix_lists);
                (d.description, d.vars, caps, Transport::SshExec(spec))
            }
            TransportKind::Netconf => {
                let d: NetconfDoc = serde_saphyr::from_str(text).map_err(located)?;
                let spec = NetconfSpec {
                    netconf: d.netconf,
                    add: d.add,
                    remove: d.remove,
                    verify: d.verify,
                    state: d.state,
                };
                let caps = (d.tcp_md5, d.graceful_shutdown, d.shutdown, d.prefix_lists);
                (d.description, d.vars, caps, Transport::Netconf(spec))
            }
        };
        Ok(Profile {
            platform: platform.to_string(),
            file: file.to_string(),
            description,
            vars,
            tcp_md5: caps.0,
            graceful_shutdown: caps.1,
            shutdown: caps.2,
            prefix_lists: caps.3,
            transport,
        })
    }

    pub fn kind(&self) -> TransportKind {
        match &self.transport {
            Transport::SshExec(_) => TransportKind::SshExec,
            Transport::Netconf(_) => TransportKind::Netconf,
        }
    }

    /// True when the platform can report BGP state.
    pub fn reads_state(&self) -> bool {
        match &self.transport {
            Transport::SshExec(s) => s.state.is_some(),
            Transport::Netconf(n) => n.state.is_some(),
        }
    }

    /// Every template file name the profile refers to, with its key path.
    pub fn template_refs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match &self.transport {
            Transport::SshExec(s) => {
                for (op, spec) in [("add", &s.add), ("remove", &s.remove)] {
                    for (list, steps) in spec.lists() {
                        for (i, s) in steps.iter().enumerate() {
                            if let Some(t) = &s.stdin {
                                out.push((format!("{op}.{list}[{i}].stdin"), t.clone()));
                            }
                        }
                    }
                }
            }
            Transport::Netconf(n) => {
                for (op, spec) in [("add", &n.add), ("remove", &n.remove)] {
                    out.push((format!("{op}.config"), spec.config.clone()));
                }
                for (name, read) in [("verify", Some(&n.verify)), ("state", n.state.as_ref())] {
                    let Some(r) = read else { continue };
                    if let Some(g) = &r.get_config {
                        out.push((format!("{name}.get_config.filter"), g.filter.clone()));
                    }
                    if let Some(g) = &r.get {
                        out.push((format!("{name}.get.filter"), g.filter.clone()));
                    }
                    if let Some(t) = &r.rpc {
                        out.push((format!("{name}.rpc"), t.clone()));
                    }
                }
            }
        }
        out
    }

    /// Every inline command template, with its key path.
    pub fn command_refs(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        let Transport::SshExec(s) = &self.transport else {
            return out;
        };
        for (op, spec) in [("add", &s.add), ("remove", &s.remove)] {
            for (list, steps) in spec.lists() {
                for (i, s) in steps.iter().enumerate() {
                    out.push((format!("{op}.{list}[{i}].command"), s.command.as_str()));
                }
            }
        }
        for (name, read) in [("verify", Some(&s.verify)), ("state", s.state.as_ref())] {
            if let Some(r) = read {
                out.push((format!("{name}.command"), r.command.as_str()));
            }
        }
        out
    }
}

/// The note for an unknown key that belongs to the other transport.
fn other_transports_key(kind: TransportKind, msg: &str) -> Option<String> {
    let key = msg.split("unknown field `").nth(1)?.split('`').next()?;
    let (theirs, other) = match kind {
        TransportKind::SshExec => (NETCONF_KEYS, TransportKind::Netconf),
        TransportKind::Netconf => (SSH_EXEC_KEYS, TransportKind::SshExec),
    };
    theirs.contains(&key).then(|| {
        format!(
            "`{key}` is only allowed with transport: {}; this profile has transport: {}",
            other.as_str(),
            kind.as_str()
        )
    })
}

/// What one `ssh-exec` operation (add or remove) does.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsSpec {
    /// The commands, run in order over one SSH connection.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Best-effort commands run when a step or the verify fails.
    #[serde(default)]
    pub rollback: Vec<StepSpec>,
}

impl StepsSpec {
    /// `steps` and `rollback`, with their key names.
    pub fn lists(&self) -> [(&'static str, &[StepSpec]); 2] {
        [("steps", &self.steps), ("rollback", &self.rollback)]
    }
}

/// What one `netconf` operation (add or remove) sends.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// The template whose output is the whole `<config>` element.
    pub config: String,
}

/// `once` per batch, or once per session of the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForEach {
    #[default]
    Once,
    Session,
}

/// One command of an `ssh-exec` apply.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The command line. It is a template rendered only from safe tokens:
    /// `vars.*` (router vars whose value is a plain path/word), `router`,
    /// and `session_id`/`name`/`file` (per session) or
    /// `session_ids`/`names`/`files` (once). Never from peer-supplied text.
    pub command: String,
    /// A template (file under `templates/<platform>/`) whose output is fed to
    /// the command's stdin. Rendered for the batch (`once`) or per session.
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub for_each: ForEach,
    /// Exit statuses that mean success.
    #[serde(default = "default_exit")]
    pub expect_exit: Vec<u32>,
    /// If not empty, stdout must contain one of these.
    #[serde(default)]
    pub expect_output: Vec<String>,
    /// If stdout or stderr contains one of these, the step failed.
    #[serde(default)]
    pub fail_output: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_exit() -> Vec<u32> {
    vec![0]
}
fn default_timeout() -> u64 {
    60
}
fn default_confirm() -> u32 {
    120
}
fn default_true() -> bool {
    true
}
fn candidate() -> Datastore {
    Datastore::Candidate
}
fn rollback_on_error() -> ErrorOption {
    ErrorOption::RollbackOnError
}
fn running() -> Datastore {
    Datastore::Running
}

/// How a NETCONF platform applies a change.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetconfSettings {
    /// Datastore edited: `candidate` (then commit) or `running`.
    #[serde(default = "candidate")]
    pub target: Datastore,
    #[serde(default)]
    pub default_operation: DefaultOperation,
    #[serde(default = "rollback_on_error")]
    pub error_option: ErrorOption,
    /// Confirmed-commit timeout in seconds; 0 = a plain commit.
    #[serde(default = "default_confirm")]
    pub confirmed_commit_secs: u32,
    /// Lock the target (and running) for the transaction.
    #[serde(default = "default_true")]
    pub lock: bool,
    /// Per-RPC timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A NETCONF `<get-config>` read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetConfigSpec {
    #[serde(default = "running")]
    pub source: Datastore,
    /// Template rendering the subtree filter (the content of `<filter>`).
    pub filter: String,
}

/// A NETCONF `<get>` read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetSpec {
    /// Template rendering the subtree filter.
    pub filter: String,
}

/// An `ssh-exec` read (verify or state): a command and the parser that
/// understands its output.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRead {
    /// The command (same template rules as step commands).
    pub command: String,
    /// A parser name (see [`super::parsers::ParserKind`]).
    pub parser: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Verify only: see [`ReadCommon::secret_visible`].
    #[serde(default)]
    pub secret_visible: bool,
}

/// A `netconf` read (verify or state): exactly one of `get_config`, `get`
/// or `rpc`, plus the parser that understands the answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetconfRead {
    #[serde(default)]
    pub get_config: Option<GetConfigSpec>,
    #[serde(default)]
    pub get: Option<GetSpec>,
    /// Template rendering the body of a custom `<rpc>` (e.g. Junos
    /// `<get-bgp-neighbor-information/>`).
    #[serde(default)]
    pub rpc: Option<String>,
    /// A parser name (see [`super::parsers::ParserKind`]).
    pub parser: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Verify only: see [`ReadCommon::secret_visible`].
    #[serde(default)]
    pub secret_visible: bool,
}

/// What every read has, whatever its transport.
#[derive(Clone, Copy, Debug)]
pub struct ReadCommon<'a> {
    pub parser: &'a str,
    pub timeout_secs: u64,
    /// Verify only: the answer shows whether a neighbor has a session
    /// secret (FRR `neighbor X password`, a NETCONF password leaf), so the
    /// poller may judge a secret added or removed by hand as drift. Off:
    /// the secret is never judged.
    pub secret_visible: bool,
}

impl CommandRead {
    pub fn common(&self) -> ReadCommon<'_> {
        ReadCommon {
            parser: &self.parser,
            timeout_secs: self.timeout_secs,
            secret_visible: self.secret_visible,
        }
    }
}

impl NetconfRead {
    pub fn common(&self) -> ReadCommon<'_> {
        ReadCommon {
            parser: &self.parser,
            timeout_secs: self.timeout_secs,
            secret_visible: self.secret_visible,
        }
    }
}

/// True for a template file name: `[A-Za-z0-9._-]`, ending in `.tera`.
pub fn is_template_name(s: &str) -> bool {
    s.len() <= 128
        && s.ends_with(".tera")
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

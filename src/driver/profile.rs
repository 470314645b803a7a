//! The platform profile schema: one `drivers/<platform>.yaml` per platform.
//!
//! A profile is data: which transport, which templates render the change,
//! how the change is applied (ssh-exec steps, a prompt-driven CLI session or
//! a NETCONF transaction), how the result is verified and how BGP state is
//! read (each read names a parser implemented in [`super::parsers`]).
//! Unknown keys are refused; [`Profile::validate`] cross-checks the rest and
//! names the key path of every problem.

use super::parsers::{ParserKind, ParserUse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How peerd talks to the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// One SSH exec channel per command (the remote runs it, with stdin).
    SshExec,
    /// A prompt-driven interactive shell: lines are typed one by one.
    SshCli,
    /// NETCONF (RFC 6241) over the SSH `netconf` subsystem (RFC 6242).
    Netconf,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::SshExec => "ssh-exec",
            TransportKind::SshCli => "ssh-cli",
            TransportKind::Netconf => "netconf",
        }
    }
}

/// One platform profile, as loaded from `drivers/<platform>.yaml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The platform name: the file stem (`frr` for `drivers/frr.yaml`).
    #[serde(skip)]
    pub platform: String,
    /// The file it was loaded from (for error messages).
    #[serde(skip)]
    pub file: String,
    /// Free text for humans.
    #[serde(default)]
    pub description: String,
    pub transport: TransportKind,
    /// Defaults for `router.vars`; an inventory router's own `vars` win.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// NETCONF transaction settings (required for `transport: netconf`).
    #[serde(default)]
    pub netconf: Option<NetconfSettings>,
    /// Interactive CLI settings (required for `transport: ssh-cli`).
    #[serde(default)]
    pub cli: Option<CliSettings>,
    /// How to put neighbors on the router.
    pub add: OpSpec,
    /// How to take them off again.
    pub remove: OpSpec,
    /// How to read back the configuration and check the change is there.
    pub verify: ReadSpec,
    /// How to read BGP session state (absent: the platform cannot tell).
    #[serde(default)]
    pub state: Option<ReadSpec>,
}

/// What one operation (add or remove) does.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    /// `ssh-exec`: the commands, run in order over one SSH connection.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// `ssh-exec`: best-effort commands run when a step or the verify fails.
    #[serde(default)]
    pub rollback: Vec<StepSpec>,
    /// `netconf`: the template whose output is the whole `<config>` element;
    /// `ssh-cli`: the template whose lines are typed into the CLI.
    #[serde(default)]
    pub config: Option<String>,
}

/// `once` per batch, or once per session of the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForEach {
    #[default]
    Once,
    Session,
}

/// One command of an `ssh-exec` apply.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// A NETCONF datastore.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Datastore {
    #[default]
    Candidate,
    Running,
}

impl Datastore {
    pub fn as_str(self) -> &'static str {
        match self {
            Datastore::Candidate => "candidate",
            Datastore::Running => "running",
        }
    }
}

/// `<default-operation>` of edit-config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultOperation {
    #[default]
    Merge,
    Replace,
    None,
}

impl DefaultOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultOperation::Merge => "merge",
            DefaultOperation::Replace => "replace",
            DefaultOperation::None => "none",
        }
    }
}

/// `<error-option>` of edit-config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorOption {
    #[default]
    RollbackOnError,
    StopOnError,
    ContinueOnError,
}

impl ErrorOption {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOption::RollbackOnError => "rollback-on-error",
            ErrorOption::StopOnError => "stop-on-error",
            ErrorOption::ContinueOnError => "continue-on-error",
        }
    }
}

/// How a NETCONF platform applies a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetconfSettings {
    /// Datastore edited: `candidate` (then commit) or `running`.
    #[serde(default)]
    pub target: Datastore,
    #[serde(default)]
    pub default_operation: DefaultOperation,
    #[serde(default)]
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

/// How a prompt-driven CLI platform applies a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliSettings {
    /// A reply is complete when its last line ends with one of these.
    pub prompt_suffixes: Vec<String>,
    /// Any of these in a reply means the line was refused.
    #[serde(default)]
    pub error_markers: Vec<String>,
    /// Lines typed before the rendered config (e.g. `configure terminal`).
    #[serde(default)]
    pub enter: Vec<String>,
    /// Lines typed after it (e.g. `end`, `write memory`).
    #[serde(default)]
    pub exit: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A NETCONF `<get-config>` read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetConfigSpec {
    #[serde(default = "running")]
    pub source: Datastore,
    /// Template rendering the subtree filter (the content of `<filter>`).
    pub filter: String,
}

fn running() -> Datastore {
    Datastore::Running
}

/// A NETCONF `<get>` read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetSpec {
    /// Template rendering the subtree filter.
    pub filter: String,
}

/// A read from the router (verify or state): exactly one of `command`
/// (ssh-exec / ssh-cli), `get_config`, `get` or `rpc` (netconf), plus the
/// parser that understands the answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSpec {
    /// A command (same template rules as step commands).
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub get_config: Option<GetConfigSpec>,
    #[serde(default)]
    pub get: Option<GetSpec>,
    /// Template rendering the body of a custom `<rpc>` (e.g. Junos
    /// `<get-bgp-neighbor-information/>`).
    #[serde(default)]
    pub rpc: Option<String>,
    /// A parser name (see [`ParserKind`]).
    pub parser: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Verify only: the answer shows whether a neighbor has a session
    /// secret (FRR `neighbor X password`, a NETCONF password leaf), so the
    /// poller may judge a secret added or removed by hand as drift. Off:
    /// the secret is never judged.
    #[serde(default)]
    pub secret_visible: bool,
}

/// One problem found in a profile: the key path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileIssue {
    pub path: String,
    pub problem: String,
}

/// True for a template file name: `[A-Za-z0-9._-]`, ending in `.tera`.
pub fn is_template_name(s: &str) -> bool {
    s.len() <= 128
        && s.ends_with(".tera")
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Profile {
    /// Every template file name the profile refers to, with its key path.
    pub fn template_refs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (op, spec) in [("add", &self.add), ("remove", &self.remove)] {
            if let Some(c) = &spec.config {
                out.push((format!("{op}.config"), c.clone()));
            }
            for (list, steps) in [("steps", &spec.steps), ("rollback", &spec.rollback)] {
                for (i, s) in steps.iter().enumerate() {
                    if let Some(t) = &s.stdin {
                        out.push((format!("{op}.{list}[{i}].stdin"), t.clone()));
                    }
                }
            }
        }
        let reads = [
            ("verify", Some(&self.verify)),
            ("state", self.state.as_ref()),
        ];
        for (name, read) in reads {
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
        out
    }

    /// Every inline command template, with its key path.
    pub fn command_refs(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (op, spec) in [("add", &self.add), ("remove", &self.remove)] {
            for (list, steps) in [("steps", &spec.steps), ("rollback", &spec.rollback)] {
                for (i, s) in steps.iter().enumerate() {
                    out.push((format!("{op}.{list}[{i}].command"), s.command.as_str()));
                }
            }
        }
        let reads = [
            ("verify", Some(&self.verify)),
            ("state", self.state.as_ref()),
        ];
        for (name, read) in reads {
            if let Some(c) = read.and_then(|r| r.command.as_deref()) {
                out.push((format!("{name}.command"), c));
            }
        }
        out
    }

    /// Cross-field checks; returns every problem (empty = valid).
    pub fn validate(&self) -> Vec<ProfileIssue> {
        let mut out = Vec::new();
        let mut push = |path: &str, problem: String| {
            out.push(ProfileIssue {
                path: path.to_string(),
                problem,
            })
        };
        if !crate::inventory::is_safe_name(&self.platform) || self.platform.contains(':') {
            push(
                "(file name)",
                format!("{:?} is not a valid platform name", self.platform),
            );
        }
        for (k, v) in &self.vars {
            if !crate::inventory::is_safe_name(k)
                || v.chars().any(|c| c.is_control() || "\"'{};\\".contains(c))
            {
                push(
                    &format!("vars.{k}"),
                    "names and values may not hold quotes, braces, semicolons or control characters"
                        .into(),
                );
            }
        }
        let t = self.transport;
        match t {
            TransportKind::SshExec => {
                if self.netconf.is_some() {
                    push("netconf", "only allowed with transport: netconf".into());
                }
                if self.cli.is_some() {
                    push("cli", "only allowed with transport: ssh-cli".into());
                }
            }
            TransportKind::SshCli => {
                if self.netconf.is_some() {
                    push("netconf", "only allowed with transport: netconf".into());
                }
                match &self.cli {
                    None => push("cli", "required with transport: ssh-cli".into()),
                    Some(c) => {
                        if c.prompt_suffixes.is_empty()
                            || c.prompt_suffixes.iter().any(|p| p.is_empty())
                        {
                            push(
                                "cli.prompt_suffixes",
                                "at least one non-empty prompt suffix is required".into(),
                            );
                        }
                        check_timeout(&mut push, "cli.timeout_secs", c.timeout_secs);
                        for (i, l) in c.enter.iter().chain(c.exit.iter()).enumerate() {
                            if l.chars().any(|c| c.is_control()) {
                                push(
                                    &format!("cli.enter/exit[{i}]"),
                                    "may not hold control characters".into(),
                                );
                            }
                        }
                    }
                }
            }
            TransportKind::Netconf => {
                if self.cli.is_some() {
                    push("cli", "only allowed with transport: ssh-cli".into());
                }
                match &self.netconf {
                    None => push("netconf", "required with transport: netconf".into()),
                    Some(n) => {
                        check_timeout(&mut push, "netconf.timeout_secs", n.timeout_secs);
                        if n.confirmed_commit_secs > 3600 {
                            push(
                                "netconf.confirmed_commit_secs",
                                "must be at most 3600".into(),
                            );
                        }
                        if n.confirmed_commit_secs > 0 && n.target == Datastore::Running {
                            push(
                                "netconf.confirmed_commit_secs",
                                "a confirmed commit needs target: candidate".into(),
                            );
                        }
                    }
                }
                // The transaction reads running back between the confirmed
                // and the confirming commit.
                let v = &self.verify;
                let other_read = v.get.is_some() || v.rpc.is_some();
                let from_candidate = v
                    .get_config
                    .as_ref()
                    .is_some_and(|g| g.source != Datastore::Running);
                if other_read || from_candidate {
                    push(
                        "verify",
                        "a netconf platform verifies with get_config of source: running".into(),
                    );
                }
            }
        }
        for (op, spec) in [("add", &self.add), ("remove", &self.remove)] {
            match t {
                TransportKind::SshExec => {
                    if spec.steps.is_empty() {
                        push(
                            &format!("{op}.steps"),
                            "at least one step is required with transport: ssh-exec".into(),
                        );
                    }
                    if spec.config.is_some() {
                        push(
                            &format!("{op}.config"),
                            "not used with transport: ssh-exec (use steps[].stdin)".into(),
                        );
                    }
                    for (list, steps) in [("steps", &spec.steps), ("rollback", &spec.rollback)] {
                        for (i, s) in steps.iter().enumerate() {
                            let p = format!("{op}.{list}[{i}]");
                            if s.command.trim().is_empty() {
                                push(&format!("{p}.command"), "must not be empty".into());
                            }
                            if s.command.chars().any(|c| c.is_control()) {
                                push(
                                    &format!("{p}.command"),
                                    "must be one line without control characters".into(),
                                );
                            }
                            if s.expect_exit.is_empty() {
                                push(
                                    &format!("{p}.expect_exit"),
                                    "must list at least one exit status".into(),
                                );
                            }
                            if s.expect_output
                                .iter()
                                .chain(&s.fail_output)
                                .any(|m| m.is_empty())
                            {
                                push(
                                    &p,
                                    "expect_output/fail_output entries must not be empty".into(),
                                );
                            }
                            check_timeout(&mut push, &format!("{p}.timeout_secs"), s.timeout_secs);
                        }
                    }
                }
                TransportKind::SshCli | TransportKind::Netconf => {
                    if spec.config.is_none() {
                        push(
                            &format!("{op}.config"),
                            format!("a template is required with transport: {}", t.as_str()),
                        );
                    }
                    if !spec.steps.is_empty() || !spec.rollback.is_empty() {
                        push(
                            &format!("{op}.steps"),
                            "steps/rollback are only used with transport: ssh-exec".into(),
                        );
                    }
                }
            }
        }
        let reads = [
            ("verify", Some(&self.verify)),
            ("state", self.state.as_ref()),
        ];
        for (name, read) in reads {
            let Some(r) = read else { continue };
            let methods = [
                r.command.is_some(),
                r.get_config.is_some(),
                r.get.is_some(),
                r.rpc.is_some(),
            ];
            if methods.iter().filter(|m| **m).count() != 1 {
                push(
                    name,
                    "exactly one of command, get_config, get, rpc is required".into(),
                );
            }
            let netconf_read = r.command.is_none();
            if (t == TransportKind::Netconf) != netconf_read && methods.iter().any(|m| *m) {
                push(
                    name,
                    if t == TransportKind::Netconf {
                        "a netconf platform reads with get_config, get or rpc".into()
                    } else {
                        format!("a {} platform reads with command", t.as_str())
                    },
                );
            }
            if let Some(c) = &r.command {
                if c.trim().is_empty() || c.chars().any(|c| c.is_control()) {
                    push(
                        &format!("{name}.command"),
                        "must be one non-empty line".into(),
                    );
                }
            }
            check_timeout(&mut push, &format!("{name}.timeout_secs"), r.timeout_secs);
            if r.secret_visible && name != "verify" {
                push(
                    &format!("{name}.secret_visible"),
                    "only the verify read is compared with the sessions".into(),
                );
            }
            let want = if name == "verify" {
                ParserUse::Config
            } else {
                ParserUse::State
            };
            match ParserKind::from_name(&r.parser) {
                None => push(
                    &format!("{name}.parser"),
                    format!(
                        "unknown parser {:?} (known: {})",
                        r.parser,
                        ParserKind::ALL.map(|p| p.name()).join(", ")
                    ),
                ),
                Some(p) if !p.supports(want) => push(
                    &format!("{name}.parser"),
                    format!(
                        "parser {:?} cannot be used for {name} (it reads {})",
                        r.parser,
                        p.reads()
                    ),
                ),
                Some(_) => {}
            }
        }
        for (path, name) in self.template_refs() {
            if !is_template_name(&name) {
                push(
                    &path,
                    format!(
                        "{name:?} is not a template file name ([A-Za-z0-9._-], ending in .tera)"
                    ),
                );
            }
        }
        out
    }
}

fn check_timeout(push: &mut impl FnMut(&str, String), path: &str, secs: u64) {
    if secs == 0 || secs > 3600 {
        push(path, "must be between 1 and 3600 seconds".into());
    }
}

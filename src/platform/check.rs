//! What the profile's types cannot say: names and vars safe for templates,
//! bounded timeouts, non-empty commands and step lists, one NETCONF read
//! method per read, a verify that reads running, parsers that exist and fit
//! their use, template file names. [`validate`] returns every problem with
//! its key path.

use super::parsers::{ParserKind, ParserUse};
use super::profile::{
    is_template_name, CommandRead, NetconfRead, NetconfSettings, Profile, ReadCommon, StepsSpec,
    Transport,
};
use crate::transport::netconf::Datastore;

/// One problem found in a profile: the key path and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileIssue {
    pub path: String,
    pub problem: String,
}

/// Collects problems.
#[derive(Default)]
struct Issues(Vec<ProfileIssue>);

impl Issues {
    fn push(&mut self, path: &str, problem: impl Into<String>) {
        self.0.push(ProfileIssue {
            path: path.to_string(),
            problem: problem.into(),
        })
    }

    fn timeout(&mut self, path: &str, secs: u64) {
        if secs == 0 || secs > 3600 {
            self.push(path, "must be between 1 and 3600 seconds");
        }
    }
}

/// Cross-field checks of a parsed profile; returns every problem (empty =
/// valid).
pub fn validate(p: &Profile) -> Vec<ProfileIssue> {
    let mut out = Issues::default();
    if !crate::inventory::is_safe_name(&p.platform) || p.platform.contains(':') {
        out.push(
            "(file name)",
            format!("{:?} is not a valid platform name", p.platform),
        );
    }
    for (k, v) in &p.vars {
        if !crate::inventory::is_safe_name(k)
            || v.chars().any(|c| c.is_control() || "\"'{};\\".contains(c))
        {
            out.push(
                &format!("vars.{k}"),
                "names and values may not hold quotes, braces, semicolons or control characters",
            );
        }
    }
    match &p.transport {
        Transport::SshExec(s) => {
            for (op, spec) in [("add", &s.add), ("remove", &s.remove)] {
                steps(&mut out, op, spec);
            }
            for (name, read) in [("verify", Some(&s.verify)), ("state", s.state.as_ref())] {
                if let Some(r) = read {
                    command_read(&mut out, name, r);
                }
            }
        }
        Transport::Netconf(n) => {
            settings(&mut out, &n.netconf);
            for (name, read) in [("verify", Some(&n.verify)), ("state", n.state.as_ref())] {
                if let Some(r) = read {
                    netconf_read(&mut out, name, r);
                }
            }
            // The transaction reads running back between the confirmed
            // and the confirming commit.
            let v = &n.verify;
            let from_elsewhere = v
                .get_config
                .as_ref()
                .is_some_and(|g| g.source != Datastore::Running);
            if v.get.is_some() || v.rpc.is_some() || from_elsewhere {
                out.push(
                    "verify",
                    "a netconf platform verifies with get_config of source: running",
                );
            }
        }
    }
    for (path, name) in p.template_refs() {
        if !is_template_name(&name) {
            out.push(
                &path,
                format!("{name:?} is not a template file name ([A-Za-z0-9._-], ending in .tera)"),
            );
        }
    }
    out.0
}

fn settings(out: &mut Issues, n: &NetconfSettings) {
    out.timeout("netconf.timeout_secs", n.timeout_secs);
    if n.target == Datastore::Startup {
        out.push(
            "netconf.target",
            "startup cannot be edited; use candidate or running",
        );
    }
    if n.confirmed_commit_secs > 3600 {
        out.push("netconf.confirmed_commit_secs", "must be at most 3600");
    }
    if n.confirmed_commit_secs > 0 && n.target == Datastore::Running {
        out.push(
            "netconf.confirmed_commit_secs",
            "a confirmed commit needs target: candidate",
        );
    }
}

fn steps(out: &mut Issues, op: &str, spec: &StepsSpec) {
    if spec.steps.is_empty() {
        out.push(
            &format!("{op}.steps"),
            "at least one step is required with transport: ssh-exec",
        );
    }
    for (list, steps) in spec.lists() {
        for (i, s) in steps.iter().enumerate() {
            let p = format!("{op}.{list}[{i}]");
            if s.command.trim().is_empty() {
                out.push(&format!("{p}.command"), "must not be empty");
            }
            if s.command.chars().any(|c| c.is_control()) {
                out.push(
                    &format!("{p}.command"),
                    "must be one line without control characters",
                );
            }
            if s.expect_exit.is_empty() {
                out.push(
                    &format!("{p}.expect_exit"),
                    "must list at least one exit status",
                );
            }
            if s.expect_output
                .iter()
                .chain(&s.fail_output)
                .any(|m| m.is_empty())
            {
                out.push(&p, "expect_output/fail_output entries must not be empty");
            }
            out.timeout(&format!("{p}.timeout_secs"), s.timeout_secs);
        }
    }
}

fn command_read(out: &mut Issues, name: &str, r: &CommandRead) {
    if r.command.trim().is_empty() || r.command.chars().any(|c| c.is_control()) {
        out.push(&format!("{name}.command"), "must be one non-empty line");
    }
    read_common(out, name, r.common());
}

fn netconf_read(out: &mut Issues, name: &str, r: &NetconfRead) {
    let methods = [r.get_config.is_some(), r.get.is_some(), r.rpc.is_some()];
    if methods.iter().filter(|m| **m).count() != 1 {
        out.push(name, "exactly one of get_config, get, rpc is required");
    }
    read_common(out, name, r.common());
}

fn read_common(out: &mut Issues, name: &str, r: ReadCommon<'_>) {
    out.timeout(&format!("{name}.timeout_secs"), r.timeout_secs);
    if r.secret_visible && name != "verify" {
        out.push(
            &format!("{name}.secret_visible"),
            "only the verify read is compared with the sessions",
        );
    }
    let want = if name == "verify" {
        ParserUse::Config
    } else {
        ParserUse::State
    };
    match ParserKind::from_name(r.parser) {
        None => out.push(
            &format!("{name}.parser"),
            format!(
                "unknown parser {:?} (known: {})",
                r.parser,
                ParserKind::ALL.map(|p| p.name()).join(", ")
            ),
        ),
        Some(p) if !p.supports(want) => out.push(
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

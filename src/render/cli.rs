//! `peerd render`: prints, per router, exactly what a push would send
//! (commands, stdin, files, NETCONF payloads) and how it would be verified,
//! without touching any router. Secrets are redacted unless asked for.

use super::batch::render_batch;
use super::env::TemplateEnv;
use super::error::RenderError;
use crate::inventory::Inventory;
use crate::model::Session;
use crate::platform::{ExecStep, Op, Profiles, PushPlan, ReadRequest, RenderedPush};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Renders `sessions` (grouped by router, one batch each) for `op` and
/// formats the pushes. Lines starting with `#` are annotations; everything
/// else is sent verbatim.
pub fn render_for_cli(
    env: &TemplateEnv,
    profiles: &Profiles,
    inv: &Inventory,
    op: Op,
    sessions: &[Session],
    reveal_secrets: bool,
) -> Result<String, RenderError> {
    let mut by_router: BTreeMap<&str, Vec<Session>> = BTreeMap::new();
    for s in sessions {
        by_router
            .entry(s.router.as_str())
            .or_default()
            .push(s.clone());
    }
    let mut out = String::new();
    for batch in by_router.values() {
        let push = render_batch(env, profiles, op, batch, inv)?;
        let text = format_push(&push);
        out.push_str(&if reveal_secrets {
            text
        } else {
            push.redact(&text)
        });
    }
    Ok(out)
}

fn timeout(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs())
}

fn step_lines(out: &mut String, label: &str, i: usize, s: &ExecStep) {
    let mut head = format!("## {label} {}", i + 1);
    if let Some(id) = &s.session_id {
        let _ = write!(head, " (session {id}");
        if let Some(f) = &s.file {
            let _ = write!(head, ", file {f}");
        }
        head.push(')');
    }
    let _ = writeln!(out, "{head}: {}", s.command);
    let exits: Vec<String> = s.expect_exit.iter().map(u32::to_string).collect();
    let _ = write!(out, "##   expect exit {}", exits.join("|"));
    if !s.expect_output.is_empty() {
        let _ = write!(out, "; expect output {:?}", s.expect_output);
    }
    if !s.fail_output.is_empty() {
        let _ = write!(out, "; fail on {:?}", s.fail_output);
    }
    let _ = writeln!(out, "; timeout {}", timeout(s.timeout));
    if let Some(stdin) = &s.stdin {
        let _ = writeln!(out, "##   stdin:");
        out.push_str(stdin);
        if !stdin.ends_with('\n') {
            out.push('\n');
        }
    }
}

/// The human-readable form of one push (secrets in clear).
pub fn format_push(p: &RenderedPush) -> String {
    let mut out = String::new();
    let n = p.session_ids.len();
    let _ = writeln!(
        out,
        "# router {}: platform {}, transport {}, {} {n} session{}",
        p.router,
        p.platform,
        p.transport.as_str(),
        p.op.as_str(),
        if n == 1 { "" } else { "s" }
    );
    for id in &p.session_ids {
        let _ = writeln!(out, "#   session {id}");
    }
    match &p.plan {
        PushPlan::Exec { steps, rollback } => {
            for (i, s) in steps.iter().enumerate() {
                step_lines(&mut out, "step", i, s);
            }
            for (i, s) in rollback.iter().enumerate() {
                step_lines(&mut out, "on failure", i, s);
            }
        }
        PushPlan::Netconf { settings, config } => {
            let _ = write!(
                out,
                "## netconf edit-config: target {}, default-operation {}, error-option {}",
                settings.target.as_str(),
                settings.default_operation.as_str(),
                settings.error_option.as_str()
            );
            if settings.confirmed_commit_secs > 0 {
                let _ = write!(
                    out,
                    ", confirmed commit {}s",
                    settings.confirmed_commit_secs
                );
            }
            if settings.lock {
                out.push_str(", locked");
            }
            let _ = writeln!(out, ", timeout {}s", settings.timeout_secs);
            let _ = writeln!(out, "{config}");
        }
    }
    let _ = writeln!(
        out,
        "## verify: {} (parser {})",
        p.verify.request.summary(),
        p.verify.parser.name()
    );
    match &p.verify.request {
        ReadRequest::NetconfGetConfig { filter, .. } | ReadRequest::NetconfGet { filter, .. } => {
            let _ = writeln!(out, "##   filter:\n{filter}");
        }
        ReadRequest::NetconfRpc { body, .. } => {
            let _ = writeln!(out, "##   rpc:\n{body}");
        }
        ReadRequest::Exec { .. } => {}
    }
    for e in &p.expected {
        let _ = writeln!(
            out,
            "##   expect {} {} (peer AS {})",
            e.address,
            if p.op == Op::Add { "present" } else { "absent" },
            e.peer_as
        );
    }
    out
}

//! Rendering: a Tera 2 environment over `templates/<platform>/*.tera`, the
//! typed render context ([`context`]), and [`render_batch`], which turns a
//! batch of sessions for one router into the exact [`RenderedPush`] its
//! platform profile describes: one render and one apply per batch.
//!
//! Undefined values are errors (Tera 2's default, kept). Templates whose
//! name ends in `.xml.tera` are XML-escaped automatically.

mod check;
mod cli;
pub mod context;

pub use check::{check_all, sample_sessions, sample_sessions_for, SAMPLE_SECRET};
pub use cli::{format_push, render_for_cli};

use crate::driver::{
    ExecStep, ExpectedNeighbor, ForEach, Op, Profile, Profiles, PushPlan, ReadPlan, ReadRequest,
    ReadSpec, RenderedPush, StepSpec, TransportKind,
};
use crate::inventory::{Inventory, Router};
use crate::model::Session;
use context::{NeighborCtx, OnceCommandCtx, SessionCommandCtx, TemplateCtx};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

/// Most sessions one batch may hold.
pub const MAX_BATCH: usize = 1000;
/// Largest template file accepted.
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// A render failure, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Load(String),
    #[error("session {session}: {problem}")]
    Session { session: String, problem: String },
    #[error("{0}")]
    Batch(String),
    #[error("template {name}: {msg}")]
    Template { name: String, msg: String },
    #[error("{0}")]
    Command(String),
}

/// The Tera environment over the templates directory.
#[derive(Clone)]
pub struct TemplateEnv {
    tera: tera::Tera,
    names: BTreeSet<String>,
}

impl std::fmt::Debug for TemplateEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateEnv")
            .field("templates", &self.names)
            .finish()
    }
}

/// XML escaping for `.xml.tera` templates: `& < > " '`.
pub fn xml_escape(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for b in input.bytes() {
        match b {
            b'&' => out.write_all(b"&amp;")?,
            b'<' => out.write_all(b"&lt;")?,
            b'>' => out.write_all(b"&gt;")?,
            b'"' => out.write_all(b"&quot;")?,
            b'\'' => out.write_all(b"&apos;")?,
            _ => out.write_all(&[b])?,
        }
    }
    Ok(())
}

impl TemplateEnv {
    /// Loads every `<platform>/<file>.tera` under `dir`; the template name
    /// is `<platform>/<file>.tera`.
    pub fn load(dir: &Path) -> Result<TemplateEnv, RenderError> {
        let io = |p: &Path, e: std::io::Error| RenderError::Load(format!("{}: {e}", p.display()));
        let mut items = Vec::new();
        let mut subdirs: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for sub in subdirs {
            let platform = sub
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let mut files: Vec<_> = std::fs::read_dir(&sub)
                .map_err(|e| io(&sub, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()) == Some("tera"))
                .collect();
            files.sort();
            for f in files {
                let len = std::fs::metadata(&f).map_err(|e| io(&f, e))?.len();
                if len > MAX_TEMPLATE_BYTES {
                    return Err(RenderError::Load(format!(
                        "{}: larger than {MAX_TEMPLATE_BYTES} bytes",
                        f.display()
                    )));
                }
                let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
                let file = f.file_name().and_then(|s| s.to_str()).unwrap_or_default();
                items.push((format!("{platform}/{file}"), text));
            }
        }
        Self::from_templates(items).map_err(|e| match e {
            RenderError::Load(m) => RenderError::Load(format!("{}: {m}", dir.display())),
            other => other,
        })
    }

    /// Builds from `(name, text)` pairs (`name` = `<platform>/<file>.tera`).
    pub fn from_templates<N: AsRef<str>, T: AsRef<str>>(
        items: impl IntoIterator<Item = (N, T)>,
    ) -> Result<TemplateEnv, RenderError> {
        let mut tera = tera::Tera::new();
        tera.autoescape_on([".xml.tera"]);
        tera.set_escape_fn(xml_escape);
        let mut names = BTreeSet::new();
        let mut errors = Vec::new();
        for (name, text) in items {
            let name = name.as_ref();
            match tera.add_raw_template(name, text.as_ref()) {
                Ok(()) => {
                    names.insert(name.to_string());
                }
                Err(e) => errors.push(format!("{name}: {}", crate::driver::error_chain(&e))),
            }
        }
        if errors.is_empty() {
            Ok(TemplateEnv { tera, names })
        } else {
            Err(RenderError::Load(errors.join("\n")))
        }
    }

    /// True when `<platform>/<file>` was loaded.
    pub fn contains(&self, platform: &str, file: &str) -> bool {
        self.names.contains(&format!("{platform}/{file}"))
    }

    /// Template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Every template a profile refers to that is not loaded, as messages
    /// naming the profile file and key path.
    pub fn missing_templates(&self, profiles: &Profiles) -> Vec<String> {
        let mut out = Vec::new();
        for p in profiles.iter() {
            for (path, file) in p.template_refs() {
                if !self.contains(&p.platform, &file) {
                    out.push(format!(
                        "{}: {path}: template templates/{}/{file} does not exist",
                        p.file, p.platform
                    ));
                }
            }
        }
        out
    }

    /// Renders `templates/<platform>/<file>` with `ctx`.
    pub fn render(
        &self,
        platform: &str,
        file: &str,
        ctx: &TemplateCtx,
    ) -> Result<String, RenderError> {
        let name = format!("{platform}/{file}");
        let terr = |e: &dyn std::error::Error| RenderError::Template {
            name: name.clone(),
            msg: crate::driver::error_chain(e),
        };
        if !self.names.contains(&name) {
            return Err(RenderError::Template {
                name,
                msg: "no such template".into(),
            });
        }
        let c = tera::Context::from_serialize(ctx).map_err(|e| terr(&e))?;
        self.tera.render(&name, &c).map_err(|e| terr(&e))
    }
}

fn ctx_of<T: serde::Serialize>(v: &T) -> Result<tera::Context, RenderError> {
    tera::Context::from_serialize(v)
        .map_err(|e| RenderError::Command(crate::driver::error_chain(&e)))
}

/// Renders a batch of sessions for one router: every session must be for
/// the same router; the router's platform profile decides what is rendered.
pub fn render_batch(
    env: &TemplateEnv,
    profiles: &Profiles,
    op: Op,
    sessions: &[Session],
    inv: &Inventory,
) -> Result<RenderedPush, RenderError> {
    if sessions.len() > MAX_BATCH {
        return Err(RenderError::Batch(format!(
            "more than {MAX_BATCH} sessions in one batch"
        )));
    }
    let (router, profile, tctx) = batch_ctx(profiles, op, sessions, inv)?;
    let spec = match op {
        Op::Add => &profile.add,
        Op::Remove => &profile.remove,
    };
    let plan = match profile.transport {
        TransportKind::SshExec => PushPlan::Exec {
            steps: exec_steps(env, profiles, profile, op, "steps", &spec.steps, &tctx)?,
            rollback: exec_steps(
                env,
                profiles,
                profile,
                op,
                "rollback",
                &spec.rollback,
                &tctx,
            )?,
        },
        TransportKind::SshCli => {
            let text = env.render(&profile.platform, config_template(profile, op)?, &tctx)?;
            PushPlan::Cli {
                settings: profile.cli.clone().ok_or_else(|| missing(profile, "cli"))?,
                lines: text
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        }
        TransportKind::Netconf => {
            let text = env.render(&profile.platform, config_template(profile, op)?, &tctx)?;
            PushPlan::Netconf {
                settings: profile
                    .netconf
                    .clone()
                    .ok_or_else(|| missing(profile, "netconf"))?,
                config: text.trim().to_string(),
            }
        }
    };
    let verify = read_plan(env, profiles, profile, "verify", &profile.verify, &tctx)?;
    let expected = tctx
        .neighbors
        .iter()
        .zip(sessions)
        .map(|(n, s)| ExpectedNeighbor {
            session_id: n.session_id.clone(),
            address: s.local_ip,
            peer_as: n.peer_as,
        })
        .collect();
    let secrets = tctx
        .neighbors
        .iter()
        .filter_map(|n| n.md5.clone())
        .collect();
    Ok(RenderedPush {
        router: router.name.clone(),
        platform: profile.platform.clone(),
        transport: profile.transport,
        op,
        session_ids: sessions.iter().map(|s| s.session_id.clone()).collect(),
        plan,
        verify,
        expected,
        secrets,
    })
}

/// The verify read of `sessions` (all on one router) as a push of them
/// would render it, without rendering the push itself: what the worker
/// reads before a first push and the poller reads for drift.
pub fn verify_request(
    env: &TemplateEnv,
    profiles: &Profiles,
    sessions: &[Session],
    inv: &Inventory,
) -> Result<ReadPlan, RenderError> {
    let (_, profile, tctx) = batch_ctx(profiles, Op::Add, sessions, inv)?;
    read_plan(env, profiles, profile, "verify", &profile.verify, &tctx)
}

/// The render context of a batch: its router, profile and neighbors, each
/// session checked against the inventory.
fn batch_ctx<'a>(
    profiles: &'a Profiles,
    op: Op,
    sessions: &[Session],
    inv: &'a Inventory,
) -> Result<(&'a Router, &'a Profile, TemplateCtx), RenderError> {
    let first = sessions
        .first()
        .ok_or_else(|| RenderError::Batch("an empty batch renders nothing".into()))?;
    let router = inv.router(&first.router).ok_or_else(|| {
        RenderError::Batch(format!(
            "no router named {:?} in the inventory",
            first.router
        ))
    })?;
    let profile = profiles.get(&router.platform).ok_or_else(|| {
        RenderError::Batch(format!(
            "router {}: no profile for platform {:?} (drivers/{}.yaml)",
            router.name, router.platform, router.platform
        ))
    })?;
    let mut ids = HashSet::new();
    let mut addrs = HashSet::new();
    let mut neighbors = Vec::with_capacity(sessions.len());
    for s in sessions {
        if s.router != router.name {
            return Err(RenderError::Batch(format!(
                "a batch is for one router: session {} is for {:?}, not {:?}",
                s.session_id, s.router, router.name
            )));
        }
        if !ids.insert(s.session_id.as_str()) {
            return Err(RenderError::Batch(format!(
                "session {} appears twice in the batch",
                s.session_id
            )));
        }
        if !addrs.insert(s.local_ip) {
            return Err(RenderError::Batch(format!(
                "two sessions of the batch are for the same neighbor {}",
                s.local_ip
            )));
        }
        let loc = inv
            .location(&s.location.id)
            .ok_or_else(|| RenderError::Session {
                session: s.session_id.clone(),
                problem: format!("unknown location {:?}", s.location.id),
            })?;
        neighbors.push(context::neighbor_ctx(s, inv, router, loc)?);
    }
    let rctx = context::router_ctx(router, profile)?;
    Ok((
        router,
        profile,
        context::template_ctx(op, inv.asn, rctx, neighbors),
    ))
}

/// The read that fetches BGP state from `router` (None when its platform
/// cannot report state).
pub fn state_request(
    env: &TemplateEnv,
    profiles: &Profiles,
    router: &str,
    inv: &Inventory,
) -> Result<Option<ReadPlan>, RenderError> {
    let r = inv.router(router).ok_or_else(|| {
        RenderError::Batch(format!("no router named {router:?} in the inventory"))
    })?;
    let profile = profiles.get(&r.platform).ok_or_else(|| {
        RenderError::Batch(format!(
            "router {router}: no profile for platform {:?}",
            r.platform
        ))
    })?;
    let Some(spec) = &profile.state else {
        return Ok(None);
    };
    let rctx = context::router_ctx(r, profile)?;
    let mut tctx = context::template_ctx(Op::Add, inv.asn, rctx, vec![]);
    tctx.op = "state";
    read_plan(env, profiles, profile, "state", spec, &tctx).map(Some)
}

fn missing(p: &Profile, key: &str) -> RenderError {
    RenderError::Batch(format!("{}: {key}: missing", p.file))
}

fn config_template(p: &Profile, op: Op) -> Result<&str, RenderError> {
    let spec = match op {
        Op::Add => &p.add,
        Op::Remove => &p.remove,
    };
    spec.config
        .as_deref()
        .ok_or_else(|| missing(p, &format!("{}.config", op.as_str())))
}

fn once_ctx(t: &TemplateCtx) -> OnceCommandCtx {
    OnceCommandCtx {
        vars: context::command_vars(&t.router),
        router: t.router.name.clone(),
        session_ids: t.neighbors.iter().map(|n| n.session_id.clone()).collect(),
        names: t.neighbors.iter().map(|n| n.name.clone()).collect(),
        files: t.neighbors.iter().map(|n| n.file.clone()).collect(),
    }
}

fn one_session_ctx(t: &TemplateCtx, n: &NeighborCtx) -> TemplateCtx {
    let mut c = context::template_ctx(Op::Add, t.local_as, t.router.clone(), vec![n.clone()]);
    c.op = t.op;
    c.neighbor = Some(n.clone());
    c
}

fn exec_steps(
    env: &TemplateEnv,
    profiles: &Profiles,
    p: &Profile,
    op: Op,
    list: &str,
    specs: &[StepSpec],
    t: &TemplateCtx,
) -> Result<Vec<ExecStep>, RenderError> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let path = format!("{}.{list}[{i}].command", op.as_str());
        let step = |command: String, stdin: Option<String>, n: Option<&NeighborCtx>| ExecStep {
            command,
            stdin,
            session_id: n.map(|n| n.session_id.clone()),
            file: n.map(|n| n.file.clone()),
            expect_exit: s.expect_exit.clone(),
            expect_output: s.expect_output.clone(),
            fail_output: s.fail_output.clone(),
            timeout: Duration::from_secs(s.timeout_secs),
        };
        match s.for_each {
            ForEach::Once => {
                let command = profiles
                    .render_command(&p.platform, &path, &ctx_of(&once_ctx(t))?)
                    .map_err(RenderError::Command)?;
                let stdin = match &s.stdin {
                    Some(f) => Some(env.render(&p.platform, f, t)?),
                    None => None,
                };
                out.push(step(command, stdin, None));
            }
            ForEach::Session => {
                for n in &t.neighbors {
                    let cctx = SessionCommandCtx {
                        vars: context::command_vars(&t.router),
                        router: t.router.name.clone(),
                        session_id: n.session_id.clone(),
                        name: n.name.clone(),
                        file: n.file.clone(),
                    };
                    let command = profiles
                        .render_command(&p.platform, &path, &ctx_of(&cctx)?)
                        .map_err(RenderError::Command)?;
                    let stdin = match &s.stdin {
                        Some(f) => Some(env.render(&p.platform, f, &one_session_ctx(t, n))?),
                        None => None,
                    };
                    out.push(step(command, stdin, Some(n)));
                }
            }
        }
    }
    Ok(out)
}

fn read_plan(
    env: &TemplateEnv,
    profiles: &Profiles,
    p: &Profile,
    which: &str,
    spec: &ReadSpec,
    t: &TemplateCtx,
) -> Result<ReadPlan, RenderError> {
    let timeout = Duration::from_secs(spec.timeout_secs);
    let request = if spec.command.is_some() {
        let command = profiles
            .render_command(
                &p.platform,
                &format!("{which}.command"),
                &ctx_of(&once_ctx(t))?,
            )
            .map_err(RenderError::Command)?;
        if p.transport == TransportKind::SshCli {
            ReadRequest::Cli { command, timeout }
        } else {
            ReadRequest::Exec { command, timeout }
        }
    } else if let Some(g) = &spec.get_config {
        ReadRequest::NetconfGetConfig {
            source: g.source,
            filter: env.render(&p.platform, &g.filter, t)?.trim().to_string(),
            timeout,
        }
    } else if let Some(g) = &spec.get {
        ReadRequest::NetconfGet {
            filter: env.render(&p.platform, &g.filter, t)?.trim().to_string(),
            timeout,
        }
    } else if let Some(r) = &spec.rpc {
        ReadRequest::NetconfRpc {
            body: env.render(&p.platform, r, t)?.trim().to_string(),
            timeout,
        }
    } else {
        return Err(missing(p, which));
    };
    let parser = crate::driver::ParserKind::from_name(&spec.parser).ok_or_else(|| {
        RenderError::Batch(format!(
            "{}: {which}.parser: unknown parser {:?}",
            p.file, spec.parser
        ))
    })?;
    Ok(ReadPlan {
        request,
        parser,
        secret_visible: spec.secret_visible,
    })
}

#[cfg(test)]
mod tests;

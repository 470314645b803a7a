//! Rendering a batch: [`render_batch`] turns a batch of sessions for one
//! router into the exact [`RenderedPush`] its platform profile describes
//! (one render and one apply per batch), [`verify_request`] and
//! [`state_request`] render the reads the worker asks the driver to make,
//! and [`Renderer`] bundles what they need for the worker.

use super::context::{self, TemplateCtx};
use super::env::TemplateEnv;
use super::error::RenderError;
use super::prepared::{session_text, Prepared};
use super::reads::command_reads;
use crate::inventory::{Inventory, Router};
use crate::irr::PrefixList;
use crate::model::Session;
use crate::platform::{
    command_name, ExecStep, ExpectedNeighbor, ForEach, NetconfRead, Op, ParserKind, Profile,
    Profiles, PushPlan, ReadCommon, ReadPlan, ReadRequest, RenderedPush, StepSpec, Transport,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Most sessions one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// What rendering needs, loaded once at start: the templates, the platform
/// profiles and the inventory. The worker renders through it. Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Renderer {
    pub env: Arc<TemplateEnv>,
    pub profiles: Arc<Profiles>,
    pub inv: Arc<Inventory>,
}

impl Renderer {
    pub fn new(env: Arc<TemplateEnv>, profiles: Arc<Profiles>, inv: Arc<Inventory>) -> Self {
        Renderer { env, profiles, inv }
    }

    /// [`render_batch`].
    pub fn batch(&self, op: Op, sessions: &[Session]) -> Result<RenderedPush, RenderError> {
        render_batch(&self.env, &self.profiles, op, sessions, &self.inv)
    }

    /// [`render_batch_filtered`].
    pub fn batch_filtered(
        &self,
        op: Op,
        sessions: &[Session],
        filters: &Filters,
    ) -> Result<RenderedPush, RenderError> {
        render_batch_filtered(&self.env, &self.profiles, op, sessions, &self.inv, filters)
    }

    /// [`verify_request`].
    pub fn verify(&self, sessions: &[Session]) -> Result<ReadPlan, RenderError> {
        verify_request(&self.env, &self.profiles, sessions, &self.inv)
    }

    /// [`state_request`].
    pub fn state(&self, router: &str) -> Result<Option<ReadPlan>, RenderError> {
        state_request(&self.env, &self.profiles, router, &self.inv)
    }

    /// True when `router`'s platform renders the drain form (graceful
    /// shutdown, RFC 8326).
    pub fn drains(&self, router: &str) -> bool {
        self.inv
            .router(router)
            .and_then(|r| self.profiles.get(&r.platform))
            .is_some_and(|p| p.graceful_shutdown)
    }

    /// False when `router`'s platform cannot report BGP state (or the
    /// router or its profile is unknown).
    pub fn reads_state(&self, router: &str) -> bool {
        self.inv
            .router(router)
            .and_then(|r| self.profiles.get(&r.platform))
            .is_some_and(|p| p.reads_state())
    }
}

/// IRR prefix lists by session id (each of its session's family).
pub type Filters = HashMap<String, PrefixList>;

/// Renders a batch of sessions for one router: every session must be for
/// the same router; the router's platform profile decides what is rendered.
/// No IRR prefix lists: [`render_batch_filtered`].
pub fn render_batch(
    env: &TemplateEnv,
    profiles: &Profiles,
    op: Op,
    sessions: &[Session],
    inv: &Inventory,
) -> Result<RenderedPush, RenderError> {
    render_batch_filtered(env, profiles, op, sessions, inv, &Filters::new())
}

/// [`render_batch`], with the IRR prefix lists of the sessions whose
/// location filters imports. An add of such a session without a good list
/// is refused: an empty filter is never rendered.
pub fn render_batch_filtered(
    env: &TemplateEnv,
    profiles: &Profiles,
    op: Op,
    sessions: &[Session],
    inv: &Inventory,
    filters: &Filters,
) -> Result<RenderedPush, RenderError> {
    if sessions.len() > MAX_BATCH {
        return Err(RenderError::Batch(format!(
            "more than {MAX_BATCH} sessions in one batch"
        )));
    }
    let (router, profile, mut tctx) = batch_ctx(profiles, op, sessions, inv)?;
    if op == Op::Add && !profile.prefix_lists {
        if let Some(n) = tctx.neighbors.iter().find(|n| n.prefix_filter) {
            return Err(RenderError::Session {
                session: n.session_id.clone(),
                problem: format!(
                    "its location filters imports with an IRR prefix list (prefix_filter), and \
                     platform {} cannot render prefix lists (drivers/{}.yaml: prefix_lists: \
                     false); nothing was pushed",
                    profile.platform, profile.platform
                ),
            });
        }
    }
    if op == Op::Add {
        for n in tctx.neighbors.iter_mut().filter(|n| n.prefix_filter) {
            n.prefix_list = filters
                .get(&n.session_id)
                .and_then(|l| context::prefix_list_ctx(n, l));
            if n.prefix_list.is_none() {
                return Err(RenderError::Session {
                    session: n.session_id.clone(),
                    problem: "its location filters imports with an IRR prefix list, and there is no good list for it; nothing was pushed".into(),
                });
            }
        }
        // `ipv4` and `ipv6` stay empty (see `batch_ctx`): no neighbor is
        // copied for them
    }
    if let Some(n) = tctx.neighbors.iter().find(|n| n.md5.is_some()) {
        if !profile.tcp_md5 {
            return Err(RenderError::Session {
                session: n.session_id.clone(),
                problem: format!(
                    "has a session_secret, and platform {} cannot set a TCP-MD5 password \
                     (drivers/{}.yaml: tcp_md5: false); nothing was pushed",
                    profile.platform, profile.platform
                ),
            });
        }
    }
    let tctx = &Prepared::new(&tctx)?;
    let (plan, verify) = match &profile.transport {
        Transport::SshExec(x) => {
            let spec = match op {
                Op::Add => &x.add,
                Op::Remove => &x.remove,
            };
            let plan = PushPlan::Exec {
                steps: exec_steps(env, profiles, profile, op, "steps", &spec.steps, tctx)?,
                rollback: exec_steps(env, profiles, profile, op, "rollback", &spec.rollback, tctx)?,
            };
            let verify = command_plan(profiles, profile, "verify", &x.verify, tctx)?;
            (plan, verify)
        }
        Transport::Netconf(n) => {
            let spec = match op {
                Op::Add => &n.add,
                Op::Remove => &n.remove,
            };
            let text = env.render_with(&profile.platform, &spec.config, tctx.batch()?)?;
            let plan = PushPlan::Netconf {
                settings: n.netconf.clone(),
                config: text.trim().to_string(),
            };
            let verify = netconf_plan(env, profile, "verify", &n.verify, tctx)?;
            (plan, verify)
        }
    };
    let expected = tctx
        .t
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
        .t
        .neighbors
        .iter()
        .filter_map(|n| n.md5.clone())
        .collect();
    Ok(RenderedPush {
        router: router.name.clone(),
        platform: profile.platform.clone(),
        transport: profile.kind(),
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
    let tctx = &Prepared::new(&tctx)?;
    match &profile.transport {
        Transport::SshExec(x) => command_plan(profiles, profile, "verify", &x.verify, tctx),
        Transport::Netconf(n) => netconf_plan(env, profile, "verify", &n.verify, tctx),
    }
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
    // the checks below name the first session that repeats an id or an
    // address, in batch order; a sorted pass says first whether there is
    // one at all (there seldom is), so a batch without one hashes nothing
    let dups = has_duplicates(sessions);
    let (mut ids, mut addrs) = (HashSet::new(), HashSet::new());
    let mut neighbors = Vec::with_capacity(sessions.len());
    // the last location found, its context (shared by its neighbors) and
    // whether a neighbor there has passed its names' checks
    let mut last_loc: Option<(&crate::inventory::Location, Arc<context::LocationCtx>, bool)> = None;
    for s in sessions {
        if s.router != router.name {
            return Err(RenderError::Batch(format!(
                "a batch is for one router: session {} is for {:?}, not {:?}",
                s.session_id, s.router, router.name
            )));
        }
        if dups && !ids.insert(s.session_id.as_str()) {
            return Err(RenderError::Batch(format!(
                "session {} appears twice in the batch",
                s.session_id
            )));
        }
        if dups && !addrs.insert(s.local_ip) {
            return Err(RenderError::Batch(format!(
                "two sessions of the batch are for the same neighbor {}",
                s.local_ip
            )));
        }
        // a batch's sessions are mostly at one location: the last one
        // found is tried before the inventory's list
        let (loc, at, checked) = match last_loc.take() {
            Some(l) if l.0.id == s.location.id => l,
            _ => {
                let l = inv
                    .location(&s.location.id)
                    .ok_or_else(|| RenderError::Session {
                        session: s.session_id.clone(),
                        problem: format!("unknown location {:?}", s.location.id),
                    })?;
                (l, context::location_ctx(l), false)
            }
        };
        let mut n = context::neighbor_ctx_at(s, inv, router, loc, &at, checked)?;
        last_loc = Some((loc, at, true));
        if op == Op::Add {
            n.form = context::form_for(s, profile);
        }
        neighbors.push(n);
    }
    let rctx = context::router_ctx(router, profile)?;
    // `ipv4` and `ipv6` stay empty: `Prepared` splits the families from
    // the neighbors' values, without copying a neighbor
    let tctx = TemplateCtx {
        op: op.as_str(),
        local_as: inv.asn,
        router: rctx,
        neighbors,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
        neighbor: None,
    };
    Ok((router, profile, tctx))
}

/// True when two of `sessions` share a session id or a neighbor address.
fn has_duplicates(sessions: &[Session]) -> bool {
    let mut ids: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    ids.sort_unstable();
    let mut addrs: Vec<std::net::IpAddr> = sessions.iter().map(|s| s.local_ip).collect();
    addrs.sort_unstable();
    ids.windows(2).any(|w| w[0] == w[1]) || addrs.windows(2).any(|w| w[0] == w[1])
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
    if !profile.reads_state() {
        return Ok(None);
    }
    let rctx = context::router_ctx(r, profile)?;
    let mut tctx = context::template_ctx(Op::Add, inv.asn, rctx, vec![]);
    tctx.op = "state";
    let tctx = &Prepared::new(&tctx)?;
    match &profile.transport {
        Transport::SshExec(x) => x
            .state
            .as_ref()
            .map(|s| command_plan(profiles, profile, "state", s, tctx))
            .transpose(),
        Transport::Netconf(n) => n
            .state
            .as_ref()
            .map(|s| netconf_plan(env, profile, "state", s, tctx))
            .transpose(),
    }
}

fn exec_steps(
    env: &TemplateEnv,
    profiles: &Profiles,
    p: &Profile,
    op: Op,
    list: &str,
    specs: &[StepSpec],
    t: &Prepared<'_>,
) -> Result<Vec<ExecStep>, RenderError> {
    let per_session = specs
        .iter()
        .filter(|s| matches!(s.for_each, ForEach::Session))
        .count();
    let mut out = Vec::with_capacity(specs.len() - per_session + per_session * t.t.neighbors.len());
    for (i, s) in specs.iter().enumerate() {
        let path = format!("{}.{list}[{i}].command", op.as_str());
        let step =
            |command: String, stdin: Option<String>, n: Option<&context::NeighborCtx>| ExecStep {
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
                    .render_command(&p.platform, &path, t.once())
                    .map_err(RenderError::Command)?;
                let stdin = match &s.stdin {
                    Some(f) => Some(env.render_with(&p.platform, f, t.batch()?)?),
                    None => None,
                };
                out.push(step(command, stdin, None));
            }
            ForEach::Session => {
                let name = command_name(&p.platform, &path);
                let reads = env.reads(&p.platform);
                let cmd_reads = command_reads(&s.command);
                // a command of text and lookups is put together without
                // Tera (plain.rs); any other goes through Tera
                let plain = t.plain_session_cmd(&s.command);
                let file = match &s.stdin {
                    Some(f) => Some(env.loaded(&p.platform, f)?),
                    None => None,
                };
                for (i, n) in t.t.neighbors.iter().enumerate() {
                    let command = match &plain {
                        Some(c) => c.render(|k| session_text(n, k)),
                        None => t
                            .with_session_cmd(i, cmd_reads, |c| profiles.render_named(&name, c))?
                            .map_err(RenderError::Command)?,
                    };
                    let stdin = match &file {
                        Some(f) => Some(t.with_one(i, reads, |c| env.render_loaded(f, c))??),
                        None => None,
                    };
                    out.push(step(command, stdin, Some(n)));
                }
            }
        }
    }
    Ok(out)
}

/// An ssh-exec read: its command rendered from safe tokens.
fn command_plan(
    profiles: &Profiles,
    p: &Profile,
    which: &str,
    spec: &crate::platform::CommandRead,
    t: &Prepared<'_>,
) -> Result<ReadPlan, RenderError> {
    let command = profiles
        .render_command(&p.platform, &format!("{which}.command"), t.once())
        .map_err(RenderError::Command)?;
    let timeout = Duration::from_secs(spec.timeout_secs);
    read_plan(
        p,
        which,
        ReadRequest::Exec { command, timeout },
        spec.common(),
    )
}

/// A NETCONF read: its filter or RPC body rendered from the templates.
fn netconf_plan(
    env: &TemplateEnv,
    p: &Profile,
    which: &str,
    spec: &NetconfRead,
    t: &Prepared<'_>,
) -> Result<ReadPlan, RenderError> {
    let timeout = Duration::from_secs(spec.timeout_secs);
    let request = if let Some(g) = &spec.get_config {
        ReadRequest::NetconfGetConfig {
            source: g.source,
            filter: env
                .render_with(&p.platform, &g.filter, t.batch()?)?
                .trim()
                .to_string(),
            timeout,
        }
    } else if let Some(g) = &spec.get {
        ReadRequest::NetconfGet {
            filter: env
                .render_with(&p.platform, &g.filter, t.batch()?)?
                .trim()
                .to_string(),
            timeout,
        }
    } else if let Some(r) = &spec.rpc {
        ReadRequest::NetconfRpc {
            body: env
                .render_with(&p.platform, r, t.batch()?)?
                .trim()
                .to_string(),
            timeout,
        }
    } else {
        return Err(RenderError::Batch(format!("{}: {which}: missing", p.file)));
    };
    read_plan(p, which, request, spec.common())
}

fn read_plan(
    p: &Profile,
    which: &str,
    request: ReadRequest,
    spec: ReadCommon<'_>,
) -> Result<ReadPlan, RenderError> {
    let parser = ParserKind::from_name(spec.parser).ok_or_else(|| {
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

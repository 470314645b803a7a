//! The live driver: a platform profile bound to a transport. It renders a
//! batch ([`crate::render::render_batch`]), applies it over the profile's
//! transport, reads the running config back and checks every neighbor, and
//! makes the poller's reads (the running config for drift and BGP state,
//! over one connection). It implements the worker's [`RouterDriver`].
//!
//! Errors are classified for the worker: anything that is the network's or
//! the login's fault (refused connection, timeout, host key, auth) is
//! transient, so the session keeps retrying with the reason in
//! `status_detail` until an operator fixes the router or the inventory; a
//! router that refuses the config is permanent, unless it failed for lack
//! of file descriptors ([`PushError::classified`]). Secrets are redacted
//! from every message before it leaves this module.

use super::Profiles;
use super::{Op, PushPlan, ReadPlan, ReadRequest, RenderedPush};
use crate::inventory::Inventory;
use crate::model::Session;
use crate::render::{self, TemplateEnv};
use crate::transport::ssh::{self, SshSession, SshTarget};
use crate::transport::TransportError;
use crate::worker::{NeighborState, PollRead, PushError, PushOutcome, RouterDriver};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Everything a push needs, loaded once at start.
#[derive(Clone)]
pub struct LiveDriver {
    inv: Arc<Inventory>,
    profiles: Arc<Profiles>,
    env: Arc<TemplateEnv>,
    netconf: Option<Arc<dyn NetconfPusher>>,
}

/// Applies a rendered NETCONF push (implemented by the NETCONF transport).
pub trait NetconfPusher: Send + Sync + 'static {
    fn push(
        &self,
        target: SshTarget,
        push: RenderedPush,
    ) -> BoxFuture<'static, Result<(), PushError>>;
    /// Runs `reads` in order in one NETCONF session: one answer (or error)
    /// per read; `Err` when the session could not be opened.
    fn read_all(
        &self,
        target: SshTarget,
        reads: Vec<ReadRequest>,
    ) -> BoxFuture<'static, Result<Vec<Result<String, PushError>>, PushError>>;
}

fn transport_err(e: TransportError, secrets: &Secrets) -> PushError {
    let msg = secrets.redact(&e.to_string());
    match e {
        TransportError::Remote { .. } => PushError::Permanent(msg),
        _ => PushError::Transient(msg),
    }
    .classified()
}

/// The secrets a router's messages may echo (a push's, or the sessions'
/// of a read), for redaction.
struct Secrets<'a>(&'a [String]);

impl Secrets<'_> {
    fn redact(&self, s: &str) -> String {
        super::plan::redact_with(self.0, s)
    }
}

/// The session secrets of `sessions` (a read's answer may show them).
fn session_secrets(sessions: &[Session]) -> Vec<String> {
    sessions
        .iter()
        .filter_map(|s| s.session_secret.as_ref())
        .map(|s| s.expose().to_string())
        .collect()
}

impl LiveDriver {
    pub fn new(inv: Arc<Inventory>, profiles: Arc<Profiles>, env: Arc<TemplateEnv>) -> Self {
        LiveDriver {
            inv,
            profiles,
            env,
            netconf: None,
        }
    }

    /// Adds the NETCONF transport.
    pub fn with_netconf(mut self, n: Arc<dyn NetconfPusher>) -> Self {
        self.netconf = Some(n);
        self
    }

    fn target(&self, router: &str) -> Result<SshTarget, PushError> {
        let r = self.inv.router(router).ok_or_else(|| {
            PushError::Permanent(format!("no router named {router:?} in the inventory"))
        })?;
        SshTarget::from_router(r).map_err(|e| PushError::Transient(e.to_string()))
    }

    /// Renders, applies and verifies one batch.
    pub async fn apply(
        &self,
        router: &str,
        op: Op,
        sessions: &[Session],
    ) -> Result<PushOutcome, PushError> {
        let push = render::render_batch(&self.env, &self.profiles, op, sessions, &self.inv)
            .map_err(|e| PushError::Permanent(format!("render: {e}")))?;
        let target = self.target(router)?;
        let started = Instant::now();
        let result = match &push.plan {
            PushPlan::Exec { .. } => self.apply_exec(&target, &push).await,
            PushPlan::Netconf { .. } => match self.netconf.as_ref() {
                Some(n) => n.push(target.clone(), push.clone()).await,
                None => Err(PushError::Permanent(
                    "the NETCONF transport is not available".into(),
                )),
            },
            PushPlan::Cli { .. } => Err(PushError::Permanent(format!(
                "platform {}: the ssh-cli transport is not built yet; use ssh-exec or netconf",
                push.platform
            ))),
        };
        if let Err(e) = result {
            // A removal can fail only because there is nothing left to remove
            // (a replay after a crash, a neighbor that never got pushed; some
            // NETCONF servers refuse to remove what is absent). If the running
            // config has none of the neighbors, the removal is done.
            if op == Op::Remove && self.verify_now(&target, &push).await.is_ok() {
                tracing::info!(router, error = %e, "removal failed but no neighbor is left: done");
            } else {
                return Err(e);
            }
        }
        Ok(PushOutcome {
            router_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Reads the running config and checks it against the push's expected
    /// neighbors (present after an add, absent after a remove).
    async fn verify_now(&self, target: &SshTarget, push: &RenderedPush) -> Result<(), PushError> {
        let sec = Secrets(&push.secrets);
        let text = self
            .read_all(target, &[&push.verify], &sec)
            .await
            .remove(0)?;
        push.check_verify(&text)
            .map_err(|p| PushError::Transient(push.redact(&p.join("; "))))
    }

    /// Runs `reads` in order over one connection, unparsed; one answer (or
    /// error) per read.
    async fn read_all(
        &self,
        target: &SshTarget,
        reads: &[&ReadPlan],
        sec: &Secrets<'_>,
    ) -> Vec<Result<String, PushError>> {
        let all = |e: PushError| reads.iter().map(|_| Err(e.clone())).collect();
        match reads.first().map(|r| &r.request) {
            None => Vec::new(),
            Some(ReadRequest::Exec { .. }) => {
                let sess = match ssh::connect(target).await {
                    Ok(s) => s,
                    Err(e) => return all(transport_err(e, sec)),
                };
                let mut out = Vec::with_capacity(reads.len());
                for r in reads {
                    out.push(read_exec(&sess, r, sec).await);
                }
                sess.close().await;
                out
            }
            Some(ReadRequest::Cli { .. }) => all(PushError::Permanent(
                "the ssh-cli transport is not built yet".into(),
            )),
            Some(_) => {
                let Some(n) = self.netconf.as_ref() else {
                    return all(PushError::Permanent(
                        "the NETCONF transport is not available".into(),
                    ));
                };
                let reqs = reads.iter().map(|r| r.request.clone()).collect();
                match n.read_all(target.clone(), reqs).await {
                    Ok(v) => v
                        .into_iter()
                        .map(|r| r.map_err(|e| redact_err(e, sec)))
                        .collect(),
                    Err(e) => all(redact_err(e, sec)),
                }
            }
        }
    }

    /// The neighbors in `router`'s running config, read as a push of
    /// `sessions` would verify them (nothing is applied).
    pub async fn running(
        &self,
        router: &str,
        sessions: &[Session],
    ) -> Result<Vec<super::ObservedNeighbor>, PushError> {
        self.poll_reads(router, sessions, false).await.running
    }

    /// The verify read of `sessions` and (with `state`, where the platform
    /// has one) the BGP state read of `router`, over one connection.
    pub async fn poll_reads(&self, router: &str, sessions: &[Session], state: bool) -> PollRead {
        let secrets = session_secrets(sessions);
        let sec = Secrets(&secrets);
        let render_err = |e: render::RenderError| PushError::Permanent(format!("render: {e}"));
        let verify = render::verify_request(&self.env, &self.profiles, sessions, &self.inv)
            .map_err(render_err);
        let state_plan = if state {
            render::state_request(&self.env, &self.profiles, router, &self.inv)
                .map_err(render_err)
                .transpose()
        } else {
            None
        };
        let mut plans = Vec::new();
        if let Ok(p) = &verify {
            plans.push(p);
        }
        // BIRD answers both from one `show protocols all`: read it once
        let same = matches!((&verify, &state_plan), (Ok(v), Some(Ok(s))) if v.request == s.request);
        if let (Some(Ok(p)), false) = (&state_plan, same) {
            plans.push(p);
        }
        let answers: Vec<_> = match self.target(router) {
            Ok(t) => self.read_all(&t, &plans, &sec).await,
            Err(e) => plans.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut answers = answers.into_iter();
        let mut verify_answer = None;
        let running = verify.and_then(|plan| {
            let text = answers.next().expect("one answer per read");
            if same {
                verify_answer = Some(text.clone());
            }
            plan.parse(&text?).map_err(|e| {
                PushError::Transient(sec.redact(&format!(
                    "router {router}: cannot read the running configuration: {e}"
                )))
            })
        });
        let state = state_plan.map(|p| {
            let plan = p?;
            let text = match verify_answer {
                Some(a) => a,
                None => answers.next().expect("one answer per read"),
            }?;
            let observed = plan.parse(&text).map_err(|e| {
                PushError::Transient(format!("router {router}: cannot read BGP state: {e}"))
            })?;
            Ok(states_of(observed))
        });
        PollRead { running, state }
    }

    async fn apply_exec(&self, target: &SshTarget, push: &RenderedPush) -> Result<(), PushError> {
        let PushPlan::Exec { steps, rollback } = &push.plan else {
            unreachable!("apply_exec is only called for exec plans")
        };
        let sec = Secrets(&push.secrets);
        let sess = ssh::connect(target)
            .await
            .map_err(|e| transport_err(e, &sec))?;
        let result = async {
            for step in steps {
                let out = sess
                    .exec_with_timeout(
                        &step.command,
                        step.stdin.as_deref().map(str::as_bytes),
                        step.timeout,
                    )
                    .await
                    .map_err(|e| transport_err(e, &sec))?;
                step.check(
                    Some(out.exit_status),
                    &out.stdout_text(),
                    &out.stderr_text(),
                )
                .map_err(|m| {
                    PushError::Permanent(format!("router {}: {}", push.router, push.redact(&m)))
                        .classified()
                })?;
            }
            let out = read_exec(&sess, &push.verify, &sec).await?;
            push.check_verify(&out).map_err(|problems| {
                PushError::Transient(format!(
                    "router {}: verify after {}: {}",
                    push.router,
                    push.op.as_str(),
                    push.redact(&problems.join("; "))
                ))
            })
        }
        .await;
        if result.is_err() && !rollback.is_empty() {
            for step in rollback {
                match sess
                    .exec_with_timeout(
                        &step.command,
                        step.stdin.as_deref().map(str::as_bytes),
                        step.timeout,
                    )
                    .await
                {
                    Ok(out) if out.exit_status == 0 => {}
                    Ok(out) => {
                        tracing::warn!(router = %push.router, status = out.exit_status, "rollback step failed")
                    }
                    Err(e) => {
                        tracing::warn!(router = %push.router, error = %push.redact(&e.to_string()), "rollback step failed")
                    }
                }
            }
        }
        sess.close().await;
        result
    }

    /// Reads BGP state of `router`'s neighbors.
    pub async fn state(&self, router: &str) -> Result<HashMap<IpAddr, NeighborState>, PushError> {
        let plan = render::state_request(&self.env, &self.profiles, router, &self.inv)
            .map_err(|e| PushError::Permanent(format!("render: {e}")))?
            .ok_or_else(|| {
                PushError::Permanent(format!(
                    "router {router}: its platform cannot report BGP state"
                ))
            })?;
        let target = self.target(router)?;
        let text = self
            .read_all(&target, &[&plan], &Secrets(&[]))
            .await
            .remove(0)?;
        let observed = plan.parse(&text).map_err(|e| {
            PushError::Transient(format!("router {router}: cannot read BGP state: {e}"))
        })?;
        Ok(states_of(observed))
    }
}

/// A state read's neighbors by address: established or not.
fn states_of(observed: Vec<super::ObservedNeighbor>) -> HashMap<IpAddr, NeighborState> {
    observed
        .into_iter()
        .map(|o| {
            let st = if o.established == Some(true) {
                NeighborState::Established
            } else {
                NeighborState::NotEstablished
            };
            (o.address, st)
        })
        .collect()
}

/// A NETCONF read's error with the read's secrets redacted.
fn redact_err(e: PushError, sec: &Secrets) -> PushError {
    match e {
        PushError::Transient(m) => PushError::Transient(sec.redact(&m)),
        PushError::Permanent(m) => PushError::Permanent(sec.redact(&m)),
    }
    .classified()
}

async fn read_exec(
    sess: &SshSession,
    plan: &ReadPlan,
    sec: &Secrets<'_>,
) -> Result<String, PushError> {
    let ReadRequest::Exec { command, timeout } = &plan.request else {
        return Err(PushError::Permanent(format!(
            "an ssh-exec profile cannot run {}",
            plan.request.summary()
        )));
    };
    let out = sess
        .exec_with_timeout(command, None, *timeout)
        .await
        .map_err(|e| transport_err(e, sec))?
        .check(sess.router())
        .map_err(|e| transport_err(e, sec))?;
    Ok(out.stdout_text())
}

impl RouterDriver for LiveDriver {
    fn reads_state(&self, router: &str) -> bool {
        self.inv
            .router(router)
            .and_then(|r| self.profiles.get(&r.platform))
            .is_some_and(|p| p.state.is_some())
    }

    fn push(
        &self,
        router: &str,
        op: Op,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<PushOutcome, PushError>> {
        let me = self.clone();
        let router = router.to_string();
        Box::pin(async move { me.apply(&router, op, &sessions).await })
    }

    fn running_neighbors(
        &self,
        router: &str,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<super::ObservedNeighbor>, PushError>> {
        let me = self.clone();
        let router = router.to_string();
        Box::pin(async move { me.running(&router, &sessions).await })
    }

    fn bgp_state(
        &self,
        router: &str,
        _sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<HashMap<IpAddr, NeighborState>, PushError>> {
        let me = self.clone();
        let router = router.to_string();
        Box::pin(async move { me.state(&router).await })
    }

    fn poll(&self, router: &str, sessions: Vec<Session>) -> BoxFuture<'static, PollRead> {
        let me = self.clone();
        let router = router.to_string();
        let state = self.reads_state(&router);
        Box::pin(async move { me.poll_reads(&router, &sessions, state).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_router_out_of_file_descriptors_is_transient() {
        let remote = |stderr: &str| TransportError::Remote {
            router: "rtr1".into(),
            status: 1,
            stderr: stderr.into(),
        };
        let secrets = vec!["s3cret".to_string()];
        let sec = Secrets(&secrets);
        let e = transport_err(remote("vtysh: s3cret: Too many open files"), &sec);
        let PushError::Transient(m) = &e else {
            panic!("not transient: {e}")
        };
        assert!(
            m.contains("Too many open files") && !m.contains("s3cret"),
            "{m}"
        );
        let e = transport_err(remote("% Unknown command: neighbor"), &sec);
        assert!(matches!(e, PushError::Permanent(_)), "{e}");
        let e = redact_err(
            PushError::Permanent("NETCONF get-config: EMFILE".into()),
            &sec,
        );
        assert!(matches!(e, PushError::Transient(_)), "{e}");
    }
}

//! The live driver: a platform profile bound to a transport. It renders a
//! batch ([`crate::render::render_batch`]), applies it over the profile's
//! transport, reads the running config back and checks every neighbor, and
//! reads BGP state for the poller. It implements the worker's
//! [`RouterDriver`].
//!
//! Errors are classified for the worker: anything that is the network's or
//! the login's fault (refused connection, timeout, host key, auth) is
//! transient, so the session keeps retrying with the reason in
//! `status_detail` until an operator fixes the router or the inventory; a
//! router that refuses the config is permanent. Secrets are redacted from
//! every message before it leaves this module.

use super::Profiles;
use super::{Op, PushPlan, ReadPlan, ReadRequest, RenderedPush};
use crate::inventory::Inventory;
use crate::model::Session;
use crate::render::{self, TemplateEnv};
use crate::transport::ssh::{self, SshSession, SshTarget};
use crate::transport::TransportError;
use crate::worker::{NeighborState, PushError, PushOutcome, RouterDriver};
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
    fn read(
        &self,
        target: SshTarget,
        read: ReadRequest,
    ) -> BoxFuture<'static, Result<String, PushError>>;
}

fn transport_err(e: TransportError, secrets: &RenderedPushSecrets) -> PushError {
    let msg = secrets.redact(&e.to_string());
    match e {
        TransportError::Remote { .. } => PushError::Permanent(msg),
        _ => PushError::Transient(msg),
    }
}

/// The secrets of one push, for redaction of router messages.
struct RenderedPushSecrets<'a>(Option<&'a RenderedPush>);

impl RenderedPushSecrets<'_> {
    fn redact(&self, s: &str) -> String {
        match self.0 {
            Some(p) => p.redact(s),
            None => s.to_string(),
        }
    }
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
        let text = self.read_running(target, push).await?;
        push.check_verify(&text)
            .map_err(|p| PushError::Transient(push.redact(&p.join("; "))))
    }

    /// Runs the push's verify read (the running config), unparsed.
    async fn read_running(
        &self,
        target: &SshTarget,
        push: &RenderedPush,
    ) -> Result<String, PushError> {
        let sec = RenderedPushSecrets(Some(push));
        Ok(match &push.verify.request {
            ReadRequest::Exec { .. } => {
                let sess = ssh::connect(target)
                    .await
                    .map_err(|e| transport_err(e, &sec))?;
                let r = read_exec(&sess, &push.verify, &sec).await;
                sess.close().await;
                r?
            }
            ReadRequest::Cli { .. } => {
                return Err(PushError::Permanent(
                    "the ssh-cli transport is not built yet".into(),
                ))
            }
            other => {
                let n = self.netconf.as_ref().ok_or_else(|| {
                    PushError::Permanent("the NETCONF transport is not available".into())
                })?;
                n.read(target.clone(), other.clone()).await?
            }
        })
    }

    /// The neighbors in `router`'s running config, read as a push of
    /// `sessions` would verify them (nothing is applied).
    pub async fn running(
        &self,
        router: &str,
        sessions: &[Session],
    ) -> Result<Vec<super::ObservedNeighbor>, PushError> {
        let push = render::render_batch(&self.env, &self.profiles, Op::Add, sessions, &self.inv)
            .map_err(|e| PushError::Permanent(format!("render: {e}")))?;
        let target = self.target(router)?;
        let text = self.read_running(&target, &push).await?;
        push.verify.parse(&text).map_err(|e| {
            PushError::Transient(push.redact(&format!(
                "router {router}: cannot read the running configuration: {e}"
            )))
        })
    }

    async fn apply_exec(&self, target: &SshTarget, push: &RenderedPush) -> Result<(), PushError> {
        let PushPlan::Exec { steps, rollback } = &push.plan else {
            unreachable!("apply_exec is only called for exec plans")
        };
        let sec = RenderedPushSecrets(Some(push));
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
        let text = match &plan.request {
            ReadRequest::Exec { .. } => {
                let sec = RenderedPushSecrets(None);
                let sess = ssh::connect(&target)
                    .await
                    .map_err(|e| transport_err(e, &sec))?;
                let r = read_exec(&sess, &plan, &sec).await;
                sess.close().await;
                r?
            }
            ReadRequest::Cli { .. } => {
                return Err(PushError::Permanent(
                    "the ssh-cli transport is not built yet".into(),
                ))
            }
            other => {
                let n = self.netconf.as_ref().ok_or_else(|| {
                    PushError::Permanent("the NETCONF transport is not available".into())
                })?;
                n.read(target, other.clone()).await?
            }
        };
        let observed = plan.parse(&text).map_err(|e| {
            PushError::Transient(format!("router {router}: cannot read BGP state: {e}"))
        })?;
        Ok(observed
            .into_iter()
            .map(|o| {
                let st = if o.established == Some(true) {
                    NeighborState::Established
                } else {
                    NeighborState::NotEstablished
                };
                (o.address, st)
            })
            .collect())
    }
}

async fn read_exec(
    sess: &SshSession,
    plan: &ReadPlan,
    sec: &RenderedPushSecrets<'_>,
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
}

//! [`Executors`]: the production [`RouterDriver`]. It finds a router in
//! the inventory and hands each rendered plan to the executor of its
//! transport ([`super::ssh_exec`] or [`super::netconf`]), and makes the
//! worker's reads (the running config for a first push and for drift, and
//! BGP state) over one connection, parsing each answer with its plan's
//! parser. It never renders: the worker does.
//!
//! A removal that fails is done anyway when the running config holds none
//! of its neighbors (a replay after a crash, a neighbor that never got
//! pushed; some NETCONF servers refuse to remove what is absent).

use super::netconf::NetconfDriver;
use super::port::{NeighborState, PushError, PushOutcome, RouterDriver, RouterRead, RouterReads};
use super::ssh_exec;
use crate::inventory::Inventory;
use crate::platform::plan::redact_with;
use crate::platform::{ObservedNeighbor, Op, PushPlan, ReadPlan, ReadRequest, RenderedPush};
use crate::transport::ssh::SshTarget;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The executors of every transport, for the routers of the inventory.
/// Cheap to clone.
#[derive(Clone)]
pub struct Executors {
    inv: Arc<Inventory>,
    netconf: Option<NetconfDriver>,
}

impl Executors {
    /// ssh-exec only; see [`Self::with_netconf`].
    pub fn new(inv: Arc<Inventory>) -> Self {
        Executors { inv, netconf: None }
    }

    /// Adds the NETCONF executor.
    pub fn with_netconf(mut self, n: NetconfDriver) -> Self {
        self.netconf = Some(n);
        self
    }

    fn target(&self, router: &str) -> Result<SshTarget, PushError> {
        let r = self.inv.router(router).ok_or_else(|| {
            PushError::Permanent(format!("no router named {router:?} in the inventory"))
        })?;
        SshTarget::from_router(r).map_err(|e| PushError::Transient(e.to_string()))
    }

    fn netconf(&self) -> Result<&NetconfDriver, PushError> {
        self.netconf
            .as_ref()
            .ok_or_else(|| PushError::Permanent("the NETCONF transport is not available".into()))
    }

    /// Applies and verifies one rendered push.
    pub async fn apply(&self, push: &RenderedPush) -> Result<PushOutcome, PushError> {
        let target = self.target(&push.router)?;
        let started = Instant::now();
        let result = match &push.plan {
            PushPlan::Exec { .. } => ssh_exec::push(&target, push).await,
            PushPlan::Netconf { .. } => match self.netconf() {
                Ok(n) => n.push(target.clone(), push.clone()).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            if push.op == Op::Remove && self.verify_now(&target, push).await.is_ok() {
                tracing::info!(router = %push.router, error = %e, "removal failed but no neighbor is left: done");
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
        let text = self
            .read_all(target, &[&push.verify], &push.secrets)
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
        secrets: &[String],
    ) -> Vec<Result<String, PushError>> {
        let all = |e: PushError| reads.iter().map(|_| Err(e.clone())).collect();
        match reads.first().map(|r| &r.request) {
            None => Vec::new(),
            Some(ReadRequest::Exec { .. }) => {
                let requests: Vec<&ReadRequest> = reads.iter().map(|r| &r.request).collect();
                ssh_exec::read_all(target, &requests, secrets).await
            }
            Some(_) => {
                let n = match self.netconf() {
                    Ok(n) => n,
                    Err(e) => return all(e),
                };
                let redact = |e: PushError| e.map_message(|m| redact_with(secrets, m)).classified();
                let requests = reads.iter().map(|r| r.request.clone()).collect();
                match n.read_requests(target.clone(), requests).await {
                    Ok(v) => v.into_iter().map(|r| r.map_err(redact)).collect(),
                    Err(e) => all(redact(e)),
                }
            }
        }
    }

    /// The reads of one router (see [`RouterDriver::read`]). BIRD answers
    /// both the running-config and the state read from one `show protocols
    /// all`: a state read that is the same request is made once.
    pub async fn read_router(&self, reads: RouterReads) -> RouterRead {
        let router = reads.router.as_str();
        let mut plans = Vec::new();
        if let Some(p) = &reads.running {
            plans.push(p);
        }
        let same =
            matches!((&reads.running, &reads.state), (Some(v), Some(s)) if v.request == s.request);
        if let (Some(p), false) = (&reads.state, same) {
            plans.push(p);
        }
        let answers: Vec<_> = match self.target(router) {
            Ok(t) => self.read_all(&t, &plans, &reads.secrets).await,
            Err(e) => plans.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut answers = answers.into_iter();
        let mut shared = None;
        let running = reads.running.as_ref().map(|plan| {
            let text = answers.next().expect("one answer per read");
            if same {
                shared = Some(text.clone());
            }
            plan.parse(&text?).map_err(|e| {
                PushError::Transient(redact_with(
                    &reads.secrets,
                    &format!("router {router}: cannot read the running configuration: {e}"),
                ))
            })
        });
        let state = reads.state.as_ref().map(|plan| {
            let text = match shared.take() {
                Some(a) => a,
                None => answers.next().expect("one answer per read"),
            }?;
            let observed = plan.parse(&text).map_err(|e| {
                PushError::Transient(format!("router {router}: cannot read BGP state: {e}"))
            })?;
            Ok(states_of(observed))
        });
        RouterRead { running, state }
    }
}

/// A state read's neighbors by address: established or not.
fn states_of(observed: Vec<ObservedNeighbor>) -> HashMap<IpAddr, NeighborState> {
    observed
        .into_iter()
        .map(|o| {
            let st = match (o.established, o.down_reason) {
                (Some(true), _) => NeighborState::Established,
                (_, Some(r)) => NeighborState::Down(r),
                _ => NeighborState::NotEstablished,
            };
            (o.address, st)
        })
        .collect()
}

impl RouterDriver for Executors {
    fn push(&self, push: RenderedPush) -> BoxFuture<'static, Result<PushOutcome, PushError>> {
        let me = self.clone();
        Box::pin(async move { me.apply(&push).await })
    }

    fn read(&self, reads: RouterReads) -> BoxFuture<'static, RouterRead> {
        let me = self.clone();
        Box::pin(async move { me.read_router(reads).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_netconf_read_out_of_file_descriptors_is_transient() {
        let secrets = ["s3cret".to_string()];
        let e = PushError::Permanent("NETCONF get-config: s3cret EMFILE".into())
            .map_message(|m| redact_with(&secrets, m))
            .classified();
        let PushError::Transient(m) = &e else {
            panic!("not transient: {e}")
        };
        assert!(!m.contains("s3cret"), "{m}");
    }
}

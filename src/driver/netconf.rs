//! The NETCONF executor: pushes rendered NETCONF plans and makes NETCONF
//! reads, over the SSH `netconf` subsystem and our own client
//! ([`crate::transport::netconf`]).
//!
//! A push is one [`txn::push`] transaction with the profile's `netconf`
//! settings (target, default operation, error option, confirmed-commit
//! timeout, lock): lock, discard, edit the candidate, confirmed commit with
//! a fresh persist id, verify running through get-config with the rendered
//! filter and the profile's parser against [`RenderedPush::expected`], then
//! the confirming commit.
//!
//! # Restart recovery
//!
//! Before the confirmed commit goes out, the persist id is stored with the
//! router, the operation, the expected neighbors and the verify read, in
//! the store's meta area ([`PENDING_NS`]), and made durable. It is removed
//! once the push confirmed or rolled back. A record left behind means
//! peerd died (or lost the session) between the confirmed and the
//! confirming commit: [`NetconfDriver::recover_all`] (at `peerd serve`
//! start, before the worker runs) and every later push to that router
//! first read running and confirm the pending commit if running verifies,
//! cancel it otherwise ([`txn::recover_verified`]). The job itself is then
//! re-run by the worker; pushes are idempotent, so no half state remains.
//!
//! # Errors for the worker
//!
//! Classified by [`PushError`]'s one rule: lock contention (`lock-denied`,
//! netconfd's `in-use` while another session's confirmed commit is
//! pending, named with its holder) and transport trouble are transient; a
//! payload the server rejects is permanent with the server's own
//! `error-message` and `error-path` (never `error-info`, and with secrets
//! redacted), unless the device ran out of file descriptors ("Too many open
//! files": transient); a rollback that failed needs an operator.

use super::port::PushError;
use crate::inventory::Inventory;
use crate::platform::parsers::wrap_netconf_data;
use crate::platform::{NetconfSettings, PushPlan, ReadRequest, RenderedPush};
use crate::transport::netconf::{
    self as nc, txn, CommitMode, Datastore, Filter, NetconfError, NetconfSession, PushRequest,
    RecoverOutcome, Rollback, SessionConfig,
};
use crate::transport::ssh::SshTarget;
use crate::transport::TransportError;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod connect;
mod pending;
#[cfg(test)]
mod tests;

use connect::Conn;
pub use connect::{Connector, NcStream, SshConnector, Transport};
pub use pending::{PendingCommit, PendingNeighbor, PendingRecords, StoreRecords, PENDING_NS};

/// How many pending confirmed commits [`NetconfDriver::recover_all`] settled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    pub confirmed: usize,
    pub cancelled: usize,
    /// Nothing was pending any more (confirmed before the crash, rolled back
    /// by the server at its timeout, or never sent).
    pub nothing_pending: usize,
    /// Records of routers no longer in the inventory (dropped; the server
    /// rolls the commit back at its confirm timeout).
    pub dropped: usize,
    /// Could not be settled now (router unreachable, ...): kept, and
    /// settled before the next push to that router.
    pub failed: usize,
}

/// The NETCONF executor. Cheap to clone.
#[derive(Clone)]
pub struct NetconfDriver {
    inv: Arc<Inventory>,
    records: Arc<dyn PendingRecords>,
    connector: Arc<dyn Connector>,
    session: SessionConfig,
    pause_after_confirmed_commit: Duration,
}

impl NetconfDriver {
    /// Over SSH, with default session limits; pending-commit records in
    /// `records` (in production [`StoreRecords`]).
    pub fn new(inv: Arc<Inventory>, records: Arc<dyn PendingRecords>) -> Self {
        NetconfDriver {
            inv,
            records,
            connector: Arc::new(SshConnector),
            session: SessionConfig::default(),
            pause_after_confirmed_commit: Duration::ZERO,
        }
    }

    /// Replaces the connector (tests: in-memory servers).
    pub fn with_connector(mut self, c: Arc<dyn Connector>) -> Self {
        self.connector = c;
        self
    }

    /// Session limits; the per-RPC timeout is the profile's.
    pub fn with_session_config(mut self, cfg: SessionConfig) -> Self {
        self.session = cfg;
        self
    }

    /// Test hook (see `worker.netconf_pause_after_confirmed_commit_ms`).
    pub fn with_pause_after_confirmed_commit(mut self, d: Duration) -> Self {
        self.pause_after_confirmed_commit = d;
        self
    }

    async fn open(&self, target: &SshTarget, rpc_timeout: Duration) -> Result<Conn, PushError> {
        let t = self.connector.open(target).await.map_err(transport_error)?;
        let cfg = SessionConfig {
            rpc_timeout,
            ..self.session.clone()
        };
        match NetconfSession::connect(t.stream, cfg).await {
            Ok(nc) => Ok(Conn { nc, ssh: t.ssh }),
            Err(e) => {
                if let Some(s) = t.ssh {
                    s.close().await;
                }
                Err(PushError::Transient(format!(
                    "router {}: NETCONF session setup failed: {e}",
                    target.router
                )))
            }
        }
    }

    /// The pending confirmed commits on record.
    pub fn pending(&self) -> Result<Vec<PendingCommit>, String> {
        let items = self
            .records
            .list()
            .map_err(|e| format!("reading pending NETCONF commits: {e}"))?;
        let mut out = Vec::new();
        for (key, v) in items {
            match serde_json::from_slice::<PendingCommit>(&v) {
                Ok(p) => out.push(p),
                Err(e) => {
                    tracing::error!(key, error = %e, "unreadable pending NETCONF commit record; dropping it");
                    let _ = self.records.delete(&key);
                }
            }
        }
        Ok(out)
    }

    async fn remember(&self, p: &PendingCommit) -> Result<(), PushError> {
        let bytes = serde_json::to_vec(p)
            .map_err(|e| PushError::Permanent(format!("encoding the pending commit: {e}")))?;
        let store_err = |e: String| PushError::Transient(format!("store: {e}; nothing sent"));
        self.records.put(&p.persist_id, &bytes).map_err(store_err)?;
        self.records.durable().await.map_err(store_err)
    }

    async fn forget(&self, persist_id: &str) {
        if let Err(e) = self.records.delete(persist_id) {
            tracing::error!(error = %e, "removing a pending NETCONF commit record failed");
            return;
        }
        if let Err(e) = self.records.durable().await {
            tracing::error!(error = %e, "flushing the store failed");
        }
    }

    /// Settles every pending confirmed commit of `router` on `conn`.
    async fn settle(
        &self,
        conn: &mut Conn,
        router: &str,
        pending: Vec<PendingCommit>,
        summary: &mut RecoverySummary,
    ) -> Result<(), PushError> {
        for p in pending {
            let filter = Filter::Subtree(&p.filter);
            let mut why_not = None;
            let r = txn::recover_verified(&mut conn.nc, &p.persist_id, Some(&filter), |d| {
                p.check(&d.xml).inspect_err(|e| why_not = Some(e.clone()))
            })
            .await;
            match r {
                Ok(out) => {
                    match &out {
                        RecoverOutcome::Confirmed => summary.confirmed += 1,
                        RecoverOutcome::Cancelled => summary.cancelled += 1,
                        RecoverOutcome::NothingPending(_) => summary.nothing_pending += 1,
                    }
                    tracing::info!(
                        router,
                        op = p.op,
                        sessions = ?p.session_ids,
                        outcome = ?out,
                        running_differs = why_not.as_deref().unwrap_or(""),
                        "settled a confirmed commit left pending by an earlier push"
                    );
                    self.forget(&p.persist_id).await;
                }
                Err(e) => {
                    summary.failed += 1;
                    return Err(PushError::Transient(format!(
                        "a confirmed commit left pending by an earlier push could not be settled yet: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Settles every pending confirmed commit on record (at start, before
    /// the worker runs): one session per router, routers in parallel.
    pub async fn recover_all(&self) -> RecoverySummary {
        let mut summary = RecoverySummary::default();
        let pending = match self.pending() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot recover pending NETCONF commits");
                return summary;
            }
        };
        let mut by_router: BTreeMap<String, Vec<PendingCommit>> = BTreeMap::new();
        for p in pending {
            by_router.entry(p.router.clone()).or_default().push(p);
        }
        let jobs = by_router
            .into_iter()
            .map(|(router, list)| self.recover_router(router, list));
        for s in futures::future::join_all(jobs).await {
            summary.confirmed += s.confirmed;
            summary.cancelled += s.cancelled;
            summary.nothing_pending += s.nothing_pending;
            summary.dropped += s.dropped;
            summary.failed += s.failed;
        }
        summary
    }

    async fn recover_router(&self, router: String, list: Vec<PendingCommit>) -> RecoverySummary {
        let mut summary = RecoverySummary::default();
        let Some(r) = self.inv.router(&router) else {
            for p in &list {
                tracing::warn!(router, "router left the inventory; dropping its pending NETCONF commit (the server rolls it back at its confirm timeout)");
                self.forget(&p.persist_id).await;
                summary.dropped += 1;
            }
            return summary;
        };
        let timeout = Duration::from_secs(list.iter().map(|p| p.timeout_secs).max().unwrap_or(60));
        let opened = match SshTarget::from_router(r) {
            Ok(t) => self.open(&t, timeout).await,
            Err(e) => Err(transport_error(e)),
        };
        let mut conn = match opened {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(router, error = %e, "cannot settle pending NETCONF commits now; will before the next push");
                summary.failed += list.len();
                return summary;
            }
        };
        if let Err(e) = self.settle(&mut conn, &router, list, &mut summary).await {
            tracing::warn!(router, error = %e, "settling pending NETCONF commits failed; will retry before the next push");
        }
        conn.close().await;
        summary
    }

    async fn push_on(
        &self,
        conn: &mut Conn,
        push: &RenderedPush,
        settings: &NetconfSettings,
        config: &str,
        filter: &str,
    ) -> Result<(), PushError> {
        let mine: Vec<PendingCommit> = self
            .pending()
            .map_err(PushError::Transient)?
            .into_iter()
            .filter(|p| p.router == push.router)
            .collect();
        if !mine.is_empty() {
            let mut summary = RecoverySummary::default();
            self.settle(conn, &push.router, mine, &mut summary).await?;
        }
        let persist_id = nc::new_persist_id();
        let req = PushRequest {
            config,
            target: settings.target,
            default_operation: settings.default_operation,
            error_option: Some(settings.error_option),
            lock: settings.lock,
            verify_filter: Some(Filter::Subtree(filter)),
            confirm_timeout: (settings.confirmed_commit_secs > 0)
                .then(|| Duration::from_secs(u64::from(settings.confirmed_commit_secs))),
            persist_id: &persist_id,
            pause_after_confirmed_commit: self.pause_after_confirmed_commit,
        };
        let mode = req.mode(|c| conn.nc.has(c)).map_err(|cap| {
            PushError::Permanent(format!(
                "the NETCONF server lacks capability {cap}, which platform {} needs",
                push.platform
            ))
        })?;
        let record = (mode == CommitMode::ConfirmedPersist)
            .then(|| PendingCommit::new(push, &persist_id, filter, settings.timeout_secs));
        if let Some(rec) = &record {
            self.remember(rec).await?;
        }
        let result = txn::push(&mut conn.nc, &req, |d| {
            push.check_verify(&wrap_netconf_data(&d.xml))
                .map_err(|p| push.redact(&p.join("; ")))
        })
        .await;
        if let Some(rec) = &record {
            let pending =
                matches!(&result, Err(e) if matches!(e.rollback, Rollback::Pending { .. }));
            if pending {
                tracing::warn!(router = %push.router, "confirmed commit left pending; settled before the next push");
            } else {
                self.forget(&rec.persist_id).await;
            }
        }
        match result {
            Ok(out) => {
                for w in &out.warnings {
                    tracing::info!(router = %push.router, warning = %push.redact(&w.to_string()), "NETCONF warning");
                }
                for u in &out.unlock_errors {
                    tracing::warn!(router = %push.router, error = %push.redact(u), "NETCONF unlock after the push failed");
                }
                Ok(())
            }
            Err(e) => {
                for c in &e.cleanup {
                    tracing::warn!(router = %push.router, error = %push.redact(c), "NETCONF clean-up step failed");
                }
                Err(classify(&e, push))
            }
        }
    }

    /// Applies a rendered NETCONF push in one transaction.
    pub async fn push(&self, target: SshTarget, push: RenderedPush) -> Result<(), PushError> {
        let PushPlan::Netconf { settings, config } = &push.plan else {
            return Err(PushError::Permanent(format!(
                "platform {}: not a NETCONF plan",
                push.platform
            )));
        };
        let filter = match &push.verify.request {
            ReadRequest::NetconfGetConfig {
                source: Datastore::Running,
                filter,
                ..
            } => filter.clone(),
            other => {
                return Err(PushError::Permanent(format!(
                    "platform {}: a NETCONF push verifies with get_config of running, not {}",
                    push.platform,
                    other.summary()
                )))
            }
        };
        let mut conn = self
            .open(&target, Duration::from_secs(settings.timeout_secs))
            .await?;
        let r = self
            .push_on(&mut conn, &push, settings, config, &filter)
            .await;
        conn.close().await;
        r
    }

    /// One read in its own session.
    pub async fn read(&self, target: SshTarget, read: ReadRequest) -> Result<String, PushError> {
        self.read_requests(target, vec![read]).await?.remove(0)
    }

    /// Runs `reads` in order in one session (the longest of their
    /// timeouts per RPC): one answer (or error) per read.
    pub async fn read_requests(
        &self,
        target: SshTarget,
        reads: Vec<ReadRequest>,
    ) -> Result<Vec<Result<String, PushError>>, PushError> {
        let mut timeout = Duration::ZERO;
        for read in &reads {
            match read {
                ReadRequest::NetconfGetConfig { timeout: t, .. }
                | ReadRequest::NetconfGet { timeout: t, .. }
                | ReadRequest::NetconfRpc { timeout: t, .. } => timeout = timeout.max(*t),
                other => {
                    return Err(PushError::Permanent(format!(
                        "the NETCONF transport cannot run {}",
                        other.summary()
                    )))
                }
            }
        }
        let mut conn = self.open(&target, timeout).await?;
        let mut out = Vec::with_capacity(reads.len());
        for read in &reads {
            let r = match read {
                ReadRequest::NetconfGetConfig { source, filter, .. } => conn
                    .nc
                    .get_config(*source, Some(&Filter::Subtree(filter)))
                    .await
                    .map(|d| wrap_netconf_data(&d.xml)),
                ReadRequest::NetconfGet { filter, .. } => conn
                    .nc
                    .get(Some(&Filter::Subtree(filter)))
                    .await
                    .map(|d| wrap_netconf_data(&d.xml)),
                ReadRequest::NetconfRpc { body, .. } => conn.nc.rpc_text(body).await,
                _ => unreachable!("checked above"),
            };
            out.push(r.map_err(|e| {
                let msg = format!("NETCONF {}: {e}", read.summary());
                PushError::from_netconf(&e, msg)
            }));
        }
        conn.close().await;
        Ok(out)
    }
}

/// A transport failure, classified.
fn transport_error(e: TransportError) -> PushError {
    PushError::from_transport(&e, e.to_string())
}

/// Classifies a failed transaction for the worker. Every message is
/// redacted.
fn classify(e: &txn::PushError, push: &RenderedPush) -> PushError {
    if let NetconfError::LockDenied {
        target,
        holder,
        message,
    } = &e.error
    {
        let who = match holder {
            Some(h) => format!("NETCONF session {h}"),
            None => "another NETCONF session".to_string(),
        };
        return PushError::Transient(push.redact(&format!(
            "the {target} datastore is locked by {who}; nothing was changed (device: {message})"
        )));
    }
    let detail = push.redact(&format!("NETCONF {}", e.detail()));
    match &e.rollback {
        Rollback::Failed(_) => {
            PushError::Permanent(format!("{detail}; needs an operator")).classified()
        }
        _ => PushError::from_netconf(&e.error, detail),
    }
}

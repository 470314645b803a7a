//! The poller: reads every router each `poll_interval_ms` (one poll read:
//! the running config's neighbors and, where the platform reports it, BGP
//! state) and
//!
//! - moves sessions between `Configured`, `Established` and `Down` from
//!   BGP state, and gives a configured session that never came up within
//!   the policy's time window an `Expire` job (its config is removed and it
//!   becomes `Unestablished`); platforms without a `state` read skip this;
//! - repairs drift, from the running config: a neighbor of a `Configured`,
//!   `Established` or `Down` session that is missing on its router is
//!   re-provisioned (back to `Approved`; the worker pushes it again), or
//!   only reported when `worker.repair_drift` is off; a neighbor that is
//!   there with another peer AS or secret was changed by hand, and peerd
//!   does not fight: the session goes `Failed`, the router is left alone.
//!
//! No false drift: it is judged only on a read that succeeded, only for
//! sessions listed before the read started, and only when two reads in a
//! row find the same thing with the session unchanged in between (the
//! confirming read comes a quarter interval after the first, at most 2 s,
//! so a repair lands within two poll intervals; same
//! status and `updated_ms`, no job queued for it) and still unchanged when
//! it is acted on. A push, a removal, or a router daemon restarting or
//! reloading is therefore never taken for drift.
//!
//! Several instances sharing a store poll each router once: a poll first
//! takes the router's lease (`poll:<router>`), and skips when another
//! instance holds it; that instance's death frees it after the lease's ttl.

use super::drift::{differences, Finding, Suspect};
use super::drive::plan_reads;
use super::Worker;
use crate::driver::NeighborState;
use crate::metrics::BgpCounts;
use crate::model::{now_ms, JobKind, Session, SessionStatus};
use crate::platform::{DownReason, ObservedNeighbor};
use crate::store::lease::{poll_name, Held};
use crate::store::{SessionFilter, Store, TransitionOpts};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

const ACTOR: &str = "poller";

/// What a state read saw of the polled sessions' neighbors.
fn count_states(sessions: &[Session], states: &HashMap<IpAddr, NeighborState>) -> BgpCounts {
    let mut c = BgpCounts::default();
    for s in sessions {
        match states.get(&s.local_ip) {
            Some(NeighborState::Established) => c.established += 1,
            Some(NeighborState::NotEstablished) => c.not_established += 1,
            Some(NeighborState::Down(DownReason::MaxPrefix)) => {
                c.not_established += 1;
                c.down_max_prefix += 1;
            }
            Some(NeighborState::Absent) | None => c.absent += 1,
        }
    }
    c
}
/// Every drift `status_detail` starts so.
const DRIFT: &str = "drift: ";

impl Worker {
    /// Polls every router in `routers` each `poll_interval_ms`, one task
    /// per router so a slow router delays only itself. Before each poll
    /// the task takes the router's lease (`poll:<router>`,
    /// [`Self::poll_lease_ttl_ms`]); while another instance sharing the
    /// store holds it, this one skips the poll. Leases are released at
    /// shutdown.
    pub async fn run_poller(
        self,
        routers: Vec<String>,
        window_secs: u64,
        shutdown: watch::Receiver<bool>,
    ) {
        self.metrics.poller_started(&routers);
        let mut tasks = Vec::new();
        for router in routers {
            if !self.render.reads_state(&router) {
                tracing::info!(
                    router,
                    "its platform reports no BGP state: polled for drift only"
                );
            }
            let me = self.clone();
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let every = Duration::from_millis(me.cfg.poll_interval_ms.max(100));
                // drift seen once is read again soon, not a whole interval
                // later, so a repair lands within two poll intervals
                let confirm = (every / 4).clamp(Duration::from_millis(100), Duration::from_secs(2));
                let lease = Held::new(poll_name(&router));
                let mut next = every;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(next) => {}
                        r = stop.changed() => { if r.is_err() || *stop.borrow() { break; } }
                    }
                    next = match me
                        .poll_if_held(&router, window_secs.saturating_mul(1000), &lease)
                        .await
                    {
                        None | Some(Ok(false)) => every,
                        Some(Ok(true)) => confirm,
                        Some(Err(e)) => {
                            tracing::warn!(router, error = %e, "poll failed");
                            every
                        }
                    };
                }
                if lease.held() {
                    let (store, owner) = (me.store.clone(), me.owner.clone());
                    let name = lease.name().to_string();
                    let _ = tokio::task::spawn_blocking(move || store.release_lease(&name, &owner))
                        .await;
                    me.metrics.set_lease(lease.name(), false);
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// How long a poll lease lasts: `worker.lease_ms`, and at least three
    /// poll intervals (a live instance renews it at every poll).
    pub fn poll_lease_ttl_ms(&self) -> u64 {
        self.cfg
            .lease_ms
            .max(self.cfg.poll_interval_ms.max(100).saturating_mul(3))
    }

    /// Takes `router`'s poll lease (`lease`) and polls it; `None`, without
    /// touching the router, when another instance holds the lease (its
    /// heartbeat still beats: the router is looked after).
    pub async fn poll_if_held(
        &self,
        router: &str,
        window_ms: u64,
        lease: &Held,
    ) -> Option<Result<bool, String>> {
        let (store, owner) = (self.store.clone(), self.owner.clone());
        let (name, ttl) = (lease.name().to_string(), self.poll_lease_ttl_ms());
        let held = match tokio::task::spawn_blocking(move || {
            store.hold_lease(&name, &owner, now_ms(), ttl)
        })
        .await
        {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                tracing::warn!(router, error = %e, "taking the poll lease failed");
                false
            }
            Err(_) => false,
        };
        if lease.note(held) {
            self.metrics.set_lease(lease.name(), held);
            // drift seen before another instance polled it is stale: a
            // taken-over router's drift is confirmed by two reads of ours
            self.remember_drift(router, Vec::new());
        }
        if !held {
            self.metrics.poll_skipped(router);
            return None;
        }
        Some(self.poll_router(router, window_ms).await)
    }

    /// One poll of one router: one poll read, then drift, then BGP state.
    /// `Ok(true)` when drift was seen for the first time and wants a
    /// confirming read soon. Recorded in the metrics (and the heartbeat
    /// `/readyz` reads), whatever the outcome.
    pub async fn poll_router(&self, router: &str, window_ms: u64) -> Result<bool, String> {
        let mut bgp = None;
        let r = self.poll_once(router, window_ms, &mut bgp).await;
        self.metrics.record_poll(router, r.is_ok(), bgp);
        r
    }

    /// [`Self::poll_router`]'s work; `bgp` gets what the state read saw.
    async fn poll_once(
        &self,
        router: &str,
        window_ms: u64,
        bgp: &mut Option<BgpCounts>,
    ) -> Result<bool, String> {
        // Through the router's index, and rendered, off the async threads
        // (a router may hold many sessions), holding nothing the API waits
        // for; one router at a time, so that a poll of every router at once
        // takes one core at most and leaves the other to the API, and on
        // the poller's own thread (`lane.rs`: one thread's memory).
        let permit = self
            .poll_cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (store, render, r) = (self.store.clone(), self.render.clone(), router.to_string());
        let state = self.render.reads_state(router);
        let (sessions, plan) = self
            .poll_lane
            .run(move || {
                let _permit = permit;
                let sessions = live_sessions(store.as_ref(), &r)?;
                let plan =
                    (!sessions.is_empty()).then(|| plan_reads(&render, &r, &sessions, state));
                Ok::<_, crate::store::StoreError>((sessions, plan))
            })
            .await?
            .map_err(|e| e.to_string())?;
        let Some(plan) = plan else {
            self.remember_drift(router, Vec::new());
            if state {
                *bgp = Some(BgpCounts::default());
            }
            return Ok(false);
        };
        let read = self.read_planned(plan).await;
        let mut problems = Vec::new();
        let (settled, fresh) = match read.running {
            Ok(observed) => self.check_drift(router, &sessions, &observed)?,
            Err(e) => {
                // nothing is judged on a failed read, and it breaks the row
                self.remember_drift(router, Vec::new());
                problems.push(format!("reading the running config: {e}"));
                (HashSet::new(), false)
            }
        };
        match read.state {
            Some(Ok(states)) => {
                *bgp = Some(count_states(&sessions, &states));
                self.apply_state(router, &sessions, &states, &settled, window_ms)?
            }
            Some(Err(e)) => problems.push(format!("reading BGP state: {e}")),
            None => {}
        }
        self.store.durable().await.map_err(|e| e.to_string())?;
        if problems.is_empty() {
            Ok(fresh)
        } else {
            Err(problems.join("; "))
        }
    }

    /// Replaces `router`'s suspects with `now`; returns those of `now` that
    /// the previous poll had seen already, with the session unchanged.
    fn remember_drift<'a>(
        &self,
        router: &str,
        now: Vec<(&'a Session, Finding)>,
    ) -> Vec<(&'a Session, Finding)> {
        let mut seen = self.drift.lock().expect("drift lock");
        let before: HashMap<String, Suspect> = seen
            .iter()
            .filter(|(_, v)| v.router == router)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        seen.retain(|_, v| v.router != router);
        let mut confirmed = Vec::new();
        for (s, finding) in now {
            let again = before
                .get(&s.session_id)
                .is_some_and(|b| b.updated_ms == s.updated_ms && b.finding == finding);
            seen.insert(
                s.session_id.clone(),
                Suspect {
                    router: router.to_string(),
                    updated_ms: s.updated_ms,
                    finding: finding.clone(),
                },
            );
            if again {
                confirmed.push((s, finding));
            }
        }
        confirmed
    }

    /// Compares the running config with the sessions listed before it was
    /// read and acts on drift seen twice in a row. Returns the sessions it
    /// changed (the state pass leaves them alone), and whether some drift
    /// was seen for the first time (to be confirmed by the next read).
    fn check_drift(
        &self,
        router: &str,
        sessions: &[Session],
        observed: &[ObservedNeighbor],
    ) -> Result<(HashSet<String>, bool), String> {
        let by_addr: HashMap<IpAddr, &ObservedNeighbor> =
            observed.iter().map(|o| (o.address, o)).collect();
        let mut findings = Vec::new();
        let mut healed = Vec::new();
        for s in sessions {
            match by_addr.get(&s.local_ip) {
                None => findings.push((s, Finding::Missing)),
                Some(o) => {
                    let d = differences(s, o);
                    if !d.is_empty() {
                        findings.push((s, Finding::Differs(d.join(" and "))));
                    } else if s
                        .status_detail
                        .as_deref()
                        .is_some_and(|d| d.starts_with(DRIFT))
                    {
                        healed.push(s);
                    }
                }
            }
        }
        let seen = findings.len();
        let confirmed = self.remember_drift(router, findings);
        let fresh = confirmed.len() < seen;
        let mut settled = HashSet::new();
        if confirmed.is_empty() && healed.is_empty() {
            return Ok((settled, fresh));
        }
        // Exactly as listed before the read, and no push or removal queued
        // (its jobs read through the store's index, not the whole queue).
        let unchanged = |s: &Session| -> Result<bool, String> {
            let now = self
                .store
                .get_session(&s.session_id)
                .map_err(|e| e.to_string())?;
            if !now.is_some_and(|n| n.status == s.status && n.updated_ms == s.updated_ms) {
                return Ok(false);
            }
            let jobs = self
                .store
                .session_jobs(&s.session_id)
                .map_err(|e| e.to_string())?;
            Ok(jobs.is_empty())
        };
        for s in healed {
            if unchanged(s)? {
                // the neighbor is back as peerd made it (repair off)
                self.record(s, None, "drift cleared");
            }
        }
        for (s, finding) in confirmed {
            if unchanged(s)? {
                self.act_on_drift(router, s, finding);
                settled.insert(s.session_id.clone());
            }
        }
        Ok((settled, fresh))
    }

    fn act_on_drift(&self, router: &str, s: &Session, finding: Finding) {
        let ip = s.local_ip;
        let (to, detail, action) = match finding {
            Finding::Differs(what) => (
                Some(SessionStatus::Failed),
                format!("{DRIFT}neighbor {ip} on router {router} has {what}; not repaired"),
                "drift-changed",
            ),
            Finding::Missing if self.cfg.repair_drift => (
                Some(SessionStatus::Approved),
                format!("{DRIFT}neighbor {ip} missing on router {router}; re-provisioning"),
                "drift-repair",
            ),
            Finding::Missing => (
                // an Established session is not up without its neighbor
                (s.status == SessionStatus::Established).then_some(SessionStatus::Down),
                format!(
                    "{DRIFT}neighbor {ip} missing on router {router}; not repaired (worker.repair_drift is off)"
                ),
                "drift-missing",
            ),
        };
        if to.is_none() && s.status_detail.as_deref() == Some(detail.as_str()) {
            return; // reported already
        }
        tracing::warn!(session = %s.session_id, router, neighbor = %ip, detail, "drift");
        let done = match to {
            Some(to) => self
                .store
                .transition(
                    &s.session_id,
                    to,
                    TransitionOpts {
                        detail: Some(Some(detail)),
                        actor: ACTOR.into(),
                        action: Some(action.into()),
                        expect: vec![s.status],
                    },
                )
                .map_err(
                    |e| tracing::info!(session = %s.session_id, error = %e, "drift not acted on"),
                )
                .is_ok(),
            None => self.record(s, Some(detail), action),
        };
        if !done {
            return;
        }
        self.metrics.drift_detected.fetch_add(1, Ordering::Relaxed);
        if to == Some(SessionStatus::Approved) {
            self.metrics.drift_repairs.fetch_add(1, Ordering::Relaxed);
            self.wake.notify_one();
        }
    }

    /// Sets `status_detail` (with its audit event); true when stored.
    fn record(&self, s: &Session, detail: Option<String>, why: &str) -> bool {
        match self.store.set_detail(&s.session_id, detail, ACTOR) {
            Ok(_) => true,
            Err(e) => {
                tracing::info!(session = %s.session_id, error = %e, why, "detail not recorded");
                false
            }
        }
    }

    /// The `status_detail` of a session its router keeps down for `r`.
    fn down_detail(&self, s: &Session, r: DownReason) -> String {
        match r {
            DownReason::MaxPrefix => match crate::render::max_prefix(s, &self.render.inv) {
                Some(n) => format!("down: the peer sent more than {n} prefixes (max-prefix)"),
                None => "down: the peer sent more prefixes than its limit (max-prefix)".into(),
            },
        }
    }

    /// BGP state: `Configured`/`Down` -> `Established` -> `Down`, and the
    /// time window. Sessions in `skip` were just changed by drift.
    fn apply_state(
        &self,
        router: &str,
        sessions: &[Session],
        states: &HashMap<IpAddr, NeighborState>,
        skip: &HashSet<String>,
        window_ms: u64,
    ) -> Result<(), String> {
        let now = now_ms();
        for s in sessions.iter().filter(|s| !skip.contains(&s.session_id)) {
            // A neighbor absent from the state read is left to the drift
            // check, which reads the config.
            let st = states
                .get(&s.local_ip)
                .copied()
                .unwrap_or(NeighborState::Absent);
            let change = match (s.status, st) {
                (SessionStatus::Configured | SessionStatus::Down, NeighborState::Established) => {
                    Some((SessionStatus::Established, None))
                }
                (SessionStatus::Established, NeighborState::NotEstablished) => Some((
                    SessionStatus::Down,
                    Some("BGP session is not established".to_string()),
                )),
                (SessionStatus::Established, NeighborState::Down(r)) => {
                    Some((SessionStatus::Down, Some(self.down_detail(s, r))))
                }
                (SessionStatus::Configured | SessionStatus::Down, NeighborState::Down(r))
                    if s.maintenance.is_none() =>
                {
                    // stays where it is; the detail says why
                    let detail = self.down_detail(s, r);
                    if s.status_detail.as_deref() != Some(detail.as_str()) {
                        self.record(s, Some(detail), "bgp-state");
                    }
                    None
                }
                _ => None,
            };
            if let Some((to, detail)) = change {
                let r = self.store.transition(
                    &s.session_id,
                    to,
                    TransitionOpts {
                        detail: Some(detail),
                        actor: ACTOR.into(),
                        action: Some("bgp-state".into()),
                        expect: vec![s.status],
                    },
                );
                if let Err(e) = r {
                    tracing::info!(session = %s.session_id, error = %e, "state change not applied");
                }
                continue;
            }
            // The window runs from the latest arrival in Configured: a
            // session re-pushed (drift repair, operator retry) gets a new one.
            let since = s.configured_ms.unwrap_or(0).max(s.updated_ms);
            // a session held by maintenance is down on purpose
            if s.status == SessionStatus::Configured
                && s.maintenance.is_none()
                && now.saturating_sub(since) > window_ms
            {
                let pending = self
                    .store
                    .session_jobs(&s.session_id)
                    .map_err(|e| e.to_string())?
                    .iter()
                    .any(|j| j.kind == JobKind::Expire);
                if !pending {
                    self.store
                        .enqueue(&s.session_id, router, JobKind::Expire, now)
                        .map_err(|e| e.to_string())?;
                    tracing::info!(session = %s.session_id, "time window passed; removing config");
                }
            }
        }
        Ok(())
    }
}

/// The sessions of `router` the poller judges (`Configured`,
/// `Established`, `Down`), in creation order: one pass through the
/// store's router index, all pages.
fn live_sessions(store: &dyn Store, router: &str) -> crate::store::Result<Vec<Session>> {
    let filter = SessionFilter {
        router: Some(router.to_string()),
        any_status: vec![
            SessionStatus::Configured,
            SessionStatus::Established,
            SessionStatus::Down,
        ],
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_sessions(&filter, after.as_deref(), LIVE_PAGE)?;
        out.extend(page.sessions);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// Sessions a page of [`live_sessions`] reads.
const LIVE_PAGE: usize = 500;

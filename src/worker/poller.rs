//! The BGP state poller: reads neighbor state per router and moves sessions
//! between `Configured`, `Established` and `Down`; a configured session that
//! never came up within the policy's time window gets an `Expire` job (its
//! config is removed and it becomes `Unestablished`).

use super::{NeighborState, Worker};
use crate::model::{now_ms, JobKind, Session, SessionStatus};
use crate::store::{SessionFilter, TransitionOpts};
use std::time::Duration;
use tokio::sync::watch;

const ACTOR: &str = "poller";

impl Worker {
    /// Polls every router in `routers` each `poll_interval_ms`, one task
    /// per router so a slow router delays only itself.
    pub async fn run_poller(
        self,
        routers: Vec<String>,
        window_secs: u64,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut tasks = Vec::new();
        for router in routers {
            if !self.driver.reads_state(&router) {
                tracing::info!(router, "its platform reports no BGP state: not polled");
                continue;
            }
            let me = self.clone();
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let every = Duration::from_millis(me.cfg.poll_interval_ms.max(100));
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        r = stop.changed() => { if r.is_err() || *stop.borrow() { break; } }
                    }
                    if let Err(e) = me
                        .poll_router(&router, window_secs.saturating_mul(1000))
                        .await
                    {
                        tracing::warn!(router, error = %e, "BGP state poll failed");
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Sessions of `router` in the given status (all pages).
    fn sessions_in(
        &self,
        router: &str,
        status: SessionStatus,
    ) -> crate::store::Result<Vec<Session>> {
        let filter = SessionFilter {
            router: Some(router.to_string()),
            status: Some(status),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list_sessions(&filter, after.as_deref(), 100)?;
            out.extend(page.sessions);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// One poll of one router.
    pub async fn poll_router(&self, router: &str, window_ms: u64) -> Result<(), String> {
        let mut sessions = Vec::new();
        for st in [
            SessionStatus::Configured,
            SessionStatus::Established,
            SessionStatus::Down,
        ] {
            sessions.extend(self.sessions_in(router, st).map_err(|e| e.to_string())?);
        }
        if sessions.is_empty() {
            return Ok(());
        }
        let states = self
            .driver
            .bgp_state(router, sessions.clone())
            .await
            .map_err(|e| e.to_string())?;
        let now = now_ms();
        let mut pending_expire: Option<Vec<String>> = None;
        for s in sessions {
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
                (SessionStatus::Established, NeighborState::Absent) => Some((
                    SessionStatus::Down,
                    Some("neighbor is missing from the router's config".to_string()),
                )),
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
            let since = s.configured_ms.unwrap_or(s.updated_ms);
            if s.status == SessionStatus::Configured && now.saturating_sub(since) > window_ms {
                let pending = match &pending_expire {
                    Some(p) => p,
                    None => {
                        let jobs = self.store.jobs().map_err(|e| e.to_string())?;
                        pending_expire.insert(
                            jobs.into_iter()
                                .filter(|j| j.kind == JobKind::Expire)
                                .map(|j| j.session_id)
                                .collect(),
                        )
                    }
                };
                if !pending.contains(&s.session_id) {
                    self.store
                        .enqueue(&s.session_id, router, JobKind::Expire, now)
                        .map_err(|e| e.to_string())?;
                    tracing::info!(session = %s.session_id, "time window passed; removing config");
                }
            }
        }
        self.store.durable().await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

//! The [`Follower`]: a background task of `peerd serve` that looks after
//! the open outbound requests and the deletions at remotes still to do.
//!
//! For each open request that is due (not more often than
//! `outbound.poll_interval_secs`, backing off up to `backoff_max_secs`
//! while the remote fails):
//!
//! - sessions still `sending` (the remote never confirmed them: its answer
//!   was lost, not understood, or peerd died before it came): ask the
//!   remote what it holds for us and adopt what matches by address pair;
//!   send only the rest again (after `max_send_attempts`, give up);
//! - sessions the remote holds: read their status (draft `GET
//!   /sessions?asn=&request_id=`, or `GET /sessions/{id}` when the remote
//!   gave no request id; v0 `get_status`) and act on it ([`super::settle`]);
//! - sessions our time window ended (`Unestablished`): withdraw them at
//!   the remote.
//!
//! A request whose sessions are all gone or settled for good is closed.

use super::super::{AppError, Ctx};
use super::send::send;
use super::settle::{adopt, failed_attempt, gone, scrub_all, scrub_views};
use super::withdraw::{queue_delete, run_delete};
use super::{
    meta_all, meta_get, meta_put, OpenRequest, Outbound, PendingDelete, DELETE_NS, OPEN_NS,
};
use crate::config::RemoteDialect;
use crate::model::{now_ms, RemotePhase, Session, SessionStatus};
use crate::outbound::{is_gone, is_refused, RemoteError, RemoteView, Target};
use crate::store::lease::Keeper;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Deletions at a remote are given up after this many attempts.
const MAX_DELETE_ATTEMPTS: u32 = 48;

/// Looks after open outbound requests (see the module doc).
#[derive(Clone)]
pub struct Follower {
    ctx: Ctx,
    ob: Arc<Outbound>,
}

impl Follower {
    pub fn new(ctx: Ctx, ob: Arc<Outbound>) -> Follower {
        Follower { ctx, ob }
    }

    /// Runs until `shutdown` turns true, a tick only while `lease` is held
    /// (instances sharing a store follow each open request once).
    pub async fn run(self, lease: Keeper, mut shutdown: watch::Receiver<bool>) {
        let tick = Duration::from_millis(500);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() { break; }
                }
            }
            if !lease.held() {
                continue;
            }
            // a tick may wait on slow remotes; shutting down does not wait
            // for it (every step is safe to cut short, as a crash is)
            tokio::select! {
                r = self.tick_once() => {
                    if let Err(e) = r {
                        tracing::error!(error = %e, "outbound follower tick failed");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
    }

    /// One look at everything that is due; what changed is on disk (and
    /// the worker woken) before it returns.
    pub async fn tick_once(&self) -> Result<(), AppError> {
        let now = now_ms();
        let mut worked = false;
        for (rid, open) in meta_all::<OpenRequest>(&self.ctx, OPEN_NS)? {
            if open.next_ms > now {
                continue;
            }
            let Some(_busy) = self.ob.claim(&rid) else {
                continue;
            };
            worked = true;
            let r = self.follow(&rid, open).await;
            if let Err(e) = r {
                tracing::warn!(request_id = %rid, error = %e, "following an outbound request failed");
            }
        }
        for (sid, pd) in meta_all::<PendingDelete>(&self.ctx, DELETE_NS)? {
            if pd.next_ms <= now {
                worked = true;
                run_delete(&self.ctx, &self.ob, &sid, pd, MAX_DELETE_ATTEMPTS).await;
            }
        }
        if worked {
            self.ctx.durable().await?;
        }
        Ok(())
    }

    /// The sessions of request `rid` that ask a remote.
    async fn sessions(&self, rid: &str) -> Result<Option<Vec<Session>>, AppError> {
        let r = rid.to_string();
        let Some(rec) = self.ctx.blocking(move |s| s.get_request(&r)).await? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for id in rec.session_ids {
            let Some(s) = self.ctx.blocking(move |st| st.get_session(&id)).await? else {
                continue;
            };
            if s.request_id == rid && super::is_outbound(&s) {
                out.push(s);
            }
        }
        Ok(Some(out))
    }

    async fn follow(&self, rid: &str, mut open: OpenRequest) -> Result<(), AppError> {
        let ctx = &self.ctx;
        let asn = open.remote_asn;
        let Some(sessions) = self.sessions(rid).await? else {
            // recorded as open, but the request never made it to disk:
            // nothing was sent
            ctx.store.meta_delete(OPEN_NS, rid)?;
            return Ok(());
        };
        // our time window ended our end: withdraw it there too
        for s in &sessions {
            if s.status == SessionStatus::Unestablished
                && s.remote
                    .as_ref()
                    .is_some_and(|r| r.phase == RemotePhase::Sent)
            {
                queue_delete(ctx, s, "our time window ended")?;
            }
        }
        let live: Vec<Session> = sessions
            .into_iter()
            .filter(|s| {
                let settled = matches!(
                    s.status,
                    SessionStatus::Rejected | SessionStatus::Unestablished
                ) || s
                    .remote
                    .as_ref()
                    .is_some_and(|r| r.phase == RemotePhase::Gone);
                !settled
            })
            .collect();
        if live.is_empty() {
            ctx.store.meta_delete(OPEN_NS, rid)?;
            tracing::info!(request_id = %rid, remote_asn = asn, "outbound request settled");
            return Ok(());
        }
        let result = match self.ob.remote(asn) {
            Err(_) => Err(format!("AS{asn} is no longer in outbound.remotes")),
            Ok(peer) => match self.ob.target(peer).await {
                Err(m) => Err(m),
                Ok(t) => self.look(&t, &live).await,
            },
        };
        let now = now_ms();
        match result {
            Ok(()) => {
                open.failures = 0;
                open.last_error = None;
                open.next_ms = now + self.ob.backoff_ms(0);
            }
            Err(why) => {
                open.failures = open.failures.saturating_add(1);
                let wait = self.ob.backoff_ms(open.failures);
                for s in &live {
                    failed_attempt(ctx, asn, s, &why, self.ob.settings.max_send_attempts, wait)
                        .await?;
                }
                open.last_error = Some(why);
                open.next_ms = now + wait;
            }
        }
        // a request closed meanwhile stays closed
        if meta_get::<OpenRequest>(ctx, OPEN_NS, rid)?.is_some() {
            meta_put(ctx, OPEN_NS, rid, &open)?;
        }
        Ok(())
    }

    /// One look at the remote for the live sessions of one request. `Err`
    /// only when the remote could not be asked at all (counted as a
    /// failure of every session).
    async fn look(&self, t: &Target, live: &[Session]) -> Result<(), String> {
        let ctx = &self.ctx;
        let asn = t.asn;
        let (sending, sent): (Vec<&Session>, Vec<&Session>) = live.iter().partition(|s| {
            s.remote
                .as_ref()
                .is_none_or(|r| r.phase == RemotePhase::Sending)
        });
        let err = |e: AppError| e.to_string();
        if !sending.is_empty() {
            // what does the remote hold for us already?
            let known = request_id_of(live);
            let mut listed: Vec<RemoteView> = match self.ob.client.list(t, known.as_deref()).await {
                // a session it refused or gave up earlier is not this one
                Ok(l) => l
                    .sessions
                    .into_iter()
                    .filter(|v| {
                        let st = v.status.as_deref().unwrap_or("");
                        !(is_refused(st) || is_gone(st) || st.eq_ignore_ascii_case("Unestablished"))
                    })
                    .collect(),
                Err(RemoteError::NotFound) => Vec::new(),
                Err(e) => {
                    return Err(scrub_all(
                        live,
                        format!("asking AS{asn} what it holds: {e}"),
                    ))
                }
            };
            scrub_views(&mut listed, live);
            let mut resend: Vec<Session> = Vec::new();
            for s in sending {
                match find(&listed, s) {
                    Some(v) => adopt(ctx, asn, s, v).await.map_err(err)?,
                    None => resend.push(s.clone()),
                }
            }
            if !resend.is_empty() {
                tracing::info!(
                    remote_asn = asn,
                    sessions = resend.len(),
                    "AS{asn} holds none of them: sending again"
                );
                send(ctx, &self.ob, t, &resend).await;
            }
        }
        if sent.is_empty() {
            return Ok(());
        }
        let rid = request_id_of(live);
        // one listing (of the request, or of everything between us when the
        // remote gave no request id), unless every session can be read by
        // its own id (draft without a request id)
        let by_id = t.dialect == RemoteDialect::Draft
            && rid.is_none()
            && sent
                .iter()
                .all(|s| s.remote.as_ref().is_some_and(|r| r.session_id.is_some()));
        let listed: Option<Vec<RemoteView>> = if by_id {
            None
        } else {
            match self.ob.client.list(t, rid.as_deref()).await {
                Ok(mut l) => {
                    scrub_views(&mut l.sessions, live);
                    Some(l.sessions)
                }
                Err(RemoteError::NotFound) => Some(Vec::new()),
                Err(e) => return Err(scrub_all(live, format!("AS{asn}'s status: {e}"))),
            }
        };
        for s in sent {
            let view = match &listed {
                Some(list) => find(list, s).cloned(),
                None => {
                    let Some(id) = s.remote.as_ref().and_then(|r| r.session_id.clone()) else {
                        continue;
                    };
                    match self.ob.client.get(t, &id).await {
                        Ok(mut v) => {
                            scrub_views(std::slice::from_mut(&mut v), live);
                            Some(v)
                        }
                        Err(RemoteError::NotFound) => None,
                        Err(e) => {
                            let why = format!("AS{asn}'s status of session {id}: {e}");
                            return Err(scrub_all(live, why));
                        }
                    }
                }
            };
            match view {
                Some(v) => adopt(ctx, asn, s, &v).await.map_err(err)?,
                None => gone(ctx, asn, s).await.map_err(err)?,
            }
        }
        Ok(())
    }
}

/// The remote's request id of a request (the first session that has one).
fn request_id_of(sessions: &[Session]) -> Option<String> {
    sessions
        .iter()
        .find_map(|s| s.remote.as_ref().and_then(|r| r.request_id.clone()))
}

/// The remote's view of our session `s`: by its id, else by address pair.
fn find<'a>(list: &'a [RemoteView], s: &Session) -> Option<&'a RemoteView> {
    let id = s.remote.as_ref().and_then(|r| r.session_id.as_deref());
    list.iter()
        .find(|v| id.is_some() && v.session_id.as_deref() == id && v.is_pair(s.peer_ip, s.local_ip))
        .or_else(|| {
            list.iter()
                .find(|v| v.is_pair(s.peer_ip, s.local_ip) && v.location == s.location.id)
        })
}

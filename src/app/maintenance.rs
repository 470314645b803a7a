//! Maintenance windows: an operator puts a router or a location into
//! maintenance, now or at a scheduled time, until a time or until ended.
//! While a window is active its configured sessions are held
//! ([`Session::maintenance`]): drained (graceful shutdown, RFC 8326) if
//! `Established`, then shut down on the router; neither deleted nor
//! forgotten. When it ends they are released and pushed in their normal
//! form again. The worker does the router side (`Refresh` jobs).
//!
//! Windows are stored in the store's metadata area (namespace
//! [`NS`]), on disk before an answer. [`pass`] (run by `peerd serve`
//! every `worker.maintenance_tick_ms`) starts due windows, ends those
//! whose time is up, holds sessions that reached their router during an
//! active window and releases the sessions of ended ones. Every step is
//! idempotent and compare-and-set, so a pass cut short by a crash is
//! finished by the next one.
//!
//! A peer sees ([`list_for`]) only windows for routers or locations where
//! it has a session; an operator sees all.

use super::{AppError, Ctx};
use crate::model::{
    new_id, now_ms, Caller, Drain, MaintenanceHold, MaintenanceTarget, MaintenanceWindow, Session,
    SessionStatus, UnixMillis,
};
use crate::store::{self, HoldChange, SessionFilter, Store, StoreError};
use crate::validate::text::check_text;

/// The store's metadata namespace of the windows.
pub const NS: &str = "maintenance";
/// Longest reason.
pub const REASON_MAX: usize = 200;
/// Most windows stored (planned, active and recently ended).
pub const MAX_WINDOWS: usize = 1000;
/// Ended windows are forgotten this long after their end.
const KEEP_ENDED_MS: u64 = 7 * 86_400_000;
/// Sessions read per page while scanning.
const PAGE: usize = 500;

/// Serialises the read-modify-write of windows (a pass, an end, a create):
/// one peerd holds the store, so a process-wide lock is enough, and an
/// `end` never races a pass that would write the window back unended.
static WINDOWS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn windows_lock() -> std::sync::MutexGuard<'static, ()> {
    WINDOWS.lock().unwrap_or_else(|e| e.into_inner())
}

/// What an operator asks for.
#[derive(Clone, Debug)]
pub struct NewWindow {
    pub target: MaintenanceTarget,
    /// None: now.
    pub start_ms: Option<UnixMillis>,
    /// None: until ended.
    pub end_ms: Option<UnixMillis>,
    pub reason: Option<String>,
}

fn load_all(store: &dyn Store) -> store::Result<Vec<MaintenanceWindow>> {
    let mut out = Vec::new();
    for (k, v) in store.meta_list(NS)? {
        match serde_json::from_slice::<MaintenanceWindow>(&v) {
            Ok(w) => out.push(w),
            Err(e) => return Err(StoreError::Corrupt(format!("maintenance window {k}: {e}"))),
        }
    }
    out.sort_by(|a, b| (a.start_ms, &a.id).cmp(&(b.start_ms, &b.id)));
    Ok(out)
}

fn save(store: &dyn Store, w: &MaintenanceWindow) -> store::Result<()> {
    let v = serde_json::to_vec(w).map_err(|e| StoreError::Backend(e.to_string()))?;
    store.meta_put(NS, &w.id, &v)
}

/// Puts a router or location into maintenance. On disk before it returns.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: NewWindow,
) -> Result<MaintenanceWindow, AppError> {
    if !caller.is_operator {
        return Err(AppError::forbidden("request", "operators only"));
    }
    match &req.target {
        MaintenanceTarget::Router(r) if ctx.inventory.router(r).is_none() => {
            return Err(AppError::invalid(
                "router",
                "no such router in the inventory",
            ));
        }
        MaintenanceTarget::Location(l) if ctx.inventory.location(l).is_none() => {
            return Err(AppError::invalid(
                "location",
                "no such location in the inventory",
            ));
        }
        _ => {}
    }
    let now = now_ms();
    let start = req.start_ms.unwrap_or(now);
    if let Some(end) = req.end_ms {
        if end <= start.max(now) {
            return Err(AppError::invalid(
                "end",
                "must be after the start and in the future",
            ));
        }
    }
    if let Some(r) = &req.reason {
        check_text(r, REASON_MAX).map_err(|m| AppError::invalid("reason", m))?;
    }
    let w = MaintenanceWindow {
        id: new_id(),
        target: req.target,
        start_ms: start,
        end_ms: req.end_ms,
        reason: req.reason.filter(|r| !r.is_empty()),
        created_by: caller.principal.clone(),
        created_ms: now,
        started: false,
        ended: false,
    };
    let w2 = w.clone();
    ctx.blocking(move |s| {
        let _w = windows_lock();
        if s.meta_list(NS)?.len() >= MAX_WINDOWS {
            return Err(StoreError::Conflict(format!(
                "{MAX_WINDOWS} maintenance windows are stored already"
            )));
        }
        save(s, &w2)
    })
    .await?;
    ctx.durable().await?;
    tracing::info!(window = %w.id, target = %w.target, by = %caller.principal, "maintenance window created");
    // start it now if it is due (the scheduler would within a tick)
    let store = ctx.store.clone();
    ctx.blocking(move |_| pass(store.as_ref(), now_ms()).map(|_| ()))
        .await?;
    ctx.durable().await?;
    let id = w.id.clone();
    Ok(ctx
        .blocking(move |s| Ok(load_all(s)?.into_iter().find(|x| x.id == id)))
        .await?
        .unwrap_or(w))
}

/// Ends (or cancels, if not started) a window: its sessions are restored.
/// On disk before it returns.
pub async fn end(ctx: &Ctx, caller: &Caller, id: &str) -> Result<MaintenanceWindow, AppError> {
    if !caller.is_operator {
        return Err(AppError::forbidden("request", "operators only"));
    }
    let id = id.to_string();
    let w = ctx
        .blocking(move |s| {
            let _w = windows_lock();
            let Some(mut w) = load_all(s)?.into_iter().find(|w| w.id == id) else {
                return Ok(None);
            };
            if !w.ended {
                w.ended = true;
                w.end_ms = Some(now_ms().min(w.end_ms.unwrap_or(u64::MAX)));
                save(s, &w)?;
            }
            Ok(Some(w))
        })
        .await?
        .ok_or_else(|| AppError::not_found("maintenance window"))?;
    ctx.durable().await?;
    tracing::info!(window = %w.id, by = %caller.principal, "maintenance window ended");
    let store = ctx.store.clone();
    ctx.blocking(move |_| pass(store.as_ref(), now_ms()).map(|_| ()))
        .await?;
    ctx.durable().await?;
    Ok(w)
}

/// A window as a caller sees it: for a peer, the locations of its own
/// sessions that the window covers (a peer never learns router names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visible {
    pub window: MaintenanceWindow,
    pub locations: Vec<String>,
}

/// Current and planned windows: all of them for an operator; for a peer
/// those whose router or location serves one of its sessions.
pub async fn list_for(ctx: &Ctx, caller: &Caller) -> Result<Vec<Visible>, AppError> {
    let caller = caller.clone();
    ctx.blocking(move |s| {
        let windows: Vec<MaintenanceWindow> =
            load_all(s)?.into_iter().filter(|w| !w.ended).collect();
        if caller.is_operator || windows.is_empty() {
            return Ok(windows
                .into_iter()
                .map(|window| Visible {
                    window,
                    locations: vec![],
                })
                .collect());
        }
        let mut mine: Vec<Session> = Vec::new();
        for asn in &caller.asns {
            let f = SessionFilter {
                owner_asn: Some(*asn),
                ..Default::default()
            };
            scan(s, &f, |x| {
                mine.push(x);
                Ok(())
            })?;
        }
        Ok(windows
            .into_iter()
            .filter_map(|window| {
                let locations: std::collections::BTreeSet<String> = mine
                    .iter()
                    .filter(|x| window.target.covers(x))
                    .map(|x| x.location.id.clone())
                    .collect();
                (!locations.is_empty()).then(|| Visible {
                    window,
                    locations: locations.into_iter().collect(),
                })
            })
            .collect())
    })
    .await
}

/// Every session `f` selects, page by page.
fn scan(
    store: &dyn Store,
    f: &SessionFilter,
    mut each: impl FnMut(Session) -> store::Result<()>,
) -> store::Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = store.list_sessions(f, after.as_deref(), PAGE)?;
        for s in page.sessions {
            each(s)?;
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

fn filter_of(t: &MaintenanceTarget) -> SessionFilter {
    SessionFilter {
        router: match t {
            MaintenanceTarget::Router(r) => Some(r.clone()),
            MaintenanceTarget::Location(_) => None,
        },
        ..Default::default()
    }
}

fn conflict_ok(r: store::Result<Session>) -> store::Result<bool> {
    match r {
        Ok(_) => Ok(true),
        // the session moved on meanwhile: the next pass looks again
        Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What a pass changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub started: usize,
    pub ended: usize,
    pub held: usize,
    pub released: usize,
}

/// One look at the windows (see the module doc). Synchronous: the caller
/// runs it on the blocking pool and awaits the disk after it.
pub fn pass(store: &dyn Store, now: UnixMillis) -> store::Result<PassReport> {
    let _w = windows_lock();
    let mut rep = PassReport::default();
    let mut windows = load_all(store)?;
    for w in windows.iter_mut() {
        if !w.ended && w.over_at(now) {
            w.ended = true;
            save(store, w)?;
            rep.ended += 1;
        } else if w.due(now) {
            w.started = true;
            save(store, w)?;
            rep.started += 1;
        }
    }
    let active: Vec<&MaintenanceWindow> = windows.iter().filter(|w| w.active()).collect();
    // hold every configured session an active window covers
    for w in &active {
        scan(store, &filter_of(&w.target), |s| {
            if !w.target.covers(&s) || !s.pushed || !s.status.is_configured() {
                return Ok(());
            }
            if s.maintenance.is_some() {
                return Ok(());
            }
            let established = s.status == SessionStatus::Established;
            let hold = MaintenanceHold {
                window: w.id.clone(),
                drain: established.then(Drain::default),
                shutdown: !established,
            };
            let change = HoldChange {
                actor: "maintenance".into(),
                action: "maintenance".into(),
                detail: Some(format!(
                    "held by maintenance window {} ({})",
                    w.id, w.target
                )),
                expect: SessionStatus::ALL
                    .into_iter()
                    .filter(|x| x.is_configured())
                    .collect(),
                expect_maintenance: Some(None),
                maintenance: Some(Some(hold)),
                refresh: true,
                ..Default::default()
            };
            if conflict_ok(store.set_hold(&s.session_id, &change))? {
                rep.held += 1;
            }
            Ok(())
        })?;
    }
    // release the sessions of windows no longer active (or hand them to
    // another active window that covers them)
    let gone: Vec<&MaintenanceWindow> = windows.iter().filter(|w| w.ended).collect();
    for w in &gone {
        scan(store, &filter_of(&w.target), |s| {
            let Some(h) = &s.maintenance else {
                return Ok(());
            };
            if h.window != w.id {
                return Ok(());
            }
            let next = active.iter().find(|a| a.target.covers(&s));
            let (maintenance, refresh, what) = match next {
                Some(a) => {
                    let mut h2 = h.clone();
                    h2.window = a.id.clone();
                    (
                        Some(h2),
                        false,
                        format!("held by maintenance window {}", a.id),
                    )
                }
                None => (
                    None,
                    true,
                    format!("maintenance window {} over: restored", w.id),
                ),
            };
            let change = HoldChange {
                actor: "maintenance".into(),
                action: "maintenance".into(),
                detail: Some(what),
                expect_maintenance: Some(s.maintenance.clone()),
                maintenance: Some(maintenance),
                refresh,
                ..Default::default()
            };
            if conflict_ok(store.set_hold(&s.session_id, &change))? {
                rep.released += 1;
            }
            Ok(())
        })?;
    }
    // forget windows long over
    for w in &windows {
        if w.ended && w.end_ms.unwrap_or(0) + KEEP_ENDED_MS < now {
            store.meta_delete(NS, &w.id)?;
        }
    }
    Ok(rep)
}

/// Runs [`pass`] every `tick` until `shutdown`, while `lease` is held
/// (instances sharing a store run it once); wakes the worker when a pass
/// changed something.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    wake: std::sync::Arc<tokio::sync::Notify>,
    tick: std::time::Duration,
    lease: crate::store::lease::Keeper,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
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
        let s = store.clone();
        match tokio::task::spawn_blocking(move || pass(s.as_ref(), now_ms())).await {
            Ok(Ok(rep)) if rep != PassReport::default() => {
                tracing::info!(
                    started = rep.started,
                    ended = rep.ended,
                    held = rep.held,
                    released = rep.released,
                    "maintenance pass"
                );
                if let Err(e) = store.durable().await {
                    tracing::error!(error = %e, "flushing the store failed");
                }
                wake.notify_one();
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "maintenance pass failed"),
            Err(e) => tracing::error!(error = %e, "maintenance pass panicked"),
        }
    }
}

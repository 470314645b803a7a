//! Named leases: background work done once across instances that share a
//! store ([`Store::hold_lease`]).
//!
//! - the poller takes `poll:<router>` before each poll of a router (the BGP
//!   state, drift repair and the time window's `Expire`);
//! - the singleton loops (maintenance windows, IRR refresh, PeeringDB sync,
//!   the asking side's follower) each keep a lease of their own with a
//!   [`Keeper`] and run a tick only while they hold it.
//!
//! An instance that dies stops renewing: another one takes the lease once
//! it ends (its ttl). [`Held`] logs when this instance gains or loses a
//! lease, once, not on every tick. [`LocalLeases`] is the table of a store
//! that one process has alone (sled).

use super::Store;
use crate::metrics::Metrics;
use crate::model::{now_ms, UnixMillis};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Lease names of the singleton loops.
pub const MAINTENANCE: &str = "maintenance";
pub const IRR_REFRESH: &str = "irr-refresh";
pub const PEERINGDB_SYNC: &str = "peeringdb-sync";
pub const OUTBOUND_FOLLOWER: &str = "outbound-follower";

/// The lease of the poll of `router`.
pub fn poll_name(router: &str) -> String {
    format!("poll:{router}")
}

/// Leases kept in memory, for a store one process has alone: the same
/// rules as a shared store's table, so the contract holds, and nothing to
/// persist (a restarted process is the only one there).
#[derive(Debug, Default)]
pub struct LocalLeases {
    held: Mutex<HashMap<String, (String, UnixMillis)>>,
}

impl LocalLeases {
    pub fn hold(&self, name: &str, owner: &str, now: UnixMillis, ttl_ms: u64) -> bool {
        let mut m = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let until = now.saturating_add(ttl_ms);
        match m.get_mut(name) {
            Some((o, u)) if o != owner && *u >= now => false,
            Some(entry) => {
                *entry = (owner.to_string(), until);
                true
            }
            None => {
                m.insert(name.to_string(), (owner.to_string(), until));
                true
            }
        }
    }

    pub fn release(&self, name: &str, owner: &str) {
        let mut m = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if m.get(name).is_some_and(|(o, _)| o == owner) {
            m.remove(name);
        }
    }
}

/// Whether this instance held a lease at its last attempt; logs changes.
#[derive(Debug)]
pub struct Held {
    name: String,
    /// 0: not asked yet, 1: held, 2: another instance holds it.
    last: AtomicU8,
}

impl Held {
    pub fn new(name: impl Into<String>) -> Held {
        Held {
            name: name.into(),
            last: AtomicU8::new(0),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks the store for the lease for `owner`; an error counts as not
    /// held (this instance stands back rather than risk running twice).
    /// Logs when the answer differs from the last one.
    pub fn take(&self, store: &dyn Store, owner: &str, ttl_ms: u64) -> bool {
        let held = match store.hold_lease(&self.name, owner, now_ms(), ttl_ms) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "taking a lease failed");
                false
            }
        };
        self.note(held);
        held
    }

    /// Records `held`; true when it changed. Logged once per change.
    pub fn note(&self, held: bool) -> bool {
        let now = if held { 1 } else { 2 };
        let before = self.last.swap(now, Ordering::Relaxed);
        if before == now {
            return false;
        }
        if held {
            tracing::info!(lease = %self.name, "lease taken: this instance does this work now");
        } else if before == 1 {
            tracing::warn!(lease = %self.name, "lease lost: another instance does this work now");
        } else {
            tracing::info!(lease = %self.name, "another instance holds this lease; standing by");
        }
        true
    }

    /// Whether the last attempt held the lease.
    pub fn held(&self) -> bool {
        self.last.load(Ordering::Relaxed) == 1
    }

    /// Whether the store answered at least once.
    pub fn asked(&self) -> bool {
        self.last.load(Ordering::Relaxed) != 0
    }
}

/// Keeps one singleton lease: takes or renews it every third of its ttl
/// until shutdown, then releases it. Its loop runs a tick only while
/// [`Keeper::held`].
#[derive(Clone)]
pub struct Keeper {
    state: Arc<KeeperState>,
}

struct KeeperState {
    held: Held,
    /// False once stopped (nothing renews any more).
    running: AtomicBool,
    /// When the last successful renewal ends.
    until: std::sync::atomic::AtomicU64,
}

impl Keeper {
    /// Starts keeping `name` for `owner` on the current tokio runtime;
    /// `metrics` shows whether it is held (`peerd_lease_held`).
    pub fn spawn(
        store: Arc<dyn Store>,
        name: &str,
        owner: String,
        ttl_ms: u64,
        metrics: Arc<Metrics>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Keeper {
        let ttl_ms = ttl_ms.max(300);
        let k = Keeper {
            state: Arc::new(KeeperState {
                held: Held::new(name),
                running: AtomicBool::new(true),
                until: Default::default(),
            }),
        };
        let me = k.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis(ttl_ms / 3);
            loop {
                let (st, o) = (store.clone(), owner.clone());
                let name = me.state.held.name().to_string();
                let started = now_ms();
                let r =
                    tokio::task::spawn_blocking(move || st.hold_lease(&name, &o, now_ms(), ttl_ms))
                        .await;
                let held = match r {
                    Ok(Ok(h)) => h,
                    Ok(Err(e)) => {
                        tracing::warn!(lease = %me.state.held.name(), error = %e, "renewing a lease failed");
                        false
                    }
                    Err(_) => false,
                };
                let until = if held { started + ttl_ms } else { 0 };
                me.state.until.store(until, Ordering::Relaxed);
                if me.state.held.note(held) {
                    metrics.set_lease(me.state.held.name(), held);
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    r = shutdown.changed() => {
                        if r.is_err() || *shutdown.borrow() { break; }
                    }
                }
            }
            me.state.running.store(false, Ordering::Relaxed);
            me.state.until.store(0, Ordering::Relaxed);
            metrics.set_lease(me.state.held.name(), false);
            let name = me.state.held.name().to_string();
            let _ = tokio::task::spawn_blocking(move || store.release_lease(&name, &owner)).await;
        });
        k
    }

    /// A keeper that always holds (tests, and loops no other instance runs).
    pub fn always(name: &str) -> Keeper {
        let k = Keeper {
            state: Arc::new(KeeperState {
                held: Held::new(name),
                running: AtomicBool::new(true),
                until: std::sync::atomic::AtomicU64::new(u64::MAX),
            }),
        };
        k.state.held.note(true);
        k
    }

    /// Resolves once the store answered the first time (at most 5 s): a
    /// loop that starts at once does not stand back for want of an answer.
    pub async fn decided(&self) {
        for _ in 0..250 {
            if self.state.held.asked() || !self.state.running.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// True while this instance holds the lease: the last renewal won and
    /// has not ended yet (a renewal that cannot reach the store lets the
    /// lease run out here as it does for the others).
    pub fn held(&self) -> bool {
        self.state.running.load(Ordering::Relaxed)
            && self.state.held.held()
            && now_ms() < self.state.until.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_leases_follow_the_rules() {
        let l = LocalLeases::default();
        assert!(l.hold("x", "a", 1000, 100));
        assert!(!l.hold("x", "b", 1100, 100), "live until 1100");
        assert!(l.hold("x", "a", 1050, 100), "renewed by its owner");
        assert!(!l.hold("x", "b", 1150, 100));
        assert!(l.hold("x", "b", 1151, 100), "ended: taken over");
        l.release("x", "a");
        assert!(!l.hold("x", "a", 1160, 100), "a cannot release b's");
        l.release("x", "b");
        assert!(l.hold("x", "a", 1160, 100));
        assert!(l.hold("y", "b", 1160, 100), "names are apart");
    }

    #[test]
    fn held_logs_changes_once() {
        let h = Held::new("poll:r1");
        assert!(!h.held());
        assert!(h.note(true));
        assert!(!h.note(true), "no change, no log");
        assert!(h.held());
        assert!(h.note(false));
        assert!(!h.note(false));
        assert!(!h.held());
    }

    #[test]
    fn always_holds() {
        assert!(Keeper::always("maintenance").held());
    }
}

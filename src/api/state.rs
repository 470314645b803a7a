//! The shared state every handler sees: settings, inventory, store,
//! verifier and the per-caller rate limiter, the peer login and its
//! tokens, the PeeringDB data in use, and the worker (for the console's
//! renders and on-demand router reads).

use crate::app::outbound::Outbound;
use crate::auth::{Login, Tokens, Verifier};
use crate::config::Settings;
use crate::inventory::Inventory;
use crate::peeringdb::{Snapshot, Syncer};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cloned into every request, and by every `State` extractor: one shared
/// [`AppParts`], so a clone is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What the handlers share; set up once at start (the `with_*` builders).
#[derive(Clone)]
pub struct AppParts {
    pub settings: Arc<Settings>,
    pub inventory: Arc<Inventory>,
    pub store: Arc<dyn Store>,
    pub verifier: Arc<dyn Verifier>,
    pub limiter: Arc<RateLimiter>,
    /// The counters the worker, the poller and the API record into
    /// (`/metrics`, `/readyz`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes the worker when new work was queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// peerd tokens (issued by the login; listed and revoked by operators).
    pub tokens: Tokens,
    /// The PeeringDB login; `None` when `peeringdb.client_id` is empty.
    pub login: Option<Arc<Login>>,
    /// The PeeringDB data and its sync; `None` = no PeeringDB data at all.
    pub peeringdb: Option<Arc<Syncer>>,
    /// What `/readyz` and `/metrics` share between callers, and the
    /// OpenAPI document once built.
    pub ops: Arc<OpsCache>,
    /// The provisioning worker, for the console: the config it renders for
    /// a session, and reads of a router on demand. `None`: not wired (the
    /// console says so).
    pub worker: Option<crate::worker::Worker>,
    /// The asking side; `None` when it does not run.
    pub outbound: Option<Arc<Outbound>>,
    /// Routers whose platform cannot set a TCP-MD5 password.
    pub no_md5_routers: Arc<std::collections::BTreeSet<String>>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        inventory: Inventory,
        store: Arc<dyn Store>,
        verifier: Arc<dyn Verifier>,
    ) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.limits.requests_per_minute));
        let tokens = Tokens::new(store.clone(), settings.peeringdb.token_ttl_secs);
        AppState(Arc::new(AppParts {
            settings: Arc::new(settings),
            inventory: Arc::new(inventory),
            store,
            verifier,
            limiter,
            metrics: Arc::default(),
            wake: Arc::default(),
            tokens,
            login: None,
            peeringdb: None,
            ops: Arc::default(),
            worker: None,
            outbound: None,
            no_md5_routers: Arc::default(),
        }))
    }

    /// The parts, to set up (copied only if a clone is already out).
    fn parts(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }

    /// Lets the console render with `worker`'s renderer and read routers
    /// through its driver.
    pub fn with_worker(mut self, worker: crate::worker::Worker) -> Self {
        self.parts().worker = Some(worker);
        self
    }

    /// Runs the asking side's routes with `outbound`.
    pub fn with_outbound(mut self, outbound: Arc<Outbound>) -> Self {
        self.parts().outbound = Some(outbound);
        self
    }

    /// Serves the peer login routes with `login` (and its tokens).
    pub fn with_login(mut self, login: Arc<Login>) -> Self {
        let p = self.parts();
        p.tokens = login.tokens().clone();
        p.login = Some(login);
        self
    }

    /// Uses the PeeringDB data `syncer` holds (and lets operators sync).
    /// Notes the routers whose platform cannot set a TCP-MD5 password
    /// (from the loaded profiles), so intake refuses secrets for them.
    pub fn with_platforms(mut self, profiles: &crate::platform::Profiles) -> Self {
        let no_md5 = Arc::new(
            self.inventory
                .routers
                .iter()
                .filter(|r| profiles.get(&r.platform).is_some_and(|p| !p.tcp_md5))
                .map(|r| r.name.clone())
                .collect(),
        );
        self.parts().no_md5_routers = no_md5;
        self
    }

    pub fn with_peeringdb(mut self, syncer: Arc<Syncer>) -> Self {
        self.parts().peeringdb = Some(syncer);
        self
    }

    /// What the use cases work with, for this request (the PeeringDB
    /// snapshot is the one in use now).
    pub fn app(&self) -> crate::app::Ctx {
        crate::app::Ctx {
            store: self.store.clone(),
            inventory: self.inventory.clone(),
            settings: self.settings.clone(),
            snapshot: self.snapshot(),
            wake: self.wake.clone(),
            outbound: self.outbound.clone(),
            no_md5_routers: self.no_md5_routers.clone(),
        }
    }

    /// The PeeringDB snapshot in use, if there is one. Without one, the
    /// API behaves as if there were no PeeringDB data: locations come from
    /// the inventory alone and nothing is checked against PeeringDB.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.peeringdb.as_ref().and_then(|s| s.snapshot())
    }

    /// Largest page: `limits.max_page`, never above 100.
    pub fn max_page(&self) -> usize {
        self.settings.limits.max_page.clamp(1, 100)
    }
}

/// What `/readyz` and `/metrics` share between callers (see `ops.rs`):
/// the last store probe and scrape, each reused for a second, and the
/// OpenAPI document the router built.
#[derive(Default)]
pub struct OpsCache {
    /// The last store probe: when, and its time in ms or why it failed.
    pub probe: tokio::sync::Mutex<Option<(Instant, Result<u64, String>)>>,
    /// A probe's blocking write is still running (a hung disk): no second one.
    pub probing: Arc<std::sync::atomic::AtomicBool>,
    /// The last rendering of the store's gauges.
    pub gauges: tokio::sync::Mutex<Option<(Instant, String)>>,
    /// `/openapi.json`, set by [`super::server::app`].
    pub openapi: std::sync::OnceLock<String>,
}

/// A token bucket per principal: `per_minute` requests a minute with a
/// burst of the same size. 0 turns it off.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Principals tracked at most; past this, full buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `who`; false when the bucket is empty.
    pub fn allow(&self, who: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let cap = self.per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().expect("limiter lock");
        if b.len() >= MAX_BUCKETS && !b.contains_key(who) {
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let (tokens, at) = b.entry(who.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_principal() {
        let l = RateLimiter::new(3);
        assert!(l.allow("a") && l.allow("a") && l.allow("a"));
        assert!(!l.allow("a"));
        assert!(l.allow("b"));
        let off = RateLimiter::new(0);
        assert!((0..1000).all(|_| off.allow("a")));
    }
}

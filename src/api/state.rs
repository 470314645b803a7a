//! The shared state every handler sees: settings, inventory, store,
//! verifier and the per-caller rate limiter.

use crate::auth::Verifier;
use crate::config::Settings;
use crate::inventory::Inventory;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Cloned into every request (all fields are `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub inventory: Arc<Inventory>,
    pub store: Arc<dyn Store>,
    pub verifier: Arc<dyn Verifier>,
    pub limiter: Arc<RateLimiter>,
    /// The worker's counters (`/admin/metrics`).
    pub metrics: Arc<crate::worker::Metrics>,
    /// Wakes the worker when new work was queued.
    pub wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        inventory: Inventory,
        store: Arc<dyn Store>,
        verifier: Arc<dyn Verifier>,
    ) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.limits.requests_per_minute));
        AppState {
            settings: Arc::new(settings),
            inventory: Arc::new(inventory),
            store,
            verifier,
            limiter,
            metrics: Arc::default(),
            wake: Arc::default(),
        }
    }

    /// Largest page: `limits.max_page`, never above 100.
    pub fn max_page(&self) -> usize {
        self.settings.limits.max_page.clamp(1, 100)
    }
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

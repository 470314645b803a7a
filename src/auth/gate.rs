//! The gate in front of PeeringDB token lookups: what one client address
//! may cost PeeringDB, and a fair share of the lookups in flight.
//!
//! A bearer token peerd has not seen (no cache entry, positive or negative)
//! costs one PeeringDB call. Per client address (an IPv4 address or an
//! IPv6 /64; the TCP peer, never a forwarded-for header) [`LookupGate`]
//! allows `per_minute` such calls (token bucket, same burst); past it the
//! answer is [`AuthError::RateLimited`] (429 with `Retry-After`). One
//! client runs at most [`PER_CLIENT`] lookups at once and waits behind its
//! own backlog only; all clients together run at most [`GLOBAL`]. So one
//! address's flood holds at most [`PER_CLIENT`] of the shared slots, and
//! another client's first call waits for at most its own round trip.

use super::AuthError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Lookups one client address may have in flight.
pub const PER_CLIENT: usize = 2;
/// Lookups in flight in all.
pub const GLOBAL: usize = 16;
/// Client addresses remembered at most; past this, settled ones go.
const MAX_CLIENTS: usize = 50_000;

/// The key a client's budget is kept under: its IPv4 address (also when
/// IPv4-mapped), or the /64 of its IPv6 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

struct Client {
    tokens: f64,
    at: Instant,
    slots: Arc<Semaphore>,
}

/// Budgets and slots for PeeringDB lookups; see the module doc.
pub struct LookupGate {
    per_minute: u32,
    global: Arc<Semaphore>,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

/// Held while a lookup runs.
pub struct Pass {
    _client: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl LookupGate {
    /// `per_minute` lookups per client address (0 = no budget).
    pub fn new(per_minute: u32) -> Self {
        LookupGate {
            per_minute,
            global: Arc::new(Semaphore::new(GLOBAL)),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one lookup of `from`'s budget and waits for a slot.
    pub async fn enter(&self, from: IpAddr) -> Result<Pass, AuthError> {
        let slots = self.charge(client_key(from))?;
        let closed = |_| AuthError::Unavailable("token checks are shut down".into());
        let client = slots.acquire_owned().await.map_err(closed)?;
        let global = self.global.clone().acquire_owned().await.map_err(closed)?;
        Ok(Pass {
            _client: client,
            _global: global,
        })
    }

    /// Takes one token from `key`'s bucket; its slots, or how long to wait.
    fn charge(&self, key: IpAddr) -> Result<Arc<Semaphore>, AuthError> {
        let now = Instant::now();
        let cap = self.per_minute as f64;
        let rate = cap / 60.0;
        let mut m = self.clients.lock().expect("lookup gate lock");
        if m.len() >= MAX_CLIENTS && !m.contains_key(&key) {
            // forget clients with a full bucket and nothing in flight
            m.retain(|_, c| {
                let full = self.per_minute == 0
                    || c.tokens + now.duration_since(c.at).as_secs_f64() * rate >= cap;
                !(full && Arc::strong_count(&c.slots) == 1)
            });
        }
        let c = m.entry(key).or_insert_with(|| Client {
            tokens: cap,
            at: now,
            slots: Arc::new(Semaphore::new(PER_CLIENT)),
        });
        if self.per_minute > 0 {
            c.tokens = (c.tokens + now.duration_since(c.at).as_secs_f64() * rate).min(cap);
            c.at = now;
            if c.tokens < 1.0 {
                let wait = ((1.0 - c.tokens) / rate).ceil().max(1.0);
                return Err(AuthError::RateLimited(Duration::from_secs(wait as u64)));
            }
            c.tokens -= 1.0;
        }
        Ok(c.slots.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn keys() {
        assert_eq!(client_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
    }

    #[tokio::test]
    async fn budget_per_client() {
        let g = LookupGate::new(3);
        for _ in 0..3 {
            drop(g.enter(ip("192.0.2.1")).await.unwrap());
        }
        match g.enter(ip("192.0.2.1")).await {
            Err(AuthError::RateLimited(d)) => assert!(d >= Duration::from_secs(1), "{d:?}"),
            other => panic!("{:?}", other.err()),
        }
        // another address, and another host of the same IPv6 /64
        assert!(g.enter(ip("192.0.2.2")).await.is_ok());
        drop(g.enter(ip("2001:db8::1")).await.unwrap());
        drop(g.enter(ip("2001:db8::2")).await.unwrap());
        drop(g.enter(ip("2001:db8::3")).await.unwrap());
        assert!(g.enter(ip("2001:db8::4")).await.is_err());
        let off = LookupGate::new(0);
        for _ in 0..100 {
            drop(off.enter(ip("192.0.2.1")).await.unwrap());
        }
    }

    #[tokio::test]
    async fn one_client_holds_at_most_its_share() {
        let g = Arc::new(LookupGate::new(0));
        let held: Vec<Pass> = vec![
            g.enter(ip("192.0.2.1")).await.unwrap(),
            g.enter(ip("192.0.2.1")).await.unwrap(),
        ];
        // a third lookup of the same client waits...
        let g2 = g.clone();
        let third = tokio::spawn(async move { g2.enter(ip("192.0.2.1")).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished());
        // ...while another client gets a slot at once
        let other = tokio::time::timeout(Duration::from_millis(100), g.enter(ip("192.0.2.9")));
        assert!(other.await.is_ok());
        assert_eq!(g.global.available_permits(), GLOBAL - 2);
        drop(held);
        third.await.unwrap().unwrap();
    }
}

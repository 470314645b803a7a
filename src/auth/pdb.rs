//! PeeringDB access tokens: `GET {auth_base}/profile/v1` with the token,
//! `networks[]` -> the ASNs the caller may act for (filtered by the
//! configured `perms` bits or `manage_peering_sessions`).
//!
//! Answers are cached per token (keyed by the token's SHA-256) for
//! `cache_ttl_secs`; tokens PeeringDB refused are remembered apart, for a
//! minute, so junk cannot push good tokens out. Both caches are bounded.
//! A token in neither costs a PeeringDB call, which goes through the
//! [`LookupGate`]: a budget per client address (429 past it) and a fair
//! share of the lookups in flight.
//! PeeringDB unreachable, slow, or failing (5xx, or a
//! profile we cannot read) is [`AuthError::Unavailable`] (503), never "allow";
//! 401/403 from PeeringDB is [`AuthError::Invalid`] (401).

use super::gate::LookupGate;
use super::{token_hash, AuthError, Verifier};
use crate::config::PeeringDbSettings;
use crate::model::Caller;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most cached verified tokens, and most remembered refused ones.
const CACHE_MAX: usize = 10_000;
/// How long a token PeeringDB refused stays refused without asking again.
const NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// Largest profile document we read.
const PROFILE_MAX_BYTES: usize = 1 << 20;

/// `GET /profile/v1` (fields peerd uses; others are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct Profile {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub verified_user: Option<bool>,
    #[serde(default)]
    pub networks: Vec<ProfileNetwork>,
}

/// One entry of `networks[]`.
#[derive(Clone, Debug, Deserialize)]
pub struct ProfileNetwork {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    pub asn: u32,
    #[serde(default)]
    pub perms: u32,
    #[serde(default)]
    pub manage_peering_sessions: u32,
}

/// Which network entries count, from the settings.
#[derive(Clone, Copy, Debug)]
pub struct PermRule {
    pub required_perms: u32,
    pub use_manage_peering_sessions: bool,
}

impl PermRule {
    /// True when the entry grants what the rule asks for.
    pub fn admits(&self, n: &ProfileNetwork) -> bool {
        let bits = if self.use_manage_peering_sessions {
            n.manage_peering_sessions
        } else {
            n.perms
        };
        if self.required_perms == 0 {
            // No bits required: any affiliation counts, but the
            // manage_peering_sessions mode still needs the grant itself.
            !self.use_manage_peering_sessions || bits != 0
        } else {
            bits & self.required_perms == self.required_perms
        }
    }
}

impl Profile {
    /// The caller this profile describes under `rule`.
    pub fn caller(&self, rule: PermRule) -> Caller {
        let asns: BTreeSet<u32> = self
            .networks
            .iter()
            .filter(|n| rule.admits(n))
            .map(|n| n.asn)
            .collect();
        Caller {
            principal: format!("pdb:{}", self.id),
            asns,
            is_operator: false,
            read_only: false,
        }
    }
}

/// Token hash -> value until an expiry, at most `max` entries: when full,
/// expired entries go, then the one closest to expiry.
struct TtlCache<V> {
    max: usize,
    map: HashMap<[u8; 32], (V, Instant)>,
}

impl<V: Clone> TtlCache<V> {
    fn new(max: usize) -> Self {
        TtlCache {
            max,
            map: HashMap::new(),
        }
    }

    fn get(&self, key: &[u8; 32]) -> Option<V> {
        self.map
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(v, _)| v.clone())
    }

    fn insert(&mut self, key: [u8; 32], v: V, ttl: Duration) {
        let now = Instant::now();
        if self.map.len() >= self.max && !self.map.contains_key(&key) {
            self.map.retain(|_, (_, until)| now < *until);
            if self.map.len() >= self.max {
                let soonest = self
                    .map
                    .iter()
                    .min_by_key(|(_, (_, u))| *u)
                    .map(|(k, _)| *k);
                if let Some(k) = soonest {
                    self.map.remove(&k);
                }
            }
        }
        self.map.insert(key, (v, now + ttl));
    }
}

/// What the caches say about a token.
enum Known {
    Valid(Caller),
    Refused,
}

/// Verifies PeeringDB access tokens, with TTL caches and a lookup gate.
pub struct PdbVerifier {
    client: reqwest::Client,
    profile_url: String,
    rule: PermRule,
    ttl: Duration,
    good: Mutex<TtlCache<Caller>>,
    refused: Mutex<TtlCache<()>>,
    gate: LookupGate,
}

impl PdbVerifier {
    pub fn new(s: &PeeringDbSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(s.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(s.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("peerd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(PdbVerifier {
            client,
            profile_url: format!("{}/profile/v1", s.auth_base.trim_end_matches('/')),
            rule: PermRule {
                required_perms: s.required_perms,
                use_manage_peering_sessions: s.use_manage_peering_sessions,
            },
            ttl: Duration::from_secs(s.cache_ttl_secs),
            good: Mutex::new(TtlCache::new(CACHE_MAX)),
            refused: Mutex::new(TtlCache::new(CACHE_MAX)),
            gate: LookupGate::new(0),
        })
    }

    /// At most `per_minute` PeeringDB lookups per client address (0 = no
    /// budget; the per-client and global slots apply anyway).
    pub fn with_lookup_budget(mut self, per_minute: u32) -> Self {
        self.gate = LookupGate::new(per_minute);
        self
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Known> {
        if let Some(c) = self.good.lock().expect("pdb cache lock").get(key) {
            return Some(Known::Valid(c));
        }
        let refused = self.refused.lock().expect("pdb cache lock").get(key);
        refused.map(|()| Known::Refused)
    }

    fn remember(&self, key: [u8; 32], caller: Option<&Caller>) {
        match caller {
            Some(c) if !self.ttl.is_zero() => {
                self.good
                    .lock()
                    .expect("pdb cache lock")
                    .insert(key, c.clone(), self.ttl)
            }
            Some(_) => {}
            None => self
                .refused
                .lock()
                .expect("pdb cache lock")
                .insert(key, (), NEGATIVE_TTL),
        }
    }

    async fn fetch(&self, token: &str) -> Result<Profile, AuthError> {
        let unavailable = |what: &str| {
            AuthError::Unavailable(format!(
                "cannot verify the token: PeeringDB {what}; try again later"
            ))
        };
        let resp = self
            .client
            .get(&self.profile_url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                // reqwest errors carry the URL, never the header.
                tracing::warn!(error = %e, "PeeringDB profile request failed");
                if e.is_timeout() {
                    unavailable("did not answer in time")
                } else {
                    unavailable("is unreachable")
                }
            })?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(AuthError::Invalid(
                "PeeringDB did not accept the access token".into(),
            ));
        }
        if !status.is_success() {
            tracing::warn!(%status, "PeeringDB profile answered with an error");
            return Err(unavailable(&format!("answered {}", status.as_u16())));
        }
        if resp.content_length().unwrap_or(0) > PROFILE_MAX_BYTES as u64 {
            return Err(unavailable("sent an oversized profile"));
        }
        let body = resp.bytes().await.map_err(|e| {
            tracing::warn!(error = %e, "PeeringDB profile body failed");
            if e.is_timeout() {
                unavailable("did not answer in time")
            } else {
                unavailable("broke off its answer")
            }
        })?;
        if body.len() > PROFILE_MAX_BYTES {
            return Err(unavailable("sent an oversized profile"));
        }
        serde_json::from_slice(&body).map_err(|e| {
            tracing::warn!(error = %e, "PeeringDB profile not understood");
            unavailable("sent a profile peerd cannot read")
        })
    }
}

impl Verifier for PdbVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        from: IpAddr,
    ) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            let key = token_hash(token);
            let refused = || AuthError::Invalid("PeeringDB did not accept the access token".into());
            match self.cached(&key) {
                Some(Known::Valid(c)) => return Ok(Some(c)),
                Some(Known::Refused) => return Err(refused()),
                None => {}
            }
            let _pass = self.gate.enter(from).await?;
            // Another request may have checked the same token meanwhile.
            match self.cached(&key) {
                Some(Known::Valid(c)) => return Ok(Some(c)),
                Some(Known::Refused) => return Err(refused()),
                None => {}
            }
            match self.fetch(token).await {
                Ok(profile) => {
                    let caller = profile.caller(self.rule);
                    self.remember(key, Some(&caller));
                    Ok(Some(caller))
                }
                Err(AuthError::Invalid(m)) => {
                    self.remember(key, None);
                    Err(AuthError::Invalid(m))
                }
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_stay_bounded_and_keep_fresh_entries() {
        let mut c = TtlCache::new(3);
        let k = |i: u8| [i; 32];
        c.insert(k(1), 1, Duration::from_secs(10));
        c.insert(k(2), 2, Duration::from_secs(30));
        c.insert(k(3), 3, Duration::from_secs(20));
        c.insert(k(4), 4, Duration::from_secs(40));
        assert_eq!(c.map.len(), 3);
        assert_eq!(c.get(&k(1)), None, "the one closest to expiry went");
        assert_eq!(c.get(&k(2)), Some(2));
        c.insert(k(5), 5, Duration::ZERO);
        assert_eq!(c.get(&k(5)), None, "expired");
    }

    fn profile() -> Profile {
        serde_json::from_str(
            r#"{"id": 1234, "given_name": "Ada", "family_name": "Example", "name": "Ada Example",
   "verified_user": true, "email": "noc@example.net", "verified_email": true,
   "networks": [
     {"id": 20, "name": "Example Net", "asn": 64500, "perms": 15, "manage_peering_sessions": 15},
     {"id": 31, "name": "Example Transit", "asn": 64501, "perms": 1, "manage_peering_sessions": 0}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn perms_filter() {
        let p = profile();
        let any = p.caller(PermRule {
            required_perms: 0,
            use_manage_peering_sessions: false,
        });
        assert_eq!(any.principal, "pdb:1234");
        assert_eq!(any.asns.len(), 2);
        let update = p.caller(PermRule {
            required_perms: 2,
            use_manage_peering_sessions: false,
        });
        assert_eq!(update.asns.into_iter().collect::<Vec<_>>(), vec![64500]);
        let mps = p.caller(PermRule {
            required_perms: 0,
            use_manage_peering_sessions: true,
        });
        assert_eq!(mps.asns.into_iter().collect::<Vec<_>>(), vec![64500]);
        assert!(!mps.is_operator);
    }
}

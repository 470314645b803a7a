//! PeeringDB access tokens: `GET {auth_base}/profile/v1` with the token,
//! `networks[]` -> the ASNs the caller may act for (filtered by the
//! configured `perms` bits or `manage_peering_sessions`).
//!
//! Answers are cached per token (keyed by the token's SHA-256) for
//! `cache_ttl_secs`. PeeringDB unreachable, slow, or failing (5xx, or a
//! profile we cannot read) is [`AuthError::Unavailable`] (503), never "allow";
//! 401/403 from PeeringDB is [`AuthError::Invalid`] (401).

use super::{token_hash, AuthError, Verifier};
use crate::config::PeeringDbSettings;
use crate::model::Caller;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most cached tokens; past this, expired entries go, then everything.
const CACHE_MAX: usize = 10_000;
/// How long a token PeeringDB refused stays refused without asking again.
const NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// Most profile lookups in flight at once; more wait their turn, so a
/// flood of unknown tokens cannot turn into a flood against PeeringDB.
const MAX_INFLIGHT: usize = 16;
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
        }
    }
}

/// A cache entry: the caller, or `None` for a refused token; and its expiry.
type Cached = (Option<Caller>, Instant);

/// Verifies PeeringDB access tokens, with a TTL cache.
pub struct PdbVerifier {
    client: reqwest::Client,
    profile_url: String,
    rule: PermRule,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    inflight: tokio::sync::Semaphore,
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
            cache: Mutex::new(HashMap::new()),
            inflight: tokio::sync::Semaphore::new(MAX_INFLIGHT),
        })
    }

    /// `Some(Some(caller))` verified, `Some(None)` refused, `None` unknown.
    fn cached(&self, key: &[u8; 32]) -> Option<Option<Caller>> {
        let c = self.cache.lock().expect("pdb cache lock");
        c.get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(caller, _)| caller.clone())
    }

    fn remember(&self, key: [u8; 32], caller: Option<&Caller>) {
        let ttl = if caller.is_some() {
            self.ttl
        } else {
            NEGATIVE_TTL.min(self.ttl)
        };
        if ttl.is_zero() {
            return;
        }
        let mut c = self.cache.lock().expect("pdb cache lock");
        if c.len() >= CACHE_MAX {
            let now = Instant::now();
            c.retain(|_, (_, until)| now < *until);
            if c.len() >= CACHE_MAX {
                c.clear();
            }
        }
        c.insert(key, (caller.cloned(), Instant::now() + ttl));
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
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            let key = token_hash(token);
            let refused = || AuthError::Invalid("PeeringDB did not accept the access token".into());
            match self.cached(&key) {
                Some(Some(c)) => return Ok(Some(c)),
                Some(None) => return Err(refused()),
                None => {}
            }
            let _permit = self
                .inflight
                .acquire()
                .await
                .map_err(|_| AuthError::Unavailable("token checks are shut down".into()))?;
            // Another request may have checked the same token meanwhile.
            match self.cached(&key) {
                Some(Some(c)) => return Ok(Some(c)),
                Some(None) => return Err(refused()),
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

//! Bearer tokens that peerd issues after a PeeringDB login.
//!
//! A token is `pd_` followed by 256 random bits in base64url (no padding),
//! 46 characters in all. peerd keeps only the SHA-256 of the token, as the key
//! of a record in the store's metadata area (namespace `tokens`) that holds
//! the principal (`pdb:<user id>`), the ASNs, the creation and expiry times
//! and a revoked flag. Verifying a token hashes it and looks the hash up, so
//! the secret is never compared byte by byte and never stored or logged.
//!
//! A token's *id* is the first 12 hex digits of its hash: operators see it in
//! [`Tokens::list`] and revoke with it ([`Tokens::revoke_by_id`]); it reveals
//! nothing about the token. Revoked tokens stay on record (so they answer
//! "revoked", not "unknown") until they expire; expired records are pruned
//! now and then when new tokens are issued.

use super::{system_clock, AuthError, Clock, Verifier};
use crate::model::{Caller, Secret, UnixMillis};
use crate::store::{Store, StoreError};
use base64::Engine;
use futures::future::BoxFuture;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Every peerd token starts with this.
pub const TOKEN_PREFIX: &str = "pd_";
/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Length of a token: prefix + unpadded base64url of 32 bytes.
pub const TOKEN_LEN: usize = 3 + 43;
/// Hex digits of the hash shown as a token's id.
pub const ID_LEN: usize = 12;
/// Shortest id prefix [`Tokens::revoke_by_id`] accepts.
pub const MIN_ID_LEN: usize = 8;
/// Metadata namespace of token records.
pub const NS: &str = "tokens";
/// Most ASNs one token may carry (a PeeringDB user with more is unusual).
pub const MAX_ASNS: usize = 1024;
/// Default lifetime of a token.
pub const DEFAULT_TTL_SECS: u64 = 24 * 3600;
/// How often (at most) issuing a token also prunes expired records.
const PRUNE_EVERY_MS: u64 = 10 * 60 * 1000;

/// True when `s` has the shape of a peerd token (prefix, length, alphabet).
/// The API's verifier uses this to route a bearer token: peerd tokens go to
/// [`Tokens::verify`], anything else to PeeringDB's `/profile/v1`.
/// (PeeringDB access tokens are 30 ASCII letters and digits, so they never
/// match.)
pub fn is_peerd_token(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.starts_with(TOKEN_PREFIX)
        && s.as_bytes()[TOKEN_PREFIX.len()..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// Lowercase hex SHA-256 of a token: its storage key.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The id of a token (first [`ID_LEN`] hex digits of its hash).
pub fn token_id(token: &str) -> String {
    token_hash(token)[..ID_LEN].to_string()
}

/// Makes a fresh random token (not stored).
fn new_token() -> String {
    let mut b = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let mut s = String::with_capacity(TOKEN_LEN);
    s.push_str(TOKEN_PREFIX);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(b, &mut s);
    s
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a token peerd issued (or pruned long after expiry). API: 401.
    #[error("unknown token")]
    Unknown,
    /// Past its expiry. API: 401.
    #[error("token expired")]
    Expired,
    /// Revoked by its holder or an operator. API: 401.
    #[error("token revoked")]
    Revoked,
    /// An id prefix that matches more than one token (operators only).
    #[error("token id {0} is ambiguous")]
    Ambiguous(String),
    /// A request that cannot be served (bad id, too many ASNs). API: 400.
    #[error("{0}")]
    Invalid(String),
    /// The store failed. API: 503 (never allow).
    #[error("token store: {0}")]
    Store(#[from] StoreError),
}

/// What is kept per token (keyed by the token's hash).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenRecord {
    principal: String,
    asns: BTreeSet<u32>,
    created_ms: UnixMillis,
    expires_ms: UnixMillis,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    revoked_ms: Option<UnixMillis>,
}

/// A token as operators see it: no secret, no full hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub principal: String,
    pub asns: BTreeSet<u32>,
    pub created_ms: UnixMillis,
    pub expires_ms: UnixMillis,
    pub revoked: bool,
    /// True when `expires_ms` has passed.
    pub expired: bool,
}

/// A freshly issued token. `token` is the only copy of the secret: it is
/// handed to the caller once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: Secret,
    pub id: String,
    pub principal: String,
    pub asns: BTreeSet<u32>,
    /// Seconds until expiry.
    pub expires_in: u64,
    pub expires_ms: UnixMillis,
}

/// The JSON answer of `/auth/callback`:
/// `{"token", "token_type": "Bearer", "expires_in", "asns"}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The bearer token (`pd_...`); shown once.
    pub token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, examples("Bearer"))]
    pub token_type: &'static str,
    pub expires_in: u64,
    #[schema(value_type = Vec<u64>)]
    pub asns: Vec<u32>,
}

impl IssuedToken {
    /// The wire answer (contains the secret: send it to its owner only).
    pub fn response(&self) -> TokenResponse {
        TokenResponse {
            token: self.token.expose().to_string(),
            token_type: "Bearer",
            expires_in: self.expires_in,
            asns: self.asns.iter().copied().collect(),
        }
    }
}

/// Issues, verifies and revokes peerd tokens. Cheap to clone.
#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn Store>,
    ttl_ms: u64,
    clock: Clock,
    last_prune_ms: Arc<AtomicU64>,
}

impl Tokens {
    /// Tokens living `ttl_secs` (0 means the default, 24 h).
    pub fn new(store: Arc<dyn Store>, ttl_secs: u64) -> Tokens {
        let ttl_secs = if ttl_secs == 0 {
            DEFAULT_TTL_SECS
        } else {
            ttl_secs
        };
        Tokens {
            store,
            ttl_ms: ttl_secs.saturating_mul(1000),
            clock: system_clock(),
            last_prune_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Tokens {
        self.clock = clock;
        self
    }

    /// Token lifetime in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_ms / 1000
    }

    /// Issues a token for `principal` acting for `asns`, and waits until the
    /// record is durable.
    pub async fn issue(
        &self,
        principal: &str,
        asns: BTreeSet<u32>,
    ) -> Result<IssuedToken, TokenError> {
        if asns.len() > MAX_ASNS {
            return Err(TokenError::Invalid(format!(
                "too many ASNs ({} > {MAX_ASNS})",
                asns.len()
            )));
        }
        let now = (self.clock)();
        self.maybe_prune(now);
        let token = new_token();
        let hash = token_hash(&token);
        let rec = TokenRecord {
            principal: principal.to_string(),
            asns: asns.clone(),
            created_ms: now,
            expires_ms: now.saturating_add(self.ttl_ms),
            revoked: false,
            revoked_ms: None,
        };
        self.put(&hash, &rec)?;
        self.store.durable().await?;
        let id = hash[..ID_LEN].to_string();
        tracing::info!(token_id = %id, principal, asns = ?asns, "issued peerd token");
        Ok(IssuedToken {
            token: Secret::new(token),
            id,
            principal: rec.principal,
            asns,
            expires_in: self.ttl_ms / 1000,
            expires_ms: rec.expires_ms,
        })
    }

    /// Checks a bearer token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        if !is_peerd_token(token) {
            return Err(TokenError::Unknown);
        }
        let rec = self.get(&token_hash(token))?.ok_or(TokenError::Unknown)?;
        if rec.revoked {
            return Err(TokenError::Revoked);
        }
        if (self.clock)() >= rec.expires_ms {
            return Err(TokenError::Expired);
        }
        Ok(Caller {
            principal: rec.principal,
            asns: rec.asns,
            is_operator: false,
            read_only: false,
        })
    }

    /// The id of a token if it is one peerd knows (for audit and for the
    /// revoke route's answer).
    pub fn id_of(&self, token: &str) -> Result<Option<String>, TokenError> {
        if !is_peerd_token(token) {
            return Ok(None);
        }
        let hash = token_hash(token);
        Ok(self.get(&hash)?.map(|_| hash[..ID_LEN].to_string()))
    }

    /// Revokes a token presented by its holder. Returns its id.
    /// Revoking a revoked token is not an error; an unknown one is.
    pub async fn revoke(&self, token: &str) -> Result<String, TokenError> {
        if !is_peerd_token(token) {
            return Err(TokenError::Unknown);
        }
        let hash = token_hash(token);
        let rec = self.get(&hash)?.ok_or(TokenError::Unknown)?;
        self.mark_revoked(&hash, rec).await
    }

    /// Revokes the token whose id (or a prefix of at least [`MIN_ID_LEN`]
    /// hex digits of its hash) is `id` (operators). Returns the id.
    pub async fn revoke_by_id(&self, id: &str) -> Result<String, TokenError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < MIN_ID_LEN || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TokenError::Invalid(format!(
                "a token id is {MIN_ID_LEN} to 64 hex digits"
            )));
        }
        let mut found: Option<(String, TokenRecord)> = None;
        for (hash, value) in self.store.meta_list(NS)? {
            if hash.starts_with(&id) {
                if found.is_some() {
                    return Err(TokenError::Ambiguous(id));
                }
                found = Some((hash, decode(&value)?));
            }
        }
        let (hash, rec) = found.ok_or(TokenError::Unknown)?;
        self.mark_revoked(&hash, rec).await
    }

    /// All token records, oldest first, without secrets.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let now = (self.clock)();
        let mut out = Vec::new();
        for (hash, value) in self.store.meta_list(NS)? {
            let rec = decode(&value)?;
            out.push(TokenInfo {
                id: hash.get(..ID_LEN).unwrap_or(&hash).to_string(),
                principal: rec.principal,
                asns: rec.asns,
                created_ms: rec.created_ms,
                expires_ms: rec.expires_ms,
                revoked: rec.revoked,
                expired: now >= rec.expires_ms,
            });
        }
        out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(out)
    }

    /// Removes records that expired (revoked or not). Returns how many.
    pub fn prune(&self) -> Result<usize, TokenError> {
        let now = (self.clock)();
        self.last_prune_ms.store(now, Ordering::Relaxed);
        let mut n = 0;
        for (hash, value) in self.store.meta_list(NS)? {
            // A record that does not decode is useless: drop it too.
            let dead = decode(&value).map_or(true, |r| now >= r.expires_ms);
            if dead {
                self.store.meta_delete(NS, &hash)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn maybe_prune(&self, now: UnixMillis) {
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PRUNE_EVERY_MS {
            return;
        }
        match self.prune() {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "pruned expired peerd tokens"),
            Err(e) => tracing::warn!(error = %e, "pruning peerd tokens failed"),
        }
    }

    async fn mark_revoked(&self, hash: &str, mut rec: TokenRecord) -> Result<String, TokenError> {
        let id = hash[..ID_LEN].to_string();
        if !rec.revoked {
            rec.revoked = true;
            rec.revoked_ms = Some((self.clock)());
            self.put(hash, &rec)?;
            self.store.durable().await?;
            tracing::info!(token_id = %id, principal = %rec.principal, "revoked peerd token");
        }
        Ok(id)
    }

    fn get(&self, hash: &str) -> Result<Option<TokenRecord>, TokenError> {
        self.store
            .meta_get(NS, hash)?
            .map(|v| decode(&v))
            .transpose()
    }

    fn put(&self, hash: &str, rec: &TokenRecord) -> Result<(), TokenError> {
        let v = serde_json::to_vec(rec)
            .map_err(|e| StoreError::Corrupt(format!("token record: {e}")))?;
        self.store.meta_put(NS, hash, &v)?;
        Ok(())
    }
}

/// peerd tokens in the verifier chain: a bearer that starts like a peerd
/// token (`pd_...`) is decided here and never sent to PeeringDB; unknown,
/// malformed,
/// expired and revoked ones are refused (401), a failing store is
/// "unavailable" (503, never allow). Anything else is left to the next
/// verifier.
impl Verifier for Tokens {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        _from: std::net::IpAddr,
    ) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            if !token.starts_with(TOKEN_PREFIX) {
                return Ok(None);
            }
            if !is_peerd_token(token) {
                // our prefix, not our shape: never PeeringDB's to judge
                return Err(AuthError::Invalid("malformed peerd token".into()));
            }
            match Tokens::verify(self, token) {
                Ok(c) => Ok(Some(c)),
                Err(TokenError::Store(e)) => {
                    tracing::error!(error = %e, "peerd token check failed: token store");
                    Err(AuthError::Unavailable(
                        "cannot check the token right now; try again later".into(),
                    ))
                }
                Err(TokenError::Expired) => Err(AuthError::Invalid(
                    "token expired; log in again (GET /auth/login)".into(),
                )),
                Err(e) => Err(AuthError::Invalid(e.to_string())),
            }
        })
    }
}

fn decode(v: &[u8]) -> Result<TokenRecord, TokenError> {
    serde_json::from_slice(v)
        .map_err(|e| TokenError::Store(StoreError::Corrupt(format!("token record: {e}"))))
}

#[cfg(test)]
mod tests;

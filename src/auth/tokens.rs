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
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
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
mod tests {
    use super::*;

    #[test]
    fn token_format() {
        let t = new_token();
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.starts_with(TOKEN_PREFIX));
        assert!(is_peerd_token(&t));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&t[TOKEN_PREFIX.len()..])
            .unwrap();
        assert_eq!(raw.len(), TOKEN_BYTES);
        assert_ne!(t, new_token(), "tokens are random");
    }

    #[test]
    fn peerd_token_shape() {
        let t = new_token();
        assert!(!is_peerd_token(&t[..TOKEN_LEN - 1]));
        assert!(!is_peerd_token(&format!("{t}A")));
        assert!(!is_peerd_token(&format!("xx_{}", &t[3..])));
        let mut bad = t.clone();
        bad.replace_range(10..11, "+");
        assert!(!is_peerd_token(&bad));
        // a PeeringDB (django-oauth-toolkit) access token: 30 letters/digits
        assert!(!is_peerd_token("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1"));
        assert!(!is_peerd_token(""));
    }

    fn tokens(ttl: u64) -> (tempfile::TempDir, Tokens, Arc<AtomicU64>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SledStore::open(dir.path()).unwrap();
        let now = Arc::new(AtomicU64::new(1_000_000));
        let n = now.clone();
        let t = Tokens::new(Arc::new(store), ttl)
            .with_clock(Arc::new(move || n.load(Ordering::Relaxed)));
        (dir, t, now)
    }

    fn asns(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    #[tokio::test]
    async fn issue_verify_revoke() {
        let (_d, t, _now) = tokens(0);
        assert_eq!(t.ttl_secs(), DEFAULT_TTL_SECS);
        let issued = t.issue("pdb:7", asns(&[64500, 64502])).await.unwrap();
        assert_eq!(issued.expires_in, DEFAULT_TTL_SECS);
        let tok = issued.token.expose().to_string();
        assert!(
            !format!("{issued:?}").contains(&tok),
            "Debug redacts the token"
        );
        let c = t.verify(&tok).unwrap();
        assert_eq!(c.principal, "pdb:7");
        assert_eq!(c.asns, asns(&[64500, 64502]));
        assert!(!c.is_operator);
        assert_eq!(t.id_of(&tok).unwrap(), Some(issued.id.clone()));
        // only the hash is stored
        let stored = t.store.meta_list(NS).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].0, token_hash(&tok));
        assert!(!String::from_utf8_lossy(&stored[0].1).contains(&tok[3..]));
        // listing has ids, no secrets
        let l = t.list().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].id, issued.id);
        assert!(!serde_json::to_string(&l).unwrap().contains(&stored[0].0));
        assert_eq!(t.revoke(&tok).await.unwrap(), issued.id);
        assert!(matches!(t.verify(&tok), Err(TokenError::Revoked)));
        // revoking twice is fine
        t.revoke(&tok).await.unwrap();
        assert!(t.list().unwrap()[0].revoked);
    }

    #[tokio::test]
    async fn unknown_and_malformed() {
        let (_d, t, _now) = tokens(60);
        assert!(matches!(t.verify(&new_token()), Err(TokenError::Unknown)));
        assert!(matches!(t.verify("garbage"), Err(TokenError::Unknown)));
        assert!(matches!(
            t.revoke(&new_token()).await,
            Err(TokenError::Unknown)
        ));
        assert_eq!(t.id_of("garbage").unwrap(), None);
    }

    #[tokio::test]
    async fn expiry_and_prune() {
        let (_d, t, now) = tokens(60);
        let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
        now.fetch_add(59_999, Ordering::Relaxed);
        assert!(t.verify(a.token.expose()).is_ok());
        now.fetch_add(1, Ordering::Relaxed);
        assert!(matches!(
            t.verify(a.token.expose()),
            Err(TokenError::Expired)
        ));
        let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
        assert!(t.list().unwrap()[0].expired);
        assert_eq!(t.prune().unwrap(), 1);
        assert!(matches!(
            t.verify(a.token.expose()),
            Err(TokenError::Unknown)
        ));
        assert!(t.verify(b.token.expose()).is_ok());
    }

    #[tokio::test]
    async fn revoke_by_id() {
        let (_d, t, _now) = tokens(60);
        let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
        let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
        assert!(matches!(
            t.revoke_by_id("abc").await,
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            t.revoke_by_id("zzzzzzzzzzzz").await,
            Err(TokenError::Invalid(_))
        ));
        assert_eq!(t.revoke_by_id(&a.id.to_uppercase()).await.unwrap(), a.id);
        assert!(matches!(
            t.verify(a.token.expose()),
            Err(TokenError::Revoked)
        ));
        assert!(t.verify(b.token.expose()).is_ok());
        let other = if b.id.starts_with("00000000") {
            "ffffffff"
        } else {
            "00000000"
        };
        assert!(matches!(
            t.revoke_by_id(other).await,
            Err(TokenError::Unknown)
        ));
    }

    #[tokio::test]
    async fn as_a_verifier() {
        let (_d, t, now) = tokens(60);
        let v: &dyn Verifier = &t;
        const LO: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        assert_eq!(
            v.verify("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1", LO).await,
            Ok(None)
        );
        // our prefix but not our shape: refused here, never passed on
        assert!(matches!(
            v.verify("pd_short", LO).await,
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            v.verify(&new_token(), LO).await,
            Err(AuthError::Invalid(_))
        ));
        let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
        let c = v.verify(a.token.expose(), LO).await.unwrap().unwrap();
        assert_eq!(c.asns, asns(&[64500]));
        now.fetch_add(60_000, Ordering::Relaxed);
        match v.verify(a.token.expose(), LO).await {
            Err(AuthError::Invalid(m)) => assert!(m.contains("expired"), "{m}"),
            other => panic!("{other:?}"),
        }
        // a record the store cannot give back: 503, never allow
        let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
        t.store
            .meta_put(NS, &token_hash(b.token.expose()), b"not json")
            .unwrap();
        assert!(matches!(
            v.verify(b.token.expose(), LO).await,
            Err(AuthError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn bounded_asns() {
        let (_d, t, _now) = tokens(60);
        let many: BTreeSet<u32> = (1..=MAX_ASNS as u32 + 1).collect();
        assert!(matches!(
            t.issue("pdb:1", many).await,
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn hash_and_id() {
        // SHA-256("abc"), a published test vector
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(token_id("abc"), "ba7816bf8f01");
        let t = new_token();
        assert_eq!(token_hash(&t).len(), 64);
        assert!(token_hash(&t).starts_with(&token_id(&t)));
    }
}

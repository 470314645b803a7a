//! Operator console logins: an operator logs in with an operator key and
//! gets a session cookie instead (the key is not kept in the browser).
//!
//! The cookie value is 256 random bits (`pc_` + 43 base64url characters).
//! The store keeps only its SHA-256 (metadata namespace `console`) with
//! the SHA-256 of the operator key that opened it and an expiry; the key
//! itself is never stored. Every page looks the key up again, so a key
//! revoked or rotated with `peerd key` ends its console sessions at once,
//! and a role changed in the keys file counts from the next page. Logout
//! deletes the record. Expired records are refused and swept.
//!
//! Each session has its own CSRF token, derived from the cookie
//! ([`ConsoleSessions::csrf_token`]: SHA-256 over a fixed label and the
//! cookie), so a form of one session is refused in another and a page
//! without the cookie cannot make one.

use super::{ct_eq, token_hash, Clock};
use crate::model::{Secret, UnixMillis};
use crate::store::{Store, StoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Every console cookie starts with this.
pub const COOKIE_PREFIX: &str = "pc_";
const COOKIE_LEN: usize = 3 + 43;
const NS: &str = "console";
/// Expired records are swept at most this often (on a login).
const PRUNE_EVERY_MS: u64 = 10 * 60 * 1000;
/// Shortest and longest login allowed, whatever the settings say.
const MIN_TTL_SECS: u64 = 1;
const MAX_TTL_SECS: u64 = 30 * 86_400;

/// What is kept per console session (keyed by the cookie's hash).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    /// Hex SHA-256 of the operator key that logged in.
    key_hash: String,
    created_ms: UnixMillis,
    expires_ms: UnixMillis,
}

/// A live console session (never the cookie or the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLogin {
    /// The first 12 hex digits of the cookie's hash (for logs).
    pub id: String,
    /// SHA-256 of the operator key that opened it.
    pub key_hash: [u8; 32],
    pub created_ms: UnixMillis,
    pub expires_ms: UnixMillis,
}

/// True when `s` has the shape of a console cookie.
pub fn is_console_cookie(s: &str) -> bool {
    s.len() == COOKIE_LEN
        && s.starts_with(COOKIE_PREFIX)
        && s.as_bytes()[COOKIE_PREFIX.len()..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// Console sessions in the store. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleSessions {
    store: Arc<dyn Store>,
    ttl_ms: u64,
    clock: Clock,
    last_prune_ms: Arc<AtomicU64>,
}

impl ConsoleSessions {
    /// Sessions lasting `ttl_secs` (bounded to 1 s .. 30 days).
    pub fn new(store: Arc<dyn Store>, ttl_secs: u64) -> Self {
        ConsoleSessions {
            store,
            ttl_ms: ttl_secs.clamp(MIN_TTL_SECS, MAX_TTL_SECS) * 1000,
            clock: super::system_clock(),
            last_prune_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Seconds a session lasts.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_ms / 1000
    }

    /// Opens a session for the holder of the key whose SHA-256 is
    /// `key_hash`; on disk before it returns. The cookie is the only copy.
    pub async fn start(&self, key_hash: &[u8; 32]) -> Result<(Secret, ConsoleLogin), StoreError> {
        let now = (self.clock)();
        self.maybe_prune(now);
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        let cookie = format!("{COOKIE_PREFIX}{}", URL_SAFE_NO_PAD.encode(b));
        let hash = hex::encode(token_hash(&cookie));
        let rec = Record {
            key_hash: hex::encode(key_hash),
            created_ms: now,
            expires_ms: now.saturating_add(self.ttl_ms),
        };
        let value = serde_json::to_vec(&rec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store.meta_put(NS, &hash, &value)?;
        self.store.durable().await?;
        let login = ConsoleLogin {
            id: hash[..12].to_string(),
            key_hash: *key_hash,
            created_ms: rec.created_ms,
            expires_ms: rec.expires_ms,
        };
        Ok((Secret::new(cookie), login))
    }

    /// The live session of `cookie`: `None` when it is malformed, unknown,
    /// ended or expired (an expired record is deleted).
    pub fn get(&self, cookie: &str) -> Result<Option<ConsoleLogin>, StoreError> {
        if !is_console_cookie(cookie) {
            return Ok(None);
        }
        let hash = hex::encode(token_hash(cookie));
        let Some(value) = self.store.meta_get(NS, &hash)? else {
            return Ok(None);
        };
        let Some(rec) = serde_json::from_slice::<Record>(&value).ok() else {
            self.store.meta_delete(NS, &hash)?;
            return Ok(None);
        };
        if (self.clock)() >= rec.expires_ms {
            self.store.meta_delete(NS, &hash)?;
            return Ok(None);
        }
        let Some(key_hash) = super::keyfile::decode_hash(&rec.key_hash) else {
            return Ok(None);
        };
        Ok(Some(ConsoleLogin {
            id: hash[..12].to_string(),
            key_hash,
            created_ms: rec.created_ms,
            expires_ms: rec.expires_ms,
        }))
    }

    /// Ends the session of `cookie` (logout); on disk before it returns.
    /// False when there was none.
    pub async fn end(&self, cookie: &str) -> Result<bool, StoreError> {
        if !is_console_cookie(cookie) {
            return Ok(false);
        }
        let hash = hex::encode(token_hash(cookie));
        let had = self.store.meta_get(NS, &hash)?.is_some();
        self.store.meta_delete(NS, &hash)?;
        self.store.durable().await?;
        Ok(had)
    }

    /// The CSRF token of the session of `cookie`: the same on every page
    /// of that session, another in any other session.
    pub fn csrf_token(cookie: &str) -> String {
        let mut input = b"peerd console csrf\0".to_vec();
        input.extend_from_slice(cookie.as_bytes());
        URL_SAFE_NO_PAD.encode(token_hash_bytes(&input))
    }

    /// True when `presented` is the CSRF token of `cookie`'s session
    /// (compared in constant time).
    pub fn csrf_ok(cookie: &str, presented: &str) -> bool {
        ct_eq(
            &token_hash(presented),
            &token_hash(&Self::csrf_token(cookie)),
        )
    }

    /// Deletes expired records; how many.
    pub fn prune(&self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        self.last_prune_ms.store(now, Ordering::Relaxed);
        let mut n = 0;
        for (hash, value) in self.store.meta_list(NS)? {
            let dead =
                serde_json::from_slice::<Record>(&value).map_or(true, |r| now >= r.expires_ms);
            if dead {
                self.store.meta_delete(NS, &hash)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn maybe_prune(&self, now: UnixMillis) {
        if now.saturating_sub(self.last_prune_ms.load(Ordering::Relaxed)) < PRUNE_EVERY_MS {
            return;
        }
        if let Err(e) = self.prune() {
            tracing::warn!(error = %e, "sweeping expired console sessions failed");
        }
    }
}

fn token_hash_bytes(b: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    fn sessions(ttl: u64) -> (tempfile::TempDir, ConsoleSessions, Arc<AtomicU64>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = now.clone();
        let s = ConsoleSessions::new(store, ttl)
            .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        (dir, s, now)
    }

    #[tokio::test]
    async fn a_login_lives_until_logout_or_expiry() {
        let (_d, s, now) = sessions(60);
        let key = token_hash("peerd_op_x");
        let (cookie, login) = s.start(&key).await.unwrap();
        let c = cookie.expose();
        assert!(is_console_cookie(c), "{c}");
        assert_eq!(login.key_hash, key);
        assert_eq!(s.get(c).unwrap(), Some(login.clone()));
        // the store has the hash, never the cookie or the key
        let rows = s.store.meta_list(NS).unwrap();
        assert_eq!(rows.len(), 1);
        let text = format!("{rows:?}");
        assert!(!text.contains(c) && !text.contains("peerd_op_x"));
        // expiry
        now.fetch_add(60_000, Ordering::SeqCst);
        assert_eq!(s.get(c).unwrap(), None);
        assert!(s.store.meta_list(NS).unwrap().is_empty(), "swept");
        // logout
        let (cookie, _) = s.start(&key).await.unwrap();
        assert!(s.end(cookie.expose()).await.unwrap());
        assert_eq!(s.get(cookie.expose()).unwrap(), None);
        assert!(!s.end(cookie.expose()).await.unwrap());
        // nonsense is simply no session
        assert_eq!(s.get("pc_short").unwrap(), None);
        assert_eq!(s.get(&format!("pc_{}", "a".repeat(43))).unwrap(), None);
    }

    #[tokio::test]
    async fn csrf_tokens_belong_to_one_session() {
        let (_d, s, _) = sessions(60);
        let (a, _) = s.start(&[1; 32]).await.unwrap();
        let (b, _) = s.start(&[1; 32]).await.unwrap();
        let ta = ConsoleSessions::csrf_token(a.expose());
        assert_eq!(ta, ConsoleSessions::csrf_token(a.expose()));
        assert!(ConsoleSessions::csrf_ok(a.expose(), &ta));
        assert!(!ConsoleSessions::csrf_ok(b.expose(), &ta));
        assert!(!ConsoleSessions::csrf_ok(a.expose(), ""));
        assert!(!ConsoleSessions::csrf_ok(a.expose(), &ta[1..]));
    }

    #[tokio::test]
    async fn prune_sweeps_expired_records() {
        let (_d, s, now) = sessions(10);
        s.start(&[2; 32]).await.unwrap();
        now.fetch_add(5_000, Ordering::SeqCst);
        s.start(&[2; 32]).await.unwrap();
        now.fetch_add(6_000, Ordering::SeqCst);
        assert_eq!(s.prune().unwrap(), 1);
        assert_eq!(s.store.meta_list(NS).unwrap().len(), 1);
    }
}

//! Authentication: `Authorization: Bearer <token>` checked by [`Verifier`]s.
//!
//! Each verifier either recognises a token (`Ok(Some(caller))`), declines it
//! as not its kind (`Ok(None)`, the next one is asked), refuses it
//! ([`AuthError::Invalid`], 401) or cannot decide ([`AuthError::Unavailable`],
//! 503 — never "allow"). [`Verifiers`] chains them: operator keys first (local,
//! and an operator key is never sent to PeeringDB), then peerd tokens (local),
//! then PeeringDB tokens.
//! Tokens are never logged; caches key on their SHA-256.
//!
//! Each check is told the client's address (the TCP peer; no
//! forwarded-for header is trusted): a token that only PeeringDB can judge
//! costs a call there within that address's budget ([`gate`]; 429 past it).
//! Tokens shaped like an operator key (`peerd_op_...`) or a peerd token
//! (`pd_...`) are judged locally and never reach PeeringDB.
//!
//! Peer login and peerd-issued tokens:
//!
//! A peer logs in with PeeringDB (OAuth 2 authorization code + PKCE S256 +
//! state, [`login`]); peerd reads the user's `/profile/v1`, keeps the ASNs
//! that pass the perms check ([`profile::allowed_asns`]) and hands out its
//! own bearer token ([`tokens`]): 256 random bits, stored only as a SHA-256
//! hash, with an expiry, revocable.
//!
//! This module is a library with no HTTP in it; the HTTP layer above
//! mounts it (and `peerd token list|revoke` reaches it through the admin
//! routes). Its steps:
//!
//! | step | does |
//! |---|---|
//! | start a login | [`Login::start`]: the authorize URL, state and expiry, for API clients and browsers alike |
//! | finish it | [`Login::callback`]: a [`TokenResponse`] `{token, token_type: "Bearer", expires_in, asns}`; a refusal at PeeringDB goes to [`Login::deny`]. A [`LoginError`] says why a step failed ([`LoginError::Unavailable`] when PeeringDB is unreachable). |
//! | revoke | [`Tokens::revoke`] of a presented token; operators may name one by id ([`Tokens::revoke_by_id`]) |
//!
//! Bearer verification: [`is_peerd_token`] tells peerd tokens (checked with
//! [`Tokens::verify`]; [`TokenError::Store`] answers 503, never allow;
//! `Tokens` is itself a [`Verifier`], second in `peerd serve`'s chain) from
//! PeeringDB access tokens (checked at `/profile/v1`, last).
//!
//! Operators log in to the console with an operator key and get a session
//! cookie ([`console`]: stored hashed, expiring, with its own CSRF token).
//!
//! The asking side's own PeeringDB login ([`own`]) uses the same OAuth
//! client: an operator logs in once, peerd keeps and refreshes the access
//! token it presents to remote peers configured with `auth: peeringdb`.
//!
//! Neither the token nor PeeringDB's access token, code or PKCE verifier is
//! ever logged; records and logs name a token by its id (12 hex digits of
//! its hash).

pub mod console;
pub mod gate;
pub mod keyfile;
pub mod login;
pub mod operator;
pub mod own;
pub mod pdb;
pub mod profile;
pub mod tokens;

use crate::model::Caller;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;

/// Why a token did not yield a caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token is not valid (401).
    #[error("{0}")]
    Invalid(String),
    /// The authority that could say is unreachable or failing (503).
    #[error("{0}")]
    Unavailable(String),
    /// This client asked PeeringDB about too many new tokens; try again
    /// after the duration (429 with `Retry-After`).
    #[error("too many new tokens from this address; try again later")]
    RateLimited(std::time::Duration),
}

/// Checks a bearer token presented from the client address `from`.
/// Object safe: `Arc<dyn Verifier>` is what the API holds.
pub trait Verifier: Send + Sync + 'static {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        from: IpAddr,
    ) -> BoxFuture<'a, Result<Option<Caller>, AuthError>>;
}

/// Asks each verifier in turn; the first that recognises the token wins.
pub struct Verifiers(pub Vec<Arc<dyn Verifier>>);

impl Verifier for Verifiers {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        from: IpAddr,
    ) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            if !is_token_syntax(token) {
                return Err(AuthError::Invalid("malformed bearer token".into()));
            }
            for v in &self.0 {
                if let Some(c) = v.verify(token, from).await? {
                    return Ok(Some(c));
                }
            }
            Ok(None)
        })
    }
}

/// RFC 6750 `b64token` characters, bounded length.
pub fn is_token_syntax(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 4096
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

/// SHA-256 of a token: the only form in which tokens are kept or compared.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two hashes.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

pub use login::{ClientKind, Login, LoginDone, LoginError, StartOut};
pub use tokens::{
    is_peerd_token, IssuedToken, TokenError, TokenInfo, TokenResponse, Tokens, TOKEN_PREFIX,
};

use crate::model::UnixMillis;

/// A source of "now" in milliseconds since the epoch (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> UnixMillis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::model::now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn token_syntax() {
        assert!(is_token_syntax("abc-DEF_012.~+/="));
        assert!(!is_token_syntax(""));
        assert!(!is_token_syntax("a b"));
        assert!(!is_token_syntax("a\nb"));
        assert!(!is_token_syntax(&"a".repeat(5000)));
    }

    #[test]
    fn hashes_compare() {
        let a = token_hash("x");
        assert!(ct_eq(&a, &token_hash("x")));
        assert!(!ct_eq(&a, &token_hash("y")));
    }

    #[test]
    fn login_settings_parse_with_defaults() {
        let s: Settings = serde_saphyr::from_str(
            "peeringdb:\n  client_id: abc\n  redirect_url: https://peerd.example.net/auth/callback\n",
        )
        .unwrap();
        assert_eq!(s.peeringdb.client_id, "abc");
        assert_eq!(s.peeringdb.client_secret_env, "PEERD_PDB_CLIENT_SECRET");
        assert_eq!(
            s.peeringdb.scopes,
            ["openid", "profile", "email", "networks"]
        );
        assert_eq!(s.peeringdb.token_ttl_secs, 86400);
        let s: Settings = serde_saphyr::from_str(
            "peeringdb:\n  scopes: [profile, networks]\n  token_ttl_secs: 60\n",
        )
        .unwrap();
        assert_eq!(s.peeringdb.scopes, ["profile", "networks"]);
        assert_eq!(s.peeringdb.token_ttl_secs, 60);
    }
}

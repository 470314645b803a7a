//! Authentication: `Authorization: Bearer <token>` checked by [`Verifier`]s.
//!
//! Each verifier either recognises a token (`Ok(Some(caller))`), declines it
//! as not its kind (`Ok(None)`, the next one is asked), refuses it
//! ([`AuthError::Invalid`], 401) or cannot decide ([`AuthError::Unavailable`],
//! 503 — never "allow"). [`Verifiers`] chains them: operator keys first (local,
//! and an operator key is never sent to PeeringDB), then PeeringDB tokens.
//! Tokens are never logged; caches key on their SHA-256.

pub mod operator;
pub mod pdb;

use crate::model::Caller;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
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
}

/// Checks a bearer token. Object safe: `Arc<dyn Verifier>` is what the API holds.
pub trait Verifier: Send + Sync + 'static {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<Caller>, AuthError>>;
}

/// Asks each verifier in turn; the first that recognises the token wins.
pub struct Verifiers(pub Vec<Arc<dyn Verifier>>);

impl Verifier for Verifiers {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            if !is_token_syntax(token) {
                return Err(AuthError::Invalid("malformed bearer token".into()));
            }
            for v in &self.0 {
                if let Some(c) = v.verify(token).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

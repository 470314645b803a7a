//! Peer login and peerd-issued tokens.
//!
//! A peer logs in with PeeringDB (OAuth 2 authorization code + PKCE S256 +
//! state, [`login`]); peerd reads the user's `/profile/v1`, keeps the ASNs
//! that pass the perms check ([`profile::allowed_asns`]) and hands out its
//! own bearer token ([`tokens`]): 256 random bits, stored only as a SHA-256
//! hash, with an expiry, revocable.
//!
//! This module is a library; the HTTP layer mounts it. Intended routes:
//!
//! | route | does |
//! |---|---|
//! | `GET /v0/auth`, `GET /auth/login` | [`Login::start`]: JSON `{authorize_url, state, expires_in}` for API clients; `302` to `authorize_url` when the request has `Accept: text/html` |
//! | `GET /auth/callback?code=..&state=..` | [`Login::callback`]: JSON [`TokenResponse`] `{token, token_type: "Bearer", expires_in, asns}`; with `?error=..&state=..` use [`Login::deny`]. Errors answer [`LoginError::http_status`] (503 when PeeringDB is unreachable). |
//! | `POST /auth/revoke` | with a peerd bearer token: [`Tokens::revoke`] of that token; operators may name one by id ([`Tokens::revoke_by_id`]) |
//!
//! Bearer verification: [`is_peerd_token`] tells peerd tokens (checked with
//! [`Tokens::verify`]; [`TokenError::Store`] must answer 503, never allow)
//! from PeeringDB access tokens (checked at `/profile/v1`).
//!
//! Neither the token nor PeeringDB's access token, code or PKCE verifier is
//! ever logged; records and logs name a token by its id (12 hex digits of
//! its hash).

pub mod login;
pub mod profile;
pub mod tokens;

pub use login::{ClientKind, Login, LoginDone, LoginError, StartOut};
pub use tokens::{
    is_peerd_token, IssuedToken, TokenError, TokenInfo, TokenResponse, Tokens, TOKEN_PREFIX,
};

use crate::model::UnixMillis;
use std::sync::Arc;

/// A source of "now" in milliseconds since the epoch (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> UnixMillis + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(crate::model::now_ms)
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

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

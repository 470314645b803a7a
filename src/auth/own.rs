//! Our own PeeringDB access token, for the asking side: remote peers
//! configured with `auth: peeringdb` get it as our bearer token, and check
//! it at PeeringDB's `/profile/v1` as peerd itself checks a peer's.
//!
//! An operator logs in once with the same OAuth client as the peer login
//! (authorization code + PKCE S256 + state; [`OwnToken::start`], then
//! PeeringDB sends the browser to the same `/auth/callback`, which hands a
//! state of ours to [`OwnToken::finish`]). The PeeringDB user must be
//! allowed to act for our ASN (the same perms check as for peers). The
//! access token and the refresh token are kept in the store's metadata
//! area ([`TOKEN_NS`]); [`OwnToken::access_token`] refreshes the access
//! token (`grant_type=refresh_token`) when it expires within
//! [`REFRESH_MARGIN_MS`]. Neither token is ever logged or answered.

use super::login::{check_param, oauth_client, token_error, PdbClient, Upstream};
use super::profile::{allowed_asns, fetch_profile, ProfileError};
use super::{system_clock, Clock, LoginError, StartOut};
use crate::config::PeeringDbSettings;
use crate::model::UnixMillis;
use crate::store::{Store, StoreError};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Metadata namespace of our pending logins (state -> verifier).
pub const STATE_NS: &str = "own_login_state";
/// Metadata namespace of our token (one key, [`TOKEN_KEY`]).
pub const TOKEN_NS: &str = "own_pdb_token";
pub const TOKEN_KEY: &str = "token";
/// How long a started login may take to come back.
pub const STATE_TTL_SECS: u64 = 600;
/// Most of our logins pending at once.
pub const MAX_PENDING: usize = 16;
/// An access token that expires sooner than this is refreshed first.
pub const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

#[derive(Serialize, Deserialize)]
struct Pending {
    verifier: String,
    created_ms: UnixMillis,
}

/// What is kept of our login.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: Option<String>,
    expires_ms: Option<UnixMillis>,
    principal: String,
    asns: Vec<u32>,
    obtained_ms: UnixMillis,
}

/// What operators see of our login (never a token).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnStatus {
    pub logged_in: bool,
    pub principal: Option<String>,
    pub asns: Vec<u32>,
    pub expires_ms: Option<UnixMillis>,
    pub refreshable: bool,
}

/// Our PeeringDB login. Share it behind an `Arc`.
pub struct OwnToken {
    client: PdbClient,
    http: Upstream,
    settings: PeeringDbSettings,
    our_asn: u32,
    store: Arc<dyn Store>,
    clock: Clock,
    states: Mutex<()>,
    refresh: tokio::sync::Mutex<()>,
}

impl OwnToken {
    /// Built from the peer login's settings (`peeringdb.client_id`, ...);
    /// the client secret is read from the variable `client_secret_env`
    /// names, through `env`.
    pub fn from_settings_with_env(
        settings: &PeeringDbSettings,
        our_asn: u32,
        store: Arc<dyn Store>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<OwnToken, LoginError> {
        let (client, http) = oauth_client(settings, env)?;
        Ok(OwnToken {
            client,
            http,
            settings: settings.clone(),
            our_asn,
            store,
            clock: system_clock(),
            states: Mutex::new(()),
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> OwnToken {
        self.clock = clock;
        self
    }

    /// Starts our login: the authorize URL to open in a browser.
    pub fn start(&self) -> Result<StartOut, LoginError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let now = (self.clock)();
        let pending = Pending {
            verifier: verifier.secret().clone(),
            created_ms: now,
        };
        let value = serde_json::to_vec(&pending)
            .map_err(|e| StoreError::Corrupt(format!("login state: {e}")))?;
        let _g = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let mut live = 0;
        for (key, raw) in self.store.meta_list(STATE_NS)? {
            let expired = serde_json::from_slice::<Pending>(&raw)
                .map_or(true, |p| now >= p.created_ms + STATE_TTL_SECS * 1000);
            if expired {
                self.store.meta_delete(STATE_NS, &key)?;
            } else {
                live += 1;
            }
        }
        if live >= MAX_PENDING {
            return Err(LoginError::Busy);
        }
        self.store.meta_put(STATE_NS, state.secret(), &value)?;
        Ok(StartOut {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            expires_in: STATE_TTL_SECS,
        })
    }

    /// True when `state` belongs to one of our logins (the callback then
    /// finishes it here, not as a peer login).
    pub fn owns_state(&self, state: &str) -> bool {
        check_param("state", state, super::login::MAX_STATE_LEN).is_ok()
            && matches!(self.store.meta_get(STATE_NS, state), Ok(Some(_)))
    }

    /// The user refused at PeeringDB: the state is spent.
    pub fn forget(&self, state: &str) {
        if check_param("state", state, super::login::MAX_STATE_LEN).is_ok() {
            let _g = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let _ = self.store.meta_delete(STATE_NS, state);
        }
    }

    /// Finishes our login: exchanges the code, checks that the user may act
    /// for our ASN, keeps the tokens.
    pub async fn finish(&self, code: &str, state: &str) -> Result<OwnStatus, LoginError> {
        check_param("code", code, super::login::MAX_CODE_LEN)?;
        check_param("state", state, super::login::MAX_STATE_LEN)?;
        let pending = {
            let _g = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let raw = self
                .store
                .meta_get(STATE_NS, state)?
                .ok_or(LoginError::BadState)?;
            self.store.meta_delete(STATE_NS, state)?;
            let p: Pending = serde_json::from_slice(&raw).map_err(|_| LoginError::BadState)?;
            if (self.clock)() >= p.created_ms + STATE_TTL_SECS * 1000 {
                return Err(LoginError::BadState);
            }
            p
        };
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let access = resp.access_token().secret().clone();
        let profile = fetch_profile(&self.http.0, &self.settings.auth_base, &access)
            .await
            .map_err(|e| match e {
                ProfileError::Unavailable(m) => LoginError::Unavailable(m),
                e => LoginError::Upstream(e.to_string()),
            })?;
        let asns = allowed_asns(&profile, &self.settings);
        if !asns.contains(&self.our_asn) {
            tracing::warn!(principal = %profile.principal(), asn = self.our_asn,
                "our PeeringDB login: the user may not act for our ASN");
            return Err(LoginError::NoNetworks);
        }
        let now = (self.clock)();
        let stored = Stored {
            access_token: access,
            refresh_token: resp.refresh_token().map(|r| r.secret().clone()),
            expires_ms: resp.expires_in().map(|d| now + d.as_millis() as u64),
            principal: profile.principal(),
            asns: asns.into_iter().collect(),
            obtained_ms: now,
        };
        self.save(&stored)?;
        self.store.durable().await?;
        tracing::info!(principal = %stored.principal, "our PeeringDB login stored (for remote peers with auth: peeringdb)");
        Ok(status_of(Some(&stored)))
    }

    fn load(&self) -> Result<Option<Stored>, LoginError> {
        match self.store.meta_get(TOKEN_NS, TOKEN_KEY)? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(|e| {
                LoginError::Store(StoreError::Corrupt(format!("our PeeringDB token: {e}")))
            }),
        }
    }

    fn save(&self, s: &Stored) -> Result<(), LoginError> {
        let v = serde_json::to_vec(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store.meta_put(TOKEN_NS, TOKEN_KEY, &v)?;
        Ok(())
    }

    /// What operators see of our login.
    pub fn status(&self) -> Result<OwnStatus, LoginError> {
        Ok(status_of(self.load()?.as_ref()))
    }

    /// Our access token, refreshed first when it expires within
    /// [`REFRESH_MARGIN_MS`]. `NotConfigured` when no operator logged in.
    pub async fn access_token(&self) -> Result<String, LoginError> {
        let fresh = |s: &Stored, now: UnixMillis| {
            s.expires_ms
                .is_none_or(|e| e > now.saturating_add(REFRESH_MARGIN_MS))
        };
        let Some(s) = self.load()? else {
            return Err(LoginError::NotConfigured(
                "no PeeringDB login of ours yet: an operator runs `peerd request login`".into(),
            ));
        };
        if fresh(&s, (self.clock)()) {
            return Ok(s.access_token);
        }
        let _one = self.refresh.lock().await;
        // someone else may have refreshed it meanwhile
        let s = self.load()?.ok_or(LoginError::BadState)?;
        if fresh(&s, (self.clock)()) {
            return Ok(s.access_token);
        }
        let Some(rt) = s.refresh_token.clone() else {
            return Err(LoginError::NotConfigured(
                "our PeeringDB access token expired and PeeringDB gave no refresh token: log in again (`peerd request login`)".into(),
            ));
        };
        let resp = self
            .client
            .exchange_refresh_token(&RefreshToken::new(rt))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let now = (self.clock)();
        let next = Stored {
            access_token: resp.access_token().secret().clone(),
            refresh_token: resp
                .refresh_token()
                .map(|r| r.secret().clone())
                .or(s.refresh_token),
            expires_ms: resp.expires_in().map(|d| now + d.as_millis() as u64),
            obtained_ms: now,
            ..s
        };
        self.save(&next)?;
        self.store.durable().await?;
        tracing::info!("our PeeringDB access token refreshed");
        Ok(next.access_token)
    }
}

fn status_of(s: Option<&Stored>) -> OwnStatus {
    match s {
        None => OwnStatus::default(),
        Some(s) => OwnStatus {
            logged_in: true,
            principal: Some(s.principal.clone()),
            asns: s.asns.clone(),
            expires_ms: s.expires_ms,
            refreshable: s.refresh_token.is_some(),
        },
    }
}

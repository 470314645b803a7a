//! The PeeringDB login: OAuth 2 authorization code flow with PKCE (S256) and
//! state, ending in a peerd token.
//!
//! [`Login::start`] makes a state and a PKCE verifier, keeps them in the
//! store's metadata area (namespace [`STATE_NS`], at most [`MAX_PENDING`],
//! for [`STATE_TTL_SECS`]) and returns PeeringDB's authorize URL.
//! [`Login::callback`] consumes the state (one use: a replayed callback is
//! refused even before PeeringDB refuses the spent code), exchanges the code
//! at `{auth_base}/oauth2/token/` with the verifier, reads
//! `{auth_base}/profile/v1` with the access token, keeps the ASNs that pass
//! the perms check ([`super::profile::allowed_asns`]) and issues a peerd
//! token ([`super::Tokens`]). PeeringDB's access token is used once and
//! dropped.

use super::profile::{self, allowed_asns, describe, fetch_profile, ProfileError};
use super::tokens::{IssuedToken, TokenError, Tokens};
use super::{system_clock, Clock};
use crate::config::PeeringDbSettings;
use crate::model::UnixMillis;
use crate::store::{Store, StoreError};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AsyncHttpClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Metadata namespace of pending logins (state -> verifier).
pub const STATE_NS: &str = "login_state";
/// How long a started login may take to come back.
pub const STATE_TTL_SECS: u64 = 600;
/// Most logins pending at once; more are refused until some finish or expire.
pub const MAX_PENDING: usize = 1024;
/// Longest `code` / `state` accepted on the callback.
pub const MAX_CODE_LEN: usize = 512;
pub const MAX_STATE_LEN: usize = 128;
/// Largest token endpoint answer read, in bytes.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Who started the login: decides how the API answers (JSON or redirect)
/// and is handed back by the callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// A program: gets `{authorize_url, state, expires_in}` as JSON.
    Api,
    /// A browser (`Accept: text/html`): gets a 302 to `authorize_url`.
    Browser,
}

/// The answer of a login start.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StartOut {
    /// PeeringDB's authorize URL with client id, redirect URI, scopes,
    /// state and the S256 code challenge.
    pub authorize_url: String,
    pub state: String,
    /// Seconds the state stays valid.
    pub expires_in: u64,
}

/// A finished login.
#[derive(Clone, Debug)]
pub struct LoginDone {
    pub token: IssuedToken,
    /// As given to [`Login::start`].
    pub client_kind: ClientKind,
}

/// Why a login failed (the HTTP layer gives each its status).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Login settings are missing or invalid.
    #[error("PeeringDB login is not configured: {0}")]
    NotConfigured(String),
    /// Malformed `code` or `state`.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The state is unknown, expired or already used.
    #[error("unknown, expired or already used login state")]
    BadState,
    /// PeeringDB refused the code (spent, expired, wrong verifier).
    #[error("PeeringDB refused the authorization code: {0}")]
    CodeRejected(String),
    /// The user refused at PeeringDB (the callback carried `error=`).
    #[error("login refused at PeeringDB: {0}")]
    Denied(String),
    /// No network of the user passes the perms check.
    #[error("no PeeringDB network with the required permissions")]
    NoNetworks,
    /// Too many logins pending.
    #[error("too many logins in progress, try again later")]
    Busy,
    /// PeeringDB unreachable, timed out or answering 5xx.
    #[error("PeeringDB unavailable: {0}")]
    Unavailable(String),
    /// PeeringDB answered something unexpected.
    #[error("unexpected answer from PeeringDB: {0}")]
    Upstream(String),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A pending login, kept under its state.
#[derive(Serialize, Deserialize)]
struct Pending {
    verifier: String,
    created_ms: UnixMillis,
    kind: ClientKind,
}

pub(super) type PdbClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The login flow. Share it behind an `Arc`.
pub struct Login {
    client: PdbClient,
    http: Upstream,
    scopes: Vec<String>,
    settings: PeeringDbSettings,
    store: Arc<dyn Store>,
    tokens: Tokens,
    clock: Clock,
    max_pending: usize,
    /// Serializes the read-then-delete of a state (one use) and the
    /// count-then-insert of a new one (bound).
    states: Mutex<()>,
}

impl Login {
    /// Builds the flow from the settings; the client secret is read from
    /// the environment variable named by `client_secret_env`.
    pub fn from_settings(
        settings: &PeeringDbSettings,
        store: Arc<dyn Store>,
        tokens: Tokens,
    ) -> Result<Login, LoginError> {
        Self::from_settings_with_env(settings, store, tokens, |k| std::env::var(k).ok())
    }

    /// As [`Login::from_settings`], reading variables through `env`.
    /// An empty `client_secret_env` means a public client (PKCE only).
    pub fn from_settings_with_env(
        settings: &PeeringDbSettings,
        store: Arc<dyn Store>,
        tokens: Tokens,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Login, LoginError> {
        let (client, http) = oauth_client(settings, env)?;
        Ok(Login {
            client,
            http,
            scopes: settings.scopes.clone(),
            settings: settings.clone(),
            store,
            tokens,
            clock: system_clock(),
            max_pending: MAX_PENDING,
            states: Mutex::new(()),
        })
    }

    /// Replaces the wall clock used for state expiry (tests).
    pub fn with_clock(mut self, clock: Clock) -> Login {
        self.clock = clock;
        self
    }

    /// Lowers the bound on pending logins (tests; default [`MAX_PENDING`]).
    pub fn with_max_pending(mut self, n: usize) -> Login {
        self.max_pending = n;
        self
    }

    /// The token issuer this login hands tokens out with.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Starts a login: a new state and PKCE verifier, kept for
    /// [`STATE_TTL_SECS`]; returns the authorize URL.
    pub fn start(&self, kind: ClientKind) -> Result<StartOut, LoginError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        let now = (self.clock)();
        let pending = Pending {
            verifier: verifier.secret().clone(),
            created_ms: now,
            kind,
        };
        let value = serde_json::to_vec(&pending)
            .map_err(|e| StoreError::Corrupt(format!("login state: {e}")))?;
        {
            let _g = self.states.lock().unwrap_or_else(|p| p.into_inner());
            let live = self.prune_states(now)?;
            if live >= self.max_pending {
                return Err(LoginError::Busy);
            }
            self.store.meta_put(STATE_NS, state.secret(), &value)?;
        }
        Ok(StartOut {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            expires_in: STATE_TTL_SECS,
        })
    }

    /// Finishes a login from the callback's `code` and `state`.
    pub async fn callback(&self, code: &str, state: &str) -> Result<LoginDone, LoginError> {
        check_param("code", code, MAX_CODE_LEN)?;
        check_param("state", state, MAX_STATE_LEN)?;
        let pending = self.take_state(state)?;
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let profile = fetch_profile(
            &self.http.0,
            &self.settings.auth_base,
            resp.access_token().secret(),
        )
        .await
        .map_err(|e| match e {
            ProfileError::Unavailable(m) => LoginError::Unavailable(m),
            e => LoginError::Upstream(e.to_string()),
        })?;
        let asns = allowed_asns(&profile, &self.settings);
        if asns.is_empty() {
            tracing::info!(principal = %profile.principal(), "PeeringDB login without usable networks");
            return Err(LoginError::NoNetworks);
        }
        let token = self.tokens.issue(&profile.principal(), asns).await?;
        Ok(LoginDone {
            token,
            client_kind: pending.kind,
        })
    }

    /// The callback carried `error=` (the user refused at PeeringDB):
    /// spends the state and returns the error to answer with.
    pub fn deny(&self, state: &str, error: &str) -> LoginError {
        if check_param("state", state, MAX_STATE_LEN).is_ok() {
            let _ = self.take_state(state);
        }
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        LoginError::Denied(if error.is_empty() {
            "access_denied".into()
        } else {
            error
        })
    }

    /// Removes and returns a live pending login; expired ones are removed
    /// and refused.
    fn take_state(&self, state: &str) -> Result<Pending, LoginError> {
        let _g = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let raw = self
            .store
            .meta_get(STATE_NS, state)?
            .ok_or(LoginError::BadState)?;
        self.store.meta_delete(STATE_NS, state)?;
        let pending: Pending = serde_json::from_slice(&raw).map_err(|_| LoginError::BadState)?;
        if (self.clock)() >= pending.created_ms.saturating_add(STATE_TTL_SECS * 1000) {
            return Err(LoginError::BadState);
        }
        Ok(pending)
    }

    /// Drops expired pending logins; returns how many remain.
    fn prune_states(&self, now: UnixMillis) -> Result<usize, LoginError> {
        let mut live = 0;
        for (key, raw) in self.store.meta_list(STATE_NS)? {
            let expired = serde_json::from_slice::<Pending>(&raw).map_or(true, |p| {
                now >= p.created_ms.saturating_add(STATE_TTL_SECS * 1000)
            });
            if expired {
                self.store.meta_delete(STATE_NS, &key)?;
            } else {
                live += 1;
            }
        }
        Ok(live)
    }
}

/// peerd's OAuth client at PeeringDB (authorize and token endpoints, our
/// redirect URL, the client secret read through `env`) and the HTTP
/// client it uses. Shared by the peer login and our own login
/// ([`super::own`]).
pub(super) fn oauth_client(
    settings: &PeeringDbSettings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(PdbClient, Upstream), LoginError> {
    let nc = |m: String| LoginError::NotConfigured(m);
    if settings.client_id.trim().is_empty() {
        return Err(nc("peeringdb.client_id is empty".into()));
    }
    if settings.redirect_url.trim().is_empty() {
        return Err(nc("peeringdb.redirect_url is empty".into()));
    }
    let base = settings.auth_base.trim_end_matches('/');
    let auth_url = AuthUrl::new(format!("{base}/oauth2/authorize/"))
        .map_err(|e| nc(format!("peeringdb.auth_base: {e}")))?;
    let token_url = TokenUrl::new(format!("{base}/oauth2/token/"))
        .map_err(|e| nc(format!("peeringdb.auth_base: {e}")))?;
    let redirect = RedirectUrl::new(settings.redirect_url.clone())
        .map_err(|e| nc(format!("peeringdb.redirect_url: {e}")))?;
    let mut client = BasicClient::new(ClientId::new(settings.client_id.clone()))
        .set_auth_uri(auth_url)
        .set_token_uri(token_url)
        .set_redirect_uri(redirect);
    let var = settings.client_secret_env.trim();
    if !var.is_empty() {
        let secret = env(var).filter(|s| !s.is_empty()).ok_or_else(|| {
            nc(format!(
                "environment variable {var} (client secret) is not set"
            ))
        })?;
        client = client.set_client_secret(ClientSecret::new(secret));
    }
    let http = reqwest::Client::builder()
        // never follow a redirect with credentials or codes in hand
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
        .build()
        .map_err(|e| nc(format!("HTTP client: {e}")))?;
    Ok((client, Upstream(http)))
}

pub(super) fn check_param(name: &str, v: &str, max: usize) -> Result<(), LoginError> {
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LoginError::BadRequest(format!(
            "{name} must be 1 to {max} printable ASCII characters"
        )));
    }
    Ok(())
}

pub(super) fn token_error(
    e: RequestTokenError<UpstreamError, oauth2::basic::BasicErrorResponse>,
) -> LoginError {
    match e {
        RequestTokenError::Request(UpstreamError::Unavailable(m)) => LoginError::Unavailable(m),
        RequestTokenError::Request(UpstreamError::Bad(m)) => LoginError::Upstream(m),
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => LoginError::CodeRejected(
                r.error_description()
                    .map(|d| d.chars().take(200).collect())
                    .unwrap_or_else(|| "invalid_grant".into()),
            ),
            BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
                tracing::error!("PeeringDB refused our client credentials: check peeringdb.client_id and the client secret");
                LoginError::Upstream("PeeringDB refused the client credentials".into())
            }
            other => LoginError::Upstream(format!("token endpoint: {other}")),
        },
        RequestTokenError::Parse(_, _) => {
            LoginError::Upstream("token endpoint answer does not parse".into())
        }
        RequestTokenError::Other(m) => LoginError::Upstream(m),
    }
}

/// The HTTP client the oauth2 crate uses for the token endpoint: our
/// reqwest client (no redirects, timeout) with 5xx answers and transport
/// failures reported as "unavailable" and a bounded answer size.
pub(super) struct Upstream(pub(super) reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub(super) enum UpstreamError {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Bad(String),
}

impl<'c> AsyncHttpClient<'c> for Upstream {
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, UpstreamError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request: reqwest::Request = request
                .try_into()
                .map_err(|e: reqwest::Error| UpstreamError::Bad(format!("bad request: {e}")))?;
            let resp = self
                .0
                .execute(request)
                .await
                .map_err(|e| UpstreamError::Unavailable(describe(&e)))?;
            let status = resp.status();
            if status.is_server_error() {
                return Err(UpstreamError::Unavailable(format!("HTTP {status}")));
            }
            let mut builder = oauth2::http::Response::builder().status(status.as_u16());
            for (name, value) in resp.headers() {
                builder = builder.header(name.as_str(), value.as_bytes());
            }
            let body = profile::read_bounded(resp, MAX_TOKEN_ANSWER)
                .await
                .map_err(|e| match e {
                    profile::ReadError::TooBig => UpstreamError::Bad("answer too large".into()),
                    profile::ReadError::Net(e) => UpstreamError::Unavailable(describe(&e)),
                })?;
            builder
                .body(body)
                .map_err(|e| UpstreamError::Bad(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_bounded() {
        assert!(check_param("code", "abc-DEF_12", 10).is_ok());
        assert!(check_param("code", "", 10).is_err());
        assert!(check_param("code", "a b", 10).is_err());
        assert!(check_param("code", "é", 10).is_err());
        assert!(check_param("code", &"a".repeat(11), 10).is_err());
    }

    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: &T) {}
        fn check(l: &Login) {
            send(&l.callback("c", "s"));
        }
        let _ = check;
    }
}

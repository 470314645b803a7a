//! A stand-in for PeeringDB's OAuth server (`auth.peeringdb.com`), on
//! 127.0.0.1 and a random port, for login tests.
//!
//! - `GET /oauth2/authorize/`: the user is taken as logged in and consenting
//!   (see [`StandIn::set_user`]); checks `response_type=code`, the client id,
//!   the registered redirect URI, a state and an S256 code challenge, then
//!   answers `302` to `redirect_uri?code=..&state=..`. The code is bound to
//!   the client, redirect URI, challenge, scopes and user.
//! - `POST /oauth2/token/` with `grant_type=refresh_token`: a new access
//!   token (and a new refresh token; the old one is spent).
//! - `POST /oauth2/token/`: client authentication (HTTP Basic with
//!   url-encoded parts, or `client_id`/`client_secret` in the form), then the
//!   code (one attempt only: a code never works twice), the redirect URI and
//!   the PKCE verifier (`BASE64URL(SHA256(verifier)) == challenge`);
//!   answers the django-oauth-toolkit token JSON.
//! - `GET /profile/v1`: the `/profile/v1` shape for the access token it
//!   issued, with `email` and `networks` only when those scopes were granted.
//!   Access tokens can also be registered directly ([`StandIn::add_token`],
//!   all scopes), so one stand-in serves peer login and plain PeeringDB
//!   bearer tokens to the same peerd.
//! - Failure modes: [`Fail::Token`] / [`Fail::Profile`] answer Django's
//!   `500` page; [`Fail::ProfileHang`] never answers `/profile/v1`;
//!   [`StandIn::go_down`] stops listening (connection refused).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use oauth2::url::{form_urlencoded, Url};
use peerd::config::PeeringDbSettings;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "peerd-test-client";
pub const CLIENT_SECRET: &str = "standin-client-secret";
pub const SECRET_ENV: &str = "STANDIN_PDB_SECRET";
pub const REDIRECT: &str = "https://peerd.example.net/auth/callback";

/// Which endpoint fails with a 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    None,
    Token,
    Profile,
    /// `/profile/v1` never answers (until the client gives up).
    ProfileHang,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    user: Value,
    used: bool,
}

struct Inner {
    user: Option<Value>,
    fail: Fail,
    codes: HashMap<String, Grant>,
    /// access token -> (scopes, user profile)
    access: HashMap<String, (Vec<String>, Value)>,
    /// Why the last token request was refused (for assertions).
    last_refusal: Option<String>,
    /// `/profile/v1` requests seen.
    profile_hits: usize,
    /// refresh token -> (scopes, user profile)
    refresh: HashMap<String, (Vec<String>, Value)>,
    /// `expires_in` of the access tokens issued.
    expires_in: u64,
    /// Refresh grants answered.
    refreshes: usize,
}

type Shared = Arc<Mutex<Inner>>;

pub struct StandIn {
    pub base: String,
    inner: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A profile in PeeringDB's shape: user `id` with `(asn, perms,
/// manage_peering_sessions)` networks.
pub fn profile(id: u64, networks: &[(u32, u32, u32)]) -> Value {
    let nets: Vec<Value> = networks
        .iter()
        .enumerate()
        .map(|(i, (asn, perms, mps))| {
            json!({"id": 900 + i as u64, "name": format!("Example Net {asn}"), "asn": asn,
                   "perms": perms, "manage_peering_sessions": mps})
        })
        .collect();
    json!({"id": id, "given_name": "Ada", "family_name": "Example", "name": "Ada Example",
           "verified_user": true, "email": "noc@example.net", "verified_email": true,
           "networks": nets})
}

fn random(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn oauth_error(status: StatusCode, error: &str, why: &str, inner: &mut Inner) -> Response {
    inner.last_refusal = Some(why.to_string());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error}).to_string(),
    )
        .into_response()
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html")],
        "<h1>Server Error (500)</h1>",
    )
        .into_response()
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = s.lock().unwrap();
    let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if p("client_id") != CLIENT_ID || p("redirect_uri") != REDIRECT {
        // DOT shows an error page and does not redirect to an unknown URI
        return (StatusCode::BAD_REQUEST, "invalid client or redirect_uri").into_response();
    }
    let back = |params: &[(&str, &str)]| {
        let mut u = Url::parse(REDIRECT).unwrap();
        u.query_pairs_mut().extend_pairs(params);
        (StatusCode::FOUND, [(header::LOCATION, u.to_string())]).into_response()
    };
    let state = p("state").to_string();
    if p("response_type") != "code" || state.is_empty() {
        return back(&[("error", "invalid_request"), ("state", &state)]);
    }
    if p("code_challenge_method") != "S256" || p("code_challenge").len() != 43 {
        return back(&[("error", "invalid_request"), ("state", &state)]);
    }
    let Some(user) = inner.user.clone() else {
        return back(&[("error", "access_denied"), ("state", &state)]);
    };
    let code = random(30);
    inner.codes.insert(
        code.clone(),
        Grant {
            client_id: CLIENT_ID.into(),
            redirect_uri: p("redirect_uri").into(),
            challenge: p("code_challenge").into(),
            scopes: p("scope").split(' ').map(String::from).collect(),
            user,
            used: false,
        },
    );
    back(&[("code", &code), ("state", &state)])
}

/// `(id, secret)` from HTTP Basic (RFC 6749 2.3.1: each part url-encoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn token(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = s.lock().unwrap();
    if inner.fail == Fail::Token {
        return server_error();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let f = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (id, secret) =
        basic_credentials(&headers).unwrap_or_else(|| (f("client_id"), f("client_secret")));
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client",
            &mut inner,
        );
    }
    if f("grant_type") == "refresh_token" {
        let Some((scopes, user)) = inner.refresh.remove(&f("refresh_token")) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "unknown refresh token",
                &mut inner,
            );
        };
        let access = random(30);
        let refresh = random(30);
        let scope = scopes.join(" ");
        inner
            .access
            .insert(access.clone(), (scopes.clone(), user.clone()));
        inner.refresh.insert(refresh.clone(), (scopes, user));
        inner.refreshes += 1;
        let expires_in = inner.expires_in;
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"access_token": access, "expires_in": expires_in, "token_type": "Bearer",
                   "scope": scope, "refresh_token": refresh})
            .to_string(),
        )
            .into_response();
    }
    if f("grant_type") != "authorization_code" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type",
            &mut inner,
        );
    }
    let code = f("code");
    let check = match inner.codes.get_mut(&code) {
        None => Err("unknown code"),
        Some(g) if g.used => Err("code already used"),
        Some(g) => {
            // one attempt per code, successful or not
            g.used = true;
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(f("code_verifier").as_bytes()));
            if g.client_id != id {
                Err("code of another client")
            } else if g.redirect_uri != f("redirect_uri") {
                Err("redirect_uri mismatch")
            } else if f("code_verifier").is_empty() || challenge != g.challenge {
                Err("PKCE verifier mismatch")
            } else {
                Ok((g.scopes.clone(), g.user.clone()))
            }
        }
    };
    match check {
        Err(why) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why, &mut inner),
        Ok((scopes, user)) => {
            let access = random(30);
            let refresh = random(30);
            let scope = scopes.join(" ");
            inner
                .access
                .insert(access.clone(), (scopes.clone(), user.clone()));
            inner.refresh.insert(refresh.clone(), (scopes, user));
            inner.last_refusal = None;
            let expires_in = inner.expires_in;
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                json!({"access_token": access, "expires_in": expires_in, "token_type": "Bearer",
                       "scope": scope, "refresh_token": refresh})
                .to_string(),
            )
                .into_response()
        }
    }
}

async fn profile_v1(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let hang = {
        let mut inner = s.lock().unwrap();
        inner.profile_hits += 1;
        inner.fail == Fail::ProfileHang
    };
    if hang {
        std::future::pending::<()>().await;
    }
    let inner = s.lock().unwrap();
    if inner.fail == Fail::Profile {
        return server_error();
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some((scopes, user)) = bearer.and_then(|t| inner.access.get(t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"detail": "Authentication credentials were not provided."}).to_string(),
        )
            .into_response();
    };
    let mut out = user.clone();
    let obj = out.as_object_mut().unwrap();
    if !scopes.iter().any(|s| s == "email") {
        obj.remove("email");
        obj.remove("verified_email");
    }
    if !scopes.iter().any(|s| s == "networks") {
        obj.remove("networks");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        out.to_string(),
    )
        .into_response()
}

impl StandIn {
    /// Starts the stand-in with no user logged in.
    pub async fn start() -> StandIn {
        let inner = Arc::new(Mutex::new(Inner {
            user: None,
            fail: Fail::None,
            codes: HashMap::new(),
            access: HashMap::new(),
            last_refusal: None,
            profile_hits: 0,
            refresh: HashMap::new(),
            expires_in: 36000,
            refreshes: 0,
        }));
        let app = Router::new()
            .route("/oauth2/authorize/", get(authorize))
            .route("/oauth2/token/", post(token))
            .route("/profile/v1", get(profile_v1))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        StandIn {
            base,
            inner,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The PeeringDB user who is logged in and consents at `/authorize`.
    pub fn set_user(&self, profile: Value) {
        self.inner.lock().unwrap().user = Some(profile);
    }

    /// An access token PeeringDB would accept for `profile` (every scope
    /// granted), as if issued to another application.
    pub fn add_token(&self, token: &str, profile: Value) {
        let scopes = ["openid", "profile", "email", "networks"].map(String::from);
        self.inner
            .lock()
            .unwrap()
            .access
            .insert(token.to_string(), (scopes.to_vec(), profile));
    }

    /// Access tokens issued from now on expire after `secs`.
    pub fn set_expires_in(&self, secs: u64) {
        self.inner.lock().unwrap().expires_in = secs;
    }

    /// How many refresh grants were answered.
    pub fn refreshes(&self) -> usize {
        self.inner.lock().unwrap().refreshes
    }

    /// How many `/profile/v1` requests arrived.
    pub fn profile_hits(&self) -> usize {
        self.inner.lock().unwrap().profile_hits
    }

    pub fn set_fail(&self, fail: Fail) {
        self.inner.lock().unwrap().fail = fail;
    }

    /// Why the last token request was refused, if it was.
    pub fn last_refusal(&self) -> Option<String> {
        self.inner.lock().unwrap().last_refusal.clone()
    }

    /// Stops listening; later requests are refused at connect.
    pub async fn go_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// peerd settings pointing at this stand-in.
    pub fn settings(&self) -> PeeringDbSettings {
        PeeringDbSettings {
            auth_base: self.base.clone(),
            client_id: CLIENT_ID.into(),
            client_secret_env: SECRET_ENV.into(),
            redirect_url: REDIRECT.into(),
            timeout_secs: 5,
            ..PeeringDbSettings::default()
        }
    }

    /// The environment peerd reads the client secret from.
    pub fn env(name: &str) -> Option<String> {
        (name == SECRET_ENV).then(|| CLIENT_SECRET.to_string())
    }

    /// Plays the browser at PeeringDB: opens `authorize_url` and returns the
    /// query of the redirect back to us (`code` and `state`, or `error`).
    pub async fn authorize(&self, authorize_url: &str) -> HashMap<String, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = http.get(authorize_url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::FOUND,
            "authorize answer"
        );
        let loc = resp.headers()[reqwest::header::LOCATION].to_str().unwrap();
        let loc = Url::parse(loc).unwrap();
        assert!(loc.as_str().starts_with(REDIRECT), "redirected to {loc}");
        loc.query_pairs().into_owned().collect()
    }
}

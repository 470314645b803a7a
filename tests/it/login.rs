//! Peer login against the PeeringDB stand-in, at library level: start ->
//! authorize -> callback -> peerd token -> verify -> revoke, and the ways it
//! must fail (wrong or replayed state, replayed code, PKCE mismatch, expired
//! token or state, PeeringDB down or failing, no usable network).

use crate::oauth_standin::{profile, Fail, StandIn, CLIENT_ID, REDIRECT};
use oauth2::url::Url;
use peerd::auth::{is_peerd_token, ClientKind, Login, LoginError, TokenError, Tokens};
use peerd::config::PeeringDbSettings;
use peerd::store::{SledStore, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// User 1234: AS65010 full rights, AS65011 read only, AS65012 read+update
/// with `manage_peering_sessions` 0.
fn user() -> serde_json::Value {
    profile(1234, &[(65010, 15, 15), (65011, 1, 0), (65012, 3, 0)])
}

struct Env {
    _dir: tempfile::TempDir,
    pdb: StandIn,
    login: Login,
    now: Arc<AtomicU64>,
}

impl Env {
    fn advance_secs(&self, s: u64) {
        self.now.fetch_add(s * 1000, Ordering::Relaxed);
    }

    fn tokens(&self) -> &Tokens {
        self.login.tokens()
    }

    /// start + authorize at the stand-in: `(code, state)`.
    async fn authorized(&self) -> (String, String) {
        let out = self.login.start(ClientKind::Api).unwrap();
        let back = self.pdb.authorize(&out.authorize_url).await;
        assert_eq!(back.get("state"), Some(&out.state));
        (back["code"].clone(), out.state)
    }
}

async fn env_with(tweak: impl FnOnce(&mut PeeringDbSettings)) -> Env {
    let pdb = StandIn::start().await;
    pdb.set_user(user());
    let mut settings = pdb.settings();
    settings.required_perms = 2;
    settings.token_ttl_secs = 3600;
    tweak(&mut settings);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let now = Arc::new(AtomicU64::new(peerd::model::now_ms()));
    let n = now.clone();
    let clock: peerd::auth::Clock = Arc::new(move || n.load(Ordering::Relaxed));
    let tokens = Tokens::new(store.clone(), settings.token_ttl_secs).with_clock(clock.clone());
    let login = Login::from_settings_with_env(&settings, store, tokens, StandIn::env)
        .unwrap()
        .with_clock(clock);
    Env {
        _dir: dir,
        pdb,
        login,
        now,
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

fn set(v: &[u32]) -> BTreeSet<u32> {
    v.iter().copied().collect()
}

#[tokio::test]
async fn full_flow_token_verify_revoke() {
    let e = env().await;
    let out = e.login.start(ClientKind::Browser).unwrap();
    assert_eq!(out.expires_in, 600);
    // the authorize URL carries everything PeeringDB needs, PKCE S256 included
    let url = Url::parse(&out.authorize_url).unwrap();
    assert_eq!(url.path(), "/oauth2/authorize/");
    assert!(out.authorize_url.starts_with(&e.pdb.base));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"], out.state);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["scope"], "openid profile email networks");
    assert!(!q.contains_key("client_secret"));

    let back = e.pdb.authorize(&out.authorize_url).await;
    let done = e
        .login
        .callback(&back["code"], &back["state"])
        .await
        .unwrap();
    assert_eq!(done.client_kind, ClientKind::Browser);
    let t = &done.token;
    // perms check: 65011 is read-only, required_perms 2 drops it
    assert_eq!(t.asns, set(&[65010, 65012]));
    assert_eq!(t.principal, "pdb:1234");
    assert_eq!(t.expires_in, 3600);
    let token = t.token.expose().to_string();
    assert!(is_peerd_token(&token));

    let wire = serde_json::to_value(t.response()).unwrap();
    assert_eq!(wire["token"], token.as_str());
    assert_eq!(wire["token_type"], "Bearer");
    assert_eq!(wire["expires_in"], 3600);
    assert_eq!(wire["asns"], serde_json::json!([65010, 65012]));

    let caller = e.tokens().verify(&token).unwrap();
    assert_eq!(caller.principal, "pdb:1234");
    assert_eq!(caller.asns, set(&[65010, 65012]));
    assert!(caller.may_act_for(65010) && !caller.may_act_for(65011));
    assert!(!caller.is_operator);

    let listed = e.tokens().list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, t.id);

    assert_eq!(e.tokens().revoke(&token).await.unwrap(), t.id);
    assert!(matches!(
        e.tokens().verify(&token),
        Err(TokenError::Revoked)
    ));
}

#[tokio::test]
async fn manage_peering_sessions_filter() {
    let e = env_with(|s| {
        s.use_manage_peering_sessions = true;
        s.required_perms = 0;
    })
    .await;
    let (code, state) = e.authorized().await;
    let done = e.login.callback(&code, &state).await.unwrap();
    assert_eq!(done.token.asns, set(&[65010]));
}

#[tokio::test]
async fn revoke_by_operator_id() {
    let e = env().await;
    let (code, state) = e.authorized().await;
    let done = e.login.callback(&code, &state).await.unwrap();
    let token = done.token.token.expose().to_string();
    e.tokens().revoke_by_id(&done.token.id).await.unwrap();
    assert!(matches!(
        e.tokens().verify(&token),
        Err(TokenError::Revoked)
    ));
}

#[tokio::test]
async fn wrong_state_refused() {
    let e = env().await;
    let (code, state) = e.authorized().await;
    let other = e.login.start(ClientKind::Api).unwrap().state;
    // a state never issued
    let err = e.login.callback(&code, "not-a-state").await.unwrap_err();
    assert!(matches!(err, LoginError::BadState), "{err:?}");
    // a state issued for another login: PKCE binds the code to its own
    // login, so PeeringDB refuses it
    let err = e.login.callback(&code, &other).await.unwrap_err();
    assert!(matches!(err, LoginError::CodeRejected(_)), "{err:?}");
    assert_eq!(
        e.pdb.last_refusal().as_deref(),
        Some("PKCE verifier mismatch")
    );
    // malformed input is refused before any lookup
    let err = e.login.callback(&code, &"s".repeat(500)).await.unwrap_err();
    assert!(matches!(err, LoginError::BadRequest(_)), "{err:?}");
    // the right state was not consumed by the wrong attempts, but the code
    // was spent at PeeringDB by the mismatched exchange
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::CodeRejected(_)), "{err:?}");
    assert_eq!(e.pdb.last_refusal().as_deref(), Some("code already used"));
}

#[tokio::test]
async fn replayed_code_and_state_refused() {
    let e = env().await;
    let (code, state) = e.authorized().await;
    e.login.callback(&code, &state).await.unwrap();
    // the same callback again: the state is spent
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::BadState), "{err:?}");
    // the code with a fresh login's state: PeeringDB refuses the spent code
    let out = e.login.start(ClientKind::Api).unwrap();
    let err = e.login.callback(&code, &out.state).await.unwrap_err();
    assert!(matches!(err, LoginError::CodeRejected(_)), "{err:?}");
    assert_eq!(e.pdb.last_refusal().as_deref(), Some("code already used"));
    assert_eq!(e.tokens().list().unwrap().len(), 1, "one token only");
}

#[tokio::test]
async fn expired_token_refused() {
    let e = env().await;
    let (code, state) = e.authorized().await;
    let done = e.login.callback(&code, &state).await.unwrap();
    let token = done.token.token.expose().to_string();
    e.advance_secs(3599);
    assert!(e.tokens().verify(&token).is_ok());
    e.advance_secs(1);
    assert!(matches!(
        e.tokens().verify(&token),
        Err(TokenError::Expired)
    ));
    assert!(e.tokens().list().unwrap()[0].expired);
}

#[tokio::test]
async fn expired_state_refused() {
    let e = env().await;
    let (code, state) = e.authorized().await;
    e.advance_secs(601);
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::BadState), "{err:?}");
}

#[tokio::test]
async fn pending_logins_are_bounded() {
    let e = env().await;
    let login = e.login.with_max_pending(3);
    for _ in 0..3 {
        login.start(ClientKind::Api).unwrap();
    }
    let err = login.start(ClientKind::Api).unwrap_err();
    assert!(matches!(err, LoginError::Busy), "{err:?}");
    // expired ones make room again
    e.now.fetch_add(601_000, Ordering::Relaxed);
    login.start(ClientKind::Api).unwrap();
}

#[tokio::test]
async fn denied_at_peeringdb() {
    let e = env().await;
    let out = e.login.start(ClientKind::Api).unwrap();
    let err = e.login.deny(&out.state, "access_denied");
    assert!(matches!(err, LoginError::Denied(ref m) if m == "access_denied"));
    let err = e.login.callback("somecode", &out.state).await.unwrap_err();
    assert!(matches!(err, LoginError::BadState), "{err:?}");
}

#[tokio::test]
async fn no_usable_network_refused() {
    let e = env_with(|s| s.required_perms = 8).await;
    e.pdb.set_user(profile(77, &[(65011, 1, 0), (65012, 3, 0)]));
    let (code, state) = e.authorized().await;
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::NoNetworks), "{err:?}");
    assert!(e.tokens().list().unwrap().is_empty());
}

#[tokio::test]
async fn peeringdb_down_is_503() {
    let mut e = env().await;
    let (code, state) = e.authorized().await;
    e.pdb.go_down().await;
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");
    assert!(e.tokens().list().unwrap().is_empty());
}

#[tokio::test]
async fn peeringdb_failing_is_503() {
    let e = env().await;
    e.pdb.set_fail(Fail::Token);
    let (code, state) = e.authorized().await;
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");

    e.pdb.set_fail(Fail::Profile);
    let (code, state) = e.authorized().await;
    let err = e.login.callback(&code, &state).await.unwrap_err();
    assert!(matches!(err, LoginError::Unavailable(_)), "{err:?}");
    assert!(e.tokens().list().unwrap().is_empty());

    e.pdb.set_fail(Fail::None);
    let (code, state) = e.authorized().await;
    e.login.callback(&code, &state).await.unwrap();
}

#[tokio::test]
async fn wrong_client_secret_is_a_config_error() {
    let pdb = StandIn::start().await;
    pdb.set_user(user());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let tokens = Tokens::new(store.clone(), 0);
    let settings = pdb.settings();
    // the secret's variable is not set
    let err = Login::from_settings_with_env(&settings, store.clone(), tokens.clone(), |_| None)
        .err()
        .unwrap();
    assert!(matches!(err, LoginError::NotConfigured(_)), "{err:?}");
    // login disabled without a client id
    let off = PeeringDbSettings {
        client_id: String::new(),
        ..settings.clone()
    };
    assert!(
        Login::from_settings_with_env(&off, store.clone(), tokens.clone(), StandIn::env).is_err()
    );
    // a wrong secret: PeeringDB answers invalid_client
    let login =
        Login::from_settings_with_env(&settings, store, tokens, |_| Some("wrong".to_string()))
            .unwrap();
    let out = login.start(ClientKind::Api).unwrap();
    let back = pdb.authorize(&out.authorize_url).await;
    let err = login
        .callback(&back["code"], &back["state"])
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Upstream(_)), "{err:?}");
}

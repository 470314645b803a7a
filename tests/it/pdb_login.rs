//! Peer login over real HTTP against a running `peerd serve` and the OAuth
//! stand-in (issue 5): `/auth/login` -> PeeringDB's authorize URL (PKCE
//! S256, state) -> authorize at the stand-in -> `/auth/callback` -> peerd
//! token -> API calls with it -> `POST /auth/revoke` -> 401. Also: wrong
//! state, replayed code, expired token, the user refusing, operators
//! listing and revoking tokens (`/admin/tokens`, `peerd token`), login
//! disabled, and PeeringDB failing or hanging (login 503, PeeringDB
//! tokens 503, peerd tokens still checked locally).

use crate::oauth_standin::{
    profile, Fail, StandIn, CLIENT_ID, CLIENT_SECRET, REDIRECT, SECRET_ENV,
};
use crate::pdb_standin::PdbStandin;
use crate::pdb_use;
use crate::support::*;
use oauth2::url::Url;
use peerd::auth::tokens::token_id;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// A peerd whose PeeringDB (OAuth and objects) are the stand-ins, with
/// login enabled and tokens living `ttl` seconds.
async fn peerd(auth: &StandIn, api: &PdbStandin, ttl: u64) -> Peerd {
    let unused = FakePdb::start().await;
    let mut o = Options::new(&unused);
    o.pdb_url = auth.base.clone();
    o.inventory_yaml = Some(pdb_use::inventory());
    o.pdb_api = Some(api.base.clone());
    o.pdb_sync_secs = 3600;
    o.pdb_yaml = format!(
        "  client_id: {CLIENT_ID}\n  client_secret_env: {SECRET_ENV}\n  redirect_url: {REDIRECT}\n  token_ttl_secs: {ttl}\n"
    );
    o.env = vec![(SECRET_ENV.into(), CLIENT_SECRET.into())];
    Peerd::start(&o).await
}

/// User 1234: AS65002 with full rights, AS65011 read only.
fn user() -> Value {
    profile(1234, &[(65002, 15, 15), (65011, 1, 0)])
}

async fn get_anon(p: &Peerd, path: &str, accept: Option<&str>) -> Resp {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = http.get(format!("{}{path}", p.url));
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    Resp::send(r).await
}

/// `/auth/login` -> authorize at the stand-in: the callback's query.
async fn authorized(p: &Peerd, auth: &StandIn) -> HashMap<String, String> {
    let r = get_anon(p, "/auth/login", None).await;
    r.expect(200);
    let back = auth
        .authorize(r.body["authorize_url"].as_str().unwrap())
        .await;
    assert_eq!(back["state"], r.body["state"].as_str().unwrap());
    back
}

async fn callback(p: &Peerd, code: &str, state: &str) -> Resp {
    let mut u = Url::parse(&format!("{}/auth/callback", p.url)).unwrap();
    u.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", state);
    Resp::send(p.http.get(u)).await
}

/// A full login: the peerd token.
async fn login(p: &Peerd, auth: &StandIn) -> String {
    let back = authorized(p, auth).await;
    let r = callback(p, &back["code"], &back["state"]).await;
    r.expect(200).body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn login_flow_token_api_revoke() {
    let auth = StandIn::start().await;
    auth.set_user(user());
    let api = PdbStandin::start().await;
    let p = peerd(&auth, &api, 3600).await;

    // an API client gets the authorize URL as JSON
    let r = get_anon(&p, "/auth/login", Some("application/json")).await;
    r.expect(200);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.body["expires_in"], 600);
    let state = r.body["state"].as_str().unwrap().to_string();
    let url = Url::parse(r.body["authorize_url"].as_str().unwrap()).unwrap();
    assert!(url
        .as_str()
        .starts_with(&format!("{}/oauth2/authorize/", auth.base)));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"], state);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["scope"].split(' ').any(|s| s == "networks"));
    assert!(!r.text.contains(CLIENT_SECRET));
    // v0's route is the same; a browser is redirected
    let r = get_anon(&p, "/v0/auth", Some("text/html,application/xhtml+xml")).await;
    r.expect(302);
    let to = r.headers["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!("{}/oauth2/authorize/", auth.base)),
        "{to}"
    );
    assert!(to.contains("code_challenge_method=S256"), "{to}");

    // the user authorizes at PeeringDB, which sends them to our callback
    let back = auth.authorize(url.as_str()).await;
    assert_eq!(back["state"], state);
    let r = callback(&p, &back["code"], &state).await;
    r.expect(200);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    // required_perms 2: the read-only network does not count
    assert_eq!(r.body["asns"], json!([65002]));
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pd_") && token.len() == 46, "{token}");

    // the token works on the API, for its ASN only
    let r = p.get("/sessions?asn=65002", &token).await;
    assert_eq!(r.expect(200).body["sessions"], json!([]));
    let r = p
        .post(
            "/sessions",
            &token,
            &json!([{"local_asn": 65002, "local_ip": "192.0.2.2", "peer_asn": 65001,
                     "peer_ip": "192.0.2.1", "location": {"id": "pdb:ix:42", "type": "public"}}]),
        )
        .await;
    r.expect(200);
    let r = p.get("/sessions?asn=65002", &token).await;
    assert_eq!(r.expect(200).body["sessions"].as_array().unwrap().len(), 1);
    p.get("/sessions?asn=65011", &token).await.expect(403);
    p.get("/admin/sessions", &token).await.expect(403);
    // a peerd token is checked locally, never at PeeringDB
    let hits = auth.profile_hits();
    p.get("/sessions", &token).await.expect(200);
    assert_eq!(auth.profile_hits(), hits);

    // operators see it by id, never the secret
    let r = p.get("/admin/tokens", &p.key).await;
    r.expect(200);
    assert!(!r.text.contains(&token[3..]));
    let listed = r.body["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["principal"], "pdb:1234");
    assert_eq!(listed[0]["asns"], json!([65002]));
    assert_eq!(listed[0]["revoked"], false);

    // the holder revokes it: 401 from then on
    let r = p.post("/auth/revoke", &token, &json!({})).await;
    r.expect(200);
    assert_eq!(r.body["revoked"], true);
    assert_eq!(r.body["id"], listed[0]["id"]);
    let r = p.get("/sessions?asn=65002", &token).await;
    assert_eq!(r.expect(401).error_names(), ["request"]);
    assert!(r.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert!(r.text.contains("revoked"), "{}", r.text);
    // revoking again is harmless; a PeeringDB token is not revoked here
    p.post("/auth/revoke", &token, &json!({})).await.expect(200);
    let r = p
        .post("/auth/revoke", "somePeeringDbAccessToken", &json!({}))
        .await;
    r.expect(400);
    p.call(reqwest::Method::POST, "/auth/revoke", None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn login_wrong_state_replayed_code_denied() {
    let auth = StandIn::start().await;
    auth.set_user(user());
    let api = PdbStandin::start().await;
    let p = peerd(&auth, &api, 3600).await;

    // a state peerd never issued is refused before the code is used ...
    let back = authorized(&p, &auth).await;
    let r = callback(&p, &back["code"], "bogus-state-0123456789").await;
    assert_eq!(r.expect(400).error_names(), ["state"]);
    assert_eq!(
        auth.last_refusal(),
        None,
        "the code never reached PeeringDB"
    );
    // ... so the right one still works, once
    callback(&p, &back["code"], &back["state"])
        .await
        .expect(200);
    // replayed: the state is spent
    let r = callback(&p, &back["code"], &back["state"]).await;
    assert_eq!(r.expect(400).error_names(), ["state"]);
    // replayed code under a fresh login's state: PeeringDB refuses it
    let fresh = get_anon(&p, "/auth/login", None).await;
    let fresh_state = fresh.body["state"].as_str().unwrap();
    let r = callback(&p, &back["code"], fresh_state).await;
    assert_eq!(r.expect(400).error_names(), ["code"]);
    assert_eq!(auth.last_refusal().as_deref(), Some("code already used"));
    // missing parameters
    let r = get_anon(&p, "/auth/callback?state=x", None).await;
    assert_eq!(r.expect(400).error_names(), ["code"]);
    // the user refused at PeeringDB
    let fresh = get_anon(&p, "/auth/login", None).await;
    let r = get_anon(
        &p,
        &format!(
            "/auth/callback?error=access_denied&state={}",
            fresh.body["state"].as_str().unwrap()
        ),
        None,
    )
    .await;
    r.expect(403);
    assert!(r.text.contains("access_denied"), "{}", r.text);
    // one token was issued in all of this
    let r = p.get("/admin/tokens", &p.key).await;
    assert_eq!(r.expect(200).body["tokens"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn login_expired_token_refused() {
    let auth = StandIn::start().await;
    auth.set_user(user());
    let api = PdbStandin::start().await;
    let p = peerd(&auth, &api, 1).await;
    let back = authorized(&p, &auth).await;
    let r = callback(&p, &back["code"], &back["state"]).await;
    assert_eq!(r.expect(200).body["expires_in"], 1);
    let token = r.body["token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = p.get("/sessions?asn=65002", &token).await;
    assert_eq!(r.expect(401).error_names(), ["request"]);
    assert!(r.text.contains("expired"), "{}", r.text);
    let l = p.get("/admin/tokens", &p.key).await;
    assert_eq!(l.expect(200).body["tokens"][0]["expired"], true);
}

/// `peerd token --url .. --key .. ARGS`.
async fn token_cli(p: &Peerd, args: &[&str]) -> CliOut {
    let mut full = vec!["token", "--url", &p.url, "--key", &p.key];
    full.extend_from_slice(args);
    cli(p.path(), &full).await
}

#[tokio::test]
async fn login_tokens_revoked_by_operator_cli() {
    let auth = StandIn::start().await;
    auth.set_user(user());
    let api = PdbStandin::start().await;
    let p = peerd(&auth, &api, 3600).await;
    let a = login(&p, &auth).await;
    let b = login(&p, &auth).await;
    assert_ne!(a, b);
    let out = token_cli(&p, &["list"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.starts_with("TOKEN"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("valid").count(), 2, "{}", out.stdout);
    assert!(out.stdout.contains("AS65002") && out.stdout.contains("pdb:1234"));
    assert!(!out.stdout.contains(&a[3..]) && !out.stdout.contains(&b[3..]));

    let out = token_cli(&p, &["list", "--json"]).await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let listed: Vec<&str> = v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let (id_a, id_b) = (token_id(&a), token_id(&b));
    assert!(listed.contains(&id_a.as_str()) && listed.contains(&id_b.as_str()));
    let out = token_cli(&p, &["revoke", &id_b]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains(&id_b), "{}", out.stdout);
    p.get("/sessions", &b).await.expect(401);
    p.get("/sessions", &a).await.expect(200);
    // unknown and malformed ids
    let out = token_cli(&p, &["revoke", "0000000000ff"]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    let out = token_cli(&p, &["revoke", "../x"]).await;
    assert!(!out.status.success());
    // the admin route over HTTP, and only for operators
    p.post(&format!("/admin/tokens/{id_a}/revoke"), &a, &json!({}))
        .await
        .expect(403);
    let r = p
        .post(&format!("/admin/tokens/{id_a}/revoke"), &p.key, &json!({}))
        .await;
    assert_eq!(r.expect(200).body["revoked"], true);
    p.get("/sessions", &a).await.expect(401);
}

#[tokio::test]
async fn login_with_peeringdb_failing_or_hanging() {
    let auth = StandIn::start().await;
    auth.set_user(user());
    auth.add_token("pdbAccessTokenOfAS65002xxxxxxx", user());
    let api = PdbStandin::start().await;
    let p = peerd(&auth, &api, 3600).await;
    let token = login(&p, &auth).await;

    // PeeringDB fails: a login cannot finish (503); a PeeringDB access
    // token cannot be checked (503, never allowed); a peerd token still
    // works (checked locally)
    auth.set_fail(Fail::Token);
    let back = authorized(&p, &auth).await;
    let r = callback(&p, &back["code"], &back["state"]).await;
    assert_eq!(r.expect(503).error_names(), ["request"]);
    auth.set_fail(Fail::ProfileHang);
    let back = authorized(&p, &auth).await;
    let r = callback(&p, &back["code"], &back["state"]).await;
    r.expect(503);
    let r = p.get("/sessions", "pdbAccessTokenOfAS65002xxxxxxx").await;
    assert_eq!(r.expect(503).error_names(), ["request"]);
    assert!(r.headers.get("www-authenticate").is_none());
    p.get("/sessions?asn=65002", &token).await.expect(200);

    // nothing was stored for the callers PeeringDB could not vouch for
    let r = p.get("/admin/tokens", &p.key).await;
    assert_eq!(r.expect(200).body["tokens"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn login_disabled_says_so() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    for path in ["/auth/login", "/v0/auth", "/auth/callback?code=a&state=b"] {
        let r = get_anon(&p, path, None).await;
        assert_eq!(r.expect(404).error_names(), ["request"]);
        assert!(r.text.contains("client_id"), "{}", r.text);
    }
    // no tokens, and revoking an unknown peerd token is a 401
    let r = p.get("/admin/tokens", &p.key).await;
    assert_eq!(r.expect(200).body["tokens"], json!([]));
    let fake = format!("pd_{}", "A".repeat(43));
    p.post("/auth/revoke", &fake, &json!({})).await.expect(401);
    let hits = pdb.hits();
    p.get("/sessions", &fake).await.expect(401);
    assert_eq!(pdb.hits(), hits, "a peerd token is never sent to PeeringDB");
}

//! `auth: peeringdb`: an operator logs peerd A in at PeeringDB once (the
//! OAuth stand-in), A keeps and refreshes its access token, and B checks
//! that token at PeeringDB's `/profile/v1` like any peer's.

use super::*;
use crate::oauth_standin::{
    profile as oauth_profile, StandIn, CLIENT_ID, CLIENT_SECRET, REDIRECT, SECRET_ENV,
};

/// Runs our own login at A as PeeringDB user `user`; the callback's answer.
async fn log_in(a: &Peerd, pdb: &StandIn, user: Value) -> Resp {
    pdb.set_user(user);
    let start = a.post("/admin/outbound/login", &a.key, &json!({})).await;
    start.expect(200);
    let url = start.body["authorize_url"].as_str().unwrap();
    let back = pdb.authorize(url).await;
    let q = format!(
        "/auth/callback?code={}&state={}",
        back.get("code").map(String::as_str).unwrap_or(""),
        back["state"]
    );
    a.call(reqwest::Method::GET, &q, None, None).await
}

#[tokio::test]
async fn our_peeringdb_login_is_our_bearer_token_and_is_refreshed() {
    let pdb = StandIn::start().await;
    // B trusts PeeringDB (the stand-in) for who A is
    let placeholder = FakePdb::start().await;
    let mut ob = Options::new(&placeholder);
    ob.pdb_url = pdb.base.clone();
    ob.inventory_yaml = Some(inventory_b("auto"));
    let b = Peerd::start(&ob).await;

    let api = PdbStandin::start_with(pdb_data()).await;
    let mut oa = options_a(&api, outbound_yaml(B_ASN, &b.url, "draft", "peeringdb", "")).await;
    oa.pdb_url = pdb.base.clone();
    oa.pdb_yaml = format!(
        "  client_id: {CLIENT_ID}\n  client_secret_env: {SECRET_ENV}\n  redirect_url: {REDIRECT}\n"
    );
    oa.env.push((SECRET_ENV.into(), CLIENT_SECRET.into()));
    let a = Peerd::start(&oa).await;
    crate::pdb_use::wait_for_data(&a).await;

    // not logged in yet: nothing to present
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(503);
    assert!(r.text.contains("peerd request login"), "{}", r.text);

    // a user who may not act for AS65001 is refused
    let wrong = log_in(&a, &pdb, oauth_profile(8, &[(65099, 15, 15)])).await;
    wrong.expect(403);
    // our operator logs in; the token expires soon, so peerd refreshes it
    pdb.set_expires_in(60);
    let ok = log_in(&a, &pdb, oauth_profile(7, &[(A_ASN, 15, 15)])).await;
    ok.expect(200);
    assert_eq!(ok.body["logged_in"], true, "{}", ok.text);
    assert_eq!(ok.body["asns"], json!([A_ASN]));
    assert!(
        !ok.text.contains("access_token"),
        "the token is never answered"
    );
    let st = a.get("/admin/outbound", &a.key).await;
    assert_eq!(st.body["peeringdb_login"]["logged_in"], true, "{}", st.text);
    assert_eq!(st.body["peeringdb_login"]["refreshable"], true);

    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(200);
    for s in r.body["sessions"].as_array().unwrap() {
        assert_eq!(s["status"], "Approved", "{s}");
    }
    assert!(
        pdb.refreshes() >= 1,
        "the access token was refreshed before use"
    );
    // B saw a PeeringDB user of AS65001
    let held = b.get("/admin/sessions", &b.key).await;
    let held = held.body["sessions"].as_array().unwrap();
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|h| h["created_by"] == "pdb:7"), "{held:?}");

    // the CLI starts a login too
    let cli = cli(
        a.path(),
        &["request", "login", "--url", &a.url, "--key", &a.key],
    )
    .await;
    assert!(cli.status.success(), "{}", cli.stderr);
    assert!(cli.stdout.contains("/oauth2/authorize/"), "{}", cli.stdout);
    // a refusal at PeeringDB spends the state
    let start = a.post("/admin/outbound/login", &a.key, &json!({})).await;
    let state = start.body["state"].as_str().unwrap().to_string();
    let denied = a
        .call(
            reqwest::Method::GET,
            &format!("/auth/callback?error=access_denied&state={state}"),
            None,
            None,
        )
        .await;
    denied.expect(403);
}

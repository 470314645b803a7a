//! Bearer-token auth: 401 with `WWW-Authenticate`, 403, PeeringDB token
//! checks with their cache, PeeringDB failures -> 503, operator keys, 429.

use crate::support::*;
use serde_json::json;

#[track_caller]
fn assert_challenge(r: &Resp) {
    r.expect(401);
    let h = r
        .headers
        .get("www-authenticate")
        .expect("WWW-Authenticate on 401")
        .to_str()
        .unwrap();
    assert!(h.starts_with("Bearer"), "{h}");
    assert_eq!(r.error_names(), ["request"]);
}

#[tokio::test]
async fn missing_or_bad_tokens_are_401_with_challenge() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let r = p.call(reqwest::Method::GET, "/sessions", None, None).await;
    assert_challenge(&r);
    let r = p
        .call(reqwest::Method::POST, "/sessions", None, Some(&json!([])))
        .await;
    assert_challenge(&r);
    // Wrong scheme.
    let r = Resp::send(
        p.http
            .get(format!("{}/sessions", p.url))
            .header("authorization", "Basic YTpi"),
    )
    .await;
    assert_challenge(&r);
    // A token PeeringDB does not know.
    assert_challenge(&p.get("/sessions", "tok-unknown").await);
    // Malformed token.
    let r = Resp::send(
        p.http
            .get(format!("{}/sessions", p.url))
            .header("authorization", "Bearer a b"),
    )
    .await;
    assert_challenge(&r);
    // Every route asks.
    for path in [
        "/locations",
        "/v0/list_locations?asn=1",
        "/v0/get_status?asn=1",
        "/admin/sessions",
        "/admin/jobs",
    ] {
        assert_challenge(&p.call(reqwest::Method::GET, path, None, None).await);
    }
}

#[tokio::test]
async fn operator_keys_are_never_sent_to_peeringdb() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let before = pdb.hits();
    assert_challenge(&p.get("/sessions", "peerd_op_not-a-real-key").await);
    assert_eq!(pdb.hits(), before);
    // The real key works and is not sent either.
    p.get("/admin/sessions", &p.key).await.expect(200);
    p.get("/sessions", &p.key).await.expect(200);
    assert_eq!(pdb.hits(), before);
}

#[tokio::test]
async fn asns_come_from_the_profile_and_its_perms() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // Peer A asking for peer B's ASN.
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_B, "192.0.2.60", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(403).error_names(), ["sessions[0].local_asn"]);
    let r = p.get(&format!("/sessions?asn={ASN_B}"), TOK_A).await;
    assert_eq!(r.expect(403).error_names(), ["asn"]);
    // A read-only member (perms 1, required 2) may act for nothing.
    let r = p
        .post(
            "/sessions",
            TOK_RO,
            &json!([sess(64602, "192.0.2.61", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(403).error_names(), ["sessions[0].local_asn"]);
    p.get("/sessions", TOK_RO).await.expect(403).error_names();
    // Several ASNs: allowed for each one that has the perms, and `asn` is
    // required when listing.
    let r = p
        .post(
            "/sessions",
            TOK_MULTI,
            &json!([
                sess(64603, "192.0.2.62", "192.0.2.1", "pdb:ix:1"),
                sess(64604, "192.0.2.63", "192.0.2.1", "pdb:ix:1"),
            ]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(
        p.get("/sessions", TOK_MULTI)
            .await
            .expect(400)
            .error_names(),
        ["asn"]
    );
    let l = p.get("/sessions?asn=64604", TOK_MULTI).await;
    assert_eq!(l.expect(200).body["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn token_checks_are_cached() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    p.get("/sessions", TOK_A).await.expect(200);
    let after_first = pdb.hits();
    for _ in 0..5 {
        p.get("/sessions", TOK_A).await.expect(200);
    }
    assert_eq!(pdb.hits(), after_first, "a verified token is cached");
    // A refused token is remembered for a while too.
    p.get("/sessions", "tok-nobody").await.expect(401);
    let after_refused = pdb.hits();
    assert_eq!(after_refused, after_first + 1);
    p.get("/sessions", "tok-nobody").await.expect(401);
    assert_eq!(pdb.hits(), after_refused);
    // While PeeringDB is down, a cached token keeps working; a new one is 503.
    pdb.down().await;
    p.get("/sessions", TOK_A).await.expect(200);
    let r = p.get("/sessions", TOK_B).await;
    assert_eq!(r.expect(503).error_names(), ["request"]);
}

#[tokio::test]
async fn peeringdb_failures_are_503_never_allow() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let body = json!([sess(ASN_A, "192.0.2.70", "192.0.2.1", "pdb:ix:1")]);

    pdb.set_mode(Mode::Error500);
    let r = p.post("/sessions", TOK_A, &body).await;
    assert_eq!(r.expect(503).error_names(), ["request"]);
    assert!(r.headers.get("www-authenticate").is_none());

    pdb.set_mode(Mode::Hang);
    let r = p.post("/sessions", TOK_A, &body).await;
    r.expect(503).error_names();

    pdb.set_mode(Mode::Normal);
    pdb.down().await;
    p.post("/sessions", TOK_A, &body)
        .await
        .expect(503)
        .error_names();
    // Nothing was stored while PeeringDB could not vouch for the caller.
    let l = p.get("/admin/sessions", &p.key).await;
    assert_eq!(l.expect(200).body["sessions"], json!([]));

    pdb.up().await;
    p.post("/sessions", TOK_A, &body).await.expect(200);
}

#[tokio::test]
async fn callers_are_rate_limited() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.requests_per_minute = 3;
    let p = Peerd::start(&o).await;
    for _ in 0..3 {
        p.get("/sessions", TOK_A).await.expect(200);
    }
    let r = p.get("/sessions", TOK_A).await;
    assert_eq!(r.expect(429).error_names(), ["request"]);
    // Another caller has its own budget.
    p.get("/sessions", TOK_B).await.expect(200);
}

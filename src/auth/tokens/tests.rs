//! Unit tests of peerd tokens: issue, verify, expire, revoke, list.

use super::*;

#[test]
fn token_format() {
    let t = new_token();
    assert_eq!(t.len(), TOKEN_LEN);
    assert!(t.starts_with(TOKEN_PREFIX));
    assert!(is_peerd_token(&t));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&t[TOKEN_PREFIX.len()..])
        .unwrap();
    assert_eq!(raw.len(), TOKEN_BYTES);
    assert_ne!(t, new_token(), "tokens are random");
}

#[test]
fn peerd_token_shape() {
    let t = new_token();
    assert!(!is_peerd_token(&t[..TOKEN_LEN - 1]));
    assert!(!is_peerd_token(&format!("{t}A")));
    assert!(!is_peerd_token(&format!("xx_{}", &t[3..])));
    let mut bad = t.clone();
    bad.replace_range(10..11, "+");
    assert!(!is_peerd_token(&bad));
    // a PeeringDB (django-oauth-toolkit) access token: 30 letters/digits
    assert!(!is_peerd_token("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1"));
    assert!(!is_peerd_token(""));
}

fn tokens(ttl: u64) -> (tempfile::TempDir, Tokens, Arc<AtomicU64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::SledStore::open(dir.path()).unwrap();
    let now = Arc::new(AtomicU64::new(1_000_000));
    let n = now.clone();
    let t =
        Tokens::new(Arc::new(store), ttl).with_clock(Arc::new(move || n.load(Ordering::Relaxed)));
    (dir, t, now)
}

fn asns(v: &[u32]) -> BTreeSet<u32> {
    v.iter().copied().collect()
}

#[tokio::test]
async fn issue_verify_revoke() {
    let (_d, t, _now) = tokens(0);
    assert_eq!(t.ttl_secs(), DEFAULT_TTL_SECS);
    let issued = t.issue("pdb:7", asns(&[64500, 64502])).await.unwrap();
    assert_eq!(issued.expires_in, DEFAULT_TTL_SECS);
    let tok = issued.token.expose().to_string();
    assert!(
        !format!("{issued:?}").contains(&tok),
        "Debug redacts the token"
    );
    let c = t.verify(&tok).unwrap();
    assert_eq!(c.principal, "pdb:7");
    assert_eq!(c.asns, asns(&[64500, 64502]));
    assert!(!c.is_operator);
    assert_eq!(t.id_of(&tok).unwrap(), Some(issued.id.clone()));
    // only the hash is stored
    let stored = t.store.meta_list(NS).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, token_hash(&tok));
    assert!(!String::from_utf8_lossy(&stored[0].1).contains(&tok[3..]));
    // listing has ids, no secrets
    let l = t.list().unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, issued.id);
    assert!(!serde_json::to_string(&l).unwrap().contains(&stored[0].0));
    assert_eq!(t.revoke(&tok).await.unwrap(), issued.id);
    assert!(matches!(t.verify(&tok), Err(TokenError::Revoked)));
    // revoking twice is fine
    t.revoke(&tok).await.unwrap();
    assert!(t.list().unwrap()[0].revoked);
}

#[tokio::test]
async fn unknown_and_malformed() {
    let (_d, t, _now) = tokens(60);
    assert!(matches!(t.verify(&new_token()), Err(TokenError::Unknown)));
    assert!(matches!(t.verify("garbage"), Err(TokenError::Unknown)));
    assert!(matches!(
        t.revoke(&new_token()).await,
        Err(TokenError::Unknown)
    ));
    assert_eq!(t.id_of("garbage").unwrap(), None);
}

#[tokio::test]
async fn expiry_and_prune() {
    let (_d, t, now) = tokens(60);
    let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
    now.fetch_add(59_999, Ordering::Relaxed);
    assert!(t.verify(a.token.expose()).is_ok());
    now.fetch_add(1, Ordering::Relaxed);
    assert!(matches!(
        t.verify(a.token.expose()),
        Err(TokenError::Expired)
    ));
    let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
    assert!(t.list().unwrap()[0].expired);
    assert_eq!(t.prune().unwrap(), 1);
    assert!(matches!(
        t.verify(a.token.expose()),
        Err(TokenError::Unknown)
    ));
    assert!(t.verify(b.token.expose()).is_ok());
}

#[tokio::test]
async fn revoke_by_id() {
    let (_d, t, _now) = tokens(60);
    let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
    let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
    assert!(matches!(
        t.revoke_by_id("abc").await,
        Err(TokenError::Invalid(_))
    ));
    assert!(matches!(
        t.revoke_by_id("zzzzzzzzzzzz").await,
        Err(TokenError::Invalid(_))
    ));
    assert_eq!(t.revoke_by_id(&a.id.to_uppercase()).await.unwrap(), a.id);
    assert!(matches!(
        t.verify(a.token.expose()),
        Err(TokenError::Revoked)
    ));
    assert!(t.verify(b.token.expose()).is_ok());
    let other = if b.id.starts_with("00000000") {
        "ffffffff"
    } else {
        "00000000"
    };
    assert!(matches!(
        t.revoke_by_id(other).await,
        Err(TokenError::Unknown)
    ));
}

#[tokio::test]
async fn as_a_verifier() {
    let (_d, t, now) = tokens(60);
    let v: &dyn Verifier = &t;
    const LO: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(
        v.verify("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1", LO).await,
        Ok(None)
    );
    // our prefix but not our shape: refused here, never passed on
    assert!(matches!(
        v.verify("pd_short", LO).await,
        Err(AuthError::Invalid(_))
    ));
    assert!(matches!(
        v.verify(&new_token(), LO).await,
        Err(AuthError::Invalid(_))
    ));
    let a = t.issue("pdb:1", asns(&[64500])).await.unwrap();
    let c = v.verify(a.token.expose(), LO).await.unwrap().unwrap();
    assert_eq!(c.asns, asns(&[64500]));
    now.fetch_add(60_000, Ordering::Relaxed);
    match v.verify(a.token.expose(), LO).await {
        Err(AuthError::Invalid(m)) => assert!(m.contains("expired"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a record the store cannot give back: 503, never allow
    let b = t.issue("pdb:2", asns(&[64501])).await.unwrap();
    t.store
        .meta_put(NS, &token_hash(b.token.expose()), b"not json")
        .unwrap();
    assert!(matches!(
        v.verify(b.token.expose(), LO).await,
        Err(AuthError::Unavailable(_))
    ));
}

#[tokio::test]
async fn bounded_asns() {
    let (_d, t, _now) = tokens(60);
    let many: BTreeSet<u32> = (1..=MAX_ASNS as u32 + 1).collect();
    assert!(matches!(
        t.issue("pdb:1", many).await,
        Err(TokenError::Invalid(_))
    ));
}

#[test]
fn hash_and_id() {
    // SHA-256("abc"), a published test vector
    assert_eq!(
        token_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(token_id("abc"), "ba7816bf8f01");
    let t = new_token();
    assert_eq!(token_hash(&t).len(), 64);
    assert!(token_hash(&t).starts_with(&token_id(&t)));
}

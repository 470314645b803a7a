//! One peer can never see, list or delete another's sessions.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn peer_b_cannot_list_get_or_delete_peer_a_sessions() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let a = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.80", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    a.expect(200);
    let sa = a.body["sessions"][0].clone();
    let id = sa["session_id"].as_str().unwrap();
    let rid = a.body["request_id"].as_str().unwrap();
    let b = p
        .post(
            "/sessions",
            TOK_B,
            &json!([sess(ASN_B, "192.0.2.81", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    b.expect(200);
    let sb = b.body["sessions"][0].clone();

    // B's listing holds only B's session, also when filtering by A's request.
    assert_eq!(
        p.get("/sessions", TOK_B).await.expect(200).body,
        json!({"sessions": [sb]})
    );
    let r = p.get(&format!("/sessions?request_id={rid}"), TOK_B).await;
    assert_eq!(r.expect(200).body, json!({"sessions": []}));
    p.get(&format!("/sessions?asn={ASN_A}"), TOK_B)
        .await
        .expect(403);
    // GET and DELETE of A's session: 404, exactly as for a session that does not exist.
    let g = p.get(&format!("/sessions/{id}"), TOK_B).await;
    let missing = p
        .get("/sessions/00000000-0000-4000-8000-000000000000", TOK_B)
        .await;
    assert_eq!(g.expect(404).body, missing.expect(404).body);
    p.delete(&format!("/sessions/{id}"), TOK_B)
        .await
        .expect(404);
    // v0 status of A's request: 404 for B.
    p.get(
        &format!("/v0/get_status?asn={ASN_B}&request_id={rid}"),
        TOK_B,
    )
    .await
    .expect(404);
    // A's session is untouched.
    let g = p.get(&format!("/sessions/{id}"), TOK_A).await;
    assert_eq!(g.expect(200).body, sa);
    assert_eq!(
        p.get("/sessions", TOK_A).await.expect(200).body,
        json!({"sessions": [sa]})
    );
    // Admin routes are for operators only.
    p.get("/admin/sessions", TOK_A)
        .await
        .expect(403)
        .error_names();
    p.post(&format!("/admin/sessions/{id}/approve"), TOK_B, &json!({}))
        .await
        .expect(403);
}

//! One owner per neighbor address (no worker, no router): another
//! network's request for a held address is 409 and names nobody, two
//! networks racing for one address get exactly one session, and the
//! operator routes retry / force-remove refuse what they do not apply to.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn another_networks_address_is_refused_and_one_racer_wins() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let a = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.70", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    a.expect(200);
    let held = a.body["sessions"][0].clone();
    let id = held["session_id"].as_str().unwrap();

    // B asks for A's address: 409, and the answer names nobody
    let b = p
        .post(
            "/sessions",
            TOK_B,
            &json!([sess(ASN_B, "192.0.2.70", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(b.expect(409).error_names(), ["sessions[0]"]);
    assert!(
        b.text.contains("192.0.2.70") && b.text.contains("in use"),
        "{}",
        b.text
    );
    for secret in [id, &ASN_A.to_string(), "pdb:1", "Test-IX"] {
        assert!(!b.text.contains(secret), "{secret} leaked: {}", b.text);
    }
    // the same through an operator entering it for B, and through v0
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([sess(ASN_B, "192.0.2.70", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(409);
    let v0 = p
        .post(
            "/v0/add_sessions",
            TOK_B,
            &json!([{"local_asn": ASN_B, "local_ip": "192.0.2.70", "peer_asn": OUR_ASN,
                     "peer_ip": "192.0.2.1", "peer_type": "public",
                     "location": {"id": "pdb:ix:1", "type": "public"}}]),
        )
        .await;
    v0.expect(409);
    assert!(!v0.text.contains(id), "{}", v0.text);
    // A's session is untouched and A's identical repeat still answers it
    let g = p.get(&format!("/sessions/{id}"), TOK_A).await;
    assert_eq!(g.expect(200).body, held);
    let again = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.70", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(again.expect(200).body["sessions"][0], held);
    // B's list is empty
    assert_eq!(
        p.get("/sessions", TOK_B).await.expect(200).body,
        json!({"sessions": []})
    );

    // two networks racing for one address: exactly one wins
    for n in 0..5 {
        let ip = format!("192.0.2.{}", 71 + n);
        let body_a = json!([sess(ASN_A, &ip, "192.0.2.1", "pdb:ix:1")]);
        let body_b = json!([sess(ASN_B, &ip, "192.0.2.1", "pdb:ix:1")]);
        let (ra, rb) = tokio::join!(
            p.post("/sessions", TOK_A, &body_a),
            p.post("/sessions", TOK_B, &body_b)
        );
        let codes = [ra.status.as_u16(), rb.status.as_u16()];
        assert!(
            codes == [200, 409] || codes == [409, 200],
            "{ip}: {codes:?} {} {}",
            ra.text,
            rb.text
        );
        let l = p.get("/admin/sessions?max_results=100", &p.key).await;
        let holders = l.expect(200).body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["local_ip"] == ip.as_str())
            .count();
        assert_eq!(holders, 1, "{ip}");
    }
}

#[tokio::test]
async fn retry_and_force_remove_refuse_what_they_do_not_apply_to() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.90", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    let id = r.expect(200).body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let retry = format!("/admin/sessions/{id}/retry");
    let force = format!("/admin/sessions/{id}/force-remove");
    // Pending: nothing to retry, nothing to force
    let r = p.post(&retry, &p.key, &json!({})).await;
    r.expect(409).error_names();
    assert!(r.text.contains("Pending"), "{}", r.text);
    let r = p.post(&force, &p.key, &json!({})).await;
    r.expect(409);
    assert!(r.text.contains("only Deleting or Failed"), "{}", r.text);
    let out = p.admin_cli(&["force-remove", &id]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("409"), "{}", out.stderr);
    // operators only; unknown ids are 404
    p.post(&retry, TOK_A, &json!({})).await.expect(403);
    p.post(&force, TOK_A, &json!({})).await.expect(403);
    let none = "00000000-0000-4000-8000-000000000000";
    p.post(&format!("/admin/sessions/{none}/retry"), &p.key, &json!({}))
        .await
        .expect(404);
    p.post(
        &format!("/admin/sessions/{none}/force-remove"),
        &p.key,
        &json!({}),
    )
    .await
    .expect(404);
    // approved (queued, no worker here): retry makes its job ready now
    p.post(&format!("/admin/sessions/{id}/approve"), &p.key, &json!({}))
        .await
        .expect(200);
    let out = p.admin_cli(&["retry", &id]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("Approved"), "{}", out.stdout);
    let a = p.get(&format!("/admin/sessions/{id}/audit"), &p.key).await;
    let last = a.expect(200).body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "retry");
    assert_eq!(last["actor"], "operator:noc");
    // the session is still there, unchanged but for the note
    p.get(&format!("/sessions/{id}"), TOK_A).await.expect(200);
}

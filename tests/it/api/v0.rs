//! The v0 proof-of-concept routes in their exact shapes.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(|k| k.as_str()).collect()
}

#[tokio::test]
async fn list_locations_shape() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let r = p
        .get(&format!("/v0/list_locations?asn={ASN_A}"), TOK_A)
        .await;
    r.expect(200);
    assert_eq!(
        keys(&r.body),
        BTreeSet::from(["items", "requestId", "error"])
    );
    assert_eq!(
        r.body["items"],
        json!([{"id": "pdb:ix:1", "type": "PUBLIC"}, {"id": "pdb:ix:2", "type": "PUBLIC"}])
    );
    assert!(r.body["requestId"].is_string());
    assert_eq!(r.body["error"], Value::Null);
    let r = p
        .get(
            &format!("/v0/list_locations?asn={ASN_A}&location_type=PRIVATE"),
            TOK_A,
        )
        .await;
    assert_eq!(r.expect(200).body["items"], json!([]));
    p.get(&format!("/v0/list_locations?asn={ASN_B}"), TOK_A)
        .await
        .expect(403);
    p.get("/v0/list_locations", TOK_A)
        .await
        .expect(400)
        .error_names();
}

#[tokio::test]
async fn add_sessions_and_get_status() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    // Snake case in, a bare array; one in each orientation.
    let body = json!([
        {"local_asn": ASN_A, "local_ip": "192.0.2.120", "peer_asn": OUR_ASN, "peer_ip": "192.0.2.1",
         "peer_type": "public", "md5": "v0-Secret", "location": {"id": "pdb:ix:1", "type": "PUBLIC"}},
        {"local_asn": OUR_ASN.to_string(), "local_ip": "2001:db8::1", "peer_asn": ASN_A.to_string(),
         "peer_ip": "2001:db8::120", "peer_type": "peer", "location": {"id": "pdb:ix:1", "type": "PUBLIC"}},
    ]);
    let r = p.post("/v0/add_sessions", TOK_A, &body).await;
    r.expect(200);
    assert!(!r.text.contains("v0-Secret"));
    assert_eq!(
        keys(&r.body),
        BTreeSet::from(["sessions", "requestId", "error"])
    );
    assert_eq!(r.body["error"], Value::Null);
    let rid = r.body["requestId"].as_str().unwrap().to_string();
    let ss = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(ss.len(), 2);
    for s in &ss {
        assert_eq!(
            keys(s),
            BTreeSet::from([
                "localAsn", "localIp", "peerAsn", "peerIp", "peerType", "md5", "location",
                "status", "uuid"
            ])
        );
        assert_eq!(s["localAsn"], ASN_A);
        assert_eq!(s["peerAsn"], OUR_ASN);
        assert_eq!(s["status"], "Pending");
        assert_eq!(s["location"], json!({"id": "pdb:ix:1", "type": "PUBLIC"}));
    }
    assert_eq!(ss[0]["md5"], "<redacted>");
    assert_eq!(ss[0]["localIp"], "192.0.2.120");
    assert_eq!(ss[1]["md5"], "");
    assert_eq!(ss[1]["localIp"], "2001:db8::120");
    assert_eq!(ss[1]["peerIp"], "2001:db8::1");
    assert_eq!(ss[1]["peerType"], "public");

    // Waiting: 202 with the same shape.
    let st = p
        .get(
            &format!("/v0/get_status?asn={ASN_A}&request_id={rid}"),
            TOK_A,
        )
        .await;
    st.expect(202);
    assert_eq!(
        st.body,
        json!({"sessions": ss, "requestId": rid, "error": null})
    );
    // The draft routes see the same sessions.
    let uuid = ss[0]["uuid"].as_str().unwrap();
    p.get(&format!("/sessions/{uuid}"), TOK_A).await.expect(200);

    // Once nothing waits any more: 200.
    for s in &ss {
        let id = s["uuid"].as_str().unwrap();
        p.post(
            &format!("/admin/sessions/{id}/reject"),
            &p.key,
            &json!({"reason": "test"}),
        )
        .await
        .expect(200);
    }
    let st = p
        .get(
            &format!("/v0/get_status?asn={ASN_A}&request_id={rid}"),
            TOK_A,
        )
        .await;
    st.expect(200);
    assert!(st.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "Rejected"));
    // Without a request id: the ASN's sessions.
    let st = p.get(&format!("/v0/get_status?asn={ASN_A}"), TOK_A).await;
    assert_eq!(st.expect(200).body["sessions"].as_array().unwrap().len(), 2);

    // Unknown request ids are 404, another ASN is 403.
    p.get(
        &format!("/v0/get_status?asn={ASN_A}&request_id=00000000-0000-4000-8000-000000000000"),
        TOK_A,
    )
    .await
    .expect(404)
    .error_names();
    p.get(
        &format!("/v0/get_status?asn={ASN_A}&request_id=bogus"),
        TOK_A,
    )
    .await
    .expect(404);
    p.get(
        &format!("/v0/get_status?asn={ASN_B}&request_id={rid}"),
        TOK_A,
    )
    .await
    .expect(403);

    // Partial acceptance keeps the v0 shape and says what was refused.
    let r = p
        .post(
            "/v0/add_sessions",
            TOK_A,
            &json!([
                sess(ASN_A, "192.0.2.121", "192.0.2.1", "pdb:ix:1"),
                sess(ASN_A, "203.0.113.9", "192.0.2.1", "pdb:ix:1"),
            ]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("sessions[1].local_ip"),
        "{}",
        r.text
    );
    // All refused: the error body.
    let r = p
        .post(
            "/v0/add_sessions",
            TOK_A,
            &json!([sess(ASN_A, "203.0.113.9", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);
}

#[tokio::test]
async fn get_status_is_202_while_approved_sessions_wait_for_the_router() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let r = p
        .post(
            "/v0/add_sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.130", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"][0]["status"], "Approved");
    let rid = r.body["requestId"].as_str().unwrap();
    p.get(
        &format!("/v0/get_status?asn={ASN_A}&request_id={rid}"),
        TOK_A,
    )
    .await
    .expect(202);
}

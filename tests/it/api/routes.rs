//! Every draft route with its exact JSON shape, idempotent repeats,
//! partial acceptance, both orientations, body limits and the error body.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

const SESSION_KEYS: &[&str] = &[
    "session_id",
    "request_id",
    "local_asn",
    "local_ip",
    "peer_asn",
    "peer_ip",
    "local_insert_asn",
    "peer_insert_asn",
    "local_monitoring_session",
    "peer_monitoring_session",
    "peer_type",
    "location",
    "status",
];

fn assert_session_shape(s: &Value, extra: &[&str]) {
    let want: BTreeSet<String> = SESSION_KEYS
        .iter()
        .chain(extra.iter())
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys(s), want, "{s}");
    assert!(peerd_id(&s["session_id"]));
    assert!(peerd_id(&s["request_id"]));
    assert_eq!(
        keys(&s["location"]),
        ["id", "type"].iter().map(|k| k.to_string()).collect()
    );
}

fn peerd_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4)
}

#[tokio::test]
async fn locations_list_with_paging_and_filters() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let r = p.get("/locations", TOK_A).await;
    r.expect(200);
    assert_eq!(
        r.body,
        json!({"locations": [
            {"id": "pdb:ix:1", "type": "public", "name": "Test-IX-One"},
            {"id": "pdb:ix:2", "type": "public", "name": "Test-IX-Two"},
        ]})
    );
    let r = p.get("/locations?asn=64600&max_results=1", TOK_A).await;
    r.expect(200);
    assert_eq!(r.body["locations"].as_array().unwrap().len(), 1);
    let tok = r.body["next_token"].as_str().unwrap().to_string();
    let r2 = p
        .get(&format!("/locations?max_results=1&next_token={tok}"), TOK_A)
        .await;
    r2.expect(200);
    assert_eq!(r2.body["locations"][0]["id"], "pdb:ix:2");
    assert!(r2.body.get("next_token").is_none(), "{}", r2.text);

    let r = p.get("/locations?location_type=private", TOK_A).await;
    assert_eq!(r.expect(200).body, json!({"locations": []}));
    // Another network's ASN, a bad page size, a forged token, an unknown parameter.
    let r = p.get("/locations?asn=64601", TOK_A).await;
    assert_eq!(r.expect(403).error_names(), ["asn"]);
    let r = p.get("/locations?max_results=0", TOK_A).await;
    assert_eq!(r.expect(400).error_names(), ["max_results"]);
    let r = p.get("/locations?max_results=101", TOK_A).await;
    assert_eq!(r.expect(400).error_names(), ["max_results"]);
    let r = p.get("/locations?next_token=Zm9v", TOK_A).await;
    assert_eq!(r.expect(400).error_names(), ["next_token"]);
    let r = p.get("/locations?colour=blue", TOK_A).await;
    r.expect(400).error_names();
    let r = p.get("/locations?location_type=underwater", TOK_A).await;
    assert_eq!(r.expect(400).error_names(), ["location_type"]);
}

#[tokio::test]
async fn create_get_list_delete() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let body = json!({"sessions": [
        sess(ASN_A, "192.0.2.10", "192.0.2.1", "pdb:ix:1"),
        {
            "local_asn": ASN_A, "local_ip": "2001:db8::10", "peer_asn": OUR_ASN,
            "peer_ip": "2001:db8::1", "peer_type": "public",
            "local_bgp_role": 4, "peer_bgp_role": 4,
            "local_insert_asn": false, "peer_monitoring_session": true,
            "md5": "s3cret-Pass",
            "location": {"id": "pdb:ix:1", "type": "public"},
        },
    ]});
    let r = p.post("/sessions", TOK_A, &body).await;
    r.expect(200);
    assert!(!r.text.contains("s3cret-Pass"), "secret echoed: {}", r.text);
    assert_eq!(
        keys(&r.body),
        ["errors", "request_id", "sessions"]
            .iter()
            .map(|k| k.to_string())
            .collect()
    );
    assert_eq!(r.body["errors"], json!([]));
    let rid = r.body["request_id"].as_str().unwrap().to_string();
    let created = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    assert_session_shape(&created[0], &[]);
    assert_session_shape(
        &created[1],
        &["local_bgp_role", "peer_bgp_role", "session_secret"],
    );
    let s0 = &created[0];
    assert_eq!(s0["local_asn"], ASN_A);
    assert_eq!(s0["local_ip"], "192.0.2.10");
    assert_eq!(s0["peer_asn"], OUR_ASN);
    assert_eq!(s0["peer_ip"], "192.0.2.1");
    assert_eq!(s0["local_insert_asn"], true);
    assert_eq!(s0["peer_insert_asn"], true);
    assert_eq!(s0["local_monitoring_session"], false);
    assert_eq!(s0["peer_type"], "public");
    assert_eq!(s0["location"], json!({"id": "pdb:ix:1", "type": "public"}));
    assert_eq!(s0["status"], "Approved");
    assert_eq!(s0["request_id"], rid.as_str());
    let s1 = &created[1];
    assert_eq!(s1["session_secret"], "<redacted>");
    assert_eq!(s1["local_bgp_role"], 4);
    assert_eq!(s1["local_insert_asn"], false);
    assert_eq!(s1["peer_monitoring_session"], true);

    // GET one: the same view.
    for s in &created {
        let id = s["session_id"].as_str().unwrap();
        let g = p.get(&format!("/sessions/{id}"), TOK_A).await;
        assert_eq!(&g.expect(200).body, s);
    }
    // List: creation order; by request id too.
    let l = p.get("/sessions", TOK_A).await;
    assert_eq!(l.expect(200).body, json!({"sessions": created}));
    let l = p
        .get(
            &format!("/sessions?asn={ASN_A}&request_id={rid}&max_results=1"),
            TOK_A,
        )
        .await;
    l.expect(200);
    assert_eq!(l.body["sessions"], json!([created[0]]));
    let next = l.body["next_token"].as_str().unwrap();
    let l2 = p
        .get(
            &format!("/sessions?request_id={rid}&next_token={next}"),
            TOK_A,
        )
        .await;
    assert_eq!(l2.expect(200).body, json!({"sessions": [created[1]]}));

    // DELETE: 204. Approved but never pushed (no worker here): nothing is
    // on a router, so it is gone at once (a pushed one goes Deleting while
    // the worker removes its config: tests/it/api/lifecycle.rs).
    let id0 = created[0]["session_id"].as_str().unwrap();
    let d = p.delete(&format!("/sessions/{id0}"), TOK_A).await;
    d.expect(204);
    assert!(d.text.is_empty());
    p.get(&format!("/sessions/{id0}"), TOK_A).await.expect(404);
    // Repeating the DELETE: it is gone.
    p.delete(&format!("/sessions/{id0}"), TOK_A)
        .await
        .expect(404);
    // Unknown ids and ids of the wrong shape are 404 with the error body.
    let g = p
        .get("/sessions/00000000-0000-4000-8000-000000000000", TOK_A)
        .await;
    assert_eq!(g.expect(404).error_names(), ["request"]);
    p.get("/sessions/..%2Fetc", TOK_A)
        .await
        .expect(404)
        .error_names();
    p.delete("/sessions/nope", TOK_A)
        .await
        .expect(404)
        .error_names();
}

#[tokio::test]
async fn pending_session_is_removed_at_once() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.11", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200);
    let s = &r.body["sessions"][0];
    assert_eq!(s["status"], "Pending");
    let id = s["session_id"].as_str().unwrap();
    p.delete(&format!("/sessions/{id}"), TOK_A)
        .await
        .expect(204);
    p.get(&format!("/sessions/{id}"), TOK_A).await.expect(404);
    assert_eq!(
        p.get("/sessions", TOK_A).await.expect(200).body,
        json!({"sessions": []})
    );
}

#[tokio::test]
async fn identical_repeat_returns_existing_and_conflicts_are_reported() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let one = sess(ASN_A, "192.0.2.20", "192.0.2.1", "pdb:ix:1");
    let a = p.post("/sessions", TOK_A, &json!([one.clone()])).await;
    a.expect(200);
    let b = p
        .post("/sessions", TOK_A, &json!({"sessions": [one.clone()]}))
        .await;
    b.expect(200);
    assert_eq!(
        b.body["sessions"][0], a.body["sessions"][0],
        "repeat must return the existing session"
    );
    assert_eq!(b.body["errors"], json!([]));
    let l = p.get("/sessions", TOK_A).await;
    assert_eq!(l.expect(200).body["sessions"].as_array().unwrap().len(), 1);

    // Same addresses, other parameters: a conflict that cannot be resolved.
    let mut other = one.clone();
    other["md5"] = json!("different-key");
    let c = p.post("/sessions", TOK_A, &json!([other.clone()])).await;
    assert_eq!(c.expect(409).error_names(), ["sessions[0]"]);
    assert!(c
        .text
        .contains(a.body["sessions"][0]["session_id"].as_str().unwrap()));
    assert!(!c.text.contains("different-key"));
    // With a good item beside it: 200, the conflict in `errors`.
    let d = p
        .post(
            "/sessions",
            TOK_A,
            &json!([other, sess(ASN_A, "192.0.2.21", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    d.expect(200);
    assert_eq!(d.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(d.body["sessions"][0]["local_ip"], "192.0.2.21");
    assert_eq!(d.body["errors"][0]["name"], "sessions[0]");
}

#[tokio::test]
async fn partial_acceptance_and_all_rejected() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let good = sess(ASN_A, "192.0.2.30", "192.0.2.1", "pdb:ix:1");
    let outside = sess(ASN_A, "203.0.113.5", "192.0.2.1", "pdb:ix:1");
    let unknown_loc = sess(ASN_A, "192.0.2.31", "192.0.2.1", "pdb:ix:99");
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([outside.clone(), good, unknown_loc.clone()]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["sessions"][0]["local_ip"], "192.0.2.30");
    let names: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sessions[0].local_ip", "sessions[2].location.id"]);

    let r = p
        .post("/sessions", TOK_A, &json!([outside, unknown_loc]))
        .await;
    assert_eq!(
        r.expect(400).error_names(),
        ["sessions[0].local_ip", "sessions[1].location.id"]
    );
    // Nothing else was stored.
    let l = p.get("/sessions", TOK_A).await;
    assert_eq!(l.expect(200).body["sessions"].as_array().unwrap().len(), 1);
    // Empty requests.
    p.post("/sessions", TOK_A, &json!([]))
        .await
        .expect(400)
        .error_names();
    p.post("/sessions", TOK_A, &json!({"sessions": []}))
        .await
        .expect(400)
        .error_names();
}

#[tokio::test]
async fn both_orientations_are_normalised() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // Written the other way round: local_* is us, peer_* the requester.
    let flipped = json!({
        "local_asn": OUR_ASN, "local_ip": "2001:db8::40",
        "peer_asn": ASN_A, "peer_ip": "2001:db8::41",
        "peer_type": "public", "location": {"id": "pdb:ix:1", "type": "public"},
    });
    let r = p.post("/sessions", TOK_A, &json!([flipped])).await;
    // 2001:db8::40 is not ours: refused naming the field as written.
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_ip"]);

    let flipped = json!({
        "local_asn": OUR_ASN, "local_ip": "2001:db8::1",
        "peer_asn": ASN_A, "peer_ip": "2001:db8::41",
        "location": {"id": "pdb:ix:1", "type": "public"},
    });
    let r = p.post("/sessions", TOK_A, &json!([flipped])).await;
    r.expect(200);
    let s = r.body["sessions"][0].clone();
    assert_eq!(s["local_asn"], ASN_A);
    assert_eq!(s["local_ip"], "2001:db8::41");
    assert_eq!(s["peer_asn"], OUR_ASN);
    assert_eq!(s["peer_ip"], "2001:db8::1");
    // The same session in draft orientation is an identical repeat.
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "2001:db8::41", "2001:db8::1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(200).body["sessions"][0], s);
    // Neither side ours: 400.
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([{
                "local_asn": ASN_A, "local_ip": "192.0.2.42", "peer_asn": 64999,
                "peer_ip": "192.0.2.1", "location": {"id": "pdb:ix:1", "type": "public"},
            }]),
        )
        .await;
    r.expect(400).error_names();
}

#[tokio::test]
async fn bodies_unknown_fields_and_limits() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.max_body_bytes = 8 * 1024;
    let p = Peerd::start(&o).await;
    let good = sess(ASN_A, "192.0.2.50", "192.0.2.1", "pdb:ix:1");

    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!({"sessions": [good.clone()], "colour": "blue"}),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["request.colour"]);
    let mut extra = good.clone();
    extra["colour"] = json!("blue");
    let r = p.post("/sessions", TOK_A, &json!([extra])).await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].colour"]);
    let mut extra = good.clone();
    extra["location"]["colour"] = json!("blue");
    let r = p.post("/sessions", TOK_A, &json!([extra])).await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].location.colour"]);

    let r = p
        .post_raw(
            "/sessions",
            TOK_A,
            b"[{\"local_asn\":".to_vec(),
            "application/json",
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["request"]);
    let r = p
        .post_raw("/sessions", TOK_A, b"local_asn=1".to_vec(), "text/plain")
        .await;
    assert_eq!(r.expect(415).error_names(), ["request"]);
    let r = p
        .post_raw("/sessions", TOK_A, b"42".to_vec(), "application/json")
        .await;
    r.expect(400).error_names();

    // Oversized: 413 with the error body, whether or not the length is announced.
    let big = json!([{"local_asn": ASN_A, "pad": "x".repeat(20_000)}]);
    let r = p.post("/sessions", TOK_A, &big).await;
    assert_eq!(r.expect(413).error_names(), ["request"]);
    let chunk = format!("400\r\n{}\r\n", " ".repeat(1024));
    let body: String = std::iter::repeat_n(chunk.as_str(), 20).collect::<String>() + "0\r\n\r\n";
    let (status, text) = p
        .raw(&format!(
            "POST {}/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOK_A}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body}",
            p.base()
        ))
        .await;
    assert_eq!(status, 413, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["errors"][0]["name"], "request");
    // The limit did not break the next request.
    p.post("/sessions", TOK_A, &json!([good])).await.expect(200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_error_body() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    p.get("/nope", TOK_A).await.expect(404).error_names();
    p.call(reqwest::Method::PUT, "/sessions", Some(TOK_A), None)
        .await
        .expect(405)
        .error_names();
}

#[tokio::test]
async fn base_path_is_configurable() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.base_path = "/peering/api";
    let p = Peerd::start(&o).await;
    assert!(p.url.ends_with("/peering/api"), "{}", p.url);
    p.get("/locations", TOK_A).await.expect(200);
    p.get("/v0/list_locations?asn=64600", TOK_A)
        .await
        .expect(200);
    let root = p.url.trim_end_matches("/peering/api").to_string();
    let r = p
        .http
        .get(format!("{root}/locations"))
        .bearer_auth(TOK_A)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

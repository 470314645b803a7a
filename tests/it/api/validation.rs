//! Validation over HTTP: the injection corpus in every free-text field,
//! addresses outside the LAN or ours, reserved and private-use ASNs where
//! policy forbids them. Nothing refused is stored.

use crate::support::*;
use serde_json::{json, Value};

/// Characters that could break out of a config line in some platform.
const CORPUS: &[&str] = &["\n", "\r", "\"", "'", "{", "}", ";", "\u{0}", "\\"];

fn base() -> Value {
    json!({
        "local_asn": ASN_A, "local_ip": "192.0.2.90", "peer_asn": OUR_ASN,
        "peer_ip": "192.0.2.1", "peer_type": "public",
        "session_secret": "good-secret",
        "location": {"id": "pdb:ix:1", "type": "public"},
    })
}

#[tokio::test]
async fn injection_corpus_is_refused_in_every_free_text_field() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // (pointer into the session, the name the error must carry)
    let fields: &[(&str, &str)] = &[
        ("/session_secret", "session_secret"),
        ("/md5", "md5"),
        ("/peer_type", "peer_type"),
        ("/location/id", "location.id"),
        ("/location/type", "location.type"),
        ("/status", "status"),
        ("/session_id", "session_id"),
        ("/request_id", "request_id"),
        ("/uuid", "uuid"),
        ("/local_ip", "local_ip"),
        ("/peer_ip", "peer_ip"),
        ("/local_asn", "local_asn"),
    ];
    let mut n = 0;
    for (ptr, name) in fields {
        for c in CORPUS {
            let mut s = base();
            let value = match *ptr {
                "/location/id" => format!("pdb:ix:1{c}"),
                "/location/type" => format!("public{c}"),
                "/local_ip" => format!("192.0.2.90{c}"),
                "/peer_ip" => format!("192.0.2.1{c}"),
                "/local_asn" => format!("{ASN_A}{c}"),
                "/md5" => format!("good-secret{c}x"),
                _ => format!("x{c}y"),
            };
            if *ptr == "/md5" {
                s.as_object_mut().unwrap().remove("session_secret");
            }
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            let obj = if parent.is_empty() {
                &mut s
            } else {
                s.pointer_mut(parent).unwrap()
            };
            obj[key] = Value::String(value);
            let r = p.post("/sessions", TOK_A, &json!([s])).await;
            r.expect(400);
            let names = r.error_names();
            assert!(
                names.iter().any(|x| x == &format!("sessions[0].{name}")),
                "{ptr} with {c:?}: {names:?}"
            );
            assert!(!r.text.contains("good-secret"), "secret echoed: {}", r.text);
            n += 1;
        }
    }
    // return_url is free text as well.
    for c in CORPUS {
        let r = p
            .post(
                "/sessions",
                TOK_A,
                &json!({"sessions": [base()], "return_url": format!("https://example.net/{c}x")}),
            )
            .await;
        assert_eq!(r.expect(400).error_names(), ["return_url"], "{c:?}");
    }
    assert!(n > 90);
    // Over-long values are refused too.
    let mut s = base();
    s["session_secret"] = json!("k".repeat(81));
    p.post("/sessions", TOK_A, &json!([s])).await.expect(400);
    // And nothing of all that was stored.
    let l = p.get("/sessions", TOK_A).await;
    assert_eq!(l.expect(200).body, json!({"sessions": []}));
    // The clean session passes.
    p.post("/sessions", TOK_A, &json!([base()]))
        .await
        .expect(200);
}

#[tokio::test]
async fn addresses_are_checked_against_the_location() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let cases: &[(&str, &str, &str, &str)] = &[
        // requester ip, our ip, location, field named
        ("198.51.100.7", "192.0.2.1", "pdb:ix:1", "local_ip"), // outside the LAN
        ("192.0.2.1", "192.0.2.1", "pdb:ix:1", "local_ip"),    // our own address
        ("198.51.100.1", "198.51.100.1", "pdb:ix:2", "local_ip"), // ours elsewhere
        ("192.0.2.91", "192.0.2.2", "pdb:ix:1", "peer_ip"),    // not one of ours
        ("192.0.2.91", "198.51.100.1", "pdb:ix:1", "peer_ip"), // ours, other location
        ("2001:db8::91", "192.0.2.1", "pdb:ix:1", "peer_ip"),  // mixed families
        ("192.0.2.256", "192.0.2.1", "pdb:ix:1", "local_ip"),  // not an address
        ("192.0.2.0/24", "192.0.2.1", "pdb:ix:1", "local_ip"), // a prefix
    ];
    for (ip, ours, loc, field) in cases {
        let r = p
            .post("/sessions", TOK_A, &json!([sess(ASN_A, ip, ours, loc)]))
            .await;
        r.expect(400);
        let names = r.error_names();
        assert!(
            names.contains(&format!("sessions[0].{field}")),
            "{ip} {ours} {loc}: {names:?}"
        );
    }
}

#[tokio::test]
async fn reserved_asns_are_always_refused() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // The operator may act for any ASN, so only validation can refuse these.
    for asn in [
        0u64, 23456, 64496, 64511, 65535, 65551, 4294967295, 4294967296,
    ] {
        let mut s = sess(ASN_A, "192.0.2.92", "192.0.2.1", "pdb:ix:1");
        s["local_asn"] = json!(asn);
        let r = p.post("/sessions", &p.key, &json!([s])).await;
        assert_eq!(
            r.expect(400).error_names(),
            ["sessions[0].local_asn"],
            "AS{asn}"
        );
    }
}

#[tokio::test]
async fn private_and_denied_asns_follow_policy() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.allow_private = false;
    let p = Peerd::start(&o).await;
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([sess(ASN_A, "192.0.2.93", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_asn"]);
    assert!(r.text.contains("private"), "{}", r.text);
    // A public ASN entered by an operator passes the same check.
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([sess(4000000000, "192.0.2.94", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200);

    // With private ASNs allowed, the deny list still refuses AS64666.
    let p2 = Peerd::start(&Options::new(&pdb)).await;
    let r = p2
        .post(
            "/sessions",
            &p2.key,
            &json!([sess(64666, "192.0.2.95", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["sessions[0].local_asn"]);
}

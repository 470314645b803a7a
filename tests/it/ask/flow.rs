//! A asks B (a real peerd) for sessions.

use super::*;

async fn world(approval: &str) -> (Peerd, Peerd, PdbStandin) {
    let b = start_b(approval).await;
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let a = start_a(&api, outbound_yaml(B_ASN, &b.url, "draft", &auth, "")).await;
    (a, b, api)
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_asks_b_and_both_sides_record_it_then_a_withdraws() {
    let (a, b, _api) = world("auto").await;

    // a dry run says what would be asked, and stores and sends nothing
    let dry = cli(
        a.path(),
        &[
            "request",
            "65010",
            "--dry-run",
            "--url",
            &a.url,
            "--key",
            &a.key,
        ],
    )
    .await;
    assert!(dry.status.success(), "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout
            .contains("dry run: would ask AS65010 (draft API) for 2 session(s)"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("192.0.2.10") && dry.stdout.contains("2001:db8::10"),
        "{}",
        dry.stdout
    );
    assert!(outbound_sessions(&a).await.is_empty());
    let rb = b.get("/admin/sessions", &b.key).await;
    assert_eq!(rb.body["sessions"], json!([]), "{}", rb.text);

    // the request: B approves at once; A queues our end
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(200);
    assert_eq!(r.body["dry_run"], false);
    let rid = r.body["request_id"].as_str().unwrap().to_string();
    let sessions = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", r.text);
    for s in &sessions {
        assert_eq!(s["direction"], "outbound");
        assert_eq!(s["request_id"], rid.as_str());
        assert_eq!(s["local_asn"], B_ASN, "the neighbor is the remote");
        assert_eq!(s["peer_asn"], A_ASN);
        assert_eq!(s["status"], "Approved", "{s}");
        assert_eq!(s["remote"]["phase"], "sent");
        assert_eq!(s["remote"]["status"], "Approved");
        assert!(s["remote"]["session_id"].is_string());
        assert!(
            s["max_prefix"].as_u64().is_some(),
            "max-prefix from B's PeeringDB counts: {s}"
        );
    }
    // B holds the same two sessions, A as the requester
    let rb = b.get("/admin/sessions", &b.key).await;
    let held = rb.body["sessions"].as_array().unwrap().clone();
    assert_eq!(held.len(), 2, "{}", rb.text);
    for h in &held {
        assert_eq!(h["local_asn"], A_ASN);
        assert_eq!(h["direction"], "inbound");
        let mine = sessions
            .iter()
            .find(|s| s["remote"]["session_id"] == h["session_id"])
            .expect("every session B holds is one of A's");
        assert_eq!(mine["local_ip"], h["peer_ip"]);
        assert_eq!(mine["peer_ip"], h["local_ip"]);
    }
    // listings tell the directions apart, and the CLI shows them
    let out = a.get("/admin/sessions?direction=inbound", &a.key).await;
    assert_eq!(out.body["sessions"], json!([]));
    let listing = a.admin_cli(&["sessions", "--direction", "outbound"]).await;
    assert!(listing.status.success(), "{}", listing.stderr);
    assert!(
        listing.stdout.contains("outbound") && listing.stdout.contains("Approved"),
        "{}",
        listing.stdout
    );
    let status = cli(
        a.path(),
        &["request", "status", "--url", &a.url, "--key", &a.key],
    )
    .await;
    assert!(status.status.success(), "{}", status.stderr);
    assert!(
        status.stdout.contains("AS65010") && status.stdout.contains("bearer_env"),
        "{}",
        status.stdout
    );

    // asking again asks nothing twice
    let again = request(&a, json!({"asn": B_ASN})).await;
    again.expect(409);
    assert!(
        again.text.contains("already uses this address"),
        "{}",
        again.text
    );
    assert_eq!(
        b.get("/admin/sessions", &b.key).await.body["sessions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A withdraws one: gone on both sides
    let (gone, kept) = (&ids(&sessions)[0], &ids(&sessions)[1]);
    let remote_gone = sessions[0]["remote"]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    a.delete(&format!("/sessions/{gone}"), &a.key)
        .await
        .expect(204);
    wait_404(&a, gone, 10).await;
    wait_404(&b, &remote_gone, 10).await;
    a.get(&format!("/sessions/{gone}"), &a.key)
        .await
        .expect(404);
    b.get(&format!("/sessions/{remote_gone}"), &b.key)
        .await
        .expect(404);
    // the other stays, on both sides
    a.get(&format!("/admin/sessions/{kept}"), &a.key)
        .await
        .expect(200);
    assert_eq!(
        b.get("/admin/sessions", &b.key).await.body["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // and the CLI deletes too
    let del = a.admin_cli(&["delete", kept]).await;
    assert!(del.status.success(), "{}", del.stderr);
    wait_404(&a, kept, 10).await;
    for _ in 0..50 {
        if b.get("/admin/sessions", &b.key).await.body["sessions"] == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.get("/admin/sessions", &b.key).await.body["sessions"],
        json!([])
    );
    // the token A presents never reached a log
    assert!(!a.log().contains(TOK_A) && !b.log().contains(TOK_A));
}

#[tokio::test]
async fn the_remote_operator_decides_and_a_follows() {
    let (a, b, _api) = world("manual").await;
    let r = request(&a, json!({"asn": B_ASN, "locations": [LOC]})).await;
    r.expect(200);
    let sessions = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    for s in &sessions {
        assert_eq!(s["status"], "Pending", "{s}");
        assert_eq!(s["remote"]["status"], "Pending");
        let d = s["status_detail"].as_str().unwrap();
        assert!(d.contains("AS65010 has it as Pending"), "{d}");
    }
    let v4 = sessions
        .iter()
        .find(|s| s["local_ip"] == "192.0.2.10")
        .unwrap();
    let v6 = sessions
        .iter()
        .find(|s| s["local_ip"] == "2001:db8::10")
        .unwrap();
    let (v4_id, v6_id) = (
        v4["session_id"].as_str().unwrap(),
        v6["session_id"].as_str().unwrap(),
    );
    // our operator cannot decide for the remote
    let no = a
        .post(
            &format!("/admin/sessions/{v4_id}/approve"),
            &a.key,
            &json!({}),
        )
        .await;
    no.expect(409);
    assert!(
        no.text.contains("waits for AS65010's answer"),
        "{}",
        no.text
    );
    // B's operator approves v4 and rejects v6
    let b_v4 = v4["remote"]["session_id"].as_str().unwrap();
    let b_v6 = v6["remote"]["session_id"].as_str().unwrap();
    b.post(
        &format!("/admin/sessions/{b_v4}/approve"),
        &b.key,
        &json!({}),
    )
    .await
    .expect(200);
    b.post(
        &format!("/admin/sessions/{b_v6}/reject"),
        &b.key,
        &json!({"reason": "no IPv6 sessions with new peers"}),
    )
    .await
    .expect(200);
    let s4 = wait_session(&a, v4_id, 15, "Approved", |s| s["status"] == "Approved").await;
    assert_eq!(s4["remote"]["status"], "Approved");
    let s6 = wait_session(&a, v6_id, 15, "Rejected", |s| s["status"] == "Rejected").await;
    let d = s6["status_detail"].as_str().unwrap();
    assert!(
        d.contains("no IPv6 sessions with new peers") && d.contains("nothing configured"),
        "{d}"
    );
    // nothing is queued for the refused one
    let jobs = a.get("/admin/jobs", &a.key).await;
    let queued: Vec<&Value> = jobs.body["jobs"].as_array().unwrap().iter().collect();
    assert!(
        queued.iter().all(|j| j["session_id"] != v6_id),
        "{}",
        jobs.text
    );
    assert!(
        queued.iter().any(|j| j["session_id"] == v4_id),
        "{}",
        jobs.text
    );
    // the audit trail says who decided
    let audit = a
        .get(&format!("/admin/sessions/{v6_id}/audit"), &a.key)
        .await;
    assert!(audit.text.contains("remote:AS65010"), "{}", audit.text);
}

#[tokio::test]
async fn requests_are_refused_cleanly() {
    let (a, _b, _api) = world("auto").await;
    // a remote that is not configured
    let r = request(&a, json!({"asn": 65099})).await;
    r.expect(400);
    assert!(r.text.contains("not a remote peer"), "{}", r.text);
    // a location that is not ours
    let r = request(&a, json!({"asn": B_ASN, "locations": ["pdb:ix:77"]})).await;
    r.expect(400);
    // unknown fields
    a.post(
        "/admin/outbound",
        &a.key,
        &json!({"asn": B_ASN, "bogus": 1}),
    )
    .await
    .expect(400);
    // peers may not ask on our behalf
    let peer = a
        .post("/admin/outbound", TOK_A, &json!({"asn": B_ASN}))
        .await;
    assert!(matches!(peer.status.as_u16(), 401 | 403), "{}", peer.text);
    assert!(outbound_sessions(&a).await.is_empty());
}

#[tokio::test]
async fn peerd_check_names_bad_remote_peers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("inventory.yaml"), inventory_a()).unwrap();
    let cfg = format!(
        "inventory: {}/inventory.yaml\ntemplates_dir: {root}/templates\ndrivers_dir: {root}/drivers\noperator_keys_file: {}/keys.yaml\n",
        d.display(),
        d.display(),
        root = repo_root().display()
    );
    let bad = format!(
        "{cfg}outbound:\n  remotes:\n    - {{asn: 65001, url: 'http://192.0.2.10', auth: peeringdb, locations: ['pdb:ix:9']}}\n"
    );
    std::fs::write(d.join("peerd.yaml"), &bad).unwrap();
    let out = cli(d, &["check", "--config", "peerd.yaml"]).await;
    assert!(!out.status.success());
    for k in [
        "outbound.remotes[0].asn",
        "outbound.remotes[0].url",
        "outbound.remotes[0].locations[0]",
    ] {
        assert!(out.stderr.contains(k), "{k}: {}", out.stderr);
    }
    let unknown = format!("{cfg}outbound:\n  remotes:\n    - {{asn: 65010, url: 'https://b.example.net', auth: peeringdb, token: x}}\n");
    std::fs::write(d.join("peerd.yaml"), &unknown).unwrap();
    let out = cli(d, &["check", "--config", "peerd.yaml"]).await;
    assert!(!out.status.success(), "{}", out.stdout);
    let good = format!(
        "{cfg}outbound:\n  remotes:\n    - {{asn: 65010, url: 'https://b.example.net/api', dialect: v0, auth: {{bearer_file: b.token}}, secret: generate}}\n"
    );
    std::fs::write(d.join("peerd.yaml"), &good).unwrap();
    let out = cli(
        d,
        &["check", "--config", "peerd.yaml", "--skip-credentials"],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("remote peers: OK (AS65010 (v0))"),
        "{}",
        out.stdout
    );
}

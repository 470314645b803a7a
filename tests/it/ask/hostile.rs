//! Remotes that refuse, fail, hang, or answer too much, garbage or values
//! that try to inject: nothing is configured (no job is ever queued), the
//! reason is recorded, and peerd keeps answering.

use super::*;
use crate::pdb_standin::dead_base;
use crate::support::remote::{Behaviour, RemoteStandin};

/// A with a stand-in remote behaving as `b` on its session routes.
async fn world(b: Behaviour, dialect: &str) -> (Peerd, RemoteStandin, PdbStandin) {
    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], dialect == "v0").await;
    remote.set_behaviour(b);
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let a = start_a(&api, outbound_yaml(B_ASN, &remote.base, dialect, &auth, "")).await;
    (a, remote, api)
}

async fn no_jobs(a: &Peerd) {
    let jobs = a.get("/admin/jobs", &a.key).await;
    assert_eq!(
        jobs.body["jobs"],
        json!([]),
        "nothing may be queued for a router: {}",
        jobs.text
    );
}

/// Asks, then waits until every session is `Rejected`; returns them.
async fn ask_until_rejected(a: &Peerd, secs: u64) -> (Resp, Vec<Value>) {
    let r = request(a, json!({"asn": B_ASN})).await;
    r.expect(200);
    let mut out = Vec::new();
    for s in r.body["sessions"].as_array().unwrap() {
        assert_ne!(s["status"], "Approved", "{s}");
        let id = s["session_id"].as_str().unwrap();
        out.push(wait_session(a, id, secs, "Rejected", |s| s["status"] == "Rejected").await);
    }
    (r, out)
}

#[tokio::test]
async fn a_refusal_is_recorded_with_its_reason() {
    for dialect in ["draft", "v0"] {
        let (a, remote, _api) = world(Behaviour::RefuseAll, dialect).await;
        let r = request(&a, json!({"asn": B_ASN})).await;
        r.expect(200);
        let want = if dialect == "v0" {
            "asn not available at that location"
        } else {
            "is not accepted by our peering policy"
        };
        for s in r.body["sessions"].as_array().unwrap() {
            assert_eq!(s["status"], "Rejected", "{s}");
            let d = s["status_detail"].as_str().unwrap();
            assert!(d.contains(want) && d.contains("nothing configured"), "{d}");
            assert_eq!(s["remote"]["phase"], "gone");
        }
        assert!(
            r.body["remote_answer"]
                .as_str()
                .unwrap()
                .contains("refused"),
            "{}",
            r.text
        );
        no_jobs(&a).await;
        // settled: the follower closes it, and asking again is possible
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let st = a.get("/admin/outbound", &a.key).await;
            if st.body["open_requests"] == json!([]) {
                break;
            }
            assert!(Instant::now() < deadline, "still open: {}", st.text);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(remote.post_hits(), 1, "a refusal is not asked again");
        let again = request(&a, json!({"asn": B_ASN, "dry_run": true})).await;
        again.expect(200);
        assert_eq!(
            again.body["sessions"].as_array().unwrap().len(),
            2,
            "a refused session holds no address"
        );
    }
}

#[tokio::test]
async fn a_remote_quoting_our_secret_back_does_not_reveal_it() {
    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], false).await;
    remote.set_behaviour(Behaviour::RefuseAll);
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let extra = "      secret: generate\n";
    let a = start_a(
        &api,
        outbound_yaml(B_ASN, &remote.base, "draft", &auth, extra),
    )
    .await;
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(200);
    let s = &r.body["sessions"][0];
    assert_eq!(s["status"], "Rejected", "{s}");
    let d = s["status_detail"].as_str().unwrap();
    assert!(d.contains("session_secret <redacted>"), "{d}");
    let audit = a
        .get(
            &format!(
                "/admin/sessions/{}/audit",
                s["session_id"].as_str().unwrap()
            ),
            &a.key,
        )
        .await;
    // the secrets A generated and sent, quoted back by the remote, are
    // nowhere: not in the answer, the audit trail or the log
    let secrets = remote.secrets_seen();
    assert_eq!(secrets.len(), 2);
    for secret in &secrets {
        assert_eq!(secret.len(), 24);
        for (what, text) in [
            ("answer", r.text.clone()),
            ("audit", audit.text.clone()),
            ("log", a.log()),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "the secret leaked into the {what}"
            );
        }
    }
}

#[tokio::test]
async fn failing_and_hostile_answers_configure_nothing() {
    let cases: Vec<(Behaviour, &str, &str)> = vec![
        (Behaviour::Error500, "draft", "HTTP 500"),
        (Behaviour::Hang, "draft", "no answer within 3s"),
        (Behaviour::Oversized, "draft", "larger than"),
        (Behaviour::Garbage, "draft", "its answer was refused"),
        (Behaviour::UnknownField, "draft", "unknown field"),
        (Behaviour::UnknownField, "v0", "unknown field"),
        (Behaviour::InjectStatus, "draft", "status: may hold only"),
        (Behaviour::InjectStatus, "v0", "status: may hold only"),
        (
            Behaviour::InjectPair,
            "draft",
            "not between AS65001 and AS65010",
        ),
        (Behaviour::InjectPair, "v0", "not a pair of one family"),
        (Behaviour::RedirectElsewhere, "draft", "redirect"),
    ];
    let runs = cases.into_iter().map(|(b, dialect, want)| async move {
        let (a, remote, _api) = world(b.clone(), dialect).await;
        let (r, rejected) = ask_until_rejected(&a, 60).await;
        let answer = r.body["remote_answer"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(answer.contains(want), "{b:?}/{dialect}: answer {answer}");
        for s in &rejected {
            let d = s["status_detail"].as_str().unwrap();
            assert!(
                d.contains("giving up") && d.contains("nothing configured"),
                "{b:?}: {d}"
            );
            assert!(
                !d.contains('\n') && !d.contains("203.0.113.66 remote-as"),
                "{b:?}: {d}"
            );
        }
        no_jobs(&a).await;
        // it asked what the remote holds before each resend, and gave up
        assert!(
            remote.posts() <= 1,
            "{b:?}: {} requests stored",
            remote.posts()
        );
        a.get("/healthz", &a.key).await.expect(200);
        assert!(!a.log().contains("panicked"), "{}", tail(&a.log()));
    });
    futures::future::join_all(runs).await;
}

#[tokio::test]
async fn a_remote_that_is_down_or_hangs_on_its_locations() {
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let down = dead_base().await.trim_end_matches("/api").to_string();
    let a = start_a(&api, outbound_yaml(B_ASN, &down, "draft", &auth, "")).await;
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(503);
    assert!(r.text.contains("cannot reach it"), "{}", r.text);
    assert!(outbound_sessions(&a).await.is_empty());

    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], false).await;
    remote.set_behaviour(Behaviour::Hang);
    remote.misbehave_locations(true);
    let a = start_a(&api, outbound_yaml(B_ASN, &remote.base, "draft", &auth, "")).await;
    let t = Instant::now();
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(503);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "bounded by timeout_secs"
    );
    assert!(r.text.contains("no answer within 3s"), "{}", r.text);
    assert!(outbound_sessions(&a).await.is_empty());
    no_jobs(&a).await;

    // a wrong token is a refusal of the request, with the remote's words
    let remote = RemoteStandin::start(B_ASN, "another-token", &[LOC], false).await;
    let a = start_a(&api, outbound_yaml(B_ASN, &remote.base, "draft", &auth, "")).await;
    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(503);
    assert!(
        r.text.contains("HTTP 401") && r.text.contains("no valid token"),
        "{}",
        r.text
    );
}

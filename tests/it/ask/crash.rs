//! SIGKILL between recording an outbound request and the remote's answer:
//! after the restart the remote holds one request, not two.

use super::*;
use crate::support::remote::RemoteStandin;

#[tokio::test]
async fn a_request_survives_a_kill_and_is_not_sent_twice() {
    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], false).await;
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let mut a = start_a(&api, outbound_yaml(B_ASN, &remote.base, "draft", &auth, "")).await;

    // the remote stores the request, then holds its answer
    remote.hold_posts(true);
    let posted = remote.posted.clone();
    let wait_post = posted.notified();
    let (url, key) = (a.url.clone(), a.key.clone());
    let asking = tokio::spawn(async move {
        let http = reqwest::Client::new();
        http.post(format!("{url}/admin/outbound"))
            .bearer_auth(key)
            .json(&json!({"asn": B_ASN}))
            .send()
            .await
    });
    tokio::time::timeout(Duration::from_secs(20), wait_post)
        .await
        .expect("the remote got the POST");
    assert_eq!(remote.posts(), 1);
    // the request is on our disk before the remote heard of it
    let mine = outbound_sessions(&a).await;
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter().all(|s| s["remote"]["phase"] == "sending"),
        "{mine:?}"
    );
    a.kill().await;
    let _ = asking.await;
    remote.release();

    a.start_again().await;
    // the follower asks the remote what it holds, finds both, sends nothing
    for s in &mine {
        let id = s["session_id"].as_str().unwrap();
        let got = wait_session(&a, id, 30, "adopted", |s| s["remote"]["phase"] == "sent").await;
        assert!(got["remote"]["session_id"].is_string());
        // the stand-in says Configured on the first look after adoption
        wait_session(&a, id, 20, "Approved", |s| s["status"] == "Approved").await;
    }
    assert_eq!(
        remote.posts(),
        1,
        "the remote must hold one request, not two"
    );
    assert_eq!(remote.sessions().len(), 2);
    assert!(remote.lists() >= 1);
    let audit = a
        .get(
            &format!(
                "/admin/sessions/{}/audit",
                mine[0]["session_id"].as_str().unwrap()
            ),
            &a.key,
        )
        .await;
    assert!(audit.text.contains("remote sent"), "{}", audit.text);
}

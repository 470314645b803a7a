//! A asks a v0-only remote (the proof of concept's routes and shapes) that
//! says 202 for a while, then 200.

use super::*;
use crate::support::remote::RemoteStandin;

#[tokio::test]
async fn a_v0_remote_that_takes_a_while_to_say_configured() {
    let remote = RemoteStandin::start(B_ASN, TOK_A, &[LOC], true).await;
    remote.configure_after(3);
    let api = PdbStandin::start_with(pdb_data()).await;
    let auth = format!("{{bearer_env: {TOKEN_ENV}}}");
    let extra = "      secret: generate\n";
    let a = start_a(&api, outbound_yaml(B_ASN, &remote.base, "v0", &auth, extra)).await;

    let r = request(&a, json!({"asn": B_ASN})).await;
    r.expect(200);
    assert_eq!(r.body["dialect"], "v0");
    let sessions = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", r.text);
    for s in &sessions {
        assert_eq!(s["status"], "Pending");
        assert_eq!(s["remote"]["status"], "Pending");
        assert_eq!(
            s["session_secret"], "<redacted>",
            "a generated secret, never shown"
        );
    }
    // the remote got the slides' shape: snake_case, asker first, its uuid
    let held = remote.sessions();
    assert_eq!(held.len(), 2);
    for h in &held {
        assert_eq!((h.local_asn, h.peer_asn), (A_ASN, B_ASN));
        assert!(
            h.md5.as_deref().is_some_and(|m| m.len() == 24),
            "the secret went to the remote"
        );
    }
    assert_eq!(remote.posts(), 1);
    // 202 while waiting: still Pending; then 200: our end is queued
    for s in &sessions {
        let id = s["session_id"].as_str().unwrap();
        let done = wait_session(&a, id, 20, "Approved", |s| s["status"] == "Approved").await;
        assert_eq!(done["remote"]["status"], "Configured");
        assert!(done["remote"]["request_id"].is_string());
    }
    assert!(remote.lists() >= 3, "it was asked until it said Configured");
    let audit = a
        .get(
            &format!(
                "/admin/sessions/{}/audit",
                sessions[0]["session_id"].as_str().unwrap()
            ),
            &a.key,
        )
        .await;
    assert!(
        audit.text.contains("accepted it (status Configured)"),
        "{}",
        audit.text
    );

    // v0 has no delete: our end goes, the remote is not called
    let id = sessions[0]["session_id"].as_str().unwrap();
    a.delete(&format!("/sessions/{id}"), &a.key)
        .await
        .expect(204);
    wait_404(&a, id, 10).await;
    assert!(remote.deletes().is_empty());
    let st = a.get("/admin/outbound", &a.key).await;
    st.expect(200);
    assert_eq!(st.body["pending_deletes"], json!([]), "{}", st.text);
}

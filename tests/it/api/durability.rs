//! Durability: peerd as a real process, SIGKILLed right after it answered;
//! after a restart on the same data dir every accepted change is there.

use crate::support::*;
use serde_json::{json, Value};

#[tokio::test]
async fn accepted_sessions_survive_sigkill() {
    let pdb = fake_pdb().await;
    let mut p = Peerd::start(&Options::new(&pdb)).await;
    let mut accepted: Vec<Value> = Vec::new();
    for round in 0..3u32 {
        let body = Value::Array(
            (0..40u32)
                .map(|i| {
                    let n = round * 40 + i + 10;
                    if i % 2 == 0 {
                        sess(
                            ASN_A,
                            &format!("2001:db8::{n:x}"),
                            "2001:db8::1",
                            "pdb:ix:1",
                        )
                    } else {
                        sess(
                            ASN_A,
                            &format!("198.51.100.{n}"),
                            "198.51.100.1",
                            "pdb:ix:2",
                        )
                    }
                })
                .collect(),
        );
        let r = p.post("/sessions", TOK_A, &body).await;
        r.expect(200);
        // Killed the moment the answer is in: no graceful shutdown, no flush.
        p.restart().await;
        accepted.extend(r.body["sessions"].as_array().unwrap().iter().cloned());
        for s in &accepted {
            let id = s["session_id"].as_str().unwrap();
            let g = p.get(&format!("/sessions/{id}"), TOK_A).await;
            assert_eq!(&g.expect(200).body, s, "round {round}");
        }
    }
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let q = token
            .map(|t| format!("&next_token={t}"))
            .unwrap_or_default();
        let r = p.get(&format!("/sessions?max_results=100{q}"), TOK_A).await;
        r.expect(200);
        all.extend(r.body["sessions"].as_array().unwrap().iter().cloned());
        token = r
            .body
            .get("next_token")
            .and_then(|t| t.as_str())
            .map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all, accepted);
}

#[tokio::test]
async fn decisions_and_deletions_survive_sigkill() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let mut p = Peerd::start(&o).await;
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([
                sess(ASN_A, "192.0.2.140", "192.0.2.1", "pdb:ix:1"),
                sess(ASN_A, "192.0.2.141", "192.0.2.1", "pdb:ix:1"),
                sess(ASN_A, "192.0.2.142", "192.0.2.1", "pdb:ix:1"),
            ]),
        )
        .await;
    r.expect(200);
    let ids: Vec<String> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect();
    p.post(
        &format!("/admin/sessions/{}/approve", ids[0]),
        &p.key,
        &json!({}),
    )
    .await
    .expect(200);
    p.restart().await;
    p.post(
        &format!("/admin/sessions/{}/reject", ids[1]),
        &p.key,
        &json!({"reason": "full"}),
    )
    .await
    .expect(200);
    p.restart().await;
    p.delete(&format!("/sessions/{}", ids[0]), TOK_A)
        .await
        .expect(204);
    p.restart().await;
    p.delete(&format!("/sessions/{}", ids[2]), TOK_A)
        .await
        .expect(204);
    p.restart().await;

    // approved but never pushed (no worker here): removed at once, for good
    p.get(&format!("/sessions/{}", ids[0]), TOK_A)
        .await
        .expect(404);
    let g = p.get(&format!("/sessions/{}", ids[1]), TOK_A).await;
    g.expect(200);
    assert_eq!(g.body["status"], "Rejected");
    assert_eq!(g.body["status_detail"], "full");
    p.get(&format!("/sessions/{}", ids[2]), TOK_A)
        .await
        .expect(404);
    // Its provision job went with it; nothing is left to do on a router.
    let j = p.get("/admin/jobs", &p.key).await;
    assert_eq!(j.expect(200).body["jobs"], json!([]));
    let a = p
        .get(&format!("/admin/sessions/{}/audit", ids[0]), &p.key)
        .await;
    let last = a.expect(200).body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "delete");
}

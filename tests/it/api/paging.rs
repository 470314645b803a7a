//! Paging with an opaque `next_token`: 250 sessions at `max_results` 100
//! while other sessions are being created; none missed, none repeated.

use crate::support::*;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

fn batch(asn: u32, from: u32, n: u32, lan: &str) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| {
                sess(
                    asn,
                    &format!("{lan}{:x}", 0x1000 + i),
                    &format!("{lan}1"),
                    "pdb:ix:1",
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn paging_neither_skips_nor_repeats_while_sessions_are_added() {
    let pdb = fake_pdb().await;
    let p = Arc::new(Peerd::start(&Options::new(&pdb)).await);
    let mut before = Vec::new();
    for (from, n) in [(0, 100), (100, 100), (200, 50)] {
        let r = p
            .post("/sessions", TOK_A, &batch(ASN_A, from, n, "2001:db8::"))
            .await;
        r.expect(200);
        assert_eq!(r.body["sessions"].as_array().unwrap().len(), n as usize);
        for s in r.body["sessions"].as_array().unwrap() {
            before.push(s["session_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(before.len(), 250);

    // Another network keeps adding sessions the whole time.
    let bg = {
        let p = p.clone();
        tokio::spawn(async move {
            for k in 0..10 {
                p.post(
                    "/sessions",
                    TOK_B,
                    &batch(ASN_B, 1000 + k * 10, 10, "2001:db8::"),
                )
                .await
                .expect(200);
            }
        })
    };

    let mut seen: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut added = 0u32;
    let mut pages = 0;
    loop {
        let q = match &token {
            Some(t) => format!("/sessions?max_results=100&next_token={t}"),
            None => "/sessions?max_results=100".to_string(),
        };
        let r = p.get(&q, TOK_A).await;
        r.expect(200);
        let page = r.body["sessions"].as_array().unwrap();
        assert!(page.len() <= 100);
        for s in page {
            assert_eq!(s["local_asn"], ASN_A, "only the caller's sessions");
            seen.push(s["session_id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match r.body.get("next_token").and_then(|t| t.as_str()) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        // Between two pages, peer A itself creates more sessions; they must
        // show up at the end of this very listing.
        let r = p
            .post(
                "/sessions",
                TOK_A,
                &batch(ASN_A, 500 + added * 7, 7, "2001:db8::"),
            )
            .await;
        r.expect(200);
        added += 1;
        assert!(pages < 20, "paging does not end");
    }
    bg.await.unwrap();

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a session was repeated");
    for id in &before {
        assert!(unique.contains(id), "session {id} was skipped");
    }
    // Sessions created while paging come after the old ones, in order.
    assert_eq!(&seen[..250], &before[..]);
    assert_eq!(
        seen.len() as u32,
        250 + 7 * added,
        "the ones added while paging are at the end"
    );
    assert!(
        pages >= 3 && added >= 2,
        "pages {pages}, batches added {added}"
    );

    // B sees its own 100, not A's.
    let r = p.get("/sessions?max_results=100", TOK_B).await;
    r.expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 100);
    assert!(r.body.get("next_token").is_none());
}

//! Manual approval through the admin routes and the `peerd admin` CLI,
//! audit trails, the job list, and requests entered for a peer.

use crate::support::*;
use serde_json::{json, Value};

#[tokio::test]
async fn manual_approval_reject_and_audit() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    let r = p
        .post(
            "/sessions",
            TOK_A,
            &json!([
                sess(ASN_A, "192.0.2.100", "192.0.2.1", "pdb:ix:1"),
                sess(ASN_A, "192.0.2.101", "192.0.2.1", "pdb:ix:1"),
            ]),
        )
        .await;
    r.expect(200);
    let ids: Vec<String> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["status"], "Pending");
            s["session_id"].as_str().unwrap().to_string()
        })
        .collect();

    // Operators list by status; the admin view says where and who.
    let l = p.get("/admin/sessions?status=Pending", &p.key).await;
    l.expect(200);
    let listed = l.body["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["router"], "rtr1");
    assert_eq!(listed[0]["created_by"], "pdb:1");
    assert!(listed[0]["created_at"].as_str().unwrap().ends_with('Z'));
    p.get("/admin/sessions?status=Bogus", &p.key)
        .await
        .expect(400);
    assert_eq!(
        p.get("/admin/sessions?status=approved", &p.key)
            .await
            .expect(200)
            .body["sessions"],
        json!([])
    );

    // Approve with the CLI (table output), reject over HTTP with a reason.
    let out = p.admin_cli(&["approve", &ids[0]]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains(&ids[0]) && out.stdout.contains("Approved"),
        "{}",
        out.stdout
    );
    let g = p.get(&format!("/sessions/{}", ids[0]), TOK_A).await;
    assert_eq!(g.expect(200).body["status"], "Approved");

    let r = p
        .post(
            &format!("/admin/sessions/{}/reject", ids[1]),
            &p.key,
            &json!({"reason": "no capacity at this IX"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "Rejected");
    let g = p.get(&format!("/sessions/{}", ids[1]), TOK_A).await;
    g.expect(200);
    assert_eq!(g.body["status"], "Rejected");
    assert_eq!(g.body["status_detail"], "no capacity at this IX");

    // Only Pending/Failed can be decided; reasons are checked.
    let r = p
        .post(
            &format!("/admin/sessions/{}/approve", ids[1]),
            &p.key,
            &json!({}),
        )
        .await;
    assert_eq!(r.expect(409).error_names(), ["status"]);
    let r = p
        .post(
            &format!("/admin/sessions/{}/reject", ids[0]),
            &p.key,
            &json!({"reason": "x"}),
        )
        .await;
    r.expect(409);
    let r = p
        .post(
            &format!("/admin/sessions/{}/reject", ids[0]),
            &p.key,
            &json!({"reason": "a;b"}),
        )
        .await;
    assert_eq!(r.expect(400).error_names(), ["reason"]);
    let r = p
        .post(
            &format!("/admin/sessions/{}/reject", ids[0]),
            &p.key,
            &json!({"reason": "x", "extra": 1}),
        )
        .await;
    r.expect(400).error_names();
    p.post(
        "/admin/sessions/00000000-0000-4000-8000-000000000000/approve",
        &p.key,
        &json!({}),
    )
    .await
    .expect(404);

    // The audit trail: who, when, what.
    let a = p
        .get(&format!("/admin/sessions/{}/audit", ids[0]), &p.key)
        .await;
    a.expect(200);
    let ev = a.body["events"].as_array().unwrap();
    assert_eq!(a.body["session_id"], ids[0].as_str());
    assert_eq!(ev[0]["actor"], "pdb:1");
    assert_eq!(ev[0]["to"], "Pending");
    let last = ev.last().unwrap();
    assert_eq!(last["actor"], "operator:noc");
    assert_eq!(last["action"], "approve");
    assert_eq!(last["from"], "Pending");
    assert_eq!(last["to"], "Approved");
    assert!(last["at"].as_str().unwrap().ends_with('Z'));
    let a = p
        .get(&format!("/admin/sessions/{}/audit", ids[1]), &p.key)
        .await;
    let last = a.expect(200).body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "Rejected");
    assert_eq!(last["actor"], "operator:noc");

    // The CLI reads the same trail (JSON) and the queue (table).
    let out = p.admin_cli(&["--json", "audit", &ids[0]]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, a_body(&p, &ids[0]).await);
    let out = p.admin_cli(&["audit", &ids[0]]).await;
    assert!(
        out.stdout.contains("operator:noc") && out.stdout.contains("ACTOR"),
        "{}",
        out.stdout
    );

    // The approved session has a provisioning job.
    let j = p.get("/admin/jobs", &p.key).await;
    j.expect(200);
    let jobs = j.body["jobs"].as_array().unwrap();
    assert!(
        jobs.iter()
            .any(|j| j["session_id"] == ids[0].as_str() && j["kind"] == "Provision"),
        "{jobs:?}"
    );
    let out = p.admin_cli(&["jobs"]).await;
    assert!(
        out.status.success() && out.stdout.contains(&ids[0]),
        "{}",
        out.stdout
    );

    let out = p.admin_cli(&["sessions", "--status", "Rejected"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains(&ids[1]) && !out.stdout.contains(&ids[0]),
        "{}",
        out.stdout
    );
    let out = p
        .admin_cli(&["--json", "sessions", "--all", "--max-results", "1"])
        .await;
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
}

async fn a_body(p: &Peerd, id: &str) -> Value {
    p.get(&format!("/admin/sessions/{id}/audit"), &p.key)
        .await
        .body
}

#[tokio::test]
async fn cli_reports_errors_and_uses_env() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // A wrong key: non-zero exit, the server's message, never the key.
    let out = cli(
        p.path(),
        &[
            "admin",
            "--url",
            &p.url,
            "--key",
            "peerd_op_wrong",
            "sessions",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(!out.stderr.contains("peerd_op_wrong"));
    // URL and key from the environment.
    let o = tokio::process::Command::new(bin())
        .args(["admin", "sessions"])
        .env("PEERD_URL", &p.url)
        .env("PEERD_KEY", &p.key)
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SESSION"));
    // An unknown session id.
    let out = p
        .admin_cli(&["approve", "00000000-0000-4000-8000-000000000000"])
        .await;
    assert!(
        !out.status.success() && out.stderr.contains("404"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn operators_enter_requests_for_a_peer() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    // A request that arrived by e-mail: the operator enters it for AS64600.
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([sess(ASN_A, "192.0.2.110", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200);
    let s = r.body["sessions"][0].clone();
    let id = s["session_id"].as_str().unwrap();
    // The peer sees it as its own; the admin view says who entered it.
    assert_eq!(
        p.get("/sessions", TOK_A).await.expect(200).body,
        json!({"sessions": [s]})
    );
    let g = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
    assert_eq!(g.expect(200).body["created_by"], "operator:noc");
    // Operators see every network's sessions; peers with the admin view do not.
    p.get(&format!("/sessions?asn={ASN_B}"), &p.key)
        .await
        .expect(200);
    p.get(&format!("/admin/sessions/{id}"), TOK_A)
        .await
        .expect(403);
}

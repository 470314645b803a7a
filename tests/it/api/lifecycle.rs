//! The session lifecycle with the worker on and the router down (a loopback
//! port that hangs up on every connection, and counts them): a DELETE of a
//! session that never reached the router completes without it; a repeat of
//! a `Deleting` session is a new session whose push waits for the removal;
//! retry now and force remove, over HTTP and the CLI.

use crate::support::*;
use peerd::inventory::{Credential, HostKey};
use peerd::store::TransitionOpts;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A router that is down: it accepts TCP and hangs up at once.
struct DeadRouter {
    port: u16,
    contacts: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DeadRouter {
    async fn start() -> DeadRouter {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let contacts = Arc::new(AtomicUsize::new(0));
        let c = contacts.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
        DeadRouter {
            port,
            contacts,
            task,
        }
    }

    fn contacts(&self) -> usize {
        self.contacts.load(Ordering::SeqCst)
    }
}

impl Drop for DeadRouter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Throwaway public key (the one of `ssh_auth.rs`'s test server): pinned,
/// so that the worker gets as far as connecting.
const PIN: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO9/kk1Fi+zjZMA8GiG0cgztFvf3tUruzCwnBs9szQjA";

/// peerd with the worker on; `rtr1` (`pdb:ix:1`) is `dead`.
async fn start(pdb: &FakePdb, dead: &DeadRouter, worker_yaml: &str) -> Peerd {
    let inv = InventoryBuilder::api("auto", true)
        .edit_router("rtr1", |r| {
            r.port = dead.port;
            r.credential = Credential::PasswordEnv("PEERD_TEST_ROUTER_PW".into());
            r.host_key = HostKey::Key(PIN.into());
        })
        .yaml();
    let mut o = Options::new(pdb);
    o.worker = true;
    o.inventory_yaml = Some(inv);
    o.worker_yaml = format!("  tick_ms: 100\n{worker_yaml}");
    o.env = vec![("PEERD_TEST_ROUTER_PW".into(), "not-a-secret".into())];
    Peerd::start(&o).await
}

async fn post(p: &Peerd, token: &str, asn: u32, ip: &str) -> Value {
    let r = p
        .post(
            "/sessions",
            token,
            &json!([sess(asn, ip, "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200).body["sessions"][0].clone()
}

async fn audit(p: &Peerd, id: &str) -> Vec<Value> {
    let r = p.get(&format!("/admin/sessions/{id}/audit"), &p.key).await;
    r.expect(200).body["events"].as_array().unwrap().clone()
}

/// Waits until the session's (admin view) `status_detail` contains `words`.
async fn wait_detail(p: &Peerd, id: &str, words: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
        if r.body["status_detail"]
            .as_str()
            .is_some_and(|d| d.contains(words))
        {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: no {words:?} in {}\n{}",
            r.text,
            p.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_status(p: &Peerd, id: &str, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = p.get(&format!("/admin/sessions/{id}"), &p.key).await;
        if r.body["status"] == want {
            return r.body;
        }
        assert!(Instant::now() < deadline, "{id}: not {want}: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SLOW: &str = "  backoff_base_ms: 60000\n  backoff_max_ms: 60000\n";

#[tokio::test]
async fn delete_of_a_never_pushed_session_needs_no_router() {
    let pdb = fake_pdb().await;
    let dead = DeadRouter::start().await;
    let p = start(&pdb, &dead, SLOW).await;
    let s = post(&p, TOK_A, ASN_A, "192.0.2.60").await;
    let id = s["session_id"].as_str().unwrap();
    // the pre-push read fails: nothing reached the router
    let d = wait_detail(&p, id, "attempt 1 on router rtr1 failed").await;
    assert_eq!(d["status"], "Provisioning");
    assert!(dead.contacts() >= 1, "the read tried the router");
    let before = dead.contacts();
    p.delete(&format!("/sessions/{id}"), TOK_A)
        .await
        .expect(204);
    // gone at once: no Deleting, no job, no router
    p.get(&format!("/sessions/{id}"), TOK_A).await.expect(404);
    let jobs = p.get("/admin/jobs", &p.key).await;
    assert_eq!(jobs.expect(200).body["jobs"], json!([]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(dead.contacts(), before, "the router was contacted again");
    let last = audit(&p, id).await.last().unwrap().clone();
    assert_eq!(last["action"], "delete");
    assert_eq!(last["actor"], "pdb:1");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("removed without contacting it"),
        "{last}"
    );
}

#[tokio::test]
async fn a_repeat_while_deleting_is_new_and_waits_for_the_removal() {
    let pdb = fake_pdb().await;
    let dead = DeadRouter::start().await;
    let mut p = start(&pdb, &dead, SLOW).await;
    let body = sess(ASN_A, "192.0.2.61", "192.0.2.1", "pdb:ix:1");
    let s1 = post(&p, TOK_A, ASN_A, "192.0.2.61").await;
    let old = s1["session_id"].as_str().unwrap().to_string();
    wait_detail(&p, &old, "attempt 1 on router rtr1 failed").await;
    // Offline, make it a session the router took (as if the lab had been up).
    p.kill().await;
    {
        let st = p.open_store();
        assert_eq!(
            st.mark_pushed(std::slice::from_ref(&old)).unwrap(),
            vec![old.clone()]
        );
        let o = TransitionOpts {
            actor: "test".into(),
            ..Default::default()
        };
        st.transition(&old, peerd::model::SessionStatus::Configured, o)
            .unwrap();
    }
    p.start_again().await;
    wait_status(&p, &old, "Configured").await;

    // DELETE: it reached the router, so it is Deleting while the router is down
    p.delete(&format!("/sessions/{old}"), TOK_A)
        .await
        .expect(204);
    wait_detail(&p, &old, "attempt 1 on router rtr1 failed").await;
    assert_eq!(
        wait_status(&p, &old, "Deleting").await["status"],
        "Deleting"
    );

    // another network: still 409 while the removal is pending
    let b = p
        .post(
            "/sessions",
            TOK_B,
            &json!([sess(ASN_B, "192.0.2.61", "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    b.expect(409);
    assert!(!b.text.contains(&old), "{}", b.text);
    // the same request again: a new session, not the dying one
    let r = p.post("/sessions", TOK_A, &json!([body.clone()])).await;
    let s2 = r.expect(200).body["sessions"][0].clone();
    let new = s2["session_id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(s2["status"], "Approved");
    assert!(
        s2["status_detail"]
            .as_str()
            .unwrap()
            .contains("previous session"),
        "{s2}"
    );
    // ... and once more: that new one
    let r = p.post("/sessions", TOK_A, &json!([body])).await;
    assert_eq!(
        r.expect(200).body["sessions"][0]["session_id"],
        new.as_str()
    );
    // its push waits: never claimed while the old one is Deleting
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !audit(&p, &new)
            .await
            .iter()
            .any(|e| e["action"] == "job_claimed"),
        "the repeat was claimed before the removal"
    );
    assert_eq!(
        wait_status(&p, &new, "Approved").await["status"],
        "Approved"
    );
    // retry now works on a removal backing off too
    let r = p
        .post(&format!("/admin/sessions/{old}/retry"), &p.key, &json!({}))
        .await;
    assert_eq!(r.expect(200).body["status"], "Deleting");

    // the operator gives up on the router: force remove (CLI), with a warning
    let out = p.admin_cli(&["force-remove", &old]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("removed session") && out.stdout.contains("WARNING"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("192.0.2.61") && out.stdout.contains("rtr1"),
        "{}",
        out.stdout
    );
    p.get(&format!("/sessions/{old}"), TOK_A).await.expect(404);
    let last = audit(&p, &old).await.last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("force-remove"), Some("operator:noc"))
    );
    // only now is the repeat's push started
    wait_detail(&p, &new, "attempt 1 on router rtr1 failed").await;
    // a session that is not Deleting or Failed cannot be forced out
    let r = p
        .post(
            &format!("/admin/sessions/{new}/force-remove"),
            &p.key,
            &json!({}),
        )
        .await;
    r.expect(409);
}

#[tokio::test]
async fn retry_now_resets_attempts_and_failed_sessions_can_be_forced_out() {
    let pdb = fake_pdb().await;
    let dead = DeadRouter::start().await;
    let p = start(
        &pdb,
        &dead,
        "  backoff_base_ms: 3000\n  backoff_max_ms: 3000\n  max_attempts: 2\n",
    )
    .await;
    let s = post(&p, TOK_A, ASN_A, "192.0.2.62").await;
    let id = s["session_id"].as_str().unwrap().to_string();
    wait_detail(&p, &id, "attempt 1 on router rtr1 failed").await;
    // backing off (3 s): retry now, over HTTP
    let r = p
        .post(&format!("/admin/sessions/{id}/retry"), &p.key, &json!({}))
        .await;
    r.expect(200);
    // the retried attempt counts from 1 again (else it would be the last one)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ev = audit(&p, &id).await;
        let at = ev.iter().rposition(|e| e["action"] == "retry").unwrap();
        if let Some(f) = ev[at..].iter().find(|e| e["action"] == "job_failed") {
            assert!(
                f["detail"].as_str().unwrap().contains("attempt 1 failed"),
                "{f}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no attempt after the retry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // out of attempts: Failed, with the router's message
    let f = wait_status(&p, &id, "Failed").await;
    let detail = f["status_detail"].as_str().unwrap();
    assert!(detail.contains("(after 2 attempt(s))"), "{detail}");
    assert!(!detail.contains("router rtr1: router rtr1"), "{detail}");
    // retry now (CLI): back in the queue at once
    let out = p.admin_cli(&["retry", &id]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("Approved"), "{}", out.stdout);
    wait_status(&p, &id, "Provisioning").await;
    wait_status(&p, &id, "Failed").await;
    // a Failed session that never reached the router: forced out, no warning
    let r = p
        .post(
            &format!("/admin/sessions/{id}/force-remove"),
            &p.key,
            &json!({}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["removed"], true);
    assert_eq!(r.body["session"]["session_id"], id.as_str());
    assert_eq!(r.body["session"]["status"], "Failed");
    assert!(r.body.get("warning").is_none(), "{}", r.text);
    p.get(&format!("/sessions/{id}"), TOK_A).await.expect(404);
}

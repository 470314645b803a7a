//! The transactional push and recovery against scripted NETCONF servers.

use super::*;
use crate::transport::netconf::client::SessionConfig;
use crate::transport::netconf::testing::{reply, rpc_error, script};
use crate::transport::netconf::{xml, Framing, CAP_BASE_10, CAP_BASE_11};
use tokio::io::duplex;

const CAND: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
const CC10: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.0";
const CC11: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
const ROE: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
const WR: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";
const FULL: &[&str] = &[CAP_BASE_10, CAP_BASE_11, CAND, CC10, CC11, ROE];
const NBR: &str = r#"<bgp xmlns="urn:x"><neighbor><address>192.0.2.9</address></neighbor></bgp>"#;

/// Run `push` against a scripted server; returns the result and, per
/// request, the operation name and its first child's name.
async fn run(
    caps: &'static [&'static str],
    answers: Vec<Vec<String>>,
    rpc_timeout: Duration,
    verify: impl FnOnce(&Data) -> Result<(), String>,
) -> (
    Result<PushOutcome, PushError>,
    Vec<(String, String)>,
    Vec<String>,
) {
    let (client, server) = duplex(1 << 16);
    let srv = tokio::spawn(script(server, caps, Framing::Chunked, answers));
    let cfg = SessionConfig {
        probe_interval: None,
        rpc_timeout,
        ..SessionConfig::default()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    let req = PushRequest {
        verify_filter: Some(Filter::Subtree(r#"<bgp xmlns="urn:x"/>"#)),
        confirm_timeout: Some(Duration::from_secs(90)),
        target: if caps.contains(&CAND) {
            Datastore::Candidate
        } else {
            Datastore::Running
        },
        ..PushRequest::new(NBR, "pid-1")
    };
    let r = push(&mut s, &req, verify).await;
    drop(s);
    let seen = srv.await.unwrap();
    let ops = seen[1..]
        .iter()
        .map(|m| {
            let root = xml::parse(m).unwrap();
            let op = &root.children[0];
            let first = op
                .children
                .first()
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (op.name.clone(), first)
        })
        .collect();
    (r, ops, seen)
}

fn ok(id: u32) -> Vec<String> {
    vec![reply(&id.to_string(), "<ok/>")]
}

fn data(id: u32, body: &str) -> Vec<String> {
    vec![reply(&id.to_string(), &format!("<data>{body}</data>"))]
}

fn ops(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn confirmed_push_in_order() {
    let answers = vec![
        ok(1),
        ok(2),
        data(3, ""),
        ok(4),
        ok(5),
        data(6, NBR),
        ok(7),
        ok(8),
    ];
    let (r, got, seen) = run(FULL, answers, Duration::from_secs(5), |d| {
        d.element
            .find_all(&["bgp", "neighbor"])
            .first()
            .map(|_| ())
            .ok_or_else(|| "missing".to_string())
    })
    .await;
    let out = r.unwrap();
    assert_eq!(out.mode, CommitMode::ConfirmedPersist);
    assert_eq!(
        got,
        ops(&[
            ("lock", "target"),
            ("discard-changes", ""),
            ("get-config", "source"),
            ("edit-config", "target"),
            ("commit", "confirmed"),
            ("get-config", "source"),
            ("commit", "persist-id"),
            ("unlock", "target"),
        ])
    );
    assert!(seen[1].contains("<candidate/>"));
    assert!(seen[4].contains("<error-option>rollback-on-error</error-option>"));
    assert!(seen[5].contains("<confirm-timeout>90</confirm-timeout><persist>pid-1</persist>"));
    assert!(seen[7].contains("<persist-id>pid-1</persist-id>"));
}

#[tokio::test]
async fn rejected_edit_is_discarded_with_the_device_text() {
    let err = vec![reply("4", &rpc_error("bad-element", "invalid number"))];
    let answers = vec![ok(1), ok(2), data(3, ""), err, ok(5), ok(6)];
    let (r, got, _) = run(FULL, answers, Duration::from_secs(5), |_| Ok(())).await;
    let e = r.unwrap_err();
    assert_eq!(e.stage, PushStage::Edit);
    assert_eq!(e.rollback, Rollback::Discarded);
    assert!(!e.is_retryable());
    assert_eq!(
        e.detail(),
        "edit-config rejected by the device: bad-element: invalid number (nothing committed)"
    );
    let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        [
            "lock",
            "discard-changes",
            "get-config",
            "edit-config",
            "discard-changes",
            "unlock"
        ]
    );
}

#[tokio::test]
async fn failed_verify_cancels_and_checks_running_is_restored() {
    let answers = vec![
        ok(1),
        ok(2),
        data(3, ""),
        ok(4),
        ok(5),
        data(6, NBR),
        ok(7),       // cancel-commit
        data(8, ""), // running as before
        ok(9),
        ok(10),
    ];
    let (r, got, seen) = run(FULL, answers, Duration::from_secs(5), |_| Err("no".into())).await;
    let e = r.unwrap_err();
    assert_eq!(e.stage, PushStage::Verify);
    assert_eq!(e.rollback, Rollback::Cancelled);
    assert_eq!(got[6].0, "cancel-commit");
    assert!(seen[7].contains("<persist-id>pid-1</persist-id>"));
    assert_eq!(got[7].0, "get-config");
    assert_eq!(
        (got[8].0.as_str(), got[9].0.as_str()),
        ("discard-changes", "unlock")
    );
}

#[tokio::test]
async fn cancel_that_does_not_restore_running_is_reported() {
    // netconfd 2.13 answers <ok/> to cancel-commit without restoring
    // running when a lock on running is held.
    let answers = vec![
        ok(1),
        ok(2),
        data(3, ""),
        ok(4),
        ok(5),
        data(6, NBR),
        ok(7),
        data(8, NBR),
        ok(9),
        ok(10),
    ];
    let (r, _, _) = run(FULL, answers, Duration::from_secs(5), |_| Err("no".into())).await;
    let e = r.unwrap_err();
    assert!(
        matches!(&e.rollback, Rollback::Failed(why) if why.contains("differs")),
        "{e}"
    );
    assert!(e.detail().contains("running differs from before the push"));
}

#[tokio::test]
async fn unanswered_commit_leaves_it_pending_under_the_persist_id() {
    let answers = vec![ok(1), ok(2), data(3, ""), ok(4), vec![]];
    let (r, _, _) = run(FULL, answers, Duration::from_millis(100), |_| Ok(())).await;
    let e = r.unwrap_err();
    assert_eq!(e.stage, PushStage::Commit);
    assert!(matches!(
        e.error,
        NetconfError::Timeout { op: "commit", .. }
    ));
    assert_eq!(
        e.rollback,
        Rollback::Pending {
            persist_id: Some("pid-1".into())
        }
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn without_candidate_running_is_edited_under_lock() {
    const RUNNING: &[&str] = &[CAP_BASE_10, CAP_BASE_11, WR, ROE];
    let answers = vec![ok(1), ok(2), data(3, NBR), ok(4)];
    let (r, got, seen) = run(RUNNING, answers, Duration::from_secs(5), |_| Ok(())).await;
    assert_eq!(r.unwrap().mode, CommitMode::Running);
    let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(names, ["lock", "edit-config", "get-config", "unlock"]);
    assert!(seen[1].contains("<running/>") && seen[2].contains("<target><running/></target>"));
}

#[tokio::test]
async fn plain_commit_without_confirmed_commit() {
    const PLAIN: &[&str] = &[CAP_BASE_10, CAP_BASE_11, CAND];
    let answers = vec![ok(1), ok(2), ok(3), ok(4), data(5, NBR), ok(6)];
    let (r, got, seen) = run(PLAIN, answers, Duration::from_secs(5), |_| Ok(())).await;
    assert_eq!(r.unwrap().mode, CommitMode::Plain);
    let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        [
            "lock",
            "discard-changes",
            "edit-config",
            "commit",
            "get-config",
            "unlock"
        ]
    );
    assert!(
        !seen[3].contains("error-option"),
        "no rollback-on-error advertised"
    );
    assert!(seen[4].contains("<commit/>"));
}

#[tokio::test]
async fn lock_in_use_is_contention() {
    let busy = vec![reply("1", &rpc_error("in-use", "confirmed-commit pending"))];
    let (r, got, _) = run(FULL, vec![busy], Duration::from_secs(5), |_| Ok(())).await;
    let e = r.unwrap_err();
    assert!(e.is_lock_denied() && e.is_retryable(), "{e}");
    assert_eq!(e.rollback, Rollback::Discarded);
    assert_eq!(got.len(), 1, "nothing else sent when the lock is refused");
}

#[tokio::test]
async fn recover_confirms_or_finds_nothing_pending() {
    let (client, server) = duplex(1 << 16);
    let unknown = rpc_error("operation-failed", "persistent confirmed commit not active");
    let answers = vec![ok(1), vec![reply("2", &unknown)]];
    let srv = tokio::spawn(script(server, FULL, Framing::Chunked, answers));
    let cfg = SessionConfig {
        probe_interval: None,
        ..SessionConfig::default()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    assert_eq!(
        recover(&mut s, "pid-1", true).await.unwrap(),
        RecoverOutcome::Confirmed
    );
    assert!(matches!(
        recover(&mut s, "pid-1", false).await.unwrap(),
        RecoverOutcome::NothingPending(m) if m.contains("not active")
    ));
    drop(s);
    let seen = srv.await.unwrap();
    assert!(seen[1].contains("<commit><persist-id>pid-1</persist-id></commit>"));
    assert!(seen[2].contains("<cancel-commit><persist-id>pid-1</persist-id></cancel-commit>"));
}

#[test]
fn persist_ids_are_random_and_plain() {
    let a = new_persist_id();
    assert_ne!(a, new_persist_id());
    assert_eq!(a.len(), 6 + 32);
    assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
}

#[test]
fn mode_follows_capabilities() {
    let m = |caps: &[&str]| CommitMode::for_capabilities(|c| caps.contains(&c));
    assert_eq!(
        m(&[CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_CONFIRMED_COMMIT_11]),
        Some(CommitMode::ConfirmedPersist)
    );
    assert_eq!(
        m(&[CAP_CANDIDATE, CAP_CONFIRMED_COMMIT]),
        Some(CommitMode::Confirmed)
    );
    assert_eq!(m(&[CAP_CANDIDATE]), Some(CommitMode::Plain));
    assert_eq!(m(&[CAP_WRITABLE_RUNNING]), Some(CommitMode::Running));
    assert_eq!(m(&[]), None);
    let c = |caps: &[&str], t, confirmed| CommitMode::choose(|c| caps.contains(&c), t, confirmed);
    let cc = [CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_CONFIRMED_COMMIT_11];
    assert_eq!(
        c(&cc, Datastore::Candidate, true),
        Ok(CommitMode::ConfirmedPersist)
    );
    assert_eq!(c(&cc, Datastore::Candidate, false), Ok(CommitMode::Plain));
    assert_eq!(c(&cc, Datastore::Running, true), Err(CAP_WRITABLE_RUNNING));
    assert_eq!(
        c(&[CAP_WRITABLE_RUNNING], Datastore::Candidate, true),
        Err(CAP_CANDIDATE)
    );
    assert_eq!(
        c(&[CAP_WRITABLE_RUNNING], Datastore::Running, true),
        Ok(CommitMode::Running)
    );
}

#[tokio::test]
async fn test_pause_sits_between_the_confirmed_and_the_confirming_commit() {
    let (client, server) = duplex(1 << 16);
    let answers = vec![
        ok(1),
        ok(2),
        data(3, ""),
        ok(4),
        ok(5),
        data(6, NBR),
        ok(7),
        ok(8),
    ];
    let srv = tokio::spawn(script(server, FULL, Framing::Chunked, answers));
    let cfg = SessionConfig {
        probe_interval: None,
        ..SessionConfig::default()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    let pause = Duration::from_millis(200);
    let req = PushRequest {
        pause_after_confirmed_commit: pause,
        ..PushRequest::new(NBR, "pid-1")
    };
    let started = std::time::Instant::now();
    let mut verified_at = None;
    push(&mut s, &req, |_| {
        verified_at = Some(started.elapsed());
        Ok(())
    })
    .await
    .unwrap();
    assert!(
        verified_at.unwrap() >= pause,
        "verify ran before the pause ended"
    );
    drop(s);
    srv.await.unwrap();
}

#[test]
fn detail_names_stage_message_and_state() {
    let e = PushError {
        stage: PushStage::Commit,
        error: NetconfError::Rpc {
            op: "commit",
            errors: vec![RpcError {
                error_type: super::super::ErrorType::Application,
                tag: ErrorTag::DataMissing,
                severity: super::super::Severity::Error,
                app_tag: None,
                path: Some("/bgp/neighbor/peer-as".into()),
                message: Some("missing mandatory peer-as".into()),
                info: vec![],
            }],
        },
        rollback: Rollback::Discarded,
        cleanup: vec![],
    };
    assert_eq!(
        e.detail(),
        "commit rejected by the device: data-missing: missing mandatory peer-as (path /bgp/neighbor/peer-as) (nothing committed)"
    );
    assert!(!e.is_retryable());
}

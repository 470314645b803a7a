//! Durability: reopen after drop, the store lock, and group commit under load.

use super::*;
use crate::model::{JobKind, SessionStatus::*};
use crate::store::{SessionFilter, StoreError};
use std::sync::Arc;
use std::time::Duration;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, job, token, old_seq) = {
        let st = SledStore::open(dir.path()).unwrap();
        // a second open of a live store is refused (one process owns it)
        match SledStore::open(dir.path()) {
            Err(StoreError::Locked(d)) => assert_eq!(d, dir.path().display().to_string()),
            other => panic!("a second open: {:?}", other.err()),
        }
        let a = insert_one(&st, session(64512, 1, Pending));
        let b = insert_one(&st, session(64513, 2, Approved));
        st.transition(&a.session_id, Approved, opts("operator:noc"))
            .unwrap();
        let job = st
            .claim(crate::model::now_ms(), 60_000, "w", 1, &[])
            .unwrap()
            .remove(0);
        st.meta_put("tokens", "t1", b"hash").unwrap();
        block_on(st.durable()).unwrap();
        let token = job.lease.clone().unwrap().token;
        let clone = st.clone();
        drop(st);
        drop(clone); // the last handle closes the database
        let seq = b.seq;
        (a, b, job, token, seq)
    };
    let st = SledStore::open(dir.path()).unwrap();
    let a2 = st.get_session(&a.session_id).unwrap().unwrap();
    assert_eq!(a2.status, Approved);
    assert_eq!(st.get_session(&b.session_id).unwrap().unwrap(), b);
    assert_eq!(
        st.get_request(&b.request_id).unwrap().unwrap().session_ids,
        vec![b.session_id.clone()]
    );
    assert_eq!(st.audit(&a.session_id).unwrap().len(), 2);
    let jobs = st.jobs().unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .iter()
        .any(|j| j.job_id == job.job_id && j.lease.as_ref().map(|l| l.token) == Some(token)));
    assert_eq!(
        st.meta_get("tokens", "t1").unwrap().as_deref(),
        Some(&b"hash"[..])
    );
    let f = SessionFilter {
        owner_asn: Some(64513),
        ..Default::default()
    };
    assert_eq!(st.list_sessions(&f, None, 10).unwrap().sessions, vec![b]);
    // counters continue: no seq or job id is handed out twice
    let c = insert_one(&st, session(64512, 3, Pending));
    assert!(c.seq > old_seq);
    let j = st
        .enqueue(&c.session_id, "rtr1", JobKind::Expire, 0)
        .unwrap();
    assert!(jobs.iter().all(|old| old.job_id < j));
    // the killed worker's lease still works, or expires and is reclaimed
    st.complete(job.job_id, token).unwrap();
}

/// A crash between a batch's first and last write (the journal written,
/// one write of the batch in the trees): the next open writes the whole
/// batch, so the session comes back with its indexes, request, job and
/// audit, not as a record nothing else knows.
#[test]
fn a_batch_cut_short_by_a_crash_is_written_whole_at_the_next_open() {
    use super::super::{sessions, tx};
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(64512, 1, Approved);
    let req = request(64512);
    s.request_id = req.request_id.clone();
    {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let trees = tx::Trees::open(&db).unwrap();
        let ov = super::super::overlay::Overlay::default();
        sessions::insert_request(&trees.tx(&ov), &req, &[s.clone()], crate::model::now_ms())
            .unwrap();
        trees.apply_cut_short(ov, 1).unwrap();
        db.flush().unwrap();
        // one write reached the trees: the session record, nothing else
        assert_eq!(trees.sessions.len(), 1);
        assert!(trees.addresses.is_empty() && trees.requests.is_empty());
    }
    let st = SledStore::open(dir.path()).unwrap();
    let back = st.get_session(&s.session_id).unwrap().unwrap();
    assert_eq!(back.status, Approved);
    for f in [
        SessionFilter {
            router: Some(back.router.clone()),
            ..Default::default()
        },
        SessionFilter {
            status: Some(Approved),
            ..Default::default()
        },
        SessionFilter {
            owner_asn: Some(64512),
            ..Default::default()
        },
    ] {
        assert_eq!(
            st.list_sessions(&f, None, 10).unwrap().sessions,
            vec![back.clone()]
        );
    }
    assert_eq!(
        st.get_request(&req.request_id)
            .unwrap()
            .unwrap()
            .session_ids,
        vec![s.session_id.clone()]
    );
    assert_eq!(st.jobs().unwrap().len(), 1);
    assert!(!st.audit(&s.session_id).unwrap().is_empty());
    assert!(st.inner.trees.journal_is_empty());
    // its neighbor address is held: the same address again is the same session
    let again = insert(&st, 64512, vec![session(64512, 1, Approved)]).pop();
    assert!(
        !matches!(again, Some(crate::store::Inserted::New(_))),
        "the replayed address hold was lost: {again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_with_64_concurrent_tasks() {
    let (_d, st) = store();
    let st = Arc::new(st);
    // no pending write: resolves at once
    st.durable().await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..64u32 {
        let st = st.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..5u32 {
                insert_one(&*st, session(64512, t * 100 + i, Pending));
                st.durable().await.unwrap();
            }
        }));
    }
    // sled#1308 would hang here: bound the wait so a regression fails
    let all = futures::future::join_all(tasks);
    let res = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("durable() hung with 64 concurrent waiters");
    for r in res {
        r.unwrap();
    }
    let page = st
        .list_sessions(&SessionFilter::default(), None, 1000)
        .unwrap();
    assert_eq!(page.sessions.len(), 320);
}

#[test]
fn durable_is_static_and_works_off_runtime() {
    let (_d, st) = store();
    st.meta_put("ns", "k", b"v").unwrap();
    let fut = st.durable();
    drop(st); // the future does not borrow the store
    block_on(fut).unwrap();
}

/// Env var that turns [`child_writer`] into the writer process of
/// [`sigkill_after_durable_loses_nothing`].
const CHILD_DIR: &str = "PEERD_STORE_TEST_CHILD_DIR";

/// Not a test on its own: a no-op unless started by
/// [`sigkill_after_durable_loses_nothing`] as a child process. It writes
/// requests, reports each one once `durable()` resolved, and keeps writing
/// until it is killed.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let st = SledStore::open(std::path::Path::new(&dir)).unwrap();
    let started = std::time::Instant::now();
    let mut n = 0u32;
    while started.elapsed() < Duration::from_secs(60) {
        let s = insert_one(&st, session(64512, n, Approved));
        block_on(st.durable()).unwrap();
        println!("DURABLE {}", s.session_id);
        n += 1;
    }
}

#[test]
fn sigkill_after_durable_loses_nothing() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::sled_store::tests::durability::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in out.lines() {
        if let Some(id) = line.unwrap().strip_prefix("DURABLE ") {
            acked.push(id.to_string());
            if acked.len() == 50 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    assert_eq!(acked.len(), 50, "the child wrote and acknowledged");
    let st = SledStore::open(dir.path()).unwrap();
    for id in &acked {
        let s = st
            .get_session(id)
            .unwrap()
            .expect("acknowledged session survives");
        assert_eq!(s.status, Approved);
        assert_eq!(st.audit(id).unwrap()[0].action, "created");
    }
    let jobs = st.jobs().unwrap();
    assert!(acked
        .iter()
        .all(|id| jobs.iter().any(|j| &j.session_id == id)));
}

/// The LSN of the newest sled snapshot in `dir` (`snap.<lsn in hex>`).
fn snapshot_lsn(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let hex = name.strip_prefix("snap.")?;
            u64::from_str_radix(hex, 16).ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_clean_close_writes_a_snapshot_so_the_next_open_replays_little() {
    let dir = tempfile::tempdir().unwrap();
    let st = SledStore::open(dir.path()).unwrap();
    let at_open = snapshot_lsn(dir.path());
    let mut ids = Vec::new();
    for n in 0..50u32 {
        ids.push(insert_one(&st, session(64512, n, Pending)).session_id);
    }
    block_on(st.durable()).unwrap();
    assert_eq!(
        snapshot_lsn(dir.path()),
        at_open,
        "sled snapshots at open only"
    );
    drop(st);
    // the close reopened the store once: its snapshot covers what was written
    assert!(snapshot_lsn(dir.path()) > at_open);
    let st = SledStore::open(dir.path()).unwrap();
    for id in &ids {
        assert!(st.get_session(id).unwrap().is_some());
    }
    drop(st);
    // a store removed meanwhile is not created again by the close
    let gone = tempfile::tempdir().unwrap();
    let path = gone.path().join("data");
    let st = SledStore::open(&path).unwrap();
    std::fs::remove_dir_all(&path).unwrap();
    drop(st);
    assert!(!path.exists());
}

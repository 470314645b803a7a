//! The worker and the session lifecycle: a repeat of a `Deleting` session
//! is pushed only after the removal, a session that never reached its
//! router is removed without it, and a session deleted during the pre-push
//! read is not pushed. A real sled store and a driver that records, in
//! order, what reached the "router".

use super::tests::renderer;
use super::*;
use crate::app::lifecycle::{self, Deletion};
use crate::driver::{PushError, PushOutcome, RouterRead, RouterReads};
use crate::model::{new_id, Asn, RequestRecord, Session, SessionStatus as St};
use crate::platform::{Op, RenderedPush};
use crate::store::{Inserted, SledStore};
use futures::future::BoxFuture;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

type Hook = Box<dyn Fn() + Send + Sync>;

/// Records every push (op, neighbor addresses, whether it succeeded).
#[derive(Default)]
struct Recorder {
    ops: Mutex<Vec<(Op, Vec<IpAddr>, bool)>>,
    fail_removes: AtomicBool,
    fail_reads: AtomicBool,
    reads: AtomicU64,
    on_read: Mutex<Option<Hook>>,
}

impl RouterDriver for Recorder {
    fn push(&self, push: RenderedPush) -> BoxFuture<'static, Result<PushOutcome, PushError>> {
        let fail = push.op == Op::Remove && self.fail_removes.load(Ordering::SeqCst);
        let addrs = push.expected.iter().map(|e| e.address).collect();
        self.ops.lock().unwrap().push((push.op, addrs, !fail));
        Box::pin(async move {
            if fail {
                return Err(PushError::Transient("connection refused".into()));
            }
            Ok(PushOutcome { router_ms: 1 })
        })
    }

    fn read(&self, reads: RouterReads) -> BoxFuture<'static, RouterRead> {
        let running = reads.running.is_some().then(|| {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if let Some(hook) = self.on_read.lock().unwrap().as_ref() {
                hook();
            }
            if self.fail_reads.load(Ordering::SeqCst) {
                return Err(PushError::Transient(
                    "cannot connect to 127.0.0.1:2222".into(),
                ));
            }
            Ok(Vec::new())
        });
        let state = reads.state.is_some().then(|| Ok(HashMap::new()));
        Box::pin(async move { RouterRead { running, state } })
    }
}

const ADDR: &str = "192.0.2.50";

fn session() -> Session {
    Session {
        created_by: "pdb:1".into(),
        ..Session::sample(
            "rtr1",
            "pdb:ix:1",
            (65002, ADDR.parse().unwrap()),
            (65001, "192.0.2.1".parse().unwrap()),
        )
    }
}

fn insert(store: &SledStore, s: Session) -> Inserted {
    let req = RequestRecord {
        request_id: new_id(),
        requester_asn: Asn(65002),
        created_by: "pdb:1".into(),
        created_ms: now_ms(),
        return_url: None,
        session_ids: vec![],
    };
    let s = Session {
        request_id: req.request_id.clone(),
        ..s
    };
    store.insert_request(&req, vec![s]).unwrap().pop().unwrap()
}

fn new_id_of(i: Inserted) -> String {
    match i {
        Inserted::New(s) => s.session_id,
        other => panic!("expected a new session: {other:?}"),
    }
}

fn setup() -> (tempfile::TempDir, Arc<SledStore>, Arc<Recorder>, Worker) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let driver = Arc::new(Recorder::default());
    let cfg = WorkerSettings {
        backoff_base_ms: 1,
        backoff_max_ms: 2,
        max_attempts: 3,
        ..Default::default()
    };
    let w = Worker::new(store.clone(), renderer(true), driver.clone(), cfg);
    (dir, store, driver, w)
}

/// Ticks `n` times, letting each router batch finish.
async fn ticks(w: &Worker, n: usize) {
    for _ in 0..n {
        w.tick_once().unwrap();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if w.busy.lock().unwrap().is_empty() {
                break;
            }
        }
    }
}

fn status(store: &SledStore, id: &str) -> Option<St> {
    store.get_session(id).unwrap().map(|s| s.status)
}

#[tokio::test]
async fn a_repeat_of_a_deleting_session_is_pushed_after_the_removal() {
    let (_d, store, driver, w) = setup();
    let old = new_id_of(insert(&store, session()));
    ticks(&w, 2).await;
    assert_eq!(status(&store, &old), Some(St::Configured));

    // the router refuses the removal for a while
    driver.fail_removes.store(true, Ordering::SeqCst);
    let d = lifecycle::delete(store.as_ref(), &old, "pdb:1").unwrap();
    assert!(matches!(d, Deletion::Deleting(_)), "{d:?}");
    let new = new_id_of(insert(&store, session()));
    assert_ne!(new, old);
    ticks(&w, 10).await;
    assert_eq!(status(&store, &old), Some(St::Deleting));
    assert_eq!(status(&store, &new), Some(St::Approved));
    let adds = |driver: &Recorder| {
        driver
            .ops
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.0 == Op::Add)
            .count()
    };
    assert_eq!(adds(&driver), 1, "only the first session was pushed");

    // once the removal goes through, the repeat is pushed, after it
    driver.fail_removes.store(false, Ordering::SeqCst);
    ticks(&w, 10).await;
    assert_eq!(status(&store, &old), None);
    assert_eq!(status(&store, &new), Some(St::Configured));
    let ops = driver.ops.lock().unwrap().clone();
    let addr: IpAddr = ADDR.parse().unwrap();
    let last_two: Vec<(Op, bool)> = ops[ops.len() - 2..]
        .iter()
        .map(|(op, a, ok)| {
            assert_eq!(a, &vec![addr]);
            (*op, *ok)
        })
        .collect();
    assert_eq!(last_two, vec![(Op::Remove, true), (Op::Add, true)]);
    assert!(ops[1..ops.len() - 2]
        .iter()
        .all(|o| o.0 == Op::Remove && !o.2));
    assert_eq!(adds(&driver), 2);
}

#[tokio::test]
async fn a_session_that_never_reached_the_router_is_removed_without_it() {
    let (_d, store, driver, w) = setup();
    // the router is down: the pre-push read fails, nothing is pushed
    driver.fail_reads.store(true, Ordering::SeqCst);
    let id = new_id_of(insert(&store, session()));
    ticks(&w, 1).await;
    let s = store.get_session(&id).unwrap().unwrap();
    assert_eq!(s.status, St::Provisioning);
    assert!(!s.pushed);
    assert!(s.status_detail.unwrap().contains("cannot connect"));
    let d = lifecycle::delete(store.as_ref(), &id, "pdb:1").unwrap();
    assert!(matches!(d, Deletion::Removed(_)), "{d:?}");
    assert_eq!(status(&store, &id), None);
    ticks(&w, 3).await;
    assert!(
        driver.ops.lock().unwrap().is_empty(),
        "the router was never changed"
    );
    assert!(store.jobs().unwrap().is_empty());
    let trail = store.audit(&id).unwrap();
    let last = trail.last().unwrap();
    assert_eq!((last.action.as_str(), last.to), ("delete", None));
    assert!(last
        .detail
        .as_deref()
        .unwrap()
        .contains("without contacting"));

    // a Deleting session that was never pushed (say, from an older peerd)
    // is removed by the worker without a push either
    driver.fail_reads.store(false, Ordering::SeqCst);
    let p = new_id_of(insert(
        &store,
        Session {
            status: St::Pending,
            ..session()
        },
    ));
    let opts = crate::store::TransitionOpts {
        actor: "test".into(),
        ..Default::default()
    };
    store.transition(&p, St::Deleting, opts).unwrap();
    ticks(&w, 2).await;
    assert_eq!(status(&store, &p), None);
    assert!(driver.ops.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_session_deleted_during_the_read_is_not_pushed() {
    let (_d, store, driver, w) = setup();
    let id = new_id_of(insert(&store, session()));
    let (s2, id2) = (store.clone(), id.clone());
    let deleted = Arc::new(AtomicBool::new(false));
    let flag = deleted.clone();
    *driver.on_read.lock().unwrap() = Some(Box::new(move || {
        let d = lifecycle::delete(s2.as_ref(), &id2, "pdb:1").unwrap();
        flag.store(matches!(d, Deletion::Removed(_)), Ordering::SeqCst);
    }));
    ticks(&w, 3).await;
    assert_eq!(driver.reads.load(Ordering::SeqCst), 1);
    assert!(deleted.load(Ordering::SeqCst), "removed without the router");
    assert!(driver.ops.lock().unwrap().is_empty(), "not pushed");
    assert_eq!(status(&store, &id), None);
    assert!(store.jobs().unwrap().is_empty());
}

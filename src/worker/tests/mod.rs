//! Worker and poller tests on a real sled store, real rendering (a small
//! test platform) and a recording driver.

use super::*;
use crate::driver::{NeighborState, PushError, PushOutcome, RouterRead, RouterReads};
use crate::inventory::{Credential, HostKey, Inventory, Location, Policy, Router};
use crate::model::{
    new_id, Asn, JobKind, LocationType, RequestRecord, Session, SessionStatus as St,
};
use crate::platform::{ObservedNeighbor, Op, Profiles, RenderedPush};
use crate::render::TemplateEnv;
use crate::store::{Inserted, SledStore, TransitionOpts};
use futures::future::BoxFuture;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

mod drift;
mod lease;

/// The test platforms: ssh-exec with a verify and (`test`) a state read,
/// or (`test-nostate`) none. The driver here never runs the commands.
const PROFILE: &str = "transport: ssh-exec
add:
  steps:
    - command: apply
      stdin: add.tera
remove:
  steps:
    - command: apply
      stdin: remove.tera
verify:
  command: show config
  parser: frr-running-config
STATE";

/// What the worker renders with: `rtr1` (at `pdb:ix:1`) on the `test`
/// platform, or on `test-nostate` with `state: false`; `slow` (at
/// `pdb:ix:2`) on `test`.
pub(super) fn renderer(state: bool) -> Renderer {
    let with_state = PROFILE.replace(
        "STATE",
        "state:\n  command: show state\n  parser: frr-neighbors-json\n",
    );
    let without = PROFILE.replace("STATE", "");
    let profiles = Profiles::from_texts([
        ("test", "drivers/test.yaml", with_state.as_str()),
        (
            "test-nostate",
            "drivers/test-nostate.yaml",
            without.as_str(),
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let each = "{% for n in neighbors %}{{ n.address }} {{ n.peer_as }}\n{% endfor %}";
    let env = TemplateEnv::from_templates(
        ["test", "test-nostate"]
            .into_iter()
            .flat_map(|p| [format!("{p}/add.tera"), format!("{p}/remove.tera")])
            .map(|name| (name, each)),
    )
    .unwrap();
    let router = |name: &str, platform: &str| Router {
        name: name.into(),
        platform: platform.into(),
        host: "127.0.0.1".into(),
        port: 22,
        user: "peerd".into(),
        credential: Credential::PasswordEnv("PEERD_TEST".into()),
        host_key: HostKey::Key("ssh-ed25519 AAAAtest test".into()),
        import_policy: None,
        export_policy: None,
        vars: Default::default(),
    };
    let location = |id: &str, router: &str| Location {
        id: id.into(),
        kind: LocationType::Public,
        name: "Test IX".into(),
        router: router.into(),
        prefixes: vec!["192.0.2.0/24".parse().unwrap()],
        our_ips: vec!["192.0.2.1".parse().unwrap()],
        prefix_filter: None,
    };
    let inv = Inventory {
        asn: 65001,
        routers: vec![
            router("rtr1", if state { "test" } else { "test-nostate" }),
            router("slow", "test"),
        ],
        locations: vec![location("pdb:ix:1", "rtr1"), location("pdb:ix:2", "slow")],
        policy: Policy {
            allow_private_asns: true,
            ..Policy::default()
        },
    };
    Renderer::new(Arc::new(env), Arc::new(profiles), Arc::new(inv))
}

/// A driver that records pushes and answers as told.
#[derive(Default)]
struct FakeDriver {
    pushes: Mutex<Vec<(String, Op, usize)>>,
    fail_transient: AtomicBool,
    fail_permanent: AtomicBool,
    hang_router: Mutex<Option<String>>,
    state: Mutex<HashMap<IpAddr, NeighborState>>,
    /// What the router's running config holds besides what was pushed.
    running: Mutex<Vec<IpAddr>>,
    /// The neighbors pushes put on the router (and removals took off).
    pushed: Mutex<HashMap<IpAddr, ObservedNeighbor>>,
    /// Reads of the running config.
    reads: AtomicU64,
    /// Reads of BGP state.
    state_reads: AtomicU64,
    /// The running-config read fails.
    fail_reads: AtomicBool,
    /// The error a failing push gives instead of the usual.
    error: Mutex<Option<PushError>>,
    /// The error a failing running-config read gives.
    read_error: Mutex<Option<PushError>>,
    /// Runs while a running-config read is in progress.
    during_read: Mutex<Option<Box<dyn FnMut() + Send>>>,
}

impl RouterDriver for FakeDriver {
    fn push(&self, push: RenderedPush) -> BoxFuture<'static, Result<PushOutcome, PushError>> {
        let router = push.router.clone();
        self.pushes
            .lock()
            .unwrap()
            .push((router.clone(), push.op, push.session_ids.len()));
        let hang = self.hang_router.lock().unwrap().as_deref() == Some(router.as_str());
        let transient = self.fail_transient.load(Ordering::SeqCst);
        let permanent = self.fail_permanent.load(Ordering::SeqCst);
        let error = self.error.lock().unwrap().clone();
        if !(hang || transient || permanent || error.is_some()) {
            let mut on = self.pushed.lock().unwrap();
            for e in &push.expected {
                match push.op {
                    Op::Add => on.insert(
                        e.address,
                        ObservedNeighbor {
                            peer_as: Some(e.peer_as),
                            // the test sessions carry no secret
                            has_secret: Some(!push.secrets.is_empty()),
                            ..ObservedNeighbor::new(e.address)
                        },
                    ),
                    Op::Remove => on.remove(&e.address),
                };
            }
        }
        Box::pin(async move {
            if hang {
                futures::future::pending::<()>().await;
            }
            if let Some(e) = error {
                return Err(e);
            }
            if permanent {
                return Err(PushError::Permanent("% Unknown command: neighbor".into()));
            }
            if transient {
                return Err(PushError::Transient("connection refused".into()));
            }
            Ok(PushOutcome { router_ms: 1 })
        })
    }

    fn read(&self, reads: RouterReads) -> BoxFuture<'static, RouterRead> {
        let running = reads.running.is_some().then(|| {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if let Some(f) = self.during_read.lock().unwrap().as_mut() {
                f();
            }
            let mut running: Vec<_> = self
                .running
                .lock()
                .unwrap()
                .iter()
                .map(|ip| ObservedNeighbor::new(*ip))
                .collect();
            running.extend(self.pushed.lock().unwrap().values().cloned());
            let fail = self.fail_reads.load(Ordering::SeqCst);
            match self.read_error.lock().unwrap().clone() {
                Some(e) => Err(e),
                None if fail => Err(PushError::Transient("connection refused".into())),
                None => Ok(running),
            }
        });
        let state = reads.state.is_some().then(|| {
            self.state_reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.state.lock().unwrap().clone())
        });
        Box::pin(async move { RouterRead { running, state } })
    }
}

impl FakeDriver {
    /// Changes (or with `None` removes) a pushed neighbor "by hand".
    fn edit(&self, ip: &str, f: Option<fn(&mut ObservedNeighbor)>) {
        let ip: IpAddr = ip.parse().unwrap();
        let mut on = self.pushed.lock().unwrap();
        match f {
            None => {
                on.remove(&ip).expect("the neighbor is on the router");
            }
            Some(f) => f(on.get_mut(&ip).expect("the neighbor is on the router")),
        }
    }
}

fn session(n: u32, router: &str) -> Session {
    let local = format!("192.0.2.{}", 10 + n).parse().unwrap();
    let location = if router == "slow" {
        "pdb:ix:2"
    } else {
        "pdb:ix:1"
    };
    Session {
        created_by: "operator:test".into(),
        ..Session::sample(
            router,
            location,
            (65002, local),
            (65001, "192.0.2.1".parse().unwrap()),
        )
    }
}

fn insert(store: &SledStore, sessions: Vec<Session>) -> Vec<String> {
    let mut rid = session(0, "x");
    rid.request_id = new_id();
    let req = RequestRecord {
        request_id: rid.request_id.clone(),
        requester_asn: Asn(65002),
        created_by: "operator:test".into(),
        created_ms: now_ms(),
        return_url: None,
        session_ids: vec![],
    };
    let sessions = sessions
        .into_iter()
        .map(|mut s| {
            s.request_id = req.request_id.clone();
            s
        })
        .collect();
    store
        .insert_request(&req, sessions)
        .unwrap()
        .into_iter()
        .map(|i| match i {
            Inserted::New(s) => s.session_id,
            other => panic!("{other:?}"),
        })
        .collect()
}

type Setup = (tempfile::TempDir, Arc<SledStore>, Arc<FakeDriver>, Worker);

fn setup(cfg: WorkerSettings) -> Setup {
    setup_on(cfg, true)
}

/// With `state: false`, rtr1's platform reads no BGP state.
fn setup_on(cfg: WorkerSettings, state: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let driver = Arc::new(FakeDriver::default());
    let w = Worker::new(store.clone(), renderer(state), driver.clone(), cfg);
    (dir, store, driver, w)
}

fn fast() -> WorkerSettings {
    WorkerSettings {
        backoff_base_ms: 1,
        backoff_max_ms: 2,
        max_attempts: 3,
        ..Default::default()
    }
}

/// Ticks until no router is busy and no job is claimable now.
async fn drain(w: &Worker) {
    for _ in 0..200 {
        let n = w.tick_once().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        if n == 0 && w.busy.lock().unwrap().is_empty() && w.tick_once().unwrap() == 0 {
            // give spawned tasks a moment to finish
            tokio::time::sleep(Duration::from_millis(5)).await;
            if w.busy.lock().unwrap().is_empty() {
                return;
            }
        }
    }
}

fn status(store: &SledStore, id: &str) -> St {
    store.get_session(id).unwrap().unwrap().status
}

#[tokio::test]
async fn twenty_sessions_for_one_router_go_out_in_one_apply() {
    let (_d, store, driver, w) = setup(fast());
    let ids = insert(&store, (0..20).map(|n| session(n, "rtr1")).collect());
    drain(&w).await;
    assert_eq!(
        *driver.pushes.lock().unwrap(),
        vec![("rtr1".to_string(), Op::Add, 20)]
    );
    assert_eq!(w.metrics.applies("rtr1"), 1);
    for id in &ids {
        assert_eq!(status(&store, id), St::Configured);
        let configured = store
            .audit(id)
            .unwrap()
            .iter()
            .filter(|e| e.to == Some(St::Configured))
            .count();
        assert_eq!(configured, 1);
    }
    assert!(store.jobs().unwrap().is_empty());
}

#[tokio::test]
async fn a_neighbor_already_on_the_router_is_never_touched() {
    let (_d, store, driver, w) = setup(fast());
    let taken = session(1, "rtr1");
    driver.running.lock().unwrap().push(taken.local_ip);
    let ids = insert(&store, vec![taken, session(2, "rtr1")]);
    drain(&w).await;
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Failed);
    assert!(!s.pushed);
    let d = s.status_detail.unwrap();
    assert!(
        d.contains("neighbor 192.0.2.11 already exists on router rtr1")
            && d.contains("not configured by peerd"),
        "{d}"
    );
    let other = store.get_session(&ids[1]).unwrap().unwrap();
    assert_eq!(other.status, St::Configured);
    assert!(other.pushed);
    assert_eq!(
        *driver.pushes.lock().unwrap(),
        vec![("rtr1".to_string(), Op::Add, 1)],
        "only the free address was pushed"
    );
    // a re-push of a session peerd already pushed reads nothing first
    let reads = driver.reads.load(Ordering::SeqCst);
    store
        .transition(
            &ids[1],
            St::Approved,
            TransitionOpts {
                actor: "operator:test".into(),
                ..Default::default()
            },
        )
        .unwrap();
    drain(&w).await;
    assert_eq!(status(&store, &ids[1]), St::Configured);
    assert_eq!(driver.reads.load(Ordering::SeqCst), reads);
}

#[tokio::test]
async fn transient_errors_retry_then_fail_with_the_message() {
    let (_d, store, driver, w) = setup(fast());
    driver.fail_transient.store(true, Ordering::SeqCst);
    let ids = insert(&store, vec![session(1, "rtr1")]);
    w.tick_once().unwrap();
    // the first attempt's detail (within 5 s: the machine may be busy)
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let s = loop {
        let s = store.get_session(&ids[0]).unwrap().unwrap();
        let tried = s
            .status_detail
            .as_deref()
            .is_some_and(|d| d.contains("attempt 1"));
        if tried || std::time::Instant::now() > until {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(s.status, St::Provisioning);
    let d = s.status_detail.unwrap();
    assert!(
        d.contains("attempt 1") && d.contains("connection refused"),
        "{d}"
    );
    drain(&w).await;
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Failed);
    assert!(s.status_detail.unwrap().contains("connection refused"));
    assert_eq!(driver.pushes.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn permanent_error_fails_at_once() {
    let (_d, store, driver, w) = setup(fast());
    driver.fail_permanent.store(true, Ordering::SeqCst);
    let ids = insert(&store, vec![session(1, "rtr1")]);
    drain(&w).await;
    assert_eq!(status(&store, &ids[0]), St::Failed);
    assert_eq!(driver.pushes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn delete_removes_neighbor_then_session() {
    let (_d, store, driver, w) = setup(fast());
    let ids = insert(&store, vec![session(1, "rtr1")]);
    drain(&w).await;
    store
        .transition(&ids[0], St::Deleting, TransitionOptsFor::api())
        .unwrap();
    drain(&w).await;
    assert!(store.get_session(&ids[0]).unwrap().is_none());
    let pushes = driver.pushes.lock().unwrap().clone();
    assert_eq!(pushes.last().unwrap().1, Op::Remove);
}

struct TransitionOptsFor;
impl TransitionOptsFor {
    fn api() -> crate::store::TransitionOpts {
        crate::store::TransitionOpts {
            actor: "test".into(),
            ..Default::default()
        }
    }
}

#[tokio::test]
async fn a_crash_mid_push_resumes_and_configures_once() {
    let (dir, store, _driver, w) = setup(fast());
    let ids = insert(&store, (0..3).map(|n| session(n, "rtr1")).collect());
    // a worker claims and starts provisioning, then "dies" (lease held)
    let jobs = store
        .claim(now_ms(), 60_000, "dead-worker", 10, &[])
        .unwrap();
    assert_eq!(jobs.len(), 3);
    store
        .transition(&ids[0], St::Provisioning, TransitionOptsFor::api())
        .unwrap();
    drop(w);
    // a new worker starts: leases of the dead process are reclaimed at start
    let driver = Arc::new(FakeDriver::default());
    let w2 = Worker::new(store.clone(), renderer(true), driver.clone(), fast());
    store.reclaim_expired(u64::MAX).unwrap();
    drain(&w2).await;
    for id in &ids {
        assert_eq!(status(&store, id), St::Configured);
        let n = store
            .audit(id)
            .unwrap()
            .iter()
            .filter(|e| e.to == Some(St::Configured))
            .count();
        assert_eq!(n, 1);
    }
    assert_eq!(driver.pushes.lock().unwrap().len(), 1);
    drop(dir);
}

#[tokio::test]
async fn a_hanging_router_does_not_block_another() {
    let (_d, store, driver, w) = setup(fast());
    *driver.hang_router.lock().unwrap() = Some("slow".into());
    let slow = insert(&store, vec![session(1, "slow")]);
    let fast_ids = insert(&store, vec![session(2, "rtr1")]);
    for _ in 0..20 {
        w.tick_once().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(status(&store, &fast_ids[0]), St::Configured);
    assert_eq!(status(&store, &slow[0]), St::Provisioning);
    // more work for the slow router waits: one push at a time per router
    insert(&store, vec![session(3, "slow")]);
    for _ in 0..5 {
        w.tick_once().unwrap();
    }
    let n_slow = driver
        .pushes
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.0 == "slow")
        .count();
    assert_eq!(n_slow, 1);
}

#[tokio::test]
async fn poller_moves_states_and_expires_after_the_window() {
    let (_d, store, driver, w) = setup(fast());
    let ids = insert(&store, vec![session(1, "rtr1"), session(2, "rtr1")]);
    drain(&w).await;
    let up: IpAddr = "192.0.2.11".parse().unwrap();
    driver
        .state
        .lock()
        .unwrap()
        .insert(up, NeighborState::Established);
    w.poll_router("rtr1", 3_600_000).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Established);
    assert_eq!(status(&store, &ids[1]), St::Configured);
    driver
        .state
        .lock()
        .unwrap()
        .insert(up, NeighborState::NotEstablished);
    w.poll_router("rtr1", 3_600_000).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Down);
    // window of 0 ms: the never-established session expires
    tokio::time::sleep(Duration::from_millis(2)).await;
    w.poll_router("rtr1", 0).await.unwrap();
    w.poll_router("rtr1", 0).await.unwrap(); // no second Expire job
    assert_eq!(
        store
            .jobs()
            .unwrap()
            .iter()
            .filter(|j| j.kind == JobKind::Expire)
            .count(),
        1
    );
    drain(&w).await;
    assert_eq!(status(&store, &ids[1]), St::Unestablished);
    assert_eq!(status(&store, &ids[0]), St::Down);
}

#[tokio::test]
async fn a_poll_lists_and_renders_while_no_other_router_does() {
    let (_d, store, _driver, w) = setup(fast());
    insert(&store, vec![session(1, "rtr1")]);
    drain(&w).await;
    let other = w.poll_cpu.clone().acquire_owned().await.unwrap();
    let poll = tokio::spawn({
        let w = w.clone();
        async move { w.poll_router("rtr1", 3_600_000).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !poll.is_finished(),
        "the poll went ahead of another router's"
    );
    drop(other);
    poll.await.unwrap().unwrap();
    assert_eq!(w.poll_cpu.available_permits(), 1);
}

#[tokio::test]
async fn poller_reports_a_session_down_on_its_max_prefix_limit() {
    use crate::platform::DownReason;
    let (_d, store, driver, w) = setup(fast());
    let ids = insert(&store, vec![session(1, "rtr1"), session(2, "rtr1")]);
    drain(&w).await;
    let (up, never): (IpAddr, IpAddr) =
        ("192.0.2.11".parse().unwrap(), "192.0.2.12".parse().unwrap());
    driver
        .state
        .lock()
        .unwrap()
        .insert(up, NeighborState::Established);
    w.poll_router("rtr1", 3_600_000).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Established);
    {
        let mut st = driver.state.lock().unwrap();
        st.insert(up, NeighborState::Down(DownReason::MaxPrefix));
        st.insert(never, NeighborState::Down(DownReason::MaxPrefix));
    }
    w.poll_router("rtr1", 3_600_000).await.unwrap();
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Down);
    let want = match crate::render::max_prefix(&s, &w.render.inv) {
        Some(n) => format!("down: the peer sent more than {n} prefixes (max-prefix)"),
        None => "down: the peer sent more prefixes than its limit (max-prefix)".into(),
    };
    assert_eq!(s.status_detail.as_deref(), Some(want.as_str()));
    // one that never came up stays Configured, with the same detail
    let s2 = store.get_session(&ids[1]).unwrap().unwrap();
    assert_eq!(s2.status, St::Configured);
    assert!(
        s2.status_detail
            .as_deref()
            .unwrap_or("")
            .contains("(max-prefix)"),
        "{s2:?}"
    );
    let text = w.metrics.render();
    assert!(
        text.contains("peerd_bgp_sessions_down_max_prefix{router=\"rtr1\"} 2"),
        "{text}"
    );
    // back up: Established, the detail cleared, the gauge at 0
    driver
        .state
        .lock()
        .unwrap()
        .insert(up, NeighborState::Established);
    w.poll_router("rtr1", 3_600_000).await.unwrap();
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Established);
    assert_eq!(s.status_detail, None);
    assert!(w
        .metrics
        .render()
        .contains("peerd_bgp_sessions_down_max_prefix{router=\"rtr1\"} 1"));
}

#[test]
fn backoff_doubles_and_caps() {
    let c = WorkerSettings {
        backoff_base_ms: 100,
        backoff_max_ms: 1000,
        ..Default::default()
    };
    assert_eq!(c.backoff(1), 100);
    assert_eq!(c.backoff(2), 200);
    assert_eq!(c.backoff(4), 800);
    assert_eq!(c.backoff(5), 1000);
    assert_eq!(c.backoff(60), 1000);
}

//! Drift (the poller against the running config), and running out of file
//! descriptors never failing a session, on the recording driver.

use super::*;

const HOUR: u64 = 3_600_000;

/// Two sessions of rtr1 (192.0.2.11 and .12), pushed and `Configured`.
async fn configured(
    cfg: WorkerSettings,
) -> (
    tempfile::TempDir,
    Arc<SledStore>,
    Arc<FakeDriver>,
    Worker,
    Vec<String>,
) {
    configured_on(cfg, true).await
}

/// [`configured`], rtr1 on a platform with (`state`) or without BGP state.
async fn configured_on(
    cfg: WorkerSettings,
    state: bool,
) -> (
    tempfile::TempDir,
    Arc<SledStore>,
    Arc<FakeDriver>,
    Worker,
    Vec<String>,
) {
    let (d, store, driver, w) = setup_on(cfg, state);
    let ids = insert(&store, vec![session(1, "rtr1"), session(2, "rtr1")]);
    drain(&w).await;
    for id in &ids {
        assert_eq!(status(&store, id), St::Configured);
    }
    (d, store, driver, w, ids)
}

fn detail(store: &SledStore, id: &str) -> String {
    store
        .get_session(id)
        .unwrap()
        .unwrap()
        .status_detail
        .unwrap_or_default()
}

fn actions(store: &SledStore, id: &str) -> Vec<String> {
    store
        .audit(id)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

fn pushes(d: &FakeDriver) -> usize {
    d.pushes.lock().unwrap().len()
}

#[tokio::test]
async fn a_missing_neighbor_is_re_provisioned_on_the_second_poll() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    let reads = driver.reads.load(Ordering::SeqCst);
    driver.edit("192.0.2.11", None);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(
        status(&store, &ids[0]),
        St::Configured,
        "seen once: not yet"
    );
    w.poll_router("rtr1", HOUR).await.unwrap();
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Approved);
    assert_eq!(
        s.status_detail.as_deref(),
        Some("drift: neighbor 192.0.2.11 missing on router rtr1; re-provisioning")
    );
    assert!(actions(&store, &ids[0]).contains(&"drift-repair".to_string()));
    assert_eq!(status(&store, &ids[1]), St::Configured, "the other is fine");
    let m = w.metrics.render();
    assert!(m.contains("peerd_drift_repairs_total 1\n"), "{m}");
    assert!(m.contains("peerd_drift_detected_total 1\n"), "{m}");
    let before = pushes(&driver);
    drain(&w).await;
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!((s.status, s.status_detail), (St::Configured, None));
    assert_eq!(pushes(&driver), before + 1);
    assert!(driver.pushed.lock().unwrap().contains_key(&s.local_ip));
    // pushed already: no pre-push read (only the poller's two reads)
    assert_eq!(driver.reads.load(Ordering::SeqCst), reads + 2);
    // the time window starts again at the repair
    w.poll_router("rtr1", 60_000).await.unwrap();
    assert!(store.jobs().unwrap().is_empty());
}

#[tokio::test]
async fn an_established_or_down_session_is_repaired_too() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    let ip = |n: u8| -> IpAddr { format!("192.0.2.{n}").parse().unwrap() };
    driver.state.lock().unwrap().extend([
        (ip(11), NeighborState::Established),
        (ip(12), NeighborState::Established),
    ]);
    w.poll_router("rtr1", HOUR).await.unwrap();
    driver
        .state
        .lock()
        .unwrap()
        .insert(ip(12), NeighborState::NotEstablished);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Established);
    assert_eq!(status(&store, &ids[1]), St::Down);
    driver.edit("192.0.2.11", None);
    driver.edit("192.0.2.12", None);
    driver.state.lock().unwrap().clear();
    w.poll_router("rtr1", HOUR).await.unwrap();
    w.poll_router("rtr1", HOUR).await.unwrap();
    for id in &ids {
        assert_eq!(status(&store, id), St::Approved, "{}", detail(&store, id));
    }
    drain(&w).await;
    for id in &ids {
        assert_eq!(status(&store, id), St::Configured);
    }
}

#[tokio::test]
async fn with_repair_off_drift_is_reported_not_repaired() {
    let cfg = WorkerSettings {
        repair_drift: false,
        ..fast()
    };
    let (_d, store, driver, w, ids) = configured(cfg).await;
    let up: IpAddr = "192.0.2.12".parse().unwrap();
    driver
        .state
        .lock()
        .unwrap()
        .insert(up, NeighborState::Established);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[1]), St::Established);
    driver.edit("192.0.2.11", None);
    driver.edit("192.0.2.12", None);
    driver.state.lock().unwrap().clear();
    let before = pushes(&driver);
    for _ in 0..2 {
        w.poll_router("rtr1", HOUR).await.unwrap();
    }
    let want = |ip: &str| {
        format!("drift: neighbor {ip} missing on router rtr1; not repaired (worker.repair_drift is off)")
    };
    assert_eq!(status(&store, &ids[0]), St::Configured);
    assert_eq!(detail(&store, &ids[0]), want("192.0.2.11"));
    assert_eq!(
        status(&store, &ids[1]),
        St::Down,
        "not up without its neighbor"
    );
    assert_eq!(detail(&store, &ids[1]), want("192.0.2.12"));
    assert!(actions(&store, &ids[1]).contains(&"drift-missing".to_string()));
    let audit_len = store.audit(&ids[0]).unwrap().len();
    for _ in 0..4 {
        w.poll_router("rtr1", HOUR).await.unwrap();
    }
    assert_eq!(
        store.audit(&ids[0]).unwrap().len(),
        audit_len,
        "reported once"
    );
    let m = w.metrics.render();
    assert!(m.contains("peerd_drift_detected_total 2\n"), "{m}");
    assert!(m.contains("peerd_drift_repairs_total 0\n"), "{m}");
    drain(&w).await;
    assert_eq!(pushes(&driver), before, "nothing pushed");
    assert!(store.jobs().unwrap().is_empty());
    // the operator puts it back: the report goes away
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    driver.pushed.lock().unwrap().insert(
        s.local_ip,
        ObservedNeighbor {
            peer_as: Some(65002),
            has_secret: Some(false),
            ..ObservedNeighbor::new(s.local_ip)
        },
    );
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(detail(&store, &ids[0]), "");
    assert_eq!(status(&store, &ids[0]), St::Configured);
}

#[tokio::test]
async fn a_neighbor_changed_by_hand_fails_the_session_and_stays_as_it_is() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    driver.edit("192.0.2.11", Some(|n| n.peer_as = Some(65099)));
    driver.edit("192.0.2.12", Some(|n| n.has_secret = Some(true)));
    let before = pushes(&driver);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(
        status(&store, &ids[0]),
        St::Configured,
        "seen once: not yet"
    );
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Failed);
    assert_eq!(
        detail(&store, &ids[0]),
        "drift: neighbor 192.0.2.11 on router rtr1 has remote-as 65099, expected 65002; not repaired"
    );
    assert_eq!(status(&store, &ids[1]), St::Failed);
    assert_eq!(
        detail(&store, &ids[1]),
        "drift: neighbor 192.0.2.12 on router rtr1 has a password, expected none; not repaired"
    );
    assert!(actions(&store, &ids[0]).contains(&"drift-changed".to_string()));
    drain(&w).await;
    assert_eq!(pushes(&driver), before, "the router is left alone");
    assert_eq!(
        driver.pushed.lock().unwrap()[&"192.0.2.11".parse::<IpAddr>().unwrap()].peer_as,
        Some(65099)
    );
}

#[tokio::test]
async fn unknown_peer_as_or_secret_is_not_judged() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    driver.edit("192.0.2.11", Some(|n| n.peer_as = None));
    driver.edit("192.0.2.12", Some(|n| n.has_secret = None));
    for _ in 0..3 {
        w.poll_router("rtr1", HOUR).await.unwrap();
    }
    for id in &ids {
        assert_eq!(status(&store, id), St::Configured);
    }
}

#[tokio::test]
async fn a_failed_read_judges_nothing_and_breaks_the_row() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    driver.edit("192.0.2.11", None);
    w.poll_router("rtr1", HOUR).await.unwrap();
    driver.fail_reads.store(true, Ordering::SeqCst);
    let e = w.poll_router("rtr1", HOUR).await.unwrap_err();
    assert!(e.contains("reading the running config"), "{e}");
    driver.fail_reads.store(false, Ordering::SeqCst);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(
        status(&store, &ids[0]),
        St::Configured,
        "seen once since the failure"
    );
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Approved);
}

#[tokio::test]
async fn a_session_pushed_again_during_the_read_is_not_flagged() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    driver.edit("192.0.2.11", None);
    w.poll_router("rtr1", HOUR).await.unwrap();
    // While the second poll reads the router, the operator's retry re-pushes
    // the session and its push completes: the read may predate it.
    let store2 = store.clone();
    let id = ids[0].clone();
    *driver.during_read.lock().unwrap() = Some(Box::new(move || {
        let by = |a: &str| TransitionOpts {
            actor: "operator:test".into(),
            action: Some(a.into()),
            ..Default::default()
        };
        store2.transition(&id, St::Approved, by("retry")).unwrap();
        for job in store2.claim(now_ms(), 60_000, "pusher", 10, &[]).unwrap() {
            store2
                .transition(&id, St::Provisioning, by("push"))
                .unwrap();
            store2
                .transition(&id, St::Configured, by("configured"))
                .unwrap();
            store2
                .complete(job.job_id, job.lease.unwrap().token)
                .unwrap();
        }
    }));
    w.poll_router("rtr1", HOUR).await.unwrap();
    *driver.during_read.lock().unwrap() = None;
    assert_eq!(status(&store, &ids[0]), St::Configured);
    let done = actions(&store, &ids[0]);
    assert!(done.contains(&"configured".to_string()), "{done:?}");
    assert!(!done.iter().any(|a| a.starts_with("drift")), "{done:?}");
    // a session changed between two polls starts a new row too
    store
        .set_detail(&ids[0], Some("note".into()), "operator:test")
        .unwrap();
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Configured);
    w.poll_router("rtr1", HOUR).await.unwrap();
    assert_eq!(status(&store, &ids[0]), St::Approved);
}

#[tokio::test]
async fn a_session_with_a_queued_job_is_not_flagged() {
    let (_d, store, driver, w, ids) = configured(fast()).await;
    // An Expire removal took the neighbor off; the session is still
    // Configured until the removal is recorded.
    store
        .enqueue(&ids[0], "rtr1", JobKind::Expire, now_ms() + HOUR)
        .unwrap();
    driver.edit("192.0.2.11", None);
    for _ in 0..3 {
        w.poll_router("rtr1", HOUR).await.unwrap();
    }
    assert_eq!(status(&store, &ids[0]), St::Configured);
    assert_eq!(w.metrics.drift_detected.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_platform_without_state_is_polled_for_drift_only() {
    let (_d, store, driver, w, ids) = configured_on(fast(), false).await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    w.poll_router("rtr1", 0).await.unwrap();
    assert_eq!(driver.state_reads.load(Ordering::SeqCst), 0);
    assert!(
        store.jobs().unwrap().is_empty(),
        "no time window without state"
    );
    driver.edit("192.0.2.12", None);
    w.poll_router("rtr1", 0).await.unwrap();
    w.poll_router("rtr1", 0).await.unwrap();
    assert_eq!(status(&store, &ids[1]), St::Approved);
    assert_eq!(status(&store, &ids[0]), St::Configured);
}

/// Ticks the worker `n` times, a little apart (retries are due at once
/// with the test backoff).
async fn ticks(w: &Worker, n: usize) {
    for _ in 0..n {
        w.tick_once().unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

#[tokio::test]
async fn no_file_descriptors_never_fails_a_session() {
    let (_d, store, driver, w) = setup(fast());
    let emfile = |what: &str| {
        PushError::Permanent(format!(
            "router rtr1: `{what}` exited with status 1: Too many open files"
        ))
    };
    // the read before the first push, past the budget of 3 attempts
    *driver.read_error.lock().unwrap() = Some(emfile("vtysh -c 'show running-config bgpd'"));
    let ids = insert(&store, vec![session(1, "rtr1")]);
    ticks(&w, 8).await;
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Provisioning, "{:?}", s.status_detail);
    assert!(s.status_detail.unwrap().contains("Too many open files"));
    assert!(store.jobs().unwrap()[0].attempts > 3);
    assert_eq!(pushes(&driver), 0);
    // the push itself
    *driver.read_error.lock().unwrap() = None;
    *driver.error.lock().unwrap() = Some(emfile("vtysh -f /dev/stdin"));
    ticks(&w, 8).await;
    let s = store.get_session(&ids[0]).unwrap().unwrap();
    assert_eq!(s.status, St::Provisioning, "{:?}", s.status_detail);
    assert!(pushes(&driver) > 3);
    *driver.error.lock().unwrap() = None;
    drain(&w).await;
    assert_eq!(status(&store, &ids[0]), St::Configured);
}

//! The poller and the poll lease: a router another instance polls is not
//! read here, and is taken over once that instance's lease ends.

use super::*;
use crate::store::lease::{poll_name, Held};

#[tokio::test]
async fn the_poller_skips_a_router_another_instance_holds() {
    let (_d, store, driver, w) = setup(fast());
    let ids = insert(&store, vec![session(1, "rtr1")]);
    drain(&w).await;
    assert_eq!(status(&store, &ids[0]), St::Configured);
    let lease = Held::new(poll_name("rtr1"));
    // another instance polls rtr1 now
    let ttl = w.poll_lease_ttl_ms();
    assert!(store
        .hold_lease("poll:rtr1", "other", crate::model::now_ms(), ttl)
        .unwrap());
    let reads = driver.reads.load(Ordering::SeqCst);
    assert!(w.poll_if_held("rtr1", 3_600_000, &lease).await.is_none());
    assert!(w.poll_if_held("rtr1", 3_600_000, &lease).await.is_none());
    assert_eq!(driver.reads.load(Ordering::SeqCst), reads, "not read");
    assert!(!lease.held());
    assert_eq!(w.metrics.routers_polled(), 0);
    assert_eq!(w.metrics.leases().get("poll:rtr1"), Some(&false));
    // its loop still beats: /readyz does not call the router stalled
    w.metrics.poller_started(&[]);
    assert!(w.metrics.poll_beats().unwrap().contains_key("rtr1"));
    // the other instance stops (its lease ends): this one takes over
    store.release_lease("poll:rtr1", "other").unwrap();
    assert!(w.poll_if_held("rtr1", 3_600_000, &lease).await.is_some());
    assert!(driver.reads.load(Ordering::SeqCst) > reads, "read now");
    assert!(lease.held());
    assert_eq!(w.metrics.routers_polled(), 1);
    // and the other one is kept off while this one renews
    assert!(!store
        .hold_lease("poll:rtr1", "other", crate::model::now_ms(), ttl)
        .unwrap());
}

#[tokio::test]
async fn an_ended_lease_is_taken_over_without_a_release() {
    let (_d, store, driver, w) = setup(fast());
    let _ = insert(&store, vec![session(1, "rtr1")]);
    drain(&w).await;
    let lease = Held::new(poll_name("rtr1"));
    // a dead instance's lease, ended a moment ago
    let now = crate::model::now_ms();
    assert!(store
        .hold_lease("poll:rtr1", "dead", now - 10_000, 5_000)
        .unwrap());
    let reads = driver.reads.load(Ordering::SeqCst);
    assert!(w.poll_if_held("rtr1", 3_600_000, &lease).await.is_some());
    assert!(driver.reads.load(Ordering::SeqCst) > reads);
}

#[test]
fn the_poll_lease_outlasts_a_few_poll_intervals() {
    let (_d, _store, _driver, w) = setup(WorkerSettings {
        lease_ms: 1_000,
        poll_interval_ms: 5_000,
        ..fast()
    });
    assert_eq!(w.poll_lease_ttl_ms(), 15_000);
    let (_d, _store, _driver, w) = setup(WorkerSettings {
        lease_ms: 120_000,
        poll_interval_ms: 5_000,
        ..fast()
    });
    assert_eq!(w.poll_lease_ttl_ms(), 120_000);
}

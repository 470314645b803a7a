//! The HTTP edge against the lab (issue 8): `peerd serve` under a
//! 1,024-descriptor limit (a systemd default) while an attacker holds 1,100
//! connections that send nothing or half a request head, reopening each
//! one a second after peerd closes it. `/healthz` on a new connection still
//! answers within 2 s, a session still reaches `Configured` on the lab's
//! FRR (the push needs descriptors the HTTP clients cannot take), and every
//! attacking connection is closed within the header-read timeout.

use crate::e2e_lab::{lab_inventory_yaml, post_one, sess, wait_gone, wait_status, TOK_P1};
use crate::lab::{take_lab, Lab};
use crate::support::{fake_pdb, profile, raise_own_nofile, Options, Peerd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ATTACKERS: usize = 1100;
const HEADER_TIMEOUT_SECS: u64 = 3;

#[derive(Default)]
struct Flood {
    stop: AtomicBool,
    /// Connections opened, and closed by peerd.
    opened: AtomicUsize,
    closed: AtomicUsize,
    /// Longest time peerd kept one attacking connection, in ms.
    longest_ms: AtomicU64,
    connect_errors: AtomicUsize,
}

/// One attacker: opens a connection, sends nothing (even `n`) or half a
/// request head (odd `n`), waits until peerd closes it, pauses a second
/// or two, and again, until told to stop.
async fn attacker(n: usize, addr: String, f: Arc<Flood>) {
    while !f.stop.load(Ordering::SeqCst) {
        let mut s = match TcpStream::connect(&addr).await {
            Ok(s) => s,
            Err(_) => {
                f.connect_errors.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let opened = Instant::now();
        f.opened.fetch_add(1, Ordering::SeqCst);
        if n % 2 == 1 {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        }
        let mut b = [0u8; 256];
        // peerd must close it; give up (and fail below) after a long while
        let limit = Duration::from_secs(HEADER_TIMEOUT_SECS * 10);
        loop {
            match tokio::time::timeout(limit, s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(_)) => {}
            }
        }
        let ms = opened.elapsed().as_millis() as u64;
        f.longest_ms.fetch_max(ms, Ordering::SeqCst);
        f.closed.fetch_add(1, Ordering::SeqCst);
        drop(s);
        // back a second or two later (spread, as real clients are)
        tokio::time::sleep(Duration::from_millis(1000 + (n as u64 * 7919) % 1000)).await;
    }
}

/// `GET /healthz` on a new connection; how long it took.
async fn healthz_on_a_new_connection(p: &Peerd) -> Duration {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let r = client
        .get(format!("{}/healthz", p.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status().as_u16(), 200);
    started.elapsed()
}

#[tokio::test]
#[ignore = "lab"]
async fn idle_flood_under_1024_descriptors() {
    let _one = take_lab().await;
    let lab = Lab::load();
    // this process holds the attackers' sockets
    assert!(raise_own_nofile() >= 4 * ATTACKERS as u64);
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P1, profile(21, &[(65002, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(lab_inventory_yaml(&lab, &[]));
    o.worker_yaml =
        "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n"
            .into();
    o.limits_yaml = format!(
        "  header_read_timeout_secs: {HEADER_TIMEOUT_SECS}\n  idle_timeout_secs: {HEADER_TIMEOUT_SECS}\n"
    );
    o.nofile = Some(1024);
    let p = Peerd::start(&o).await;
    // the cap sits below the limit, with a reserve, and says so
    let log = p.log();
    assert!(log.contains("soft=1024"), "{log}");
    assert!(log.contains("max_connections=768"), "{log}");

    let flood = Arc::new(Flood::default());
    let addr = p.hostport();
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|n| tokio::spawn(attacker(n, addr.clone(), flood.clone())))
        .collect();
    // wait until all of them got a connection once
    let t0 = Instant::now();
    while flood.opened.load(Ordering::SeqCst) < ATTACKERS {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "attackers not connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..5 {
        let took = healthz_on_a_new_connection(&p).await;
        assert!(took < Duration::from_secs(2), "/healthz took {took:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // a session is pushed to FRR while the flood goes on
    let id = post_one(
        &p,
        TOK_P1,
        sess(
            65002,
            lab.get("PEER1_V4"),
            lab.get("RTR_V4"),
            "pdb:ix:1",
            None,
        ),
    )
    .await;
    wait_status(&p, TOK_P1, &id, "Configured", 60).await;
    // the flood goes on (every attacker reconnects once closed) until each
    // connection was closed at least once
    let t0 = Instant::now();
    while flood.closed.load(Ordering::SeqCst) < ATTACKERS {
        assert!(
            t0.elapsed() < Duration::from_secs(HEADER_TIMEOUT_SECS + 5),
            "peerd closed only {} attacking connections",
            flood.closed.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = healthz_on_a_new_connection(&p).await;
    assert!(took < Duration::from_secs(2), "/healthz took {took:?}");

    flood.stop.store(true, Ordering::SeqCst);
    for a in attackers {
        a.await.unwrap();
    }
    let longest = Duration::from_millis(flood.longest_ms.load(Ordering::SeqCst));
    assert!(
        longest <= Duration::from_secs(HEADER_TIMEOUT_SECS + 2),
        "an attacking connection stayed open {longest:?}"
    );
    assert_eq!(flood.connect_errors.load(Ordering::SeqCst), 0);
    assert!(!p.log().contains("Too many open files"), "{}", p.log());

    // leave the router as we found it
    let r = p.delete(&format!("/sessions/{id}"), TOK_P1).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    wait_gone(&p, TOK_P1, &id, 60).await;
}

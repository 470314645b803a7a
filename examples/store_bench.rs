//! Prints durable writes per second of the sled store with N concurrent
//! writers (each write = one `insert_request` + `durable().await`), next to
//! the rate of the same writes without waiting for the disk.
//! A figure printer, not a test:
//!
//! ```text
//! cargo run --release --example store_bench -- [seconds] [writers...]
//! cargo run --release --example store_bench -- 3 1 8 64 256
//! ```

use peerd::model::{new_id, now_ms, Asn, RequestRecord, Session};
use peerd::store::{SledStore, Store};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn session(n: u32, request_id: &str) -> Session {
    let local = format!("2001:db8:{:x}:{:x}::2", n >> 16, n & 0xffff)
        .parse()
        .unwrap();
    Session {
        request_id: request_id.to_string(),
        created_by: "bench".into(),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (64512, local),
            (65001, "2001:db8::1".parse().unwrap()),
        )
    }
}

async fn run(writers: usize, secs: u64, durable: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open store"));
    let next = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, next, done) = (store.clone(), next.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let req = RequestRecord {
                        request_id: new_id(),
                        requester_asn: Asn(64512),
                        created_by: "bench".into(),
                        created_ms: now_ms(),
                        return_url: None,
                        session_ids: Vec::new(),
                    };
                    let s = session(n, &req.request_id);
                    store.insert_request(&req, vec![s]).expect("insert");
                    if durable {
                        store.durable().await.expect("durable");
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let mut writers: Vec<usize> = args.filter_map(|s| s.parse().ok()).collect();
    if writers.is_empty() {
        writers = vec![1, 8, 64];
    }
    println!(
        "writes = insert_request of one session; durable = then await durable(); {secs}s each"
    );
    for n in writers {
        let applied = run(n, secs, false).await;
        let durable = run(n, secs, true).await;
        println!("writers={n:>4}  durable writes/s={durable:>8.0}  (applied, not awaited: {applied:>8.0}/s)");
    }
}

//! The baselines, built and measured in the same run as peerd:
//! a bare axum route serving session JSON from a HashMap, a bare sled
//! group-commit loop, and bare Tera with a context built once.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// A bare axum server on its own runtime (as many worker threads as peerd
/// gets): `GET /sessions/{id}` answers the stored JSON, else 404.
pub struct BareServer {
    pub url: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl BareServer {
    pub fn start(bodies: HashMap<String, Bytes>) -> BareServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/sessions/{id}", axum::routing::get(get_one))
            .with_state(Arc::new(bodies));
        rt.spawn(async move { axum::serve(listener, app).await });
        BareServer { url, rt: Some(rt) }
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

async fn get_one(
    State(map): State<Arc<HashMap<String, Bytes>>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    match map.get(&id) {
        Some(b) => ([(header::CONTENT_TYPE, "application/json")], b.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// How a bare sled loop's tasks wait for the disk.
#[derive(Clone, Copy)]
pub enum Flush {
    /// The baseline: each task calls `db.flush()` itself in
    /// `spawn_blocking` (sled lets concurrent flushes share a disk write).
    Each,
    /// Tighter: the tasks await one flusher task, which runs `db.flush()`
    /// in `spawn_blocking` for every waiter it finds.
    Shared,
}

/// A bare sled group-commit loop: `clients` tasks, each inserting a
/// record (`value`, under a new key) and then waiting, as `flush` says,
/// for a flush that covers it. The tree holds `prefill` records first.
/// Returns durable writes per second over `secs`.
pub async fn group_commit(
    flush: Flush,
    dir: &Path,
    prefill: u64,
    value: &[u8],
    clients: usize,
    secs: u64,
) -> f64 {
    let db = sled::Config::new().path(dir).open().unwrap();
    let tree = db.open_tree("sessions").unwrap();
    for n in 0..prefill {
        tree.insert(n.to_be_bytes(), value).unwrap();
    }
    db.flush().unwrap();
    let gc = Arc::new(Gc::default());
    let flusher =
        matches!(flush, Flush::Shared).then(|| tokio::spawn(flusher(gc.clone(), db.clone())));
    let next = Arc::new(AtomicU64::new(prefill));
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let value: Arc<[u8]> = value.into();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (db, tree, gc, next, done, value) = (
                db.clone(),
                tree.clone(),
                gc.clone(),
                next.clone(),
                done.clone(),
                value.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    tree.insert(n.to_be_bytes(), &*value).unwrap();
                    match flush {
                        Flush::Shared => gc.durable().await,
                        Flush::Each => {
                            let db = db.clone();
                            tokio::task::spawn_blocking(move || db.flush().unwrap())
                                .await
                                .unwrap();
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64();
    if let Some(f) = flusher {
        f.abort();
    }
    rate
}

/// Flushed so far, and the waiters: (write number, their wake-up).
type GcState = (u64, Vec<(u64, oneshot::Sender<()>)>);

#[derive(Default)]
struct Gc {
    written: AtomicU64,
    state: Mutex<GcState>,
    wake: Notify,
}

impl Gc {
    async fn durable(&self) {
        let target = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        let rx = {
            let mut st = self.state.lock().unwrap();
            if st.0 >= target {
                return;
            }
            let (tx, rx) = oneshot::channel();
            st.1.push((target, tx));
            rx
        };
        self.wake.notify_one();
        let _ = rx.await;
    }
}

async fn flusher(gc: Arc<Gc>, db: sled::Db) {
    loop {
        gc.wake.notified().await;
        loop {
            if gc.state.lock().unwrap().1.is_empty() {
                break;
            }
            let start = gc.written.load(Ordering::SeqCst);
            let db2 = db.clone();
            tokio::task::spawn_blocking(move || db2.flush().unwrap())
                .await
                .unwrap();
            let done: Vec<_> = {
                let mut st = gc.state.lock().unwrap();
                st.0 = start;
                let (done, rest) = std::mem::take(&mut st.1)
                    .into_iter()
                    .partition(|(t, _)| *t <= start);
                st.1 = rest;
                done
            };
            for (_, tx) in done {
                let _ = tx.send(());
            }
        }
    }
}

/// Bare Tera: `template` rendered with `ctx` (built once, reused) for
/// about `secs`; renders per second.
pub fn tera_renders(template: &str, ctx: &tera::Context, secs: f64) -> f64 {
    let mut t = tera::Tera::new();
    t.add_raw_template("t", template).unwrap();
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed().as_secs_f64() < secs {
        for _ in 0..100 {
            std::hint::black_box(t.render("t", ctx).unwrap());
        }
        n += 100;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

//! Group commit: one flusher thread makes `durable()` cheap for many callers.
//!
//! Every mutation bumps a write counter after its transaction committed.
//! `durable()` registers a waiter with the counter's value at call time; the
//! flusher thread reads the counter, calls `db.flush()` (blocking, off the
//! async runtime) and releases every waiter whose target is at most the
//! value read *before* that flush started. One flush therefore covers all
//! writes that returned before it began, however many tasks wait.
//!
//! sled's `flush_async()` is never used: in 0.34.7 it hangs when seven or
//! more tasks await it at once (sled#1308).

use super::super::{Result, StoreError};
use futures::future::{BoxFuture, FutureExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

type Waiter = (u64, oneshot::Sender<Result<()>>);

#[derive(Default)]
struct State {
    /// Highest write generation known to be on disk.
    flushed: u64,
    waiters: Vec<Waiter>,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    /// Write generation: bumped after each committed mutation.
    written: AtomicU64,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The group-commit flusher of one open store.
pub struct GroupCommit {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`.
    pub fn start(db: sled::Db) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("peerd-store-flush".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, &db)
            })
            .map_err(|e| StoreError::Backend(format!("cannot start flusher: {e}")))?;
        Ok(GroupCommit {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Records that a mutation has committed (call after the transaction).
    pub fn note_write(&self) {
        self.shared.written.fetch_add(1, Ordering::SeqCst);
    }

    /// Resolves once every write noted before this call is flushed.
    pub fn durable(&self) -> BoxFuture<'static, Result<()>> {
        let target = self.shared.written.load(Ordering::SeqCst);
        let mut st = self.shared.lock();
        if st.flushed >= target {
            return futures::future::ready(Ok(())).boxed();
        }
        if st.shutdown {
            return futures::future::ready(Err(StoreError::Backend("store is closed".into())))
                .boxed();
        }
        let (tx, rx) = oneshot::channel();
        st.waiters.push((target, tx));
        drop(st);
        self.shared.wake.notify_one();
        async move {
            rx.await
                .unwrap_or_else(|_| Err(StoreError::Backend("store flusher stopped".into())))
        }
        .boxed()
    }

    /// Stops the thread after it served the waiters it has (idempotent).
    pub fn stop(&self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared, db: &sled::Db) {
    loop {
        let mut st = shared.lock();
        while st.waiters.is_empty() && !st.shutdown {
            st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.waiters.is_empty() {
            return; // shut down with nobody waiting
        }
        drop(st);

        // Everything counted in `start` committed before this flush began.
        let start = shared.written.load(Ordering::SeqCst);
        let res = db.flush();

        let mut st = shared.lock();
        let (done, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut st.waiters)
            .into_iter()
            .partition(|(target, _)| *target <= start);
        st.waiters = rest;
        match &res {
            Ok(_) => st.flushed = st.flushed.max(start),
            Err(e) => tracing::error!(error = %e, "store flush failed"),
        }
        drop(st);
        for (_, tx) in done {
            let _ = tx.send(match &res {
                Ok(_) => Ok(()),
                Err(e) => Err(StoreError::Backend(format!("flush: {e}"))),
            });
        }
    }
}

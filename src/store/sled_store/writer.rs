//! The one writer: every mutation of the store runs on its thread, many
//! to a batch; a flusher thread beside it flushes (group commit).
//!
//! A caller hands in a mutation (a closure over a [`Tx`]) and waits: for
//! it to be *applied* ([`Writer::write`], the synchronous store calls), or
//! to be *on disk* ([`Writer::write_durable`], a future). The writer takes
//! every mutation queued, runs them one after the other into one overlay
//! (a failing one is rolled back alone), applies the overlay (journal,
//! then plain writes: `tx.rs`) and answers. Whoever waits for the disk is
//! served by the flusher thread, which calls `db.flush()` while the writer
//! goes on to the next batch, and releases every waiter the flush covered.
//!
//! Why so: a batch carries no sled transaction (in sled 0.34.7 a
//! transaction takes a process-wide lock exclusively, and `flush()` holds
//! it shared for its whole disk write, so the two took turns). With plain
//! writes, batch n+1 is applied while batch n is flushed, as a bare sled
//! loop inserts while it flushes.
//!
//! Should applying a batch fail part way (sled answers an I/O error), the
//! writer refuses every later write until a restart: the failed batch is
//! still in the journal, and the next open writes it again, which must
//! not land over anything written after it.
//!
//! The listing index is in memory (`index.rs`): once a batch's writes are
//! in the trees, the writer applies the batch's index changes to it, and
//! only then raises the visible `seq` and answers. A batch that fails to
//! apply changes nothing in it.
//!
//! [`Writer::durable`] resolves once every write applied before the call
//! is flushed; concurrent callers share one flush. sled's `flush_async()`
//! is never used: in 0.34.7 it hangs when seven or more tasks await it at
//! once (sled#1308).

use super::super::{Result, StoreError};
use super::keys;
use super::live::LiveIndex;
use super::overlay::Overlay;
use super::tx::{Trees, Tx};
use futures::future::{BoxFuture, FutureExt};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Most mutations in one batch (the rest wait for the next).
const MAX_BATCH: usize = 512;

type Value = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&Tx<'_>) -> Result<Value> + Send>;

enum Reply {
    /// Answer once applied.
    Applied(std::sync::mpsc::SyncSender<Result<Value>>),
    /// Answer once on disk.
    Durable(oneshot::Sender<Result<Value>>),
}

impl Reply {
    /// Answers now (a waiter gone is no error).
    fn send(self, r: Result<Value>) {
        match self {
            Reply::Applied(tx) => drop(tx.send(r)),
            Reply::Durable(tx) => drop(tx.send(r)),
        }
    }
}

struct Op {
    work: Work,
    reply: Reply,
}

/// Someone waiting for the disk: write generation `target` must be flushed.
enum Waiter {
    Flush(u64, oneshot::Sender<Result<()>>),
    Op(u64, oneshot::Sender<Result<Value>>, Value),
}

impl Waiter {
    fn target(&self) -> u64 {
        match self {
            Waiter::Flush(t, _) | Waiter::Op(t, _, _) => *t,
        }
    }

    fn release(self, res: &std::result::Result<(), String>) {
        let err = |e: &String| StoreError::Backend(format!("flush: {e}"));
        match self {
            Waiter::Flush(_, tx) => {
                let _ = tx.send(res.clone().map_err(|e| err(&e)));
            }
            Waiter::Op(_, tx, v) => {
                let _ = tx.send(match res {
                    Ok(()) => Ok(v),
                    Err(e) => Err(err(e)),
                });
            }
        }
    }
}

#[derive(Default)]
struct State {
    ops: Vec<Op>,
    waiters: Vec<Waiter>,
    /// Write generation: batches applied so far (plus writes noted at open).
    written: u64,
    /// Highest generation known to be on disk.
    flushed: u64,
    shutdown: bool,
    /// The writer thread has applied its last batch.
    writer_done: bool,
    /// Flushes so far.
    flushes: u64,
    /// The writer (the flusher) waits on its condition variable: whoever
    /// gives it work wakes it; while it runs, nobody needs to (a wake
    /// is a system call, on every write).
    writer_asleep: bool,
    flusher_asleep: bool,
    /// A batch failed part way: its journal entry stays for the next open
    /// to write it again, so no later batch may be applied before that
    /// (the next open would then write the failed batch over it).
    broken: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The writer waits here for mutations (or the shutdown).
    work: Condvar,
    /// The flusher waits here for someone who waits for the disk.
    flush: Condvar,
    /// The highest session `seq` whose batch is applied (with every lower
    /// one): listings show no session above it.
    visible_seq: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer and flusher threads of one open store.
pub struct Writer {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the thread for `db`; `visible_seq` is the seq counter as
    /// stored; `index` is kept with every batch.
    pub fn start(
        db: sled::Db,
        trees: Trees,
        visible_seq: u64,
        index: Arc<LiveIndex>,
    ) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        shared.visible_seq.store(visible_seq, Ordering::SeqCst);
        // whatever opening the store wrote is flushed by the first durable()
        shared.lock().written = 1;
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| StoreError::Backend(format!("cannot start {name}: {e}")))
        };
        let w = spawn(
            "peerd-store-writer",
            Box::new({
                let shared = shared.clone();
                move || write_loop(&shared, &trees, &index)
            }),
        )?;
        let writer = Writer {
            shared: shared.clone(),
            threads: Mutex::new(vec![w]),
        };
        let f = spawn(
            "peerd-store-flush",
            Box::new(move || flush_loop(&shared, &db)),
        )?;
        writer
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
        Ok(writer)
    }

    /// The highest session seq a listing may show.
    pub fn visible_seq(&self) -> u64 {
        self.shared.visible_seq.load(Ordering::SeqCst)
    }

    fn submit(&self, work: Work, reply: Reply) -> std::result::Result<(), Reply> {
        let mut st = self.shared.lock();
        if st.shutdown {
            return Err(reply);
        }
        st.ops.push(Op { work, reply });
        let wake = st.writer_asleep;
        drop(st);
        if wake {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Runs `f` on the writer thread, in the next batch, and returns its
    /// result once the batch is applied (not yet flushed: see
    /// [`Writer::durable`]). Blocks the calling thread meanwhile.
    pub fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.submit(boxed(f), Reply::Applied(tx)).is_err() {
            return Err(closed());
        }
        match rx.recv() {
            Ok(r) => r.map(unbox),
            Err(_) => Err(StoreError::Backend("store writer stopped".into())),
        }
    }

    /// Like [`Writer::write`], but the future resolves once the batch is
    /// on disk, and nothing blocks meanwhile.
    pub fn write_durable<T, F>(&self, f: F) -> BoxFuture<'static, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        if self.submit(boxed(f), Reply::Durable(tx)).is_err() {
            return futures::future::ready(Err(closed())).boxed();
        }
        async move {
            match rx.await {
                Ok(r) => r.map(unbox),
                Err(_) => Err(StoreError::Backend("store writer stopped".into())),
            }
        }
        .boxed()
    }

    /// Resolves once every write applied before this call is flushed.
    pub fn durable(&self) -> BoxFuture<'static, Result<()>> {
        let mut st = self.shared.lock();
        let target = st.written;
        if st.flushed >= target {
            return futures::future::ready(Ok(())).boxed();
        }
        if st.shutdown {
            return futures::future::ready(Err(closed())).boxed();
        }
        let (tx, rx) = oneshot::channel();
        st.waiters.push(Waiter::Flush(target, tx));
        let wake = st.flusher_asleep;
        drop(st);
        if wake {
            self.shared.flush.notify_one();
        }
        async move {
            rx.await
                .unwrap_or_else(|_| Err(StoreError::Backend("store writer stopped".into())))
        }
        .boxed()
    }

    /// Stops the threads after they have applied and flushed what they
    /// were given (idempotent).
    pub fn stop(&self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        self.shared.flush.notify_all();
        let handles = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn closed() -> StoreError {
    StoreError::Backend("store is closed".into())
}

fn boxed<T, F>(f: F) -> Work
where
    T: Send + 'static,
    F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
{
    Box::new(move |tx: &Tx<'_>| f(tx).map(|v| Box::new(v) as Value))
}

fn unbox<T: 'static>(v: Value) -> T {
    match v.downcast::<T>() {
        Ok(v) => *v,
        Err(_) => unreachable!("a mutation answers the type it was given"),
    }
}

fn write_loop(shared: &Shared, trees: &Trees, index: &LiveIndex) {
    loop {
        let mut st = shared.lock();
        while st.ops.is_empty() && !st.shutdown {
            st.writer_asleep = true;
            st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
            st.writer_asleep = false;
        }
        if st.ops.is_empty() {
            // shut down, nothing left; the flusher serves the last waiters
            st.writer_done = true;
            drop(st);
            shared.flush.notify_all();
            return;
        }
        let n = st.ops.len().min(MAX_BATCH);
        let ops: Vec<Op> = st.ops.drain(..n).collect();
        drop(st);
        apply_batch(shared, trees, index, ops);
        // the flusher serves whoever waits for this batch
        let st = shared.lock();
        let wake = st.flusher_asleep && wants_flush(&st);
        drop(st);
        if wake {
            shared.flush.notify_one();
        }
    }
}

fn flush_loop(shared: &Shared, db: &sled::Db) {
    loop {
        let mut st = shared.lock();
        loop {
            let want = wants_flush(&st);
            if want || st.writer_done {
                break;
            }
            st.flusher_asleep = true;
            st = shared.flush.wait(st).unwrap_or_else(|e| e.into_inner());
            st.flusher_asleep = false;
        }
        if !wants_flush(&st) {
            return; // shut down, nobody waits
        }
        flush_now(shared, db, st);
    }
}

/// Flushes (the flusher found someone waiting) and releases every waiter
/// the flush covered.
fn flush_now(shared: &Shared, db: &sled::Db, mut st: MutexGuard<'_, State>) {
    // Everything counted in `start` was applied before this flush began.
    let start = st.written;
    st.flushes += 1;
    drop(st);
    let res = db.flush().map(|_| ()).map_err(|e| e.to_string());
    if let Err(e) = &res {
        tracing::error!(error = %e, "store flush failed");
    }
    let mut st = shared.lock();
    if res.is_ok() {
        st.flushed = st.flushed.max(start);
    }
    let (done, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut st.waiters)
        .into_iter()
        .partition(|w| w.target() <= start);
    st.waiters = rest;
    drop(st);
    for w in done {
        w.release(&res);
    }
}

fn wants_flush(st: &State) -> bool {
    st.waiters.iter().any(|w| w.target() > st.flushed)
}

/// Runs `ops` into one overlay, applies it, and answers (or queues the
/// answers of those that wait for the disk).
fn apply_batch(shared: &Shared, trees: &Trees, index: &LiveIndex, ops: Vec<Op>) {
    if let Some(e) = shared.lock().broken.clone() {
        for op in ops {
            op.reply.send(Err(StoreError::Backend(format!(
                "store write failed earlier ({e}); restart peerd to recover it"
            ))));
        }
        return;
    }
    let ov = Overlay::default();
    let mut results = Vec::with_capacity(ops.len());
    let mut replies = Vec::with_capacity(ops.len());
    let seq = {
        let tx = trees.tx(&ov);
        for op in ops {
            let mark = ov.mark();
            let r = (op.work)(&tx);
            if r.is_err() {
                ov.rollback(mark);
            }
            ov.keep();
            results.push(r);
            replies.push(op.reply);
        }
        tx.meta
            .written(keys::COUNTER_SEQ)
            .flatten()
            .and_then(|v| keys::read_u64(&v))
    };
    let wrote = !ov.is_empty();
    let index_ops = ov.take_index_ops();
    let applied = if wrote { trees.apply(ov) } else { Ok(()) };
    if applied.is_ok() {
        // before the batch's sessions may be listed or anyone is answered
        index.apply(index_ops);
    }
    let mut st = shared.lock();
    if wrote {
        st.written += 1;
    }
    if let Err(e) = &applied {
        tracing::error!(error = %e, "store write failed; refusing writes until a restart");
        st.broken = Some(e.to_string());
    }
    // An answer may rest on writes of earlier batches (a session found
    // again): it waits for everything applied so far.
    let gen = st.written;
    if applied.is_ok() {
        if let Some(seq) = seq {
            shared.visible_seq.fetch_max(seq, Ordering::SeqCst);
        }
    }
    let mut now = Vec::new();
    for (r, reply) in results.into_iter().zip(replies) {
        let r = match &applied {
            Ok(()) => r,
            Err(e) => Err(StoreError::Backend(format!("store write failed: {e}"))),
        };
        match (reply, r) {
            (Reply::Applied(tx), r) => now.push((tx, r)),
            (Reply::Durable(tx), Ok(v)) if gen > st.flushed => {
                st.waiters.push(Waiter::Op(gen, tx, v))
            }
            (reply, r) => reply.send(r),
        }
    }
    drop(st);
    for (tx, r) in now {
        let _ = tx.send(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let trees = Trees::open(&db).unwrap();
        let index = LiveIndex::ready();
        (dir, Arc::new(Writer::start(db, trees, 0, index).unwrap()))
    }

    #[test]
    fn a_durable_write_answers_after_a_flush_begun_after_it_and_flushes_are_shared() {
        let (_d, w) = writer();
        let threads: Vec<_> = (0..16u64)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for j in 0..20u64 {
                        let before = w.shared.lock().written;
                        futures::executor::block_on(w.write_durable(move |tx| {
                            tx.meta.insert(keys::u64_key(i * 1000 + j), &b"v"[..])
                        }))
                        .unwrap();
                        // the batch that carried it came after `before`, and
                        // a flush begun after that batch answered it
                        assert!(w.shared.lock().flushed > before);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let st = w.shared.lock();
        assert!(st.flushed >= st.written);
        assert!(st.flushes < 16 * 20, "{} flushes", st.flushes);
    }

    #[test]
    fn durable_with_the_writer_idle_is_served_by_the_flusher() {
        let (_d, w) = writer();
        w.write(|tx| tx.meta.insert(b"a", &b"1"[..])).unwrap();
        {
            let st = w.shared.lock();
            assert!(st.flushed < st.written);
        }
        futures::executor::block_on(w.durable()).unwrap();
        let st = w.shared.lock();
        assert!(st.flushed >= st.written);
    }

    #[test]
    fn after_a_failed_batch_every_write_is_refused_and_nothing_applied() {
        let (_d, w) = writer();
        w.write(|tx| tx.meta.insert(b"a", &b"1"[..])).unwrap();
        w.shared.lock().broken = Some("disk gone".into());
        let written = w.shared.lock().written;
        let e = w
            .write(|tx| tx.meta.insert(b"b", &b"2"[..]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("disk gone") && e.contains("restart"), "{e}");
        let e = futures::executor::block_on(w.write_durable(|tx| tx.meta.insert(b"c", &b"3"[..])))
            .unwrap_err();
        assert!(e.to_string().contains("restart"), "{e}");
        assert_eq!(w.shared.lock().written, written);
    }

    #[test]
    fn stop_answers_every_pending_durable_write() {
        let (_d, w) = writer();
        let futs: Vec<_> = (0..8u64)
            .map(|i| w.write_durable(move |tx| tx.meta.insert(keys::u64_key(i), &b"v"[..])))
            .collect();
        w.stop();
        for f in futs {
            futures::executor::block_on(f).unwrap();
        }
        let st = w.shared.lock();
        assert!(st.flushed >= st.written);
    }
}

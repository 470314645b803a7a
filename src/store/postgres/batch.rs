//! Group commit for the API's write path
//! ([`Store::insert_request_durable`](crate::store::Store::insert_request_durable)).
//!
//! Every write transaction holds the write lock (`tx.rs`) until its commit
//! has been flushed, so one request per transaction would make the WAL
//! flushes of concurrent POSTs take turns. Instead the requests waiting at
//! once are inserted in one transaction and are all answered after it
//! commits: one flush for many, as a bare INSERT-and-COMMIT loop gets from
//! PostgreSQL's own group commit. A request refused on its own is answered
//! with its error and the others are committed; should the database fail,
//! the batch is rolled back and each runs again alone.
//! "Accepted" still means committed. The first waiter with no batch
//! running drains the queue on a blocking thread until it is empty.

use super::insert::{insert_requests_in, Ask};
use super::PgStore;
use crate::model::{now_ms, RequestRecord, Session};
use crate::store::{log_change, Inserted, Result, StoreError};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Most requests in one transaction (the write lock is held meanwhile).
const MAX_BATCH: usize = 64;

type Answer = oneshot::Sender<Result<Vec<Inserted>>>;

struct Waiting {
    request: RequestRecord,
    sessions: Vec<Session>,
    answer: Answer,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A drainer is at work (it takes what arrives meanwhile).
    running: bool,
}

/// The requests waiting for the next batch.
#[derive(Default)]
pub struct Batcher {
    queue: Mutex<Queue>,
}

impl PgStore {
    /// Inserts the request in the next batch; resolves after its commit.
    /// Inside a tokio runtime only (the drain runs on a blocking thread).
    pub(super) async fn pg_insert_batched(
        &self,
        request: RequestRecord,
        sessions: Vec<Session>,
    ) -> Result<Vec<Inserted>> {
        let (answer, rx) = oneshot::channel();
        let start = {
            let mut q = self.batch.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.waiting.push(Waiting {
                request,
                sessions,
                answer,
            });
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.drain());
        }
        rx.await
            .map_err(|_| StoreError::Backend("insert batch ended without an answer".into()))?
    }

    /// Runs batches until the queue is empty.
    fn drain(&self) {
        let _guard = Unwind(self);
        loop {
            let batch: Vec<Waiting> = {
                let mut q = self.batch.queue.lock().unwrap_or_else(|e| e.into_inner());
                if q.waiting.is_empty() {
                    q.running = false;
                    return;
                }
                let n = q.waiting.len().min(MAX_BATCH);
                q.waiting.drain(..n).collect()
            };
            self.run_batch(batch);
        }
    }

    /// One transaction for `batch` (`insert.rs`: two round trips for all
    /// its requests); every waiter answered after it commits. A request
    /// refused on its own (its id exists, a session id is taken) gets its
    /// error and writes nothing; the others are committed. Should the
    /// database fail, the transaction is rolled back and each request runs
    /// again in a transaction of its own, so only the one that fails is
    /// answered with an error.
    fn run_batch(&self, batch: Vec<Waiting>) {
        let now = now_ms();
        let result = self.write(|tx| {
            let asks: Vec<Ask<'_>> = batch
                .iter()
                .map(|w| Ask {
                    request: &w.request,
                    sessions: &w.sessions,
                })
                .collect();
            insert_requests_in(tx, &asks, now)
        });
        match result {
            Ok(outs) => {
                for (w, out) in batch.into_iter().zip(outs) {
                    if let Ok(out) = &out {
                        log_new(out);
                    }
                    let _ = w.answer.send(out);
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(w) = batch.into_iter().next() {
                    let _ = w.answer.send(Err(e));
                }
            }
            Err(_) => {
                for w in batch {
                    let out = self.pg_insert_request(&w.request, w.sessions);
                    let _ = w.answer.send(out);
                }
            }
        }
    }
}

fn log_new(out: &[Inserted]) {
    for r in out {
        if let Inserted::New(s) = r {
            log_change(s, None, Some(s.status), &s.created_by, "created");
        }
    }
}

/// Should a batch panic: the waiters are answered with an error (their
/// senders dropped) and the next request starts a new drainer.
struct Unwind<'a>(&'a PgStore);

impl Drop for Unwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.batch.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.waiting.clear();
            q.running = false;
        }
    }
}

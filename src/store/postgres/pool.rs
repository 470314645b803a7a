//! Connections to PostgreSQL: a small bounded pool over tokio-postgres,
//! usable from any thread.
//!
//! The [`Store`](crate::store::Store) contract is synchronous and is called
//! both from blocking threads and from async tasks. Each connection's
//! protocol task runs on a private one-thread tokio runtime owned by the
//! pool; a caller blocks on its query with `futures::executor::block_on`,
//! which needs no runtime of its own (a tokio-postgres client talks to its
//! connection task over channels), so it works inside or outside tokio.
//! A caller blocks only as long as its query, as with sled's disk I/O.

use crate::store::{Result, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tokio_postgres::{Client, NoTls, Statement};

/// How long a caller waits for a free connection before an error.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);

/// Runs a future to completion on the calling thread.
pub fn block<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// A PostgreSQL error as a store error. The text is the server's message
/// or the client's (never the connection settings, so never a password).
pub fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {e}"))
}

/// Statements prepared on one connection, by their SQL (they live as long
/// as the connection: a write transaction prepares each once, not once
/// per transaction).
pub type Statements = HashMap<String, Statement>;

struct State {
    idle: Vec<(Client, Statements)>,
    open: usize,
}

/// A bounded pool of connections.
pub struct Pool {
    config: tokio_postgres::Config,
    rt: Option<tokio::runtime::Runtime>,
    state: Mutex<State>,
    freed: Condvar,
    max: usize,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping clients closes their connections; the runtime may be
        // dropped from async code, so it must not block.
        if let Ok(mut st) = self.state.lock() {
            st.idle.clear();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A connection checked out of the pool; it goes back when dropped.
pub struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    /// This connection's prepared statements (`tx.rs` takes them for a
    /// transaction and gives them back after its commit).
    pub statements: Statements,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("connection present until drop")
    }
}

impl Conn<'_> {
    /// Closes this connection instead of giving it back (its state is not
    /// known, e.g. a transaction that may still be open).
    pub fn discard(&mut self) {
        if self.client.take().is_some() {
            let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
            st.open -= 1;
            drop(st);
            self.pool.freed.notify_one();
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(c) = self.client.take() else { return };
        let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
        if c.is_closed() {
            st.open -= 1;
        } else {
            st.idle.push((c, std::mem::take(&mut self.statements)));
        }
        drop(st);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    /// A pool of at most `max` connections made with `config`; none is
    /// opened yet.
    pub fn new(config: tokio_postgres::Config, max: usize) -> Result<Pool> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("peerd-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres runtime: {e}")))?;
        Ok(Pool {
            config,
            rt: Some(rt),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
        })
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime present until drop")
    }

    /// Spawns `f` on the pool's runtime and waits for it (for futures that
    /// need tokio's reactor or timers: connecting, LISTEN).
    pub fn on_runtime<F>(&self, f: F) -> Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        block(self.runtime().spawn(f))
            .map_err(|e| StoreError::Backend(format!("postgres task: {e}")))
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Runs `f` in the background on the pool's runtime (it ends with
    /// the pool).
    pub fn spawn<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime().spawn(f);
    }

    /// Opens a new connection (not pooled).
    pub fn connect(&self) -> Result<Client> {
        let config = self.config.clone();
        let handle = self.runtime().handle().clone();
        self.on_runtime(async move {
            let (client, conn) = config.connect(NoTls).await.map_err(pg)?;
            handle.spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(error = %e, "postgres connection closed");
                }
            });
            Ok(client)
        })?
    }

    /// A connection from the pool (opened when none is idle and the pool
    /// is not full; else waits for one).
    pub fn get(&self) -> Result<Conn<'_>> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            while let Some((c, statements)) = st.idle.pop() {
                if c.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(c),
                    statements,
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.connect() {
                    Ok(c) => Ok(Conn {
                        pool: self,
                        client: Some(c),
                        statements: Statements::new(),
                    }),
                    Err(e) => {
                        self.state.lock().unwrap_or_else(|e| e.into_inner()).open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(st, CHECKOUT_WAIT)
                .unwrap_or_else(|e| e.into_inner());
            st = next;
            if timeout.timed_out() && st.idle.is_empty() && st.open >= self.max {
                return Err(StoreError::Backend(
                    "postgres: no free connection (store.pool_size)".into(),
                ));
            }
        }
    }
}

//! The accept loop: every TCP connection is served by [`conn::run`] under
//! a cap on concurrent connections, and the process's descriptor budget.
//!
//! - At start, [`raise_nofile_limit`] lifts the soft `RLIMIT_NOFILE` to
//!   the hard limit; [`connection_cap`] then keeps a reserve of
//!   descriptors (routers, the store, PeeringDB, logs) that HTTP clients
//!   can never take, so a push never fails for lack of one.
//! - At the cap, a new connection evicts the connection that has been
//!   idle (or silent, or stuck in its request head) the longest; only when
//!   every connection is busy in a handler is the new one answered 503 and
//!   closed. So a flood of idle connections cannot starve new clients, and
//!   the header-read and idle timeouts ([`conn::Timeouts`]) clear it soon.
//! - An evicted connection holds its descriptor until its task closes
//!   it. At most [`CLOSING_MAX`] may be closing at once: past that the
//!   loop waits for one to close before it accepts again, so a burst of
//!   evictions cannot run the process out of descriptors.
//! - Shutdown stops accepting, closes idle connections, lets busy ones
//!   finish their answer, and returns once every connection is gone.

use super::conn::{self, Timeouts, Track};
use axum::Router;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// How the accept loop treats connections.
#[derive(Clone, Copy, Debug)]
pub struct ConnSettings {
    /// Most connections served at once.
    pub max_connections: usize,
    pub timeouts: Timeouts,
}

/// Descriptors kept back from HTTP clients: a quarter of the limit, at
/// least 256 (or half of a tiny limit).
pub fn reserve(nofile: u64) -> u64 {
    (nofile / 4).max(256.min(nofile / 2))
}

/// Connections the kernel may hold completed but not yet accepted. A
/// burst past the queue is not seen by peerd at all (the handshake is
/// dropped or answered with a SYN cookie), so keep it well above the cap.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds the API's listening socket (address reuse on, as `std` does,
/// and a [`LISTEN_BACKLOG`] deep accept queue; the kernel may cap it at
/// `net.core.somaxconn`).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(LISTEN_BACKLOG)
}

/// Evicted connections still closing, at most (each holds a descriptor
/// until its task ends); well inside the [`reserve`].
pub const CLOSING_MAX: usize = 32;

/// Default cap when none is configured (also the ceiling of the automatic one).
pub const AUTO_MAX_CONNECTIONS: usize = 4096;

/// The connection cap for a descriptor limit of `nofile`: `configured`
/// (0 = automatic: at most [`AUTO_MAX_CONNECTIONS`]) but never more than
/// `nofile` minus the [`reserve`]. Returns the cap and whether a configured
/// value had to be lowered.
pub fn connection_cap(configured: usize, nofile: u64) -> (usize, bool) {
    let room = nofile.saturating_sub(reserve(nofile)).max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if configured == 0 {
        (AUTO_MAX_CONNECTIONS.min(room), false)
    } else {
        (configured.min(room), configured > room)
    }
}

/// The soft and hard `RLIMIT_NOFILE` after lifting the soft limit to the
/// hard one, and the soft limit before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NofileLimit {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft descriptor limit to the hard limit (a process may
/// always do that). The figures are for the caller to log.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
pub fn raise_nofile_limit() -> std::io::Result<NofileLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write the one struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur as u64;
    if lim.rlim_cur < lim.rlim_max {
        let want = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cannot raise the descriptor limit");
        }
    }
    // RLIM_INFINITY is u64::MAX: the figures below stay meaningful.
    Ok(NofileLimit {
        before,
        soft: lim.rlim_cur as u64,
        hard: lim.rlim_max as u64,
    })
}

/// Live connections by id. `active` counts those not yet evicted.
#[derive(Default)]
struct Table {
    next: u64,
    conns: HashMap<u64, Arc<Track>>,
    active: usize,
}

impl Table {
    /// Connections evicted whose task has not closed them yet.
    fn closing(&self) -> usize {
        self.conns.len() - self.active
    }

    /// Evicts the connection that is evictable since longest; false if
    /// every connection is busy.
    fn evict_oldest(&mut self) -> bool {
        let victim = self
            .conns
            .values()
            .filter(|t| !t.evicted.load(Ordering::SeqCst))
            .filter_map(|t| t.evictable_since().map(|s| (s, t)))
            .min_by_key(|(s, _)| *s)
            .map(|(_, t)| t.clone());
        match victim {
            Some(t) => {
                t.evicted.store(true, Ordering::SeqCst);
                self.active -= 1;
                t.evict();
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(t) = self.conns.remove(&id) {
            if !t.evicted.load(Ordering::SeqCst) {
                self.active -= 1;
            }
        }
    }
}

/// Removes its connection from the table when the connection's task
/// ends, and wakes an accept loop waiting for a descriptor.
struct Entry(Arc<Mutex<Table>>, u64, Arc<Notify>);

impl Drop for Entry {
    fn drop(&mut self) {
        self.0.lock().expect("connection table").remove(self.1);
        self.2.notify_one();
    }
}

/// The answer for a connection refused because every slot is busy.
fn busy_answer() -> String {
    let body = r#"{"errors":[{"name":"request","errors":["too many connections; try again"]}]}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    cfg: ConnSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let epoch = Instant::now();
    let table = Arc::new(Mutex::new(Table::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    // every connection task holds a receiver; all gone = all closed
    let (close_tx, close_rx) = watch::channel(());
    let closed = Arc::new(Notify::new());
    let mut last_warn: Option<Instant> = None;
    tokio::pin!(shutdown);
    'accept: loop {
        // evictions wait for the evicted to close (notify_one keeps a
        // wake-up that comes before the wait)
        while table.lock().expect("connection table").closing() >= CLOSING_MAX {
            tokio::select! {
                _ = &mut shutdown => break 'accept,
                _ = closed.notified() => {}
            }
        }
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break 'accept,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    accept_error(e, &table, &mut last_warn).await;
                    continue;
                }
            },
        };
        let track = Arc::new(Track::new(epoch));
        let id = {
            let mut t = table.lock().expect("connection table");
            if t.active >= cfg.max_connections && !t.evict_oldest() {
                drop(t);
                refuse(stream, &mut last_warn);
                continue;
            }
            let id = t.next;
            t.next += 1;
            t.conns.insert(id, track.clone());
            t.active += 1;
            id
        };
        let entry = Entry(table.clone(), id, closed.clone());
        let (app, stop, close) = (app.clone(), stop_rx.clone(), close_rx.clone());
        let timeouts = cfg.timeouts;
        tokio::spawn(async move {
            conn::run(stream, peer, app, track, timeouts, stop).await;
            drop(entry);
            drop(close);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

/// At the cap with every connection busy: a short 503, then close.
fn refuse(stream: TcpStream, last_warn: &mut Option<Instant>) {
    let _ = stream.try_write(busy_answer().as_bytes());
    if warn_due(last_warn) {
        tracing::warn!(
            "every connection slot is busy: new connections are refused (limits.max_connections)"
        );
    }
}

/// At most one warning every ten seconds.
fn warn_due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|l| now.duration_since(l) < Duration::from_secs(10)) {
        return false;
    }
    *last = Some(now);
    true
}

/// A failed `accept`: a client that went away is ignored; out of
/// descriptors evicts the oldest idle connection and pauses briefly.
async fn accept_error(e: std::io::Error, table: &Mutex<Table>, last_warn: &mut Option<Instant>) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE));
    if out_of_fds {
        table.lock().expect("connection table").evict_oldest();
    }
    if warn_due(last_warn) {
        tracing::warn!(error = %e, "accepting a connection failed");
    }
    tokio::time::sleep(Duration::from_millis(if out_of_fds { 20 } else { 100 })).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_leave_a_reserve() {
        assert_eq!(reserve(1024), 256);
        assert_eq!(connection_cap(0, 1024), (768, false));
        assert_eq!(connection_cap(100, 1024), (100, false));
        assert_eq!(connection_cap(5000, 1024), (768, true));
        assert_eq!(connection_cap(0, 1 << 20), (AUTO_MAX_CONNECTIONS, false));
        assert_eq!(connection_cap(10_000, 1 << 20), (10_000, false));
        assert_eq!(reserve(100), 50);
        assert_eq!(connection_cap(0, 100), (50, false));
        assert_eq!(connection_cap(0, 0), (1, false));
    }

    #[tokio::test]
    async fn evicts_the_longest_idle() {
        let epoch = Instant::now();
        let mut t = Table::default();
        let add = |t: &mut Table| {
            let tr = Arc::new(Track::new(epoch));
            let id = t.next;
            t.next += 1;
            t.conns.insert(id, tr.clone());
            t.active += 1;
            tr
        };
        let a = add(&mut t);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let b = add(&mut t);
        assert!(t.evict_oldest());
        assert!(a.evicted.load(Ordering::SeqCst));
        assert!(!b.evicted.load(Ordering::SeqCst));
        assert_eq!(t.active, 1);
        assert_eq!(t.closing(), 1);
        t.remove(0);
        assert_eq!(t.closing(), 0);
        assert_eq!(t.active, 1);
        t.remove(1);
        assert_eq!(t.active, 0);
        assert!(!t.evict_oldest());
    }
}

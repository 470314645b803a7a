//! One HTTP connection's life: what it is doing ([`Track`]: fresh,
//! reading a request head, busy in a handler, idle between requests), when
//! it must go (the header-read and idle timeouts, eviction by the accept
//! loop in [`super::listen`]), its socket ([`Socket`]: notices the first
//! byte of each request, lingers briefly on close so an unread request body
//! cannot turn the close into a reset that eats our answer) and [`run`],
//! which serves it with hyper's HTTP/1 connection.
//!
//! Timeouts: a connection that has not sent a complete request head within
//! `header_read` of its opening (or of the first byte of a later request)
//! is closed; one idle between requests for `idle` is closed. A busy one
//! (a handler runs) is bounded by the request timeout instead.
//!
//! A phase change wakes nobody (three a request would each cost the task
//! a wake-up and a new timer): the task's timer is armed at the current
//! deadline or one [`Timeouts::step`] ahead, whichever comes first, and
//! when it fires the phase is read again. Every phase change starts a
//! timeout of at least one step, so the check after it comes before the
//! new deadline, and each deadline is kept to the millisecond.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long an unanswered request head, and an idle keep-alive
/// connection, may hold a connection.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl Timeouts {
    /// The longest the connection's task sleeps before it reads the phase
    /// again: the shorter timeout (at least 1 ms).
    pub fn step(&self) -> Duration {
        self.header_read
            .min(self.idle)
            .max(Duration::from_millis(1))
    }
}

/// What a connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, nothing received yet.
    Fresh,
    /// Bytes of a request head arrived; the head is not complete.
    Head,
    /// A handler is running.
    Busy,
    /// Between requests (keep-alive).
    Idle,
}

const SHIFT: u32 = 62;
const MS_MASK: u64 = (1 << SHIFT) - 1;

fn pack(p: Phase, ms: u64) -> u64 {
    let code = match p {
        Phase::Fresh => 0,
        Phase::Head => 1,
        Phase::Busy => 2,
        Phase::Idle => 3,
    };
    (code << SHIFT) | (ms & MS_MASK)
}

fn unpack(v: u64) -> (Phase, u64) {
    let p = match v >> SHIFT {
        0 => Phase::Fresh,
        1 => Phase::Head,
        2 => Phase::Busy,
        _ => Phase::Idle,
    };
    (p, v & MS_MASK)
}

/// The shared view of one connection: its phase and since when (one atomic
/// word), plus the signals its task waits on.
pub struct Track {
    epoch: Instant,
    state: AtomicU64,
    evict: Notify,
    /// Set (under the accept loop's table lock) once the connection was
    /// chosen for eviction.
    pub(super) evicted: AtomicBool,
}

impl Track {
    /// A fresh connection; `epoch` is the server's, so ages compare.
    pub fn new(epoch: Instant) -> Track {
        let t = Track {
            epoch,
            state: AtomicU64::new(0),
            evict: Notify::new(),
            evicted: AtomicBool::new(false),
        };
        t.state
            .store(pack(Phase::Fresh, t.now_ms()), Ordering::SeqCst);
        t
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The phase and when it began (ms since the epoch).
    pub fn phase(&self) -> (Phase, u64) {
        unpack(self.state.load(Ordering::SeqCst))
    }

    fn set(&self, p: Phase) {
        self.state.store(pack(p, self.now_ms()), Ordering::SeqCst);
    }

    /// Bytes arrived: a fresh or idle connection starts a request head.
    fn on_bytes(&self) {
        let cur = self.state.load(Ordering::SeqCst);
        if matches!(unpack(cur).0, Phase::Fresh | Phase::Idle) {
            // lost only to a phase change of the connection's own task
            let _ = self.state.compare_exchange(
                cur,
                pack(Phase::Head, self.now_ms()),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// When the connection must close if nothing changes; `None` while busy.
    pub fn deadline(&self, t: &Timeouts) -> Option<Instant> {
        let (p, ms) = self.phase();
        let after = match p {
            Phase::Busy => return None,
            Phase::Fresh | Phase::Head => t.header_read,
            Phase::Idle => t.idle,
        };
        Some(self.epoch + Duration::from_millis(ms) + after)
    }

    /// When the connection's task looks at it next, from `now`: its
    /// deadline, or `step` on if that comes first (or it has none).
    pub fn check_at(&self, t: &Timeouts, step: Duration, now: Instant) -> Instant {
        let next = now + step;
        self.deadline(t).map_or(next, |d| d.min(next))
    }

    /// Since when the connection could go without harm (`None` while busy).
    pub fn evictable_since(&self) -> Option<u64> {
        match self.phase() {
            (Phase::Busy, _) => None,
            (_, ms) => Some(ms),
        }
    }

    /// Asks the connection's task to close it (at once unless busy).
    pub(super) fn evict(&self) {
        self.evict.notify_one();
    }
}

/// Marks the connection busy while a handler runs.
struct Busy(Arc<Track>);

impl Busy {
    fn new(t: Arc<Track>) -> Busy {
        t.set(Phase::Busy);
        Busy(t)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.set(Phase::Idle);
    }
}

/// Longest a close waits for the client's side, and most it discards.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_MAX_BYTES: usize = 256 * 1024;

/// The accepted TCP stream: tells its [`Track`] when bytes arrive, and on
/// shutdown sends FIN then reads (and drops) what the client still sends,
/// for at most `LINGER`, so an answer written before the close is not
/// destroyed by a reset (RFC 9112 §9.6).
pub struct Socket {
    inner: TcpStream,
    track: Arc<Track>,
    linger: Option<(Pin<Box<Sleep>>, usize)>,
}

impl Socket {
    pub fn new(inner: TcpStream, track: Arc<Track>) -> Socket {
        Socket {
            inner,
            track,
            linger: None,
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.track.on_bytes();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some((Box::pin(tokio::time::sleep(LINGER)), LINGER_MAX_BYTES));
        }
        let Some((until, left)) = this.linger.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 4096];
        loop {
            if until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                    *left = left.saturating_sub(rb.filled().len());
                    if *left == 0 {
                        return Poll::Ready(Ok(()));
                    }
                }
                // EOF or an error: the client is gone
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Largest request head (request line and headers) hyper buffers.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 100;

/// Serves one accepted connection until it ends, times out, is evicted,
/// or `stop` turns true (then a busy connection finishes its answer with
/// keep-alive off, an idle one closes at once).
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    track: Arc<Track>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(Socket::new(stream, track.clone()));
    let svc_track = track.clone();
    let svc = hyper::service::service_fn(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = Busy::new(svc_track.clone());
        let app = app.clone();
        async move {
            let resp = app.oneshot(req.map(Body::new)).await;
            drop(busy);
            resp
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        return;
    }
    let step = timeouts.step();
    loop {
        let check = track.check_at(&timeouts, step, Instant::now());
        let timer = tokio::time::sleep_until(check);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = timer => {
                if track.deadline(&timeouts).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(%peer, phase = ?track.phase().0, "connection timed out");
                    return;
                }
            }
            _ = track.evict.notified() => {
                if track.phase().0 != Phase::Busy {
                    tracing::debug!(%peer, "connection evicted to make room");
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if track.phase().0 != Phase::Busy {
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Wraps a request body so the caller learns whether it was read to its
/// end (an answer given before that must close the connection).
pub fn watch_body(req: axum::extract::Request) -> (axum::extract::Request, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let req = req.map(|b| {
        Body::new(Watched {
            inner: b,
            done: flag,
        })
    });
    (req, done)
}

struct Watched {
    inner: Body,
    done: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let r = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if r.is_none() {
            self.done.store(true, Ordering::SeqCst);
        }
        Poll::Ready(r)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_packs() {
        for p in [Phase::Fresh, Phase::Head, Phase::Busy, Phase::Idle] {
            assert_eq!(unpack(pack(p, 123_456)), (p, 123_456));
        }
    }

    #[tokio::test]
    async fn phases_and_deadlines() {
        let t = Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let epoch = Instant::now();
        let tr = Arc::new(Track::new(epoch));
        let at = |ms: u64| epoch + Duration::from_millis(ms);
        let (p, fresh) = tr.phase();
        assert_eq!(p, Phase::Fresh);
        assert_eq!(tr.deadline(&t), Some(at(fresh) + t.header_read));
        tokio::time::sleep(Duration::from_millis(20)).await;
        tr.on_bytes();
        let (p, head) = tr.phase();
        assert_eq!(p, Phase::Head);
        assert!(head >= fresh + 20);
        assert_eq!(tr.deadline(&t), Some(at(head) + t.header_read));
        let b = Busy::new(tr.clone());
        assert_eq!(tr.deadline(&t), None);
        assert_eq!(tr.evictable_since(), None);
        // body bytes while busy change nothing
        tr.on_bytes();
        assert_eq!(tr.phase().0, Phase::Busy);
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(b);
        let (p, idle) = tr.phase();
        assert_eq!(p, Phase::Idle);
        assert!(idle >= head + 20);
        assert_eq!(tr.deadline(&t), Some(at(idle) + t.idle));
        assert_eq!(tr.evictable_since(), Some(idle));
    }

    #[test]
    fn the_task_looks_again_before_any_deadline_a_phase_change_can_set() {
        let t = Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let step = t.step();
        assert_eq!(step, t.header_read);
        let epoch = Instant::now();
        let tr = Track::new(epoch);
        // fresh: the header deadline comes first
        let d = tr.deadline(&t).unwrap();
        assert_eq!(tr.check_at(&t, step, epoch), d.min(epoch + step));
        // busy: no deadline, a look one step on
        tr.set(Phase::Busy);
        let now = epoch + Duration::from_secs(30);
        assert_eq!(tr.check_at(&t, step, now), now + step);
        // idle for 60 s: looks every 10 s, then at the deadline itself
        tr.set(Phase::Idle);
        let idle = tr.deadline(&t).unwrap();
        let late = idle - Duration::from_secs(3);
        assert_eq!(tr.check_at(&t, step, late), idle);
        assert_eq!(
            Timeouts {
                header_read: Duration::ZERO,
                idle: Duration::ZERO
            }
            .step(),
            Duration::from_millis(1)
        );
    }
}

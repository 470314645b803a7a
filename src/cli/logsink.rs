//! `peerd serve`'s log sink: log lines are written to stderr in batches
//! by a thread of their own, not one `write` system call each on the
//! thread that logged.
//!
//! A busy daemon logs a line a request (the access line, `peerd::access`);
//! writing each with its own system call, under stderr's lock, took about
//! a tenth of a GET's time at 60k a second. Here a line is appended to a
//! buffer under a short lock, and the writer thread, woken only when it
//! sleeps and the buffer was empty, waits [`GATHER`] for more lines and
//! writes them all at once.
//!
//! What that changes for an operator: a line reaches stderr at most
//! [`GATHER`] (plus the write) after it was logged, and a process killed
//! with `SIGKILL` loses the lines of its last [`GATHER`]. `serve` writes
//! everything left before it returns ([`flush`]), and so does a panic
//! (before its message), so nothing is lost on an error or a clean stop.
//! The buffer is bounded ([`HIGH`]): past it, the thread that logs writes
//! the batch itself, in order, as if stderr were written directly (a
//! stderr that does not drain holds the daemon back, as it always did,
//! and no line is dropped).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How long the writer waits for more lines once one has come.
pub const GATHER: Duration = Duration::from_millis(2);
/// Buffered bytes past which the thread that logs writes them itself.
pub const HIGH: usize = 256 * 1024;

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// The writer thread waits for a line (to be woken).
    asleep: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while writing, so that batches go out in order.
    out: Mutex<Box<dyn Write + Send>>,
}

/// The sink; clones share it.
#[derive(Clone)]
pub struct Sink(Arc<Shared>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sink {
    /// A sink writing to `out`, with its writer thread started.
    pub fn start(out: Box<dyn Write + Send>) -> std::io::Result<Sink> {
        let sink = Sink(Arc::new(Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
            out: Mutex::new(out),
        }));
        let s = sink.clone();
        std::thread::Builder::new()
            .name("peerd-log".into())
            .spawn(move || s.run())?;
        Ok(sink)
    }

    fn run(&self) {
        loop {
            {
                let mut st = lock(&self.0.state);
                while st.buf.is_empty() {
                    st.asleep = true;
                    st = self.0.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                }
                st.asleep = false;
            }
            std::thread::sleep(GATHER);
            self.flush();
        }
    }

    /// Appends one line (or any bytes the formatter wrote at once).
    fn append(&self, b: &[u8]) {
        let over = {
            let mut st = lock(&self.0.state);
            st.buf.extend_from_slice(b);
            if st.asleep {
                st.asleep = false;
                self.0.wake.notify_one();
            }
            st.buf.len() >= HIGH
        };
        if over {
            self.flush();
        }
    }

    /// Writes everything buffered now.
    pub fn flush(&self) {
        let mut out = lock(&self.0.out);
        let batch = std::mem::take(&mut lock(&self.0.state).buf);
        if !batch.is_empty() {
            // nowhere to report a failing stderr: as `eprintln!` would, go on
            let _ = out.write_all(&batch);
            let _ = out.flush();
        }
    }
}

/// What the formatter writes an event through.
pub struct Line(Sink);

impl Write for Line {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.append(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(self.clone())
    }
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The process's sink to stderr, started at its first use, with a panic
/// hook that writes what it holds before the panic's message.
pub fn stderr() -> std::io::Result<Sink> {
    if let Some(s) = SINK.get() {
        return Ok(s.clone());
    }
    let s = Sink::start(Box::new(std::io::stderr()))?;
    let s = SINK.get_or_init(|| s).clone();
    let before = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush();
        before(info)
    }));
    Ok(s)
}

/// Writes what the process's sink holds (nothing if it has none).
pub fn flush() {
    if let Some(s) = SINK.get() {
        s.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);

    impl Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(o: &Out) -> String {
        String::from_utf8(lock(&o.0).clone()).unwrap()
    }

    #[test]
    fn lines_from_many_threads_all_come_out_whole_and_in_each_threads_order() {
        let out = Out::default();
        let sink = Sink::start(Box::new(out.clone())).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let s = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        s.append(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        sink.flush();
        let text = text(&out);
        assert_eq!(text.lines().count(), 8000);
        for t in 0..4 {
            let mine: Vec<_> = text
                .lines()
                .filter(|l| l.starts_with(&format!("t{t} ")))
                .collect();
            let want: Vec<_> = (0..2000).map(|i| format!("t{t} line {i}")).collect();
            assert_eq!(mine, want);
        }
    }

    #[test]
    fn a_line_reaches_the_output_by_itself_soon() {
        let out = Out::default();
        let sink = Sink::start(Box::new(out.clone())).unwrap();
        for round in 0..3 {
            sink.append(format!("line {round}\n").as_bytes());
            let t = std::time::Instant::now();
            while !text(&out).contains(&format!("line {round}")) {
                assert!(t.elapsed() < Duration::from_secs(5), "never written");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn past_the_bound_the_caller_writes_and_keeps_the_order() {
        let out = Out::default();
        let sink = Sink::start(Box::new(out.clone())).unwrap();
        // hold the writer off: whoever writes now waits for the output
        let held = lock(&sink.0.out);
        sink.append(b"first\n");
        let big = vec![b'x'; HIGH];
        let s = sink.clone();
        let writer = std::thread::spawn(move || {
            s.append(&big);
            s.append(b"\nlast\n");
        });
        std::thread::sleep(Duration::from_millis(20));
        // the buffer is past the bound and its caller waits to write it
        assert!(!writer.is_finished());
        drop(held);
        writer.join().unwrap();
        sink.flush();
        let text = text(&out);
        assert!(text.starts_with("first\nxxx"));
        assert!(text.ends_with("x\nlast\n"));
        assert_eq!(text.len(), 6 + HIGH + 6);
    }
}

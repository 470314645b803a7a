//! A lane: one OS thread of its own that runs blocking work handed to it,
//! one piece at a time, in the order given.
//!
//! The poller lists and renders each router's live sessions here rather
//! than on tokio's blocking pool: on the pool, each poll may land on
//! another of its threads, and every thread that reads sled's pages keeps
//! memory of its own in the allocator (at 100k sessions, idle 10 s and
//! then a GET of every id: about 320 MiB on the pool, 265 MiB here).

use std::sync::mpsc;
use std::sync::Mutex;
use tokio::sync::oneshot;

type Task = Box<dyn FnOnce() + Send>;

/// One thread and its queue; the thread ends when the lane is dropped.
pub struct Lane {
    name: &'static str,
    tx: Mutex<Option<mpsc::Sender<Task>>>,
}

impl Lane {
    /// A lane whose thread is named `name`, started on its first use.
    pub fn new(name: &'static str) -> Lane {
        Lane {
            name,
            tx: Mutex::new(None),
        }
    }

    /// Runs `f` on the lane's thread and waits (asynchronously) for it.
    pub async fn run<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, rx) = oneshot::channel();
        let task: Task = Box::new(move || {
            let _ = done.send(f());
        });
        self.sender()?
            .send(task)
            .map_err(|_| format!("{} thread stopped", self.name))?;
        rx.await
            .map_err(|_| format!("{} thread stopped (a task panicked?)", self.name))
    }

    /// The queue, starting the thread on first use (a panicking task
    /// does not end it).
    fn sender(&self) -> Result<mpsc::Sender<Task>, String> {
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tx.as_ref() {
            return Ok(t.clone());
        }
        let (t, rx) = mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    // a panicking task drops its answer (the caller sees an
                    // error) and does not take the thread with it
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
                }
            })
            .map_err(|e| format!("cannot start {}: {e}", self.name))?;
        *tx = Some(t.clone());
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_in_order_on_one_thread_and_survives_a_panic() {
        let lane = Lane::new("test-lane");
        let a = lane.run(|| std::thread::current().id()).await.unwrap();
        let b = lane.run(|| std::thread::current().id()).await.unwrap();
        assert_eq!(a, b);
        assert_ne!(a, std::thread::current().id());
        let err = lane.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(err.contains("stopped"), "{err}");
        assert_eq!(lane.run(|| 7).await.unwrap(), 7);
        assert_eq!(
            lane.run(|| std::thread::current().name().map(str::to_string))
                .await
                .unwrap()
                .as_deref(),
            Some("test-lane")
        );
    }
}

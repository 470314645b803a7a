//! [`LiveIndex`]: the store's one in-memory listing index (`index.rs`),
//! built from the `sessions` tree by a thread of its own at open, and
//! kept by the writer from then on.
//!
//! Opening the store does not wait for the build (a point read needs no
//! index); listings and counts do ([`LiveIndex::read`]), and are answered
//! a [`StoreError`] if the build failed, never left waiting. The build
//! gives way to the rest of the start (its scan reads every record and
//! would take a core and sled's cache from a cold start's first
//! requests): it begins when the first listing asks for the index, or
//! [`BUILD_DELAY`] after the open, whichever comes first.
//!
//! Writes during the build: the writer starts before the builder, and
//! until the build is done it appends its batches' [`IndexOp`]s to a log
//! instead of applying them. The builder scans `sessions` without a lock,
//! then, under the write lock, applies the whole log to what it scanned
//! and puts the result in place. That is right for every session: one
//! that no batch touched since the writer started is in the tree as the
//! scan read it; one that a batch wrote or removed has every such op in
//! the log, in order, and the last one decides (an op sets the state, a
//! `Put` the whole entry, a `Remove` its absence), whatever the scan saw.
//! A session removed during the scan is not brought back, one written
//! during it is not lost. The writer is never held up for the scan.

use super::super::{Result, StoreError};
use super::backend;
use super::index::{Entry, Index, IndexOp};
use super::record::decode_session;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

/// How long after the open the build begins unless a listing asks first.
const BUILD_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

enum Mode {
    /// Built: the writer applies its ops.
    Ready,
    /// Being built: the writer logs its ops for the builder.
    Building(Vec<IndexOp>),
    /// The build failed: listings answer this, ops are dropped.
    Failed(String),
}

struct State {
    index: Index,
    mode: Mode,
}

pub struct LiveIndex {
    state: RwLock<State>,
    /// Rings when the mode leaves `Building`.
    built: Condvar,
    /// Rings when a listing wants the index, or the store closes.
    wanted: Condvar,
    gate: Mutex<()>,
    /// A listing waits for the index: build now.
    asked: AtomicBool,
    /// Asks the builder to stop (the store closes).
    cancel: AtomicBool,
}

impl LiveIndex {
    /// An index to be built ([`LiveIndex::build`]).
    pub fn building() -> Arc<LiveIndex> {
        Self::with(Mode::Building(Vec::new()))
    }

    /// An empty index, ready (a store with no writer's log to replay).
    #[cfg(test)]
    pub fn ready() -> Arc<LiveIndex> {
        Self::with(Mode::Ready)
    }

    fn with(mode: Mode) -> Arc<LiveIndex> {
        Arc::new(LiveIndex {
            state: RwLock::new(State {
                index: Index::default(),
                mode,
            }),
            built: Condvar::new(),
            wanted: Condvar::new(),
            gate: Mutex::new(()),
            asked: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
        })
    }

    /// The writer's ops of one applied batch.
    pub fn apply(&self, ops: Vec<IndexOp>) {
        if ops.is_empty() {
            return;
        }
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let State { index, mode } = &mut *st;
        match mode {
            Mode::Ready => ops.into_iter().for_each(|op| index.apply(op)),
            Mode::Building(log) => log.extend(ops),
            Mode::Failed(_) => {}
        }
    }

    /// Runs `f` over the index once it is built.
    pub fn read<T>(&self, f: impl FnOnce(&Index) -> T) -> Result<T> {
        let st = self.wait()?;
        Ok(f(&st.index))
    }

    fn wait(&self) -> Result<RwLockReadGuard<'_, State>> {
        loop {
            let st = self.state.read().unwrap_or_else(|e| e.into_inner());
            match &st.mode {
                Mode::Ready => return Ok(st),
                Mode::Failed(e) => {
                    return Err(StoreError::Backend(format!(
                        "the listing index could not be built: {e}"
                    )))
                }
                Mode::Building(_) => {}
            }
            drop(st);
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.asked.store(true, Ordering::SeqCst);
            self.wanted.notify_all();
            // the builder rings under the gate: checked again under it, no
            // ring is missed
            if self.is_building() {
                drop(self.built.wait(gate).unwrap_or_else(|e| e.into_inner()));
            }
        }
    }

    fn is_building(&self) -> bool {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        matches!(st.mode, Mode::Building(_))
    }

    /// Starts the thread that builds the index from `sessions`.
    pub fn build(self: &Arc<Self>, sessions: sled::Tree) -> Result<JoinHandle<()>> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("peerd-index".into())
            .spawn(move || {
                me.give_way();
                let t = std::time::Instant::now();
                let scanned =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| me.scan(&sessions)))
                        .unwrap_or_else(|_| {
                            Err(StoreError::Backend("index build panicked".into()))
                        });
                let n = scanned.as_ref().map(|ix| ix.len()).ok();
                me.finish(scanned);
                if let Some(n) = n {
                    tracing::info!(
                        sessions = n,
                        ms = t.elapsed().as_millis() as u64,
                        "listing index built"
                    );
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the index build: {e}")))
    }

    /// Stops a build under way (it fails; the store is closing).
    pub fn cancel(&self) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.cancel.store(true, Ordering::SeqCst);
        self.wanted.notify_all();
    }

    /// Waits until a listing asks, the store closes, or [`BUILD_DELAY`].
    fn give_way(&self) {
        let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let waiting =
            |_: &mut ()| !self.asked.load(Ordering::SeqCst) && !self.cancel.load(Ordering::SeqCst);
        drop(self.wanted.wait_timeout_while(gate, BUILD_DELAY, waiting));
    }

    fn scan(&self, sessions: &sled::Tree) -> Result<Index> {
        let mut entries = Vec::with_capacity(sessions.len());
        for item in sessions.iter() {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(StoreError::Backend("store closed".into()));
            }
            let (_, v) = item.map_err(backend)?;
            entries.push(Entry::of(&decode_session(&v)?));
        }
        Ok(Index::of(entries))
    }

    /// Puts the scanned index in place with the writer's log applied, or
    /// records the failure; wakes whoever waits.
    fn finish(&self, scanned: Result<Index>) {
        {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            let log = match std::mem::replace(&mut st.mode, Mode::Ready) {
                Mode::Building(log) => log,
                _ => Vec::new(),
            };
            match scanned {
                Ok(mut index) => {
                    for op in log {
                        index.apply(op);
                    }
                    st.index = index;
                }
                Err(e) => {
                    if self.cancel.load(Ordering::SeqCst) {
                        // the store closes (a start that failed, a stop)
                        tracing::debug!("listing index build stopped: the store is closing");
                    } else {
                        tracing::error!(error = %e, "listing index build failed");
                    }
                    st.mode = Mode::Failed(e.to_string());
                }
            }
        }
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.built.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionStatus::*;

    fn entry(seq: u64, status: crate::model::SessionStatus) -> Entry {
        Entry {
            seq,
            id: format!("s{seq}"),
            asn: 1,
            status,
            router: "r".into(),
        }
    }

    fn all(live: &LiveIndex) -> Vec<(u64, String)> {
        live.read(|ix| ix.candidates(&super::super::index::Shape::All, 1, u64::MAX, 100))
            .unwrap()
    }

    /// What the writer did during the scan wins over what the scan read:
    /// a session removed meanwhile is not brought back, one written
    /// meanwhile is not lost, a moved one has its last status.
    #[test]
    fn writes_during_the_build_are_kept_and_removals_stay_removed() {
        let live = LiveIndex::building();
        live.apply(vec![
            IndexOp::Put(entry(3, Pending)),
            IndexOp::Remove(1),
            IndexOp::Put(entry(2, Approved)),
        ]);
        // the scan read 1 and 2 (as Pending) before those batches
        let scanned = Index::of(vec![entry(1, Pending), entry(2, Pending)]);
        let reader = {
            let live = live.clone();
            std::thread::spawn(move || all(&live))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        live.finish(Ok(scanned));
        let want = vec![(2, "s2".to_string()), (3, "s3".to_string())];
        assert_eq!(reader.join().unwrap(), want);
        let approved = live
            .read(|ix| ix.candidates(&super::super::index::Shape::Status(&[Approved]), 1, 9, 9))
            .unwrap();
        assert_eq!(approved, vec![(2, "s2".to_string())]);
        // built: the writer's ops apply at once
        live.apply(vec![IndexOp::Remove(3)]);
        assert_eq!(all(&live), vec![(2, "s2".to_string())]);
    }

    #[test]
    fn a_failed_build_answers_an_error_not_a_wait() {
        let live = LiveIndex::building();
        let reader = {
            let live = live.clone();
            std::thread::spawn(move || live.read(|ix| ix.len()))
        };
        live.finish(Err(StoreError::Corrupt("session record".into())));
        let e = reader.join().unwrap().unwrap_err().to_string();
        assert!(e.contains("could not be built"), "{e}");
        live.apply(vec![IndexOp::Remove(1)]);
        assert!(live.read(|ix| ix.len()).is_err());
    }
}

//! Keeping the PeeringDB snapshot fresh: [`sync_once`] fetches and builds
//! one; [`Syncer`] holds the last good one in memory and in the store's
//! meta area (`peeringdb` / `snapshot`), refreshes it on a schedule, and on
//! failure keeps the last good data and records the error for status.
//!
//! The schedule logs a run of failures once: the first failure is a
//! warning (when no data was ever loaded, one that says how to work
//! offline), the next ones short info lines, and the tries back off from
//! [`FAILURE_RETRY`] (doubling) to the sync interval.

use super::client::PdbClient;
use super::snapshot::{Snapshot, SNAPSHOT_FORMAT};
use super::{inventory_ix_ids, PdbError, Result};
use crate::config::PeeringDbSettings;
use crate::inventory::Inventory;
use crate::model::{now_ms, UnixMillis};
use crate::store::lease::{Keeper, PEERINGDB_SYNC};
use crate::store::Store;
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Meta-area namespace and key of the stored snapshot.
pub const META_NS: &str = "peeringdb";
pub const META_KEY: &str = "snapshot";

/// After a failed scheduled sync the next try comes after this, doubling
/// with each failure in a row, up to the sync interval.
pub const FAILURE_RETRY: Duration = Duration::from_secs(300);

/// `90 s`, `5 min`, `2 h`: a delay as a person reads it.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Fetches the data of the inventory's exchanges and builds a snapshot.
/// Fails (so the caller keeps its last good data) when PeeringDB cannot be
/// read, or knows none of the exchanges we asked for.
pub async fn sync_once(client: &PdbClient, inventory: &Inventory) -> Result<Snapshot> {
    let wanted = inventory_ix_ids(inventory);
    let raw = client.fetch_for(&wanted).await?;
    if !wanted.is_empty() && raw.ix.is_empty() {
        return Err(PdbError::Incomplete(format!(
            "none of our {} exchange(s) was returned by {}",
            wanted.len(),
            client.base()
        )));
    }
    let snap = Snapshot::build(&wanted, raw, format!("api {}", client.base()), now_ms());
    check(&snap, inventory);
    Ok(snap)
}

/// Warns about inventory exchanges the data does not cover.
pub(crate) fn check(snap: &Snapshot, inventory: &Inventory) {
    for id in inventory_ix_ids(inventory) {
        match snap.exchange(id) {
            None => {
                tracing::warn!(location = %format!("pdb:ix:{id}"), "exchange not found in PeeringDB data")
            }
            Some(_) if !snap.present_at(id, inventory.asn) => tracing::warn!(
                location = %format!("pdb:ix:{id}"), asn = inventory.asn,
                "our ASN has no netixlan row at this exchange in PeeringDB"),
            Some(_) => {}
        }
    }
}

/// Writes `snap` to the store's meta area. Durable once the caller awaits
/// [`Store::durable`].
pub fn save_to_store(store: &dyn Store, snap: &Snapshot) -> Result<()> {
    let bytes = serde_json::to_vec(snap).map_err(|e| PdbError::Decode {
        what: "snapshot".into(),
        msg: e.to_string(),
    })?;
    store.meta_put(META_NS, META_KEY, &bytes)?;
    Ok(())
}

/// Reads the stored snapshot. `None` when there is none, or when it has
/// another format version (a sync replaces it).
pub fn load_from_store(store: &dyn Store) -> Result<Option<Snapshot>> {
    let Some(bytes) = store.meta_get(META_NS, META_KEY)? else {
        return Ok(None);
    };
    let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| PdbError::Decode {
        what: "stored PeeringDB snapshot".into(),
        msg: e.to_string(),
    })?;
    if snap.format != SNAPSHOT_FORMAT {
        tracing::warn!(
            format = snap.format,
            "ignoring stored PeeringDB snapshot of another format"
        );
        return Ok(None);
    }
    Ok(Some(snap))
}

/// What operators see about the PeeringDB data.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncStatus {
    /// When the data in use was taken, and from where.
    pub taken_at: Option<UnixMillis>,
    pub source: Option<String>,
    pub exchanges: usize,
    pub networks: usize,
    pub last_attempt: Option<UnixMillis>,
    pub last_success: Option<UnixMillis>,
    /// The error of the last attempt, cleared by a success.
    pub last_error: Option<String>,
    /// Failed syncs since start (metrics).
    pub failures: u64,
}

#[derive(Default)]
struct State {
    snapshot: Option<Arc<Snapshot>>,
    last_attempt: Option<UnixMillis>,
    last_success: Option<UnixMillis>,
    last_error: Option<String>,
    /// Scheduled syncs failed in a row (reset by any success).
    failures: u32,
    /// Failed syncs since start (metrics; never reset).
    failures_total: u64,
}

/// Holds the snapshot in use and refreshes it.
pub struct Syncer {
    client: PdbClient,
    inventory: Arc<Inventory>,
    store: Arc<dyn Store>,
    interval: Duration,
    sync_at_start: bool,
    state: RwLock<State>,
    running: tokio::sync::Mutex<()>,
}

impl Syncer {
    /// A syncer from the settings (`api_base`, API key, timeout,
    /// `sync_interval_secs`, `sync_at_start`). Call
    /// [`Syncer::load_from_store`] next, then [`Syncer::spawn`].
    pub fn new(
        settings: &PeeringDbSettings,
        inventory: Arc<Inventory>,
        store: Arc<dyn Store>,
    ) -> Result<Syncer> {
        let client = PdbClient::from_settings(settings)?;
        Ok(Syncer::with_client(
            client,
            inventory,
            store,
            Duration::from_secs(settings.sync_interval_secs),
        )
        .with_sync_at_start(settings.sync_at_start))
    }

    /// A syncer with an explicit client and interval (0 = no schedule).
    pub fn with_client(
        client: PdbClient,
        inventory: Arc<Inventory>,
        store: Arc<dyn Store>,
        interval: Duration,
    ) -> Syncer {
        Syncer {
            client,
            inventory,
            store,
            interval,
            sync_at_start: true,
            state: RwLock::new(State::default()),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether the schedule syncs at start when the data is missing or
    /// stale (default true); off, the first sync waits one interval.
    pub fn with_sync_at_start(mut self, yes: bool) -> Self {
        self.sync_at_start = yes;
        self
    }

    /// The API base it syncs from.
    pub fn api_base(&self) -> &str {
        self.client.base()
    }

    /// Puts the stored snapshot in use (at start). Returns whether there
    /// was one.
    pub fn load_from_store(&self) -> Result<bool> {
        match load_from_store(&*self.store)? {
            Some(snap) => {
                tracing::info!(summary = %snap.summary(), "PeeringDB data loaded from the store");
                self.write().snapshot = Some(Arc::new(snap));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The snapshot in use, if any.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.read().snapshot.clone()
    }

    pub fn status(&self) -> SyncStatus {
        let st = self.read();
        let snap = st.snapshot.as_deref();
        SyncStatus {
            taken_at: snap.map(|s| s.taken_at),
            source: snap.map(|s| s.source.clone()),
            exchanges: snap.map_or(0, |s| s.exchanges.len()),
            networks: snap.map_or(0, |s| s.nets.len()),
            last_attempt: st.last_attempt,
            last_success: st.last_success,
            last_error: st.last_error.clone(),
            failures: st.failures_total,
        }
    }

    /// Puts `snap` in use and stores it (e.g. a dump loaded at run time).
    pub async fn install(&self, snap: Snapshot) -> Result<Arc<Snapshot>> {
        let snap = Arc::new(snap);
        self.write().snapshot = Some(snap.clone());
        save_to_store(&*self.store, &snap)?;
        self.store.durable().await?;
        Ok(snap)
    }

    /// Syncs now (one sync at a time). On success the new snapshot is in
    /// use and stored; on failure the last good one stays in use and the
    /// error is recorded in [`Syncer::status`].
    pub async fn sync_now(&self) -> Result<Arc<Snapshot>> {
        let _one = self.running.lock().await;
        self.write().last_attempt = Some(now_ms());
        let snap = match sync_once(&self.client, &self.inventory).await {
            Ok(s) => Arc::new(s),
            Err(e) => {
                // the caller says it (the schedule once per run of failures)
                tracing::debug!(error = %e, "PeeringDB sync failed");
                let mut st = self.write();
                st.last_error = Some(e.to_string());
                st.failures_total += 1;
                drop(st);
                return Err(e);
            }
        };
        {
            let mut st = self.write();
            st.snapshot = Some(snap.clone());
            st.last_success = Some(now_ms());
            st.last_error = None;
            st.failures = 0;
        }
        tracing::info!(summary = %snap.summary(), "PeeringDB sync done");
        let stored = match save_to_store(&*self.store, &snap) {
            Ok(()) => self.store.durable().await.map_err(PdbError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "PeeringDB data in use but not stored");
            let mut st = self.write();
            st.last_error = Some(format!("data in use but not stored: {e}"));
            st.failures_total += 1;
        }
        Ok(snap)
    }

    /// How long to wait before the next scheduled sync (`first`: the one
    /// at start).
    fn next_delay(&self, first: bool) -> Duration {
        let st = self.read();
        if st.failures > 0 {
            let shift = (st.failures - 1).min(16);
            return FAILURE_RETRY.saturating_mul(1 << shift).min(self.interval);
        }
        let due = match st.snapshot.as_ref().map(|s| s.taken_at) {
            None => Duration::ZERO,
            Some(taken) => {
                let age = Duration::from_millis(now_ms().saturating_sub(taken));
                self.interval.saturating_sub(age)
            }
        };
        if first && !self.sync_at_start && due.is_zero() {
            self.interval
        } else {
            due
        }
    }

    /// Counts a failed scheduled sync and logs it: the first of a run as
    /// a warning, the next ones as a short line.
    fn scheduled_failure(&self, e: &PdbError) {
        let (n, have_data, taken) = {
            let mut st = self.write();
            st.failures = st.failures.saturating_add(1);
            let taken = st.snapshot.as_ref().map(|s| s.taken_at);
            (st.failures, st.snapshot.is_some(), taken)
        };
        let next = human(self.next_delay(false));
        if n > 1 {
            tracing::info!(error = %e, failures = n, next_try = %next, "PeeringDB sync failed again");
        } else if have_data {
            tracing::warn!(
                error = %e,
                taken_at = %crate::wire::rfc3339(taken.unwrap_or_default()),
                next_try = %next,
                "PeeringDB sync failed; the data in use stays as it is"
            );
        } else {
            tracing::warn!(
                error = %e,
                api_base = %self.client.base(),
                next_try = %next,
                "PeeringDB is unreachable and no PeeringDB data was ever loaded: locations and requests are checked against the inventory alone. \
                 To work offline, stop peerd and load a dump (`peerd peeringdb load FILE`), or point `peeringdb.api_base` at a reachable mirror; \
                 `peeringdb.sync_interval_secs: 0` stops these tries. Later failures are logged as short info lines"
            );
        }
    }

    /// The sync schedule's interval (zero: none).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Starts the scheduled sync: at once if the data in use is older than
    /// the interval or absent (unless `sync_at_start` is off), then every
    /// interval; after failures, see [`FAILURE_RETRY`]. `None` when the
    /// interval is 0.
    pub fn spawn(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        self.spawn_leased(Keeper::always(PEERINGDB_SYNC))
    }

    /// [`Self::spawn`] on an instance that shares its store: it syncs only
    /// while `lease` is held; otherwise, when a sync is due, it puts in use
    /// what the instance holding the lease stored.
    pub fn spawn_leased(self: &Arc<Self>, lease: Keeper) -> Option<tokio::task::JoinHandle<()>> {
        if self.interval.is_zero() {
            return None;
        }
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut first = true;
            loop {
                tokio::time::sleep(me.next_delay(first)).await;
                if first {
                    lease.decided().await;
                }
                first = false;
                if !lease.held() {
                    let m = me.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        if let Err(e) = m.load_from_store() {
                            tracing::warn!(error = %e, "reading the PeeringDB data another instance stored failed");
                        }
                    })
                    .await;
                    continue;
                }
                let failed_before = me.read().failures;
                match me.sync_now().await {
                    Ok(_) if failed_before > 0 => {
                        tracing::info!(failures = failed_before, "PeeringDB sync works again")
                    }
                    Ok(_) => {}
                    Err(e) => me.scheduled_failure(&e),
                }
            }
        }))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

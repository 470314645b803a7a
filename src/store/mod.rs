//! The durable store: sessions, requests, the job queue and audit records.
//!
//! [`Store`] is the contract; [`sled_store::SledStore`] is the embedded
//! implementation. Every mutating call is one atomic transaction that also
//! writes its audit record(s). A mutation is *applied* when the call returns,
//! and *durable* once [`Store::durable`] (called after it) resolves: the API
//! awaits `durable()` before it answers, and one flush (or commit) covers
//! many waiters. [`Store::insert_request_durable`] does both in one call,
//! without a thread waiting.
//!
//! # Reads
//!
//! [`Store::get_session`] and [`Store::get_request`] are point reads: they
//! never wait for a write to reach the disk, so callers may make them on
//! an async runtime thread. Listings ([`Store::list_sessions`]) are served
//! from indexes by owner, status and router, a page costing about what it
//! returns, whatever the store holds; they hold nothing that writers wait
//! for. A page is not a snapshot, but paging is exact: a session that is
//! in the filter all along is listed once, none twice.
//!
//! Status changes go through [`Store::transition`], which refuses anything
//! [`SessionStatus::can_transition_to`] does not allow, and keeps the job
//! queue in step (a session that becomes `Approved` or `Deleting` gets a job).
//!
//! # One owner per neighbor address
//!
//! At a router, a neighbor address (the requester's `local_ip`) is *held*
//! by the sessions there that are not terminal (`Rejected`,
//! `Unestablished`) and not removed: at most one of them is not `Deleting`
//! (the address's owner, of whichever network), the others are `Deleting`
//! and hold it until their removal is done. Every implementation enforces
//! this inside the transaction that inserts sessions, so two requests
//! racing for one address never both win ([`Store::insert_request`]):
//!
//! - the address is free: the session is new and holds it;
//! - its owner is a session of the same requester (`local_asn`) with the
//!   same parameters ([`Session::same_request_as`]): that session is the
//!   answer ([`Inserted::Existing`]); other parameters: a conflict
//!   ([`Inserted::Conflict`]);
//! - an owner, or a `Deleting` holder, of another network: refused
//!   ([`Inserted::Taken`], which names nobody);
//! - only `Deleting` holders, all of the same requester with the same
//!   parameters (a repeat of a session being deleted): the session is new
//!   and holds the address too (the hand-over), but its `Provision` job is
//!   not claimable while a `Deleting` holder remains ([`Store::claim`]), so
//!   its push always follows the removal.
//!
//! A session leaves the holders when it becomes terminal or is removed.

mod changes;
#[cfg(test)]
pub mod contract;
pub mod lease;
pub mod postgres;
pub mod rules;
pub mod sled_store;

use crate::model::{
    AuditEvent, Direction, Drain, Job, JobKind, MaintenanceHold, RemoteState, RequestRecord,
    Session, SessionId, SessionStatus, UnixMillis,
};
use futures::future::BoxFuture;

pub use changes::log_change;
pub use postgres::PgStore;
pub use sled_store::SledStore;

/// How many sessions one router holds in one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCount {
    pub router: String,
    pub status: SessionStatus,
    pub count: u64,
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("transition {from} -> {to} is not allowed")]
    BadTransition {
        from: SessionStatus,
        to: SessionStatus,
    },
    #[error("lease lost for job {0}")]
    LeaseLost(u64),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage: {0}")]
    Backend(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A list cursor (`next_token`) that this store did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// Another process (another `peerd serve`, or an offline command) has
    /// the store open: sled lets one process hold a data directory.
    #[error("another peerd is using {0}")]
    Locked(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Outcome of inserting one session of a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Inserted {
    /// A new session was stored.
    New(Session),
    /// An identical session of the same requester already holds the
    /// neighbor address (`same_request_as`); nothing was written for it.
    Existing(Session),
    /// The neighbor address is held by a session of the same requester
    /// with other parameters.
    Conflict(Session),
    /// The neighbor address at that router is held by another network's
    /// session (see the module doc); nothing was written, and the answer
    /// must not say whose it is.
    Taken,
}

/// Filter for listing sessions.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    /// Only sessions whose requester (`local_asn`) is this ASN.
    pub owner_asn: Option<u32>,
    pub request_id: Option<String>,
    pub status: Option<SessionStatus>,
    /// Only sessions in one of these statuses (empty: no such condition;
    /// with `status` as well, both hold). The poller's one read of a
    /// router's live sessions.
    pub any_status: Vec<SessionStatus>,
    pub router: Option<String>,
    /// Only inbound (peers asked) or outbound (we asked) sessions.
    pub direction: Option<Direction>,
}

/// One page of a listing. `next` is an opaque cursor (store-defined string)
/// to pass back as `after`; `None` means there is no further page.
#[derive(Clone, Debug)]
pub struct Page {
    pub sessions: Vec<Session>,
    pub next: Option<String>,
}

/// Conditions and audit of [`Store::remove_session_if`].
#[derive(Clone, Debug, Default)]
pub struct RemoveOpts {
    /// Who did it (for the audit record).
    pub actor: String,
    /// Audit action verb; defaults to `removed`.
    pub action: Option<String>,
    /// Audit detail.
    pub detail: Option<String>,
    /// Only if the session is in one of these (empty = any status).
    pub expect: Vec<SessionStatus>,
    /// Only if the session never reached its router
    /// ([`Session::pushed`] is false).
    pub unpushed: bool,
}

/// Extra effects of a transition, applied in the same transaction.
#[derive(Clone, Debug, Default)]
pub struct TransitionOpts {
    /// New `status_detail` (`Some(None)` clears it; `None` keeps it).
    pub detail: Option<Option<String>>,
    /// Who did it (for the audit record).
    pub actor: String,
    /// Audit action verb; defaults to `transition`.
    pub action: Option<String>,
    /// Only apply if the session is currently in one of these (compare and
    /// set); empty = any state allowed by the table.
    pub expect: Vec<SessionStatus>,
}

/// A change of a session's holds ([`Store::set_hold`]).
#[derive(Clone, Debug, Default)]
pub struct HoldChange {
    /// Who did it, and the audit verb and detail.
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
    /// Only if the session is in one of these (empty = any).
    pub expect: Vec<SessionStatus>,
    /// Only if its maintenance hold / drain is exactly this (compare and set).
    pub expect_maintenance: Option<Option<MaintenanceHold>>,
    pub expect_drain: Option<Option<Drain>>,
    /// New values (`None` keeps the current one).
    pub maintenance: Option<Option<MaintenanceHold>>,
    pub drain: Option<Option<Drain>>,
    /// New `status_detail` (`Some(None)` clears it; `None` keeps it).
    pub status_detail: Option<Option<String>>,
    /// Queue a `Refresh` job (unless one is waiting already).
    pub refresh: bool,
}

/// The store contract. Implementations must be safe to share across tasks,
/// and enforce the address rule of the [module doc](self) (one owner per
/// neighbor address at a router, decided inside the insert transaction;
/// released on removal and terminal statuses; the `Deleting` hand-over and
/// its claim order) exactly as the sled store does.
pub trait Store: Send + Sync + 'static {
    /// Resolves once every mutation that returned before this call is on
    /// disk. Cheap to call often: concurrent callers share one flush.
    fn durable(&self) -> BoxFuture<'static, Result<()>>;

    // ---- requests and sessions -------------------------------------------

    /// Stores a request and its sessions atomically. For each session (in
    /// order) returns whether it was new, an identical repeat, a conflict,
    /// or refused because another network holds its neighbor address
    /// (decided inside the transaction by the address rule of the module
    /// doc; a session created `Rejected` holds nothing). The store assigns
    /// `seq` to new sessions. New sessions in `Approved` get a `Provision`
    /// job. One `created` audit event is written per new session. The
    /// request record lists only the sessions in the answer (new and
    /// existing).
    fn insert_request(
        &self,
        request: &RequestRecord,
        sessions: Vec<Session>,
    ) -> Result<Vec<Inserted>>;

    /// [`Store::insert_request`], resolving once the request is on disk
    /// (as if [`Store::durable`] were awaited after it). Nothing blocks
    /// while it waits: the API's write path.
    fn insert_request_durable(
        &self,
        request: RequestRecord,
        sessions: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<Inserted>>>;

    /// A point read (see [Reads](self#reads)).
    fn get_session(&self, id: &str) -> Result<Option<Session>>;

    /// How many sessions there are per router and status (for the
    /// metrics), sorted by router then status. The default reads every
    /// session through [`Store::list_sessions`]; a backend with a count
    /// index may answer faster.
    fn session_counts(&self) -> Result<Vec<SessionCount>> {
        let mut counts: std::collections::BTreeMap<(String, usize), u64> = Default::default();
        let filter = SessionFilter::default();
        let mut after: Option<String> = None;
        loop {
            let page = self.list_sessions(&filter, after.as_deref(), 1000)?;
            for s in &page.sessions {
                let rank = SessionStatus::ALL
                    .iter()
                    .position(|x| *x == s.status)
                    .unwrap_or_default();
                *counts.entry((s.router.clone(), rank)).or_default() += 1;
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        Ok(counts
            .into_iter()
            .map(|((router, rank), count)| SessionCount {
                router,
                status: SessionStatus::ALL[rank],
                count,
            })
            .collect())
    }

    /// A point read (see [Reads](self#reads)).
    fn get_request(&self, id: &str) -> Result<Option<RequestRecord>>;

    /// Lists sessions in creation order (by `seq`), after the cursor,
    /// through an index where the filter has one (owner, router, status,
    /// request). Sessions created while a client pages appear at the end,
    /// so paging neither skips nor repeats.
    fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page>;

    /// Moves a session to `to` if the table allows it (and `opts.expect`
    /// holds), writes an audit event, and keeps the queue in step:
    /// `Approved` enqueues `Provision`, `Deleting` enqueues `Deprovision`
    /// (cancelling an unclaimed `Provision`, `Expire` or `Refresh` for the
    /// session); an `Established` session that becomes `Deleting` is marked
    /// for a drain ([`Session::drain`]: graceful shutdown before removal). Reaching
    /// `Configured` for the first time sets `configured_ms`. A session
    /// that becomes terminal leaves the holders of its address;
    /// `Unestablished` also clears [`Session::pushed`] (its neighbor was
    /// removed from the router). A terminal session becomes `Deleting` only
    /// if its address is free (it holds it again), else `Conflict`.
    fn transition(&self, id: &str, to: SessionStatus, opts: TransitionOpts) -> Result<Session>;

    /// Sets [`Session::pushed`] on each of `ids` that is still
    /// `Provisioning`, in one transaction, and returns those ids (the
    /// others were deleted, removed or moved on meanwhile: they must not
    /// be pushed). The worker calls it, and awaits `durable()`, just before
    /// a push may change the router; a removal of a session that is not
    /// pushed ([`Store::remove_session_if`] with `unpushed`) is ordered
    /// against it by the store.
    fn mark_pushed(&self, ids: &[SessionId]) -> Result<Vec<SessionId>>;

    /// Updates `status_detail` only (no status change), with an audit event.
    fn set_detail(&self, id: &str, detail: Option<String>, actor: &str) -> Result<Session>;

    /// Changes [`Session::drain`] and [`Session::maintenance`] under the
    /// conditions of `change` (else `Conflict`), with an audit event, and
    /// with `change.refresh` queues a `Refresh` job in the same
    /// transaction. No status change.
    fn set_hold(&self, id: &str, change: &HoldChange) -> Result<Session>;

    /// Records the remote network's side of an outbound session
    /// ([`Session::remote`]) and, when `detail` is `Some`, its
    /// `status_detail` (`Some(None)` clears it); no status change. Audited
    /// (`remote`) only when something an operator reads changed (phase,
    /// remote ids, status or detail), so a poll that learns nothing new
    /// writes no audit record. `Conflict` for an inbound session.
    fn set_remote(
        &self,
        id: &str,
        remote: RemoteState,
        detail: Option<Option<String>>,
        actor: &str,
    ) -> Result<Session>;

    /// Removes a session and its indexes for good (after `Deleting` finished,
    /// or for terminal cleanup); it leaves the holders of its address.
    /// Unleased jobs go with it; a leased one stays for its worker to
    /// finish. Its audit trail stays.
    fn remove_session(&self, id: &str, actor: &str) -> Result<()>;

    /// [`Store::remove_session`] if `opts` hold (compare and set: a status
    /// in `opts.expect`, and with `opts.unpushed` a session never pushed),
    /// else `Conflict`; audited with `opts.action` and `opts.detail`.
    /// Returns the session as it was.
    fn remove_session_if(&self, id: &str, opts: RemoveOpts) -> Result<Session>;

    /// An operator's "retry now": every job of the session that is not
    /// leased becomes claimable at once, with its attempts reset and its
    /// last error cleared; audited (`retry`). `Conflict` when there is no
    /// such job (nothing waits, or the push is running now).
    fn requeue_now(&self, id: &str, actor: &str) -> Result<Session>;

    /// The audit trail of one session, oldest first.
    fn audit(&self, session_id: &str) -> Result<Vec<AuditEvent>>;

    // ---- job queue -----------------------------------------------------------

    /// Adds a job (used for `Expire` by the poller; `transition` enqueues
    /// the others itself). Returns the job id.
    fn enqueue(
        &self,
        session_id: &SessionId,
        router: &str,
        kind: JobKind,
        not_before: UnixMillis,
    ) -> Result<u64>;

    /// Claims up to `max` ready jobs (`not_before <= now`, no live lease),
    /// oldest first, skipping routers in `busy_routers`. Each claimed job
    /// gets a lease until `now + lease_ms` owned by `owner`. No job is ever
    /// held by two live leases. A `Provision` job is not claimable while
    /// another holder of its session's address is `Deleting` (the push of a
    /// repeat waits for the removal of the session it repeats).
    fn claim(
        &self,
        now: UnixMillis,
        lease_ms: u64,
        owner: &str,
        max: usize,
        busy_routers: &[String],
    ) -> Result<Vec<Job>>;

    /// Finishes a job: removes it. Fails with `LeaseLost` if the lease token
    /// no longer matches (someone reclaimed it).
    fn complete(&self, job_id: u64, lease_token: u64) -> Result<()>;

    /// Gives a job back for a retry at `retry_at` with `attempts + 1` and
    /// the error recorded. `LeaseLost` as for `complete`.
    fn fail(&self, job_id: u64, lease_token: u64, retry_at: UnixMillis, error: &str)
        -> Result<Job>;

    /// Gives a leased job back, claimable at `at`, without counting an
    /// attempt (a drain that waits). `LeaseLost` as for `complete`.
    fn defer(&self, job_id: u64, lease_token: u64, at: UnixMillis) -> Result<Job>;

    /// Extends a live lease to `now + lease_ms`.
    fn renew(&self, job_id: u64, lease_token: u64, now: UnixMillis, lease_ms: u64) -> Result<()>;

    /// Makes every job whose lease expired before `now` claimable again.
    /// Returns how many were reclaimed.
    fn reclaim_expired(&self, now: UnixMillis) -> Result<usize>;

    /// All jobs (for operators and tests), in id order.
    fn jobs(&self) -> Result<Vec<Job>>;

    /// The jobs of one session, in id order, through the store's index of
    /// them (what the poller asks about a session, without reading the
    /// whole queue).
    fn session_jobs(&self, session_id: &str) -> Result<Vec<Job>>;

    // ---- small key/value area ------------------------------------------------

    /// Reads a value from the metadata area (PeeringDB snapshot, NETCONF
    /// persist ids, issued tokens, ...), keyed by namespace and key.
    fn meta_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>>;
    fn meta_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<()>;
    fn meta_delete(&self, ns: &str, key: &str) -> Result<()>;
    fn meta_list(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// The namespaces that have at least one key, in order.
    fn meta_namespaces(&self) -> Result<Vec<String>>;

    // ---- named leases ----------------------------------------------------------

    /// Takes or renews the lease `name` for `owner` until `now + ttl_ms`:
    /// granted when nobody holds it, `owner` holds it already, or the
    /// holder's lease ended before `now`. True when `owner` holds it after
    /// the call; false (and nothing changed) when another owner's lease is
    /// live. Atomic: of several owners asking at once, one wins. Instances
    /// sharing a store use it to do per-router and singleton background
    /// work (polling, maintenance windows, syncs) once across them
    /// ([`lease`]).
    fn hold_lease(&self, name: &str, owner: &str, now: UnixMillis, ttl_ms: u64) -> Result<bool>;

    /// Gives the lease `name` up if `owner` holds it (a clean shutdown:
    /// another instance takes over at once instead of after the ttl).
    fn release_lease(&self, name: &str, owner: &str) -> Result<()>;
}

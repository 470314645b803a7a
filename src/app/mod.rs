//! The use cases: what peerd does when a peer or an operator asks, with no
//! HTTP in it. A peer's request is taken in ([`intake()`]: validate ->
//! PeeringDB -> policy -> store -> on disk), a peer deletes a session
//! ([`delete`]); an operator approves, rejects, retries now or force-removes
//! one ([`approve`], [`reject`], [`retry`], [`force_remove`]). The
//! lifecycle rules they share are in [`lifecycle`]. The asking side —
//! peerd asking other networks, following their answer, provisioning our
//! end — is [`outbound`].
//!
//! Each use case gets what it needs through a [`Ctx`] (store, inventory,
//! settings, the PeeringDB snapshot in use, the worker's wake-up) and
//! answers a domain outcome, or an [`AppError`]: a [`Refusal`] kind with
//! field errors. The HTTP handlers above call these and map the refusal
//! to a status in their one error -> HTTP place; the CLI calls them where
//! it works offline ([`intake::preview`] for `peerd render`).
//!
//! Every change is awaited on disk ([`Ctx::durable`]) before the use case
//! returns: a yes that a crash could lose is never given.

mod error;
pub mod intake;
pub mod lifecycle;
pub mod maintenance;
#[cfg(test)]
mod maintenance_tests;
mod operator;
pub mod outbound;
mod peer;
pub mod store_copy;

pub use error::{AppError, Refusal};
pub use intake::{intake, Outcome};
pub use lifecycle::{Deletion, ForceRemoved};
pub use operator::{approve, force_remove, reject, retry, session, REASON_MAX};
pub use peer::{delete, visible_session};

use crate::config::Settings;
use crate::inventory::Inventory;
use crate::peeringdb::Snapshot;
use crate::store::{self, Store};
use std::sync::Arc;

/// What a use case works with. Cheap to build (every field is an `Arc`);
/// the HTTP layer builds one per request, so the PeeringDB snapshot is the
/// one in use when the request arrived.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub inventory: Arc<Inventory>,
    pub settings: Arc<Settings>,
    /// `None`: no PeeringDB data; nothing is checked against PeeringDB.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Wakes the worker when new work was queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// The asking side (remote peers, their HTTP client, our PeeringDB
    /// login); `None` where it does not run (offline commands, tests).
    pub outbound: Option<Arc<outbound::Outbound>>,
    /// Routers whose platform cannot set a TCP-MD5 password (profile
    /// `tcp_md5: false`): a session with a secret there is refused at
    /// intake rather than failing its router's push.
    pub no_md5_routers: Arc<std::collections::BTreeSet<String>>,
}

impl Ctx {
    /// Runs a store call on the blocking pool: a mutation (it waits for its
    /// batch to be applied) or a listing. Point reads need not: see the
    /// store's Reads.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> store::Result<T> + Send + 'static,
    {
        let s = self.store.clone();
        tokio::task::spawn_blocking(move || f(s.as_ref()))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }

    /// Waits until every change made so far is on disk, then wakes the
    /// worker (whatever was just stored may be work for it). Called after
    /// each state change and before the answer.
    pub async fn durable(&self) -> Result<(), AppError> {
        self.store.durable().await.map_err(AppError::internal)?;
        self.wake.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests;

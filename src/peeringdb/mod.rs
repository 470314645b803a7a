//! PeeringDB data for our exchanges: who is present where, with which
//! addresses, and the networks' published facts (max-prefix counts,
//! `policy_general`, IRR as-set).
//!
//! - [`types`]: the API v2 objects as PeeringDB names them.
//! - [`client`]: the HTTP client (API key, timeouts, rate limits, retries).
//! - [`snapshot`]: the indexed data and its pure queries.
//! - [`sync`]: one sync, the scheduled [`Syncer`], keeping the snapshot in
//!   the store's meta area.
//! - [`dump`]: loading a PeeringDB JSON dump for offline use.
//! - [`cmd`]: the `peerd peeringdb sync|load` subcommands.
//!
//! The exchanges synced are those of the inventory's locations
//! (`pdb:ix:<ix id>`).

pub mod client;
pub mod cmd;
pub mod dump;
pub mod snapshot;
pub mod sync;
pub mod types;

pub use client::{ClientOptions, PdbClient};
pub use cmd::{cmd_load, cmd_sync};
pub use dump::load_dump;
pub use snapshot::{Exchange, Family, Member, Net, Snapshot};
pub use sync::{load_from_store, save_to_store, sync_once, SyncStatus, Syncer};

use crate::inventory::Inventory;
use std::collections::BTreeSet;
use std::time::Duration;

/// Errors from fetching, loading or storing PeeringDB data.
#[derive(Debug, thiserror::Error)]
pub enum PdbError {
    #[error("PeeringDB {url}: HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("PeeringDB {url}: rate limited (HTTP 429){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        url: String,
        retry_after: Option<Duration>,
    },
    #[error("PeeringDB {url}: {msg}")]
    Transport { url: String, msg: String },
    #[error("{what}: larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("{what}: cannot decode: {msg}")]
    Decode { what: String, msg: String },
    #[error("PeeringDB data incomplete: {0}")]
    Incomplete(String),
    #[error("PeeringDB settings: {0}")]
    Config(String),
    #[error("{path}: {msg}")]
    Dump { path: String, msg: String },
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl PdbError {
    /// Worth retrying: rate limits, server errors, timeouts and connection
    /// failures. Client errors and undecodable answers are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            PdbError::RateLimited { .. } | PdbError::Transport { .. } => true,
            PdbError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, PdbError>;

/// The PeeringDB ix ids of the inventory's locations (`pdb:ix:<id>`).
pub fn inventory_ix_ids(inventory: &Inventory) -> BTreeSet<u32> {
    inventory
        .locations
        .iter()
        .filter_map(|l| l.id.strip_prefix("pdb:ix:")?.parse().ok())
        .collect()
}

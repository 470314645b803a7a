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

/// The PeeringDB ix id of a location id `pdb:ix:<id>`; `None` for any
/// other form (private locations, ids PeeringDB does not define).
pub fn ix_id(location_id: &str) -> Option<u32> {
    location_id.strip_prefix("pdb:ix:")?.parse().ok()
}

/// The PeeringDB ix ids of the inventory's locations (`pdb:ix:<id>`).
pub fn inventory_ix_ids(inventory: &Inventory) -> BTreeSet<u32> {
    inventory
        .locations
        .iter()
        .filter_map(|l| ix_id(&l.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::{PeeringDbSettings, Settings};

    #[test]
    fn settings_defaults_and_yaml() {
        let d = PeeringDbSettings::default();
        assert_eq!(d.api_key_env, "PEERD_PDB_API_KEY");
        assert_eq!(
            (d.sync_interval_secs, d.max_prefix_margin_percent),
            (3600, 10)
        );
        assert!(!d.require_presence && d.policy_general_allowed.is_empty());
        assert!(d.policy_general_allows("Restrictive"));
        let s: Settings = serde_saphyr::from_str(
            "peeringdb:\n  sync_interval_secs: 60\n  require_presence: true\n  policy_general_allowed: [Open, selective]\n",
        )
        .unwrap();
        let p = &s.peeringdb;
        assert_eq!(p.sync_interval_secs, 60);
        assert_eq!(
            p.max_prefix_margin_percent, 10,
            "unset keys keep their default"
        );
        assert!(p.require_presence);
        assert!(p.policy_general_allows("open") && p.policy_general_allows("Selective"));
        assert!(!p.policy_general_allows("Restrictive") && !p.policy_general_allows(""));
    }

    #[test]
    fn inventory_ix_ids_from_location_ids() {
        let inv = crate::inventory::Inventory {
            asn: 65001,
            routers: vec![],
            locations: ["pdb:ix:42", "pdb:ix:7", "pdb:ix:42"]
                .iter()
                .map(|id| crate::inventory::Location {
                    id: id.to_string(),
                    kind: crate::model::LocationType::Public,
                    name: "x".into(),
                    router: "r".into(),
                    prefixes: vec![],
                    our_ips: vec![],
                    prefix_filter: None,
                })
                .collect(),
            policy: Default::default(),
        };
        assert_eq!(
            super::inventory_ix_ids(&inv)
                .into_iter()
                .collect::<Vec<_>>(),
            vec![7, 42]
        );
    }
}

//! The `peerd peeringdb sync` and `peerd peeringdb load FILE` subcommands.
//!
//! Both open the store directly, so they are for when the daemon is not
//! running (sled locks its directory for one process); a running daemon
//! refreshes the data itself on its schedule (`sync_interval_secs`).

use super::sync::{save_to_store, sync_once};
use super::{dump, PdbClient, Result};
use crate::config::PeeringDbSettings;
use crate::inventory::Inventory;
use crate::store::Store;
use std::path::Path;

/// `peerd peeringdb sync`: fetches the data of the inventory's exchanges
/// from the PeeringDB API and stores it (durably). Returns a summary line.
pub async fn cmd_sync(
    settings: &PeeringDbSettings,
    inventory: &Inventory,
    store: &dyn Store,
) -> Result<String> {
    let client = PdbClient::from_settings(settings)?;
    let snap = sync_once(&client, inventory).await?;
    save_to_store(store, &snap)?;
    store.durable().await?;
    Ok(format!("stored {}", snap.summary()))
}

/// `peerd peeringdb load FILE`: loads a PeeringDB JSON dump (see
/// [`dump`]) restricted to the inventory's exchanges and stores it.
/// Returns a summary line. The write is applied when this returns; the
/// caller awaits `store.durable()` (or closes the store) before exiting.
pub fn cmd_load(path: &Path, inventory: &Inventory, store: &dyn Store) -> Result<String> {
    let snap = dump::load_dump(path, inventory)?;
    save_to_store(store, &snap)?;
    Ok(format!("stored {}", snap.summary()))
}

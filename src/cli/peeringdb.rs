//! `peerd peeringdb sync` and `peerd peeringdb load FILE`: fill the store
//! with PeeringDB data while the daemon is stopped (they open the store
//! directly; sled lets one process hold it). A running daemon refreshes
//! on its schedule, or on `POST /admin/peeringdb/sync`.

use super::serve::{settings, ServeArgs};
use super::{CliError, CliResult};
use crate::inventory::Inventory;
use crate::peeringdb::{cmd_load, cmd_sync};
use crate::store::{SledStore, Store};
use std::path::{Path, PathBuf};

/// Settings, data dir and inventory as for `peerd serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct PeeringDbArgs {
    /// Settings file (default: ./peerd.yaml if it exists, else built-in defaults).
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store (default ./data).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Inventory file (default ./inventory.yaml): the exchanges to keep.
    #[arg(long, value_name = "FILE", global = true)]
    pub inventory: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: PeeringDbCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum PeeringDbCmd {
    /// Fetch the data of our exchanges from the PeeringDB API and store it.
    Sync,
    /// Load a PeeringDB JSON dump (offline use) and store it.
    Load {
        /// The dump file (PeeringDB's JSON dump layout).
        file: PathBuf,
    },
}

/// Opens the store, or explains that the daemon holds it.
pub fn open_store(dir: &Path) -> CliResult<SledStore> {
    SledStore::open(dir).map_err(|e| {
        let m = e.to_string();
        if m.contains("could not acquire lock") || m.contains("WouldBlock") || m.contains("temporarily unavailable") {
            CliError::new(format!(
                "the store in {} is in use (is `peerd serve` running?). Stop the daemon first, or let it sync: it refreshes every sync_interval_secs, and `POST /admin/peeringdb/sync` (operator key) syncs it now",
                dir.display()
            ))
        } else {
            CliError::new(format!("store in {}: {m}", dir.display()))
        }
    })
}

/// `peerd peeringdb ...`.
pub async fn run(a: PeeringDbArgs) -> CliResult {
    let s = settings(&ServeArgs {
        config: a.config.clone(),
        listen: None,
        data_dir: a.data_dir.clone(),
        inventory: a.inventory.clone(),
        ..Default::default()
    })?;
    let inventory = Inventory::load(&s.inventory)?;
    let store = open_store(&s.data_dir)?;
    let msg = match &a.cmd {
        PeeringDbCmd::Sync => cmd_sync(&s.peeringdb, &inventory, &store)
            .await
            .map_err(|e| {
                CliError::new(format!(
                    "PeeringDB sync failed (the stored data is unchanged): {e}"
                ))
            })?,
        PeeringDbCmd::Load { file } => {
            let m = cmd_load(file, &inventory, &store).map_err(CliError::new)?;
            store.durable().await?;
            m
        }
    };
    println!("{msg}");
    Ok(())
}

//! `peerd peeringdb status|sync|load FILE`: the PeeringDB data.
//!
//! `status` and `sync` ask a running daemon through its admin routes
//! (`GET /admin/peeringdb`, `POST /admin/peeringdb/sync`; operator key
//! from `--key`/`PEERD_KEY`) when one runs: when `--url`/`PEERD_URL` is
//! given, or when the store is locked by a daemon (then at the settings'
//! `listen` address). Otherwise, or with `--offline`, they work on the
//! store directly (sled lets one process hold it). `load` always works on
//! the store: stop the daemon first. On PostgreSQL (`store.backend`) only
//! the daemon is asked.

use super::output::{local_time, print_json};
use super::remote::{typed, Client};
use super::serve::{settings, ServeArgs};
use super::{CliError, CliResult, Global};
use crate::config::{Settings, StoreBackend};
use crate::inventory::Inventory;
use crate::peeringdb::{cmd_load, cmd_sync, load_from_store};
use crate::store::{SledStore, Store, StoreError};
use crate::wire::{rfc3339, PeeringDbOut};
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
    /// Work on the store even if PEERD_URL is set (the daemon must be stopped).
    #[arg(long, global = true)]
    pub offline: bool,
    #[command(subcommand)]
    pub cmd: PeeringDbCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum PeeringDbCmd {
    /// The data in use (or stored) and the state of the sync.
    Status,
    /// Fetch the data of our exchanges from the PeeringDB API and store it
    /// (a running daemon syncs and puts it in use at once).
    Sync,
    /// Load a PeeringDB JSON dump (offline use) and store it (daemon stopped).
    Load {
        /// The dump file (PeeringDB's JSON dump layout).
        file: PathBuf,
    },
}

/// Opens the store, or explains that a daemon holds it.
pub fn open_store(dir: &Path) -> CliResult<SledStore> {
    SledStore::open(dir).map_err(|e| match e {
        StoreError::Locked(_) => CliError::new(format!(
            "another peerd is using {} (is `peerd serve` running?). Stop it first; while it runs, `peerd peeringdb sync` asks it to sync (it also refreshes every sync_interval_secs)",
            dir.display()
        )),
        e => CliError::new(format!("store in {}: {e}", dir.display())),
    })
}

/// Where `status` and `sync` go.
enum Target {
    Daemon(Client),
    Store(SledStore),
}

/// The API URL of the daemon `s` describes (its `listen` and `base_path`).
fn daemon_url(s: &Settings) -> String {
    let mut addr = s.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let base = crate::api::server::normalise_base_path(&s.base_path).unwrap_or_default();
    format!("http://{addr}{base}")
}

fn target(g: &Global, a: &PeeringDbArgs, s: &Settings) -> CliResult<Target> {
    if !a.offline {
        if let Some(url) = &g.url {
            return Ok(Target::Daemon(Client::connect(
                url,
                g.key.as_deref().unwrap_or(""),
            )?));
        }
    }
    match SledStore::open(&s.data_dir) {
        Ok(store) => Ok(Target::Store(store)),
        Err(StoreError::Locked(_)) if !a.offline => {
            if s.listen.port() == 0 {
                return Err(CliError::new(format!(
                    "a running peerd holds {}, on a port it picked itself (listen port 0): give its URL with --url or PEERD_URL",
                    s.data_dir.display()
                )));
            }
            let url = daemon_url(s);
            let key = g.key.as_deref().unwrap_or("");
            if key.trim().is_empty() {
                return Err(CliError::new(format!(
                    "a running peerd holds {}; ask it with its operator key (--key KEY or PEERD_KEY) at its URL (--url or PEERD_URL; its settings say {url}), or stop it first",
                    s.data_dir.display()
                )));
            }
            Ok(Target::Daemon(Client::connect(&url, key)?))
        }
        Err(_) => open_store(&s.data_dir).map(Target::Store),
    }
}

/// On PostgreSQL only a running daemon is asked: `load`, `--offline` and
/// a call without `--url` would otherwise work on a sled directory that
/// no daemon reads.
fn offline_on_sled(g: &Global, a: &PeeringDbArgs, s: &Settings) -> CliResult {
    if s.store.backend != StoreBackend::Postgres {
        return Ok(());
    }
    let offline = a.offline || g.url.is_none() || matches!(a.cmd, PeeringDbCmd::Load { .. });
    if offline {
        return Err(CliError::new(
            "the store is PostgreSQL (store.backend): `peerd peeringdb` works on it only through a running peerd; give its URL with --url or PEERD_URL and its operator key (`load` and --offline work on a sled store only)",
        ));
    }
    Ok(())
}

/// `peerd peeringdb ...`.
pub async fn run(g: &Global, a: PeeringDbArgs) -> CliResult {
    let s = settings(&ServeArgs {
        config: a.config.clone(),
        data_dir: a.data_dir.clone(),
        inventory: a.inventory.clone(),
        ..Default::default()
    })?;
    let json = g.format().is_json();
    offline_on_sled(g, &a, &s)?;
    if let PeeringDbCmd::Load { file } = &a.cmd {
        let inventory = Inventory::load(&s.inventory)?;
        let store = open_store(&s.data_dir)?;
        let msg = cmd_load(file, &inventory, &store).map_err(CliError::new)?;
        store.durable().await?;
        if json {
            print_json(&stored_status(&s, &store)?);
        } else {
            println!("{msg}");
        }
        return Ok(());
    }
    match (target(g, &a, &s)?, &a.cmd) {
        (Target::Daemon(c), PeeringDbCmd::Status) => {
            let v = c.get("/admin/peeringdb", &[]).await?;
            let st: PeeringDbOut = typed(&v)?;
            show(json, &st, &format!("peerd at {}", c.base()));
        }
        (Target::Daemon(c), _) => {
            let v = c
                .post("/admin/peeringdb/sync", &serde_json::json!({}))
                .await
                .map_err(|e| CliError::new(format!("PeeringDB sync failed: {e}")))?;
            let st: PeeringDbOut = typed(&v)?;
            show(json, &st, &format!("peerd at {} (synced now)", c.base()));
        }
        (Target::Store(store), PeeringDbCmd::Status) => {
            let st = stored_status(&s, &store)?;
            show(
                json,
                &st,
                &format!("the store in {} (no daemon running)", s.data_dir.display()),
            );
        }
        (Target::Store(store), _) => {
            let inventory = Inventory::load(&s.inventory)?;
            let msg = cmd_sync(&s.peeringdb, &inventory, &store)
                .await
                .map_err(|e| {
                    CliError::new(format!(
                        "PeeringDB sync failed (the stored data is unchanged): {e}"
                    ))
                })?;
            if json {
                print_json(&stored_status(&s, &store)?);
            } else {
                println!("{msg}");
            }
        }
    }
    Ok(())
}

/// The stored snapshot in the status shape (nothing about syncs: only a
/// daemon knows those).
fn stored_status(s: &Settings, store: &dyn Store) -> CliResult<PeeringDbOut> {
    let snap = load_from_store(store).map_err(CliError::new)?;
    Ok(PeeringDbOut {
        in_use: snap.is_some(),
        taken_at: snap.as_ref().map(|x| rfc3339(x.taken_at)),
        source: snap.as_ref().map(|x| x.source.clone()),
        exchanges: snap.as_ref().map_or(0, |x| x.exchanges.len()),
        networks: snap.as_ref().map_or(0, |x| x.nets.len()),
        sync_interval_secs: s.peeringdb.sync_interval_secs,
        last_attempt: None,
        last_success: None,
        last_error: None,
    })
}

fn show(json: bool, st: &PeeringDbOut, from: &str) {
    if json {
        print_json(st);
        return;
    }
    let t = |o: &Option<String>| o.as_deref().map(local_time).unwrap_or("-".into());
    println!("PeeringDB data of {from}:");
    if st.in_use {
        println!(
            "  data:      {} exchange(s), {} network(s), taken {} from {}",
            st.exchanges,
            st.networks,
            t(&st.taken_at),
            st.source.as_deref().unwrap_or("-")
        );
    } else {
        println!("  data:      none (requests are checked against the inventory only; `peerd peeringdb load FILE` or `peerd peeringdb sync`)");
    }
    match st.sync_interval_secs {
        0 => println!("  schedule:  none (sync_interval_secs: 0)"),
        n => println!("  schedule:  every {n} s"),
    }
    if st.last_attempt.is_some() {
        println!(
            "  last sync: attempt {}, success {}",
            t(&st.last_attempt),
            t(&st.last_success)
        );
    }
    if let Some(e) = &st.last_error {
        println!("  last error: {e}");
    }
}

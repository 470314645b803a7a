//! `peerd render <session-id | request file>`: prints, per router, exactly
//! what a push would send, without touching any router. A request file is a
//! `POST /sessions` body (validated as an operator's request would be); a
//! session id is read from the store (on sled offline: the daemon holds the
//! store's lock while it runs; PostgreSQL is read beside the daemons). Secrets are shown as `<redacted>` unless
//! `--reveal-secrets` is given.

use super::{CliError, CliResult};
use crate::app::intake::preview;
use crate::config::{Settings, StoreBackend};
use crate::inventory::Inventory;
use crate::model::{is_id, Session};
use crate::platform::{Op, Profiles};
use crate::render::{render_for_cli, TemplateEnv};
use crate::store::{SledStore, Store};
use crate::wire::CreateBody;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to render.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum RenderOp {
    #[default]
    Add,
    Remove,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// A session id (read from the store) or a JSON request file.
    pub target: String,
    /// Render the add (default) or the remove.
    #[arg(long, value_enum, default_value_t = RenderOp::Add)]
    pub op: RenderOp,
    /// Print MD5 secrets in clear (they are redacted by default).
    #[arg(long)]
    pub reveal_secrets: bool,
    /// Settings file (default: ./peerd.yaml if it exists).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Inventory file (default: from the settings).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Store directory, for a session id (default: from the settings).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Sessions from a request file, validated as an operator's request
/// ([`preview`]).
pub fn sessions_from_file(path: &Path, inv: &Inventory) -> CliResult<Vec<Session>> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let body = CreateBody::from_slice(&bytes)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    preview(inv, &body).map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

/// `peerd render`.
pub fn run(args: RenderArgs) -> CliResult {
    let mut settings = Settings::load(args.config.as_deref())?;
    if let Some(i) = &args.inventory {
        settings.inventory = i.clone();
    }
    if let Some(d) = &args.data_dir {
        settings.data_dir = d.clone();
    }
    let inv = Inventory::load(&settings.inventory)?;
    let profiles = Profiles::load(&settings.drivers_dir).map_err(CliError::new)?;
    let env = TemplateEnv::load(&settings.templates_dir).map_err(CliError::new)?;
    let sessions = if is_id(&args.target) {
        // sled: one process at a time; PostgreSQL: shared with the daemons
        let store: Arc<dyn Store> = match settings.store.backend {
            StoreBackend::Sled => Arc::new(SledStore::open(&settings.data_dir).map_err(|e| {
                CliError::new(format!(
                    "store in {}: {e} (is peerd serve running? render a request file instead, or stop it)",
                    settings.data_dir.display()
                ))
            })?),
            StoreBackend::Postgres => super::serve::open_store(&settings)?.0,
        };
        let s = store
            .get_session(&args.target)?
            .ok_or_else(|| CliError::new(format!("no session {}", args.target)))?;
        vec![s]
    } else {
        sessions_from_file(Path::new(&args.target), &inv)?
    };
    let op = match args.op {
        RenderOp::Add => Op::Add,
        RenderOp::Remove => Op::Remove,
    };
    let text = render_for_cli(&env, &profiles, &inv, op, &sessions, args.reveal_secrets)
        .map_err(CliError::new)?;
    print!("{text}");
    Ok(())
}

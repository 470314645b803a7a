//! `peerd check`: validates the settings, the inventory and the operator
//! keys file; exits non-zero with a clear message on any error.

use super::{CliError, CliResult};
use crate::auth::operator::load_keys;
use crate::config::Settings;
use crate::inventory::Inventory;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct CheckArgs {
    /// Settings file (default: ./peerd.yaml if it exists).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Inventory file (default: from the settings, ./inventory.yaml).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
}

/// What `check` found, for callers that add their own checks.
pub struct Checked {
    pub settings: Settings,
    pub inventory: Inventory,
}

/// Loads and validates; every problem found is in the error.
pub fn check(args: &CheckArgs) -> CliResult<Checked> {
    let mut settings = Settings::load(args.config.as_deref())?;
    if let Some(i) = &args.inventory {
        settings.inventory = i.clone();
    }
    crate::api::server::normalise_base_path(&settings.base_path).map_err(CliError)?;
    let inventory = Inventory::load(&settings.inventory)?;
    load_keys(&settings.operator_keys_file)?;
    Ok(Checked {
        settings,
        inventory,
    })
}

/// `peerd check`.
pub fn run(args: CheckArgs) -> CliResult {
    let c = check(&args)?;
    let inv = &c.inventory;
    println!(
        "{}: OK (AS{}, {} router(s), {} location(s), approval {:?})",
        c.settings.inventory.display(),
        inv.asn,
        inv.routers.len(),
        inv.locations.len(),
        inv.policy.approval
    );
    Ok(())
}

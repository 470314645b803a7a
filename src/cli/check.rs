//! `peerd check`: validates the settings (the asking side's remote peers
//! too: URLs, ASNs, locations, credentials by reference), the inventory, the operator keys
//! file, the platform profiles (`drivers_dir`) and their templates
//! (`templates_dir`, every template of every platform rendered against
//! sample sessions: add and remove, IPv4 and IPv6, with and without MD5);
//! exits non-zero with a clear message listing every error.

use super::{CliError, CliResult};
use crate::auth::operator::load_keys;
use crate::config::Settings;
use crate::inventory::Inventory;
use crate::platform::Profiles;
use crate::render::{self, TemplateEnv};
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
    /// The platforms whose templates were rendered.
    pub platforms: Vec<String>,
}

/// Loads and validates; every problem found is in the error.
pub fn check(args: &CheckArgs) -> CliResult<Checked> {
    let mut settings = Settings::load(args.config.as_deref())?;
    if let Some(i) = &args.inventory {
        settings.inventory = i.clone();
    }
    crate::api::server::normalise_base_path(&settings.base_path).map_err(CliError)?;
    let inventory = Inventory::load(&settings.inventory)?;
    let remote_issues = settings
        .outbound
        .issues(inventory.asn, &inventory.location_ids());
    if !remote_issues.is_empty() {
        let lines: Vec<String> = remote_issues
            .iter()
            .map(|(k, m)| format!("{k}: {m}"))
            .collect();
        return Err(CliError::new(format!(
            "settings: {} problem(s) with the remote peers:\n{}",
            lines.len(),
            lines.join("\n")
        )));
    }
    load_keys(&settings.operator_keys_file)?;
    let profiles =
        Profiles::load(&settings.drivers_dir).map_err(|e| CliError::new(e.to_string()))?;
    let templates =
        TemplateEnv::load(&settings.templates_dir).map_err(|e| CliError::new(e.to_string()))?;
    render::check_all(&inventory, &profiles, &templates).map_err(|errors| {
        CliError::new(format!(
            "{} template problem(s):\n{}",
            errors.len(),
            errors.join("\n")
        ))
    })?;
    Ok(Checked {
        platforms: profiles.platforms().map(str::to_string).collect(),
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
    if !c.settings.outbound.remotes.is_empty() {
        let asns: Vec<String> = c
            .settings
            .outbound
            .remotes
            .iter()
            .map(|r| format!("AS{} ({})", r.asn, r.dialect.as_str()))
            .collect();
        println!("remote peers: OK ({})", asns.join(", "));
    }
    println!(
        "{}, {}: OK ({} platform(s): {}; every template renders for add and remove, IPv4 and IPv6, with and without MD5)",
        c.settings.drivers_dir.display(),
        c.settings.templates_dir.display(),
        c.platforms.len(),
        c.platforms.join(", ")
    );
    Ok(())
}

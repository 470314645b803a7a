//! `peerd check`: validates the settings (the asking side's remote peers
//! too: URLs, ASNs, locations, credentials by reference), the inventory, the operator keys
//! file, the platform profiles (`drivers_dir`) and their templates
//! (`templates_dir`, every template of every platform rendered against
//! sample sessions: add and remove, IPv4 and IPv6, with and without MD5
//! where the platform sets it), and every router's credential and host key
//! references (files there, readable, safe modes; the password variable
//! set; keys that parse; known_hosts with the router's entry).
//! `--connect` then logs in to each router, read-only
//! ([`crate::driver::probe`]). Exits non-zero with every problem named (the
//! router, the inventory key, the file or variable).

use super::output::{print_json, print_table};
use super::{CliError, CliResult, Global};
use crate::auth::operator::load_keys;
use crate::config::Settings;
use crate::driver::probe::{check_connection, ConnectCheck};
use crate::inventory::Inventory;
use crate::platform::Profiles;
use crate::render::{self, TemplateEnv};
use crate::transport::ssh::check_router_files;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct CheckArgs {
    /// Settings file (default: ./peerd.yaml if it exists).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Inventory file (default: from the settings, ./inventory.yaml).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Also log in to every router (read-only): SSH host key and
    /// credential; NETCONF hello and the capabilities the profile needs.
    #[arg(long)]
    pub connect: bool,
    /// Seconds each connection step may take with --connect.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Do not look at the routers' credential files and variables (for a
    /// machine other than the daemon's, e.g. CI checking an inventory).
    #[arg(long, conflicts_with = "connect")]
    pub skip_credentials: bool,
}

/// What `check` found, for callers that add their own checks.
pub struct Checked {
    pub settings: Settings,
    pub inventory: Inventory,
    pub profiles: Profiles,
    /// The platforms whose templates were rendered.
    pub platforms: Vec<String>,
}

/// Loads and validates settings, inventory, keys file, profiles and
/// templates; every problem found is in the error.
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
        profiles,
        settings,
        inventory,
    })
}

/// One router's credential problems (empty: none).
pub fn credential_problems(inv: &Inventory) -> Vec<(String, Vec<String>)> {
    inv.routers
        .iter()
        .map(|r| (r.name.clone(), check_router_files(r)))
        .collect()
}

/// `peerd check`.
pub async fn run(g: &Global, args: CheckArgs) -> CliResult {
    let json = g.format().is_json();
    let c = match check(&args) {
        Ok(c) => c,
        Err(e) if json => {
            print_json(&json!({"ok": false, "errors": [e.to_string()]}));
            return Err(CliError::new("check failed"));
        }
        Err(e) => return Err(e),
    };
    let inv = &c.inventory;
    let creds = if args.skip_credentials {
        Vec::new()
    } else {
        credential_problems(inv)
    };
    let mut errors: Vec<String> = creds
        .iter()
        .flat_map(|(r, ps)| ps.iter().map(move |p| format!("router {r}: {p}")))
        .collect();
    let mut rows = Vec::new();
    if args.connect && errors.is_empty() {
        let t = Duration::from_secs(args.timeout.max(1));
        let checks = inv
            .routers
            .iter()
            .map(|r| check_connection(r, c.profiles.get(&r.platform), t));
        rows = futures::future::join_all(checks).await;
        errors.extend(
            rows.iter()
                .filter(|r| !r.ok)
                .map(|r| format!("router {}: {}", r.router, r.detail)),
        );
    }
    if json {
        print_json(&json!({
            "ok": errors.is_empty(),
            "inventory": {
                "file": c.settings.inventory.display().to_string(),
                "asn": inv.asn,
                "routers": inv.routers.len(),
                "locations": inv.locations.len(),
                "approval": inv.policy.approval,
            },
            "platforms": c.platforms,
            "credentials": if args.skip_credentials { "skipped" } else { "checked" },
            "routers": creds.iter().map(|(r, ps)| json!({"router": r, "problems": ps})).collect::<Vec<_>>(),
            "connect": rows,
            "errors": errors,
        }));
    } else {
        print_text(&c, &args, &creds, &rows);
    }
    match errors.len() {
        0 => Ok(()),
        n if json => Err(CliError::new(format!("{n} problem(s)"))),
        n => Err(CliError::new(format!(
            "{n} problem(s):\n{}",
            errors
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

fn print_text(
    c: &Checked,
    args: &CheckArgs,
    creds: &[(String, Vec<String>)],
    rows: &[ConnectCheck],
) {
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
        "{}, {}: OK ({} platform(s): {}; every template renders for add and remove, IPv4 and IPv6, with and without MD5 where the platform sets it)",
        c.settings.drivers_dir.display(),
        c.settings.templates_dir.display(),
        c.platforms.len(),
        c.platforms.join(", ")
    );
    if args.skip_credentials {
        println!("router credentials: not checked (--skip-credentials)");
    } else {
        let bad = creds.iter().filter(|(_, p)| !p.is_empty()).count();
        if bad == 0 {
            println!(
                "router credentials: OK ({} router(s): files readable with safe modes, variables set, host keys pinned)",
                creds.len()
            );
        } else {
            println!(
                "router credentials: problems with {bad} of {} router(s) (listed below)",
                creds.len()
            );
        }
    }
    if args.connect {
        if rows.is_empty() {
            println!("connections: not tried (fix the credential problems first)");
        } else {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.router.clone(),
                        r.platform.clone(),
                        r.address.clone(),
                        if r.ok { "ok" } else { "FAILED" }.to_string(),
                        r.detail.clone(),
                    ]
                })
                .collect();
            print_table(
                &["ROUTER", "PLATFORM", "ADDRESS", "RESULT", "DETAIL"],
                &table,
            );
        }
    }
}

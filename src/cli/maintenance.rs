//! `peerd admin maintenance ...`: opens, lists and ends maintenance
//! windows through the admin routes of a running peerd (`--url`/`--key`
//! and `--format` as every admin command).

use super::output::{local_time, print_json, print_table};
use super::remote::{typed, Client};
use super::{CliError, CliResult};
use crate::wire::{MaintenanceIn, MaintenanceListOut, MaintenanceOut};
use serde_json::json;

#[derive(clap::Subcommand, Debug, Clone)]
pub enum MaintenanceCmd {
    /// Put a router or a location into maintenance, now or from `--at`:
    /// its sessions are drained (graceful shutdown) and shut down, and
    /// restored when the window ends (`--until`, or `end`).
    Start {
        /// The router (inventory name).
        #[arg(
            long,
            conflicts_with = "location",
            required_unless_present = "location"
        )]
        router: Option<String>,
        /// The location (`pdb:ix:42`).
        #[arg(long)]
        location: Option<String>,
        /// Start time (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// End time (RFC 3339); default: until `end`.
        #[arg(long)]
        until: Option<String>,
        /// Shown to the peers of its sessions.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Current and planned windows.
    List,
    /// End a window (its sessions are restored), or cancel a planned one.
    End { id: String },
}

fn print_windows(ws: &[MaintenanceOut]) {
    let rows: Vec<Vec<String>> = ws
        .iter()
        .map(|w| {
            let target = match (&w.router, &w.location) {
                (Some(r), _) => format!("router {r}"),
                (_, Some(l)) => format!("location {l}"),
                _ => String::new(),
            };
            vec![
                w.id.clone(),
                w.status.clone(),
                target,
                local_time(&w.start),
                w.end
                    .as_deref()
                    .map(local_time)
                    .unwrap_or_else(|| "-".into()),
                w.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["WINDOW", "STATUS", "TARGET", "START", "END", "REASON"],
        &rows,
    );
}

/// `peerd admin maintenance ...`.
pub async fn run(c: &Client, json: bool, cmd: &MaintenanceCmd) -> CliResult {
    let v = match cmd {
        MaintenanceCmd::Start {
            router,
            location,
            at,
            until,
            reason,
        } => {
            let body = MaintenanceIn {
                router: router.clone(),
                location: location.clone(),
                start: at.clone(),
                end: until.clone(),
                reason: reason.clone(),
            };
            c.post("/admin/maintenance", &body).await?
        }
        MaintenanceCmd::List => c.get("/admin/maintenance", &[]).await?,
        MaintenanceCmd::End { id } => {
            if !crate::model::is_id(id) {
                return Err(CliError::new(format!("{id:?} is not a window id")));
            }
            c.post(&format!("/admin/maintenance/{id}/end"), &json!({}))
                .await?
        }
    };
    if json {
        print_json(&v);
    } else if matches!(cmd, MaintenanceCmd::List) {
        let l: MaintenanceListOut = typed(&v)?;
        print_windows(&l.windows);
    } else {
        let w: MaintenanceOut = typed(&v)?;
        print_windows(std::slice::from_ref(&w));
    }
    Ok(())
}

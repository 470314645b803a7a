//! `peerd request`: the asking side from the command line, through the
//! admin routes of the running daemon (server URL and operator key from
//! flags or `PEERD_URL`/`PEERD_KEY`, as for `peerd admin`).
//!
//! - `peerd request ASN [--dry-run] [--location ID]...`: ask the remote
//!   peer for sessions at the locations we share (a dry run prints what
//!   would be asked and stores nothing);
//! - `peerd request status`: remote peers, open requests, deletions at
//!   remotes still to do, our PeeringDB login;
//! - `peerd request login`: start our own PeeringDB login (for remote
//!   peers with `auth: peeringdb`) and print the URL to open.
//!
//! The sessions asked for are listed with `peerd admin sessions
//! --direction outbound` and deleted with `peerd admin delete ID`.

use super::admin::print_sessions;
use super::output::{print_json, print_table};
use super::remote::{typed, Client};
use super::{CliError, CliResult, Global};
use crate::wire::{OutboundOut, OutboundRequestIn, OutboundStateOut};

#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RequestArgs {
    /// The remote peer's ASN (one of `outbound.remotes`).
    pub asn: Option<u32>,
    /// Print what would be asked; store and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only this location of ours (repeatable).
    #[arg(long = "location", value_name = "ID")]
    pub locations: Vec<String>,
    #[command(subcommand)]
    pub cmd: Option<RequestCmd>,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum RequestCmd {
    /// Remote peers, open requests, pending remote deletions, our login.
    Status,
    /// Start our own PeeringDB login; prints the URL to open.
    Login,
}

/// `peerd request ...`.
pub async fn run(g: &Global, a: RequestArgs) -> CliResult {
    let c = Client::from_global(g)?;
    let json = g.format().is_json();
    match (&a.cmd, a.asn) {
        (Some(RequestCmd::Status), _) => {
            let v = c.get("/admin/outbound", &[]).await?;
            if json {
                print_json(&v);
                return Ok(());
            }
            let s: OutboundStateOut = typed(&v)?;
            let rows: Vec<Vec<String>> = s
                .remotes
                .iter()
                .map(|r| {
                    vec![
                        format!("AS{}", r.asn),
                        r.dialect.clone(),
                        r.url.clone(),
                        r.auth.clone(),
                        r.secret.clone(),
                        if r.locations.is_empty() {
                            "(all shared)".into()
                        } else {
                            r.locations.join(",")
                        },
                    ]
                })
                .collect();
            print_table(&["REMOTE", "DIALECT", "URL", "AUTH", "SECRET", "LOCATIONS"], &rows);
            for o in &s.open_requests {
                println!(
                    "open request {} to AS{} (next look {}){}",
                    o.request_id,
                    o.remote_asn,
                    o.next_check_at,
                    o.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
            for d in &s.pending_deletes {
                println!(
                    "deletion of session {} at AS{} pending (attempt {}, next {}){}",
                    d.session_id,
                    d.remote_asn,
                    d.attempts,
                    d.next_try_at,
                    d.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
            let l = &s.peeringdb_login;
            if l.logged_in {
                println!(
                    "our PeeringDB login: {} (AS {:?}), token until {}{}",
                    l.principal.as_deref().unwrap_or("?"),
                    l.asns,
                    l.expires_at.as_deref().unwrap_or("(no expiry given)"),
                    if l.refreshable { ", refreshed by peerd" } else { "" }
                );
            } else {
                println!("our PeeringDB login: none (`peerd request login` for remotes with auth: peeringdb)");
            }
        }
        (Some(RequestCmd::Login), _) => {
            let v = c.post("/admin/outbound/login", &serde_json::json!({})).await?;
            if json {
                print_json(&v);
            } else {
                let url = v["authorize_url"].as_str().unwrap_or_default();
                println!("Open this URL in a browser and log in at PeeringDB as a user of our network:");
                println!("{url}");
                println!("(PeeringDB sends the browser back to our /auth/callback, which keeps the token.)");
            }
        }
        (None, Some(asn)) => {
            let body = OutboundRequestIn {
                asn,
                dry_run: a.dry_run,
                locations: a.locations.clone(),
            };
            let v = c.post("/admin/outbound", &body).await?;
            if json {
                print_json(&v);
                return Ok(());
            }
            let o: OutboundOut = typed(&v)?;
            if o.dry_run {
                println!("dry run: would ask AS{} ({} API) for {} session(s); nothing stored or sent", o.remote_asn, o.dialect, o.sessions.len());
            } else {
                println!(
                    "asked AS{} ({} API) for {} session(s): request {}",
                    o.remote_asn,
                    o.dialect,
                    o.sessions.len(),
                    o.request_id.as_deref().unwrap_or("-")
                );
            }
            if !o.sessions.is_empty() {
                print_sessions(&o.sessions);
            }
            for s in &o.skipped {
                println!(
                    "skipped {}{}: {}",
                    s.location,
                    s.pair.as_deref().map(|p| format!(" {p}")).unwrap_or_default(),
                    s.reason
                );
            }
            if let Some(r) = &o.remote_answer {
                println!("{r}");
            }
            for s in &o.sessions {
                if let Some(d) = &s.session.status_detail {
                    println!("{}: {d}", s.session.session_id);
                }
            }
        }
        (None, None) => {
            return Err(CliError::new(
                "say which remote peer to ask (peerd request ASN), or `peerd request status` / `peerd request login`",
            ))
        }
    }
    Ok(())
}

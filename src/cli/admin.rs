//! `peerd admin ...`: drives the admin routes of a running peerd over HTTP
//! (the daemon holds the store's lock, so state changes go through it).
//! Server URL and operator key come from `--url`/`--key` or
//! `PEERD_URL`/`PEERD_KEY`; output is a table (times in the local time
//! zone), or the server's JSON with `--format json`.

use super::output::{local_time, print_json, print_table};
use super::remote::{typed, Client};
use super::{CliError, CliResult, Global};
use crate::wire::{AdminSessionOut, AuditOut, ForceRemovedOut, JobsOut, ListAdminOut, RejectIn};
use serde_json::{json, Value};

#[derive(clap::Args, Debug, Clone)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub cmd: AdminCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum AdminCmd {
    /// List sessions (all callers), optionally by status, ASN or router.
    Sessions {
        /// Pending, Approved, Rejected, Provisioning, Configured, Established,
        /// Down, Unestablished, Failed or Deleting.
        #[arg(long)]
        status: Option<String>,
        /// Requester ASN.
        #[arg(long)]
        asn: Option<u32>,
        /// Router name.
        #[arg(long)]
        router: Option<String>,
        /// `inbound` (peers asked us) or `outbound` (we asked them).
        #[arg(long)]
        direction: Option<String>,
        /// Page size (1..100).
        #[arg(long, default_value_t = 100)]
        max_results: u32,
        /// Follow `next_token` until the end.
        #[arg(long)]
        all: bool,
        /// Continue from a previous page.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Show one session.
    #[command(visible_alias = "session")]
    Show { session_id: String },
    /// Approve a Pending session (or retry a Failed one).
    Approve { session_id: String },
    /// Reject a Pending or Failed session, with a reason the peer sees.
    Reject {
        session_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Retry now: a Failed session, or one waiting to retry after failed
    /// attempts, goes back to the queue at once with its attempts reset.
    Retry { session_id: String },
    /// Delete a session as its peer's DELETE would: removed at once if its
    /// config never reached the router, else Deleting while the worker
    /// removes it there (an outbound one is deleted at the remote too).
    Delete { session_id: String },
    /// Remove a Deleting or Failed session from the store without
    /// contacting its router (its config may remain there).
    ForceRemove { session_id: String },
    /// A session's audit trail: who did what, when (local time).
    Audit { session_id: String },
    /// The job queue.
    Jobs,
    /// Maintenance windows of routers and locations.
    Maintenance {
        #[command(subcommand)]
        cmd: super::maintenance::MaintenanceCmd,
    },
}

fn encode_id(id: &str) -> CliResult<&str> {
    if crate::model::is_id(id) {
        Ok(id)
    } else {
        Err(CliError::new(format!("{id:?} is not a session id")))
    }
}

/// `peerd admin ...`.
pub async fn run(g: &Global, a: AdminArgs) -> CliResult {
    let c = Client::from_global(g)?;
    let json = g.format().is_json();
    match &a.cmd {
        AdminCmd::Sessions {
            status,
            asn,
            router,
            direction,
            max_results,
            all,
            next_token,
        } => {
            let mut q: Vec<(&str, String)> = vec![("max_results", max_results.to_string())];
            if let Some(s) = status {
                q.push(("status", s.clone()));
            }
            if let Some(n) = asn {
                q.push(("asn", n.to_string()));
            }
            if let Some(r) = router {
                q.push(("router", r.clone()));
            }
            if let Some(d) = direction {
                q.push(("direction", d.clone()));
            }
            let mut token = next_token.clone();
            let mut sessions = Vec::new();
            let mut raw_pages = Vec::new();
            loop {
                let mut qq = q.clone();
                if let Some(t) = &token {
                    qq.push(("next_token", t.clone()));
                }
                let v = c.get("/admin/sessions", &qq).await?;
                let page: ListAdminOut = typed(&v)?;
                raw_pages.push(v);
                sessions.extend(page.sessions);
                token = page.next_token;
                if !*all || token.is_none() {
                    break;
                }
            }
            if json {
                if raw_pages.len() == 1 {
                    print_json(&raw_pages[0]);
                } else {
                    print_json(&json!({ "sessions": sessions }));
                }
            } else {
                print_sessions(&sessions);
                if let Some(t) = token {
                    println!("(more: --next-token {t}, or --all)");
                }
            }
        }
        AdminCmd::Show { session_id } => {
            let v = c.get(&session_path(session_id, "")?, &[]).await?;
            show_session(json, &v)?;
        }
        AdminCmd::Approve { session_id } => {
            let v = c
                .post(&session_path(session_id, "/approve")?, &json!({}))
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::Reject { session_id, reason } => {
            let body = RejectIn {
                reason: reason.clone(),
            };
            let v = c.post(&session_path(session_id, "/reject")?, &body).await?;
            show_session(json, &v)?;
        }
        AdminCmd::Retry { session_id } => {
            let v = c
                .post(&session_path(session_id, "/retry")?, &json!({}))
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::Delete { session_id } => delete(&c, json, session_id).await?,
        AdminCmd::Maintenance { cmd } => super::maintenance::run(&c, json, cmd).await?,
        AdminCmd::ForceRemove { session_id } => {
            let v = c
                .post(&session_path(session_id, "/force-remove")?, &json!({}))
                .await?;
            if json {
                print_json(&v);
            } else {
                let out: ForceRemovedOut = typed(&v)?;
                let s = &out.session;
                println!(
                    "removed session {} ({} on router {})",
                    s.session.session_id, s.session.status, s.router
                );
                if let Some(w) = &out.warning {
                    println!("WARNING: {w}");
                }
            }
        }
        AdminCmd::Audit { session_id } => {
            let v = c.get(&session_path(session_id, "/audit")?, &[]).await?;
            if json {
                print_json(&v);
            } else {
                let a: AuditOut = typed(&v)?;
                let rows: Vec<Vec<String>> = a
                    .events
                    .iter()
                    .map(|e| {
                        vec![
                            local_time(&e.at),
                            e.actor.clone(),
                            e.action.clone(),
                            e.from.map(|s| s.to_string()).unwrap_or_default(),
                            e.to.map(|s| s.to_string()).unwrap_or_default(),
                            e.detail.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                print_table(&["AT", "ACTOR", "ACTION", "FROM", "TO", "DETAIL"], &rows);
            }
        }
        AdminCmd::Jobs => {
            let v = c.get("/admin/jobs", &[]).await?;
            if json {
                print_json(&v);
            } else {
                let j: JobsOut = typed(&v)?;
                let rows: Vec<Vec<String>> = j
                    .jobs
                    .iter()
                    .map(|j| {
                        vec![
                            j.job_id.to_string(),
                            j.kind.clone(),
                            j.session_id.clone(),
                            j.router.clone(),
                            j.attempts.to_string(),
                            local_time(&j.not_before),
                            j.lease_owner.clone().unwrap_or_default(),
                            j.last_error.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                print_table(
                    &[
                        "JOB",
                        "KIND",
                        "SESSION",
                        "ROUTER",
                        "TRIES",
                        "NOT BEFORE",
                        "LEASE",
                        "LAST ERROR",
                    ],
                    &rows,
                );
            }
        }
    }
    Ok(())
}

fn session_path(id: &str, tail: &str) -> CliResult<String> {
    Ok(format!("/admin/sessions/{}{tail}", encode_id(id)?))
}

/// `DELETE /sessions/{id}` with the operator key, then the admin view:
/// gone (404) means removed at once, else it is `Deleting`.
async fn delete(c: &Client, json: bool, id: &str) -> CliResult {
    let path = session_path(id, "")?;
    let before: AdminSessionOut = typed(&c.get(&path, &[]).await?)?;
    c.delete(&format!("/sessions/{}", encode_id(id)?)).await?;
    let after = c.get_answer(&path).await?;
    let now = match after.status.as_u16() {
        404 => None,
        s if (200..300).contains(&s) => Some(typed::<AdminSessionOut>(&after.body)?),
        _ => return Err(c.refusal(&after)),
    };
    if json {
        let outcome = if now.is_some() { "deleting" } else { "removed" };
        print_json(&json!({
            "session_id": id,
            "outcome": outcome,
            "session": now.as_ref().map(|_| &after.body).unwrap_or(&Value::Null),
        }));
        return Ok(());
    }
    match now {
        None => println!(
            "deleted session {id} (was {} on router {}); it is gone",
            before.session.status, before.router
        ),
        Some(s) => println!(
            "session {id} is {}: the worker removes its neighbor from router {}, then it is gone \
             (`peerd admin show {id}` follows it; `peerd admin force-remove {id}` if the router is gone for good)",
            s.session.status, s.router
        ),
    }
    Ok(())
}

fn show_session(json: bool, v: &Value) -> CliResult {
    if json {
        print_json(v);
    } else {
        let s: AdminSessionOut = typed(v)?;
        print_sessions(std::slice::from_ref(&s));
        if let Some(d) = &s.session.status_detail {
            println!("detail: {d}");
        }
    }
    Ok(())
}

pub(crate) fn print_sessions(sessions: &[AdminSessionOut]) {
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let o = &s.session;
            let remote = match &s.remote {
                None => "-".to_string(),
                Some(r) => r.status.clone().unwrap_or_else(|| r.phase.clone()),
            };
            vec![
                o.session_id.clone(),
                s.direction.as_str().to_string(),
                o.status.to_string(),
                remote,
                format!("AS{}", o.local_asn),
                o.local_ip.to_string(),
                o.peer_ip.to_string(),
                o.location.id.clone(),
                s.router.clone(),
                local_time(&s.created_at),
            ]
        })
        .collect();
    print_table(
        &[
            "SESSION", "DIR", "STATUS", "REMOTE", "PEER AS", "PEER IP", "OUR IP", "LOCATION",
            "ROUTER", "CREATED",
        ],
        &rows,
    );
}

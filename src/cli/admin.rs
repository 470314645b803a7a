//! `peerd admin ...`: drives the admin routes of a running peerd over HTTP
//! (the daemon holds the store's lock, so state changes go through it).
//! Server URL and operator key come from flags or `PEERD_URL`/`PEERD_KEY`;
//! output is a table, or the server's JSON with `--json`.

use super::{CliError, CliResult};
use crate::wire::{AdminSessionOut, AuditOut, ForceRemovedOut, JobsOut, ListAdminOut, RejectIn};
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct AdminArgs {
    /// Base URL of the peerd API, including its base path.
    #[arg(long, env = "PEERD_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Operator API key (from `peerd key add`).
    #[arg(long, env = "PEERD_KEY", hide_env_values = true)]
    pub key: String,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
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
    Show { session_id: String },
    /// Delete a session (an outbound one is deleted at the remote too).
    Delete { session_id: String },
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
    /// Remove a Deleting or Failed session from the store without
    /// contacting its router (its config may remain there).
    ForceRemove { session_id: String },
    /// A session's audit trail: who did what, when.
    Audit { session_id: String },
    /// The job queue.
    Jobs,
}

/// An HTTP client for the admin routes (also used by `peerd token`).
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    fn new(a: &AdminArgs) -> CliResult<Client> {
        Client::connect(&a.url, &a.key)
    }

    /// A client for the API at `url` with operator key `key`.
    pub(crate) fn connect(url: &str, key: &str) -> CliResult<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            http,
            base: url.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    /// Sends, checks the status, returns the raw JSON body.
    async fn call(&self, req: reqwest::RequestBuilder) -> CliResult<serde_json::Value> {
        let resp = req
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| CliError::new(format!("cannot reach {}: {e}", self.base)))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            return Err(CliError::new(format!(
                "{status}: {}",
                describe_errors(&body)
            )));
        }
        Ok(body)
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> CliResult<serde_json::Value> {
        self.call(self.http.get(format!("{}{path}", self.base)).query(query))
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> CliResult<serde_json::Value> {
        self.call(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    pub(crate) async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<serde_json::Value> {
        self.call(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }
}

fn describe_errors(body: &serde_json::Value) -> String {
    match body.get("errors").and_then(|e| e.as_array()) {
        Some(items) => items
            .iter()
            .map(|i| {
                let name = i.get("name").and_then(|n| n.as_str()).unwrap_or("request");
                let msgs: Vec<&str> = i
                    .get("errors")
                    .and_then(|m| m.as_array())
                    .map(|m| m.iter().filter_map(|s| s.as_str()).collect())
                    .unwrap_or_default();
                format!("{name}: {}", msgs.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => "no error details".into(),
    }
}

pub(crate) fn typed<T: DeserializeOwned>(v: &serde_json::Value) -> CliResult<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| CliError::new(format!("unexpected answer from the server: {e}")))
}

fn encode_id(id: &str) -> CliResult<&str> {
    if crate::model::is_id(id) {
        Ok(id)
    } else {
        Err(CliError::new(format!("{id:?} is not a session id")))
    }
}

/// `peerd admin ...`.
pub async fn run(a: AdminArgs) -> CliResult {
    let c = Client::new(&a)?;
    let json = a.json;
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
                    print_json(&serde_json::json!({ "sessions": sessions }));
                }
            } else {
                print_sessions(&sessions);
                if let Some(t) = token {
                    println!("(more: --next-token {t}, or --all)");
                }
            }
        }
        AdminCmd::Show { session_id } => {
            let v = c
                .get(&format!("/admin/sessions/{}", encode_id(session_id)?), &[])
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::Delete { session_id } => {
            c.delete(&format!("/sessions/{}", encode_id(session_id)?))
                .await?;
            println!(
                "deleted session {session_id} (it answers 404 once its config is off the router)"
            );
        }
        AdminCmd::Approve { session_id } => {
            let v = c
                .post(
                    &format!("/admin/sessions/{}/approve", encode_id(session_id)?),
                    &serde_json::json!({}),
                )
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::Reject { session_id, reason } => {
            let v = c
                .post(
                    &format!("/admin/sessions/{}/reject", encode_id(session_id)?),
                    &RejectIn {
                        reason: reason.clone(),
                    },
                )
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::Retry { session_id } => {
            let v = c
                .post(
                    &format!("/admin/sessions/{}/retry", encode_id(session_id)?),
                    &serde_json::json!({}),
                )
                .await?;
            show_session(json, &v)?;
        }
        AdminCmd::ForceRemove { session_id } => {
            let v = c
                .post(
                    &format!("/admin/sessions/{}/force-remove", encode_id(session_id)?),
                    &serde_json::json!({}),
                )
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
            let v = c
                .get(
                    &format!("/admin/sessions/{}/audit", encode_id(session_id)?),
                    &[],
                )
                .await?;
            if json {
                print_json(&v);
            } else {
                let a: AuditOut = typed(&v)?;
                let rows: Vec<Vec<String>> = a
                    .events
                    .iter()
                    .map(|e| {
                        vec![
                            e.at.clone(),
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
                            j.not_before.clone(),
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

fn show_session(json: bool, v: &serde_json::Value) -> CliResult {
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

pub(crate) fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
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
                s.created_at.clone(),
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

/// Left-aligned columns, two spaces apart.
pub(crate) fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<width$}", c, width = w[i]))
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(head.to_vec());
    for r in rows {
        line(r.iter().map(|s| s.as_str()).collect());
    }
}

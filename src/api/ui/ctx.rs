//! What every console handler works with: [`UiState`] (the API's state,
//! the console sessions, the operator keys, the templates, a short cache
//! of the overview's numbers), and [`Operator`], the logged-in operator
//! taken from the session cookie (never from an `Authorization` header:
//! peers' tokens and bare operator keys open no page).

use super::page::{self, Flash};
use super::view::Views;
use crate::api::state::AppState;
use crate::auth::console::ConsoleSessions;
use crate::auth::operator::{OperatorVerifier, Role};
use crate::model::{Caller, Job, JobKind};
use crate::store::SessionCount;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::Response;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The console's session cookie.
pub const COOKIE: &str = "peerd_console";
/// The double-submit cookie of the login form (before there is a session).
pub const LOGIN_COOKIE: &str = "peerd_login";
/// How long the overview's store reads are reused between pages.
const REUSE: Duration = Duration::from_millis(900);
/// Router reads and connection checks running at once, console-wide.
pub const ROUTER_CALLS: usize = 4;

/// The console's state (cheap to clone).
#[derive(Clone)]
pub struct UiState {
    pub app: AppState,
    pub sessions: ConsoleSessions,
    pub operators: Arc<OperatorVerifier>,
    pub views: Arc<Views>,
    /// `{base_path}/ui`: every link and the cookie's path.
    pub prefix: String,
    pub numbers: Arc<tokio::sync::Mutex<Option<(Instant, Numbers)>>>,
    /// Bounds router reads and connection checks started from the console.
    pub router_calls: Arc<tokio::sync::Semaphore>,
}

impl FromRef<UiState> for AppState {
    fn from_ref(ui: &UiState) -> AppState {
        ui.app.clone()
    }
}

/// The overview's numbers from the store.
#[derive(Clone, Debug, Default)]
pub struct Numbers {
    pub counts: Vec<SessionCount>,
    pub jobs: JobsSummary,
}

/// The job queue, summed up.
#[derive(Clone, Debug, Default)]
pub struct JobsSummary {
    pub depth: usize,
    pub oldest_ms: Option<u64>,
    pub provision: usize,
    pub deprovision: usize,
    pub expire: usize,
    /// Re-pushes of a held session (drain, maintenance, release).
    pub refresh: usize,
    /// Jobs waiting for a retry after failed attempts.
    pub retrying: usize,
    pub leased: usize,
}

impl JobsSummary {
    fn of(jobs: &[Job]) -> Self {
        let mut s = JobsSummary {
            depth: jobs.len(),
            oldest_ms: jobs.iter().map(|j| j.created_ms).min(),
            ..Default::default()
        };
        for j in jobs {
            match j.kind {
                JobKind::Provision => s.provision += 1,
                JobKind::Deprovision => s.deprovision += 1,
                JobKind::Expire => s.expire += 1,
                JobKind::Refresh => s.refresh += 1,
            }
            if j.lease.is_some() {
                s.leased += 1;
            } else if j.attempts > 0 {
                s.retrying += 1;
            }
        }
        s
    }
}

impl UiState {
    /// A console path: `{prefix}{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Session counts and the queue, read at most once per [`REUSE`].
    pub async fn numbers(&self) -> Result<Numbers, crate::app::AppError> {
        let mut last = self.numbers.lock().await;
        if let Some((at, n)) = &*last {
            if at.elapsed() < REUSE {
                return Ok(n.clone());
            }
        }
        let ctx = self.app.app();
        let (counts, jobs) = ctx
            .blocking(|s| Ok((s.session_counts()?, s.jobs()?)))
            .await?;
        let n = Numbers {
            counts,
            jobs: JobsSummary::of(&jobs),
        };
        *last = Some((Instant::now(), n.clone()));
        Ok(n)
    }

    /// Pending sessions in all (the queue's badge), if the numbers can be
    /// read.
    pub async fn pending(&self) -> Option<u64> {
        let n = self.numbers().await.ok()?;
        Some(
            n.counts
                .iter()
                .filter(|c| c.status == crate::model::SessionStatus::Pending)
                .map(|c| c.count)
                .sum(),
        )
    }
}

/// The operator logged in to this request's console session.
#[derive(Clone, Debug)]
pub struct Operator {
    /// The operator key's name.
    pub name: String,
    pub role: Role,
    /// The session cookie (what the CSRF token is made from).
    cookie: String,
    /// The first 12 hex digits of the session's hash (for logs).
    pub session_id: String,
}

impl Operator {
    /// The caller the use cases see: `operator:<key name>`, read-only for
    /// a viewer.
    pub fn caller(&self) -> Caller {
        Caller {
            principal: format!("operator:{}", self.name),
            asns: Default::default(),
            is_operator: true,
            read_only: self.role == Role::Viewer,
        }
    }

    pub fn can_change(&self) -> bool {
        self.role == Role::Admin
    }

    /// This session's CSRF token (for its forms).
    pub fn csrf(&self) -> String {
        ConsoleSessions::csrf_token(&self.cookie)
    }

    /// True when `presented` is this session's CSRF token.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        ConsoleSessions::csrf_ok(&self.cookie, presented)
    }

    pub fn cookie(&self) -> &str {
        &self.cookie
    }
}

/// The value of cookie `name` in the request, if any (the first one).
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

impl FromRequestParts<UiState> for Operator {
    type Rejection = Response;

    /// The logged-in operator, or a redirect to the login page (saying
    /// why when a session ended under the operator's feet).
    async fn from_request_parts(parts: &mut Parts, ui: &UiState) -> Result<Self, Response> {
        let to_login = |why: Option<Flash>| {
            let mut to = ui.url("/login");
            let back = if parts.method == Method::GET {
                parts.uri.path_and_query().map(|p| p.as_str().to_string())
            } else {
                None
            };
            let mut q = Vec::new();
            if let Some(b) = back.filter(|b| page::is_console_path(&ui.prefix, b)) {
                q.push(format!("next={}", page::encode(&b)));
            }
            if let Some(f) = why {
                q.push(format!("why={}", f.code()));
            }
            if !q.is_empty() {
                to = format!("{to}?{}", q.join("&"));
            }
            page::redirect(&to)
        };
        let Some(cookie) = cookie(parts, COOKIE).map(str::to_string) else {
            return Err(to_login(None));
        };
        let login = match ui.sessions.get(&cookie) {
            Ok(Some(l)) => l,
            Ok(None) => return Err(to_login(Some(Flash::Expired))),
            Err(e) => {
                tracing::error!(error = %e, "console: reading the session failed");
                return Err(page::unavailable());
            }
        };
        let Some(holder) = ui.operators.by_hash(&login.key_hash) else {
            // the key was revoked or rotated: its sessions end with it
            if let Err(e) = ui.sessions.end(&cookie).await {
                tracing::warn!(error = %e, "console: ending a session failed");
            }
            return Err(to_login(Some(Flash::KeyGone)));
        };
        Ok(Operator {
            name: holder.name,
            role: holder.role,
            cookie,
            session_id: login.id,
        })
    }
}

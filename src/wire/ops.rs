//! Answers of the health routes: `GET /healthz` (the process is up) and
//! `GET /readyz` (the store takes writes, the worker and the poller run;
//! each router's last push and poll, shown without failing on them).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`: always `{"status": "ok"}` while the process answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthOut {
    #[schema(examples("ok"))]
    pub status: String,
}

/// One readiness check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckOut {
    /// True when this check does not hold readiness back.
    pub ok: bool,
    /// `ok`, `running`, `disabled` (not configured to run), `starting`,
    /// `stalled` or `failed`.
    #[schema(examples("ok"))]
    pub state: String,
    /// What went wrong, in general terms (details are in the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Store: how long the probe (write and flush) took. Worker: how long
    /// ago its loop last went round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
}

/// The checks of `GET /readyz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChecksOut {
    /// A write to the store's metadata area and its flush to disk, bounded
    /// in time.
    pub store: CheckOut,
    /// The provisioning worker's loop.
    pub worker: CheckOut,
    /// Each router's poll loop.
    pub poller: CheckOut,
}

/// The last push to a router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastPushOut {
    /// `success`, `transient` (will be retried) or `permanent`.
    #[schema(examples("success"))]
    pub outcome: String,
    /// `add` or `remove`.
    pub op: String,
    pub sessions: usize,
    pub at: String,
    pub ms: u64,
}

/// The last poll of a router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastPollOut {
    pub ok: bool,
    pub at: String,
}

/// One router, as `/readyz` shows it (never a reason to be not ready).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouterReadyOut {
    pub router: String,
    /// Absent until the first push since start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push: Option<LastPushOut>,
    /// Absent until the first poll since start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll: Option<LastPollOut>,
}

/// `GET /readyz`: 200 when every check is ok, else 503 with the same body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadyOut {
    /// `ready` or `not ready`.
    #[schema(examples("ready"))]
    pub status: String,
    pub checks: ChecksOut,
    pub routers: Vec<RouterReadyOut>,
}

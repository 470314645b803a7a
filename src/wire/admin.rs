//! Answers of the admin routes (and the bodies they take): sessions as
//! operators see them, audit trails, the job queue, force removals, and
//! the PeeringDB data in use. `peerd admin` reads the same shapes back.

use super::rfc3339;
use super::{RemoteOut, SessionOut};
use crate::model::{Direction, Job, JobKind, Session, SessionStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A session as operators see it: the API view plus where it lives and
/// who asked. Never the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdminSessionOut {
    #[serde(flatten)]
    pub session: SessionOut,
    pub router: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at: Option<String>,
    /// The prefix limit derived from PeeringDB at intake (the router gets
    /// the inventory's default when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prefix: Option<u32>,
    /// `inbound` (a peer asked) or `outbound` (we asked).
    #[serde(default)]
    pub direction: Direction,
    /// For an outbound session: the remote network's side of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteOut>,
}

impl From<&Session> for AdminSessionOut {
    fn from(s: &Session) -> Self {
        AdminSessionOut {
            session: SessionOut::from(s),
            router: s.router.clone(),
            created_by: s.created_by.clone(),
            created_at: rfc3339(s.created_ms),
            updated_at: rfc3339(s.updated_ms),
            configured_at: s.configured_ms.map(rfc3339),
            max_prefix: s.max_prefix,
            direction: s.direction,
            remote: s.remote.as_ref().map(RemoteOut::from),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListAdminOut {
    pub sessions: Vec<AdminSessionOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEventOut {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from: Option<SessionStatus>,
    pub to: Option<SessionStatus>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditOut {
    pub session_id: String,
    pub events: Vec<AuditEventOut>,
}

/// One queued job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    pub job_id: u64,
    pub kind: String,
    pub session_id: String,
    pub router: String,
    pub attempts: u32,
    pub not_before: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl From<&Job> for JobOut {
    fn from(j: &Job) -> Self {
        JobOut {
            job_id: j.job_id,
            kind: match j.kind {
                JobKind::Provision => "Provision",
                JobKind::Deprovision => "Deprovision",
                JobKind::Expire => "Expire",
                JobKind::Refresh => "Refresh",
            }
            .into(),
            session_id: j.session_id.clone(),
            router: j.router.clone(),
            attempts: j.attempts,
            not_before: rfc3339(j.not_before_ms),
            lease_owner: j.lease.as_ref().map(|l| l.owner.clone()),
            lease_until: j.lease.as_ref().map(|l| rfc3339(l.until_ms)),
            last_error: j.last_error.clone(),
            created_at: rfc3339(j.created_ms),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobsOut {
    pub jobs: Vec<JobOut>,
}

/// Answer of the force-remove route: the session as it was, and a warning
/// when its config may remain on the router.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ForceRemovedOut {
    pub removed: bool,
    pub session: AdminSessionOut,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Body of the reject route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    pub reason: String,
}

/// The PeeringDB data in use and the state of its sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeeringDbOut {
    /// True when a snapshot is in use (locations, address checks,
    /// max-prefix and `policy_general` use it).
    pub in_use: bool,
    pub taken_at: Option<String>,
    pub source: Option<String>,
    pub exchanges: usize,
    pub networks: usize,
    /// Seconds between scheduled syncs (0 = none).
    pub sync_interval_secs: u64,
    pub last_attempt: Option<String>,
    pub last_success: Option<String>,
    /// The error of the last sync, cleared by a success.
    pub last_error: Option<String>,
}

//! Admin shapes of the asking side: `peerd request` and the routes under
//! `/admin/outbound` (a request or its dry run, the remote peers and what
//! is open with them, our own PeeringDB login).

use super::AdminSessionOut;
use crate::model::RemoteState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /admin/outbound`: ask `asn` for sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundRequestIn {
    pub asn: u32,
    /// Only say what would be asked; nothing is stored or sent.
    #[serde(default)]
    pub dry_run: bool,
    /// Only these of our locations (on top of the remote's own list).
    #[serde(default)]
    pub locations: Vec<String>,
}

/// A candidate that was not asked for, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkippedOut {
    pub location: String,
    /// `"<their address> <- <our address>"` when a pair was considered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    pub reason: String,
}

/// Answer of `POST /admin/outbound`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboundOut {
    pub remote_asn: u32,
    pub dialect: String,
    pub dry_run: bool,
    /// Our id of the request (the `request_id` of its sessions); absent on
    /// a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The sessions asked for (or that would be), with what the remote said.
    pub sessions: Vec<AdminSessionOut>,
    pub skipped: Vec<SkippedOut>,
    /// How the remote answered (or why it did not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_answer: Option<String>,
}

/// The remote side of an outbound session, as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteOut {
    /// `sending`, `sent` or `gone`.
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl From<&RemoteState> for RemoteOut {
    fn from(r: &RemoteState) -> Self {
        RemoteOut {
            phase: r.phase.as_str().into(),
            session_id: r.session_id.clone(),
            request_id: r.request_id.clone(),
            status: r.status.clone(),
            detail: r.detail.clone(),
            attempts: r.attempts,
            checked_at: r.checked_ms.map(super::rfc3339),
        }
    }
}

/// One configured remote peer (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemotePeerOut {
    pub asn: u32,
    pub url: String,
    pub dialect: String,
    /// `peeringdb`, `bearer_env` or `bearer_file`.
    pub auth: String,
    pub locations: Vec<String>,
    pub secret: String,
}

/// A request still followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenRequestOut {
    pub request_id: String,
    pub remote_asn: u32,
    pub created_at: String,
    pub next_check_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A deletion at a remote that has not gone through yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingDeleteOut {
    pub session_id: String,
    pub remote_asn: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_session_id: Option<String>,
    pub attempts: u32,
    pub next_try_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Answer of `GET /admin/outbound`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutboundStateOut {
    pub remotes: Vec<RemotePeerOut>,
    pub open_requests: Vec<OpenRequestOut>,
    pub pending_deletes: Vec<PendingDeleteOut>,
    /// Our own PeeringDB login (for `auth: peeringdb`).
    pub peeringdb_login: OwnLoginOut,
}

/// Our own PeeringDB access token, as operators see it (never the token).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnLoginOut {
    pub logged_in: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asns: Vec<u32>,
    /// When the access token expires (peerd refreshes it before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub refreshable: bool,
}

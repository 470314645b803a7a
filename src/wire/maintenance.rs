//! Maintenance windows in the API: what an operator sends to open one
//! (`POST /admin/maintenance`) and what `GET /maintenance` (peers: the
//! windows for their sessions' routers and locations) and `GET
//! /admin/maintenance` (operators: all) answer. Our extension, in the
//! spirit of the draft's maintenance proposal.

use super::time::rfc3339;
use crate::model::{MaintenanceTarget, MaintenanceWindow, UnixMillis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /admin/maintenance`: exactly one of `router` and
/// `location`; `start` (RFC 3339) absent = now; `end` absent = until ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceOut {
    pub id: String,
    /// The router in maintenance (operators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// The location (`pdb:ix:42`) in maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The locations of the caller's sessions that it covers (peers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
    /// RFC 3339.
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `planned`, `active` or `ended`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who opened it (operators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl MaintenanceOut {
    /// The window as the caller may see it: an operator with the router
    /// and its author; a peer with `locations`, its own sessions' locations
    /// that the window covers, and never a router name.
    pub fn of(
        w: &MaintenanceWindow,
        operator: bool,
        locations: &[String],
        now: UnixMillis,
    ) -> Self {
        let (router, location) = match &w.target {
            MaintenanceTarget::Router(r) => (operator.then(|| r.clone()), None),
            MaintenanceTarget::Location(l) => (None, Some(l.clone())),
        };
        let status = if w.ended || w.over_at(now) {
            "ended"
        } else if w.started || w.start_ms <= now {
            "active"
        } else {
            "planned"
        };
        MaintenanceOut {
            id: w.id.clone(),
            router,
            location,
            start: rfc3339(w.start_ms),
            end: w.end_ms.map(rfc3339),
            status: status.into(),
            locations: if operator { vec![] } else { locations.to_vec() },
            reason: w.reason.clone(),
            created_by: operator.then(|| w.created_by.clone()),
        }
    }
}

/// The windows, oldest start first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceListOut {
    pub windows: Vec<MaintenanceOut>,
}

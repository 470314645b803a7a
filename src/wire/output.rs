//! Draft -01 response views: sessions, create answers, listings, locations.

use super::FieldError;
use crate::inventory;
use crate::model::{LocationRef, LocationType, Session, SessionStatus};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;
use utoipa::ToSchema;

/// What a set secret looks like in every API answer.
pub const REDACTED: &str = "<redacted>";

/// Stands where a secret would be: always serializes as `"<redacted>"`,
/// and reads any string back as itself (clients parsing our answers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Redacted;

impl Serialize for Redacted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Redacted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|_| Redacted)
    }
}

/// One session in draft -01 field names. `local_*` is the requester,
/// `peer_*` is us. `session_secret` is `"<redacted>"` when one is set and
/// absent otherwise; `status_detail` is absent when there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = super::schema::session_out_example)]
pub struct SessionOut {
    pub session_id: String,
    pub request_id: String,
    #[schema(value_type = u64, maximum = 4294967295_u64)]
    pub local_asn: u32,
    /// The requester's address (IPv4 or IPv6).
    #[schema(value_type = String, examples("192.0.2.10"))]
    pub local_ip: IpAddr,
    #[schema(value_type = u64, maximum = 4294967295_u64)]
    pub peer_asn: u32,
    /// Our address.
    #[schema(value_type = String, examples("192.0.2.1"))]
    pub peer_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_bgp_role: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_bgp_role: Option<u8>,
    pub local_insert_asn: bool,
    pub peer_insert_asn: bool,
    pub local_monitoring_session: bool,
    pub peer_monitoring_session: bool,
    pub peer_type: LocationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_secret: Option<Redacted>,
    pub location: LocationRef,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
}

/// `status_detail` with any occurrence of the session's secret replaced,
/// in case a router error message quoted a config line.
/// A session held by a maintenance window says so first (see `GET
/// /maintenance` for the window).
pub(crate) fn scrubbed_detail(s: &Session) -> Option<String> {
    let note = s.maintenance.as_ref().map(|m| {
        let what = match s.form() {
            crate::model::NeighborForm::Drain => "draining (graceful shutdown), then shut down",
            _ => "shut down",
        };
        format!("maintenance {}: {what} until the window ends", m.window)
    });
    let detail = s
        .status_detail
        .as_ref()
        .map(|detail| match &s.session_secret {
            Some(secret) if !secret.expose().is_empty() => {
                detail.replace(secret.expose(), REDACTED)
            }
            _ => detail.clone(),
        });
    match (note, detail) {
        (Some(n), Some(d)) => Some(format!("{n}; {d}")),
        (n, d) => n.or(d),
    }
}

impl From<&Session> for SessionOut {
    fn from(s: &Session) -> Self {
        SessionOut {
            session_id: s.session_id.clone(),
            request_id: s.request_id.clone(),
            local_asn: s.local_asn.0,
            local_ip: s.local_ip,
            peer_asn: s.peer_asn.0,
            peer_ip: s.peer_ip,
            local_bgp_role: s.local_bgp_role,
            peer_bgp_role: s.peer_bgp_role,
            local_insert_asn: s.local_insert_asn,
            peer_insert_asn: s.peer_insert_asn,
            local_monitoring_session: s.local_monitoring_session,
            peer_monitoring_session: s.peer_monitoring_session,
            peer_type: s.peer_type,
            session_secret: s.session_secret.as_ref().map(|_| Redacted),
            location: s.location.clone(),
            status: s.status,
            status_detail: scrubbed_detail(s),
        }
    }
}

/// Answer to `POST /sessions`: the accepted sessions (new or identical
/// repeats) and the rejected items' errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateOut {
    pub request_id: String,
    pub sessions: Vec<SessionOut>,
    pub errors: Vec<FieldError>,
}

/// Answer to `GET /sessions`; `next_token` is absent on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListSessionsOut {
    pub sessions: Vec<SessionOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One of our peering locations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "pdb:ix:1", "type": "public", "name": "Example IX"}))]
pub struct LocationOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: LocationType,
    pub name: String,
}

impl From<&inventory::Location> for LocationOut {
    fn from(l: &inventory::Location) -> Self {
        LocationOut {
            id: l.id.clone(),
            kind: l.kind,
            name: l.name.clone(),
        }
    }
}

/// Answer to `GET /locations`; `next_token` is absent on the last page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListLocationsOut {
    pub locations: Vec<LocationOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

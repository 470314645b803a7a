//! The v0 proof-of-concept answers, in the exact shapes of the slides:
//! camelCase session fields, `requestId`, `"error": null`, and location
//! types in capitals (`PUBLIC`).
//!
//! Sessions come out normalised (`local*` = the requester, `peer*` = us,
//! as in the slides' add_sessions example), whichever way round the
//! client wrote them. `uuid` is the session id.

use super::REDACTED;
use crate::inventory;
use crate::model::{LocationRef, LocationType, Session, SessionStatus};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::IpAddr;
use utoipa::ToSchema;

/// A v0 location: `{"id": "pdb:ix:42", "type": "PUBLIC"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct V0Location {
    pub id: String,
    /// `PUBLIC` or `PRIVATE`.
    #[serde(rename = "type")]
    #[schema(examples("PUBLIC"))]
    pub kind: String,
}

fn v0_type(k: LocationType) -> String {
    k.as_str().to_ascii_uppercase()
}

impl From<&inventory::Location> for V0Location {
    fn from(l: &inventory::Location) -> Self {
        V0Location {
            id: l.id.clone(),
            kind: v0_type(l.kind),
        }
    }
}

impl From<&LocationRef> for V0Location {
    fn from(l: &LocationRef) -> Self {
        V0Location {
            id: l.id.clone(),
            kind: v0_type(l.kind),
        }
    }
}

/// Answer to `GET /v0/list_locations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct V0ListLocationsOut {
    pub items: Vec<V0Location>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// Always `null` in a success answer.
    #[schema(required = true)]
    pub error: Option<String>,
}

impl V0ListLocationsOut {
    pub fn new<'a>(
        locations: impl IntoIterator<Item = &'a inventory::Location>,
        request_id: impl Into<String>,
    ) -> Self {
        V0ListLocationsOut {
            items: locations.into_iter().map(V0Location::from).collect(),
            request_id: request_id.into(),
            error: None,
        }
    }
}

/// The v0 `md5` field: `"<redacted>"` when a secret is set, `""` when not.
/// Never the secret itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V0Md5 {
    pub set: bool,
}

impl Serialize for V0Md5 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.set { REDACTED } else { "" })
    }
}

impl<'de> Deserialize<'de> for V0Md5 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| V0Md5 { set: !s.is_empty() })
    }
}

/// One v0 session: `localAsn, localIp, peerAsn, peerIp, peerType, md5,
/// location, status, uuid`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V0SessionOut {
    #[schema(value_type = u64, maximum = 4294967295_u64)]
    pub local_asn: u32,
    #[schema(value_type = String, examples("192.0.2.10"))]
    pub local_ip: IpAddr,
    #[schema(value_type = u64, maximum = 4294967295_u64)]
    pub peer_asn: u32,
    #[schema(value_type = String, examples("192.0.2.1"))]
    pub peer_ip: IpAddr,
    /// `public` or `private`.
    pub peer_type: LocationType,
    pub md5: V0Md5,
    pub location: V0Location,
    /// The draft status string (`Pending`, `Configured`, ...).
    pub status: SessionStatus,
    /// The session id.
    pub uuid: String,
}

impl From<&Session> for V0SessionOut {
    fn from(s: &Session) -> Self {
        V0SessionOut {
            local_asn: s.local_asn.0,
            local_ip: s.local_ip,
            peer_asn: s.peer_asn.0,
            peer_ip: s.peer_ip,
            peer_type: s.peer_type,
            md5: V0Md5 {
                set: s.session_secret.is_some(),
            },
            location: V0Location::from(&s.location),
            status: s.status,
            uuid: s.session_id.clone(),
        }
    }
}

/// Answer to `POST /v0/add_sessions` and `GET /v0/get_status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V0SessionsOut {
    pub sessions: Vec<V0SessionOut>,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// `null`, or (`add_sessions`) a summary of the items that were refused.
    #[schema(required = true)]
    pub error: Option<String>,
}

impl V0SessionsOut {
    pub fn new<'a>(
        sessions: impl IntoIterator<Item = &'a Session>,
        request_id: impl Into<String>,
    ) -> Self {
        V0SessionsOut {
            sessions: sessions.into_iter().map(V0SessionOut::from).collect(),
            request_id: request_id.into(),
            error: None,
        }
    }
}

//! The shapes of another network's Peering API, as peerd (the asking side)
//! sends to it and reads back from it.
//!
//! Answers are hostile input: each shape here is strict (every field typed,
//! unknown fields refused: the draft's session fields plus the
//! `status_detail` and `name` this implementation adds; the v0 shapes
//! exactly as on the proof of concept's slides). What they carry is only
//! parsed here; the asking side then checks every value (ids, status
//! strings, free text, addresses against what it asked) before any of it is
//! stored, and none of it ever reaches a template.
//!
//! Requests are written `local_*` = the asker (us), `peer_*` = the remote
//! (draft -01 data types, and the slides' add_sessions example). Their
//! `Debug` never shows a secret.

use crate::model::LocationRef;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

// ---- draft: what we send ---------------------------------------------------

/// One session we ask a draft server for (`POST /sessions`, bare array).
#[derive(Clone, PartialEq, Serialize)]
pub struct DraftSessionReq {
    pub local_asn: u32,
    pub local_ip: IpAddr,
    pub peer_asn: u32,
    pub peer_ip: IpAddr,
    pub peer_type: String,
    pub location: LocationRef,
    /// In clear: the remote must configure it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_secret: Option<String>,
}

impl std::fmt::Debug for DraftSessionReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftSessionReq")
            .field("local_asn", &self.local_asn)
            .field("local_ip", &self.local_ip)
            .field("peer_asn", &self.peer_asn)
            .field("peer_ip", &self.peer_ip)
            .field("location", &self.location)
            .field(
                "session_secret",
                &self.session_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

// ---- draft: what we read ---------------------------------------------------

/// A location in a draft answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteLocation {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /locations` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteLocations {
    pub locations: Vec<RemoteLocation>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// A location reference inside a session (`{"id", "type"}`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteLocationRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A session in a draft answer. Orientation is not trusted: the asking side
/// matches it by its ASNs and addresses.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteSession {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    pub local_asn: u32,
    pub local_ip: IpAddr,
    pub peer_asn: u32,
    pub peer_ip: IpAddr,
    #[serde(default)]
    pub local_bgp_role: Option<u8>,
    #[serde(default)]
    pub peer_bgp_role: Option<u8>,
    #[serde(default)]
    pub local_insert_asn: Option<bool>,
    #[serde(default)]
    pub peer_insert_asn: Option<bool>,
    #[serde(default)]
    pub local_monitoring_session: Option<bool>,
    #[serde(default)]
    pub peer_monitoring_session: Option<bool>,
    #[serde(default)]
    pub peer_type: Option<String>,
    /// Read and dropped (a server should not echo it; ours redacts it).
    #[serde(default)]
    pub session_secret: Option<String>,
    #[serde(default)]
    pub md5: Option<String>,
    pub location: RemoteLocationRef,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_detail: Option<String>,
}

impl std::fmt::Debug for RemoteSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSession")
            .field("session_id", &self.session_id)
            .field("local_asn", &self.local_asn)
            .field("local_ip", &self.local_ip)
            .field("peer_asn", &self.peer_asn)
            .field("peer_ip", &self.peer_ip)
            .field("location", &self.location)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// One error entry: `{"name", "errors"}` (the OpenAPI example writes
/// `messages`; both are read).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteFieldError {
    pub name: String,
    #[serde(alias = "messages")]
    pub errors: Vec<String>,
}

/// `POST /sessions` answer: the accepted sessions and the refused items.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteCreated {
    #[serde(default)]
    pub request_id: Option<String>,
    pub sessions: Vec<RemoteSession>,
    #[serde(default)]
    pub errors: Vec<RemoteFieldError>,
}

/// `GET /sessions` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteSessions {
    pub sessions: Vec<RemoteSession>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// An error answer: `{"errors": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteErrorBody {
    pub errors: Vec<RemoteFieldError>,
}

// ---- v0 --------------------------------------------------------------------

/// A v0 location: `{"id", "type": "PUBLIC"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V0RemoteLocation {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One session we ask a v0 server for (`POST /v0/add_sessions`, bare
/// array, snake_case).
#[derive(Clone, PartialEq, Serialize)]
pub struct V0SessionReq {
    pub local_asn: u32,
    pub local_ip: IpAddr,
    pub peer_asn: u32,
    pub peer_ip: IpAddr,
    pub peer_type: String,
    /// In clear (`""` for none), as the slides send it.
    pub md5: String,
    pub location: V0RemoteLocation,
    /// Our session id.
    pub uuid: String,
}

impl std::fmt::Debug for V0SessionReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V0SessionReq")
            .field("local_asn", &self.local_asn)
            .field("local_ip", &self.local_ip)
            .field("peer_asn", &self.peer_asn)
            .field("peer_ip", &self.peer_ip)
            .field("location", &self.location)
            .field(
                "md5",
                &if self.md5.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("uuid", &self.uuid)
            .finish()
    }
}

/// `GET /v0/list_locations` answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V0RemoteLocations {
    pub items: Vec<V0RemoteLocation>,
    #[serde(rename = "requestId", default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A v0 session in an answer (camelCase).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct V0RemoteSession {
    pub local_asn: u32,
    pub local_ip: IpAddr,
    pub peer_asn: u32,
    pub peer_ip: IpAddr,
    #[serde(default)]
    pub peer_type: Option<String>,
    /// Read and dropped.
    #[serde(default)]
    pub md5: Option<String>,
    pub location: V0RemoteLocation,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub uuid: Option<String>,
}

impl std::fmt::Debug for V0RemoteSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V0RemoteSession")
            .field("local_asn", &self.local_asn)
            .field("local_ip", &self.local_ip)
            .field("peer_asn", &self.peer_asn)
            .field("peer_ip", &self.peer_ip)
            .field("location", &self.location)
            .field("status", &self.status)
            .field("uuid", &self.uuid)
            .finish_non_exhaustive()
    }
}

/// `POST /v0/add_sessions` and `GET /v0/get_status` answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V0RemoteSessions {
    pub sessions: Vec<V0RemoteSession>,
    #[serde(rename = "requestId", default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn our_own_answers_parse() {
        // the shapes this implementation's server writes
        let created: RemoteCreated = serde_json::from_value(json!({
            "request_id": "r1", "errors": [{"name": "sessions[1]", "errors": ["no"]}],
            "sessions": [{"session_id": "s1", "request_id": "r1", "local_asn": 65001,
              "local_ip": "192.0.2.1", "peer_asn": 65010, "peer_ip": "192.0.2.10",
              "local_insert_asn": true, "peer_insert_asn": true,
              "local_monitoring_session": false, "peer_monitoring_session": false,
              "peer_type": "public", "session_secret": "<redacted>",
              "location": {"id": "pdb:ix:1", "type": "public"}, "status": "Pending",
              "status_detail": "waits"}]}))
        .unwrap();
        assert_eq!(created.sessions[0].status.as_deref(), Some("Pending"));
        let v0: V0RemoteSessions = serde_json::from_value(json!({
            "sessions": [{"localAsn": 65001, "localIp": "192.0.2.1", "peerAsn": 65010,
              "peerIp": "192.0.2.10", "peerType": "public", "md5": "",
              "location": {"id": "pdb:ix:1", "type": "PUBLIC"}, "status": "Configured",
              "uuid": "u1"}], "requestId": "r1", "error": null}))
        .unwrap();
        assert_eq!(v0.sessions[0].uuid.as_deref(), Some("u1"));
        let e: RemoteErrorBody = serde_json::from_value(
            json!({"errors": [{"name": "peer_asn", "messages": ["asn not available"]}]}),
        )
        .unwrap();
        assert_eq!(e.errors[0].errors, ["asn not available"]);
    }

    #[test]
    fn strict_shapes_refuse_surprises() {
        for bad in [
            json!({"sessions": [], "surprise": 1}),
            json!({"sessions": [{"local_asn": "65001", "local_ip": "192.0.2.1", "peer_asn": 1,
                "peer_ip": "192.0.2.10", "location": {"id": "x", "type": "public"}}]}),
            json!({"sessions": [{"local_asn": 65001, "local_ip": "not an ip", "peer_asn": 1,
                "peer_ip": "192.0.2.10", "location": {"id": "x", "type": "public"}}]}),
            json!({"sessions": [{"local_asn": 65001, "local_ip": "192.0.2.1", "peer_asn": 1,
                "peer_ip": "192.0.2.10", "location": {"id": "x", "type": "public", "x": 1}}]}),
            json!({"sessions": "none"}),
        ] {
            assert!(
                serde_json::from_value::<RemoteCreated>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<V0RemoteSessions>(
            json!({"sessions": [], "requestId": "r", "error": null, "extra": true})
        )
        .is_err());
    }

    #[test]
    fn requests_do_not_show_secrets_in_debug() {
        let r = DraftSessionReq {
            local_asn: 65001,
            local_ip: "192.0.2.1".parse().unwrap(),
            peer_asn: 65010,
            peer_ip: "192.0.2.10".parse().unwrap(),
            peer_type: "public".into(),
            location: LocationRef {
                id: "pdb:ix:1".into(),
                kind: crate::model::LocationType::Public,
            },
            session_secret: Some("hunter2".into()),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        assert!(serde_json::to_string(&r).unwrap().contains("hunter2"));
    }
}

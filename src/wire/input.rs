//! Request bodies: one requested session ([`SessionIn`]) and the create body
//! ([`CreateBody`]: a bare array, or `{"sessions": [...], "return_url"?,
//! "request_id"?}`).

use super::{push_field_error, ErrorBody, FieldError};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Every field a session item may carry (draft -01 names, the `md5` alias,
/// and the fields clients echo back that we ignore: `status`,
/// `session_id`, `request_id`, v0's `uuid`).
pub const SESSION_FIELDS: &[&str] = &[
    "local_asn",
    "local_ip",
    "peer_asn",
    "peer_ip",
    "local_bgp_role",
    "peer_bgp_role",
    "local_insert_asn",
    "peer_insert_asn",
    "local_monitoring_session",
    "peer_monitoring_session",
    "peer_type",
    "session_secret",
    "md5",
    "location",
    "status",
    "session_id",
    "request_id",
    "uuid",
];

/// The fields of a session's `location` object.
pub const LOCATION_FIELDS: &[&str] = &["id", "type"];

/// The fields of the object form of the create body.
pub const CREATE_FIELDS: &[&str] = &["sessions", "return_url", "request_id"];

/// One requested session, as sent. Every field is optional and kept as raw
/// JSON (`null` counts as absent); validation checks types and values and
/// names each problem by its field path.
///
/// ASNs may be JSON integers or strings of digits (the v0 client sends
/// strings); `location.type` is case-insensitive (v0 sends `PUBLIC`);
/// `md5` is an alias of `session_secret`. `status`, `session_id`,
/// `request_id` and `uuid` are accepted (clients echo them back) but only
/// checked for safe characters, never used.
///
/// `Debug` redacts `session_secret` and `md5`.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionIn {
    pub local_asn: Option<Value>,
    pub local_ip: Option<Value>,
    pub peer_asn: Option<Value>,
    pub peer_ip: Option<Value>,
    pub local_bgp_role: Option<Value>,
    pub peer_bgp_role: Option<Value>,
    pub local_insert_asn: Option<Value>,
    pub peer_insert_asn: Option<Value>,
    pub local_monitoring_session: Option<Value>,
    pub peer_monitoring_session: Option<Value>,
    pub peer_type: Option<Value>,
    pub session_secret: Option<Value>,
    pub md5: Option<Value>,
    /// `{"id": "pdb:ix:N", "type": "public"}`; unknown keys are reported by
    /// validation as `location.<key>`.
    pub location: Option<Value>,
    pub status: Option<Value>,
    pub session_id: Option<Value>,
    pub request_id: Option<Value>,
    pub uuid: Option<Value>,
}

impl std::fmt::Debug for SessionIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<Value>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("SessionIn")
            .field("local_asn", &self.local_asn)
            .field("local_ip", &self.local_ip)
            .field("peer_asn", &self.peer_asn)
            .field("peer_ip", &self.peer_ip)
            .field("local_bgp_role", &self.local_bgp_role)
            .field("peer_bgp_role", &self.peer_bgp_role)
            .field("local_insert_asn", &self.local_insert_asn)
            .field("peer_insert_asn", &self.peer_insert_asn)
            .field("local_monitoring_session", &self.local_monitoring_session)
            .field("peer_monitoring_session", &self.peer_monitoring_session)
            .field("peer_type", &self.peer_type)
            .field("session_secret", &redact(&self.session_secret))
            .field("md5", &redact(&self.md5))
            .field("location", &self.location)
            .field("status", &self.status)
            .field("session_id", &self.session_id)
            .field("request_id", &self.request_id)
            .field("uuid", &self.uuid)
            .finish()
    }
}

/// A key we may print in an error name: short and plain.
fn printable_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reports keys of `obj` not in `known` under `path.<key>` (or under `path`
/// itself when the key is not safe to print).
pub(crate) fn unknown_keys(
    obj: &Map<String, Value>,
    known: &[&str],
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        if printable_key(k) {
            push_field_error(errors, &format!("{path}.{k}"), "unknown field");
        } else {
            push_field_error(
                errors,
                path,
                "unknown field (its name is not shown: too long or unusual characters)",
            );
        }
    }
}

impl SessionIn {
    /// Parses one item; `path` (`sessions[2]`) names its errors. Fails only
    /// when the item is not an object or has unknown fields.
    pub fn from_value(v: Value, path: &str) -> Result<SessionIn, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Value::Object(obj) = v else {
            return Err(vec![FieldError::new(path, "must be a JSON object")]);
        };
        unknown_keys(&obj, SESSION_FIELDS, path, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        SessionIn::deserialize(Value::Object(obj))
            .map_err(|_| vec![FieldError::new(path, "is not a valid session object")])
    }
}

/// A create request (`POST /sessions`, `POST /v0/add_sessions`), parsed
/// item by item: an item that is not an object or has unknown fields
/// becomes an `Err` with its errors (named `sessions[i]...`), so the other
/// items can still be accepted.
///
/// Accepted forms: a bare JSON array of sessions (v0, OpenAPI main), or
/// `{"sessions": [...], "return_url"?: string, "request_id"?: string}`
/// (draft -01) with no other keys. `return_url` and `request_id` are
/// checked by validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateBody {
    pub sessions: Vec<Result<SessionIn, Vec<FieldError>>>,
    pub return_url: Option<String>,
    /// The client's own request id; the server's id is definitive, so this
    /// is only checked, never used.
    pub request_id: Option<String>,
    /// True when the body was a bare array.
    pub bare: bool,
}

impl CreateBody {
    /// Parses a request body. `Err` (an error body for a 400) when it is not
    /// JSON, or not one of the two accepted forms.
    pub fn from_slice(bytes: &[u8]) -> Result<CreateBody, ErrorBody> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| ErrorBody::one("request", format!("invalid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// Like [`CreateBody::from_slice`], from an already parsed value.
    pub fn from_value(v: Value) -> Result<CreateBody, ErrorBody> {
        match v {
            Value::Array(items) => Ok(CreateBody {
                sessions: parse_items(items),
                return_url: None,
                request_id: None,
                bare: true,
            }),
            Value::Object(mut obj) => {
                let mut errors = Vec::new();
                unknown_keys(&obj, CREATE_FIELDS, "request", &mut errors);
                let sessions = match obj.remove("sessions") {
                    Some(Value::Array(items)) => parse_items(items),
                    None | Some(Value::Null) => {
                        push_field_error(&mut errors, "sessions", "required");
                        Vec::new()
                    }
                    Some(_) => {
                        push_field_error(&mut errors, "sessions", "must be an array of sessions");
                        Vec::new()
                    }
                };
                let return_url = opt_string(obj.remove("return_url"), "return_url", &mut errors);
                let request_id = opt_string(obj.remove("request_id"), "request_id", &mut errors);
                if errors.is_empty() {
                    Ok(CreateBody {
                        sessions,
                        return_url,
                        request_id,
                        bare: false,
                    })
                } else {
                    Err(errors.into())
                }
            }
            _ => Err(ErrorBody::one(
                "request",
                "must be an array of sessions or an object {\"sessions\": [...]}",
            )),
        }
    }
}

fn parse_items(items: Vec<Value>) -> Vec<Result<SessionIn, Vec<FieldError>>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| SessionIn::from_value(v, &format!("sessions[{i}]")))
        .collect()
}

fn opt_string(v: Option<Value>, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            push_field_error(errors, name, "must be a string");
            None
        }
    }
}

/// Deserializes through [`CreateBody::from_value`]; a structural error
/// becomes a serde error carrying the error body's text.
impl<'de> Deserialize<'de> for CreateBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        CreateBody::from_value(v).map_err(serde::de::Error::custom)
    }
}

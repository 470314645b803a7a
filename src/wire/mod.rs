//! The JSON shapes of the Peering API, in and out: plain serde, no HTTP
//! types, and nothing here knows who uses them (the HTTP layer sends and
//! reads them, validation reads the request shapes, `peerd admin` and
//! `peerd token` read the answers back).
//!
//! Input ([`SessionIn`], [`CreateBody`]) is parsed *leniently*: every session
//! field is kept as a raw JSON value so that validation can report
//! a type mismatch as a per-field error (`sessions[2].peer_ip`) instead of
//! failing the whole body. Unknown fields are refused, per item.
//!
//! Output views ([`SessionOut`], [`CreateOut`], [`ListSessionsOut`],
//! [`LocationOut`], [`ListLocationsOut`], [`ErrorBody`], and the v0 shapes
//! [`V0ListLocationsOut`], [`V0SessionsOut`]) are built from the model with
//! `From`. None of them can carry a secret: the secret fields are types
//! that only ever serialize as `"<redacted>"` (or `""` for v0 without one).
//!
//! The admin answers ([`AdminSessionOut`], [`AuditOut`], [`JobsOut`],
//! [`ForceRemovedOut`], [`PeeringDbOut`], [`TokensOut`], the asking side's
//! [`OutboundOut`], ...) are here too; every timestamp is [`rfc3339`]. So
//! are the health answers ([`HealthOut`], [`ReadyOut`]).
//!
//! [`remote`] holds the shapes of *other* networks' Peering APIs, which the
//! asking side sends and reads (strictly: their answers are hostile input).
//!
//! Every shape carries its OpenAPI schema ([`utoipa::ToSchema`]; derived,
//! or written in `schema.rs` where serde's form is custom), from which the
//! API's `/openapi.json` is generated.

mod admin;
mod input;
mod maintenance;
mod ops;
mod outbound;
mod output;
pub mod remote;
mod schema;
mod time;
mod tokens;
mod v0;

pub use admin::{
    AdminSessionOut, AuditEventOut, AuditOut, ForceRemovedOut, JobOut, JobsOut, ListAdminOut,
    PeeringDbOut, RejectIn,
};

pub(crate) use input::unknown_keys;
pub use input::{CreateBody, SessionIn, CREATE_FIELDS, LOCATION_FIELDS, SESSION_FIELDS};
pub use maintenance::{MaintenanceIn, MaintenanceListOut, MaintenanceOut};
pub use ops::{CheckOut, ChecksOut, HealthOut, LastPollOut, LastPushOut, ReadyOut, RouterReadyOut};
pub use outbound::{
    OpenRequestOut, OutboundOut, OutboundRequestIn, OutboundStateOut, OwnLoginOut,
    PendingDeleteOut, RemoteOut, RemotePeerOut, SkippedOut,
};
pub use output::{
    CreateOut, ListLocationsOut, ListSessionsOut, LocationOut, Redacted, SessionOut, REDACTED,
};
pub use time::{parse_rfc3339, rfc3339};
pub use tokens::{RevokedOut, TokenOut, TokensOut};
pub use v0::{V0ListLocationsOut, V0Location, V0Md5, V0SessionOut, V0SessionsOut};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use schema::{session_in_example, session_out_example};

/// One entry of the error body: a field path (`sessions[2].peer_ip`, or
/// `request` for the body as a whole) and its messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "sessions[0].peer_ip", "errors": ["not one of our addresses at this location"]}))]
pub struct FieldError {
    /// A field path (`sessions[2].peer_ip`), or `request` for the request as a whole.
    pub name: String,
    pub errors: Vec<String>,
}

impl FieldError {
    pub fn new(name: impl Into<String>, msg: impl Into<String>) -> Self {
        FieldError {
            name: name.into(),
            errors: vec![msg.into()],
        }
    }
}

/// Adds `msg` under `name`, merging into an existing entry of that name so
/// each field appears once with all its messages.
pub fn push_field_error(errors: &mut Vec<FieldError>, name: &str, msg: impl Into<String>) {
    let msg = msg.into();
    match errors.iter_mut().find(|e| e.name == name) {
        Some(e) => {
            if !e.errors.contains(&msg) {
                e.errors.push(msg)
            }
        }
        None => errors.push(FieldError::new(name, msg)),
    }
}

/// The body of every error answer:
/// `{"errors":[{"name":"<field path or 'request'>","errors":["message"]}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"errors": [{"name": "request", "errors": ["session not found"]}]}))]
pub struct ErrorBody {
    pub errors: Vec<FieldError>,
}

impl ErrorBody {
    /// A body with one error.
    pub fn one(name: impl Into<String>, msg: impl Into<String>) -> Self {
        ErrorBody {
            errors: vec![FieldError::new(name, msg)],
        }
    }
}

impl From<Vec<FieldError>> for ErrorBody {
    fn from(errors: Vec<FieldError>) -> Self {
        ErrorBody { errors }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.name, e.errors.join(", ")))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests;

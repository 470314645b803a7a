//! OpenAPI schemas ([`utoipa::ToSchema`]) of the shapes whose serde form
//! the derive cannot read: the model's enums and location reference (their
//! spelling comes from the model itself, e.g. [`SessionStatus::ALL`]), the
//! redacted secret fields, and the request bodies, which are parsed
//! leniently from raw JSON ([`SessionIn`], [`CreateBody`]) but documented
//! with the types a client should send. Reusable examples live here too.

use super::{CreateBody, Redacted, SessionIn, V0Md5, REDACTED};
use crate::model::{Direction, LocationRef, LocationType, SessionStatus};
use serde_json::{json, Value};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
}

/// `T` or JSON `null` (3.1: a type array).
fn nullable(t: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Array(vec![t, Type::Null]))
}

impl PartialSchema for SessionStatus {
    fn schema() -> RefOr<Schema> {
        string_enum(
            SessionStatus::ALL.iter().map(|s| s.as_str()),
            "Status of a session (draft-ietf-grow-peering-api spelling). Pending: waits for an operator; Approved: queued; Provisioning: being pushed; Configured: the router confirmed the config; Established: BGP is up; Down: BGP went down; Unestablished: not up within the time window, config removed; Failed: the push failed, an operator must act; Rejected: refused; Deleting: config being removed.",
        )
        .examples([json!("Configured")])
        .into()
    }
}
impl ToSchema for SessionStatus {}

impl PartialSchema for LocationType {
    fn schema() -> RefOr<Schema> {
        string_enum(
            [LocationType::Public, LocationType::Private].map(LocationType::as_str),
            "`public` (an exchange LAN) or `private` (a private interconnect).",
        )
        .into()
    }
}
impl ToSchema for LocationType {}

impl PartialSchema for Direction {
    fn schema() -> RefOr<Schema> {
        string_enum(
            [Direction::Inbound, Direction::Outbound].map(Direction::as_str),
            "`inbound` (a peer asked us) or `outbound` (we asked the peer).",
        )
        .into()
    }
}
impl ToSchema for Direction {}

impl PartialSchema for LocationRef {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(
                "Where a session lives: `{\"id\": \"pdb:ix:42\", \"type\": \"public\"}`.",
            ))
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Location id, e.g. `pdb:ix:<PeeringDB ix id>`."))
                    .examples([json!("pdb:ix:42")]),
            )
            .required("id")
            .property("type", Ref::from_schema_name("LocationType"))
            .required("type")
            .into()
    }
}
impl ToSchema for LocationRef {
    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push(("LocationType".into(), LocationType::schema()));
    }
}

impl PartialSchema for Redacted {
    fn schema() -> RefOr<Schema> {
        string_enum([REDACTED], "A secret is set; it is never sent back.").into()
    }
}
impl ToSchema for Redacted {}

impl PartialSchema for V0Md5 {
    fn schema() -> RefOr<Schema> {
        string_enum(
            [REDACTED, ""],
            "`<redacted>` when a TCP-MD5 secret is set, `\"\"` when not; never the secret.",
        )
        .into()
    }
}
impl ToSchema for V0Md5 {}

// ---- request bodies -------------------------------------------------------

/// An ASN as a client may send it: an integer, or a string of digits
/// (the v0 client's form), or `null` (absent).
pub(super) fn asn_in() -> OneOfBuilder {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(u32::MAX)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{1,10}$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("An ASN: an integer, or a string of digits."))
}

pub(super) fn ip_in() -> ObjectBuilder {
    nullable(Type::String)
        .description(Some("An IPv4 or IPv6 address (no prefix length)."))
        .max_length(Some(64))
}

pub(super) fn role_in() -> ObjectBuilder {
    nullable(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(4))
        .description(Some("BGP role (RFC 9234): 0 provider, 1 route server, 2 route-server client, 3 customer, 4 peer. Only role-correct pairs are accepted."))
}

pub(super) fn bool_in() -> ObjectBuilder {
    nullable(Type::Boolean)
}

pub(super) fn peer_type_in() -> ObjectBuilder {
    nullable(Type::String)
        .description(Some("`public` or `private` (any case)."))
        .max_length(Some(16))
}

pub(super) fn secret_in() -> ObjectBuilder {
    nullable(Type::String)
        .write_only(true)
        .min_length(Some(1))
        .max_length(Some(80))
        .description(Some(
            "TCP-MD5 secret. Never echoed back in clear, never logged.",
        ))
}

pub(super) fn location_in() -> OneOfBuilder {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .property(
                    "id",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(128)),
                )
                .required("id")
                .property(
                    "type",
                    nullable(Type::String).description(Some("`public` or `private` (any case).")),
                )
                .additional_properties(Some(AdditionalProperties::FreeForm(false))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The location: `{\"id\": \"pdb:ix:42\", \"type\": \"public\"}` (see `GET /locations`).",
        ))
}

pub(super) fn echo_in() -> ObjectBuilder {
    nullable(Type::String)
        .max_length(Some(128))
        .description(Some("Accepted (clients echo it back) and ignored."))
}

/// One requested session, as a client sends it.
pub fn session_in_example() -> Value {
    json!({
        "local_asn": 64600,
        "local_ip": "192.0.2.10",
        "peer_asn": 65001,
        "peer_ip": "192.0.2.1",
        "peer_type": "public",
        "location": {"id": "pdb:ix:1", "type": "public"},
        "session_secret": "s3cret-example"
    })
}

/// One session as the server answers it.
pub fn session_out_example() -> Value {
    json!({
        "session_id": "b4f1c3a2-e6d9-4c3f-8a0e-2b7c1d5f9a60",
        "request_id": "7e2d9c4b-1a3f-4e8d-9c0b-1a2f3e4d5c6b",
        "local_asn": 64600,
        "local_ip": "192.0.2.10",
        "peer_asn": 65001,
        "peer_ip": "192.0.2.1",
        "local_insert_asn": true,
        "peer_insert_asn": true,
        "local_monitoring_session": false,
        "peer_monitoring_session": false,
        "peer_type": "public",
        "session_secret": REDACTED,
        "location": {"id": "pdb:ix:1", "type": "public"},
        "status": "Configured"
    })
}

impl PartialSchema for SessionIn {
    fn schema() -> RefOr<Schema> {
        let mut o = ObjectBuilder::new()
            .description(Some("One requested session (draft -01 names). `local_*` is the requester, `peer_*` is us; a request written the other way round is recognised by the ASNs and normalised. Unknown fields are refused."))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .examples([session_in_example()]);
        for f in ["local_asn", "peer_asn"] {
            o = o.property(f, asn_in());
        }
        for f in ["local_ip", "peer_ip"] {
            o = o.property(f, ip_in());
        }
        for f in ["local_bgp_role", "peer_bgp_role"] {
            o = o.property(f, role_in());
        }
        for f in [
            "local_insert_asn",
            "peer_insert_asn",
            "local_monitoring_session",
            "peer_monitoring_session",
        ] {
            o = o.property(f, bool_in());
        }
        o = o
            .property("peer_type", peer_type_in())
            .property("session_secret", secret_in())
            .property(
                "md5",
                secret_in().description(Some("Alias of `session_secret` (v0).")),
            )
            .property("location", location_in());
        for f in ["status", "session_id", "request_id", "uuid"] {
            o = o.property(f, echo_in());
        }
        o.into()
    }
}
impl ToSchema for SessionIn {}

impl PartialSchema for CreateBody {
    fn schema() -> RefOr<Schema> {
        let items = || {
            ArrayBuilder::new()
                .items(Ref::from_schema_name("SessionIn"))
                .max_items(Some(100))
        };
        OneOfBuilder::new()
            .description(Some("A bare array of sessions, or `{\"sessions\": [...], \"return_url\"?, \"request_id\"?}`. At most `policy.max_sessions_per_request` sessions."))
            .item(items().description(Some("A bare array of sessions (v0 and the merged spec).")))
            .item(
                ObjectBuilder::new()
                    .description(Some("The draft -01 form."))
                    .property("sessions", items())
                    .required("sessions")
                    .property(
                        "return_url",
                        nullable(Type::String)
                            .max_length(Some(512))
                            .description(Some("An absolute http(s) URL of the requester (checked and kept; peerd does not call it).")),
                    )
                    .property(
                        "request_id",
                        echo_in().description(Some("The client's own request id: checked, never used (the server assigns one).")),
                    )
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
            )
            .examples([json!({"sessions": [session_in_example()]})])
            .into()
    }
}
impl ToSchema for CreateBody {
    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push(("SessionIn".into(), SessionIn::schema()));
    }
}

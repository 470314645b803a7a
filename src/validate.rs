//! Validation of requested sessions, before anything is stored.
//!
//! [`validate_session`] turns one raw [`SessionIn`] into a [`ValidSession`]
//! of typed, normalised values, or a [`Rejection`] whose errors each name a
//! field path (`sessions[2].peer_ip`), using the field names the client
//! wrote. [`validate_request`] checks the request as a whole.
//!
//! Rules (design.md, "Validation"):
//! - Orientation: one of `local_asn`/`peer_asn` must be our ASN and the
//!   other an ASN the caller may act for. `local_*` is the requester; a
//!   request written the other way round (the v0 client does) is flipped.
//!   Neither side ours, or both, is a 400; a requester ASN the caller may
//!   not act for is a 403 (and nothing else is reported).
//! - ASNs in range and not reserved; private-use ASNs only when
//!   `policy.allow_private_asns`.
//! - IPs parse, same family, inside one of the location's LAN prefixes (the
//!   same one for both; not the network or broadcast address); the
//!   requester's address is not one of ours; ours is one of ours at that
//!   location (omitted: we pick ours in the requester's prefix).
//! - The location is known; `location.type` and `peer_type`, when given,
//!   match it.
//! - BGP roles are RFC 9234 codes 0..=4 in role-correct pairs; one role
//!   alone implies the other.
//! - Monitoring never on both sides.
//! - The secret (`session_secret`, alias `md5`; `""` means none) and every
//!   free-text field pass [`text`]'s character sets and length bounds.
//!
//! With PeeringDB data, [`registry::check_registration`] then checks a
//! valid session's address against it (draft threat T1).

mod fields;
pub mod registry;
pub mod text;

use crate::inventory::Inventory;
use crate::model::{
    Asn, Caller, LocationRef, LocationType, RequestId, Secret, Session, SessionId, SessionStatus,
    UnixMillis,
};
use crate::wire::{push_field_error, CreateBody, ErrorBody, FieldError, SessionIn};
use fields::{addresses, asn, flag, ip, location, opt_text, pick, role, secret, Errors};
use std::net::IpAddr;

/// Longest echoed identifier (`session_id`, `request_id`, `uuid`).
pub const ID_MAX: usize = 64;
/// Longest `status` echoed back by a client.
pub const STATUS_MAX: usize = 32;
/// Longest `location.id` (`pdb:ix:` and ten digits fit easily).
pub const LOCATION_ID_MAX: usize = 32;
/// Longest `peer_type` / `location.type`.
pub const TYPE_MAX: usize = 16;

/// Which API the session came through. The v0 client (peerctl) sends its
/// own session kind (`"peer"`) in `peer_type`, so v0 ignores a `peer_type`
/// that is not `public`/`private` (after the character checks); the draft
/// refuses it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Draft,
    V0,
}

/// Why a session (or request) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionStatus {
    /// The requester ASN is not one the caller may act for (403).
    Forbidden,
    /// Invalid input (400).
    Invalid,
}

/// A refused session or request: the status and the field errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: RejectionStatus,
    pub errors: Vec<FieldError>,
}

impl Rejection {
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Rejection {
            status: RejectionStatus::Invalid,
            errors,
        }
    }

    pub fn forbidden(name: &str, msg: impl Into<String>) -> Self {
        Rejection {
            status: RejectionStatus::Forbidden,
            errors: vec![FieldError::new(name, msg)],
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            errors: self.errors.clone(),
        }
    }
}

/// A validated, normalised session request: `local_*` is the requester,
/// `peer_*` is us, whatever the orientation of the request. Roles are
/// RFC 9234 codes (0 Provider, 1 RS, 2 RS-Client, 3 Customer, 4 Peer).
/// `Debug` does not show the secret (see [`Secret`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSession {
    /// The requester's ASN.
    pub local_asn: Asn,
    /// The requester's address.
    pub local_ip: IpAddr,
    /// Our ASN (the inventory's).
    pub peer_asn: Asn,
    /// Our address at the location.
    pub peer_ip: IpAddr,
    pub local_bgp_role: Option<u8>,
    pub peer_bgp_role: Option<u8>,
    /// Default true (draft -01).
    pub local_insert_asn: bool,
    pub peer_insert_asn: bool,
    /// Default false; never both true.
    pub local_monitoring_session: bool,
    pub peer_monitoring_session: bool,
    /// The location's type.
    pub peer_type: LocationType,
    pub session_secret: Option<Secret>,
    /// The location, as in the inventory (type lowercase).
    pub location: LocationRef,
    /// The inventory router that serves the location.
    pub router: String,
    /// True when the request was written the other way round
    /// (`local_*` = us) and has been normalised.
    pub flipped: bool,
}

/// What the store-side of a new session needs besides the validated values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionMeta {
    pub session_id: SessionId,
    pub request_id: RequestId,
    pub status: SessionStatus,
    pub status_detail: Option<String>,
    /// Ordering key; the store assigns the real one at insert.
    pub seq: u64,
    /// Becomes `created_ms` and `updated_ms`.
    pub now_ms: UnixMillis,
    /// The principal that created it (`Caller::principal`).
    pub created_by: String,
}

impl ValidSession {
    /// The model session for this request (`configured_ms` unset).
    pub fn to_session(&self, meta: SessionMeta) -> Session {
        Session {
            session_id: meta.session_id,
            request_id: meta.request_id,
            local_asn: self.local_asn,
            local_ip: self.local_ip,
            peer_asn: self.peer_asn,
            peer_ip: self.peer_ip,
            local_bgp_role: self.local_bgp_role,
            peer_bgp_role: self.peer_bgp_role,
            local_insert_asn: self.local_insert_asn,
            peer_insert_asn: self.peer_insert_asn,
            local_monitoring_session: self.local_monitoring_session,
            peer_monitoring_session: self.peer_monitoring_session,
            peer_type: self.peer_type,
            session_secret: self.session_secret.clone(),
            location: self.location.clone(),
            status: meta.status,
            status_detail: meta.status_detail,
            router: self.router.clone(),
            seq: meta.seq,
            created_ms: meta.now_ms,
            updated_ms: meta.now_ms,
            configured_ms: None,
            created_by: meta.created_by,
            max_prefix: None,
            pushed: false,
            direction: crate::model::Direction::Inbound,
            remote: None,
            drain: None,
            maintenance: None,
        }
    }
}

/// RFC 9234 role names, for messages.
pub fn role_name(r: u8) -> &'static str {
    match r {
        0 => "Provider",
        1 => "RS",
        2 => "RS-Client",
        3 => "Customer",
        4 => "Peer",
        _ => "unknown",
    }
}

/// The role the other side must have (RFC 9234 §4.2 role correctness).
pub fn role_complement(r: u8) -> Option<u8> {
    match r {
        0 => Some(3),
        3 => Some(0),
        1 => Some(2),
        2 => Some(1),
        4 => Some(4),
        _ => None,
    }
}

/// Request-level checks: at least one session, at most
/// `policy.max_sessions_per_request`, a valid `return_url` and a safe
/// `request_id`. Errors are named `sessions`, `return_url`, `request_id`.
pub fn validate_request(inv: &Inventory, body: &CreateBody) -> Result<(), Rejection> {
    let mut errors = Vec::new();
    let max = inv.policy.max_sessions_per_request;
    if body.sessions.is_empty() {
        push_field_error(&mut errors, "sessions", "at least one session is required");
    } else if body.sessions.len() > max {
        push_field_error(
            &mut errors,
            "sessions",
            format!(
                "{} sessions in one request; at most {max} are accepted",
                body.sessions.len()
            ),
        );
    }
    if let Some(u) = &body.return_url {
        if let Err(m) = text::check_return_url(u) {
            push_field_error(&mut errors, "return_url", m);
        }
    }
    if let Some(r) = &body.request_id {
        if let Err(m) = text::check_text(r, ID_MAX) {
            push_field_error(&mut errors, "request_id", m);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::invalid(errors))
    }
}

/// Validates every item of a create body (after [`validate_request`]),
/// in order: items that failed to parse become `Invalid` rejections.
pub fn validate_items(
    inv: &Inventory,
    caller: &Caller,
    body: &CreateBody,
    dialect: Dialect,
) -> Vec<Result<ValidSession, Rejection>> {
    body.sessions
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Ok(s) => validate_session_with(inv, caller, s, &format!("sessions[{i}]"), dialect),
            Err(errors) => Err(Rejection::invalid(errors.clone())),
        })
        .collect()
}

/// Validates one session of the draft API; `path` (`sessions[2]`) prefixes
/// every error name.
pub fn validate_session(
    inv: &Inventory,
    caller: &Caller,
    item: &SessionIn,
    path: &str,
) -> Result<ValidSession, Rejection> {
    validate_session_with(inv, caller, item, path, Dialect::Draft)
}

/// Validates one session of the v0 API (see [`Dialect::V0`]).
pub fn validate_session_v0(
    inv: &Inventory,
    caller: &Caller,
    item: &SessionIn,
    path: &str,
) -> Result<ValidSession, Rejection> {
    validate_session_with(inv, caller, item, path, Dialect::V0)
}

/// Validates one session in the given dialect.
pub fn validate_session_with(
    inv: &Inventory,
    caller: &Caller,
    item: &SessionIn,
    path: &str,
    dialect: Dialect,
) -> Result<ValidSession, Rejection> {
    let mut e = Errors {
        path,
        list: Vec::new(),
    };

    // Echoed fields: never used, but they must be harmless.
    opt_text(&mut e, item.status.as_ref(), "status", STATUS_MAX);
    opt_text(&mut e, item.session_id.as_ref(), "session_id", ID_MAX);
    opt_text(&mut e, item.request_id.as_ref(), "request_id", ID_MAX);
    opt_text(&mut e, item.uuid.as_ref(), "uuid", ID_MAX);

    // ASNs and orientation.
    let la = asn(&mut e, &item.local_asn, "local_asn");
    let pa = asn(&mut e, &item.peer_asn, "peer_asn");
    let ours = Asn(inv.asn);
    let (flipped, requester) = match (la == Some(ours), pa == Some(ours)) {
        (false, true) => (false, la),
        (true, false) => (true, pa),
        (true, true) => {
            e.add(
                "local_asn",
                format!("local_asn and peer_asn are both AS{ours}; one side must be the requester"),
            );
            (false, None)
        }
        (false, false) => {
            if la.is_some() && pa.is_some() {
                e.add(
                    "peer_asn",
                    format!("one of local_asn and peer_asn must be AS{ours}, the ASN this server peers for"),
                );
            }
            (false, None)
        }
    };
    // Field names as the client wrote them: requester side, our side.
    let (rq, us) = if flipped {
        ("peer", "local")
    } else {
        ("local", "peer")
    };
    let f = |side: &str, field: &str| format!("{side}_{field}");

    if let Some(r) = requester {
        if !caller.may_act_for(r.0) {
            return Err(Rejection::forbidden(
                &e.name(&f(rq, "asn")),
                format!("you may not request sessions for AS{r}"),
            ));
        }
        if r.is_private() && !inv.policy.allow_private_asns {
            e.add(
                &f(rq, "asn"),
                format!("AS{r} is a private-use ASN (RFC 6996); this server does not peer with private ASNs"),
            );
        }
    }

    // Location.
    let (loc, given_type) = location(&mut e, inv, &item.location);
    let peer_type =
        opt_text(&mut e, item.peer_type.as_ref(), "peer_type", TYPE_MAX).and_then(|s| {
            let t = LocationType::parse(s);
            if t.is_none() && dialect == Dialect::Draft {
                e.add("peer_type", "must be public or private");
            }
            t
        });
    let expected_type = loc.map(|l| l.kind).or(given_type);
    if let (Some(pt), Some(want)) = (peer_type, expected_type) {
        if pt != want {
            e.add(
                "peer_type",
                format!("is {} but the location is {}", pt.as_str(), want.as_str()),
            );
        }
    }

    // Addresses.
    let req_ip = ip(
        &mut e,
        &f(rq, "ip"),
        pick(flipped, &item.local_ip, &item.peer_ip),
        true,
    );
    let our_ip_in = ip(
        &mut e,
        &f(us, "ip"),
        pick(flipped, &item.peer_ip, &item.local_ip),
        false,
    );
    let our_ip = addresses(&mut e, inv, loc, req_ip, our_ip_in, (rq, us));

    // Roles.
    let req_role = role(
        &mut e,
        &f(rq, "bgp_role"),
        pick(flipped, &item.local_bgp_role, &item.peer_bgp_role),
    );
    let our_role = role(
        &mut e,
        &f(us, "bgp_role"),
        pick(flipped, &item.peer_bgp_role, &item.local_bgp_role),
    );
    let (req_role, our_role) = match (req_role, our_role) {
        (Ok(Some(a)), Ok(Some(b))) => {
            if role_complement(a) != Some(b) {
                e.add(
                    &f(us, "bgp_role"),
                    format!(
                        "{}({a}) with {}({b}) is not a role-correct pair (RFC 9234): Provider-Customer, RS-RS-Client or Peer-Peer",
                        role_name(a),
                        role_name(b)
                    ),
                );
            }
            (Some(a), Some(b))
        }
        (Ok(Some(a)), Ok(None)) => (Some(a), role_complement(a)),
        (Ok(None), Ok(Some(b))) => (role_complement(b), Some(b)),
        _ => (None, None),
    };

    // Flags.
    let req_insert = flag(
        &mut e,
        &f(rq, "insert_asn"),
        pick(flipped, &item.local_insert_asn, &item.peer_insert_asn),
        true,
    );
    let our_insert = flag(
        &mut e,
        &f(us, "insert_asn"),
        pick(flipped, &item.peer_insert_asn, &item.local_insert_asn),
        true,
    );
    let req_mon = flag(
        &mut e,
        &f(rq, "monitoring_session"),
        pick(
            flipped,
            &item.local_monitoring_session,
            &item.peer_monitoring_session,
        ),
        false,
    );
    let our_mon = flag(
        &mut e,
        &f(us, "monitoring_session"),
        pick(
            flipped,
            &item.peer_monitoring_session,
            &item.local_monitoring_session,
        ),
        false,
    );
    if req_mon && our_mon {
        e.add(
            "peer_monitoring_session",
            "local_monitoring_session and peer_monitoring_session may not both be true",
        );
    }

    let secret = secret(&mut e, item);

    if !e.list.is_empty() {
        return Err(Rejection::invalid(e.list));
    }
    // No errors means every required value is present.
    let (Some(local_asn), Some(local_ip), Some(peer_ip), Some(loc)) =
        (requester, req_ip, our_ip, loc)
    else {
        return Err(Rejection::invalid(vec![FieldError::new(
            path,
            "incomplete session",
        )]));
    };
    Ok(ValidSession {
        local_asn,
        local_ip,
        peer_asn: ours,
        peer_ip,
        local_bgp_role: req_role,
        peer_bgp_role: our_role,
        local_insert_asn: req_insert,
        peer_insert_asn: our_insert,
        local_monitoring_session: req_mon,
        peer_monitoring_session: our_mon,
        peer_type: loc.kind,
        session_secret: secret,
        location: LocationRef {
            id: loc.id.clone(),
            kind: loc.kind,
        },
        router: loc.router.clone(),
        flipped,
    })
}

#[cfg(test)]
mod tests;

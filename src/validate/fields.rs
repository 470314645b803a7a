//! Per-field parsing and checks behind [`super::validate_session_with`]:
//! each helper reads one raw JSON value, records problems under its field
//! path, and returns the typed value when it is good.

use super::{text, LOCATION_ID_MAX, TYPE_MAX};
use crate::inventory::{self, Inventory};
use crate::model::{Asn, LocationType, Secret};
use crate::wire::{push_field_error, unknown_keys, FieldError, SessionIn, LOCATION_FIELDS};
use serde_json::Value;
use std::net::IpAddr;

/// Collects errors under `path.<field>`.
pub(super) struct Errors<'a> {
    pub(super) path: &'a str,
    pub(super) list: Vec<FieldError>,
}

impl Errors<'_> {
    pub(super) fn name(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }
    pub(super) fn add(&mut self, field: &str, msg: impl Into<String>) {
        let name = self.name(field);
        push_field_error(&mut self.list, &name, msg);
    }
}

/// `a` for a request in the normal orientation, `b` for a flipped one.
pub(super) fn pick<'v>(
    flipped: bool,
    a: &'v Option<Value>,
    b: &'v Option<Value>,
) -> &'v Option<Value> {
    if flipped {
        b
    } else {
        a
    }
}

/// An optional free-text string field.
pub(super) fn opt_text<'v>(
    e: &mut Errors,
    v: Option<&'v Value>,
    field: &str,
    max: usize,
) -> Option<&'v str> {
    match v {
        None => None,
        Some(Value::String(s)) => match text::check_text(s, max) {
            Ok(()) => Some(s),
            Err(m) => {
                e.add(field, m);
                None
            }
        },
        Some(_) => {
            e.add(field, "must be a string");
            None
        }
    }
}

/// A required ASN: a JSON integer or a string of digits, in range, not
/// reserved.
pub(super) fn asn(e: &mut Errors, v: &Option<Value>, field: &str) -> Option<Asn> {
    let n: Option<u64> = match v {
        None => {
            e.add(field, "required");
            return None;
        }
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()
        }
        Some(_) => None,
    };
    let Some(n) = n else {
        e.add(field, "must be an ASN: an integer or a string of digits");
        return None;
    };
    let Ok(n) = u32::try_from(n) else {
        e.add(field, "out of range: ASNs are 32-bit (1 to 4294967294)");
        return None;
    };
    let a = Asn(n);
    if a.is_reserved() {
        e.add(field, format!("AS{a} is reserved and cannot peer"));
        return None;
    }
    Some(a)
}

/// An IP address string (no prefix length).
pub(super) fn ip(e: &mut Errors, field: &str, v: &Option<Value>, required: bool) -> Option<IpAddr> {
    match v {
        None => {
            if required {
                e.add(field, "required");
            }
            None
        }
        Some(Value::String(s)) => match s.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_)
                if s.len() <= 64
                    && s.contains('/')
                    && s.split('/')
                        .next()
                        .is_some_and(|a| a.parse::<IpAddr>().is_ok()) =>
            {
                e.add(field, "must be an address without a prefix length");
                None
            }
            Err(_) => {
                e.add(field, "must be an IPv4 or IPv6 address");
                None
            }
        },
        Some(_) => {
            e.add(field, "must be a string holding an IP address");
            None
        }
    }
}

/// An optional RFC 9234 role code.
pub(super) fn role(e: &mut Errors, field: &str, v: &Option<Value>) -> Result<Option<u8>, ()> {
    match v {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(r) if r <= 4 => Ok(Some(r as u8)),
            _ => {
                e.add(
                    field,
                    "must be an RFC 9234 role: 0 Provider, 1 RS, 2 RS-Client, 3 Customer, 4 Peer",
                );
                Err(())
            }
        },
        Some(_) => {
            e.add(field, "must be an integer (RFC 9234 role code)");
            Err(())
        }
    }
}

/// An optional boolean with its draft default.
pub(super) fn flag(e: &mut Errors, field: &str, v: &Option<Value>, default: bool) -> bool {
    match v {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            e.add(field, "must be true or false");
            default
        }
    }
}

/// The `location` object: `{"id": "pdb:ix:N", "type"?: "public"}`.
/// Returns the inventory location (when known) and the type given.
pub(super) fn location<'i>(
    e: &mut Errors,
    inv: &'i Inventory,
    v: &Option<Value>,
) -> (Option<&'i inventory::Location>, Option<LocationType>) {
    let obj = match v {
        None => {
            e.add("location", "required");
            return (None, None);
        }
        Some(Value::Object(o)) => o,
        Some(_) => {
            e.add(
                "location",
                "must be an object {\"id\": \"pdb:ix:N\", \"type\": \"public\"}",
            );
            return (None, None);
        }
    };
    let loc_path = e.name("location");
    unknown_keys(obj, LOCATION_FIELDS, &loc_path, &mut e.list);

    let given_type = match obj.get("type") {
        None | Some(Value::Null) => None,
        v => opt_text(e, v, "location.type", TYPE_MAX).and_then(|s| {
            let t = LocationType::parse(s);
            if t.is_none() {
                e.add("location.type", "must be public or private");
            }
            t
        }),
    };
    let loc = match obj.get("id") {
        None | Some(Value::Null) => {
            e.add("location.id", "required");
            None
        }
        v => opt_text(e, v, "location.id", LOCATION_ID_MAX).and_then(|id| {
            if !inventory::is_location_id(id) {
                e.add("location.id", "must be of the form pdb:ix:N");
                return None;
            }
            let l = inv.location(id);
            if l.is_none() {
                e.add(
                    "location.id",
                    format!("{id} is not one of our locations (GET /locations lists them)"),
                );
            }
            l
        }),
    };
    if let (Some(l), Some(t)) = (loc, given_type) {
        if l.kind != t {
            e.add(
                "location.type",
                format!(
                    "{} is a {} location, not {}",
                    l.id,
                    l.kind.as_str(),
                    t.as_str()
                ),
            );
        }
    }
    (loc, given_type)
}

/// Checks both addresses against the location; returns our address
/// (given, or picked in the requester's prefix when omitted).
pub(super) fn addresses(
    e: &mut Errors,
    inv: &Inventory,
    loc: Option<&inventory::Location>,
    req_ip: Option<IpAddr>,
    our_ip: Option<IpAddr>,
    (rq, us): (&str, &str),
) -> Option<IpAddr> {
    let rq_f = format!("{rq}_ip");
    let us_f = format!("{us}_ip");
    if let Some(r) = req_ip {
        if inv.is_our_ip(r) {
            e.add(
                &rq_f,
                format!("{r} is one of our addresses; {rq_f} must be yours"),
            );
        }
    }
    if let (Some(r), Some(o)) = (req_ip, our_ip) {
        if r.is_ipv4() != o.is_ipv4() {
            e.add(
                &us_f,
                format!("{rq_f} and {us_f} must be of the same address family"),
            );
        }
    }
    let loc = loc?;
    let req_prefix = req_ip.and_then(|r| {
        let p = loc.prefix_for(r);
        match p {
            None => e.add(
                &rq_f,
                format!(
                    "{r} is outside the peering LAN of {} ({})",
                    loc.id,
                    prefixes(loc)
                ),
            ),
            Some(net) if is_edge_address(net, r) => e.add(
                &rq_f,
                format!("{r} is the network or broadcast address of {net}"),
            ),
            Some(_) => {}
        }
        p
    });
    match our_ip {
        Some(o) => {
            if !loc.our_ips.contains(&o) {
                e.add(
                    &us_f,
                    format!(
                        "{o} is not one of our addresses at {} (ours: {})",
                        loc.id,
                        our_ips(loc)
                    ),
                );
            } else if let (Some(rp), Some(r)) = (req_prefix, req_ip) {
                if loc.prefix_for(o) != Some(rp) {
                    e.add(
                        &rq_f,
                        format!("{r} is not in {rp}, the LAN prefix of {us_f}"),
                    );
                }
            }
            Some(o)
        }
        None => {
            let rp = req_prefix?;
            let found = loc
                .our_ips
                .iter()
                .copied()
                .find(|o| loc.prefix_for(*o) == Some(rp));
            if found.is_none() {
                e.add(
                    &us_f,
                    format!("required: we have no address in {rp} at {}", loc.id),
                );
            }
            found
        }
    }
}

fn prefixes(loc: &inventory::Location) -> String {
    loc.prefixes
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn our_ips(loc: &inventory::Location) -> String {
    loc.our_ips
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The network address (and, for IPv4, the broadcast address) of a prefix
/// that has room for hosts besides them.
fn is_edge_address(net: &ipnet::IpNet, ip: IpAddr) -> bool {
    match net {
        ipnet::IpNet::V4(n) => n.prefix_len() < 31 && (ip == n.network() || ip == n.broadcast()),
        ipnet::IpNet::V6(n) => n.prefix_len() < 127 && ip == n.network(),
    }
}

/// `session_secret` / `md5`: strings; `""` means none; both given and
/// different is an error (named `md5`).
pub(super) fn secret(e: &mut Errors, item: &SessionIn) -> Option<Secret> {
    let mut get = |field: &str, v: &Option<Value>| -> Option<String> {
        match v {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                e.add(field, "must be a string");
                None
            }
        }
    };
    let ss = get("session_secret", &item.session_secret);
    let md5 = get("md5", &item.md5);
    let (field, value) = match (ss, md5) {
        (Some(a), Some(b)) if a != b => {
            e.add(
                "md5",
                "differs from session_secret; md5 is an alias, give one of them",
            );
            return None;
        }
        (Some(a), _) => ("session_secret", a),
        (None, Some(b)) => ("md5", b),
        (None, None) => return None,
    };
    match text::check_secret(&value) {
        Ok(()) => Some(Secret::new(value)),
        Err(m) => {
            e.add(field, m);
            None
        }
    }
}

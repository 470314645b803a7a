//! The stored form of a session record in `sessions`: compact bytes, not
//! JSON, so that 100k sessions take about a fifth of the room in sled's
//! cache and on disk (the API's point reads and every listing read them).
//!
//! Layout 4 writes form 1: the byte `1`, then the fields in the order of
//! [`Session`]. Integers are LEB128 varints except the millisecond times
//! (8 bytes, big-endian); strings are a varint length and UTF-8; an id that
//! is a lowercase UUID is its 16 bytes (else its text); an address is 4 or
//! 16 bytes after its family byte; optional fields are flagged in one
//! bitfield. The rarely set parts (an outbound session's remote state, a
//! drain, a maintenance hold) follow as one JSON object when any is set.
//!
//! A record that starts with `{` is the JSON that layouts 1 to 3 wrote:
//! it still reads, and `migrate.rs` rewrites it in form 1. Decoding is
//! total: bad bytes give [`StoreError::Corrupt`], never a panic.

use super::codec::{is_json, put_str, put_var, Reader};
use super::keys;
use crate::model::{
    id_bytes, id_text, Asn, Direction, Drain, LocationRef, LocationType, MaintenanceHold,
    RemoteState, Secret, Session, SessionStatus,
};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The first byte of form 1.
const FORM_1: u8 = 1;

/// The bits of the flags field.
const LOCAL_INSERT_ASN: u16 = 1;
const PEER_INSERT_ASN: u16 = 1 << 1;
const LOCAL_MONITORING: u16 = 1 << 2;
const PEER_MONITORING: u16 = 1 << 3;
const PUSHED: u16 = 1 << 4;
const OUTBOUND: u16 = 1 << 5;
const PRIVATE: u16 = 1 << 6;
const LOCATION_PRIVATE: u16 = 1 << 7;
const HAS_LOCAL_ROLE: u16 = 1 << 8;
const HAS_PEER_ROLE: u16 = 1 << 9;
const HAS_SECRET: u16 = 1 << 10;
const HAS_DETAIL: u16 = 1 << 11;
const HAS_CONFIGURED: u16 = 1 << 12;
const HAS_MAX_PREFIX: u16 = 1 << 13;
const HAS_EXTRAS: u16 = 1 << 14;

/// The rarely set parts, as JSON (their shapes have defaults of their own).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remote: Option<RemoteState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drain: Option<Drain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maintenance: Option<MaintenanceHold>,
}

/// The stored bytes of `s`. (A new field of [`Session`] fails to compile
/// in [`read_form_1`] until it is given a place in the form.)
pub fn encode_session(s: &Session) -> Result<Vec<u8>, StoreError> {
    let extras = s.remote.is_some() || s.drain.is_some() || s.maintenance.is_some();
    let flags = [
        (s.local_insert_asn, LOCAL_INSERT_ASN),
        (s.peer_insert_asn, PEER_INSERT_ASN),
        (s.local_monitoring_session, LOCAL_MONITORING),
        (s.peer_monitoring_session, PEER_MONITORING),
        (s.pushed, PUSHED),
        (s.direction == Direction::Outbound, OUTBOUND),
        (s.peer_type == LocationType::Private, PRIVATE),
        (s.location.kind == LocationType::Private, LOCATION_PRIVATE),
        (s.local_bgp_role.is_some(), HAS_LOCAL_ROLE),
        (s.peer_bgp_role.is_some(), HAS_PEER_ROLE),
        (s.session_secret.is_some(), HAS_SECRET),
        (s.status_detail.is_some(), HAS_DETAIL),
        (s.configured_ms.is_some(), HAS_CONFIGURED),
        (s.max_prefix.is_some(), HAS_MAX_PREFIX),
        (extras, HAS_EXTRAS),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0u16, |acc, (_, bit)| acc | bit);

    let mut w = Vec::with_capacity(160);
    w.push(FORM_1);
    w.extend_from_slice(&flags.to_be_bytes());
    put_id(&mut w, &s.session_id);
    put_id(&mut w, &s.request_id);
    put_var(&mut w, s.local_asn.0.into());
    put_ip(&mut w, &s.local_ip);
    put_var(&mut w, s.peer_asn.0.into());
    put_ip(&mut w, &s.peer_ip);
    w.extend(s.local_bgp_role);
    w.extend(s.peer_bgp_role);
    if let Some(secret) = &s.session_secret {
        put_str(&mut w, secret.expose());
    }
    put_str(&mut w, &s.location.id);
    w.push(keys::status_code(s.status));
    if let Some(d) = &s.status_detail {
        put_str(&mut w, d);
    }
    put_str(&mut w, &s.router);
    put_var(&mut w, s.seq);
    w.extend_from_slice(&s.created_ms.to_be_bytes());
    w.extend_from_slice(&s.updated_ms.to_be_bytes());
    if let Some(t) = s.configured_ms {
        w.extend_from_slice(&t.to_be_bytes());
    }
    put_str(&mut w, &s.created_by);
    if let Some(m) = s.max_prefix {
        put_var(&mut w, m.into());
    }
    if extras {
        let rest = ExtrasRef {
            remote: s.remote.as_ref(),
            drain: s.drain.as_ref(),
            maintenance: s.maintenance.as_ref(),
        };
        let json = serde_json::to_vec(&rest)
            .map_err(|e| StoreError::Corrupt(format!("encode session: {e}")))?;
        put_var(&mut w, json.len() as u64);
        w.extend_from_slice(&json);
    }
    Ok(w)
}

/// [`Extras`] borrowed, for writing.
#[derive(Serialize)]
struct ExtrasRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<&'a RemoteState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drain: Option<&'a Drain>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance: Option<&'a MaintenanceHold>,
}

/// The session stored as `b` (form 1, or the JSON of older layouts).
pub fn decode_session(b: &[u8]) -> Result<Session, StoreError> {
    match b.first() {
        Some(&FORM_1) => read_form_1(&mut Reader(&b[1..]))
            .ok_or_else(|| StoreError::Corrupt("session: bad record".into())),
        _ if is_json(b) => {
            serde_json::from_slice(b).map_err(|e| StoreError::Corrupt(format!("session: {e}")))
        }
        _ => Err(StoreError::Corrupt("session: unknown record form".into())),
    }
}

fn read_form_1(r: &mut Reader<'_>) -> Option<Session> {
    let flags = u16::from_be_bytes([r.byte()?, r.byte()?]);
    let on = |bit: u16| flags & bit != 0;
    let kind = |private: bool| {
        if private {
            LocationType::Private
        } else {
            LocationType::Public
        }
    };
    let session_id = read_id(r)?;
    let request_id = read_id(r)?;
    let local_asn = Asn(r.var()?.try_into().ok()?);
    let local_ip = read_ip(r)?;
    let peer_asn = Asn(r.var()?.try_into().ok()?);
    let peer_ip = read_ip(r)?;
    let local_bgp_role = if on(HAS_LOCAL_ROLE) {
        Some(r.byte()?)
    } else {
        None
    };
    let peer_bgp_role = if on(HAS_PEER_ROLE) {
        Some(r.byte()?)
    } else {
        None
    };
    let session_secret = if on(HAS_SECRET) {
        Some(Secret::new(r.string()?))
    } else {
        None
    };
    let location = LocationRef {
        id: r.string()?,
        kind: kind(on(LOCATION_PRIVATE)),
    };
    let code = r.byte()?;
    let status = *SessionStatus::ALL
        .iter()
        .find(|s| keys::status_code(**s) == code)?;
    let status_detail = if on(HAS_DETAIL) {
        Some(r.string()?)
    } else {
        None
    };
    let router = r.string()?;
    let seq = r.var()?;
    let created_ms = r.u64()?;
    let updated_ms = r.u64()?;
    let configured_ms = if on(HAS_CONFIGURED) {
        Some(r.u64()?)
    } else {
        None
    };
    let created_by = r.string()?;
    let max_prefix = if on(HAS_MAX_PREFIX) {
        Some(r.var()?.try_into().ok()?)
    } else {
        None
    };
    let extras = if on(HAS_EXTRAS) {
        serde_json::from_slice::<Extras>(r.bytes()?).ok()?
    } else {
        Extras {
            remote: None,
            drain: None,
            maintenance: None,
        }
    };
    if !r.is_done() || flags >> 15 != 0 {
        return None;
    }
    Some(Session {
        session_id,
        request_id,
        local_asn,
        local_ip,
        peer_asn,
        peer_ip,
        local_bgp_role,
        peer_bgp_role,
        local_insert_asn: on(LOCAL_INSERT_ASN),
        peer_insert_asn: on(PEER_INSERT_ASN),
        local_monitoring_session: on(LOCAL_MONITORING),
        peer_monitoring_session: on(PEER_MONITORING),
        peer_type: kind(on(PRIVATE)),
        session_secret,
        location,
        status,
        status_detail,
        router,
        seq,
        created_ms,
        updated_ms,
        configured_ms,
        created_by,
        max_prefix,
        pushed: on(PUSHED),
        direction: if on(OUTBOUND) {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        remote: extras.remote,
        drain: extras.drain,
        maintenance: extras.maintenance,
    })
}

/// An id: `0` and its 16 bytes if it has peerd's id form ([`id_bytes`]),
/// else `1` and its text.
fn put_id(w: &mut Vec<u8>, id: &str) {
    match id_bytes(id) {
        Some(b) => {
            w.push(0);
            w.extend_from_slice(&b);
        }
        None => {
            w.push(1);
            put_str(w, id);
        }
    }
}

fn put_ip(w: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            w.push(4);
            w.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            w.push(6);
            w.extend_from_slice(&a.octets());
        }
    }
}

/// An id written by [`put_id`].
fn read_id(r: &mut Reader<'_>) -> Option<String> {
    match r.byte()? {
        0 => Some(id_text(r.take(16)?.try_into().ok()?)),
        1 => r.string(),
        _ => None,
    }
}

/// An address written by [`put_ip`].
fn read_ip(r: &mut Reader<'_>) -> Option<IpAddr> {
    match r.byte()? {
        4 => Some(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(r.take(4)?).ok()?,
        ))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(r.take(16)?).ok()?,
        ))),
        _ => None,
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;

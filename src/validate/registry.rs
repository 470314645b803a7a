//! A valid session checked against PeeringDB data: the requester's address
//! must be registered to the requester's ASN at that exchange (draft threat
//! T1, address spoofing), and with `require_presence` the requester must
//! have a port there at all.
//!
//! Pure: the caller passes the snapshot in (the API does so only when it
//! has one; without PeeringDB data nothing is checked here). Locations
//! whose id is not `pdb:ix:<id>` are not PeeringDB exchanges and pass.
//!
//! Rules, for the requester ASN `A` and address `ip` at exchange `X`:
//! - some other network lists `ip` at `X` -> refused, naming it (whether
//!   or not `A` lists it too: the data cannot vouch for `A` then);
//! - with `require_presence`: `X` missing from the data, `A` without a port
//!   at `X`, or `ip` not listed for `A` at `X` -> refused;
//! - otherwise accepted (an address nobody lists is allowed unless
//!   presence is required).
//!
//! Errors are named by the fields the client wrote (`local_ip`, or
//! `peer_ip` for a request written the other way round).

use super::{Rejection, ValidSession};
use crate::peeringdb::{ix_id, Snapshot};
use crate::wire::{push_field_error, FieldError};

/// The PeeringDB data and how strictly to use it.
#[derive(Clone, Copy, Debug)]
pub struct Registry<'a> {
    pub snapshot: &'a Snapshot,
    /// `peeringdb.require_presence`.
    pub require_presence: bool,
}

/// Checks `s` (item `path`, e.g. `sessions[2]`) against the data.
pub fn check_registration(reg: Registry, s: &ValidSession, path: &str) -> Result<(), Rejection> {
    let Some(ix) = ix_id(&s.location.id) else {
        return Ok(());
    };
    let (ip_field, asn_field) = if s.flipped {
        ("peer_ip", "peer_asn")
    } else {
        ("local_ip", "local_asn")
    };
    let asn = s.local_asn.0;
    let ip = s.local_ip;
    let loc = &s.location.id;
    let snap = reg.snapshot;
    let mut errors: Vec<FieldError> = Vec::new();
    let mut add = |field: &str, msg: String| {
        push_field_error(&mut errors, &format!("{path}.{field}"), msg);
    };
    if snap.exchange(ix).is_none() {
        if reg.require_presence {
            add(
                "location.id",
                format!("{loc} is not in this server's PeeringDB data, so AS{asn}'s presence there cannot be checked"),
            );
        }
    } else {
        let owners = snap.asns_for_ip(ix, ip);
        let others: Vec<String> = owners
            .iter()
            .filter(|a| **a != asn)
            .map(|a| format!("AS{a}"))
            .collect();
        if !others.is_empty() {
            let also = if owners.contains(&asn) {
                format!(" (as well as to AS{asn}, so PeeringDB cannot vouch for it)")
            } else {
                String::new()
            };
            add(
                ip_field,
                format!(
                    "{ip} is registered to {} at {loc} in PeeringDB{also}; a session can only be requested for an address registered to the requester (AS{asn})",
                    others.join(", ")
                ),
            );
        } else if reg.require_presence {
            if !snap.present_at(ix, asn) {
                add(
                    asn_field,
                    format!("AS{asn} has no port at {loc} in PeeringDB; this server requires one"),
                );
            } else if owners.is_empty() {
                add(
                    ip_field,
                    format!("{ip} is not registered to AS{asn} at {loc} in PeeringDB; this server requires it to be"),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::invalid(errors))
    }
}

#[cfg(test)]
mod tests;

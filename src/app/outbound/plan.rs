//! What to ask a remote for: the locations we share and the address pairs
//! there, each pair validated as strictly as an inbound request would be.
//!
//! 1. The remote's own list of locations for us (its `/locations` answer).
//! 2. Joined with our inventory (and the remote peer's `locations`, and
//!    the operator's choice, when given): a location must be in all of
//!    them, with the same type.
//! 3. Joined with PeeringDB: the remote's addresses at that exchange are
//!    its `netixlan` rows; ours are the inventory's addresses there that
//!    PeeringDB lists for our ASN (all of the inventory's when PeeringDB
//!    lists none of ours).
//! 4. Per family, each of the remote's addresses with each of ours in the
//!    same peering LAN prefix is a candidate.
//! 5. Each candidate is validated like a request from the remote
//!    ([`crate::validate`], then the PeeringDB registration check) and
//!    checked against the store: an address that already has a live
//!    session at that router is skipped.
//!
//! Without PeeringDB data the remote's addresses are unknown: nothing is
//! planned, and the answer says so.

use super::super::{AppError, Ctx};
use super::Outbound;
use crate::config::{RemotePeer, SecretPolicy};
use crate::inventory::Location;
use crate::model::{
    new_id, now_ms, Caller, Direction, LocationType, RemoteState, Session, SessionStatus,
};
use crate::outbound::Target;
use crate::peeringdb::ix_id;
use crate::policy::pdb;
use crate::store::SessionFilter;
use crate::validate::registry::{check_registration, Registry};
use crate::validate::{validate_session_with, Dialect, SessionMeta};
use crate::wire::SessionIn;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A candidate left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub location: String,
    /// `their address <- our address`, when a pair was looked at.
    pub pair: Option<String>,
    pub reason: String,
}

/// What would be asked.
#[derive(Clone, Debug)]
pub struct Plan {
    pub request_id: String,
    /// New sessions, `Pending`, outbound, remote phase `sending`.
    pub sessions: Vec<Session>,
    pub skipped: Vec<Skip>,
}

fn skip(out: &mut Vec<Skip>, location: &str, pair: Option<String>, reason: impl Into<String>) {
    out.push(Skip {
        location: location.to_string(),
        pair,
        reason: reason.into(),
    });
}

/// A fresh TCP-MD5 secret: 24 letters and digits.
fn new_secret() -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// Plans a request to `peer` (reachable as `target`) for operator `op`.
/// `only`: the operator's choice of our locations (empty = all).
pub async fn plan(
    ctx: &Ctx,
    op: &Caller,
    ob: &Outbound,
    peer: &RemotePeer,
    target: &Target,
    only: &[String],
) -> Result<Plan, AppError> {
    let inv = ctx.inventory.clone();
    let asn = peer.asn;
    for l in only {
        if inv.location(l).is_none() {
            return Err(AppError::invalid(
                "locations",
                format!("{l:?} is not one of our locations"),
            ));
        }
    }
    if inv.policy.deny_asns.contains(&asn) {
        return Err(AppError::invalid(
            "asn",
            format!("AS{asn} is on our own deny list (policy.deny_asns)"),
        ));
    }
    let Some(snap) = ctx.snapshot.clone() else {
        return Err(AppError::unavailable(format!(
            "no PeeringDB data in use: peerd cannot find AS{asn}'s addresses (sync or load PeeringDB data first)"
        )));
    };
    let offered =
        ob.client.locations(target).await.map_err(|e| {
            AppError::unavailable(format!("AS{asn}'s list of locations for us: {e}"))
        })?;
    let offered: BTreeMap<String, LocationType> = offered.into_iter().collect();

    let mut skipped = Vec::new();
    let mut shared: Vec<&Location> = Vec::new();
    for l in &inv.locations {
        if !only.is_empty() && !only.contains(&l.id) {
            continue;
        }
        if !peer.locations.is_empty() && !peer.locations.contains(&l.id) {
            skip(
                &mut skipped,
                &l.id,
                None,
                format!("not among AS{asn}'s locations in outbound.remotes"),
            );
            continue;
        }
        match offered.get(&l.id) {
            None => skip(
                &mut skipped,
                &l.id,
                None,
                format!("AS{asn} does not offer it to us"),
            ),
            Some(k) if *k != l.kind => skip(
                &mut skipped,
                &l.id,
                None,
                format!(
                    "AS{asn} has it as {}, we as {}",
                    k.as_str(),
                    l.kind.as_str()
                ),
            ),
            Some(_) => shared.push(l),
        }
    }

    // Addresses already held at our routers by this remote's sessions.
    let remote = asn;
    let existing = ctx
        .blocking(move |s| {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..100 {
                let f = SessionFilter {
                    owner_asn: Some(remote),
                    ..Default::default()
                };
                let page = s.list_sessions(&f, after.as_deref(), 100)?;
                all.extend(page.sessions);
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            Ok(all)
        })
        .await?;

    let request_id = new_id();
    let now = now_ms();
    let pdb_settings = &ctx.settings.peeringdb;
    let mut sessions: Vec<Session> = Vec::new();
    let max = inv.policy.max_sessions_per_request;
    for l in shared {
        let Some(ix) = ix_id(&l.id) else {
            skip(
                &mut skipped,
                &l.id,
                None,
                "not a PeeringDB exchange (pdb:ix:N); the remote's addresses there are unknown",
            );
            continue;
        };
        let theirs = snap.member_ips(ix, asn);
        if theirs.is_empty() {
            skip(
                &mut skipped,
                &l.id,
                None,
                format!("AS{asn} has no port there in PeeringDB"),
            );
            continue;
        }
        let listed_ours = snap.member_ips(ix, ob.our_asn);
        let ours: Vec<IpAddr> = match l
            .our_ips
            .iter()
            .copied()
            .filter(|ip| listed_ours.contains(ip))
            .collect::<Vec<_>>()
        {
            v if !v.is_empty() => v,
            _ => l.our_ips.clone(),
        };
        for their in &theirs {
            for our in ours.iter().filter(|o| o.is_ipv4() == their.is_ipv4()) {
                let pair = Some(format!("{their} <- {our}"));
                let same_lan = l.prefix_for(*their).is_some_and(|p| p.contains(our));
                if !same_lan {
                    continue;
                }
                if let Some(e) = existing.iter().find(|e| {
                    e.router == l.router
                        && e.local_ip == *their
                        && !matches!(
                            e.status,
                            SessionStatus::Rejected | SessionStatus::Unestablished
                        )
                }) {
                    skip(
                        &mut skipped,
                        &l.id,
                        pair,
                        format!(
                            "session {} ({}, {}) already uses this address",
                            e.session_id,
                            e.direction.as_str(),
                            e.status
                        ),
                    );
                    continue;
                }
                if sessions.len() >= max {
                    skip(
                        &mut skipped,
                        &l.id,
                        pair,
                        format!("more than policy.max_sessions_per_request ({max})"),
                    );
                    continue;
                }
                let secret = match peer.secret {
                    SecretPolicy::None => None,
                    SecretPolicy::Generate => Some(new_secret()),
                };
                let mut item = SessionIn {
                    local_asn: Some(json!(asn)),
                    local_ip: Some(json!(their.to_string())),
                    peer_asn: Some(json!(ob.our_asn)),
                    peer_ip: Some(json!(our.to_string())),
                    peer_type: Some(json!(l.kind.as_str())),
                    location: Some(json!({"id": l.id, "type": l.kind.as_str()})),
                    ..Default::default()
                };
                if let Some(s) = &secret {
                    item.session_secret = Some(json!(s));
                }
                let checked = validate_session_with(&inv, op, &item, &l.id, Dialect::Draft)
                    .and_then(|v| {
                        let reg = Registry {
                            snapshot: &snap,
                            require_presence: pdb_settings.require_presence,
                        };
                        check_registration(reg, &v, &l.id).map(|()| v)
                    });
                let valid = match checked {
                    Ok(v) => v,
                    Err(r) => {
                        let msgs: Vec<String> = r
                            .errors
                            .iter()
                            .map(|e| format!("{}: {}", e.name, e.errors.join(", ")))
                            .collect();
                        skip(&mut skipped, &l.id, pair, msgs.join("; "));
                        continue;
                    }
                };
                let mut s = valid.to_session(SessionMeta {
                    session_id: new_id(),
                    request_id: request_id.clone(),
                    status: SessionStatus::Pending,
                    status_detail: Some(format!("waits for AS{asn}'s answer")),
                    seq: 0,
                    now_ms: now,
                    created_by: op.principal.clone(),
                });
                s.max_prefix = pdb::max_prefix(&snap, &valid, pdb_settings);
                s.direction = Direction::Outbound;
                s.remote = Some(RemoteState::default());
                sessions.push(s);
            }
        }
    }
    Ok(Plan {
        request_id,
        sessions,
        skipped,
    })
}

//! Taking in a peering request (draft `POST /sessions` and v0
//! `add_sessions`): validate every item, apply policy, store the accepted
//! ones in one transaction, wait until it is on disk, and sort the outcome
//! into accepted sessions and per-item errors.
//!
//! With PeeringDB data (a snapshot in use), each valid item is also checked
//! against it ([`check_registration`]: the requester's address must be
//! registered to it; `require_presence`), gets its max-prefix limit from
//! the requester's published prefix counts, and an automatic approval
//! waits for an operator when `policy_general_allowed` rejects the
//! requester's `policy_general`. Without a snapshot none of this applies.

use super::common::{blocking, durable};
use super::error::ApiError;
use super::state::AppState;
use crate::model::{new_id, now_ms, Caller, RequestRecord, Session, SessionStatus};
use crate::policy::{decide, pdb, Decision};
use crate::store::Inserted;
use crate::validate::registry::{check_registration, Registry};
use crate::validate::{validate_items, validate_request, Dialect, RejectionStatus, SessionMeta};
use crate::wire::{push_field_error, CreateBody, FieldError};
use axum::http::StatusCode;

/// What became of a request.
#[derive(Debug)]
pub struct Outcome {
    pub request_id: String,
    /// Accepted sessions (new, or the existing one for an identical repeat),
    /// in item order.
    pub accepted: Vec<Session>,
    /// Errors of the refused items, named `sessions[i].<field>`.
    pub errors: Vec<FieldError>,
    /// Status to answer when nothing was accepted: 403 if every refusal
    /// was an ASN the caller may not act for, 409 if every one was a
    /// conflict with an existing session, else 400.
    pub refusal: StatusCode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Forbidden,
    Invalid,
    Conflict,
}

/// Runs the whole intake. Request-level problems (empty, too many, bad
/// `return_url`) are an `Err` (400); item problems are in the outcome.
pub async fn intake(
    st: &AppState,
    caller: &Caller,
    body: CreateBody,
    dialect: Dialect,
) -> Result<Outcome, ApiError> {
    let inv = st.inventory.clone();
    let snap = st.snapshot();
    let pdb_settings = &st.settings.peeringdb;
    validate_request(&inv, &body).map_err(ApiError::rejection)?;
    let request_id = new_id();
    let now = now_ms();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut why: Vec<Why> = Vec::new();
    // (item index, session) for the items that passed validation and policy.
    let mut candidates: Vec<(usize, Session)> = Vec::new();
    for (i, r) in validate_items(&inv, caller, &body, dialect)
        .into_iter()
        .enumerate()
    {
        let r = match (r, &snap) {
            (Ok(valid), Some(snap)) => {
                let reg = Registry {
                    snapshot: snap,
                    require_presence: pdb_settings.require_presence,
                };
                check_registration(reg, &valid, &format!("sessions[{i}]")).map(|()| valid)
            }
            (r, _) => r,
        };
        match r {
            Err(rej) => {
                why.push(match rej.status {
                    RejectionStatus::Forbidden => Why::Forbidden,
                    RejectionStatus::Invalid => Why::Invalid,
                });
                for e in rej.errors {
                    for m in e.errors {
                        push_field_error(&mut errors, &e.name, m);
                    }
                }
            }
            Ok(valid) => {
                let hold = snap.as_ref().and_then(|snap| {
                    pdb::policy_general_hold(snap, pdb_settings, valid.local_asn.0)
                });
                let mut status_detail = None;
                let status = match decide(&inv.policy, &valid) {
                    Decision::Approve => match hold {
                        None => SessionStatus::Approved,
                        Some(reason) => {
                            status_detail = Some(reason);
                            SessionStatus::Pending
                        }
                    },
                    Decision::Pending => SessionStatus::Pending,
                    Decision::Reject(reason) => {
                        let side = if valid.flipped {
                            "peer_asn"
                        } else {
                            "local_asn"
                        };
                        push_field_error(&mut errors, &format!("sessions[{i}].{side}"), reason);
                        why.push(Why::Invalid);
                        continue;
                    }
                };
                let mut s = valid.to_session(SessionMeta {
                    session_id: new_id(),
                    request_id: request_id.clone(),
                    status,
                    status_detail,
                    seq: 0,
                    now_ms: now,
                    created_by: caller.principal.clone(),
                });
                s.max_prefix = snap.as_ref().and_then(|snap| {
                    pdb::max_prefix(snap, &valid, pdb_settings.max_prefix_margin_percent)
                });
                candidates.push((i, s));
            }
        }
    }

    let mut accepted = Vec::new();
    let mut new = 0usize;
    if !candidates.is_empty() {
        let record = RequestRecord {
            request_id: request_id.clone(),
            requester_asn: candidates[0].1.local_asn,
            created_by: caller.principal.clone(),
            created_ms: now,
            return_url: body.return_url.clone(),
            session_ids: vec![],
        };
        let (idx, sessions): (Vec<usize>, Vec<Session>) = candidates.into_iter().unzip();
        let addrs: Vec<_> = sessions.iter().map(|s| s.local_ip).collect();
        let inserted = blocking(st, move |s| s.insert_request(&record, sessions)).await?;
        // The yes below must survive a crash.
        durable(st).await?;
        for ((i, addr), r) in idx.into_iter().zip(addrs).zip(inserted) {
            match r {
                Inserted::New(s) => {
                    new += 1;
                    accepted.push(s);
                }
                // The same session twice in one request is answered once.
                Inserted::Existing(s) => {
                    if !accepted
                        .iter()
                        .any(|a: &Session| a.session_id == s.session_id)
                    {
                        accepted.push(s)
                    }
                }
                Inserted::Conflict(existing) => {
                    why.push(Why::Conflict);
                    push_field_error(
                        &mut errors,
                        &format!("sessions[{i}]"),
                        format!(
                            "session {} already uses neighbor address {addr} here, with other parameters; delete it first or repeat it unchanged",
                            existing.session_id
                        ),
                    );
                }
                // Another network's: say nothing about it.
                Inserted::Taken => {
                    why.push(Why::Conflict);
                    push_field_error(
                        &mut errors,
                        &format!("sessions[{i}]"),
                        format!("neighbor address {addr} is already in use at this location"),
                    );
                }
            }
        }
    }
    tracing::info!(
        request_id,
        by = %caller.principal,
        new,
        repeated = accepted.len() - new,
        refused = why.len(),
        "peering request"
    );
    let refusal = if !why.is_empty() && why.iter().all(|w| *w == Why::Forbidden) {
        StatusCode::FORBIDDEN
    } else if !why.is_empty() && why.iter().all(|w| *w == Why::Conflict) {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(Outcome {
        request_id,
        accepted,
        errors,
        refusal,
    })
}

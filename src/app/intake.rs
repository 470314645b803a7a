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
//!
//! [`preview`] is the same validation for `peerd render`: an operator's
//! request file becomes sessions, nothing is stored.

use super::{AppError, Ctx, Refusal};
use crate::inventory::Inventory;
use crate::model::{new_id, now_ms, Caller, RequestRecord, Session, SessionStatus};
use crate::policy::{decide, pdb, Decision};
use crate::store::Inserted;
use crate::validate::registry::{check_registration, Registry};
use crate::validate::{validate_items, validate_request, Dialect, RejectionStatus, SessionMeta};
use crate::wire::{push_field_error, CreateBody, FieldError};

/// What became of a request.
#[derive(Debug)]
pub struct Outcome {
    pub request_id: String,
    /// Accepted sessions (new, or the existing one for an identical repeat),
    /// in item order.
    pub accepted: Vec<Session>,
    /// Errors of the refused items, named `sessions[i].<field>`.
    pub errors: Vec<FieldError>,
    /// The refusal when nothing was accepted: forbidden if every refused
    /// item was an ASN the caller may not act for, a conflict if every one
    /// was a conflict with an existing session, else invalid.
    pub refusal: Refusal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Forbidden,
    Invalid,
    Conflict,
}

impl Outcome {
    /// The refusal of a request of which nothing was accepted.
    pub fn refused(&self) -> Option<AppError> {
        self.accepted
            .is_empty()
            .then(|| AppError::with_items(self.refusal, self.errors.clone()))
    }
}

/// Runs the whole intake. Request-level problems (empty, too many, bad
/// `return_url`) are an `Err` (invalid); item problems are in the outcome.
pub async fn intake(
    ctx: &Ctx,
    caller: &Caller,
    body: CreateBody,
    dialect: Dialect,
) -> Result<Outcome, AppError> {
    if !caller.may_change() {
        return Err(AppError::read_only());
    }
    let inv = ctx.inventory.clone();
    let snap = ctx.snapshot.clone();
    let pdb_settings = &ctx.settings.peeringdb;
    validate_request(&inv, &body)?;
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
                if valid.session_secret.is_some() {
                    if let Some(r) = inv
                        .location(&valid.location.id)
                        .map(|l| &l.router)
                        .filter(|r| ctx.no_md5_routers.contains(*r))
                    {
                        push_field_error(
                            &mut errors,
                            &format!("sessions[{i}].session_secret"),
                            format!("router {r} at location {} cannot set a TCP-MD5 password: ask without session_secret", valid.location.id),
                        );
                        why.push(Why::Invalid);
                        continue;
                    }
                }
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
                s.max_prefix = snap
                    .as_ref()
                    .and_then(|snap| pdb::max_prefix(snap, &valid, pdb_settings));
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
        // The yes below must survive a crash: on disk before it is given.
        let inserted = ctx
            .store
            .insert_request_durable(record, sessions)
            .await
            .map_err(AppError::from)?;
        ctx.wake.notify_one();
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
        Refusal::Forbidden
    } else if !why.is_empty() && why.iter().all(|w| *w == Why::Conflict) {
        Refusal::Conflict
    } else {
        Refusal::Invalid
    };
    Ok(Outcome {
        request_id,
        accepted,
        errors,
        refusal,
    })
}

/// An operator's request file as sessions (`peerd render`): validated as an
/// operator's request would be (any ASN), each session `Approved` with
/// fresh ids. Nothing is stored. `Err` with every problem found.
pub fn preview(inv: &Inventory, body: &CreateBody) -> Result<Vec<Session>, AppError> {
    validate_request(inv, body)?;
    let caller = Caller {
        principal: "operator:render".into(),
        asns: Default::default(),
        is_operator: true,
        read_only: false,
    };
    let request_id = new_id();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in validate_items(inv, &caller, body, Dialect::Draft) {
        match r {
            Ok(v) => out.push(v.to_session(SessionMeta {
                session_id: new_id(),
                request_id: request_id.clone(),
                status: SessionStatus::Approved,
                status_detail: None,
                seq: out.len() as u64,
                now_ms: now_ms(),
                created_by: caller.principal.clone(),
            })),
            Err(r) => errors.extend(r.errors),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::with_items(Refusal::Invalid, errors));
    }
    Ok(out)
}

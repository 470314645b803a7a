//! Asking: [`request`] plans, records the request and its sessions (phase
//! `sending`) durably, then sends them and applies the answer. [`send`]
//! is the sending half, which the follower uses for a resend.

use super::super::{AppError, Ctx, Refusal};
use super::plan::{plan, Skip};
use super::settle::{adopt, failed_attempt, refused, scrub_all, scrub_views};
use super::{meta_put, tools, OpenRequest, Outbound, OPEN_NS};
use crate::config::RemoteDialect;
use crate::model::{now_ms, Caller, RequestRecord, Session};
use crate::outbound::{Created, RemoteError, Target};
use crate::store::Inserted;
use crate::wire::remote::{DraftSessionReq, V0RemoteLocation, V0SessionReq};

/// What a request did (or, on a dry run, would do).
#[derive(Clone, Debug)]
pub struct RequestOutcome {
    pub remote_asn: u32,
    pub dialect: RemoteDialect,
    pub dry_run: bool,
    /// Our request id (none on a dry run).
    pub request_id: Option<String>,
    /// The sessions asked for, as stored after the answer (or planned).
    pub sessions: Vec<Session>,
    pub skipped: Vec<Skip>,
    /// How the remote answered, in a line.
    pub remote_answer: Option<String>,
}

/// `peerd request ASN`: asks the remote peer `asn` for sessions at every
/// location we share (or the `only` ones). On disk before anything is
/// sent; the answer is applied before this returns (a remote that does not
/// answer leaves the sessions `Pending` in phase `sending`, for the
/// follower). Operators only.
pub async fn request(
    ctx: &Ctx,
    op: &Caller,
    asn: u32,
    dry_run: bool,
    only: Vec<String>,
) -> Result<RequestOutcome, AppError> {
    if !op.is_operator {
        return Err(AppError::forbidden(
            "request",
            "asking other networks needs an operator key",
        ));
    }
    let ob = tools(ctx)?;
    let peer = ob.remote(asn)?.clone();
    let target = ob.target(&peer).await.map_err(AppError::unavailable)?;
    let plan = plan(ctx, op, &ob, &peer, &target, &only).await?;
    let mut out = RequestOutcome {
        remote_asn: asn,
        dialect: peer.dialect,
        dry_run,
        request_id: None,
        sessions: plan.sessions.clone(),
        skipped: plan.skipped.clone(),
        remote_answer: None,
    };
    if dry_run {
        return Ok(out);
    }
    if plan.sessions.is_empty() {
        let why: Vec<String> = plan
            .skipped
            .iter()
            .map(|s| match &s.pair {
                Some(p) => format!("{} {p}: {}", s.location, s.reason),
                None => format!("{}: {}", s.location, s.reason),
            })
            .collect();
        return Err(AppError::new(
            Refusal::Conflict,
            "asn",
            format!(
                "nothing to ask AS{asn}{}",
                if why.is_empty() {
                    ": we share no location".to_string()
                } else {
                    format!(": {}", why.join("; "))
                }
            ),
        ));
    }
    let rid = plan.request_id.clone();
    out.request_id = Some(rid.clone());
    // The follower stays away while we send, and for a timeout after.
    let now = now_ms();
    let open = OpenRequest {
        remote_asn: asn,
        created_ms: now,
        next_ms: now + ob.settings.timeout_secs * 1000 + ob.backoff_ms(0),
        failures: 0,
        last_error: None,
    };
    let Some(_busy) = ob.claim(&rid) else {
        return Err(AppError::conflict(
            "request",
            "this request is being sent already",
        ));
    };
    let (sessions, skipped, answer) =
        record_and_send(ctx, &ob, &target, op, &rid, open, plan.sessions).await?;
    out.sessions = sessions;
    out.skipped.extend(skipped);
    out.remote_answer = Some(answer);
    Ok(out)
}

async fn record_and_send(
    ctx: &Ctx,
    ob: &Outbound,
    target: &Target,
    op: &Caller,
    rid: &str,
    open: OpenRequest,
    sessions: Vec<Session>,
) -> Result<(Vec<Session>, Vec<Skip>, String), AppError> {
    // 1. the open-request record, 2. the request and its sessions; both
    // on disk before the remote hears of it.
    meta_put(ctx, OPEN_NS, rid, &open)?;
    let record = RequestRecord {
        request_id: rid.to_string(),
        requester_asn: crate::model::Asn(ob.our_asn),
        created_by: op.principal.clone(),
        created_ms: open.created_ms,
        return_url: None,
        session_ids: vec![],
    };
    let inserted = ctx
        .blocking(move |s| s.insert_request(&record, sessions))
        .await?;
    ctx.durable().await?;
    let mut new = Vec::new();
    let mut skipped = Vec::new();
    for r in inserted {
        match r {
            Inserted::New(s) => new.push(s),
            Inserted::Existing(s) | Inserted::Conflict(s) => skipped.push(Skip {
                location: s.location.id.clone(),
                pair: Some(format!("{} <- {}", s.local_ip, s.peer_ip)),
                reason: format!("session {} already uses this address", s.session_id),
            }),
            Inserted::Taken => skipped.push(Skip {
                location: String::new(),
                pair: None,
                reason: "the address is in use at our router".into(),
            }),
        }
    }
    let answer = if new.is_empty() {
        ctx.store.meta_delete(OPEN_NS, rid)?;
        "nothing sent: every address was taken meanwhile".to_string()
    } else {
        let a = send(ctx, ob, target, &new).await;
        ctx.durable().await?;
        a
    };
    let mut now = Vec::new();
    for s in new {
        let id = s.session_id.clone();
        if let Some(s) = ctx.blocking(move |st| st.get_session(&id)).await? {
            now.push(s);
        }
    }
    Ok((now, skipped, answer))
}

/// Sends `sessions` (all of one request, phase `sending`) to the remote and
/// applies its answer; returns a line saying how it answered.
pub(super) async fn send(
    ctx: &Ctx,
    ob: &Outbound,
    target: &Target,
    sessions: &[Session],
) -> String {
    let asn = target.asn;
    let result = match target.dialect {
        RemoteDialect::Draft => {
            let items: Vec<DraftSessionReq> =
                sessions.iter().map(|s| draft_item(s, ob.our_asn)).collect();
            ob.client.create_draft(target, &items).await
        }
        RemoteDialect::V0 => {
            let items: Vec<V0SessionReq> =
                sessions.iter().map(|s| v0_item(s, ob.our_asn)).collect();
            ob.client.create_v0(target, &items).await
        }
    };
    let line = match &result {
        Ok(c) => format!(
            "AS{asn} answered: {} accepted, {} refused",
            c.sessions.len(),
            c.refused.len() + usize::from(c.summary.is_some())
        ),
        Err(e) => format!("AS{asn}: {e}"),
    };
    // a remote could quote a secret we sent it back at us
    let line = scrub_all(sessions, line);
    tracing::info!(remote_asn = asn, sessions = sessions.len(), answer = %line, "outbound request sent");
    if let Err(e) = apply_created(ctx, ob, asn, sessions, result).await {
        tracing::error!(remote_asn = asn, error = %e, "applying the remote's answer failed");
    }
    line
}

/// Applies a create answer (or its failure) to the sessions sent, in order.
async fn apply_created(
    ctx: &Ctx,
    ob: &Outbound,
    asn: u32,
    sessions: &[Session],
    result: Result<Created, RemoteError>,
) -> Result<(), AppError> {
    let max = ob.settings.max_send_attempts;
    match result {
        Ok(mut c) => {
            scrub_views(&mut c.sessions, sessions);
            c.refused = c
                .refused
                .into_iter()
                .map(|(i, m)| (i, scrub_all(sessions, m)))
                .collect();
            c.summary = c.summary.map(|m| scrub_all(sessions, m));
            for (i, s) in sessions.iter().enumerate() {
                if let Some(v) = c.sessions.iter().find(|v| v.is_pair(s.peer_ip, s.local_ip)) {
                    adopt(ctx, asn, s, v).await?;
                    continue;
                }
                let named: Vec<&str> = c
                    .refused
                    .iter()
                    .filter(|(idx, _)| *idx == Some(i))
                    .map(|(_, m)| m.as_str())
                    .collect();
                let reason = if !named.is_empty() {
                    Some(named.join("; "))
                } else if let Some(sum) = &c.summary {
                    Some(sum.clone())
                } else if !c.refused.is_empty() {
                    Some(
                        c.refused
                            .iter()
                            .map(|(_, m)| m.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                } else {
                    None
                };
                match reason {
                    Some(r) => refused(ctx, asn, s, &r).await?,
                    // neither accepted nor refused: the follower asks again
                    None => {
                        let why = "its answer did not mention this session";
                        failed_attempt(ctx, asn, s, why, max, ob.backoff_ms(0)).await?
                    }
                }
            }
        }
        Err(RemoteError::Refused { status, reasons }) => {
            let why = if reasons.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {}", reasons.join("; "))
            };
            let why = scrub_all(sessions, why);
            for s in sessions {
                refused(ctx, asn, s, &why).await?;
            }
        }
        Err(e) => {
            let why = scrub_all(sessions, e.to_string());
            for s in sessions {
                let n = s.remote.as_ref().map_or(0, |r| r.attempts);
                failed_attempt(ctx, asn, s, &why, max, ob.backoff_ms(n)).await?;
            }
        }
    }
    Ok(())
}

fn secret_of(s: &Session) -> Option<String> {
    s.session_secret
        .as_ref()
        .map(|x| x.expose().to_string())
        .filter(|x| !x.is_empty())
}

/// Our session as a draft request item: `local_*` = us (the asker).
fn draft_item(s: &Session, our_asn: u32) -> DraftSessionReq {
    DraftSessionReq {
        local_asn: our_asn,
        local_ip: s.peer_ip,
        peer_asn: s.local_asn.0,
        peer_ip: s.local_ip,
        peer_type: s.peer_type.as_str().into(),
        location: s.location.clone(),
        session_secret: secret_of(s),
    }
}

/// Our session as a v0 request item (the slides' snake_case shape).
fn v0_item(s: &Session, our_asn: u32) -> V0SessionReq {
    V0SessionReq {
        local_asn: our_asn,
        local_ip: s.peer_ip,
        peer_asn: s.local_asn.0,
        peer_ip: s.local_ip,
        peer_type: s.peer_type.as_str().into(),
        md5: secret_of(s).unwrap_or_default(),
        location: V0RemoteLocation {
            id: s.location.id.clone(),
            kind: s.location.kind.as_str().to_ascii_uppercase(),
        },
        uuid: s.session_id.clone(),
    }
}

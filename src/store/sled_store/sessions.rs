//! Requests and sessions: insert under the address rule (one owner per
//! neighbor address at a router, see [`crate::store`]), transitions,
//! removal. (Listing is in `list.rs`.)

use super::super::{log_change, Inserted, RemoveOpts, Result, StoreError, TransitionOpts};
use super::audit;
use super::backend;
use super::keys;
use super::tx::{abort, decode, encode, is_terminal, Tx, TxResult};
use super::Inner;
use crate::model::{
    now_ms, AuditEvent, JobKind, RequestRecord, Session, SessionStatus, UnixMillis,
};

use crate::store::rules::INITIAL;
pub use crate::store::rules::{clip, event};

/// Stores a request and its sessions (see [`crate::store::Store::insert_request`]).
pub fn insert_request(
    tx: &Tx<'_>,
    request: &RequestRecord,
    sessions: &[Session],
    now: UnixMillis,
) -> TxResult<Vec<Inserted>> {
    if tx.requests.get(request.request_id.as_bytes())?.is_some() {
        return abort(StoreError::Conflict(format!(
            "request {} already exists",
            request.request_id
        )));
    }
    let mut out = Vec::with_capacity(sessions.len());
    let mut answered: Vec<String> = Vec::new();
    for s in sessions {
        let r = insert_one(tx, s, now)?;
        if let Inserted::New(s) | Inserted::Existing(s) = &r {
            if !answered.contains(&s.session_id) {
                answered.push(s.session_id.clone());
            }
        }
        out.push(r);
    }
    let mut rec = request.clone();
    rec.session_ids = answered;
    tx.requests
        .insert(rec.request_id.as_bytes(), encode(&rec)?)?;
    Ok(out)
}

/// Logs the sessions a committed insert created ([`log_change`]).
pub fn log_created(out: &[Inserted]) {
    for r in out {
        if let Inserted::New(s) = r {
            log_change(s, None, Some(s.status), &s.created_by, "created");
        }
    }
}

impl Inner {
    pub fn get_request(&self, id: &str) -> Result<Option<crate::model::RequestRecord>> {
        match self.trees.requests.get(id).map_err(backend)? {
            Some(v) => Ok(Some(decode(&v, "request")?)),
            None => Ok(None),
        }
    }

    pub fn transition(&self, id: &str, to: SessionStatus, opts: TransitionOpts) -> Result<Session> {
        let now = now_ms();
        let id = id.to_string();
        let action = opts.action.clone();
        let actor = opts.actor.clone();
        let (s, from) = self
            .writer
            .write(move |tx| transition(tx, &id, to, &opts, now))?;
        log_change(
            &s,
            Some(from),
            Some(s.status),
            &actor,
            action.as_deref().unwrap_or("transition"),
        );
        Ok(s)
    }

    pub fn mark_pushed(&self, ids: &[String]) -> Result<Vec<String>> {
        let ids = ids.to_vec();
        self.writer.write(move |tx| {
            let mut marked = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(mut s) = tx.load_session(&id)? else {
                    continue;
                };
                if s.status != SessionStatus::Provisioning {
                    continue;
                }
                if !s.pushed {
                    s.pushed = true;
                    tx.store_session(&s)?;
                }
                marked.push(id);
            }
            Ok(marked)
        })
    }

    pub fn set_detail(&self, id: &str, detail: Option<String>, actor: &str) -> Result<Session> {
        let now = now_ms();
        let detail = detail.map(|d| clip(&d));
        let (id, actor) = (id.to_string(), actor.to_string());
        self.writer.write(move |tx| {
            let mut s = tx.session(&id)?;
            s.status_detail = detail.clone();
            s.updated_ms = now;
            tx.store_session(&s)?;
            tx.audit(
                &s,
                &event(&s, &actor, "detail", Some(s.status), detail, now),
            )?;
            Ok(s)
        })
    }

    pub fn remove_session(&self, id: &str, actor: &str) -> Result<()> {
        let opts = RemoveOpts {
            actor: actor.to_string(),
            ..Default::default()
        };
        self.remove_session_if(id, opts).map(|_| ())
    }

    pub fn remove_session_if(&self, id: &str, opts: RemoveOpts) -> Result<Session> {
        let now = now_ms();
        let id = id.to_string();
        let actor = opts.actor.clone();
        let action = opts.action.clone();
        let s = self.writer.write(move |tx| {
            let s = tx.session(&id)?;
            if !opts.expect.is_empty() && !opts.expect.contains(&s.status) {
                let want: Vec<&str> = opts.expect.iter().map(|x| x.as_str()).collect();
                return abort(StoreError::Conflict(format!(
                    "session is {}, expected {}",
                    s.status,
                    want.join(" or ")
                )));
            }
            if opts.unpushed && s.pushed {
                return abort(StoreError::Conflict(
                    "the session's config may have reached its router".into(),
                ));
            }
            tx.delete_session(&s)?;
            tx.release_address(&s)?;
            // Leased jobs stay so their worker can still complete them.
            for j in tx.session_jobs(&s.session_id)? {
                if j.lease.is_none() {
                    tx.delete_job(&j)?;
                }
            }
            let action = opts.action.as_deref().unwrap_or("removed");
            let detail = opts.detail.as_deref().map(clip);
            let mut ev = event(&s, &opts.actor, action, Some(s.status), detail, now);
            ev.to = None;
            tx.audit(&s, &ev)?;
            Ok(s)
        })?;
        let action = action.as_deref().unwrap_or("removed");
        log_change(&s, Some(s.status), None, &actor, action);
        Ok(s)
    }

    /// A session's trail: its stored events, or, before its first change
    /// (nothing stored yet), the "created" event its record implies.
    pub fn audit(&self, session_id: &str) -> Result<Vec<AuditEvent>> {
        let mut out = Vec::new();
        let mut stored = false;
        for item in self.trees.audit.scan_prefix(keys::audit_prefix(session_id)) {
            let (_, v) = item.map_err(backend)?;
            audit::read(&v, &mut out)?;
            stored = true;
        }
        if !stored {
            if let Some(s) = self.trees.load_session(session_id)? {
                out.push(audit::created(&s, s.status));
            }
        }
        Ok(out)
    }
}

/// [`crate::store::Store::transition`], inside a batch.
fn transition(
    tx: &Tx<'_>,
    id: &str,
    to: SessionStatus,
    opts: &TransitionOpts,
    now: UnixMillis,
) -> TxResult<(Session, SessionStatus)> {
    let mut s = tx.session(id)?;
    let from = s.status;
    if !opts.expect.is_empty() && !opts.expect.contains(&from) {
        let want: Vec<&str> = opts.expect.iter().map(|x| x.as_str()).collect();
        return abort(StoreError::Conflict(format!(
            "session is {from}, expected {}",
            want.join(" or ")
        )));
    }
    if !from.can_transition_to(to) {
        return abort(StoreError::BadTransition { from, to });
    }
    s.status = to;
    if let Some(d) = &opts.detail {
        s.status_detail = d.as_deref().map(clip);
    }
    s.updated_ms = now;
    if to == SessionStatus::Configured && s.configured_ms.is_none() {
        s.configured_ms = Some(now);
    }
    if is_terminal(to) {
        tx.release_address(&s)?;
    }
    if to == SessionStatus::Unestablished {
        // the worker removed its neighbor before this transition
        s.pushed = false;
    }
    if is_terminal(from) && !is_terminal(to) {
        if !tx.other_holders(&s)?.is_empty() {
            return abort(StoreError::Conflict(format!(
                "neighbor address {} is in use by another session",
                s.local_ip
            )));
        }
        tx.hold_address(&s)?;
    }
    let jobs = tx.session_jobs(&s.session_id)?;
    let has = |k: JobKind| jobs.iter().any(|j| j.kind == k);
    match to {
        // A Provision job already queued or running covers it (a
        // retry goes back through `fail`); a running one is
        // re-queued by `complete` if the session is still Approved
        // when it finishes (see queue.rs).
        SessionStatus::Approved if !has(JobKind::Provision) => {
            tx.new_job(&s.session_id, &s.router, JobKind::Provision, now, now)?;
        }
        SessionStatus::Deleting => {
            // graceful shutdown before removal: its routes flow now
            if from == SessionStatus::Established {
                s.drain = Some(crate::model::Drain::default());
            }
            // Unclaimed Provision/Expire/Refresh jobs are moot now.
            for j in &jobs {
                if j.lease.is_none()
                    && matches!(
                        j.kind,
                        JobKind::Provision | JobKind::Expire | JobKind::Refresh
                    )
                {
                    tx.delete_job(j)?;
                }
            }
            if !has(JobKind::Deprovision) {
                tx.new_job(&s.session_id, &s.router, JobKind::Deprovision, now, now)?;
            }
        }
        _ => {}
    }
    tx.store_moved(&s, from)?;
    let action = opts.action.as_deref().unwrap_or("transition");
    let detail = opts.detail.clone().flatten().map(|d| clip(&d));
    tx.audit(&s, &event(&s, &opts.actor, action, Some(from), detail, now))?;
    Ok((s, from))
}

/// The address rule of [`crate::store`] over the address's holders in
/// `tx`: `Err` is the answer without a write; `Ok(true)` a hand-over from
/// `Deleting` holders.
fn address_rule(tx: &Tx<'_>, s: &Session) -> TxResult<std::result::Result<bool, Inserted>> {
    Ok(crate::store::rules::address_rule(s, tx.other_holders(s)?).map_err(|b| *b))
}

/// Inserts one session of a request (or finds its twin), inside `tx`.
fn insert_one(tx: &Tx<'_>, s: &Session, now: UnixMillis) -> TxResult<Inserted> {
    let handover = match address_rule(tx, s)? {
        Ok(h) => h,
        Err(answer) => return Ok(answer),
    };
    if !INITIAL.contains(&s.status) {
        return abort(StoreError::Conflict(format!(
            "a new session cannot start as {}",
            s.status
        )));
    }
    if tx.sessions.get(s.session_id.as_bytes())?.is_some() {
        return abort(StoreError::Conflict(format!(
            "session {} already exists",
            s.session_id
        )));
    }
    let mut n = s.clone();
    n.seq = tx.next_counter(keys::COUNTER_SEQ)?;
    if n.created_ms == 0 {
        n.created_ms = now;
    }
    n.updated_ms = n.updated_ms.max(n.created_ms);
    n.pushed = false;
    if handover && !is_terminal(n.status) && n.status_detail.is_none() {
        n.status_detail = Some(
            "waits until the previous session at this address is removed from the router".into(),
        );
    }
    n.status_detail = n.status_detail.as_deref().map(clip);
    tx.store_session(&n)?;
    tx.index(&n);
    if !is_terminal(n.status) {
        tx.hold_address(&n)?;
    }
    if n.status == SessionStatus::Approved {
        tx.new_job(&n.session_id, &n.router, JobKind::Provision, now, now)?;
    }
    // no audit write: the trail's "created" event is derived from the
    // record until its first stored event (`Tx::audit`)
    Ok(Inserted::New(n))
}

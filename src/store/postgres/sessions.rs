//! Requests and sessions on PostgreSQL: insert under the address rule,
//! listing, transitions, removal, remote side. The same steps as the sled
//! store's, each call one write transaction (`tx.rs`).

use super::insert::{insert_requests_in, Ask};
use super::pool::{block, pg};
use super::tx::{body, direction_str, int};
use super::PgStore;
use crate::model::{
    now_ms, Direction, JobKind, RemoteState, RequestRecord, Session, SessionStatus,
};
use crate::store::rules::{
    clip, decode_cursor, encode_cursor, event, is_terminal, remote_text, visible_remote,
};
use crate::store::{
    log_change, HoldChange, Inserted, Page, RemoveOpts, Result, SessionFilter, StoreError,
    TransitionOpts,
};

fn expect_conflict(from: SessionStatus, expect: &[SessionStatus]) -> StoreError {
    let want: Vec<&str> = expect.iter().map(|x| x.as_str()).collect();
    StoreError::Conflict(format!("session is {from}, expected {}", want.join(" or ")))
}

impl PgStore {
    pub(super) fn pg_insert_request(
        &self,
        request: &RequestRecord,
        sessions: Vec<Session>,
    ) -> Result<Vec<Inserted>> {
        let now = now_ms();
        let ask = Ask {
            request,
            sessions: &sessions,
        };
        let out = self.write(|tx| {
            let mut outs = insert_requests_in(tx, &[ask], now)?;
            outs.pop()
                .unwrap_or_else(|| Err(StoreError::Backend("insert: no answer".into())))
        })?;
        for s in out.iter().filter_map(|r| match r {
            Inserted::New(s) => Some(s),
            _ => None,
        }) {
            log_change(s, None, Some(s.status), &s.created_by, "created");
        }
        Ok(out)
    }

    pub(super) fn pg_get_session(&self, id: &str) -> Result<Option<Session>> {
        let c = self.pool.get()?;
        let row = block(c.query_opt(
            "SELECT body FROM peerd_sessions WHERE session_id = $1",
            &[&id],
        ))
        .map_err(pg)?;
        row.map(|r| body(&r, 0, "session")).transpose()
    }

    pub(super) fn pg_get_request(&self, id: &str) -> Result<Option<RequestRecord>> {
        let c = self.pool.get()?;
        let row = block(c.query_opt(
            "SELECT body FROM peerd_requests WHERE request_id = $1",
            &[&id],
        ))
        .map_err(pg)?;
        row.map(|r| body(&r, 0, "request")).transpose()
    }

    pub(super) fn pg_list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        let after = match after {
            Some(c) => decode_cursor(c)?,
            None => 0,
        };
        let limit = limit.clamp(1, 100_000);
        let asn = filter.owner_asn.map(i64::from);
        let status = filter.status.map(|s| s.as_str());
        let any: Vec<&str> = filter.any_status.iter().map(|s| s.as_str()).collect();
        let direction = filter.direction.map(direction_str);
        let c = self.pool.get()?;
        let rows = block(c.query(
            "SELECT body FROM peerd_sessions s
             WHERE seq > $1
               AND ($2::BIGINT IS NULL OR local_asn = $2)
               AND ($3::TEXT IS NULL OR status = $3)
               AND (cardinality($8::TEXT[]) = 0 OR status = ANY($8))
               AND ($4::TEXT IS NULL OR router = $4)
               AND ($5::TEXT IS NULL OR direction = $5)
               AND ($6::TEXT IS NULL OR s.session_id IN (
                     SELECT json_array_elements_text(r.body -> 'session_ids')
                     FROM peerd_requests r WHERE r.request_id = $6))
             ORDER BY seq LIMIT $7",
            &[
                &int(after),
                &asn,
                &status,
                &filter.router,
                &direction,
                &filter.request_id,
                &(limit as i64 + 1),
                &any,
            ],
        ))
        .map_err(pg)?;
        let mut sessions: Vec<Session> = rows
            .iter()
            .map(|r| body(r, 0, "session"))
            .collect::<Result<_>>()?;
        let more = sessions.len() > limit;
        sessions.truncate(limit);
        let next = match (more, sessions.last()) {
            (true, Some(last)) => Some(encode_cursor(last.seq)),
            _ => None,
        };
        Ok(Page { sessions, next })
    }

    pub(super) fn pg_transition(
        &self,
        id: &str,
        to: SessionStatus,
        opts: TransitionOpts,
    ) -> Result<Session> {
        let now = now_ms();
        let (s, from) = self.write(|tx| {
            let mut s = tx.session(id)?;
            let from = s.status;
            if !opts.expect.is_empty() && !opts.expect.contains(&from) {
                return Err(expect_conflict(from, &opts.expect));
            }
            if !from.can_transition_to(to) {
                return Err(StoreError::BadTransition { from, to });
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
                s.pushed = false;
            }
            if is_terminal(from) && !is_terminal(to) {
                if !tx.other_holders(&s)?.is_empty() {
                    return Err(StoreError::Conflict(format!(
                        "neighbor address {} is in use by another session",
                        s.local_ip
                    )));
                }
                tx.hold_address(&s)?;
            }
            let jobs = tx.session_jobs(&s.session_id)?;
            let has = |k: JobKind| jobs.iter().any(|j| j.kind == k);
            let mut queued = false;
            match to {
                SessionStatus::Approved if !has(JobKind::Provision) => {
                    tx.new_job(&s.session_id, &s.router, JobKind::Provision, now, now)?;
                    queued = true;
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
                        queued = true;
                    }
                }
                _ => {}
            }
            if queued {
                tx.notify_jobs()?;
            }
            tx.store_session(&s)?;
            let action = opts.action.as_deref().unwrap_or("transition");
            let detail = opts.detail.clone().flatten().map(|d| clip(&d));
            tx.audit(&event(&s, &opts.actor, action, Some(from), detail, now))?;
            Ok((s, from))
        })?;
        let action = opts.action.as_deref().unwrap_or("transition");
        log_change(&s, Some(from), Some(s.status), &opts.actor, action);
        Ok(s)
    }

    pub(super) fn pg_mark_pushed(&self, ids: &[String]) -> Result<Vec<String>> {
        self.write(|tx| {
            let mut marked = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(mut s) = tx.load_session(id)? else {
                    continue;
                };
                if s.status != SessionStatus::Provisioning {
                    continue;
                }
                if !s.pushed {
                    s.pushed = true;
                    tx.store_session(&s)?;
                }
                marked.push(id.clone());
            }
            Ok(marked)
        })
    }

    pub(super) fn pg_set_detail(
        &self,
        id: &str,
        detail: Option<String>,
        actor: &str,
    ) -> Result<Session> {
        let now = now_ms();
        let detail = detail.map(|d| clip(&d));
        self.write(|tx| {
            let mut s = tx.session(id)?;
            s.status_detail = detail.clone();
            s.updated_ms = now;
            tx.store_session(&s)?;
            tx.audit(&event(
                &s,
                actor,
                "detail",
                Some(s.status),
                detail.clone(),
                now,
            ))?;
            Ok(s)
        })
    }

    /// [`crate::store::Store::set_hold`]: compare and set of the holds,
    /// one audit record, a `Refresh` queued unless one waits already.
    pub(super) fn pg_set_hold(&self, id: &str, change: &HoldChange) -> Result<Session> {
        let now = now_ms();
        self.write(|tx| {
            let mut s = tx.session(id)?;
            if !change.expect.is_empty() && !change.expect.contains(&s.status) {
                return Err(StoreError::Conflict(format!(
                    "session is {}, not one this change applies to",
                    s.status
                )));
            }
            if change
                .expect_maintenance
                .as_ref()
                .is_some_and(|m| s.maintenance != *m)
            {
                return Err(StoreError::Conflict(
                    "the session's maintenance changed meanwhile".into(),
                ));
            }
            if change.expect_drain.as_ref().is_some_and(|d| s.drain != *d) {
                return Err(StoreError::Conflict(
                    "the session's drain changed meanwhile".into(),
                ));
            }
            if let Some(d) = &change.drain {
                s.drain = d.clone();
            }
            if let Some(m) = &change.maintenance {
                s.maintenance = m.clone();
            }
            if let Some(d) = &change.status_detail {
                s.status_detail = d.as_deref().map(clip);
            }
            s.updated_ms = now;
            if change.refresh {
                let waiting = tx
                    .session_jobs(&s.session_id)?
                    .iter()
                    .any(|j| j.kind == JobKind::Refresh && j.lease.is_none());
                if !waiting {
                    tx.new_job(&s.session_id, &s.router, JobKind::Refresh, now, now)?;
                    tx.notify_jobs()?;
                }
            }
            tx.store_session(&s)?;
            let detail = change.detail.as_deref().map(clip);
            let mut ev = event(
                &s,
                &change.actor,
                &change.action,
                Some(s.status),
                detail,
                now,
            );
            ev.to = None;
            tx.audit(&ev)?;
            Ok(s)
        })
    }

    pub(super) fn pg_set_remote(
        &self,
        id: &str,
        remote: RemoteState,
        detail: Option<Option<String>>,
        actor: &str,
    ) -> Result<Session> {
        let now = now_ms();
        let detail = detail.map(|d| d.map(|d| clip(&d)));
        self.write(|tx| {
            let mut s = tx.session(id)?;
            if s.direction != Direction::Outbound {
                return Err(StoreError::Conflict(
                    "only outbound sessions have a remote side".into(),
                ));
            }
            let before = visible_remote(&s);
            s.remote = Some(remote.clone());
            if let Some(d) = &detail {
                s.status_detail = d.clone();
            }
            if before != visible_remote(&s) {
                s.updated_ms = now;
                let what = clip(&remote_text(&remote));
                tx.audit(&event(&s, actor, "remote", Some(s.status), Some(what), now))?;
            }
            tx.store_session(&s)?;
            Ok(s)
        })
    }

    pub(super) fn pg_remove_session_if(&self, id: &str, opts: &RemoveOpts) -> Result<Session> {
        let now = now_ms();
        let s = self.write(|tx| {
            let s = tx.session(id)?;
            if !opts.expect.is_empty() && !opts.expect.contains(&s.status) {
                return Err(expect_conflict(s.status, &opts.expect));
            }
            if opts.unpushed && s.pushed {
                return Err(StoreError::Conflict(
                    "the session's config may have reached its router".into(),
                ));
            }
            tx.delete_session(&s)?;
            tx.release_address(&s)?;
            for j in tx.session_jobs(&s.session_id)? {
                if j.lease.is_none() {
                    tx.delete_job(&j)?;
                }
            }
            let action = opts.action.as_deref().unwrap_or("removed");
            let detail = opts.detail.as_deref().map(clip);
            let mut ev = event(&s, &opts.actor, action, Some(s.status), detail, now);
            ev.to = None;
            tx.audit(&ev)?;
            Ok(s)
        })?;
        let action = opts.action.as_deref().unwrap_or("removed");
        log_change(&s, Some(s.status), None, &opts.actor, action);
        Ok(s)
    }

    pub(super) fn pg_audit(&self, session_id: &str) -> Result<Vec<crate::model::AuditEvent>> {
        let c = self.pool.get()?;
        let rows = block(c.query(
            "SELECT body FROM peerd_audit WHERE session_id = $1 ORDER BY n",
            &[&session_id],
        ))
        .map_err(pg)?;
        rows.iter().map(|r| body(r, 0, "audit")).collect()
    }
}

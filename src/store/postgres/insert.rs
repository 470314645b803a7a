//! Inserting requests on PostgreSQL: the steps of
//! [`Store::insert_request`](crate::store::Store::insert_request) for many
//! requests in one write transaction, in two round trips whatever their
//! number (after the write lock): one pipeline of reads, then one of
//! writes.
//!
//! The reads fetch, for every session of every request at once, the other
//! holders of its address, whether its id is taken, whether its request
//! exists, and fresh `seq`s and job ids. The requests are then decided in
//! order, in memory, as if each ran alone after the ones before it: what an
//! earlier request of the batch inserts (its sessions, their holds on
//! addresses, its request id) is seen by the later ones. A request that is
//! refused (its id exists, a session id is taken, a session cannot start
//! in its status) gets its own error and writes nothing; the others go on.
//! The writes are one bulk `INSERT` per table.

use super::tx::{direction_str, int, json, Tx};
use crate::model::{AuditEvent, Job, JobKind, RequestRecord, Session, SessionStatus, UnixMillis};
use crate::store::rules::{
    address_rule, clip, created_event, is_terminal, HANDOVER_DETAIL, INITIAL,
};
use crate::store::{Inserted, Result, StoreError};
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::{Json, ToSql};

/// One request to insert with its sessions.
pub struct Ask<'a> {
    pub request: &'a RequestRecord,
    pub sessions: &'a [Session],
}

/// A router and an address: the key of the address rule.
type Spot = (String, String);

fn spot(s: &Session) -> Spot {
    (s.router.clone(), s.local_ip.to_string())
}

/// What the reads found, before the batch.
struct Found {
    requests: HashSet<String>,
    ids: HashSet<String>,
    /// The holders of each address, in the order they took it.
    holders: HashMap<Spot, Vec<Session>>,
    seqs: std::vec::IntoIter<u64>,
    job_ids: std::vec::IntoIter<u64>,
}

/// A new session's rows.
struct NewRow {
    session: Session,
    hold: bool,
    created: AuditEvent,
    job: Option<Job>,
}

/// What one request writes once it is decided.
#[derive(Default)]
struct Decided {
    rows: Vec<NewRow>,
    out: Vec<Inserted>,
    answered: Vec<String>,
}

const REQUESTS_FOUND: &str = "SELECT request_id FROM peerd_requests WHERE request_id = ANY($1)";
const IDS_FOUND: &str = "SELECT session_id FROM peerd_sessions WHERE session_id = ANY($1)";
const HOLDERS_FOUND: &str = "SELECT h.router, h.address, s.body
     FROM peerd_holders h JOIN peerd_sessions s ON s.session_id = h.session_id
     WHERE (h.router, h.address) IN (SELECT * FROM unnest($1::TEXT[], $2::TEXT[]))
     ORDER BY h.ord";
const SEQS: &str = "SELECT nextval('peerd_session_seq') FROM generate_series(1, $1::BIGINT)";
const JOB_IDS: &str = "SELECT nextval('peerd_job_id') FROM generate_series(1, $1::BIGINT)";

const INSERT_SESSIONS: &str =
    "INSERT INTO peerd_sessions (seq, session_id, local_asn, router, status, direction, body)
     SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                          $6::TEXT[], $7::JSON[])";
const INSERT_HOLDS: &str = "INSERT INTO peerd_holders (router, address, session_id)
     SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[]) ON CONFLICT DO NOTHING";
const INSERT_AUDIT: &str = "INSERT INTO peerd_audit (n, session_id, body)
     SELECT nextval('peerd_audit_n'), u.id, u.body
     FROM unnest($1::TEXT[], $2::JSON[]) WITH ORDINALITY AS u(id, body, k) ORDER BY u.k";
const INSERT_REQUESTS: &str = "INSERT INTO peerd_requests (request_id, body)
     SELECT * FROM unnest($1::TEXT[], $2::JSON[])";
const INSERT_JOBS: &str =
    "INSERT INTO peerd_jobs (job_id, session_id, router, not_before_ms, lease_until_ms, body)
     SELECT u.id, u.sid, u.router, u.nb, NULL, u.body
     FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::JSON[])
          AS u(id, sid, router, nb, body)";
const NOTIFY_JOBS: &str = "SELECT pg_notify('peerd_jobs', '')";

/// Inserts `asks` in order inside `tx` (which holds the write lock). Each
/// request's answers, or its own refusal; `Err` only when the database
/// fails (then nothing may be committed). When it writes, it commits `tx`
/// (`COMMIT` goes in the same round trip as the writes): nothing may
/// follow it in `tx`.
pub fn insert_requests_in(
    tx: &Tx<'_>,
    asks: &[Ask<'_>],
    now: UnixMillis,
) -> Result<Vec<Result<Vec<Inserted>>>> {
    let mut found = read(tx, asks)?;
    let mut outs = Vec::with_capacity(asks.len());
    let mut rows: Vec<NewRow> = Vec::new();
    let mut records: Vec<RequestRecord> = Vec::new();
    for ask in asks {
        match decide_request(&mut found, ask, now) {
            Ok(d) => {
                for r in &d.rows {
                    found.ids.insert(r.session.session_id.clone());
                    if r.hold {
                        let h = found.holders.entry(spot(&r.session)).or_default();
                        h.push(r.session.clone());
                    }
                }
                found.requests.insert(ask.request.request_id.clone());
                let mut rec = ask.request.clone();
                rec.session_ids = d.answered;
                records.push(rec);
                rows.extend(d.rows);
                outs.push(Ok(d.out));
            }
            Err(e) => outs.push(Err(e)),
        }
    }
    write(tx, &rows, &records)?;
    Ok(outs)
}

/// The batch's reads, in one round trip.
fn read(tx: &Tx<'_>, asks: &[Ask<'_>]) -> Result<Found> {
    let all = || asks.iter().flat_map(|a| a.sessions.iter());
    let request_ids: Vec<&str> = asks.iter().map(|a| a.request.request_id.as_str()).collect();
    let ids: Vec<&str> = all().map(|s| s.session_id.as_str()).collect();
    let routers: Vec<&str> = all().map(|s| s.router.as_str()).collect();
    let addresses: Vec<String> = all().map(|s| s.local_ip.to_string()).collect();
    let n_seqs = ids.len() as i64;
    let n_jobs = all()
        .filter(|s| s.status == SessionStatus::Approved)
        .count() as i64;
    let rows = tx.pipeline(&[
        (REQUESTS_FOUND, &[&request_ids]),
        (IDS_FOUND, &[&ids]),
        (HOLDERS_FOUND, &[&routers, &addresses]),
        (SEQS, &[&n_seqs]),
        (JOB_IDS, &[&n_jobs]),
    ])?;
    let text = |i: usize| -> HashSet<String> { rows[i].iter().map(|r| r.get(0)).collect() };
    let numbers = |i: usize| -> std::vec::IntoIter<u64> {
        let mut v: Vec<u64> = rows[i].iter().map(|r| r.get::<_, i64>(0) as u64).collect();
        v.sort_unstable();
        v.into_iter()
    };
    let mut holders: HashMap<Spot, Vec<Session>> = HashMap::new();
    for r in &rows[2] {
        let s: Session = super::tx::body(r, 2, "session")?;
        holders.entry((r.get(0), r.get(1))).or_default().push(s);
    }
    Ok(Found {
        requests: text(0),
        ids: text(1),
        holders,
        seqs: numbers(3),
        job_ids: numbers(4),
    })
}

/// One request, decided on what the reads found and what the batch's
/// earlier requests added. Nothing is changed in `found` but the
/// `seq`s and job ids it takes.
fn decide_request(found: &mut Found, ask: &Ask<'_>, now: UnixMillis) -> Result<Decided> {
    let request = ask.request;
    if found.requests.contains(&request.request_id) {
        return Err(StoreError::Conflict(format!(
            "request {} already exists",
            request.request_id
        )));
    }
    let mut d = Decided::default();
    for s in ask.sessions {
        let seq = found
            .seqs
            .next()
            .ok_or_else(|| StoreError::Backend("peerd_session_seq: no value".into()))?;
        let others: Vec<Session> = found
            .holders
            .get(&spot(s))
            .into_iter()
            .flatten()
            .chain(d.rows.iter().filter(|r| r.hold).map(|r| &r.session))
            .filter(|h| h.session_id != s.session_id && spot(h) == spot(s))
            .cloned()
            .collect();
        let taken = found.ids.contains(&s.session_id)
            || d.rows.iter().any(|r| r.session.session_id == s.session_id);
        let r = match decide(s, others, taken, seq, now)? {
            Step::Answer(r) => r,
            Step::Write(n, created) => {
                let job = match n.status {
                    SessionStatus::Approved => Some(new_job(found, &n, now)?),
                    _ => None,
                };
                let hold = !is_terminal(n.status);
                d.rows.push(NewRow {
                    session: n.clone(),
                    hold,
                    created,
                    job,
                });
                Inserted::New(n)
            }
        };
        if let Inserted::New(s) | Inserted::Existing(s) = &r {
            if !d.answered.contains(&s.session_id) {
                d.answered.push(s.session_id.clone());
            }
        }
        d.out.push(r);
    }
    Ok(d)
}

fn new_job(found: &mut Found, n: &Session, now: UnixMillis) -> Result<Job> {
    let job_id = found
        .job_ids
        .next()
        .ok_or_else(|| StoreError::Backend("peerd_job_id: no value".into()))?;
    Ok(Job::fresh(
        job_id,
        &n.session_id,
        &n.router,
        JobKind::Provision,
        now,
        now,
    ))
}

/// What to do with one session of a request.
enum Step {
    /// Nothing to write: the answer (a twin, a conflict, refused).
    Answer(Inserted),
    /// A new session (with its `seq`) and its `created` record.
    Write(Session, AuditEvent),
}

/// Decides one session of a request from the other holders of its
/// address, whether its id is taken, and a new `seq`.
fn decide(
    s: &Session,
    holders: Vec<Session>,
    taken: bool,
    seq: u64,
    now: UnixMillis,
) -> Result<Step> {
    let handover = match address_rule(s, holders) {
        Ok(h) => h,
        Err(answer) => return Ok(Step::Answer(*answer)),
    };
    if !INITIAL.contains(&s.status) {
        return Err(StoreError::Conflict(format!(
            "a new session cannot start as {}",
            s.status
        )));
    }
    if taken {
        return Err(StoreError::Conflict(format!(
            "session {} already exists",
            s.session_id
        )));
    }
    let mut n = s.clone();
    n.seq = seq;
    if n.created_ms == 0 {
        n.created_ms = now;
    }
    n.updated_ms = n.updated_ms.max(n.created_ms);
    n.pushed = false;
    if handover && !is_terminal(n.status) && n.status_detail.is_none() {
        n.status_detail = Some(HANDOVER_DETAIL.into());
    }
    n.status_detail = n.status_detail.as_deref().map(clip);
    let ev = created_event(&n, n.status, now);
    Ok(Step::Write(n, ev))
}

/// The batch's rows: one bulk `INSERT` per table, in one round trip.
fn write(tx: &Tx<'_>, rows: &[NewRow], records: &[RequestRecord]) -> Result<()> {
    let ss = || rows.iter().map(|r| &r.session);
    let seq: Vec<i64> = ss().map(|s| int(s.seq)).collect();
    let id: Vec<&str> = ss().map(|s| s.session_id.as_str()).collect();
    let asn: Vec<i64> = ss().map(|s| i64::from(s.local_asn.0)).collect();
    let router: Vec<&str> = ss().map(|s| s.router.as_str()).collect();
    let status: Vec<&str> = ss().map(|s| s.status.as_str()).collect();
    let direction: Vec<&str> = ss().map(|s| direction_str(s.direction)).collect();
    let body: Vec<Json<serde_json::Value>> = ss().map(json).collect::<Result<_>>()?;
    let held = || rows.iter().filter(|r| r.hold).map(|r| &r.session);
    let h_router: Vec<&str> = held().map(|s| s.router.as_str()).collect();
    let h_address: Vec<String> = held().map(|s| s.local_ip.to_string()).collect();
    let h_id: Vec<&str> = held().map(|s| s.session_id.as_str()).collect();
    let a_id: Vec<&str> = rows.iter().map(|r| r.created.session_id.as_str()).collect();
    let a_body: Vec<Json<serde_json::Value>> = rows
        .iter()
        .map(|r| json(&r.created))
        .collect::<Result<_>>()?;
    let r_id: Vec<&str> = records.iter().map(|r| r.request_id.as_str()).collect();
    let r_body: Vec<Json<serde_json::Value>> = records.iter().map(json).collect::<Result<_>>()?;
    let jobs: Vec<&Job> = rows.iter().filter_map(|r| r.job.as_ref()).collect();
    let j_id: Vec<i64> = jobs.iter().map(|j| int(j.job_id)).collect();
    let j_session: Vec<&str> = jobs.iter().map(|j| j.session_id.as_str()).collect();
    let j_router: Vec<&str> = jobs.iter().map(|j| j.router.as_str()).collect();
    let j_not_before: Vec<i64> = jobs.iter().map(|j| int(j.not_before_ms)).collect();
    let j_body: Vec<Json<serde_json::Value>> = jobs.iter().map(json).collect::<Result<_>>()?;
    let sessions: [&(dyn ToSql + Sync); 7] = [&seq, &id, &asn, &router, &status, &direction, &body];
    let holds: [&(dyn ToSql + Sync); 3] = [&h_router, &h_address, &h_id];
    let audit: [&(dyn ToSql + Sync); 2] = [&a_id, &a_body];
    let requests: [&(dyn ToSql + Sync); 2] = [&r_id, &r_body];
    let job_rows: [&(dyn ToSql + Sync); 5] = [&j_id, &j_session, &j_router, &j_not_before, &j_body];
    let mut stmts = Vec::with_capacity(6);
    if !rows.is_empty() {
        stmts.push((INSERT_SESSIONS, &sessions[..]));
        stmts.push((INSERT_AUDIT, &audit[..]));
    }
    if !h_id.is_empty() {
        stmts.push((INSERT_HOLDS, &holds[..]));
    }
    if !records.is_empty() {
        stmts.push((INSERT_REQUESTS, &requests[..]));
    }
    if !jobs.is_empty() {
        stmts.push((INSERT_JOBS, &job_rows[..]));
        stmts.push((NOTIFY_JOBS, &[]));
    }
    if !stmts.is_empty() {
        tx.pipeline_and_commit(&stmts)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_session_start_is_a_conflict_and_writes_nothing() {
        let s = crate::store::contract::session(64512, 1, SessionStatus::Configured);
        match decide(&s, vec![], false, 1, 5) {
            Err(StoreError::Conflict(m)) => assert!(m.contains("cannot start as"), "{m}"),
            _ => panic!("expected a conflict"),
        }
    }
}

//! Records copied in from another store (`peerd store copy`): sessions with
//! their seq, ids, audit trail and address holdings, requests, jobs and
//! metadata, each written only where the database has none by that key,
//! so a second copy of the same records changes nothing. The sequences
//! are moved past what was copied.

use super::tx::{int, json, Tx};
use super::PgStore;
use crate::model::{AuditEvent, Job, RequestRecord, Session};
use crate::store::rules::is_terminal;
use crate::store::Result;

/// One batch of records to copy in.
#[derive(Debug, Default)]
pub struct Import {
    /// Sessions, each with its audit trail (oldest first).
    pub sessions: Vec<(Session, Vec<AuditEvent>)>,
    pub requests: Vec<RequestRecord>,
    /// Jobs (a lease is dropped: the source's worker is gone).
    pub jobs: Vec<Job>,
    /// `(namespace, key, value)`.
    pub meta: Vec<(String, String, Vec<u8>)>,
}

/// What a batch wrote; what was there already is left as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub sessions: u64,
    pub audit: u64,
    pub requests: u64,
    pub jobs: u64,
    pub meta: u64,
    /// Records skipped because the database has one by that key.
    pub present: u64,
}

impl Imported {
    pub fn add(&mut self, o: Imported) {
        self.sessions += o.sessions;
        self.audit += o.audit;
        self.requests += o.requests;
        self.jobs += o.jobs;
        self.meta += o.meta;
        self.present += o.present;
    }
}

fn session(tx: &Tx<'_>, s: &Session, audit: &[AuditEvent], n: &mut Imported) -> Result<()> {
    let wrote = tx.execute(
        "INSERT INTO peerd_sessions (seq, session_id, local_asn, router, status, direction, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &[
            &int(s.seq),
            &s.session_id,
            &(s.local_asn.0 as i64),
            &s.router,
            &s.status.as_str(),
            &super::tx::direction_str(s.direction),
            &json(s)?,
        ],
    )?;
    if wrote == 0 {
        n.present += 1;
        return Ok(());
    }
    n.sessions += 1;
    if !is_terminal(s.status) {
        tx.execute(
            "INSERT INTO peerd_holders (router, address, session_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&s.router, &s.local_ip.to_string(), &s.session_id],
        )?;
    }
    for ev in audit {
        tx.audit(ev)?;
        n.audit += 1;
    }
    Ok(())
}

impl PgStore {
    /// Writes one batch in one transaction (see the [module doc](self)).
    pub fn import(&self, batch: &Import) -> Result<Imported> {
        self.write(|tx| {
            let mut n = Imported::default();
            for (s, audit) in &batch.sessions {
                session(tx, s, audit, &mut n)?;
            }
            for r in &batch.requests {
                let wrote = tx.execute(
                    "INSERT INTO peerd_requests (request_id, body) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&r.request_id, &json(r)?],
                )?;
                if wrote == 0 {
                    n.present += 1;
                } else {
                    n.requests += 1;
                }
            }
            for j in &batch.jobs {
                let mut j = j.clone();
                j.lease = None;
                let wrote = tx.execute(
                    "INSERT INTO peerd_jobs (job_id, session_id, router, not_before_ms, lease_until_ms, body)
                     VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING",
                    &[&int(j.job_id), &j.session_id, &j.router, &int(j.not_before_ms), &json(&j)?],
                )?;
                if wrote == 0 {
                    n.present += 1;
                } else {
                    n.jobs += 1;
                }
            }
            for (ns, key, value) in &batch.meta {
                let wrote = tx.execute(
                    "INSERT INTO peerd_meta (ns, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[ns, key, value],
                )?;
                if wrote == 0 {
                    n.present += 1;
                } else {
                    n.meta += 1;
                }
            }
            // new sessions and jobs get numbers after the copied ones
            tx.execute(
                "SELECT setval('peerd_session_seq', GREATEST(
                     (SELECT COALESCE(MAX(seq), 1) FROM peerd_sessions),
                     (SELECT last_value FROM peerd_session_seq)))",
                &[],
            )?;
            tx.execute(
                "SELECT setval('peerd_job_id', GREATEST(
                     (SELECT COALESCE(MAX(job_id), 1) FROM peerd_jobs),
                     (SELECT last_value FROM peerd_job_id)))",
                &[],
            )?;
            if n.jobs > 0 {
                tx.notify_jobs()?;
            }
            Ok(n)
        })
    }
}

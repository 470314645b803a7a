//! Listing sessions a page at a time: a request's own list (its record
//! names them), or the in-memory index (`index.rs`) by requester, by
//! router (with or without the statuses wanted), by status (one or
//! several), or every session. The index yields `(seq, id)` candidates in
//! ascending `seq`, a page's worth at a time under its read lock; the lock
//! is let go before the records are read, and each record is checked
//! against the whole filter (and its `seq`), so a candidate that a write
//! is changing at that moment is never taken on trust. When some fail the
//! check, the next candidates come from where the last ones stopped.
//!
//! A page shows no session above the writer's visible `seq`: the batch
//! that wrote a higher one may not be applied to the trees and the index
//! yet (sled makes a commit visible key by key), and a later page starts
//! after the highest `seq` shown. So paging neither skips nor repeats,
//! with no lock between listings and writes.
//!
//! Counts per router and status, and the routers, come from the index
//! alone (no record is read).

use super::super::{Page, Result, SessionCount, SessionFilter};
use super::backend;
use super::index::Shape;
use super::keys;
use super::tx::decode;
use super::Inner;
use crate::model::Session;
use crate::store::rules::matches;

impl Inner {
    pub fn list_sessions(
        &self,
        filter: &SessionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        let after = match after {
            Some(c) => keys::decode_cursor(c)?,
            None => 0,
        };
        let limit = limit.max(1);
        let hi = self.writer.visible_seq();
        let empty = Page {
            sessions: Vec::new(),
            next: None,
        };
        let Some(first) = after.checked_add(1).filter(|f| *f <= hi) else {
            return Ok(empty);
        };
        let mut sessions: Vec<Session> = Vec::new();
        let more = if let Some(rid) = &filter.request_id {
            let Some(found) = self.request_sessions(rid, first, hi)? else {
                return Ok(empty);
            };
            keep(filter, found, limit, &mut sessions)
        } else {
            let wanted = match filter.status {
                Some(st) => vec![st],
                None => filter.any_status.clone(),
            };
            let shape = if let Some(asn) = filter.owner_asn {
                Shape::Owner(asn)
            } else if let Some(r) = &filter.router {
                Shape::Router(r, &wanted)
            } else if !wanted.is_empty() {
                Shape::Status(&wanted)
            } else {
                Shape::All
            };
            let mut from = first;
            loop {
                // one more than the page needs: is there a next page?
                let want = limit + 1 - sessions.len();
                let found = self
                    .index
                    .read(|ix| ix.candidates(&shape, from, hi, want))?;
                let (got, last) = (found.len(), found.last().map(|(seq, _)| *seq));
                let more = self.take(filter, found, limit, &mut sessions)?;
                match last {
                    Some(l) if !more && got == want && l < hi => from = l + 1,
                    _ => break more,
                }
            }
        };
        let next = match (more, sessions.last()) {
            (true, Some(last)) => Some(keys::encode_cursor(last.seq)),
            _ => None,
        };
        Ok(Page { sessions, next })
    }

    /// Reads and checks the records of `found` (ascending) into
    /// `sessions` until it holds `limit`; answers whether a further one
    /// matches (a next page).
    fn take(
        &self,
        filter: &SessionFilter,
        found: Vec<(u64, String)>,
        limit: usize,
        sessions: &mut Vec<Session>,
    ) -> Result<bool> {
        let mut read = Vec::with_capacity(found.len());
        for (seq, id) in found {
            // removed meanwhile, or removed and stored again
            if let Some(s) = self.trees.load_session(&id)?.filter(|s| s.seq == seq) {
                read.push(s);
            }
        }
        Ok(keep(filter, read, limit, sessions))
    }

    /// The sessions of request `rid`'s answer (new and existing) whose seq
    /// is in `first..=hi`, ascending; `None` for an unknown request.
    fn request_sessions(&self, rid: &str, first: u64, hi: u64) -> Result<Option<Vec<Session>>> {
        let Some(v) = self.trees.requests.get(rid).map_err(backend)? else {
            return Ok(None);
        };
        let rec: crate::model::RequestRecord = decode(&v, "request")?;
        let mut found = Vec::new();
        for id in &rec.session_ids {
            if let Some(s) = self.trees.load_session(id)? {
                if (first..=hi).contains(&s.seq) {
                    found.push(s);
                }
            }
        }
        found.sort_unstable_by_key(|s| s.seq);
        found.dedup_by_key(|s| s.seq);
        Ok(Some(found))
    }

    /// [`crate::store::Store::session_counts`] from the index alone.
    pub fn session_counts(&self) -> Result<Vec<SessionCount>> {
        self.index.read(|ix| ix.counts())
    }
}

/// Puts the sessions of `found` that match `filter` into `sessions` until
/// it holds `limit`; answers whether a further one matches (a next page).
fn keep(
    filter: &SessionFilter,
    found: Vec<Session>,
    limit: usize,
    sessions: &mut Vec<Session>,
) -> bool {
    for s in found {
        if !matches(filter, &s) {
            continue;
        }
        if sessions.len() == limit {
            return true;
        }
        sessions.push(s);
    }
    false
}

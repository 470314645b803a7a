//! Listing sessions a page at a time, through the index that fits the
//! filter: a request's own list, `owners`, `by_router` (with a status, its
//! values pick the entries without reading records), `by_status`, or
//! `sessions` itself. Every source yields `seq`s in ascending order; the
//! record of each is read and checked against the whole filter, so an
//! index entry that a write is changing at that moment is never taken on
//! trust.
//!
//! A page shows no session above the writer's visible `seq`: the batch
//! that wrote a higher one may not be applied to every tree yet (sled
//! makes a commit visible key by key), and a later page starts after the
//! highest `seq` shown. So paging neither skips nor repeats, with no lock
//! between listings and writes.

use super::super::{Page, Result, SessionFilter, StoreError};
use super::keys;
use super::tx::{backend, decode};
use super::Inner;
use crate::model::Session;

type Seqs<'a> = Box<dyn Iterator<Item = Result<u64>> + 'a>;

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
        let t = &self.trees;
        let index = |tree: &'_ sled::Tree, lo: Vec<u8>, hi: Vec<u8>| -> Seqs<'_> {
            Box::new(tree.range(lo..=hi).map(|item| {
                let (k, _) = item.map_err(backend)?;
                keys::tail_seq(&k).ok_or_else(|| StoreError::Corrupt("list index".into()))
            }))
        };
        let seqs: Seqs<'_> = if let Some(rid) = &filter.request_id {
            let Some(ids) = self.request_seqs(rid, first, hi)? else {
                return Ok(empty);
            };
            Box::new(ids.into_iter().map(Ok))
        } else if let Some(asn) = filter.owner_asn {
            let (lo, up) = (keys::owner_key(asn, first), keys::owner_key(asn, hi));
            index(&t.owners, lo.to_vec(), up.to_vec())
        } else if let Some(r) = &filter.router {
            // with a status: only the entries whose value says so
            let want = filter.status.map(keys::status_code);
            let (lo, up) = (keys::router_key(r, first), keys::router_key(r, hi));
            Box::new(t.by_router.range(lo..=up).filter_map(move |item| {
                let (k, v) = match item {
                    Ok(kv) => kv,
                    Err(e) => return Some(Err(backend(e))),
                };
                if want.is_some_and(|w| v.first() != Some(&w)) {
                    return None;
                }
                Some(keys::tail_seq(&k).ok_or_else(|| StoreError::Corrupt("router index".into())))
            }))
        } else if let Some(st) = filter.status {
            let (lo, up) = (keys::status_key(st, first), keys::status_key(st, hi));
            index(&t.by_status, lo.to_vec(), up.to_vec())
        } else {
            Box::new(
                t.sessions
                    .range(keys::u64_key(first)..=keys::u64_key(hi))
                    .map(|item| {
                        let (k, _) = item.map_err(backend)?;
                        keys::read_u64(&k).ok_or_else(|| StoreError::Corrupt("session key".into()))
                    }),
            )
        };
        let mut sessions = Vec::new();
        let mut more = false;
        for seq in seqs {
            let Some(s) = t.session_by_seq(&keys::u64_key(seq?))? else {
                continue; // removed meanwhile
            };
            if !matches(filter, &s) {
                continue;
            }
            if sessions.len() == limit {
                more = true;
                break;
            }
            sessions.push(s);
        }
        let next = match (more, sessions.last()) {
            (true, Some(last)) => Some(keys::encode_cursor(last.seq)),
            _ => None,
        };
        Ok(Page { sessions, next })
    }

    /// The seqs (in `first..=hi`, ascending) of the sessions in request
    /// `rid`'s answer (new and existing); `None` for an unknown request.
    fn request_seqs(&self, rid: &str, first: u64, hi: u64) -> Result<Option<Vec<u64>>> {
        let Some(v) = self.trees.requests.get(rid).map_err(backend)? else {
            return Ok(None);
        };
        let rec: crate::model::RequestRecord = decode(&v, "request")?;
        let mut seqs = Vec::new();
        for id in &rec.session_ids {
            if let Some(k) = self.trees.session_ids.get(id).map_err(backend)? {
                match keys::read_u64(&k) {
                    Some(seq) if (first..=hi).contains(&seq) => seqs.push(seq),
                    Some(_) => {}
                    None => return Err(StoreError::Corrupt("session index".into())),
                }
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        Ok(Some(seqs))
    }
}

fn matches(f: &SessionFilter, s: &Session) -> bool {
    f.owner_asn.is_none_or(|a| s.local_asn.0 == a)
        && f.status.is_none_or(|st| s.status == st)
        && f.router.as_deref().is_none_or(|r| s.router == r)
}

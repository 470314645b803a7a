//! Listing sessions a page at a time, through the index that fits the
//! filter: a request's own list, `owners`, `by_router` (with a status, its
//! values pick the entries without reading records: one status, or any
//! of several), `by_status` (one range, or several merged by `seq`), or,
//! with no filter, every router's `by_router` range merged by `seq`. Every
//! source yields `(seq, id)` in ascending `seq`; the record of each is read
//! and checked against the whole filter, so an index entry that a write is
//! changing at that moment is never taken on trust.
//!
//! A page shows no session above the writer's visible `seq`: the batch
//! that wrote a higher one may not be applied to every tree yet (sled
//! makes a commit visible key by key), and a later page starts after the
//! highest `seq` shown. So paging neither skips nor repeats, with no lock
//! between listings and writes.

use super::super::{Page, Result, SessionCount, SessionFilter, StoreError};
use super::backend;
use super::keys;
use super::tx::decode;
use super::Inner;
use crate::model::{Session, SessionStatus};
use crate::store::rules::matches;
use sled::IVec;
use std::iter::Peekable;

/// `(seq, session id)`, ascending by seq.
type Entries<'a> = Box<dyn Iterator<Item = Result<(u64, IVec)>> + 'a>;

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
        let entries: Entries<'_> = if let Some(rid) = &filter.request_id {
            let Some(found) = self.request_entries(rid, first, hi)? else {
                return Ok(empty);
            };
            Box::new(found.into_iter().map(Ok))
        } else if let Some(asn) = filter.owner_asn {
            let (lo, up) = (keys::owner_key(asn, first), keys::owner_key(asn, hi));
            index(t.owners.range(lo..=up), |v| Some(v.clone()))
        } else if let Some(r) = &filter.router {
            // with statuses: only the entries whose value says so
            router_entries(&t.by_router, r, first, hi, wanted(filter))
        } else if let Some(st) = filter.status {
            status_entries(&t.by_status, st, first, hi)
        } else if !filter.any_status.is_empty() {
            let parts = filter
                .any_status
                .iter()
                .map(|st| status_entries(&t.by_status, *st, first, hi).peekable())
                .collect();
            Box::new(Merge(parts))
        } else {
            let parts = self
                .routers()?
                .into_iter()
                .map(|r| router_entries(&t.by_router, &r, first, hi, Vec::new()).peekable())
                .collect();
            Box::new(Merge(parts))
        };
        let mut sessions: Vec<Session> = Vec::new();
        let mut more = false;
        for entry in entries {
            let (seq, id) = entry?;
            let Some(s) = t.load_session(&id)? else {
                continue; // removed meanwhile
            };
            if s.seq != seq || !matches(filter, &s) {
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

    /// The sessions of request `rid`'s answer (new and existing) whose seq
    /// is in `first..=hi`, ascending; `None` for an unknown request.
    fn request_entries(&self, rid: &str, first: u64, hi: u64) -> Result<Option<Vec<(u64, IVec)>>> {
        let Some(v) = self.trees.requests.get(rid).map_err(backend)? else {
            return Ok(None);
        };
        let rec: crate::model::RequestRecord = decode(&v, "request")?;
        let mut found = Vec::new();
        for id in &rec.session_ids {
            if let Some(s) = self.trees.load_session(id)? {
                if (first..=hi).contains(&s.seq) {
                    found.push((s.seq, IVec::from(id.as_bytes())));
                }
            }
        }
        found.sort_unstable_by_key(|(seq, _)| *seq);
        found.dedup_by_key(|(seq, _)| *seq);
        Ok(Some(found))
    }

    /// [`crate::store::Store::session_counts`] from `by_router`'s keys and
    /// status bytes alone (no session record is read).
    pub fn session_counts(&self) -> Result<Vec<SessionCount>> {
        let corrupt = || StoreError::Corrupt("router index".into());
        let n = SessionStatus::ALL.len();
        // by_router is sorted by router: one router's entries run together
        let mut per_router: Vec<(String, Vec<u64>)> = Vec::new();
        for item in self.trees.by_router.iter() {
            let (k, v) = item.map_err(backend)?;
            let router = keys::key_router(&k).ok_or_else(corrupt)?;
            let code = *v.first().ok_or_else(corrupt)?;
            let rank = SessionStatus::ALL
                .iter()
                .position(|s| keys::status_code(*s) == code)
                .ok_or_else(corrupt)?;
            if per_router.last().is_none_or(|(r, _)| r != router) {
                per_router.push((router.to_string(), vec![0; n]));
            }
            if let Some((_, c)) = per_router.last_mut() {
                c[rank] += 1;
            }
        }
        // by name, as the trait's default answers (the keys sort by length first)
        per_router.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (router, counts) in per_router {
            for (rank, count) in counts.into_iter().enumerate() {
                if count > 0 {
                    out.push(SessionCount {
                        router: router.clone(),
                        status: SessionStatus::ALL[rank],
                        count,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Every router that has sessions, from `by_router` (one seek each).
    fn routers(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(item) = self.trees.by_router.range(from.clone()..).next() {
            let (k, _) = item.map_err(backend)?;
            let r = keys::key_router(&k)
                .ok_or_else(|| StoreError::Corrupt("router index".into()))?
                .to_string();
            from = keys::router_key(&r, u64::MAX);
            from.push(0);
            out.push(r);
        }
        Ok(out)
    }
}

/// The entries of an index range whose value holds the session id
/// (`id_of` picks it out; `None` skips the entry).
fn index<'a>(range: sled::Iter, id_of: impl Fn(&IVec) -> Option<IVec> + 'a) -> Entries<'a> {
    Box::new(range.filter_map(move |item| {
        let (k, v) = match item {
            Ok(kv) => kv,
            Err(e) => return Some(Err(backend(e))),
        };
        let id = id_of(&v)?;
        Some(
            keys::tail_seq(&k)
                .map(|seq| (seq, id))
                .ok_or_else(|| StoreError::Corrupt("list index".into())),
        )
    }))
}

/// The status bytes a filter wants (`status`, else `any_status`; empty:
/// every status). The records are checked against the whole filter later.
fn wanted(filter: &SessionFilter) -> Vec<u8> {
    match filter.status {
        Some(st) => vec![keys::status_code(st)],
        None => filter
            .any_status
            .iter()
            .map(|s| keys::status_code(*s))
            .collect(),
    }
}

/// One status's range of `by_status`.
fn status_entries<'a>(tree: &sled::Tree, st: SessionStatus, first: u64, hi: u64) -> Entries<'a> {
    let (lo, up) = (keys::status_key(st, first), keys::status_key(st, hi));
    index(tree.range(lo..=up), |v| Some(v.clone()))
}

/// One router's range of `by_router`, only the status bytes in `want`
/// (empty: all).
fn router_entries<'a>(
    tree: &sled::Tree,
    router: &str,
    first: u64,
    hi: u64,
    want: Vec<u8>,
) -> Entries<'a> {
    let (lo, up) = (
        keys::router_key(router, first),
        keys::router_key(router, hi),
    );
    index(tree.range(lo..=up), move |v| {
        let (status, id) = v.split_first()?;
        if !want.is_empty() && !want.contains(status) {
            return None;
        }
        Some(IVec::from(id))
    })
}

/// Ascending entries from several ascending sources (every router's).
struct Merge<'a>(Vec<Peekable<Entries<'a>>>);

impl Iterator for Merge<'_> {
    type Item = Result<(u64, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, u64)> = None;
        for (i, part) in self.0.iter_mut().enumerate() {
            match part.peek() {
                Some(Ok((seq, _))) if best.is_none_or(|(_, b)| *seq < b) => {
                    best = Some((i, *seq));
                }
                Some(Err(_)) => return part.next(),
                _ => {}
            }
        }
        let (i, _) = best?;
        self.0[i].next()
    }
}

//! The listing index, in memory: every stored session by `seq`, with its
//! id, requester, status and router, and the `seq`s by status, by router
//! and by requester, each ascending (`list.rs` pages through them).
//!
//! It is derived data. The sessions themselves are durable in the
//! `sessions` tree (journal and writer as ever); the index is built from
//! that tree at every open (`live.rs`) and kept by the writer: a batch's
//! [`IndexOp`]s are applied once its trees are written, before any of its
//! sessions can be listed (`writer.rs`). So a crash cannot leave it wrong:
//! the next open builds it again from what is stored.
//!
//! Compact: a session is one [`Slot`] in [`Seqs`] (the 16 id bytes; an id
//! of another shape, from an older peerd, is kept beside it), and one
//! `seq` in each of three sets; routers are interned. About 70 bytes a
//! session.

use super::seqs::Seqs;
use crate::model::{id_bytes, id_text, Session, SessionStatus};
use crate::store::SessionCount;
use std::collections::HashMap;

const STATUSES: usize = SessionStatus::ALL.len();

/// A change the writer makes to the index, recorded in a batch's overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexOp {
    /// A session stored (new, or its status changed).
    Put(Entry),
    /// The session with this `seq` removed.
    Remove(u64),
}

/// What the index keeps of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub id: String,
    pub asn: u32,
    pub status: SessionStatus,
    pub router: String,
}

impl Entry {
    pub fn of(s: &Session) -> Entry {
        Entry {
            seq: s.seq,
            id: s.session_id.clone(),
            asn: s.local_asn.0,
            status: s.status,
            router: s.router.clone(),
        }
    }
}

/// A session's place in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// The id's bytes ([`id_bytes`]); zero when `text` says the id is in
    /// [`Index::text_ids`].
    id: [u8; 16],
    asn: u32,
    router: u32,
    status: u8,
    text: bool,
}

/// Which sessions a listing wants, as far as the index can tell.
pub enum Shape<'a> {
    All,
    Owner(u32),
    /// A router's sessions, of these statuses (empty: any).
    Router(&'a str, &'a [SessionStatus]),
    /// The sessions of any of these statuses (not empty).
    Status(&'a [SessionStatus]),
}

struct Router {
    name: Box<str>,
    seqs: Seqs<()>,
    counts: [u64; STATUSES],
}

#[derive(Default)]
pub struct Index {
    all: Seqs<Slot>,
    /// Ids not in the shape [`id_bytes`] reads, by seq.
    text_ids: HashMap<u64, Box<str>>,
    by_status: [Seqs<()>; STATUSES],
    routers: Vec<Router>,
    router_ids: HashMap<Box<str>, u32>,
    owners: HashMap<u32, Seqs<()>>,
}

fn rank(s: SessionStatus) -> u8 {
    SessionStatus::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or_default() as u8
}

impl Index {
    /// An index of `entries` (any order): sorted first, so every insert is
    /// an append.
    pub fn of(entries: Vec<Entry>) -> Index {
        let mut ix = Index::default();
        let mut slots: Vec<(u64, Slot)> = entries.into_iter().map(|e| ix.slot(e)).collect();
        slots.sort_unstable_by_key(|(seq, _)| *seq);
        for (seq, slot) in slots {
            ix.place(seq, slot);
        }
        ix
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn apply(&mut self, op: IndexOp) {
        match op {
            IndexOp::Put(e) => self.put(e),
            IndexOp::Remove(seq) => self.remove(seq),
        }
    }

    /// Adds a session, or moves it (its status changed).
    pub fn put(&mut self, e: Entry) {
        self.remove(e.seq);
        let (seq, slot) = self.slot(e);
        self.place(seq, slot);
    }

    pub fn remove(&mut self, seq: u64) {
        let Some(slot) = self.all.remove(seq) else {
            return;
        };
        if slot.text {
            self.text_ids.remove(&seq);
        }
        self.by_status[usize::from(slot.status)].remove(seq);
        if let Some(r) = self.routers.get_mut(slot.router as usize) {
            r.seqs.remove(seq);
            r.counts[usize::from(slot.status)] -= 1;
        }
        if let Some(o) = self.owners.get_mut(&slot.asn) {
            o.remove(seq);
            if o.is_empty() {
                self.owners.remove(&slot.asn);
            }
        }
    }

    /// The slot of `e` (its router interned, a text id kept aside).
    fn slot(&mut self, e: Entry) -> (u64, Slot) {
        let router = match self.router_ids.get(e.router.as_str()) {
            Some(r) => *r,
            None => {
                let r = self.routers.len() as u32;
                let name: Box<str> = e.router.into();
                self.router_ids.insert(name.clone(), r);
                self.routers.push(Router {
                    name,
                    seqs: Seqs::default(),
                    counts: [0; STATUSES],
                });
                r
            }
        };
        let bytes = id_bytes(&e.id);
        if bytes.is_none() {
            self.text_ids.insert(e.seq, e.id.into());
        }
        let slot = Slot {
            id: bytes.unwrap_or_default(),
            asn: e.asn,
            router,
            status: rank(e.status),
            text: bytes.is_none(),
        };
        (e.seq, slot)
    }

    fn place(&mut self, seq: u64, slot: Slot) {
        self.all.insert(seq, slot);
        self.by_status[usize::from(slot.status)].insert(seq, ());
        if let Some(r) = self.routers.get_mut(slot.router as usize) {
            r.seqs.insert(seq, ());
            r.counts[usize::from(slot.status)] += 1;
        }
        self.owners.entry(slot.asn).or_default().insert(seq, ());
    }

    /// The id of the session at `seq`, if indexed.
    fn id(&self, seq: u64, slot: &Slot) -> Option<String> {
        if slot.text {
            self.text_ids.get(&seq).map(|t| t.to_string())
        } else {
            Some(id_text(&slot.id))
        }
    }

    /// Up to `n` sessions of `shape` with a seq in `first..=hi`, ascending,
    /// as `(seq, id)`.
    pub fn candidates(
        &self,
        shape: &Shape<'_>,
        first: u64,
        hi: u64,
        n: usize,
    ) -> Vec<(u64, String)> {
        let seqs: Vec<u64> = match shape {
            Shape::All => take(self.all.from(first).map(|(s, _)| s), hi, n),
            Shape::Owner(asn) => match self.owners.get(asn) {
                Some(o) => take(o.from(first).map(|(s, _)| s), hi, n),
                None => Vec::new(),
            },
            Shape::Router(name, wanted) => {
                let Some(r) = self.router_ids.get(*name) else {
                    return Vec::new();
                };
                let Some(r) = self.routers.get(*r as usize) else {
                    return Vec::new();
                };
                let want: Vec<u8> = wanted.iter().map(|s| rank(*s)).collect();
                r.seqs
                    .from(first)
                    .map(|(s, _)| s)
                    .take_while(|s| *s <= hi)
                    .filter(|s| {
                        want.is_empty()
                            || self
                                .all
                                .get(*s)
                                .is_some_and(|slot| want.contains(&slot.status))
                    })
                    .take(n)
                    .collect()
            }
            Shape::Status(statuses) => {
                // the first n of each status, merged: the first n of all
                let mut seqs: Vec<u64> = Vec::new();
                for st in statuses.iter() {
                    let set = &self.by_status[usize::from(rank(*st))];
                    seqs.extend(take(set.from(first).map(|(s, _)| s), hi, n));
                }
                seqs.sort_unstable();
                seqs.dedup();
                seqs.truncate(n);
                seqs
            }
        };
        seqs.into_iter()
            .filter_map(|seq| {
                let slot = self.all.get(seq)?;
                Some((seq, self.id(seq, &slot)?))
            })
            .collect()
    }

    /// Sessions per router and status: routers by name, statuses in
    /// [`SessionStatus::ALL`] order, no zero counts.
    pub fn counts(&self) -> Vec<SessionCount> {
        let mut routers: Vec<&Router> = self.routers.iter().collect();
        routers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::new();
        for r in routers {
            for (rank, count) in r.counts.iter().enumerate() {
                if *count > 0 {
                    out.push(SessionCount {
                        router: r.name.to_string(),
                        status: SessionStatus::ALL[rank],
                        count: *count,
                    });
                }
            }
        }
        out
    }
}

/// The first `n` of `seqs` (ascending) that are at most `hi`.
fn take(seqs: impl Iterator<Item = u64>, hi: u64, n: usize) -> Vec<u64> {
    seqs.take_while(|s| *s <= hi).take(n).collect()
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;

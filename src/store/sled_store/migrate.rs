//! Opening a store that an older peerd wrote: its layout version (in
//! `meta`) is brought up to [`keys::SCHEMA_VERSION`].
//!
//! To 3 (from 1 or 2), first: `sessions` keyed by seq (with `session_ids`
//! from id to seq) become keyed by id, in batches of [`REKEY_BATCH`]. Each
//! session moves in one batch (its old key goes, its new key comes), so an
//! interrupted upgrade simply runs again on what is left; `session_ids` is
//! dropped at the end. (Layouts 3 and 4 had listing index trees; 5 keeps
//! the index in memory, see below.)
//!
//! 1 -> 2, then: the `dedup` tree (requester, location and both addresses) gave
//! way to `addresses` (router and neighbor address, one owner, see
//! [`crate::store`]). Every non-terminal session becomes a holder of its
//! address. Layout 1 stores may predate [`Session::pushed`]: a session whose
//! status says its config reached (or was being pushed to) the router is
//! marked pushed, so that its deletion still removes the neighbor. One
//! transaction.
//!
//! To 4, last: every session record in JSON becomes the compact form of
//! `record.rs`, and a session's audit events (one key each) become chunks
//! (`audit.rs`), in batches of about [`REKEY_BATCH`] (the older forms
//! still read, so an interrupted upgrade loses nothing and finishes at the
//! next open).
//!
//! To 5: the listing index trees `owners`, `by_status` and `by_router`
//! are dropped (the index is in memory, built from `sessions` at every
//! open: `live.rs`). Dropping a tree that is not there is nothing.
//!
//! The version is written last.

use super::audit;
use super::backend;
use super::codec;
use super::keys;
use super::record::{self, decode_session};
use super::tx::{is_terminal, Trees};
use crate::model::{Session, SessionStatus};
use crate::store::{Result, StoreError};

/// Statuses in which a layout-1 session's config may be on the router.
const PUSHED_STATUSES: [SessionStatus; 5] = [
    SessionStatus::Provisioning,
    SessionStatus::Configured,
    SessionStatus::Established,
    SessionStatus::Down,
    SessionStatus::Deleting,
];

/// The listing index trees of layouts up to 4.
const INDEX_TREES: [&str; 3] = ["owners", "by_status", "by_router"];

/// Sessions moved per batch on the way to layout 3.
pub const REKEY_BATCH: usize = 5000;

/// Brings the layout from `from` up to the current version.
pub fn upgrade(db: &sled::Db, trees: &Trees, from: u64) -> Result<()> {
    if !(1..keys::SCHEMA_VERSION).contains(&from) {
        return Err(StoreError::Corrupt(format!(
            "unknown store layout version {from}"
        )));
    }
    if from < 3 {
        rekey(db, trees)?;
    }
    if from == 1 {
        v1_to_v2(db, trees)?;
    }
    compact(trees)?;
    group_audit(trees)?;
    for name in INDEX_TREES {
        db.drop_tree(name).map_err(backend)?;
    }
    trees.run_now(|tx| {
        tx.meta
            .insert(keys::SCHEMA, &keys::u64_key(keys::SCHEMA_VERSION)[..])
    })?;
    tracing::info!(from, to = keys::SCHEMA_VERSION, "store layout upgraded");
    Ok(())
}

/// Session records in JSON (layouts 1 to 3) -> their compact form
/// ([`record`]), [`REKEY_BATCH`] to a batch, in key order.
fn compact(trees: &Trees) -> Result<()> {
    let mut after: Vec<u8> = Vec::new();
    let mut rewritten = 0usize;
    loop {
        let mut batch: Vec<Session> = Vec::new();
        let mut last = None;
        for item in trees.sessions.range(after.as_slice()..) {
            let (k, v) = item.map_err(backend)?;
            if codec::is_json(&v) {
                batch.push(record::decode_session(&v)?);
            }
            last = Some(k);
            if batch.len() == REKEY_BATCH {
                break;
            }
        }
        let Some(last) = last else { break };
        // the next key after `last`
        after = last.to_vec();
        after.push(0);
        rewritten += batch.len();
        trees.run_now(|tx| batch.iter().try_for_each(|s| tx.store_session(s)))?;
    }
    if rewritten > 0 {
        tracing::info!(sessions = rewritten, "session records compacted");
    }
    Ok(())
}

/// A key and its value, as a tree gives them.
type Kv = (sled::IVec, sled::IVec);

/// One event a key (layouts 1 to 3) -> chunks of up to
/// [`audit::CHUNK_EVENTS`] (`audit.rs`), each at the key (and so the
/// place in the trail) of its first event. A session's events move in one
/// batch, some [`REKEY_BATCH`] events to a batch.
fn group_audit(trees: &Trees) -> Result<()> {
    let mut after: Vec<u8> = Vec::new();
    let mut grouped = 0usize;
    loop {
        // (session prefix, its older events' keys and values), whole sessions
        let mut batch: Vec<(Vec<u8>, Vec<Kv>)> = Vec::new();
        let mut events = 0usize;
        let mut last = None;
        for item in trees.audit.range(after.as_slice()..) {
            let (k, v) = item.map_err(backend)?;
            let prefix =
                keys::len_prefix(&k).ok_or_else(|| StoreError::Corrupt("audit key".into()))?;
            let same = batch.last().is_some_and(|(p, _)| p.as_slice() == prefix);
            if !same && events >= REKEY_BATCH {
                break;
            }
            last = Some(k.clone());
            if !codec::is_json(&v) {
                continue;
            }
            if !same {
                batch.push((prefix.to_vec(), Vec::new()));
            }
            if let Some((_, evs)) = batch.last_mut() {
                evs.push((k, v));
            }
            events += 1;
        }
        let Some(last) = last else { break };
        after = last.to_vec();
        after.push(0);
        grouped += events;
        trees.run_now(|tx| {
            for (_, evs) in &batch {
                for (k, _) in evs {
                    tx.audit.remove(k)?;
                }
                for part in evs.chunks(usize::from(audit::CHUNK_EVENTS)) {
                    let mut chunk = audit::new_chunk();
                    for (_, v) in part {
                        audit::append(&mut chunk, v);
                    }
                    tx.audit.insert(&part[0].0, chunk)?;
                }
            }
            Ok(())
        })?;
    }
    if grouped > 0 {
        tracing::info!(events = grouped, "audit events grouped by session");
    }
    Ok(())
}

/// `sessions` by seq -> by id.
fn rekey(db: &sled::Db, trees: &Trees) -> Result<()> {
    let mut moved = 0usize;
    loop {
        // seq keys (8 bytes, first byte 0 below 2^56) sort before any id
        let mut batch: Vec<(sled::IVec, Session)> = Vec::new();
        for item in trees.sessions.iter() {
            let (k, v) = item.map_err(backend)?;
            if k.len() != 8 || batch.len() == REKEY_BATCH {
                break;
            }
            batch.push((k, decode_session(&v)?));
        }
        if batch.is_empty() {
            break;
        }
        moved += batch.len();
        trees.run_now(|tx| {
            for (old, s) in &batch {
                tx.sessions.remove(old)?;
                tx.store_session(s)?;
            }
            Ok(())
        })?;
    }
    db.drop_tree("session_ids").map_err(backend)?;
    if moved > 0 {
        tracing::info!(sessions = moved, "sessions keyed by id");
    }
    Ok(())
}

fn v1_to_v2(db: &sled::Db, trees: &Trees) -> Result<()> {
    let mut sessions: Vec<Session> = Vec::new();
    for item in trees.sessions.iter() {
        let (_, v) = item.map_err(backend)?;
        sessions.push(decode_session(&v)?);
    }
    let shared = trees.run_now(|tx| {
        let mut shared = 0usize;
        for s in &sessions {
            let mut s = s.clone();
            if !s.pushed && PUSHED_STATUSES.contains(&s.status) {
                s.pushed = true;
                tx.store_session(&s)?;
            }
            if !is_terminal(s.status) {
                let owners = tx
                    .other_holders(&s)?
                    .iter()
                    .filter(|h| h.status != SessionStatus::Deleting)
                    .count();
                if owners > 0 && s.status != SessionStatus::Deleting {
                    shared += 1;
                }
                tx.hold_address(&s)?;
            }
        }
        tx.meta.insert(keys::SCHEMA, &keys::u64_key(2)[..])?;
        Ok(shared)
    })?;
    if shared > 0 {
        tracing::warn!(
            sessions = shared,
            "sessions of the old store share a neighbor address with another live session; \
             the oldest owns it, delete the others"
        );
    }
    db.drop_tree("dedup").map_err(backend)?;
    tracing::info!(
        sessions = sessions.len(),
        "store layout upgraded from 1 to 2"
    );
    Ok(())
}

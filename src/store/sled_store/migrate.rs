//! Opening a store that an older peerd wrote: its layout version (in
//! `meta`) is brought up to [`keys::SCHEMA_VERSION`], one step at a time.
//!
//! 1 -> 2: the `dedup` tree (requester, location and both addresses) gave
//! way to `addresses` (router and neighbor address, one owner, see
//! [`crate::store`]). Every non-terminal session becomes a holder of its
//! address. Layout 1 stores may predate [`Session::pushed`]: a session whose
//! status says its config reached (or was being pushed to) the router is
//! marked pushed, so that its deletion still removes the neighbor. One
//! transaction.
//!
//! 2 -> 3: the listing indexes `by_status` and `by_router` are built from
//! the sessions, in batches (writing an entry twice is harmless); the
//! version is written last, so an interrupted upgrade runs again.

use super::keys;
use super::tx::{backend, decode, is_terminal, Trees};
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

/// Sessions indexed per batch by the 2 -> 3 upgrade.
const INDEX_BATCH: usize = 5000;

/// Brings the layout from `from` up to the current version.
pub fn upgrade(db: &sled::Db, trees: &Trees, from: u64) -> Result<()> {
    match from {
        1 => {
            v1_to_v2(db, trees)?;
            v2_to_v3(trees)
        }
        2 => v2_to_v3(trees),
        _ => Err(StoreError::Corrupt(format!(
            "unknown store layout version {from}"
        ))),
    }
}

fn v2_to_v3(trees: &Trees) -> Result<()> {
    let mut n = 0usize;
    let mut batch: Vec<Session> = Vec::with_capacity(INDEX_BATCH);
    let flush = |batch: &mut Vec<Session>| -> Result<()> {
        let b = std::mem::take(batch);
        trees.run_now(|tx| b.iter().try_for_each(|s| tx.index(s)))
    };
    for item in trees.sessions.iter() {
        let (_, v) = item.map_err(backend)?;
        batch.push(decode(&v, "session")?);
        n += 1;
        if batch.len() == INDEX_BATCH {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    trees.run_now(|tx| {
        tx.meta
            .insert(keys::SCHEMA, &keys::u64_key(keys::SCHEMA_VERSION)[..])
    })?;
    tracing::info!(
        sessions = n,
        "store layout upgraded from 2 to 3 (listing indexes)"
    );
    Ok(())
}

fn v1_to_v2(db: &sled::Db, trees: &Trees) -> Result<()> {
    let mut sessions: Vec<Session> = Vec::new();
    for item in trees.sessions.iter() {
        let (_, v) = item.map_err(backend)?;
        sessions.push(decode(&v, "session")?);
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

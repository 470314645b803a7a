//! Opening a store that an older peerd wrote: its layout version (in
//! `meta`) is brought up to [`keys::SCHEMA_VERSION`] in one transaction.
//!
//! 1 -> 2: the `dedup` tree (requester, location and both addresses) gave
//! way to `addresses` (router and neighbor address, one owner, see
//! [`crate::store`]). Every non-terminal session becomes a holder of its
//! address. Layout 1 stores may predate [`Session::pushed`]: a session whose
//! status says its config reached (or was being pushed to) the router is
//! marked pushed, so that its deletion still removes the neighbor.

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

/// Brings the layout from `from` up to the current version.
pub fn upgrade(db: &sled::Db, trees: &Trees, from: u64) -> Result<()> {
    if from != 1 {
        return Err(StoreError::Corrupt(format!(
            "unknown store layout version {from}"
        )));
    }
    let mut sessions: Vec<Session> = Vec::new();
    for item in trees.sessions.iter() {
        let (_, v) = item.map_err(backend)?;
        sessions.push(decode(&v, "session")?);
    }
    let shared = trees.run(|tx| {
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
        tx.meta
            .insert(keys::SCHEMA, &keys::u64_key(keys::SCHEMA_VERSION))?;
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

//! Key layout of the sled trees and the list cursor.
//!
//! Integers are big-endian so that byte order is numeric order, which is
//! what makes range scans return jobs by time.
//!
//! | tree           | key                                   | value            |
//! |----------------|---------------------------------------|------------------|
//! | `sessions`     | session_id                            | Session (`record.rs`) |
//! | `addresses`    | len(router) (u32) + router + address  | holders (JSON)   |
//! | `requests`     | request_id                            | RequestRecord    |
//! | `jobs`         | job_id (u64)                          | Job (JSON)       |
//! | `jobs_ready`   | not_before_ms (u64) + job_id (u64)    | empty            |
//! | `jobs_leased`  | lease until_ms (u64) + job_id (u64)   | empty            |
//! | `session_jobs` | session_id                            | job ids (JSON)   |
//! | `audit`        | len(session_id) (u32) + id + n (u64)  | up to 16 AuditEvents (`audit.rs`) |
//! | `meta`         | len(ns) (u32) + ns + key              | bytes            |
//! | `journal`      | batch (u64) + chunk (u32)             | writes (`journal.rs`) |
//!
//! A session is read by its id in one lookup (the API's hot path). The
//! listing index (sessions by `seq`, by requester, status and router) is
//! no tree: it is kept in memory, built from `sessions` at open
//! (`index.rs`, `live.rs`).
//!
//! `addresses` holds, per router and neighbor address (the requester's
//! `local_ip`, as text), the ids of the non-terminal sessions there: at most
//! one that is not `Deleting` (the owner) and the `Deleting` ones whose
//! removal has not finished (see `sessions.rs`).
//!
//! A new session's "created" event is not stored: its trail derives it
//! from the record (at `created_ms`) until the session's first stored
//! event, which writes it first (`Tx::audit`).
//!
//! Internal counters live in `meta` under keys starting with `0xFF`, which
//! no length-prefixed user key can start with.
//!
//! Layout versions: 1 had a `dedup` tree keyed by requester, location and
//! both addresses; 2 replaced it by `addresses`; 3 keys `sessions` by id
//! (2 keyed them by seq, with a `session_ids` tree from id to seq) and adds
//! `by_status` and `by_router`; 4 stores session records in the compact
//! form of `record.rs`, not JSON, and a session's audit events in chunks
//! (`audit.rs`), not one key each; 5 drops the index trees `owners`,
//! `by_status` and `by_router` (their index is in memory). Each is
//! migrated at open, see `migrate.rs`.

use crate::model::SessionStatus;

/// Next session `seq` (counter in `meta`).
pub const COUNTER_SEQ: &[u8] = b"\xffcounter:seq";
/// Next job id.
pub const COUNTER_JOB: &[u8] = b"\xffcounter:job";
/// Next audit record number (global, so a session's trail is in order).
pub const COUNTER_AUDIT: &[u8] = b"\xffcounter:audit";
/// Layout version of the store.
pub const SCHEMA: &[u8] = b"\xffschema";
pub const SCHEMA_VERSION: u64 = 5;

/// The status byte of a session record (`record.rs`; fixed: stored on
/// disk, never renumber it).
pub fn status_code(s: SessionStatus) -> u8 {
    use SessionStatus::*;
    match s {
        Pending => 1,
        Approved => 2,
        Rejected => 3,
        Provisioning => 4,
        Configured => 5,
        Established => 6,
        Down => 7,
        Unestablished => 8,
        Failed => 9,
        Deleting => 10,
    }
}

/// The length-prefixed head of a key (its 4 length bytes and the text
/// they count): an `audit` key's [`audit_prefix`].
pub fn len_prefix(k: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(*k.first_chunk::<4>()?) as usize;
    k.get(..4 + len)
}

pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// A key ordered by a time, then by job id (`jobs_ready`, `jobs_leased`).
pub fn timed_key(ms: u64, job_id: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&ms.to_be_bytes());
    k[8..].copy_from_slice(&job_id.to_be_bytes());
    k
}

pub fn split_timed(k: &[u8]) -> Option<(u64, u64)> {
    if k.len() != 16 {
        return None;
    }
    Some((read_u64(&k[..8])?, read_u64(&k[8..])?))
}

fn len_prefixed(s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + s.len() + 8);
    k.extend_from_slice(&(s.len() as u32).to_be_bytes());
    k.extend_from_slice(s.as_bytes());
    k
}

pub fn audit_prefix(session_id: &str) -> Vec<u8> {
    len_prefixed(session_id)
}

/// The `n` of a session's audit chunk being filled (`audit.rs`): last.
pub const AUDIT_OPEN: u64 = u64::MAX;

pub fn audit_key(session_id: &str, n: u64) -> Vec<u8> {
    let mut k = len_prefixed(session_id);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The `addresses` key of a neighbor address at a router.
pub fn address_key(router: &str, address: &std::net::IpAddr) -> Vec<u8> {
    let mut k = len_prefixed(router);
    k.extend_from_slice(address.to_string().as_bytes());
    k
}

pub fn meta_prefix(ns: &str) -> Vec<u8> {
    len_prefixed(ns)
}

pub fn meta_key(ns: &str, key: &str) -> Vec<u8> {
    let mut k = len_prefixed(ns);
    k.extend_from_slice(key.as_bytes());
    k
}

pub use crate::store::rules::{decode_cursor, encode_cursor};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for n in [0, 1, 250, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(n)).unwrap(), n);
        }
        for bad in ["", "x", "!!!!", "AAAAAAAAAAAA", &"A".repeat(100), "AQ"] {
            assert!(
                matches!(decode_cursor(bad), Err(StoreError::BadCursor)),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_sort_numerically() {
        assert!(u64_key(2) < u64_key(256));
        assert!(timed_key(5, 9) < timed_key(6, 1));
        assert_eq!(split_timed(&timed_key(7, 3)), Some((7, 3)));
        // user meta keys never collide with internal counters
        assert_ne!(meta_key("", "")[0], 0xff);
        // one session's audit prefix is not a prefix of another's
        assert!(!audit_key("ab", 1).starts_with(&audit_prefix("a")));
        // one router's address keys never collide with another's
        let ip: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        assert_ne!(address_key("r1", &ip), address_key("r", &ip));
        let codes: std::collections::BTreeSet<u8> =
            SessionStatus::ALL.iter().map(|s| status_code(*s)).collect();
        assert_eq!(codes.len(), SessionStatus::ALL.len());
    }
}

//! The stored form of a session's audit trail in `audit`: its events in
//! chunks of up to [`CHUNK_EVENTS`], so that a session's trail is one or
//! a few keys and not one key an event. sled 0.34 splits a leaf at 17
//! keys, whatever their size, and holds a page-table entry for every page
//! in memory, evicted or not: a key an event made the audit trail most of
//! the store's pages (ten events a session, 120k pages at 100k sessions).
//!
//! A new session's "created" event is not stored with it (a POST then
//! writes no audit key): until the session's first stored event, its
//! trail is the event [`created`] derives from the record, and that first
//! event stores it ahead of itself (`Tx::audit`).
//!
//! Keys (`keys.rs`): `len(session_id) + session_id + n`. The chunk being
//! filled has `n = u64::MAX` (it sorts last); a full one moves to the
//! next audit counter `n`, in the same batch as the event that found it
//! full. A chunk is the byte `1`, its event count, then each event as a
//! varint length and its JSON. A value that starts with `{` is one event
//! as layouts 1 to 3 wrote it: it still reads, and `migrate.rs` groups
//! such events into chunks.

use super::codec::{is_json, put_var, Reader};
use crate::model::{AuditEvent, Session, SessionStatus};
use crate::store::StoreError;

/// The "created" event of `s`, created in `status`, as the trail shows it
/// while none is stored (see `Tx::audit`): at the session's creation time.
pub fn created(s: &Session, status: SessionStatus) -> AuditEvent {
    crate::store::rules::created_event(s, status, s.created_ms)
}

/// The first byte of a chunk.
const CHUNK: u8 = 1;
/// Most events in one chunk.
pub const CHUNK_EVENTS: u8 = 16;

/// An empty chunk.
pub fn new_chunk() -> Vec<u8> {
    vec![CHUNK, 0]
}

/// True if `chunk` (a chunk's bytes) holds [`CHUNK_EVENTS`] already.
pub fn is_full(chunk: &[u8]) -> bool {
    chunk.get(1).is_some_and(|&n| n >= CHUNK_EVENTS)
}

/// Appends one event (its JSON) to `chunk`.
pub fn append(chunk: &mut Vec<u8>, event_json: &[u8]) {
    if let Some(n) = chunk.get_mut(1) {
        *n = n.saturating_add(1);
    }
    put_var(chunk, event_json.len() as u64);
    chunk.extend_from_slice(event_json);
}

/// The events of one stored value (a chunk, or an older single event), in
/// order, appended to `out`.
pub fn read(v: &[u8], out: &mut Vec<AuditEvent>) -> Result<(), StoreError> {
    let json = |b: &[u8]| {
        serde_json::from_slice::<AuditEvent>(b)
            .map_err(|e| StoreError::Corrupt(format!("audit: {e}")))
    };
    if is_json(v) {
        out.push(json(v)?);
        return Ok(());
    }
    let bad = || StoreError::Corrupt("audit: bad chunk".into());
    let mut r = Reader(v);
    if r.byte() != Some(CHUNK) {
        return Err(bad());
    }
    let count = r.byte().ok_or_else(bad)?;
    for _ in 0..count {
        out.push(json(r.bytes().ok_or_else(bad)?)?);
    }
    if r.is_done() {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionStatus;

    fn ev(i: u64) -> AuditEvent {
        AuditEvent {
            at_ms: i,
            session_id: "s1".into(),
            actor: "worker".into(),
            action: "transition".into(),
            from: Some(SessionStatus::Approved),
            to: Some(SessionStatus::Provisioning),
            detail: i.is_multiple_of(2).then(|| "x".repeat(200)),
        }
    }

    #[test]
    fn events_read_back_in_order_and_a_chunk_fills() {
        let mut c = new_chunk();
        let mut all = Vec::new();
        for i in 0..u64::from(CHUNK_EVENTS) {
            assert!(!is_full(&c));
            append(&mut c, &serde_json::to_vec(&ev(i)).unwrap());
            all.push(ev(i));
        }
        assert!(is_full(&c));
        let mut out = Vec::new();
        read(&c, &mut out).unwrap();
        assert_eq!(out, all);
        let mut empty = Vec::new();
        read(&new_chunk(), &mut empty).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn an_older_single_event_still_reads() {
        let json = serde_json::to_vec(&ev(3)).unwrap();
        assert!(is_json(&json));
        let mut out = Vec::new();
        read(&json, &mut out).unwrap();
        assert_eq!(out, vec![ev(3)]);
    }

    #[test]
    fn a_damaged_chunk_is_corrupt_not_a_panic() {
        let mut c = new_chunk();
        append(&mut c, &serde_json::to_vec(&ev(1)).unwrap());
        append(&mut c, &serde_json::to_vec(&ev(2)).unwrap());
        for n in 0..c.len() {
            assert!(read(&c[..n], &mut Vec::new()).is_err(), "{n}");
        }
        let mut long = c.clone();
        long.push(0);
        assert!(read(&long, &mut Vec::new()).is_err());
        assert!(read(&[2, 0], &mut Vec::new()).is_err());
        assert!(read(
            &[CHUNK, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            &mut Vec::new()
        )
        .is_err());
    }
}

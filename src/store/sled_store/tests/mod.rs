//! Tests of the sled store (temporary directories, no timing assertions).

mod addresses;
mod durability;
mod hold;
mod list;
mod queue;
mod remote;
mod sessions;

use super::SledStore;
use crate::model::{new_id, Asn, RequestRecord, Secret, Session, SessionStatus};
use crate::store::{Inserted, Store, TransitionOpts};
use std::net::IpAddr;

pub fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    (dir, s)
}

/// A session of requester `asn` whose neighbor address is derived from
/// `asn` and `n` (see [`session_at`] for another network at one address).
pub fn session(asn: u32, n: u32, status: SessionStatus) -> Session {
    let ip = format!("2001:db8::{:x}:{:x}", asn & 0xffff, 0x1000 + n);
    session_at(asn, ip.parse().unwrap(), status)
}

/// A session of requester `asn` for neighbor address `local_ip`.
pub fn session_at(asn: u32, local_ip: IpAddr, status: SessionStatus) -> Session {
    Session {
        request_id: String::new(),
        session_secret: Some(Secret::new("s3cret")),
        status,
        created_by: format!("pdb:{asn}"),
        ..Session::sample(
            "rtr1",
            "pdb:ix:42",
            (asn, local_ip),
            (65001, "2001:db8::1".parse().unwrap()),
        )
    }
}

pub fn request(asn: u32) -> RequestRecord {
    RequestRecord {
        request_id: new_id(),
        requester_asn: Asn(asn),
        created_by: format!("pdb:{asn}"),
        created_ms: crate::model::now_ms(),
        return_url: None,
        session_ids: Vec::new(),
    }
}

/// Inserts the sessions as one request; returns the outcomes.
pub fn insert(st: &SledStore, asn: u32, sessions: Vec<Session>) -> Vec<Inserted> {
    let req = request(asn);
    let sessions = sessions
        .into_iter()
        .map(|mut s| {
            s.request_id = req.request_id.clone();
            s
        })
        .collect();
    st.insert_request(&req, sessions).unwrap()
}

/// Inserts one new session and returns it as stored.
pub fn insert_one(st: &SledStore, s: Session) -> Session {
    let asn = s.local_asn.0;
    match insert(st, asn, vec![s]).pop().unwrap() {
        Inserted::New(s) => s,
        other => panic!("expected a new session, got {other:?}"),
    }
}

pub fn opts(actor: &str) -> TransitionOpts {
    TransitionOpts {
        actor: actor.into(),
        ..Default::default()
    }
}

/// Rewrites a store's trees the way layout 2 kept them: `sessions` keyed
/// by seq, `session_ids` from id to seq, no listing indexes; schema 2.
/// `edit` may change each record on the way (as an older peerd wrote it).
pub fn to_layout_2(st: &SledStore, edit: impl Fn(&mut serde_json::Value)) {
    use super::keys;
    let t = &st.inner.trees;
    let ids = st.inner.db.open_tree("session_ids").unwrap();
    let all: Vec<(sled::IVec, sled::IVec)> = t.sessions.iter().map(|i| i.unwrap()).collect();
    for (id, v) in all {
        let mut rec: serde_json::Value = serde_json::from_slice(&v).unwrap();
        let seq = keys::u64_key(rec["seq"].as_u64().unwrap());
        edit(&mut rec);
        t.sessions.remove(&id).unwrap();
        t.sessions
            .insert(seq, serde_json::to_vec(&rec).unwrap())
            .unwrap();
        ids.insert(&id, &seq[..]).unwrap();
    }
    t.by_status.clear().unwrap();
    t.by_router.clear().unwrap();
    t.meta.insert(keys::SCHEMA, &keys::u64_key(2)[..]).unwrap();
    st.inner.db.flush().unwrap();
}

//! The layout upgrade at open (layout 1 had a `dedup` tree and no
//! `addresses`).

use super::*;
use crate::model::SessionStatus::*;

const ADDR: &str = "2001:db8::50";

fn at(asn: u32, status: SessionStatus) -> Session {
    session_at(asn, ADDR.parse().unwrap(), status)
}

/// Holders of [`ADDR`] at `rtr1`, as stored.
fn holders(st: &SledStore) -> Vec<String> {
    let probe = at(1, Pending);
    st.inner.trees.holders(&probe).unwrap()
}

fn push(st: &SledStore, id: &str) {
    st.transition(id, Provisioning, opts("worker")).unwrap();
    assert_eq!(st.mark_pushed(&[id.to_string()]).unwrap(), vec![id]);
    st.transition(id, Configured, opts("worker")).unwrap();
}

#[test]
fn layout_1_is_upgraded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = {
        let st = SledStore::open(dir.path()).unwrap();
        let a = insert_one(&st, at(64512, Approved));
        push(&st, &a.session_id);
        let b = insert_one(&st, session(64512, 2, Pending));
        let c = insert_one(&st, session(64512, 3, Pending));
        st.transition(&c.session_id, Rejected, opts("operator:noc"))
            .unwrap();
        // Make it look like layout 1: layout 2's trees without
        // `addresses`, a `dedup` tree, and records written before `pushed`
        // existed.
        to_layout_2(&st, |rec| {
            rec.as_object_mut().unwrap().remove("pushed");
        });
        let t = &st.inner.trees;
        t.addresses.clear().unwrap();
        st.inner
            .db
            .open_tree("dedup")
            .unwrap()
            .insert("k", "v")
            .unwrap();
        t.meta
            .insert(
                super::super::keys::SCHEMA,
                &super::super::keys::u64_key(1)[..],
            )
            .unwrap();
        st.inner.db.flush().unwrap();
        (a, b, c)
    };
    let st = SledStore::open(dir.path()).unwrap();
    assert!(st.get_session(&a.session_id).unwrap().unwrap().pushed);
    assert!(!st.get_session(&b.session_id).unwrap().unwrap().pushed);
    assert_eq!(holders(&st), vec![a.session_id.clone()]);
    assert_eq!(
        st.inner.trees.holders(&b).unwrap(),
        vec![b.session_id.clone()]
    );
    assert!(st.inner.trees.holders(&c).unwrap().is_empty());
    assert!(!st
        .inner
        .db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == b"dedup"));
    assert_eq!(
        insert(&st, 64513, vec![at(64513, Approved)]),
        vec![Inserted::Taken]
    );
    drop(st);
    // opened again: nothing left to upgrade
    let st = SledStore::open(dir.path()).unwrap();
    assert_eq!(holders(&st), vec![a.session_id]);
}

#[test]
fn layout_3_json_records_are_compacted_at_open() {
    use super::super::{codec, keys, record};
    let dir = tempfile::tempdir().unwrap();
    let n = super::super::migrate::REKEY_BATCH + 7;
    let before: Vec<Session> = {
        let st = SledStore::open(dir.path()).unwrap();
        let t = &st.inner.trees;
        for i in 0..n as u32 {
            let s = Session {
                seq: u64::from(i) + 1,
                ..session(64512 + i % 50, i, Pending)
            };
            let id = format!("{:08x}-0000-4000-8000-{:012x}", i, i);
            let s = Session {
                session_id: id.clone(),
                ..s
            };
            t.sessions
                .insert(id.as_bytes(), serde_json::to_vec(&s).unwrap())
                .unwrap();
        }
        t.meta.insert(keys::SCHEMA, &keys::u64_key(3)[..]).unwrap();
        st.inner.db.flush().unwrap();
        t.sessions
            .iter()
            .map(|kv| record::decode_session(&kv.unwrap().1).unwrap())
            .collect()
    };
    let st = SledStore::open(dir.path()).unwrap();
    let t = &st.inner.trees;
    let after: Vec<Session> = t
        .sessions
        .iter()
        .map(|kv| {
            let v = kv.unwrap().1;
            assert!(!codec::is_json(&v));
            record::decode_session(&v).unwrap()
        })
        .collect();
    assert_eq!(after.len(), n);
    assert_eq!(after, before);
    assert_eq!(
        keys::read_u64(&t.meta.get(keys::SCHEMA).unwrap().unwrap()),
        Some(keys::SCHEMA_VERSION)
    );
}

#[test]
fn layout_3_audit_events_are_grouped_at_open_and_read_the_same() {
    use super::super::keys;
    use crate::model::AuditEvent;
    let dir = tempfile::tempdir().unwrap();
    let ev = |sid: &str, i: u64| AuditEvent {
        at_ms: i,
        session_id: sid.into(),
        actor: "worker".into(),
        action: format!("step {i}"),
        from: None,
        to: Some(Pending),
        detail: None,
    };
    // 40 events of one session (three chunks), 1 of another, interleaved
    // numbers as a shared counter gave them
    let (a, b) = ("aaaa", "bbbb");
    let want_a: Vec<AuditEvent> = (0..40).map(|i| ev(a, i)).collect();
    {
        let st = SledStore::open(dir.path()).unwrap();
        let t = &st.inner.trees;
        for (i, e) in want_a.iter().enumerate() {
            let n = 2 * i as u64 + 1;
            t.audit
                .insert(keys::audit_key(a, n), serde_json::to_vec(e).unwrap())
                .unwrap();
        }
        t.audit
            .insert(
                keys::audit_key(b, 4),
                serde_json::to_vec(&ev(b, 9)).unwrap(),
            )
            .unwrap();
        t.meta.insert(keys::SCHEMA, &keys::u64_key(3)[..]).unwrap();
        t.meta
            .insert(keys::COUNTER_AUDIT, &keys::u64_key(100)[..])
            .unwrap();
        st.inner.db.flush().unwrap();
    }
    let st = SledStore::open(dir.path()).unwrap();
    assert_eq!(st.inner.audit(a).unwrap(), want_a);
    assert_eq!(st.inner.audit(b).unwrap(), vec![ev(b, 9)]);
    assert_eq!(st.inner.trees.audit.len(), 4);
    // a new event of each lands after them
    st.inner
        .trees
        .run_now(|tx| {
            tx.append_audit(&ev(a, 40))?;
            tx.append_audit(&ev(b, 10))
        })
        .unwrap();
    let mut more = want_a.clone();
    more.push(ev(a, 40));
    assert_eq!(st.inner.audit(a).unwrap(), more);
    assert_eq!(st.inner.audit(b).unwrap(), vec![ev(b, 9), ev(b, 10)]);
}

#[test]
fn a_long_trail_fills_chunks_and_stays_in_order() {
    use crate::model::AuditEvent;
    let dir = tempfile::tempdir().unwrap();
    let st = SledStore::open(dir.path()).unwrap();
    let ev = |i: u64| AuditEvent {
        at_ms: i,
        session_id: "s".into(),
        actor: "poller".into(),
        action: "transition".into(),
        from: Some(Established),
        to: Some(Down),
        detail: Some(format!("flap {i}")),
    };
    // some events a batch, some alone
    for i in 0..50u64 {
        st.inner
            .trees
            .run_now(|tx| {
                tx.append_audit(&ev(2 * i))?;
                tx.append_audit(&ev(2 * i + 1))
            })
            .unwrap();
    }
    let got = st.inner.audit("s").unwrap();
    assert_eq!(got, (0..100).map(ev).collect::<Vec<_>>());
    // 100 events: six full chunks and the one being filled
    assert_eq!(st.inner.trees.audit.len(), 7);
}

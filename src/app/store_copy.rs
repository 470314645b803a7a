//! `peerd store copy`: moves a store's records into PostgreSQL (from the
//! embedded sled store of a stopped peerd): sessions in creation order,
//! with their requests and audit trails, then jobs and every metadata
//! namespace (peerd tokens, PeeringDB data, NETCONF pending records,
//! maintenance windows, ...). Records the database has already (by
//! session id, request id, job id, namespace and key) are left as they
//! are, so a copy run again writes nothing and reports them `present`.

use crate::store::postgres::{Import, Imported};
#[cfg(test)]
use crate::store::SledStore;
use crate::store::{PgStore, Result, SessionFilter, Store};
use std::collections::HashSet;

/// Sessions read and written per batch (one transaction each).
const BATCH: usize = 500;

/// Copies everything in `from` into `to` (see the [module doc](self)).
pub fn copy(from: &dyn Store, to: &PgStore) -> Result<Imported> {
    let mut total = Imported::default();
    let mut seen_requests: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = from.list_sessions(&SessionFilter::default(), cursor.as_deref(), BATCH)?;
        let mut batch = Import::default();
        for s in page.sessions {
            if !s.request_id.is_empty() && seen_requests.insert(s.request_id.clone()) {
                if let Some(r) = from.get_request(&s.request_id)? {
                    batch.requests.push(r);
                }
            }
            let audit = from.audit(&s.session_id)?;
            batch.sessions.push((s, audit));
        }
        total.add(to.import(&batch)?);
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let mut batch = Import {
        jobs: from.jobs()?,
        ..Default::default()
    };
    for ns in from.meta_namespaces()? {
        for (k, v) in from.meta_list(&ns)? {
            batch.meta.push((ns.clone(), k, v));
        }
    }
    total.add(to.import(&batch)?);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionStatus::{Approved, Pending};
    use crate::store::contract::{insert, opts, session, session_at};
    use crate::store::postgres::tests::{fresh_config, test_url};

    #[test]
    fn ten_thousand_sessions_are_copied_once() {
        let Some(url) = test_url() else { return };
        let dir = tempfile::tempdir().unwrap();
        let src = SledStore::open(dir.path()).unwrap();
        // 100 requests of 100 sessions; every 10th approved (a Provision job)
        for r in 0..100u32 {
            let sessions = (0..100u32)
                .map(|i| {
                    let n = r * 100 + i;
                    session(
                        64512 + r % 4,
                        n,
                        if n % 10 == 0 { Approved } else { Pending },
                    )
                })
                .collect();
            insert(&src, 64512 + r % 4, sessions);
        }
        let first = src
            .list_sessions(&SessionFilter::default(), None, 1)
            .unwrap()
            .sessions
            .remove(0);
        src.transition(
            &first.session_id,
            crate::model::SessionStatus::Provisioning,
            opts("w"),
        )
        .unwrap();
        for (ns, k) in [
            ("tokens", "t1"),
            ("peeringdb", "snapshot"),
            ("netconf", "rtr1"),
            ("maintenance", "w1"),
        ] {
            src.meta_put(ns, k, format!("{ns}/{k}").as_bytes()).unwrap();
        }
        let dst = PgStore::open_config(fresh_config(&url), 4).unwrap();
        let n = copy(&src, &dst).unwrap();
        assert_eq!(n.sessions, 10_000);
        assert_eq!(n.requests, 100);
        assert_eq!(n.jobs, 1_000);
        assert_eq!(n.meta, 4);
        assert_eq!(n.audit, 10_001, "one per insert, one transition");
        assert_eq!(n.present, 0);
        // the same again writes nothing
        let again = copy(&src, &dst).unwrap();
        assert_eq!(
            again,
            Imported {
                present: 10_000 + 100 + 1_000 + 4,
                ..Default::default()
            }
        );
        // what was copied reads back alike
        let s = dst.get_session(&first.session_id).unwrap().unwrap();
        assert_eq!(s, src.get_session(&first.session_id).unwrap().unwrap());
        assert_eq!(
            dst.audit(&s.session_id).unwrap(),
            src.audit(&s.session_id).unwrap()
        );
        assert_eq!(
            dst.get_request(&s.request_id).unwrap(),
            src.get_request(&s.request_id).unwrap()
        );
        assert_eq!(
            dst.meta_list("netconf").unwrap(),
            src.meta_list("netconf").unwrap()
        );
        assert_eq!(
            dst.meta_namespaces().unwrap(),
            src.meta_namespaces().unwrap()
        );
        let ids = |st: &dyn Store| {
            let mut j: Vec<u64> = st.jobs().unwrap().iter().map(|j| j.job_id).collect();
            j.sort();
            j
        };
        assert_eq!(ids(&dst), ids(&src));
        // the address rule holds on the copy, and new records number on
        let taken = insert(
            &dst,
            65000,
            vec![session_at(65000, first.local_ip, Pending)],
        );
        assert!(matches!(taken[0], crate::store::Inserted::Taken));
        let new = insert(&dst, 64999, vec![session(64999, 1, Approved)]);
        let crate::store::Inserted::New(new) = &new[0] else {
            panic!("{new:?}")
        };
        assert!(new.seq > 10_000);
        assert!(dst.jobs().unwrap().iter().map(|j| j.job_id).max() > ids(&src).last().copied());
    }
}

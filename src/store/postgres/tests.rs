//! The store contract on PostgreSQL, and what is PostgreSQL's own
//! (migrations, settings). Each fresh store is a new schema in the test
//! database named by `PEERD_TEST_PG_URL` (tests/run.sh starts a
//! throwaway cluster and sets it). Without it the tests pass with a note
//! on a developer's machine, and fail under the lab or CI, where
//! PostgreSQL must be there.

use super::PgStore;
use crate::config::StoreSettings;
use crate::model::Session;
use crate::store::contract::{Fresh, Mk};
use crate::store::{Store, StoreError};
use std::str::FromStr;
use std::sync::Arc;

/// The test database's URL, or `None` (with a note) on a machine without
/// one; panics when the lab or CI is expected to have one.
pub fn test_url() -> Option<String> {
    match std::env::var("PEERD_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("PEERD_LAB_DIR").is_some() || std::env::var_os("CI").is_some() => {
            panic!("PEERD_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL and sets it)")
        }
        _ => {
            eprintln!("note: PEERD_TEST_PG_URL is not set; PostgreSQL store tests skipped");
            None
        }
    }
}

/// Connection settings for a new, empty schema of the test database.
pub fn fresh_config(url: &str) -> tokio_postgres::Config {
    let schema = format!("t_{}", crate::model::new_id().replace('-', "_"));
    let mut c = tokio_postgres::Config::from_str(url).expect("PEERD_TEST_PG_URL");
    let admin = PgStore::open_config(c.clone(), 1).expect("test database");
    let client = admin.pool.get().unwrap();
    super::pool::block(client.batch_execute(&format!("CREATE SCHEMA {schema}"))).unwrap();
    c.options(format!("-c search_path={schema}"));
    c
}

fn fresh() -> Fresh {
    let url = test_url().expect("checked by backend()");
    let st = PgStore::open_config(fresh_config(&url), 8).unwrap();
    let probe = st.clone();
    Fresh {
        st: Arc::new(st),
        holders: Box::new(move |s: &Session| probe.holders_of(s).unwrap()),
        _guard: Box::new(()),
    }
}

fn backend() -> Option<Box<Mk>> {
    test_url()?;
    Some(Box::new(fresh))
}

mod contract {
    crate::store::contract::contract_tests!(super::backend);
}

impl PgStore {
    fn holders_of(&self, s: &Session) -> crate::store::Result<Vec<String>> {
        let c = self.pool.get()?;
        let rows = super::pool::block(c.query(
            "SELECT session_id FROM peerd_holders WHERE router = $1 AND address = $2 ORDER BY ord",
            &[&s.router, &s.local_ip.to_string()],
        ))
        .map_err(super::pool::pg)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

#[test]
fn migrations_apply_once_and_a_newer_database_is_refused() {
    let Some(url) = test_url() else { return };
    let config = fresh_config(&url);
    let st = PgStore::open_config(config.clone(), 2).unwrap();
    // opening again applies nothing
    drop(PgStore::open_config(config.clone(), 2).unwrap());
    let c = st.pool.get().unwrap();
    let n: i64 =
        super::pool::block(c.query_one("SELECT count(*) FROM peerd_schema_migrations", &[]))
            .unwrap()
            .get(0);
    assert_eq!(n, i64::from(super::schema_version()));
    super::pool::block(c.execute(
        "INSERT INTO peerd_schema_migrations (version) VALUES ($1)",
        &[&(super::schema_version() + 1)],
    ))
    .unwrap();
    drop(c);
    match PgStore::open_config(config, 2) {
        Err(StoreError::Backend(m)) => assert!(m.contains("newer"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn versions_3_and_4_turn_jsonb_bodies_into_json_keep_them_and_index_listings() {
    use crate::model::SessionStatus::Approved;
    use crate::store::contract::{insert_one, session};
    let Some(url) = test_url() else { return };
    let config = fresh_config(&url);
    let st = PgStore::open_config(config.clone(), 2).unwrap();
    let s = insert_one(&st, session(64512, 1, Approved));
    // back to version 2: the bodies as JSONB, as that version wrote them
    let c = st.pool.get().unwrap();
    super::pool::block(c.batch_execute(
        "ALTER TABLE peerd_sessions ALTER COLUMN body TYPE JSONB USING body::jsonb;
         ALTER TABLE peerd_requests ALTER COLUMN body TYPE JSONB USING body::jsonb;
         ALTER TABLE peerd_jobs ALTER COLUMN body TYPE JSONB USING body::jsonb;
         ALTER TABLE peerd_audit ALTER COLUMN body TYPE JSONB USING body::jsonb;
         DROP INDEX peerd_sessions_router;
         DROP INDEX peerd_sessions_status;
         DELETE FROM peerd_schema_migrations WHERE version >= 3;",
    ))
    .unwrap();
    drop(c);
    drop(st);
    let st = PgStore::open_config(config, 2).unwrap();
    let c = st.pool.get().unwrap();
    let types: Vec<String> = super::pool::block(c.query(
        "SELECT data_type::TEXT FROM information_schema.columns
         WHERE column_name = 'body' AND table_schema = current_schema()
           AND table_name IN ('peerd_sessions', 'peerd_requests', 'peerd_jobs', 'peerd_audit')",
        &[],
    ))
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(types, vec!["json"; 4]);
    // and version 4 after it: the listing indexes
    let indexes: Vec<String> = super::pool::block(c.query(
        "SELECT indexname::TEXT FROM pg_indexes
         WHERE schemaname = current_schema() AND indexname LIKE 'peerd_sessions_%'
         ORDER BY indexname",
        &[],
    ))
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert!(
        indexes.contains(&"peerd_sessions_router".to_string()),
        "{indexes:?}"
    );
    assert!(
        indexes.contains(&"peerd_sessions_status".to_string()),
        "{indexes:?}"
    );
    drop(c);
    let back = st.get_session(&s.session_id).unwrap().unwrap();
    assert_eq!(back.session_id, s.session_id);
    let req = st.get_request(&s.request_id).unwrap().unwrap();
    assert_eq!(req.session_ids, vec![s.session_id.clone()]);
    assert!(!st.audit(&s.session_id).unwrap().is_empty());
}

#[test]
fn a_failed_write_is_rolled_back_and_its_connection_serves_the_next() {
    let Some(url) = test_url() else { return };
    let st = PgStore::open_config(fresh_config(&url), 1).unwrap();
    let put = "INSERT INTO peerd_meta (ns, key, value) VALUES ('t', $1, 'v')";
    let err = st.write(|tx| {
        tx.execute(put, &[&"a"])?;
        Err::<(), _>(StoreError::Conflict("refused".into()))
    });
    assert!(matches!(err, Err(StoreError::Conflict(_))));
    // a statement that fails inside a pipeline with COMMIT: nothing lands
    let err = st.write(|tx| {
        tx.pipeline_and_commit(&[(put, &[&"b"]), (put, &[&"b"])])?;
        Ok(())
    });
    assert!(matches!(err, Err(StoreError::Backend(_))), "{err:?}");
    st.write(|tx| tx.execute(put, &[&"c"]).map(|_| ())).unwrap();
    let c = st.pool.get().unwrap();
    let keys: Vec<String> = super::pool::block(c.query(
        "SELECT key FROM peerd_meta WHERE ns = 't' ORDER BY key",
        &[],
    ))
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(keys, vec!["c"]);
}

#[test]
fn a_password_in_the_url_is_refused_and_never_repeated() {
    let s = StoreSettings::postgres("postgres://peerd:hunter2@127.0.0.1:1/peerd");
    let e = PgStore::open(&s).err().expect("refused").to_string();
    assert!(e.contains("password_file"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let s = StoreSettings::postgres("not a url hunter2");
    let e = PgStore::open(&s).err().expect("refused").to_string();
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn durable_resolves_at_once() {
    let Some(url) = test_url() else { return };
    let st = PgStore::open_config(fresh_config(&url), 2).unwrap();
    futures::executor::block_on(st.durable()).unwrap();
}

#[test]
fn router_leases_keep_other_instances_off_a_busy_router() {
    use crate::model::{JobKind, SessionStatus};
    use crate::store::contract::{insert_one, session};
    let Some(url) = test_url() else { return };
    let st = PgStore::open_config(fresh_config(&url), 4)
        .unwrap()
        .with_router_leases(true);
    let t0 = 1_000_000;
    let s: Vec<Session> = (0..3)
        .map(|i| insert_one(&st, session(64512, i, SessionStatus::Pending)))
        .collect();
    let a = st
        .enqueue(&s[0].session_id, "rtr1", JobKind::Expire, t0)
        .unwrap();
    // instance A takes rtr1's job
    let got = st.claim(t0, 1000, "a", 10, &[]).unwrap();
    assert_eq!(got.len(), 1);
    // more work for rtr1 and for rtr2 arrives
    let b = st
        .enqueue(&s[1].session_id, "rtr1", JobKind::Expire, t0)
        .unwrap();
    let c = st
        .enqueue(&s[2].session_id, "rtr2", JobKind::Expire, t0)
        .unwrap();
    // instance B gets rtr2's only: A pushes to rtr1 now
    let ids = |v: Vec<crate::model::Job>| v.into_iter().map(|j| j.job_id).collect::<Vec<_>>();
    assert_eq!(ids(st.claim(t0 + 10, 1000, "b", 10, &[]).unwrap()), vec![c]);
    // A done: rtr1 is free for B
    st.complete(a, got[0].lease.as_ref().unwrap().token)
        .unwrap();
    assert_eq!(ids(st.claim(t0 + 20, 1000, "b", 10, &[]).unwrap()), vec![b]);
}

#[test]
fn a_dead_instances_router_is_free_when_its_lease_expires() {
    use crate::model::{JobKind, SessionStatus};
    use crate::store::contract::{insert_one, session};
    let Some(url) = test_url() else { return };
    let st = PgStore::open_config(fresh_config(&url), 4)
        .unwrap()
        .with_router_leases(true);
    let t0 = 1_000_000;
    let s: Vec<Session> = (0..2)
        .map(|i| insert_one(&st, session(64512, i, SessionStatus::Pending)))
        .collect();
    st.enqueue(&s[0].session_id, "rtr1", JobKind::Expire, t0)
        .unwrap();
    assert_eq!(st.claim(t0, 1000, "killed", 10, &[]).unwrap().len(), 1);
    st.enqueue(&s[1].session_id, "rtr1", JobKind::Expire, t0)
        .unwrap();
    assert!(st.claim(t0 + 999, 1000, "b", 10, &[]).unwrap().is_empty());
    assert_eq!(st.reclaim_expired(t0 + 1001).unwrap(), 1);
    // both of rtr1's jobs, in one claim (the worker coalesces them)
    assert_eq!(st.claim(t0 + 1001, 1000, "b", 10, &[]).unwrap().len(), 2);
}

#[test]
fn two_instances_on_one_database_share_each_lease() {
    let Some(url) = test_url() else { return };
    let config = fresh_config(&url);
    // two instances: two pools on one schema
    let a = PgStore::open_config(config.clone(), 4).unwrap();
    let b = PgStore::open_config(config, 4).unwrap();
    let t = 5_000_000;
    let routers = ["rtr1", "rtr2", "rtr3"];
    // both ask for every router's poll at once: each router goes to one
    let (ha, hb) = std::thread::scope(|s| {
        let ja = s.spawn(|| {
            routers
                .iter()
                .map(|r| a.hold_lease(&format!("poll:{r}"), "a", t, 1000).unwrap())
                .collect::<Vec<_>>()
        });
        let jb = s.spawn(|| {
            routers
                .iter()
                .map(|r| b.hold_lease(&format!("poll:{r}"), "b", t, 1000).unwrap())
                .collect::<Vec<_>>()
        });
        (ja.join().unwrap(), jb.join().unwrap())
    });
    for i in 0..routers.len() {
        assert!(ha[i] ^ hb[i], "{}: a {} b {}", routers[i], ha[i], hb[i]);
    }
    // a renews what it holds and cannot take b's
    for (i, r) in routers.iter().enumerate() {
        let name = format!("poll:{r}");
        assert_eq!(a.hold_lease(&name, "a", t + 500, 1000).unwrap(), ha[i]);
        assert_eq!(b.hold_lease(&name, "b", t + 600, 1000).unwrap(), hb[i]);
    }
    // a dies (stops renewing): b takes over everything once a's end
    for r in routers {
        let name = format!("poll:{r}");
        assert!(b.hold_lease(&name, "b", t + 1501, 1000).unwrap(), "{r}");
        assert!(!a.hold_lease(&name, "a", t + 1502, 1000).unwrap(), "{r}");
    }
    // b shuts down cleanly: a takes over at once
    b.release_lease("poll:rtr1", "b").unwrap();
    assert!(a.hold_lease("poll:rtr1", "a", t + 1503, 1000).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_durable_inserts_share_transactions_and_fail_alone() {
    use crate::model::SessionStatus::Pending;
    use crate::store::contract::{request, session};
    use crate::store::Inserted;
    let Some(url) = test_url() else { return };
    let config = fresh_config(&url);
    let st = PgStore::open_config(config.clone(), 4).unwrap();
    let mut futs = Vec::new();
    let mut dup = None;
    for n in 0..40u32 {
        let req = request(64512);
        let mut s = session(64512, n, Pending);
        s.request_id = req.request_id.clone();
        if n == 20 {
            dup = Some(req.clone());
        }
        futs.push(st.insert_request_durable(req, vec![s]));
    }
    // a request id used twice in the same wave: one of the two is refused
    // alone, with its own error, and leaves nothing behind
    let dup = dup.unwrap();
    let mut other = session(64512, 99, Pending);
    other.request_id = dup.request_id.clone();
    futs.push(st.insert_request_durable(dup, vec![other.clone()]));
    let out = futures::future::join_all(futs).await;
    let mut new = Vec::new();
    let mut refused = 0;
    for r in out {
        match r {
            Ok(mut v) => match v.pop().unwrap() {
                Inserted::New(s) => new.push(s),
                x => panic!("{x:?}"),
            },
            Err(StoreError::Conflict(m)) => {
                assert!(m.contains("already exists"), "{m}");
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((new.len(), refused), (40, 1));
    // committed, as seen through other connections
    let again = PgStore::open_config(config, 1).unwrap();
    for s in &new {
        assert_eq!(again.get_session(&s.session_id).unwrap().as_ref(), Some(s));
        assert_eq!(again.audit(&s.session_id).unwrap().len(), 1);
    }
    let n99 = new.iter().filter(|s| s.local_ip == other.local_ip).count();
    let page = again
        .list_sessions(&Default::default(), None, 1000)
        .unwrap();
    assert_eq!(page.sessions.len(), 40);
    assert!(n99 <= 1);
    // seq strictly increasing in commit order, no repeats
    let seqs: Vec<u64> = page.sessions.iter().map(|s| s.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

/// One batch, decided in order in memory: what an earlier request of the
/// batch inserts is seen by the later ones, as if each ran alone.
#[test]
fn a_batch_sees_its_own_earlier_requests() {
    use super::insert::{insert_requests_in, Ask};
    use crate::model::SessionStatus::{Approved, Pending};
    use crate::store::contract::{request, session, session_at};
    use crate::store::Inserted;
    let Some(url) = test_url() else { return };
    let st = PgStore::open_config(fresh_config(&url), 2).unwrap();
    let at: std::net::IpAddr = "2001:db8::7:1".parse().unwrap();
    let mk = |asn: u32, s: crate::model::Session| {
        let req = request(asn);
        let mut s = s;
        s.request_id = req.request_id.clone();
        (req, vec![s])
    };
    let a = mk(64512, session_at(64512, at, Approved));
    let b = mk(64513, session_at(64513, at, Pending)); // another network, same address
    let c = mk(64512, session_at(64512, at, Pending)); // the same session again: a twin
    let mut other = session_at(64512, at, Pending);
    other.peer_ip = "2001:db8::2".parse().unwrap();
    let c2 = mk(64512, other); // same network and address, another session
    let d = (a.0.clone(), vec![session(64512, 9, Pending)]); // a's request id again
    let e = mk(64512, session(64512, 3, Approved));
    let all = [&a, &b, &c, &d, &e, &c2];
    let asks: Vec<Ask<'_>> = all
        .iter()
        .map(|(request, sessions)| Ask { request, sessions })
        .collect();
    let outs = st
        .write(|tx| insert_requests_in(tx, &asks, crate::model::now_ms()))
        .unwrap();
    let first = match &outs[0] {
        Ok(v) => match &v[..] {
            [Inserted::New(s)] => s.clone(),
            x => panic!("{x:?}"),
        },
        Err(e) => panic!("{e}"),
    };
    assert!(matches!(&outs[1], Ok(v) if matches!(&v[..], [Inserted::Taken])));
    assert!(
        matches!(&outs[2], Ok(v) if matches!(&v[..], [Inserted::Existing(h)] if h.session_id == first.session_id))
    );
    assert!(
        matches!(&outs[5], Ok(v) if matches!(&v[..], [Inserted::Conflict(h)] if h.session_id == first.session_id))
    );
    assert!(matches!(&outs[3], Err(StoreError::Conflict(m)) if m.contains("already exists")));
    let fifth = match &outs[4] {
        Ok(v) => match &v[..] {
            [Inserted::New(s)] => s.clone(),
            x => panic!("{x:?}"),
        },
        Err(e) => panic!("{e}"),
    };
    assert!(first.seq < fifth.seq);
    // what was committed: two sessions, one job each, the requests that
    // were not refused (b, c and c2 answered, with no session of their own)
    let page = st.list_sessions(&Default::default(), None, 100).unwrap();
    let ids: Vec<&str> = page
        .sessions
        .iter()
        .map(|s| s.session_id.as_str())
        .collect();
    assert_eq!(ids, [first.session_id.as_str(), fifth.session_id.as_str()]);
    for s in [&first, &fifth] {
        assert_eq!(st.audit(&s.session_id).unwrap().len(), 1);
    }
    let rec = st.get_request(&a.0.request_id).unwrap().unwrap();
    assert_eq!(rec.session_ids, std::slice::from_ref(&first.session_id));
    assert!(st.get_request(&b.0.request_id).unwrap().is_some());
    let twin = st.get_request(&c.0.request_id).unwrap().unwrap();
    assert_eq!(twin.session_ids, std::slice::from_ref(&first.session_id));
    let ready = st.jobs().unwrap();
    let mut jobs: Vec<&str> = ready.iter().map(|j| j.session_id.as_str()).collect();
    jobs.sort();
    let mut want = [first.session_id.as_str(), fifth.session_id.as_str()];
    want.sort();
    assert_eq!(jobs, want);
    // the address stays held by the first: a later request of b is taken
    let (req, ss) = mk(64513, session_at(64513, at, Pending));
    assert!(matches!(
        &st.insert_request(&req, ss).unwrap()[..],
        [Inserted::Taken]
    ));
}

//! PeeringDB data against the stand-in: sync, queries, failure handling,
//! rate limits, the dump file and the CLI entry points.

use crate::pdb_standin::{dead_base, dump_path, Mode, PdbStandin};
use crate::support::InventoryBuilder;
use futures::future::BoxFuture;
use peerd::config::PeeringDbSettings;
use peerd::inventory::Inventory;
use peerd::model::{
    AuditEvent, Job, JobKind, RequestRecord, Session, SessionId, SessionStatus, UnixMillis,
};
use peerd::peeringdb::{
    cmd_load, cmd_sync, load_dump, load_from_store, save_to_store, sync_once, ClientOptions,
    Family, PdbClient, PdbError, Snapshot, Syncer,
};
use peerd::store::{Inserted, Page, RemoveOpts, SessionFilter, Store, StoreError, TransitionOpts};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn inventory() -> Inventory {
    InventoryBuilder::exchanges().build()
}

fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        max_retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn client(base: &str) -> PdbClient {
    PdbClient::new(base, None, fast()).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A store that keeps only the meta area (the part PeeringDB data uses).
#[derive(Default)]
struct MetaStore {
    meta: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

fn unsupported<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend(
        "this test store keeps only the meta area".into(),
    ))
}

impl Store for MetaStore {
    fn durable(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
    fn insert_request(
        &self,
        _: &RequestRecord,
        _: Vec<Session>,
    ) -> Result<Vec<Inserted>, StoreError> {
        unsupported()
    }
    fn insert_request_durable(
        &self,
        _: RequestRecord,
        _: Vec<Session>,
    ) -> BoxFuture<'static, Result<Vec<Inserted>, StoreError>> {
        Box::pin(async { unsupported() })
    }
    fn get_session(&self, _: &str) -> Result<Option<Session>, StoreError> {
        unsupported()
    }
    fn get_request(&self, _: &str) -> Result<Option<RequestRecord>, StoreError> {
        unsupported()
    }
    fn list_sessions(
        &self,
        _: &SessionFilter,
        _: Option<&str>,
        _: usize,
    ) -> Result<Page, StoreError> {
        unsupported()
    }
    fn transition(
        &self,
        _: &str,
        _: SessionStatus,
        _: TransitionOpts,
    ) -> Result<Session, StoreError> {
        unsupported()
    }
    fn set_detail(&self, _: &str, _: Option<String>, _: &str) -> Result<Session, StoreError> {
        unsupported()
    }
    fn set_hold(&self, _: &str, _: &peerd::store::HoldChange) -> Result<Session, StoreError> {
        unsupported()
    }
    fn defer(&self, _: u64, _: u64, _: UnixMillis) -> Result<Job, StoreError> {
        unsupported()
    }
    fn mark_pushed(&self, _: &[SessionId]) -> Result<Vec<SessionId>, StoreError> {
        unsupported()
    }
    fn set_remote(
        &self,
        _: &str,
        _: peerd::model::RemoteState,
        _: Option<Option<String>>,
        _: &str,
    ) -> Result<Session, StoreError> {
        unsupported()
    }
    fn remove_session(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unsupported()
    }
    fn remove_session_if(&self, _: &str, _: RemoveOpts) -> Result<Session, StoreError> {
        unsupported()
    }
    fn requeue_now(&self, _: &str, _: &str) -> Result<Session, StoreError> {
        unsupported()
    }
    fn audit(&self, _: &str) -> Result<Vec<AuditEvent>, StoreError> {
        unsupported()
    }
    fn enqueue(
        &self,
        _: &SessionId,
        _: &str,
        _: JobKind,
        _: UnixMillis,
    ) -> Result<u64, StoreError> {
        unsupported()
    }
    fn claim(
        &self,
        _: UnixMillis,
        _: u64,
        _: &str,
        _: usize,
        _: &[String],
    ) -> Result<Vec<Job>, StoreError> {
        unsupported()
    }
    fn complete(&self, _: u64, _: u64) -> Result<(), StoreError> {
        unsupported()
    }
    fn fail(&self, _: u64, _: u64, _: UnixMillis, _: &str) -> Result<Job, StoreError> {
        unsupported()
    }
    fn renew(&self, _: u64, _: u64, _: UnixMillis, _: u64) -> Result<(), StoreError> {
        unsupported()
    }
    fn reclaim_expired(&self, _: UnixMillis) -> Result<usize, StoreError> {
        unsupported()
    }
    fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        unsupported()
    }
    fn session_jobs(&self, _: &str) -> Result<Vec<Job>, StoreError> {
        unsupported()
    }
    fn meta_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .meta
            .lock()
            .unwrap()
            .get(&(ns.into(), key.into()))
            .cloned())
    }
    fn meta_put(&self, ns: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta
            .lock()
            .unwrap()
            .insert((ns.into(), key.into()), value.to_vec());
        Ok(())
    }
    fn meta_delete(&self, ns: &str, key: &str) -> Result<(), StoreError> {
        self.meta.lock().unwrap().remove(&(ns.into(), key.into()));
        Ok(())
    }
    fn hold_lease(&self, _: &str, _: &str, _: UnixMillis, _: u64) -> Result<bool, StoreError> {
        unsupported()
    }
    fn release_lease(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unsupported()
    }
    fn meta_namespaces(&self) -> Result<Vec<String>, StoreError> {
        let mut ns: Vec<String> = self
            .meta
            .lock()
            .unwrap()
            .keys()
            .map(|(n, _)| n.clone())
            .collect();
        ns.dedup();
        Ok(ns)
    }
    fn meta_list(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .meta
            .lock()
            .unwrap()
            .iter()
            .filter(|((n, _), _)| n == ns)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

async fn synced() -> (PdbStandin, Snapshot) {
    let pdb = PdbStandin::start().await;
    let snap = sync_once(&client(&pdb.base), &inventory()).await.unwrap();
    (pdb, snap)
}

#[tokio::test]
async fn peeringdb_sync_builds_the_snapshot() {
    let (pdb, snap) = synced().await;
    assert_eq!(
        snap.exchanges.keys().copied().collect::<Vec<_>>(),
        vec![42, 43]
    );
    let ix = snap.exchange(42).unwrap();
    assert_eq!(ix.name, "Lab-IX");
    assert_eq!(ix.ixlan_ids, vec![42]);
    assert_eq!(
        ix.prefixes,
        vec![
            "192.0.2.0/24".parse().unwrap(),
            "2001:db8::/64".parse().unwrap()
        ]
    );
    assert_eq!(
        ix.members.iter().map(|m| m.asn).collect::<Vec<_>>(),
        vec![65001, 65002, 65003, 65006]
    );
    // networks present at our exchanges only; 65005 is only at ix 44
    assert_eq!(
        snap.nets.keys().copied().collect::<Vec<_>>(),
        vec![65001, 65002, 65003, 65004, 65006]
    );
    // 65006's row at ix 43 is deleted
    assert_eq!(snap.exchanges_of(65006), vec![42]);
    assert_eq!(snap.net(65002).unwrap().irr_as_set, "AS-PEERONE");
    assert!(snap.source.starts_with("api http://127.0.0.1:"));

    // one request per object, `__in` filters, only the fields we read
    let hits = pdb.hits();
    let objects: Vec<&str> = hits.iter().map(|h| h.object.as_str()).collect();
    assert_eq!(objects, vec!["ix", "ixlan", "ixpfx", "netixlan", "net"]);
    assert_eq!(hits[0].param("id__in"), Some("42,43"));
    assert_eq!(hits[1].param("ix_id__in"), Some("42,43"));
    assert_eq!(hits[2].param("ixlan_id__in"), Some("42,43"));
    assert_eq!(hits[3].param("ix_id__in"), Some("42,43"));
    assert_eq!(
        hits[4].param("asn__in"),
        Some("65001,65002,65003,65004,65006")
    );
    assert!(hits
        .iter()
        .all(|h| h.param("fields").is_some() && h.authorization.is_none()));
}

#[tokio::test]
async fn peeringdb_common_exchanges() {
    let (_pdb, snap) = synced().await;
    assert_eq!(snap.common_exchanges(65001, 65002), vec![42]);
    assert_eq!(snap.common_exchanges(65001, 65004), vec![43]);
    // 65003 is also at ix 44, which our inventory does not serve
    assert_eq!(snap.common_exchanges(65001, 65003), vec![42]);
    assert!(snap.common_exchanges(65001, 65005).is_empty());
    assert!(snap.common_exchanges(65001, 64999).is_empty());
}

#[tokio::test]
async fn peeringdb_ip_registered_to_another_asn_is_detected() {
    let (_pdb, snap) = synced().await;
    assert_eq!(snap.ip_registered_to(42, ip("192.0.2.2")), Some(65002));
    assert_eq!(snap.ip_registered_to(42, ip("2001:db8::2")), Some(65002));
    // AS65002 claiming 192.0.2.3: PeeringDB lists it for AS65003
    let owner = snap.ip_registered_to(42, ip("192.0.2.3"));
    assert_eq!(owner, Some(65003));
    assert_ne!(owner, Some(65002));
    // an address nobody lists, and a listed one at the wrong exchange
    assert_eq!(snap.ip_registered_to(42, ip("192.0.2.99")), None);
    assert_eq!(snap.ip_registered_to(43, ip("192.0.2.2")), None);
    assert_eq!(
        snap.member_ips(43, 65004),
        vec![ip("198.51.100.4"), ip("2001:db8:43::4")]
    );
}

#[tokio::test]
async fn peeringdb_max_prefix_from_info_prefixes_with_margin() {
    let (_pdb, snap) = synced().await;
    let margin = PeeringDbSettings::default().max_prefix_margin_percent;
    assert_eq!(margin, 10);
    assert_eq!(snap.max_prefix(65002, Family::V4, margin), Some(22));
    assert_eq!(snap.max_prefix(65002, Family::V6, margin), Some(11));
    assert_eq!(snap.max_prefix(65003, Family::V4, 25), Some(1250));
    assert_eq!(
        snap.max_prefix(65003, Family::V6, margin),
        None,
        "not published"
    );
    assert_eq!(
        snap.max_prefix(65006, Family::V4, margin),
        None,
        "not published"
    );
    assert_eq!(snap.max_prefix(65004, Family::V4, 0), Some(5));
    assert_eq!(snap.policy_general(65002), Some("Selective"));
    assert_eq!(snap.policy_general(65003), Some("Restrictive"));
}

#[tokio::test]
async fn peeringdb_failing_sync_keeps_the_last_good_snapshot() {
    let pdb = PdbStandin::start().await;
    let store = Arc::new(MetaStore::default());
    let mut opts = fast();
    opts.timeout = Duration::from_millis(500);
    opts.max_retries = 1;
    let syncer = Syncer::with_client(
        PdbClient::new(&pdb.base, None, opts).unwrap(),
        Arc::new(inventory()),
        store.clone(),
        Duration::ZERO,
    );
    assert!(syncer.snapshot().is_none());
    let good = syncer.sync_now().await.unwrap();
    assert!(syncer.status().last_error.is_none());
    assert_eq!(syncer.status().exchanges, 2);

    // PeeringDB answers 500
    pdb.set_mode(Mode::ServerError);
    let e = syncer.sync_now().await.unwrap_err();
    assert!(matches!(e, PdbError::Http { status: 500, .. }), "{e}");
    assert!(Arc::ptr_eq(&syncer.snapshot().unwrap(), &good));
    let st = syncer.status();
    assert!(
        st.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{st:?}"
    );
    assert_eq!(st.taken_at, Some(good.taken_at));
    assert!(st.last_attempt >= st.last_success);

    // PeeringDB hangs past the client's timeout
    pdb.set_mode(Mode::Hang);
    let e = syncer.sync_now().await.unwrap_err();
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(Arc::ptr_eq(&syncer.snapshot().unwrap(), &good));

    // PeeringDB answers, but without our exchanges: not taken
    pdb.set_mode(Mode::Normal);
    pdb.edit_data(|d| d["ix"]["data"] = serde_json::json!([]));
    let e = syncer.sync_now().await.unwrap_err();
    assert!(matches!(e, PdbError::Incomplete(_)), "{e}");
    assert!(Arc::ptr_eq(&syncer.snapshot().unwrap(), &good));

    // the good data was stored; a fresh syncer against a PeeringDB that is
    // down starts from it and keeps it
    let down = Syncer::with_client(
        PdbClient::new(&dead_base().await, None, fast()).unwrap(),
        Arc::new(inventory()),
        store.clone(),
        Duration::ZERO,
    );
    assert!(down.load_from_store().unwrap());
    let e = down.sync_now().await.unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(down.snapshot().unwrap().same_data(&good));
    assert_eq!(*down.snapshot().unwrap(), *good);
}

#[tokio::test]
async fn peeringdb_429_and_500_are_retried() {
    let pdb = PdbStandin::start().await;
    pdb.fail_next(
        2,
        Mode::RateLimited {
            retry_after_secs: 1,
        },
    );
    let snap = sync_once(&client(&pdb.base), &inventory()).await.unwrap();
    assert_eq!(snap.exchanges.len(), 2);
    let ix_calls = pdb.hits().iter().filter(|h| h.object == "ix").count();
    assert_eq!(ix_calls, 3, "two 429s, then the answer");

    pdb.clear_hits();
    pdb.fail_next(2, Mode::ServerError);
    let again = sync_once(&client(&pdb.base), &inventory()).await.unwrap();
    assert!(again.same_data(&snap));
    assert_eq!(pdb.hits().len(), 5 + 2);

    // retries are bounded
    pdb.clear_hits();
    pdb.set_mode(Mode::ServerError);
    assert!(sync_once(&client(&pdb.base), &inventory()).await.is_err());
    assert_eq!(pdb.hits().len(), 1 + fast().max_retries as usize);

    // a Retry-After longer than we are willing to wait fails at once
    pdb.clear_hits();
    pdb.set_mode(Mode::RateLimited {
        retry_after_secs: 3600,
    });
    let e = sync_once(&client(&pdb.base), &inventory())
        .await
        .unwrap_err();
    assert!(
        matches!(e, PdbError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 3600),
        "{e}"
    );
    assert_eq!(pdb.hits().len(), 1);
}

#[tokio::test]
async fn peeringdb_in_lists_are_batched_and_responses_bounded() {
    let pdb = PdbStandin::start().await;
    let opts = ClientOptions {
        batch_size: 2,
        ..fast()
    };
    let snap = sync_once(
        &PdbClient::new(&pdb.base, None, opts).unwrap(),
        &inventory(),
    )
    .await
    .unwrap();
    let (_, full) = synced().await;
    assert!(snap.same_data(&full));
    let nets: Vec<String> = pdb
        .hits()
        .iter()
        .filter(|h| h.object == "net")
        .map(|h| h.param("asn__in").unwrap().to_string())
        .collect();
    assert_eq!(nets, vec!["65001,65002", "65003,65004", "65006"]);

    pdb.clear_hits();
    let opts = ClientOptions {
        max_response_bytes: 100,
        ..fast()
    };
    let e = sync_once(
        &PdbClient::new(&pdb.base, None, opts).unwrap(),
        &inventory(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PdbError::TooLarge { .. }), "{e}");
    assert_eq!(pdb.hits().len(), 1, "not retried");
}

#[tokio::test]
async fn peeringdb_dump_gives_the_same_snapshot_as_the_online_sync() {
    let (_pdb, online) = synced().await;
    let offline = load_dump(&dump_path(), &inventory()).unwrap();
    assert!(offline.source.starts_with("dump "));
    assert!(offline.same_data(&online));
    assert_eq!(offline.exchanges, online.exchanges);
    assert_eq!(offline.nets, online.nets);
}

#[tokio::test]
async fn peeringdb_cli_entry_points_store_the_snapshot() {
    let pdb = PdbStandin::start().await;
    let store = MetaStore::default();
    assert!(load_from_store(&store).unwrap().is_none());

    let msg = cmd_load(&dump_path(), &inventory(), &store).unwrap();
    assert!(
        msg.contains("2 exchange(s) [pdb:ix:42, pdb:ix:43]"),
        "{msg}"
    );
    let loaded = load_from_store(&store).unwrap().unwrap();
    assert!(loaded.source.starts_with("dump "));

    // online, with an API key from the environment variable the settings name
    let var = "PEERD_TEST_PDB_KEY_CLI_ENTRY";
    std::env::set_var(var, "test-key-123");
    let settings = PeeringDbSettings {
        api_base: pdb.base.clone(),
        api_key_env: var.into(),
        timeout_secs: 5,
        ..PeeringDbSettings::default()
    };
    let msg = cmd_sync(&settings, &inventory(), &store).await.unwrap();
    assert!(msg.contains("5 network(s)"), "{msg}");
    let synced = load_from_store(&store).unwrap().unwrap();
    assert!(synced.source.starts_with("api "));
    assert!(synced.same_data(&loaded));
    let hits = pdb.hits();
    assert!(!hits.is_empty());
    assert!(hits
        .iter()
        .all(|h| h.authorization.as_deref() == Some("Api-Key test-key-123")));

    // a failing online sync leaves the stored data alone
    pdb.set_mode(Mode::Hang);
    let slow = PeeringDbSettings {
        timeout_secs: 1,
        ..settings
    };
    let before = store.meta_get("peeringdb", "snapshot").unwrap();
    let quick = PdbClient::new(
        &slow.api_base,
        None,
        ClientOptions {
            max_retries: 0,
            ..ClientOptions::from_settings(&slow)
        },
    )
    .unwrap();
    assert!(sync_once(&quick, &inventory()).await.is_err());
    assert_eq!(store.meta_get("peeringdb", "snapshot").unwrap(), before);

    // and a snapshot saved directly reads back equal
    save_to_store(&store, &loaded).unwrap();
    assert_eq!(load_from_store(&store).unwrap().unwrap(), loaded);
}

#[tokio::test]
async fn peeringdb_scheduled_sync_runs() {
    let pdb = PdbStandin::start().await;
    let store = Arc::new(MetaStore::default());
    let syncer = Arc::new(Syncer::with_client(
        client(&pdb.base),
        Arc::new(inventory()),
        store.clone(),
        Duration::from_secs(3600),
    ));
    let task = syncer.spawn().expect("interval is not zero");
    let mut waited = 0;
    while syncer.status().last_success.is_none() {
        assert!(
            waited < 200,
            "scheduled sync did not run: {:?}",
            syncer.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    task.abort();
    assert_eq!(syncer.status().exchanges, 2);
    assert!(load_from_store(&*store).unwrap().is_some());
    let none = Syncer::with_client(
        client(&pdb.base),
        Arc::new(inventory()),
        store,
        Duration::ZERO,
    );
    assert!(Arc::new(none).spawn().is_none());
}

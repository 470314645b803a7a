//! Which store the test daemons use: sled in their data dir (the default),
//! or, with `PEERD_TEST_STORE=postgres` (the `test-pg` step of
//! `tests/run.sh`), PostgreSQL at `PEERD_TEST_PG_URL`, each instance in a
//! new, empty schema of its own. [`Peerd::open_store`] opens an instance's
//! store from the test, whichever it is.

use super::Peerd;
use peerd::store::Store;
use std::sync::Arc;

/// True when the test daemons run on PostgreSQL (`PEERD_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("PEERD_TEST_STORE").as_deref() == Ok("postgres")
}

/// The `store:` section of an instance's settings: empty (sled in its
/// data dir) unless [`on_postgres`], then PostgreSQL at
/// `PEERD_TEST_PG_URL` in a new, empty schema of its own.
pub async fn store_yaml() -> String {
    match store_url().await {
        Some(url) => format!("store:\n  backend: postgres\n  url: \"{url}\"\n"),
        None => String::new(),
    }
}

/// [`on_postgres`]: the URL of a new, empty schema at `PEERD_TEST_PG_URL`
/// (for `store.url` or `PEERD_STORE_URL`); else `None` (sled).
pub async fn store_url() -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let url = std::env::var("PEERD_TEST_PG_URL")
        .expect("PEERD_TEST_STORE=postgres needs PEERD_TEST_PG_URL (tests/run.sh sets it)");
    Some(fresh_pg_url(&url).await)
}

/// On PostgreSQL, a restarted instance waits for the leases of the run it
/// replaces to expire (they may be another live instance's), where sled
/// takes them back at start: the test daemons lease for 20 s there
/// (renewed every 7 s while a push runs) instead of the default 120 s,
/// unless `worker_yaml` sets `lease_ms`.
pub fn lease_yaml(worker_yaml: &str) -> &'static str {
    if on_postgres() && !worker_yaml.contains("lease_ms:") {
        "  lease_ms: 20000\n"
    } else {
        ""
    }
}

/// A URL for a new, empty schema in the database at `url`.
pub async fn fresh_pg_url(url: &str) -> String {
    let schema = format!("it_{:016x}", rand::random::<u64>());
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("test PostgreSQL");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

impl Peerd {
    /// The instance's store, opened by the test as `peerd serve` opens it
    /// (from its `peerd.yaml`). On sled the daemon must not be running
    /// (one process holds a data dir); on PostgreSQL it may be.
    pub fn open_store(&self) -> Arc<dyn Store> {
        let settings = peerd::config::Settings::load(Some(&self.path().join("peerd.yaml")))
            .expect("the instance's settings");
        match peerd::cli::serve::open_store(&settings) {
            Ok((store, _)) => store,
            Err(e) => panic!("open the instance's store: {e}"),
        }
    }
}

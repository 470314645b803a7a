//! The PostgreSQL rows (`scripts/bench.sh pg`): `peerd serve` on a
//! PostgreSQL store against bare baselines on the same server in the same
//! run, rounds alternating (baseline, peerd):
//!
//! - durable POST /sessions (32 clients; peerd answers after its commit)
//!   against a bare loop of 32 tasks sharing as many connections as
//!   peerd's pool (`store.pool_size`), each doing BEGIN, one INSERT of a
//!   session row into the same table (a prepared statement) and COMMIT;
//! - GET /sessions/{id} (random ids) against the bare axum route serving
//!   the same JSON from a `HashMap`.
//!
//! The server is the one in `PEERD_BENCH_PG_URL` (a throwaway cluster
//! that `scripts/bench.sh pg` starts). The sessions are seeded once into
//! a database through the `Store` API (with `synchronous_commit=off`,
//! seeding only); every round runs on a fresh copy of it
//! (`CREATE DATABASE ... TEMPLATE`), dropped afterwards.

use crate::daemon::{wrk, Daemon, POST_LUA};
use crate::{get_all, get_rounds, label, setup, Cfg, Goal, Row};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::types::Json;
use tokio_postgres::{Client, Config, NoTls};

/// The server, its admin URL and the pool size both sides use.
pub struct Pg {
    url: String,
    pool: usize,
}

impl Pg {
    /// From `PEERD_BENCH_PG_URL` (`postgres://USER@/DB?host=SOCKET&port=P`
    /// or a TCP URL; no password) and `PEERD_BENCH_PG_POOL` (8, peerd's
    /// default pool size); None without a URL.
    pub fn from_env() -> Option<Pg> {
        let url = std::env::var("PEERD_BENCH_PG_URL").ok()?;
        let pool = std::env::var("PEERD_BENCH_PG_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8);
        Some(Pg { url, pool })
    }

    /// The URL of database `db` on the same server.
    fn db_url(&self, db: &str) -> String {
        let (base, query) = match self.url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (self.url.as_str(), String::new()),
        };
        let base = base.rsplit_once('/').map(|x| x.0).unwrap_or(base);
        format!("{base}/{db}{query}")
    }

    fn config(&self, db: &str) -> Config {
        Config::from_str(&self.db_url(db)).expect("PEERD_BENCH_PG_URL")
    }

    /// One statement on the admin database; retried for a few seconds
    /// while a template is still in use (closing connections is async).
    fn admin(&self, rt: &tokio::runtime::Runtime, sql: &str) {
        let config = Config::from_str(&self.url).expect("PEERD_BENCH_PG_URL");
        rt.block_on(async move {
            let client = connect(&config).await;
            let t0 = Instant::now();
            loop {
                match client.batch_execute(sql).await {
                    Ok(()) => return,
                    Err(e) if t0.elapsed() < Duration::from_secs(10) => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("{sql}: {e}"),
                }
            }
        })
    }

    /// Database `db`, a fresh copy of `seed` (any older `db` dropped).
    fn copy(&self, rt: &tokio::runtime::Runtime, seed: &str, db: &str) {
        self.drop_db(rt, db);
        self.admin(rt, &format!("CREATE DATABASE {db} TEMPLATE {seed}"));
    }

    fn drop_db(&self, rt: &tokio::runtime::Runtime, db: &str) {
        self.admin(rt, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    }
}

async fn connect(config: &Config) -> Client {
    let (client, conn) = config.connect(NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A seeded database: its name, the ids, and one session's columns.
struct PgSeed {
    db: String,
    ids: Vec<String>,
    n: u64,
}

/// Seeds database `pgseed_<n>` with `n` sessions (the scale bench's mix)
/// through [`peerd::store::PgStore`].
fn seed(rt: &tokio::runtime::Runtime, pg: &Pg, n: u32) -> PgSeed {
    let db = format!("pgseed_{n}");
    pg.drop_db(rt, &db);
    pg.admin(rt, &format!("CREATE DATABASE {db}"));
    let mut config = pg.config(&db);
    config.options("-c synchronous_commit=off");
    let st =
        Arc::new(peerd::store::PgStore::open_config(config, 8).expect("open PostgreSQL store"));
    let ids = setup::seed_store(st, n);
    PgSeed {
        db,
        ids,
        n: n as u64,
    }
}

/// Every PostgreSQL row: POST and GET at each size in `sizes`.
pub fn rows(
    rt: &tokio::runtime::Runtime,
    cfg: &Cfg,
    root: &Path,
    pg: &Pg,
    sizes: &[u32],
) -> Vec<Row> {
    let dir = root.join("pg");
    let key = setup::make_dir(&dir, "");
    let mut rows = Vec::new();
    for &n in sizes {
        let t = Instant::now();
        let seed = seed(rt, pg, n);
        println!(
            "pg: seeded {} sessions in {:.1} s",
            label(n as u64),
            t.elapsed().as_secs_f64()
        );
        rows.push(post_row(rt, cfg, &dir, &key, pg, &seed));
        rows.push(get_row(rt, cfg, &dir, &key, pg, &seed));
        pg.drop_db(rt, &seed.db);
    }
    rows
}

/// Points `dir`'s settings at database `db` (pool size from `pg`).
fn settings(dir: &Path, pg: &Pg, db: &str) {
    let extra = format!(
        "store: {{backend: postgres, url: \"{}\", pool_size: {}}}\n",
        pg.db_url(db),
        pg.pool
    );
    std::fs::write(dir.join("peerd.yaml"), setup::settings_yaml(&extra)).unwrap();
}

fn post_row(
    rt: &tokio::runtime::Runtime,
    cfg: &Cfg,
    dir: &Path,
    key: &str,
    pg: &Pg,
    seed: &PgSeed,
) -> Row {
    let (mut p, mut b) = (Vec::new(), Vec::new());
    for r in 0..cfg.rounds {
        pg.copy(rt, &seed.db, "pgrun");
        let rate = rt.block_on(bare_insert_loop(pg.config("pgrun"), pg.pool, 32, cfg.secs));
        b.push(rate);
        pg.copy(rt, &seed.db, "pgrun");
        settings(dir, pg, "pgrun");
        let d = Daemon::start(dir, key);
        let out = wrk(&d, POST_LUA, 32, 2, cfg.secs, &[]);
        d.stop();
        assert_eq!(
            out.errors,
            0,
            "POST errors; see {}",
            dir.join("peerd.log").display()
        );
        p.push(out.rate());
        println!(
            "pg post @{}: round {r}: bare {rate:.0}/s, peerd {:.0}/s",
            seed.n,
            out.rate()
        );
    }
    pg.drop_db(rt, "pgrun");
    Row {
        measure: format!(
            "PostgreSQL: durable POST /sessions, 32 clients, {} stored (baseline: INSERT and COMMIT, 32 tasks, {} connections)",
            label(seed.n),
            pg.pool
        ),
        peerd: p,
        base: b,
        unit: "/s",
        goal: Goal::RatioAtLeast(0.5),
    }
}

fn get_row(
    rt: &tokio::runtime::Runtime,
    cfg: &Cfg,
    dir: &Path,
    key: &str,
    pg: &Pg,
    seed: &PgSeed,
) -> Row {
    pg.copy(rt, &seed.db, "pgrun");
    settings(dir, pg, "pgrun");
    let d = Daemon::start(dir, key);
    let bodies = get_all(&d, &seed.ids);
    let ids_file = dir.join("ids.txt");
    std::fs::write(&ids_file, seed.ids.join("\n")).unwrap();
    let ids_env = [("PEERD_BENCH_IDS", ids_file.display().to_string())];
    let (p, b) = get_rounds(cfg, &d, bodies, &ids_env, &format!("pg get @{}", seed.n));
    d.stop();
    pg.drop_db(rt, "pgrun");
    Row {
        measure: format!(
            "PostgreSQL: GET /sessions/{{id}}, 64 connections, {} stored",
            label(seed.n)
        ),
        peerd: p,
        base: b,
        unit: "/s",
        goal: Goal::Report,
    }
}

/// The bare loop: `clients` tasks share `pool` connections; each takes
/// one, runs BEGIN, INSERT of a session row (a new id, the schema's
/// sequence, a JSON body like peerd's) and COMMIT, and gives it back.
/// Committed inserts per second over `secs`.
async fn bare_insert_loop(config: Config, pool: usize, clients: usize, secs: u64) -> f64 {
    const INSERT: &str = "INSERT INTO peerd_sessions
        (seq, session_id, local_asn, router, status, direction, body)
        VALUES (nextval('peerd_session_seq'), $1, 64512, 'rtr1', 'Pending', 'inbound', $2)";
    let mut conns = Vec::new();
    for _ in 0..pool {
        let c = connect(&config).await;
        let insert = c.prepare(INSERT).await.unwrap();
        conns.push((c, insert));
    }
    // one stored session's body, as the template of every row
    let sample: serde_json::Value = {
        let row = conns[0]
            .0
            .query_one("SELECT body FROM peerd_sessions ORDER BY seq LIMIT 1", &[])
            .await
            .expect("a seeded session");
        row.get::<_, Json<serde_json::Value>>(0).0
    };
    let free = Arc::new(Mutex::new(conns));
    let slots = Arc::new(tokio::sync::Semaphore::new(pool));
    let sample = Arc::new(sample);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (free, slots, next, done, sample) = (
                free.clone(),
                slots.clone(),
                next.clone(),
                done.clone(),
                sample.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let _slot = slots.acquire().await.unwrap();
                    let (mut c, insert) = free.lock().unwrap().pop().expect("a free connection");
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = format!("bare{i:016x}");
                    let mut body = (*sample).clone();
                    body["session_id"] = id.clone().into();
                    let t = c.transaction().await.unwrap();
                    t.execute(&insert, &[&id, &Json(&body)]).await.unwrap();
                    t.commit().await.unwrap();
                    free.lock().unwrap().push((c, insert));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64()
}

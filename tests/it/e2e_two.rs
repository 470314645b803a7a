//! Two `peerd serve` instances on one PostgreSQL database (issue 14's
//! acceptance), against the lab: sessions are POSTed to both, one instance
//! is SIGKILLed while it holds claimed jobs (in the middle of its push),
//! and the other finishes everything once the dead one's leases end. Every
//! session reaches `Configured` exactly once, FRR and BIRD hold each
//! neighbor once, no two instances ever held one router's jobs at the same
//! time (the claim and completion times in the audit, which bracket every
//! push), and each router is polled by one instance at a time (the
//! `peerd_lease_held` metric).

use crate::e2e_lab::{
    bird_files, frr_neighbors, sess, times_entered, wait_gone, wait_status, TOK_P1, TOK_P2,
};
use crate::lab::{take_lab, Lab};
use crate::support::{fake_pdb, fresh_pg_url, profile, InventoryBuilder, Options, Peerd};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Job leases (and so a dead instance's routers) end after this.
const LEASE_MS: u64 = 3000;

async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("test PostgreSQL");
    tokio::spawn(conn);
    client
}

/// Jobs leased now by the instance whose worker runs as `pid`.
async fn leased_by(db: &tokio_postgres::Client, pid: u32) -> i64 {
    db.query_one(
        "SELECT count(*) FROM peerd_jobs WHERE body -> 'lease' ->> 'owner' LIKE $1",
        &[&format!("worker-{pid}-%")],
    )
    .await
    .unwrap()
    .get(0)
}

/// `peerd_lease_held` of one instance: lease name -> held.
async fn leases(p: &Peerd) -> BTreeMap<String, bool> {
    let m = p.get("/admin/metrics", &p.key).await;
    m.text
        .lines()
        .filter_map(|l| l.strip_prefix("peerd_lease_held{lease=\""))
        .filter_map(|l| l.split_once("\"} "))
        .map(|(name, v)| (name.to_string(), v.trim() == "1"))
        .collect()
}

/// A job's stay with one owner: from its claim to its completion, its
/// failure, or the expiry of its lease (`None`: never ended).
#[derive(Debug)]
struct Stay {
    owner: String,
    router: String,
    from: u64,
    to: Option<u64>,
}

/// The job id in an audit detail (`"<kind> job <id> ..."`).
fn job_id(detail: &str) -> Option<u64> {
    let mut w = detail.split_whitespace();
    w.next()?;
    (w.next()? == "job").then_some(())?;
    w.next()?.parse().ok()
}

/// Every job's stays, from the audit of `routers`' sessions (by id).
async fn stays(db: &tokio_postgres::Client, routers: &BTreeMap<String, String>) -> Vec<Stay> {
    let rows = db
        .query("SELECT body::text FROM peerd_audit ORDER BY n", &[])
        .await
        .unwrap();
    let mut open: BTreeMap<u64, Stay> = BTreeMap::new();
    let mut done = Vec::new();
    for r in rows {
        let e: Value = serde_json::from_str(r.get::<_, &str>(0)).unwrap();
        let Some(router) = routers.get(e["session_id"].as_str().unwrap_or("")) else {
            continue;
        };
        let detail = e["detail"].as_str().unwrap_or("");
        let Some(job) = job_id(detail) else { continue };
        let at = e["at_ms"].as_u64().unwrap();
        match e["action"].as_str().unwrap_or("") {
            "job_claimed" => {
                let prev = open.insert(
                    job,
                    Stay {
                        owner: e["actor"].as_str().unwrap().to_string(),
                        router: router.clone(),
                        from: at,
                        to: None,
                    },
                );
                assert!(prev.is_none(), "job {job} claimed while held: {prev:?}");
            }
            "job_done" | "job_failed" | "lease_expired" => {
                if let Some(mut s) = open.remove(&job) {
                    s.to = Some(at);
                    done.push(s);
                }
            }
            _ => {}
        }
    }
    done.extend(open.into_values());
    done
}

#[tokio::test]
#[ignore = "lab"]
async fn two_instances_share_one_database_and_survive_a_sigkill() {
    let _one = take_lab().await;
    let lab = Lab::load();
    let base = std::env::var("PEERD_TEST_PG_URL")
        .expect("PEERD_TEST_PG_URL (tests/run.sh starts PostgreSQL and puts it in lab.env)");
    let url = fresh_pg_url(&base).await;
    let db = pg(&url).await;
    let pdb = fake_pdb().await;
    pdb.add_token(TOK_P1, profile(21, &[(65002, 15, 15)]));
    pdb.add_token(TOK_P2, profile(22, &[(65003, 15, 15)]));
    let mut o = Options::new(&pdb);
    o.worker = true;
    o.inventory_yaml = Some(InventoryBuilder::lab(&lab).yaml());
    o.worker_yaml = format!(
        "  tick_ms: 100\n  poll_interval_ms: 500\n  backoff_base_ms: 300\n  backoff_max_ms: 1000\n  lease_ms: {LEASE_MS}\n"
    );
    o.store_yaml = Some(format!("store:\n  backend: postgres\n  url: \"{url}\"\n"));
    let mut a = Peerd::start(&o).await;
    let b = Peerd::start(&o).await;
    let a_pid = a.pid().unwrap();

    // sessions to both, round after round, until `a` is caught holding
    // claimed jobs: it is killed right there
    let mut router_of: BTreeMap<String, String> = BTreeMap::new();
    let (mut want_frr, mut want_bird) = (BTreeSet::new(), 0);
    let mut killed_at = None;
    'rounds: for round in 0..10u32 {
        let mut bodies = Vec::new();
        for inst in 0..2u32 {
            let mut body = Vec::new();
            for k in 0..3u32 {
                let host = 20 + round * 12 + inst * 6 + k;
                let ip = format!("192.0.2.{host}");
                want_frr.insert(ip.clone());
                body.push(sess(65002, &ip, lab.get("RTR_V4"), "pdb:ix:1", None));
                let ip2 = format!("192.0.2.{}", host + 3);
                body.push(sess(65002, &ip2, lab.get("RTR2_V4"), "pdb:ix:2", None));
                want_bird += 1;
            }
            bodies.push(json!(body));
        }
        let (ra, rb) = tokio::join!(
            a.post("/sessions", TOK_P1, &bodies[0]),
            b.post("/sessions", TOK_P1, &bodies[1])
        );
        for r in [&ra, &rb] {
            assert_eq!(r.status.as_u16(), 200, "{}", r.text);
            for s in r.body["sessions"].as_array().unwrap() {
                let router = if s["peer_ip"] == lab.get("RTR_V4") {
                    "rtr"
                } else {
                    "rtr2"
                };
                router_of.insert(s["session_id"].as_str().unwrap().into(), router.into());
            }
        }
        // the polls meanwhile: no router is ever polled by both
        let (la, lb) = tokio::join!(leases(&a), leases(&b));
        for r in ["poll:rtr", "poll:rtr2"] {
            let both = la.get(r) == Some(&true) && lb.get(r) == Some(&true);
            assert!(!both, "{r} polled by both: a {la:?} b {lb:?}");
        }
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if leased_by(&db, a_pid).await > 0 {
                a.kill().await;
                killed_at = Some(peerd::model::now_ms());
                break 'rounds;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let killed_at = killed_at.expect("instance a never held a claimed job");
    eprintln!("killed instance a (pid {a_pid}) at {killed_at}");
    assert!(
        leased_by(&db, a_pid).await > 0,
        "the dead instance's leases are still there"
    );

    // b finishes everything, a's claimed jobs once their leases end
    for id in router_of.keys() {
        wait_status(&b, TOK_P1, id, "Configured", 120).await;
    }
    for id in router_of.keys() {
        assert_eq!(times_entered(&b, id, "Configured").await, 1, "{id}");
    }
    let frr = frr_neighbors(&lab);
    let frr_set: BTreeSet<String> = frr.iter().cloned().collect();
    assert_eq!(frr.len(), frr_set.len(), "duplicate FRR neighbor: {frr:?}");
    assert_eq!(frr_set, want_frr);
    assert_eq!(bird_files(&lab).len(), want_bird);

    // no two instances held one router's jobs at once (a push runs
    // between its jobs' claim and their completion)
    let all = stays(&db, &router_of).await;
    let dead: Vec<&Stay> = all
        .iter()
        .filter(|s| s.owner.starts_with(&format!("worker-{a_pid}-")))
        .collect();
    assert!(!dead.is_empty(), "a claimed jobs: {all:?}");
    for x in &all {
        for y in &all {
            if x.owner == y.owner || x.router != y.router {
                continue;
            }
            let x_end = x.to.unwrap_or(u64::MAX);
            assert!(
                x_end <= y.from || y.to.unwrap_or(u64::MAX) <= x.from,
                "overlapping pushes to {}: {x:?} and {y:?}",
                x.router
            );
        }
    }
    // b polls every router now (a's poll leases ended)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lb = leases(&b).await;
        if lb.get("poll:rtr") == Some(&true) && lb.get("poll:rtr2") == Some(&true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b never took over the polls: {lb:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // clean up through the survivor
    for id in router_of.keys() {
        b.delete(&format!("/sessions/{id}"), TOK_P1).await;
    }
    for id in router_of.keys() {
        wait_gone(&b, TOK_P1, id, 120).await;
    }
    assert_eq!(frr_neighbors(&lab), Vec::<String>::new());
    assert_eq!(bird_files(&lab), Vec::<String>::new());
    std::mem::forget(pdb);
}

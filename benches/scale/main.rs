//! Scale benchmark (not a test): peerd at 1k and 100k stored sessions,
//! each figure next to a bare baseline measured in the same run, rounds
//! alternating (baseline, peerd), median and range printed.
//!
//! ```text
//! cargo bench --bench scale          # or scripts/bench.sh scale
//! PEERD_BENCH_ROUNDS=3 PEERD_BENCH_SECS=5 PEERD_BENCH_ONLY=get,post ...
//! ```
//!
//! Needs `wrk` (apt-get install wrk). Everything runs on loopback; the
//! inventory's 20 routers refuse connections (port 1), so the worker and
//! the poller run but never reach a router. See the README's performance
//! section for what each row measures.

/// The allocator the `peerd` binary uses (src/main.rs), so that the
/// in-process rows (render, and the bare baselines) run on it too: under
/// the system allocator the render rows swung by 2x from run to run.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bare;
mod daemon;
mod pg;
mod render;
mod setup;

use daemon::{cold_start, http, wrk, Daemon, GET_LUA, POST_LUA};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

struct Cfg {
    rounds: usize,
    secs: u64,
    only: Vec<String>,
    /// `PEERD_BENCH_PLATFORMS`: the render rows to run (all if empty).
    platforms: Vec<String>,
    /// `PEERD_BENCH_RENDER_BATCHES`: peerd renders exactly this many
    /// batches, not for a time (callgrind's instruction counts do not
    /// depend on the machine).
    render_batches: Option<usize>,
}

impl Cfg {
    fn wants(&self, what: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == what)
    }

    fn wants_platform(&self, platform: &str) -> bool {
        self.platforms.is_empty() || self.platforms.iter().any(|p| p == platform)
    }
}

/// One table row.
struct Row {
    measure: String,
    peerd: Vec<f64>,
    base: Vec<f64>,
    unit: &'static str,
    goal: Goal,
}

enum Goal {
    /// peerd / baseline at least this.
    RatioAtLeast(f64),
    /// peerd / baseline at most this.
    RatioAtMost(f64),
    /// peerd's figure at least this.
    AtLeast(f64),
    /// peerd's figure at most this.
    AtMost(f64),
    /// No goal: the figure and its ratio, for the record.
    Report,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn fmt(v: &[f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{} ({}–{})", num(median(v)), num(lo), num(hi))
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

impl Row {
    fn print(&self) {
        let m = median(&self.peerd);
        let b = median(&self.base);
        let ratio = if self.base.is_empty() {
            f64::NAN
        } else {
            m / b
        };
        let (goal, ok) = match self.goal {
            Goal::RatioAtLeast(g) => (format!("ratio ≥ {g}"), ratio >= g),
            Goal::RatioAtMost(g) => (format!("ratio ≤ {g}"), ratio <= g),
            Goal::AtLeast(g) => (format!("≥ {}", num(g)), m >= g),
            Goal::AtMost(g) => (format!("≤ {}", num(g)), m <= g),
            Goal::Report => ("-".into(), true),
        };
        let ratio = if ratio.is_nan() {
            "-".into()
        } else {
            format!("{ratio:.2}")
        };
        println!(
            "| {} | {} {} | {} | {} | {} | {} |",
            self.measure,
            fmt(&self.peerd),
            self.unit,
            fmt(&self.base),
            ratio,
            goal,
            match (&self.goal, ok) {
                (Goal::Report, _) => "-",
                (_, true) => "yes",
                (_, false) => "NO",
            }
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this
    // binary is only built and smoke-run, so it measures nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale bench: run with `cargo bench --bench scale` (needs wrk)");
        return;
    }
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let list = |k: &str| -> Vec<String> {
        std::env::var(k)
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let cfg = Cfg {
        rounds: env("PEERD_BENCH_ROUNDS", 3) as usize,
        secs: env("PEERD_BENCH_SECS", 5),
        only: list("PEERD_BENCH_ONLY"),
        platforms: list("PEERD_BENCH_PLATFORMS"),
        render_batches: std::env::var("PEERD_BENCH_RENDER_BATCHES")
            .ok()
            .and_then(|v| v.parse().ok()),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let root = setup::bench_root();
    println!(
        "bench dir {}; {} rounds, {} s per measure",
        root.display(),
        cfg.rounds,
        cfg.secs
    );
    let mut rows = Vec::new();
    if cfg.wants("render") {
        rows.extend(render::rows(&cfg));
    }
    let need_seeds = ["post", "poller", "get", "list", "memory"]
        .iter()
        .any(|w| cfg.wants(w));
    if need_seeds {
        let t = Instant::now();
        let seeds = std::env::var_os("PEERD_BENCH_SEEDS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.clone());
        let small = seeded(&seeds.join("seed-1k"), 1_000);
        let big = seeded(&seeds.join("seed-100k"), 100_000);
        println!(
            "seeded 1k and 100k stores in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        if cfg.wants("post") {
            rows.extend(post_rows(&rt, &cfg, &root, &small, 1_000));
            rows.extend(post_rows(&rt, &cfg, &root, &big, 100_000));
        }
        if cfg.wants("poller") {
            rows.push(poller_row(&cfg, &root, &small, &big));
        }
        if cfg.wants("get") || cfg.wants("list") {
            rows.extend(get_rows(&cfg, &root, &big));
        }
        if cfg.wants("memory") {
            rows.extend(busy_rows(&cfg, &root, &small));
        }
    }
    if cfg.wants("pg") {
        match pg::Pg::from_env() {
            Some(pg) => {
                let sizes: Vec<u32> = std::env::var("PEERD_BENCH_PG_SIZES")
                    .unwrap_or("1000".into())
                    .split(',')
                    .map(|n| n.trim().parse().expect("PEERD_BENCH_PG_SIZES"))
                    .collect();
                rows.extend(pg::rows(&rt, &cfg, &root, &pg, &sizes));
            }
            None => println!("pg: no PEERD_BENCH_PG_URL (scripts/bench.sh pg starts a server)"),
        }
    }
    println!();
    println!("| measure | peerd (median, range) | baseline (median, range) | ratio | goal | met |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        r.print();
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A seeded run directory (closed store), its key and session ids.
struct Seed {
    dir: std::path::PathBuf,
    key: String,
    ids: Vec<String>,
    n: u64,
}

/// Seeds `dir`, or reuses what an earlier run left there
/// (`PEERD_BENCH_SEEDS`).
fn seeded(dir: &Path, n: u32) -> Seed {
    let done = dir.join("seeded.txt");
    if let Ok(text) = std::fs::read_to_string(&done) {
        let mut lines = text.lines().map(str::to_string);
        let key = lines.next().unwrap();
        // an older peerd's seed: brought to the current layout once, here
        drop(peerd::store::SledStore::open(&dir.join("data")).unwrap());
        return Seed {
            dir: dir.to_path_buf(),
            key,
            ids: lines.collect(),
            n: n as u64,
        };
    }
    let key = setup::make_dir(dir, "");
    let ids = setup::seed(dir, n);
    std::fs::write(&done, format!("{key}\n{}", ids.join("\n"))).unwrap();
    Seed {
        dir: dir.to_path_buf(),
        key,
        ids,
        n: n as u64,
    }
}

/// A fresh copy of a seed to run peerd in.
fn fresh(root: &Path, seed: &Seed, name: &str) -> std::path::PathBuf {
    let d = root.join(name);
    setup::copy_dir(&seed.dir, &d);
    d
}

/// Durable POST /sessions, 32 connections, against the issue's bare loop
/// (32 tasks: insert, then `flush()` in `spawn_blocking`), with as many
/// records stored; and, for the record, against a tighter loop whose
/// tasks share one flusher task.
fn post_rows(
    rt: &tokio::runtime::Runtime,
    cfg: &Cfg,
    root: &Path,
    seed: &Seed,
    n: u64,
) -> [Row; 2] {
    let record = session_record(seed);
    let (mut p, mut each, mut shared) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..cfg.rounds {
        let bare_rate = |flush, tag: &str| {
            let dir = root.join(format!("bare-{tag}-{r}"));
            let rate = rt.block_on(bare::group_commit(flush, &dir, n, &record, 32, cfg.secs));
            let _ = std::fs::remove_dir_all(&dir);
            rate
        };
        let e = bare_rate(bare::Flush::Each, "each");
        each.push(e);
        let g = bare_rate(bare::Flush::Shared, "gc");
        shared.push(g);
        let dir = fresh(root, seed, "run-post");
        let d = Daemon::start(&dir, &seed.key);
        let out = wrk(&d, POST_LUA, 32, 2, cfg.secs, &[]);
        assert_eq!(
            out.errors,
            0,
            "POST errors; see {}",
            dir.join("peerd.log").display()
        );
        p.push(out.rate());
        d.stop();
        println!(
            "post @{n}: round {r}: bare (flush each) {e:.0}/s, bare (one flusher) {g:.0}/s, peerd {:.0}/s",
            out.rate()
        );
    }
    [
        Row {
            measure: format!(
                "durable POST /sessions, 32 clients, {} stored (baseline: insert, then flush())",
                label(n)
            ),
            peerd: p.clone(),
            base: each,
            unit: "/s",
            goal: Goal::RatioAtLeast(0.5),
        },
        Row {
            measure: format!(
                "durable POST /sessions, 32 clients, {} stored (baseline: one shared flusher)",
                label(n)
            ),
            peerd: p,
            base: shared,
            unit: "/s",
            goal: Goal::Report,
        },
    ]
}

/// The stored record of one seeded session (what the bare loop writes).
fn session_record(seed: &Seed) -> Vec<u8> {
    use peerd::store::{SledStore, Store};
    let st = SledStore::open(&seed.dir.join("data")).unwrap();
    let s = st.get_session(&seed.ids[0]).unwrap().unwrap();
    SledStore::record_bytes(&s).unwrap()
}

fn label(n: u64) -> String {
    if n >= 1000 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// POST p99 with the poller running (every 5 s, 20 routers, each read
/// failing at once), 100k stored against 1k stored; a paced load (8
/// connections, a request every 4 ms each) for 3 poll intervals.
fn poller_row(cfg: &Cfg, root: &Path, small: &Seed, big: &Seed) -> Row {
    let (mut p, mut b) = (Vec::new(), Vec::new());
    let secs = (cfg.secs * 3).max(15);
    let pace = [("PEERD_BENCH_DELAY_MS", "4".to_string())];
    for r in 0..cfg.rounds {
        for (seed, out) in [(small, &mut b), (big, &mut p)] {
            let dir = fresh(root, seed, "run-poller");
            let d = Daemon::start(&dir, &seed.key);
            let w = wrk(&d, POST_LUA, 8, 1, secs, &pace);
            assert_eq!(w.errors, 0);
            out.push(w.p99_us / 1000.0);
            d.stop();
            println!(
                "poller @{}: round {r}: p99 {:.2} ms, max {:.1} ms, {:.0}/s",
                seed.n,
                w.p99_us / 1000.0,
                w.max_us / 1000.0,
                w.rate()
            );
        }
    }
    Row {
        measure: "POST p99 with the poller running, 100k stored (baseline: 1k stored)".into(),
        peerd: p,
        base: b,
        unit: "ms",
        goal: Goal::RatioAtMost(2.0),
    }
}

/// GET /sessions/{id} at 100k against the bare route; the RSS after a GET
/// of every id; listing by status and by router.
fn get_rows(cfg: &Cfg, root: &Path, big: &Seed) -> Vec<Row> {
    let dir = fresh(root, big, "run-get");
    let d = Daemon::start(&dir, &big.key);
    let rss_start = d.rss_mib();
    // a GET of every id (4 threads); the answers feed the bare route
    let bodies = get_all(&d, &big.ids);
    // the highest over the next 10 s: two polls of every router (5 s
    // apart) read their live sessions meanwhile
    let mut rss_after = d.rss_mib();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(1));
        rss_after = rss_after.max(d.rss_mib());
    }
    println!(
        "rss: {rss_start:.1} MiB at start, {rss_after:.1} MiB at most in the 10 s after a GET of every id"
    );
    let ids_file = dir.join("ids.txt");
    std::fs::write(&ids_file, big.ids.join("\n")).unwrap();
    let ids_env = [("PEERD_BENCH_IDS", ids_file.display().to_string())];
    let mut rows = vec![Row {
        measure: "RSS after a GET of every id (highest in the next 10 s), 100k stored".into(),
        peerd: vec![rss_after],
        base: vec![],
        unit: "MiB",
        goal: Goal::AtMost(150.0),
    }];
    if cfg.wants("get") {
        let (p, b) = get_rounds(cfg, &d, bodies, &ids_env, "get @100k");
        rows.push(Row {
            measure: "GET /sessions/{id}, 64 connections, 100k stored".into(),
            peerd: p,
            base: b,
            unit: "/s",
            goal: Goal::RatioAtLeast(0.5),
        });
    }
    if cfg.wants("list") {
        for (what, query) in [
            ("status (Failed, 1%)", "status=Failed"),
            ("status (Down, 3%)", "status=Down"),
            ("router (rtr7, 5%)", "router=rtr7"),
        ] {
            let mut per_page = Vec::new();
            for _ in 0..cfg.rounds {
                per_page.push(list_ms(&d, query));
            }
            rows.push(Row {
                measure: format!("list by {what}, 100k stored, 100 a page"),
                peerd: per_page,
                base: vec![],
                unit: "ms/page",
                goal: Goal::AtMost(5.0),
            });
        }
    }
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

/// GET /sessions/{random id} rounds, alternating the bare route (serving
/// `bodies`) and `d`, 64 connections: (peerd, bare) rates a round.
fn get_rounds(
    cfg: &Cfg,
    d: &Daemon,
    bodies: HashMap<String, axum::body::Bytes>,
    ids_env: &[(&str, String)],
    what: &str,
) -> (Vec<f64>, Vec<f64>) {
    let bare = bare::BareServer::start(bodies);
    let (mut p, mut b) = (Vec::new(), Vec::new());
    for r in 0..cfg.rounds {
        let wb = daemon::wrk_url(&bare.url, "", GET_LUA, 64, 2, cfg.secs, ids_env);
        let wp = wrk(d, GET_LUA, 64, 2, cfg.secs, ids_env);
        assert_eq!(wp.errors, 0);
        assert_eq!(wb.errors, 0);
        println!(
            "{what}: round {r}: bare {:.0}/s, peerd {:.0}/s",
            wb.rate(),
            wp.rate()
        );
        b.push(wb.rate());
        p.push(wp.rate());
    }
    (p, b)
}

/// GETs every id (4 threads, keep-alive); the answers by id.
fn get_all(d: &Daemon, ids: &[String]) -> HashMap<String, axum::body::Bytes> {
    let chunks: Vec<Vec<String>> = ids
        .chunks(ids.len().div_ceil(4))
        .map(|c| c.to_vec())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = d.url.clone();
    let key = d.key.clone();
    rt.block_on(async move {
        let http = reqwest::Client::new();
        let tasks: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (http, url, key) = (http.clone(), url.clone(), key.clone());
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for id in chunk {
                        let r = http
                            .get(format!("{url}/sessions/{id}"))
                            .bearer_auth(&key)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                        out.push((id, r.bytes().await.unwrap()));
                    }
                    out
                })
            })
            .collect();
        let mut map = HashMap::new();
        for t in tasks {
            map.extend(t.await.unwrap());
        }
        map
    })
}

/// Milliseconds per page, paging `GET /admin/sessions?<query>` 10 pages
/// deep (median page).
fn list_ms(d: &Daemon, query: &str) -> f64 {
    let addr = d.authority().to_string();
    let mut times = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..10 {
        let path = match &next {
            Some(t) => format!("/admin/sessions?{query}&max_results=100&next_token={t}"),
            None => format!("/admin/sessions?{query}&max_results=100"),
        };
        let t0 = Instant::now();
        let (st, body) = http(&addr, "GET", &path, &d.key, None).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["sessions"].as_array().map(|a| a.len()),
            Some(100),
            "{query}"
        );
        next = v["next_token"].as_str().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    median(&times)
}

/// A busy run: peerd on the 1k seed writes 100k sessions (POSTs, 32
/// connections) -> RSS just after; stopped (SIGTERM) and started again ->
/// time from the start to the first 200 of a GET.
fn busy_rows(cfg: &Cfg, root: &Path, small: &Seed) -> Vec<Row> {
    let big = small;
    let (mut rss, mut cold) = (Vec::new(), Vec::new());
    let probe = format!("/sessions/{}", big.ids[big.ids.len() / 2]);
    for r in 0..cfg.rounds {
        let dir = fresh(root, big, "run-busy");
        let d = Daemon::start(&dir, &big.key);
        let mut written = 0u64;
        let t0 = Instant::now();
        let mut run = 0;
        while written < 100_000 {
            let env = [("PEERD_BENCH_RUN", run.to_string())];
            let w = wrk(&d, POST_LUA, 32, 2, 5, &env);
            assert_eq!(w.errors, 0);
            written += w.requests;
            run += 1;
        }
        let mib = d.rss_mib();
        d.stop();
        let (d2, took) = cold_start(&dir, &big.key, &probe);
        println!(
            "busy round {r}: wrote {written} in {:.1} s, RSS {mib:.1} MiB; cold start {:.0} ms",
            t0.elapsed().as_secs_f64(),
            took.as_secs_f64() * 1000.0
        );
        rss.push(mib);
        cold.push(took.as_secs_f64() * 1000.0);
        d2.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }
    vec![
        Row {
            measure: "RSS just after writing 100k (through the API)".into(),
            peerd: rss,
            base: vec![],
            unit: "MiB",
            goal: Goal::AtMost(150.0),
        },
        Row {
            measure: "cold start to the first 200, 100k stored, after that busy run".into(),
            peerd: cold,
            base: vec![],
            unit: "ms",
            goal: Goal::AtMost(100.0),
        },
    ]
}

//! Provisioning benchmark (not a test): prints figures, asserts nothing.
//!
//! 1. For 1, 10 and 100 sessions posted in one request to a real
//!    `peerd serve` whose router is the lab's FRR: the time from POST to
//!    every session `Configured`, and peerd's own share of it (that time
//!    minus the time spent in router round trips, which the worker counts
//!    in `peerd_router_ms_total`).
//! 2. Render throughput: neighbors rendered per second for the frr and
//!    bird2 platforms.
//!
//! Run with the lab up: `sudo scripts/bench.sh` (or `sudo
//! tests/lab/lab-up.sh` then `cargo bench --bench provision`).

use peerd::inventory::Inventory;
use peerd::model::Session;
use peerd::platform::{Op, Profiles};
use peerd::render::{render_batch, TemplateEnv};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

fn lab_env() -> BTreeMap<String, String> {
    let dir = std::env::var("PEERD_LAB_DIR").unwrap_or_else(|_| "/tmp/peerd-lab".into());
    let text = std::fs::read_to_string(format!("{dir}/lab.env")).unwrap_or_else(|e| {
        panic!("{dir}/lab.env: {e}; start the lab first (sudo scripts/bench.sh)")
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('\'').to_string(),
            )
        })
        .collect()
}

fn inventory_yaml(lab: &BTreeMap<String, String>) -> String {
    let g = |k: &str| lab[&format!("PEERD_LAB_{k}")].clone();
    json!({
        "asn": 65001,
        "routers": [{
            "name": "rtr", "platform": "frr", "host": g("HOST"), "port": g("RTR_PORT").parse::<u16>().unwrap(),
            "user": g("USER"), "credential": {"key_file": g("SSH_KEY")},
            "host_key": {"known_hosts": g("KNOWN_HOSTS")},
            "import_policy": g("RTR_POLICY_IN"), "export_policy": g("RTR_POLICY_OUT"),
        }],
        "locations": [{"id": "pdb:ix:1", "type": "public", "name": "Bench-IX", "router": "rtr",
            "prefixes": [g("LAN_V4"), g("LAN_V6")], "our_ips": [g("RTR_V4"), g("RTR_V6")]}],
        "policy": {"approval": "auto", "allow_private_asns": true, "max_sessions_per_request": 100},
    })
    .to_string()
}

struct Peerd {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    url: String,
    key: String,
    http: reqwest::Client,
}

async fn start(lab: &BTreeMap<String, String>) -> Peerd {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("inventory.yaml"), inventory_yaml(lab)).unwrap();
    std::fs::write(
        d.join("peerd.yaml"),
        format!(
            "listen: 127.0.0.1:0\ndata_dir: data\ninventory: inventory.yaml\noperator_keys_file: keys.yaml\n\
             templates_dir: {r}/templates\ndrivers_dir: {r}/drivers\nlimits:\n  requests_per_minute: 0\n\
             worker:\n  tick_ms: 50\n  poll_interval_ms: 60000\n",
            r = root.display()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_peerd");
    let out = std::process::Command::new(bin)
        .current_dir(d)
        .args(["key", "add", "bench", "--config", "peerd.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut child = tokio::process::Command::new(bin)
        .current_dir(d)
        .args(["serve", "--config", "peerd.yaml"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let url = line
        .strip_prefix("peerd listening on ")
        .unwrap()
        .to_string();
    Peerd {
        _child: child,
        _dir: dir,
        url,
        key,
        http: reqwest::Client::new(),
    }
}

impl Peerd {
    async fn call(&self, m: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let st = resp.status().as_u16();
        (st, resp.json().await.unwrap_or(Value::Null))
    }

    async fn router_ms(&self) -> u64 {
        let t = self
            .http
            .get(format!("{}/admin/metrics", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        t.lines()
            .find_map(|l| l.strip_prefix("peerd_router_ms_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn wait_all(&self, ids: &[String], want: Option<&str>) {
        for id in ids {
            loop {
                let (st, b) = self
                    .call(reqwest::Method::GET, &format!("/sessions/{id}"), None)
                    .await;
                let done = match want {
                    Some(w) => b["status"] == w,
                    None => st == 404,
                };
                if done {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn provision_run(p: &Peerd, n: usize) -> (Duration, Duration) {
    let body: Vec<Value> = (0..n)
        .map(|i| {
            json!({"local_asn": 65002, "local_ip": format!("192.0.2.{}", 20 + i), "peer_asn": 65001,
                   "peer_ip": "192.0.2.1", "location": {"id": "pdb:ix:1", "type": "public"}})
        })
        .collect();
    let router_before = p.router_ms().await;
    let t0 = Instant::now();
    let (st, b) = p
        .call(reqwest::Method::POST, "/sessions", Some(json!(body)))
        .await;
    assert_eq!(st, 200, "{b}");
    let ids: Vec<String> = b["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap().to_string())
        .collect();
    p.wait_all(&ids, Some("Configured")).await;
    let total = t0.elapsed();
    let router = Duration::from_millis(p.router_ms().await - router_before);
    for id in &ids {
        p.call(reqwest::Method::DELETE, &format!("/sessions/{id}"), None)
            .await;
    }
    p.wait_all(&ids, None).await;
    (total, total.saturating_sub(router))
}

fn render_throughput(platform: &str) -> f64 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inv: Inventory = Inventory::from_yaml(
        &format!(
            r#"asn: 65001
routers:
  - {{name: r, platform: {platform}, host: 127.0.0.1, user: u, credential: {{key_file: /k}},
      host_key: {{key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench"}},
      import_policy: IN, export_policy: OUT}}
locations:
  - {{id: "pdb:ix:1", type: public, name: B, router: r, prefixes: [198.51.100.0/23, "2001:db8::/64"], our_ips: [198.51.100.1]}}
policy: {{max_sessions_per_request: 100}}
"#
        ),
        "bench",
    )
    .unwrap();
    let profiles = Profiles::load(&root.join("drivers")).unwrap();
    let env = TemplateEnv::load(&root.join("templates")).unwrap();
    let batch: Vec<Session> = (0..100u32)
        .map(|i| {
            let local = format!("198.51.100.{}", 2 + i).parse().unwrap();
            Session {
                seq: u64::from(i),
                ..Session::sample(
                    "r",
                    "pdb:ix:1",
                    (64512 + i, local),
                    (65001, "198.51.100.1".parse().unwrap()),
                )
            }
        })
        .collect();
    let t0 = Instant::now();
    let mut rendered = 0usize;
    while t0.elapsed() < Duration::from_secs(2) {
        let p = render_batch(&env, &profiles, Op::Add, &batch, &inv).unwrap();
        rendered += p.session_ids.len();
    }
    rendered as f64 / t0.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this
    // binary is only built and smoke-run, so it measures nothing there
    if !std::env::args().any(|a| a == "--bench") {
        println!("provision bench: run with `cargo bench --bench provision` (lab up)");
        return;
    }
    for platform in ["frr", "bird2"] {
        println!(
            "render throughput ({platform}): {:.0} neighbors/s",
            render_throughput(platform)
        );
    }
    let lab = lab_env();
    let p = start(&lab).await;
    println!("sessions  POST->Configured  peerd's share (excl. router apply)");
    for n in [1usize, 10, 100] {
        let (total, own) = provision_run(&p, n).await;
        println!(
            "{n:>8}  {:>14.3}s  {:>14.3}s",
            total.as_secs_f64(),
            own.as_secs_f64()
        );
    }
}

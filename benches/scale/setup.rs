//! The bench's files and stores: the inventory (20 routers that refuse
//! connections, so the poller reads fail at once and nothing is pushed),
//! the settings, an operator key, and stores seeded through the `Store`
//! API with a realistic mix of statuses.

use peerd::model::{new_id, now_ms, Asn, RequestRecord, Session, SessionStatus};
use peerd::store::{Inserted, SledStore, Store, TransitionOpts};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Routers (and locations, one each) in the bench inventory.
pub const ROUTERS: u32 = 20;

/// The inventory: router `rtrN` serves location `pdb:ix:N` on
/// `2001:db8:N::/64`, our address `2001:db8:N::1`. Port 1 on loopback
/// refuses every connection.
pub fn inventory_yaml() -> String {
    let mut s = String::from("asn: 65001\nrouters:\n");
    for n in 1..=ROUTERS {
        s.push_str(&format!(
            "  - {{name: rtr{n}, platform: frr, host: 127.0.0.1, port: 1, user: bench, \
             credential: {{key_file: /nonexistent/key}}, \
             host_key: {{key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench\"}}}}\n"
        ));
    }
    s.push_str("locations:\n");
    for n in 1..=ROUTERS {
        s.push_str(&format!(
            "  - {{id: \"pdb:ix:{n}\", type: public, name: IX{n}, router: rtr{n}, \
             prefixes: [\"2001:db8:{n:x}::/64\"], our_ips: [\"2001:db8:{n:x}::1\"]}}\n"
        ));
    }
    s.push_str(
        "policy: {approval: manual, allow_private_asns: true, max_sessions_per_request: 100}\n",
    );
    s
}

/// Settings: no PeeringDB (no sync, nothing reachable), no rate limit,
/// the poller every 5 s (its default).
pub fn settings_yaml(extra: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\ndata_dir: data\ninventory: inventory.yaml\n\
         operator_keys_file: keys.yaml\ntemplates_dir: {r}/templates\ndrivers_dir: {r}/drivers\n\
         peeringdb: {{sync_interval_secs: 0, api_base: \"http://127.0.0.1:1\", auth_base: \"http://127.0.0.1:1\"}}\n\
         limits: {{requests_per_minute: 0, max_connections: 1024}}\n{extra}",
        r = env!("CARGO_MANIFEST_DIR")
    )
}

/// A run directory: settings, inventory, an operator key (returned).
pub fn make_dir(dir: &Path, extra_settings: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("inventory.yaml"), inventory_yaml()).unwrap();
    std::fs::write(dir.join("peerd.yaml"), settings_yaml(extra_settings)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerd"))
        .current_dir(dir)
        .args(["key", "add", "bench", "--config", "peerd.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A copy of `from` at `to` (the store must be closed).
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let st = std::process::Command::new("cp")
        .args(["-a"])
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

/// The neighbor address of seeded session `i` at location `loc`.
fn seeded_ip(loc: u32, i: u32) -> std::net::IpAddr {
    format!("2001:db8:{loc:x}:0:1:0:{:x}:{:x}", i >> 16, i & 0xffff)
        .parse()
        .unwrap()
}

/// What seeded session `i` ends as: 4% Pending, 4% Configured, 3% Down,
/// 1% Failed, the rest Established.
fn fate(i: u32) -> SessionStatus {
    match i % 100 {
        0..=3 => SessionStatus::Pending,
        4..=7 => SessionStatus::Configured,
        8..=10 => SessionStatus::Down,
        11 => SessionStatus::Failed,
        _ => SessionStatus::Established,
    }
}

fn opts(expect: SessionStatus) -> TransitionOpts {
    TransitionOpts {
        actor: "seed".into(),
        expect: vec![expect],
        ..Default::default()
    }
}

/// Seeds `n` sessions into the store in `dir/data` through the `Store`
/// API, from several threads: requests of 100, every session of router
/// `i % 20`, pushed through the worker's steps to its fate. Returns the
/// session ids.
pub fn seed(dir: &Path, n: u32) -> Vec<String> {
    seed_store(Arc::new(SledStore::open(&dir.join("data")).unwrap()), n)
}

/// [`seed`] into any store.
pub fn seed_store<S: Store>(st: Arc<S>, n: u32) -> Vec<String> {
    let threads = 8u32;
    let per = n.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let st = st.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let lo = t * per;
                let hi = ((t + 1) * per).min(n);
                let mut i = lo;
                while i < hi {
                    let end = (i + 100).min(hi);
                    ids.extend(seed_request(&*st, i, end));
                    i = end;
                }
                ids
            })
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        ids.extend(h.join().unwrap());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(st.durable()).unwrap();
    ids
}

/// Sessions `lo..hi` as one request, then each to its fate.
fn seed_request<S: Store>(st: &S, lo: u32, hi: u32) -> Vec<String> {
    use SessionStatus::*;
    let asn = 64512 + lo / 100 % 400;
    let req = RequestRecord {
        request_id: new_id(),
        requester_asn: Asn(asn),
        created_by: "operator:bench".into(),
        created_ms: now_ms(),
        return_url: None,
        session_ids: Vec::new(),
    };
    let sessions: Vec<Session> = (lo..hi)
        .map(|i| {
            let loc = i % ROUTERS + 1;
            let mut s = Session::sample(
                &format!("rtr{loc}"),
                &format!("pdb:ix:{loc}"),
                (asn, seeded_ip(loc, i)),
                (65001, format!("2001:db8:{loc:x}::1").parse().unwrap()),
            );
            s.request_id = req.request_id.clone();
            s.created_by = "operator:bench".into();
            s.status = if fate(i) == Pending {
                Pending
            } else {
                Approved
            };
            s
        })
        .collect();
    let out = st.insert_request(&req, sessions).unwrap();
    let mut ids = Vec::new();
    for (i, r) in (lo..hi).zip(out) {
        let Inserted::New(s) = r else {
            panic!("seed: session {i} not new: {r:?}")
        };
        ids.push(s.session_id.clone());
        let want = fate(i);
        if want == Pending {
            continue;
        }
        let id = &s.session_id;
        st.transition(id, Provisioning, opts(Approved)).unwrap();
        st.mark_pushed(std::slice::from_ref(id)).unwrap();
        st.transition(id, Configured, opts(Provisioning)).unwrap();
        match want {
            Established => {
                st.transition(id, Established, opts(Configured)).unwrap();
            }
            Down => {
                st.transition(id, Established, opts(Configured)).unwrap();
                st.transition(id, Down, opts(Established)).unwrap();
            }
            Failed => {
                st.transition(id, Failed, opts(Configured)).unwrap();
            }
            _ => {}
        }
    }
    // the Provision jobs: claimed and done, as the worker would
    loop {
        let jobs = st.claim(now_ms(), 600_000, "seed", 1000, &[]).unwrap();
        if jobs.is_empty() {
            break;
        }
        for j in jobs {
            let token = j.lease.as_ref().map(|l| l.token).unwrap_or(0);
            st.complete(j.job_id, token).unwrap();
        }
    }
    ids
}

/// A fresh temporary directory for the bench (under the target dir's
/// filesystem, like a real data directory).
pub fn bench_root() -> PathBuf {
    let base = std::env::var_os("PEERD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let d = base.join(format!("peerd-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

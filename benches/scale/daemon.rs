//! Running `peerd serve` (the release binary) for the bench, reading its
//! RSS, and driving it with wrk.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `peerd serve` in its own directory.
pub struct Daemon {
    child: Child,
    pub url: String,
    pub key: String,
}

impl Daemon {
    /// Starts peerd in `dir` (settings `peerd.yaml`) and waits for its
    /// "listening" line.
    pub fn start(dir: &Path, key: &str) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_peerd"))
            .current_dir(dir)
            .args(["serve", "--config", "peerd.yaml"])
            .env(
                "RUST_LOG",
                std::env::var("PEERD_BENCH_LOG").unwrap_or("info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("peerd.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("peerd listening on ")
            .unwrap_or_else(|| panic!("peerd did not start: {line:?}; see {}", dir.display()))
            .to_string();
        Daemon {
            child,
            url,
            key: key.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size now, MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.pid())
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }

    /// `host:port` of the API.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://").trim_end_matches('/')
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Starts peerd in `dir` and times the first 200 of `GET path`, from the
/// spawn on (1 ms polls).
pub fn cold_start(dir: &Path, key: &str, path: &str) -> (Daemon, Duration) {
    let t0 = Instant::now();
    let d = Daemon::start(dir, key);
    let addr = d.authority().to_string();
    loop {
        if http_status(&addr, "GET", path, key, None) == 200 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no 200 within 60 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    (d, t0.elapsed())
}

/// One HTTP/1.1 request on a fresh connection; the status (0 on error).
pub fn http_status(addr: &str, method: &str, path: &str, key: &str, body: Option<&str>) -> u16 {
    http(addr, method, path, key, body)
        .map(|r| r.0)
        .unwrap_or(0)
}

/// One HTTP/1.1 request on a fresh connection: status and body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    Ok((status, body))
}

/// What a wrk run reports (through the Lua `done` hook).
#[derive(Debug, Default, Clone)]
pub struct WrkOut {
    pub requests: u64,
    pub secs: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Answers that were not 2xx, plus socket errors.
    pub errors: u64,
}

impl WrkOut {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

const DONE_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"#;

/// The Lua script of GET /sessions/{random id} (ids from the file in
/// `PEERD_BENCH_IDS`).
pub const GET_LUA: &str = r#"
local ids = {}
for line in io.lines(os.getenv("PEERD_BENCH_IDS")) do ids[#ids + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PEERD_BENCH_KEY")
local prefix = os.getenv("PEERD_BENCH_PREFIX") or "/sessions/"
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
"#;

/// The Lua script of POST /sessions: one new session per request, every
/// neighbor address fresh (thread number and counter in it), spread over
/// the 20 locations. `PEERD_BENCH_DELAY_MS` > 0 paces each connection.
pub const POST_LUA: &str = r#"
local threads = 0
setup = function(thread) thread:set("tid", threads); threads = threads + 1 end
wrk.method = "POST"
wrk.path = "/sessions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PEERD_BENCH_KEY")
local run = tonumber(os.getenv("PEERD_BENCH_RUN") or "0")
local pace = tonumber(os.getenv("PEERD_BENCH_DELAY_MS") or "0")
local n = 0
request = function()
  n = n + 1
  local loc = (n % 20) + 1
  local body = string.format(
    '[{"local_asn":%d,"local_ip":"2001:db8:%x:0:2:%x:%x:%x","peer_asn":65001,' ..
    '"peer_ip":"2001:db8:%x::1","location":{"id":"pdb:ix:%d","type":"public"}}]',
    64512 + (n % 400), loc, run * 16 + tid, math.floor(n / 65536), n % 65536, loc, loc)
  return wrk.format(nil, nil, nil, body)
end
if pace > 0 then delay = function() return pace end end
"#;

/// Runs wrk against `d` with `script`; `env` adds variables for it.
pub fn wrk(
    d: &Daemon,
    script: &str,
    conns: u32,
    threads: u32,
    secs: u64,
    env: &[(&str, String)],
) -> WrkOut {
    wrk_url(&d.url, &d.key, script, conns, threads, secs, env)
}

pub fn wrk_url(
    url: &str,
    key: &str,
    script: &str,
    conns: u32,
    threads: u32,
    secs: u64,
    env: &[(&str, String)],
) -> WrkOut {
    let file = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
    std::fs::write(file.path(), format!("{script}\n{DONE_LUA}")).unwrap();
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &threads.to_string(),
        "-c",
        &conns.to_string(),
        "-d",
        &format!("{secs}s"),
        "--timeout",
        "30s",
        "-s",
    ])
    .arg(file.path())
    .arg(url.trim_end_matches('/'))
    .env("PEERD_BENCH_KEY", key);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRK "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no summary: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    WrkOut {
        requests: v[0] as u64,
        secs: v[1] / 1e6,
        p99_us: v[3],
        max_us: v[4],
        errors: v[5] as u64,
    }
}

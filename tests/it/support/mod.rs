//! Test harness: the real `peerd` binary as a child process on a free
//! loopback port, with a temp data dir and test inventory, a stand-in
//! PeeringDB, and a small JSON HTTP client.

#![allow(dead_code)]

pub mod inventory;
pub mod pdb;
pub mod remote;
pub mod store;
pub mod webdriver;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub use inventory::{router, InventoryBuilder};
pub use pdb::{profile, FakePdb, Mode};
pub use store::{fresh_pg_url, store_url, store_yaml};

/// Peer A: AS64600 (token `tok-a`), peer B: AS64601 (`tok-b`).
pub const TOK_A: &str = "tok-a";
pub const TOK_B: &str = "tok-b";
/// Read-only member of AS64602: filtered out by `required_perms: 2`.
pub const TOK_RO: &str = "tok-ro";
/// Acts for AS64603 and AS64604.
pub const TOK_MULTI: &str = "tok-multi";
pub const ASN_A: u32 = 64600;
pub const ASN_B: u32 = 64601;
pub const OUR_ASN: u32 = 65001;

/// The stand-in PeeringDB with the test tokens loaded.
pub async fn fake_pdb() -> FakePdb {
    let p = FakePdb::start().await;
    p.add_token(TOK_A, profile(1, &[(ASN_A, 15, 15)]));
    p.add_token(TOK_B, profile(2, &[(ASN_B, 15, 15)]));
    p.add_token(TOK_RO, profile(3, &[(64602, 1, 0)]));
    p.add_token(TOK_MULTI, profile(4, &[(64603, 15, 0), (64604, 3, 0)]));
    p
}

/// What a peerd instance is started with.
#[derive(Clone, Debug)]
pub struct Options {
    pub approval: &'static str,
    pub allow_private: bool,
    pub base_path: &'static str,
    pub max_body_bytes: usize,
    pub requests_per_minute: u32,
    pub pdb_url: String,
    /// Run the provisioning worker (off for API tests: no routers there).
    pub worker: bool,
    /// Inventory text instead of [`InventoryBuilder::api`] (lab tests).
    pub inventory_yaml: Option<String>,
    /// Extra `worker:` settings lines (indented by two spaces).
    pub worker_yaml: String,
    /// `peeringdb.api_base` (e.g. a `PdbStandin`); `None` keeps the default,
    /// which is never contacted while `pdb_sync_secs` is 0.
    pub pdb_api: Option<String>,
    /// `peeringdb.sync_interval_secs` (default 0: no schedule).
    pub pdb_sync_secs: u64,
    /// `peeringdb.timeout_secs` (default 2).
    pub pdb_timeout_secs: u64,
    /// Extra `peeringdb:` settings lines (indented by two spaces).
    pub pdb_yaml: String,
    /// Extra environment of the peerd process.
    pub env: Vec<(String, String)>,
    /// Directory holding `templates/` and `drivers/` (default: the repo).
    pub platform_root: Option<PathBuf>,
    /// Extra `limits:` settings lines (indented by two spaces).
    pub limits_yaml: String,
    /// `RLIMIT_NOFILE` (soft = hard) the peerd process starts with.
    pub nofile: Option<u64>,
    /// A command `peerd serve ...` runs under (it ends by exec'ing its
    /// arguments), e.g. `unshare` to give the store a filesystem of its own.
    pub wrap: Vec<String>,
    /// Extra top-level settings (e.g. an `outbound:` section).
    pub extra_yaml: String,
    /// The `store:` section instead of [`store_yaml`]'s (several
    /// instances on one database).
    pub store_yaml: Option<String>,
}

impl Options {
    pub fn new(pdb: &FakePdb) -> Options {
        Options {
            approval: "auto",
            allow_private: true,
            base_path: "/",
            max_body_bytes: 64 * 1024,
            requests_per_minute: 0,
            pdb_url: pdb.url(),
            worker: false,
            inventory_yaml: None,
            worker_yaml: String::new(),
            pdb_api: None,
            pdb_sync_secs: 0,
            pdb_timeout_secs: 2,
            pdb_yaml: String::new(),
            env: Vec::new(),
            platform_root: None,
            limits_yaml: String::new(),
            nofile: None,
            wrap: Vec::new(),
            extra_yaml: String::new(),
            store_yaml: None,
        }
    }
}

/// A running `peerd serve` (killed on drop) and its files.
pub struct Peerd {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub key: String,
    pub http: reqwest::Client,
    env: Vec<(String, String)>,
    nofile: Option<u64>,
    wrap: Vec<String>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_peerd")
}

/// Removes every `PEERD_*` variable so the host's environment cannot leak in.
pub fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("PEERD_") {
            cmd.env_remove(k);
        }
    }
}

impl Peerd {
    /// Writes config, inventory and an operator key (`peerd key add`), then starts.
    pub async fn start(o: &Options) -> Peerd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("inventory.yaml"),
            o.inventory_yaml
                .clone()
                .unwrap_or_else(|| InventoryBuilder::api(o.approval, o.allow_private).yaml()),
        )
        .unwrap();
        // no graceful-shutdown wait unless a test asks for one
        let drain = if o.worker_yaml.contains("drain_secs:") {
            ""
        } else {
            "  drain_secs: 0\n"
        };
        let worker_yaml = format!(
            "{drain}{}{}",
            store::lease_yaml(&o.worker_yaml),
            o.worker_yaml
        );
        let cfg = format!(
            r#"listen: 127.0.0.1:0
base_path: "{base}"
data_dir: {d}/data
inventory: {d}/inventory.yaml
operator_keys_file: {d}/operator-keys.yaml
templates_dir: {root}/templates
drivers_dir: {root}/drivers
worker:
  enabled: {worker}
{worker_yaml}
peeringdb:
  auth_base: {pdb}
  required_perms: 2
  cache_ttl_secs: 300
  timeout_secs: {pdb_timeout}
  sync_interval_secs: {pdb_sync}
{pdb_api}{pdb_yaml}
limits:
  max_body_bytes: {mb}
  requests_per_minute: {rpm}
  request_timeout_secs: 20
{limits_yaml}
{store_yaml}
{extra_yaml}"#,
            base = o.base_path,
            d = d.display(),
            pdb = o.pdb_url,
            mb = o.max_body_bytes,
            rpm = o.requests_per_minute,
            root = o.platform_root.clone().unwrap_or_else(repo_root).display(),
            worker = o.worker,
            pdb_timeout = o.pdb_timeout_secs,
            pdb_sync = o.pdb_sync_secs,
            pdb_api = o
                .pdb_api
                .as_ref()
                .map(|a| format!("  api_base: {a}\n"))
                .unwrap_or_default(),
            pdb_yaml = o.pdb_yaml,
            limits_yaml = o.limits_yaml,
            store_yaml = match &o.store_yaml {
                Some(y) => y.clone(),
                None => store_yaml().await,
            },
            extra_yaml = o.extra_yaml,
        );
        std::fs::write(d.join("peerd.yaml"), cfg).unwrap();
        let key = cli(d, &["key", "add", "noc", "--config", "peerd.yaml"]).await;
        assert!(key.status.success(), "key add: {}", key.stderr);
        let key = key.stdout.trim().to_string();
        let mut p = Peerd {
            child: None,
            dir,
            url: String::new(),
            key,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            env: o.env.clone(),
            nofile: o.nofile,
            wrap: o.wrap.clone(),
        };
        p.spawn().await;
        p
    }

    /// Starts the daemon again after [`Peerd::kill`] (same data dir).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "peerd is still running");
        self.spawn().await;
    }

    /// Runs `peerd ARGS --config peerd.yaml` in the instance's directory.
    pub async fn cli(&self, args: &[&str]) -> CliOut {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--config", "peerd.yaml"]);
        cli(self.dir.path(), &full).await
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn spawn(&mut self) {
        let d = self.dir.path().to_path_buf();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("peerd.log"))
            .unwrap();
        let mut cmd = match self.wrap.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        clean_env(&mut cmd);
        cmd.current_dir(&d)
            .args(["serve", "--config", "peerd.yaml"])
            .env("RUST_LOG", "info")
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(n) = self.nofile {
            // SAFETY: only setrlimit (async-signal-safe) runs in the child.
            unsafe {
                cmd.pre_exec(move || set_nofile(n, n));
            }
        }
        let mut child = cmd.spawn().expect("spawn peerd");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(l) = lines.next_line().await.unwrap() {
                if let Some(u) = l.strip_prefix("peerd listening on ") {
                    return Some(u.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(url) = url else {
            let _ = child.start_kill();
            panic!("peerd did not start; log:\n{}", self.log());
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.url = url;
        self.child = Some(child);
    }

    /// The daemon's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// SIGKILL, no chance to flush anything.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.start_kill().unwrap();
            c.wait().await.unwrap();
        }
    }

    /// SIGTERM, then waits (at most `within`) for the process to exit.
    pub async fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("peerd is running");
        let pid = c.id().expect("pid") as libc::pid_t;
        // SAFETY: kill sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        match tokio::time::timeout(within, c.wait()).await {
            Ok(st) => st.expect("wait"),
            Err(_) => {
                let _ = c.start_kill();
                panic!("peerd did not stop within {within:?}; log:\n{}", self.log());
            }
        }
    }

    /// Kills (SIGKILL) and starts again on the same data dir.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("peerd.log")).unwrap_or_default()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut r = self.http.request(method, format!("{}{}", self.url, path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        Resp::from(r.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, token: &str, body: Vec<u8>, ctype: &str) -> Resp {
        let r = self
            .http
            .post(format!("{}{}", self.url, path))
            .bearer_auth(token)
            .header("content-type", ctype)
            .body(body);
        Resp::from(r.send().await.expect("request")).await
    }

    /// `host:port` the daemon listens on.
    pub fn hostport(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        rest.split('/').next().unwrap().to_string()
    }

    /// The base path part of the URL (`""` or `/peering`).
    pub fn base(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        rest.find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or_default()
    }

    /// Sends a raw HTTP/1.1 request (ending with `Connection: close`) and
    /// returns the status and the (de-chunked if needed) body.
    pub async fn raw(&self, request: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = self.url.trim_start_matches("http://");
        let hostport = rest.split('/').next().unwrap();
        let mut s = tokio::net::TcpStream::connect(hostport).await.unwrap();
        // The server may answer (and close) before all of the body is sent.
        let _ = s.write_all(request.as_bytes()).await;
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    /// Runs `peerd admin --url .. --key .. ARGS`.
    pub async fn admin_cli(&self, args: &[&str]) -> CliOut {
        let mut full = vec!["admin", "--url", &self.url, "--key", &self.key];
        full.extend_from_slice(args);
        cli(self.dir.path(), &full).await
    }
}

/// Sets this process's `RLIMIT_NOFILE`.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
pub fn set_nofile(soft: u64, hard: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the one struct passed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Raises this (test) process's soft descriptor limit to its hard limit;
/// returns the new soft limit.
pub fn raise_own_nofile() -> u64 {
    peerd::api::listen::raise_nofile_limit()
        .expect("descriptor limit")
        .soft
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A finished HTTP exchange.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Sends a prepared request.
    pub async fn send(r: reqwest::RequestBuilder) -> Resp {
        Resp::from(r.send().await.expect("request")).await
    }

    async fn from(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts the status, with the body in the message.
    #[track_caller]
    pub fn expect(&self, s: u16) -> &Resp {
        assert_eq!(self.status.as_u16(), s, "body: {}", self.text);
        self
    }

    /// Asserts the stable error body and returns its field names.
    #[track_caller]
    pub fn error_names(&self) -> Vec<String> {
        let errs = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no error body: {}", self.text));
        assert!(!errs.is_empty(), "empty errors: {}", self.text);
        for e in errs {
            let obj = e.as_object().expect("error item object");
            assert_eq!(obj.len(), 2, "error item keys: {e}");
            assert!(e["name"].is_string(), "{e}");
            let msgs = e["errors"].as_array().expect("messages");
            assert!(
                !msgs.is_empty() && msgs.iter().all(|m| m.is_string()),
                "{e}"
            );
        }
        errs.iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Output of a CLI run.
pub struct CliOut {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `peerd` binary with `args` in `dir`.
pub async fn cli(dir: &Path, args: &[&str]) -> CliOut {
    let mut cmd = Command::new(bin());
    clean_env(&mut cmd);
    let out = cmd
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run peerd");
    CliOut {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A session body in draft orientation (`local_*` = requester).
pub fn sess(asn: u32, ip: &str, our_ip: &str, loc: &str) -> Value {
    serde_json::json!({
        "local_asn": asn,
        "local_ip": ip,
        "peer_asn": OUR_ASN,
        "peer_ip": our_ip,
        "peer_type": "public",
        "location": {"id": loc, "type": "public"},
    })
}

/// The repository root (for the shipped example files).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped platforms: one per profile in the repository's `drivers/`
/// (the file stem), sorted. A platform added there is tested everywhere
/// this list is used, with no Rust change.
pub fn shipped_platforms() -> Vec<String> {
    platforms_in(&repo_root().join("drivers"))
}

/// The platforms of a drivers directory (`*.yaml` file stems), sorted.
pub fn platforms_in(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml") && p.is_file())
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no profiles in {}", dir.display());
    out
}

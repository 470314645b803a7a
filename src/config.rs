//! Daemon settings: a YAML file (`peerd.yaml`), then `PEERD_*` environment
//! overrides, then command-line flags. Every field has a default, so
//! `peerd serve` with no arguments runs.

mod irr;
mod remote;
mod store;

pub use irr::IrrSettings;
pub use remote::{
    check_url, OutboundSettings, RemoteAuth, RemoteDialect, RemotePeer, SecretPolicy,
};
pub use store::{StoreBackend, StoreSettings};

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// All settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Base path of the Peering API routes (`/` or e.g. `/api`).
    pub base_path: String,
    /// Where the embedded store lives.
    pub data_dir: PathBuf,
    /// Which store: sled in `data_dir` (default) or PostgreSQL.
    pub store: StoreSettings,
    pub inventory: PathBuf,
    pub templates_dir: PathBuf,
    pub drivers_dir: PathBuf,
    /// File of operator API keys (names + SHA-256 hashes), written by
    /// `peerd key add`.
    pub operator_keys_file: PathBuf,
    pub peeringdb: PeeringDbSettings,
    pub limits: Limits,
    /// The provisioning worker and the BGP state poller.
    pub worker: WorkerSettings,
    /// Log lines of `peerd serve`: `text`, or `json` (one JSON object per
    /// line). `--log-format` overrides it.
    pub log_format: LogFormat,
    /// A second listener for `/metrics`, `/healthz` and `/readyz` (at its
    /// root), e.g. on an address only the monitoring system reaches; then
    /// `/metrics` is not served on the API listener. Unset: `/metrics` is
    /// served on the API listener, under the base path.
    pub metrics_listen: Option<SocketAddr>,
    /// The operator console at `{base_path}/ui`.
    pub ui: UiSettings,
    /// The asking side: remote peers and how to talk to them.
    pub outbound: OutboundSettings,
    /// Prefix filters from IRR data: how `bgpq4` is run.
    pub irr: IrrSettings,
}

/// The operator console (`{base_path}/ui`): on by default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// Serve the console. Off: every `/ui` path is an unknown route (404).
    pub enabled: bool,
    /// How long a console login lasts, in seconds (the session cookie
    /// expires then, whatever the operator does).
    pub session_ttl_secs: u64,
    /// The `Secure` flag of the session cookie: `auto` sets it when the
    /// request came over HTTPS through a proxy that says so
    /// (`X-Forwarded-Proto: https` or `Forwarded: proto=https`), `always`
    /// sets it on every answer (put peerd behind HTTPS then), `never`
    /// does not.
    pub secure_cookie: SecureCookie,
}

/// When the console's session cookie is `Secure`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecureCookie {
    #[default]
    Auto,
    Always,
    Never,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            enabled: true,
            session_ttl_secs: 12 * 3600,
            secure_cookie: SecureCookie::Auto,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not a log format (text or json)")),
        }
    }
}

/// PeeringDB endpoints and how its answers are used.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeeringDbSettings {
    /// OAuth server base (`/profile/v1`, `/oauth2/authorize/`, `/oauth2/token/`).
    pub auth_base: String,
    /// REST API base (`/net`, `/ix`, `/netixlan`, ...).
    pub api_base: String,
    /// `perms` bits a network entry must carry for its ASN to count
    /// (1 read, 2 update, 4 create, 8 delete). 0 = any affiliation.
    pub required_perms: u32,
    /// Use `manage_peering_sessions` instead of `perms` for the check.
    pub use_manage_peering_sessions: bool,
    /// How long a verified token's ASNs are cached.
    pub cache_ttl_secs: u64,
    /// Timeout for one PeeringDB HTTP call.
    pub timeout_secs: u64,
    /// Name of the environment variable that holds a PeeringDB API key
    /// (sent as `Authorization: Api-Key <key>`; anonymous access is
    /// throttled harder). Unset or empty variable = anonymous. The key
    /// itself never goes in this file.
    #[serde(default = "default_pdb_api_key_env")]
    pub api_key_env: String,
    /// Seconds between scheduled syncs of the PeeringDB data for our
    /// exchanges (0 = no schedule; `peerd peeringdb sync` only).
    #[serde(default = "default_pdb_sync_interval")]
    pub sync_interval_secs: u64,
    /// Sync at start when there is no data yet, or it is older than the
    /// interval. Off: the first sync comes one interval after start (or
    /// when the stored data gets that old). No effect with
    /// `sync_interval_secs: 0`, which syncs never on its own.
    #[serde(default = "default_true")]
    pub sync_at_start: bool,
    /// Margin added to a peer's `info_prefixes4`/`info_prefixes6` to get its
    /// max-prefix limit, in percent (10 = limit is 110% of the published
    /// count, rounded up).
    #[serde(default = "default_pdb_margin")]
    pub max_prefix_margin_percent: u32,
    /// An absolute margin added on top of the percentage (a count of
    /// prefixes), so small networks get headroom too.
    #[serde(default)]
    pub max_prefix_margin_abs: u32,
    /// Refuse requests from networks that have no `netixlan` row at the
    /// requested exchange in the PeeringDB data.
    #[serde(default)]
    pub require_presence: bool,
    /// If non-empty, the requester's PeeringDB `policy_general` (`Open`,
    /// `Selective`, `Restrictive`, `No`) must be one of these
    /// (case-insensitive) for automatic approval; other requests are left
    /// to an operator. Empty = `policy_general` is not looked at.
    #[serde(default)]
    pub policy_general_allowed: Vec<String>,
    // ---- peer login (authorization code + PKCE; see `auth`) ----
    /// OAuth client id of peerd's PeeringDB application. Empty = peer
    /// login disabled.
    pub client_id: String,
    /// NAME of the environment variable holding the client secret (the
    /// secret itself never goes in this file). Empty = public client.
    pub client_secret_env: String,
    /// Our callback URL as registered at PeeringDB, e.g.
    /// `https://peering.example.net/auth/callback`.
    pub redirect_url: String,
    /// Scopes asked for; `profile` and `networks` are needed for the ASNs.
    pub scopes: Vec<String>,
    /// Lifetime of a peerd token issued after login, in seconds.
    pub token_ttl_secs: u64,
}

fn default_pdb_api_key_env() -> String {
    "PEERD_PDB_API_KEY".into()
}
fn default_pdb_sync_interval() -> u64 {
    3600
}
fn default_true() -> bool {
    true
}
fn default_pdb_margin() -> u32 {
    10
}

impl PeeringDbSettings {
    /// True when `policy_general_allowed` is empty or holds `value`
    /// (case-insensitive).
    pub fn policy_general_allows(&self, value: &str) -> bool {
        self.policy_general_allowed.is_empty()
            || self
                .policy_general_allowed
                .iter()
                .any(|a| a.eq_ignore_ascii_case(value))
    }
}

/// Bounds on what a client may send.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest page (`max_results` is clamped to 1..=this, at most 100).
    pub max_page: usize,
    /// Seconds after which a request is answered 503.
    pub request_timeout_secs: u64,
    /// Requests per minute one caller may make (token bucket with a burst
    /// of the same size); beyond it the answer is 429. 0 = no limit.
    pub requests_per_minute: u32,
    /// Seconds a connection may take to send a complete request head,
    /// counted from its opening or from the first byte of a later request;
    /// then it is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle between requests.
    pub idle_timeout_secs: u64,
    /// Most HTTP connections at once. 0 = automatic: up to 4096, and
    /// always below the descriptor limit minus a reserve (a quarter of it,
    /// at least 256) kept for routers, the store and PeeringDB. At the cap
    /// a new connection closes the longest-idle one.
    pub max_connections: usize,
    /// PeeringDB checks of bearer tokens peerd has not seen yet, per minute
    /// and client address (IPv4 address, IPv6 /64), with a burst of the
    /// same size; beyond it the answer is 429 with `Retry-After`. Known and
    /// recently refused tokens are answered from a cache and do not count.
    /// 0 = no limit.
    pub token_lookups_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().expect("static address"),
            base_path: "/".into(),
            data_dir: "data".into(),
            store: StoreSettings::default(),
            inventory: "inventory.yaml".into(),
            templates_dir: "templates".into(),
            drivers_dir: "drivers".into(),
            operator_keys_file: "operator-keys.yaml".into(),
            peeringdb: PeeringDbSettings::default(),
            limits: Limits::default(),
            worker: WorkerSettings::default(),
            log_format: LogFormat::Text,
            metrics_listen: None,
            ui: UiSettings::default(),
            outbound: OutboundSettings::default(),
            irr: IrrSettings::default(),
        }
    }
}

impl Default for PeeringDbSettings {
    fn default() -> Self {
        PeeringDbSettings {
            auth_base: "https://auth.peeringdb.com".into(),
            api_base: "https://www.peeringdb.com/api".into(),
            required_perms: 0,
            use_manage_peering_sessions: false,
            cache_ttl_secs: 300,
            timeout_secs: 10,
            api_key_env: default_pdb_api_key_env(),
            sync_interval_secs: default_pdb_sync_interval(),
            sync_at_start: true,
            max_prefix_margin_percent: default_pdb_margin(),
            max_prefix_margin_abs: 0,
            require_presence: false,
            policy_general_allowed: Vec::new(),
            client_id: String::new(),
            client_secret_env: "PEERD_PDB_CLIENT_SECRET".into(),
            redirect_url: String::new(),
            scopes: ["openid", "profile", "email", "networks"]
                .map(String::from)
                .to_vec(),
            token_ttl_secs: 24 * 3600,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_page: 100,
            request_timeout_secs: 30,
            requests_per_minute: 600,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 0,
            token_lookups_per_minute: 10,
        }
    }
}

/// Worker and poller settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Run the worker and poller inside `peerd serve`.
    pub enabled: bool,
    /// How long a claimed job is leased before another worker may take it.
    pub lease_ms: u64,
    /// How often the queue is looked at.
    pub tick_ms: u64,
    /// Most jobs claimed at once (per tick, over all routers).
    pub max_batch: usize,
    /// Attempts before a session is marked `Failed`.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How often each router is read (BGP state, and its running config
    /// for drift).
    pub poll_interval_ms: u64,
    /// Re-provision a neighbor of a configured session that is missing from
    /// its router's running config (seen on two polls in a row). Off: the
    /// drift is reported (status_detail, audit, metric) but not repaired.
    pub repair_drift: bool,
    /// Graceful shutdown (RFC 8326): how long a neighbor's routes stay
    /// tagged GRACEFUL_SHUTDOWN (65535:0) before it is removed (a `DELETE`
    /// of an `Established` session) or shut down (maintenance). 0 = remove
    /// or shut down at once.
    pub drain_secs: u64,
    /// How often maintenance windows are looked at (start, end, sessions
    /// that reached their router meanwhile).
    pub maintenance_tick_ms: u64,
    /// TEST HOOK, not for production (hidden: not in the example settings):
    /// a NETCONF push waits this long right after its confirmed commit was
    /// accepted, before it verifies and confirms, so a test can kill peerd
    /// between the confirmed and the confirming commit. 0 (the default)
    /// disables it. Keep it below the platform's `confirmed_commit_secs`,
    /// or the server rolls the change back by itself.
    #[serde(skip_serializing_if = "is_zero")]
    pub netconf_pause_after_confirmed_commit_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            enabled: true,
            lease_ms: 120_000,
            tick_ms: 250,
            max_batch: 200,
            max_attempts: 5,
            backoff_base_ms: 2_000,
            backoff_max_ms: 300_000,
            poll_interval_ms: 5_000,
            repair_drift: true,
            drain_secs: 300,
            maintenance_tick_ms: 2_000,
            netconf_pause_after_confirmed_commit_ms: 0,
        }
    }
}

impl WorkerSettings {
    /// Delay before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32) -> u64 {
        let shift = attempt.saturating_sub(1).min(20);
        self.backoff_base_ms
            .saturating_mul(1u64 << shift)
            .min(self.backoff_max_ms)
    }
}

/// Settings load failure.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {err}")]
    Read { file: String, err: std::io::Error },
    #[error("{file}: {err}")]
    Parse { file: String, err: String },
    #[error("environment variable {var}: {err}")]
    Env { var: String, err: String },
}

impl Settings {
    /// Loads `path` if given (an explicit path must exist); otherwise
    /// `peerd.yaml` in the working directory if present; otherwise defaults.
    /// Then applies environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut s = match path {
            Some(p) => Self::from_file(p)?,
            None if Path::new("peerd.yaml").exists() => Self::from_file(Path::new("peerd.yaml"))?,
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        Ok(s)
    }

    pub fn from_file(p: &Path) -> Result<Settings, ConfigError> {
        let file = p.display().to_string();
        let text = std::fs::read_to_string(p).map_err(|err| ConfigError::Read {
            file: file.clone(),
            err,
        })?;
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        let mut s: Settings = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
            file,
            err: e.to_string(),
        })?;
        // Relative paths in a settings file are relative to that file.
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            for path in [
                &mut s.data_dir,
                &mut s.inventory,
                &mut s.templates_dir,
                &mut s.drivers_dir,
                &mut s.operator_keys_file,
            ] {
                if path.is_relative() {
                    *path = dir.join(&*path);
                }
            }
            if let Some(path) = s.store.password_file.as_mut().filter(|p| p.is_relative()) {
                *path = dir.join(&*path);
            }
            for r in &mut s.outbound.remotes {
                if let RemoteAuth::BearerFile(path) = &mut r.auth {
                    if path.is_relative() {
                        *path = dir.join(&*path);
                    }
                }
            }
        }
        Ok(s)
    }

    /// Applies `PEERD_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env {
                var: var.into(),
                err: e.to_string(),
            })
        }
        if let Some(v) = get("PEERD_LISTEN") {
            self.listen = parse("PEERD_LISTEN", &v)?;
        }
        if let Some(v) = get("PEERD_BASE_PATH") {
            self.base_path = v;
        }
        if let Some(v) = get("PEERD_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("PEERD_STORE_URL").filter(|v| !v.is_empty()) {
            self.store.backend = StoreBackend::Postgres;
            self.store.url = v;
        }
        if let Some(v) = get("PEERD_STORE_PASSWORD_FILE").filter(|v| !v.is_empty()) {
            self.store.password_file = Some(v.into());
        }
        if let Some(v) = get("PEERD_STORE_PASSWORD_ENV").filter(|v| !v.is_empty()) {
            self.store.password_env = Some(v);
        }
        if let Some(v) = get("PEERD_INVENTORY") {
            self.inventory = v.into();
        }
        if let Some(v) = get("PEERD_TEMPLATES_DIR") {
            self.templates_dir = v.into();
        }
        if let Some(v) = get("PEERD_DRIVERS_DIR") {
            self.drivers_dir = v.into();
        }
        if let Some(v) = get("PEERD_OPERATOR_KEYS_FILE") {
            self.operator_keys_file = v.into();
        }
        if let Some(v) = get("PEERD_PDB_AUTH_BASE") {
            self.peeringdb.auth_base = v;
        }
        if let Some(v) = get("PEERD_PDB_API_BASE") {
            self.peeringdb.api_base = v;
        }
        if let Some(v) = get("PEERD_LOG_FORMAT") {
            self.log_format = parse("PEERD_LOG_FORMAT", &v)?;
        }
        if let Some(v) = get("PEERD_METRICS_LISTEN") {
            self.metrics_listen = if v.trim().is_empty() {
                None
            } else {
                Some(parse("PEERD_METRICS_LISTEN", &v)?)
            };
        }
        if let Some(v) = get("PEERD_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse("PEERD_MAX_BODY_BYTES", &v)?;
        }
        if let Some(v) = get("PEERD_UI") {
            self.ui.enabled = match v.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Env {
                        var: "PEERD_UI".into(),
                        err: format!("{v:?} is not on or off"),
                    })
                }
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_env() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "PEERD_LISTEN" => Some("127.0.0.1:9999".into()),
            "PEERD_DATA_DIR" => Some("/tmp/x".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.listen.port(), 9999);
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        let e = s.apply_env(|k| (k == "PEERD_LISTEN").then(|| "nope".into()));
        assert!(e.is_err());
    }

    #[test]
    fn log_format_and_metrics_listener() {
        let s: Settings =
            serde_saphyr::from_str("log_format: json\nmetrics_listen: 127.0.0.1:9100\n").unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
        assert!(serde_saphyr::from_str::<Settings>("log_format: xml\n").is_err());
        let mut d = Settings::default();
        assert_eq!(d.log_format, LogFormat::Text);
        d.apply_env(|k| (k == "PEERD_LOG_FORMAT").then(|| "JSON".into()))
            .unwrap();
        assert_eq!(d.log_format, LogFormat::Json);
        assert!(d
            .apply_env(|k| (k == "PEERD_LOG_FORMAT").then(|| "yaml".into()))
            .is_err());
    }

    #[test]
    fn the_console_is_on_unless_turned_off() {
        let d = Settings::default();
        assert!(d.ui.enabled);
        assert_eq!(d.ui.secure_cookie, SecureCookie::Auto);
        let s: Settings =
            serde_saphyr::from_str("ui:\n  enabled: false\n  secure_cookie: always\n").unwrap();
        assert!(!s.ui.enabled);
        assert_eq!(s.ui.secure_cookie, SecureCookie::Always);
        assert_eq!(s.ui.session_ttl_secs, 12 * 3600);
        assert!(serde_saphyr::from_str::<Settings>("ui:\n  colour: blue\n").is_err());
        let mut e = Settings::default();
        e.apply_env(|k| (k == "PEERD_UI").then(|| "off".into()))
            .unwrap();
        assert!(!e.ui.enabled);
        assert!(e
            .apply_env(|k| (k == "PEERD_UI").then(|| "maybe".into()))
            .is_err());
    }

    #[test]
    fn unknown_keys_refused() {
        let e = serde_saphyr::from_str::<Settings>("listen: 127.0.0.1:1\nbogus: 1\n");
        assert!(e.is_err());
    }
}

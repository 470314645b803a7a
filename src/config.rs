//! Daemon settings: a YAML file (`peerd.yaml`), then `PEERD_*` environment
//! overrides, then command-line flags. Every field has a default, so
//! `peerd serve` with no arguments runs.

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
    pub inventory: PathBuf,
    pub templates_dir: PathBuf,
    pub drivers_dir: PathBuf,
    /// File of operator API keys (names + SHA-256 hashes), written by
    /// `peerd key add`.
    pub operator_keys_file: PathBuf,
    pub peeringdb: PeeringDbSettings,
    pub limits: Limits,
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().expect("static address"),
            base_path: "/".into(),
            data_dir: "data".into(),
            inventory: "inventory.yaml".into(),
            templates_dir: "templates".into(),
            drivers_dir: "drivers".into(),
            operator_keys_file: "operator-keys.yaml".into(),
            peeringdb: PeeringDbSettings::default(),
            limits: Limits::default(),
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
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_page: 100,
            request_timeout_secs: 30,
        }
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
        serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
            file,
            err: e.to_string(),
        })
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
        if let Some(v) = get("PEERD_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse("PEERD_MAX_BODY_BYTES", &v)?;
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
    fn unknown_keys_refused() {
        let e = serde_saphyr::from_str::<Settings>("listen: 127.0.0.1:1\nbogus: 1\n");
        assert!(e.is_err());
    }
}

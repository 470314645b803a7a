//! Which store backs the daemon: the embedded sled store in `data_dir`
//! (the default), or a PostgreSQL database that several instances share.
//! The database password is given by reference only (a file or an
//! environment variable), never in the URL or this file.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `store:` section of the settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `sled` (embedded, one process, in `data_dir`) or `postgres`.
    pub backend: StoreBackend,
    /// PostgreSQL connection URL, e.g.
    /// `postgres://peerd@db.example.net:5432/peerd` or, over a unix
    /// socket, `postgres://peerd@/peerd?host=/run/postgresql`. A password
    /// in it is refused: use `password_file` or `password_env`.
    pub url: String,
    /// File holding the database password (one line; trailing newline
    /// ignored).
    pub password_file: Option<PathBuf>,
    /// NAME of the environment variable holding the database password.
    pub password_env: Option<String>,
    /// Most connections one instance opens.
    pub pool_size: usize,
    /// Timeout for opening one connection, in seconds.
    pub connect_timeout_secs: u64,
    /// sled's page cache, MiB: what the store keeps in memory (records
    /// beyond it are read back from the file, usually from the OS page
    /// cache). peerd's resident memory is well above it (README,
    /// Performance). 32 (the default) holds every session record of a
    /// 100k-session store (compact, about 170 bytes with its key), which
    /// the poller reads every interval. sled only.
    pub cache_mb: u64,
    /// Let the kernel back peerd's memory with transparent huge pages
    /// (where the system enables them). Off (the default), peerd turns
    /// them off for itself at start (`PR_SET_THP_DISABLE`), as databases
    /// usually advise: with them, the allocator's partly used 2 MiB pages
    /// held about 45 MiB more at 100k sessions, for a cold start some tens
    /// of milliseconds shorter (README, Performance).
    pub huge_pages: bool,
}

/// The store implementations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    #[default]
    Sled,
    Postgres,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            backend: StoreBackend::Sled,
            url: String::new(),
            password_file: None,
            password_env: None,
            pool_size: 8,
            connect_timeout_secs: 10,
            cache_mb: 32,
            huge_pages: false,
        }
    }
}

impl StoreSettings {
    /// The PostgreSQL settings for `url` (tests, `peerd store copy`).
    pub fn postgres(url: &str) -> StoreSettings {
        StoreSettings {
            backend: StoreBackend::Postgres,
            url: url.to_string(),
            ..Default::default()
        }
    }

    /// The password from `password_file` or `password_env`, if either is
    /// set. The error names the file or variable, never the value.
    pub fn password(&self) -> Result<Option<String>, String> {
        if let Some(p) = &self.password_file {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("store.password_file {}: {e}", p.display()))?;
            let pw = text.trim_end_matches(['\r', '\n']).to_string();
            if pw.is_empty() || pw.len() > 1024 {
                return Err(format!(
                    "store.password_file {}: empty or too long",
                    p.display()
                ));
            }
            return Ok(Some(pw));
        }
        if let Some(var) = self.password_env.as_deref().filter(|v| !v.is_empty()) {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() && v.len() <= 1024 => Ok(Some(v)),
                _ => Err(format!(
                    "store.password_env: the variable {var} is unset, empty or too long"
                )),
            };
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_unknown_fields() {
        let s: StoreSettings = serde_saphyr::from_str(
            "backend: postgres\nurl: postgres://peerd@/peerd?host=/run/postgresql\npassword_env: PGPW\n",
        )
        .unwrap();
        assert_eq!(s.backend, StoreBackend::Postgres);
        assert_eq!(s.pool_size, 8);
        assert!(serde_saphyr::from_str::<StoreSettings>("password: x\n").is_err());
        assert_eq!(StoreSettings::default().backend, StoreBackend::Sled);
    }

    #[test]
    fn password_errors_never_carry_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "hunter2\n").unwrap();
        let s = StoreSettings {
            password_file: Some(f),
            ..Default::default()
        };
        assert_eq!(s.password().unwrap().as_deref(), Some("hunter2"));
        let s = StoreSettings {
            password_env: Some("PEERD_TEST_NO_SUCH_VAR_14".into()),
            ..Default::default()
        };
        let e = s.password().unwrap_err();
        assert!(e.contains("PEERD_TEST_NO_SUCH_VAR_14"), "{e}");
    }
}

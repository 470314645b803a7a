//! Operator API keys: a YAML list of `{name, sha256}` in
//! `settings.operator_keys_file`, written by `peerd key add`.
//!
//! Keys are 256 random bits shown once at creation; only their SHA-256 is
//! stored and compared (in constant time). The daemon re-reads the file when
//! its modification time changes. It looks at most once a second, and at
//! once when a key it does not know comes in: a key added while it runs
//! works at once, a key removed stops working within a second.
//! Operators may act for any ASN and use the admin routes.

use super::{ct_eq, token_hash, AuthError, Verifier};
use crate::inventory::is_safe_name;
use crate::model::Caller;
use base64::Engine;
use futures::future::BoxFuture;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How long the keys file's modification time is trusted unchecked.
const RECHECK: Duration = Duration::from_secs(1);

/// Every generated key starts with this, so peerd never forwards an
/// operator key to PeeringDB by mistake.
pub const KEY_PREFIX: &str = "peerd_op_";

/// One entry of the keys file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorKey {
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    pub sha256: String,
}

/// Problems with the keys file.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("{file}: cannot read: {err}")]
    Read { file: String, err: std::io::Error },
    #[error("{file}: cannot write: {err}")]
    Write { file: String, err: std::io::Error },
    #[error("{file}: {err}")]
    Parse { file: String, err: String },
    #[error("{0}")]
    Name(String),
}

/// Reads the keys file. A missing file means no keys.
pub fn load_keys(path: &Path) -> Result<Vec<OperatorKey>, KeysError> {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(err) => return Err(KeysError::Read { file, err }),
    };
    parse_keys(&text, &file)
}

/// Parses and checks the keys file's text; `file` names it in errors.
pub fn parse_keys(text: &str, file: &str) -> Result<Vec<OperatorKey>, KeysError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(vec![]);
    }
    let keys: Vec<OperatorKey> = serde_saphyr::from_str(text).map_err(|e| KeysError::Parse {
        file: file.into(),
        err: e.to_string(),
    })?;
    for (i, k) in keys.iter().enumerate() {
        if !is_safe_name(&k.name) {
            return Err(KeysError::Parse {
                file: file.into(),
                err: format!("[{i}].name: {:?} is not a valid key name", k.name),
            });
        }
        if decode_hash(&k.sha256).is_none() {
            return Err(KeysError::Parse {
                file: file.into(),
                err: format!("[{i}].sha256: expected 64 hex characters"),
            });
        }
    }
    Ok(keys)
}

fn decode_hash(h: &str) -> Option<[u8; 32]> {
    let v = hex::decode(h.trim()).ok()?;
    v.try_into().ok()
}

/// A fresh key: the prefix and 256 random bits, base64url.
pub fn generate_key() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// Creates a key named `name`, appends its hash to the keys file (created
/// with mode 0600 if missing) and returns the key, which is never stored.
pub fn add_key(path: &Path, name: &str) -> Result<String, KeysError> {
    if !is_safe_name(name) {
        return Err(KeysError::Name(format!(
            "{name:?} is not a valid key name (letters, digits, - _ . : up to 64)"
        )));
    }
    let keys = load_keys(path)?;
    if keys.iter().any(|k| k.name == name) {
        return Err(KeysError::Name(format!(
            "a key named {name:?} already exists in {}",
            path.display()
        )));
    }
    let key = generate_key();
    let hash = hex::encode(token_hash(&key));
    let file = path.display().to_string();
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# peerd operator API keys: name and SHA-256 of each key (written by `peerd key add`).\n"
                .to_string()
        }
        Err(err) => return Err(KeysError::Read { file, err }),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    // An empty flow list (`[]`) cannot be followed by block items.
    if text.lines().any(|l| l.trim() == "[]") {
        text = text
            .lines()
            .filter(|l| l.trim() != "[]")
            .map(|l| format!("{l}\n"))
            .collect();
    }
    text.push_str(&format!("- name: {name}\n  sha256: {hash}\n"));
    write_private(path, &text).map_err(|err| KeysError::Write { file, err })?;
    Ok(key)
}

/// Writes `text` to `path` atomically (temp file + rename), mode 0600.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

struct Loaded {
    mtime: Option<SystemTime>,
    /// When `mtime` was read.
    checked: Option<Instant>,
    keys: Vec<([u8; 32], String)>,
}

/// When [`OperatorVerifier`] looks at the keys file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Read it whatever its modification time says (at start).
    Reload,
    /// Its modification time, now.
    Now,
    /// Its modification time, if not looked at within [`RECHECK`].
    IfDue,
}

/// Verifies operator keys against the keys file.
pub struct OperatorVerifier {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl OperatorVerifier {
    /// Loads the file now; a broken file is an error at startup.
    pub fn new(path: PathBuf) -> Result<Self, KeysError> {
        let v = OperatorVerifier {
            path,
            loaded: Mutex::new(Loaded {
                mtime: None,
                checked: None,
                keys: vec![],
            }),
        };
        v.reload_if_changed(Check::Reload)?;
        Ok(v)
    }

    /// How many keys are loaded.
    pub fn len(&self) -> usize {
        self.loaded.lock().map(|l| l.keys.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn reload_if_changed(&self, check: Check) -> Result<(), KeysError> {
        if check == Check::IfDue {
            let l = self.loaded.lock().expect("keys lock");
            if l.checked.is_some_and(|t| t.elapsed() < RECHECK) {
                return Ok(());
            }
        }
        let checked = Instant::now();
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        {
            let mut l = self.loaded.lock().expect("keys lock");
            if check != Check::Reload && l.mtime == mtime {
                l.checked = Some(checked);
                return Ok(());
            }
        }
        let keys = load_keys(&self.path)?
            .into_iter()
            .filter_map(|k| decode_hash(&k.sha256).map(|h| (h, k.name)))
            .collect();
        let mut l = self.loaded.lock().expect("keys lock");
        *l = Loaded {
            mtime,
            checked: Some(checked),
            keys,
        };
        Ok(())
    }

    /// The key's name if `token` is a known operator key.
    fn lookup(&self, token: &str) -> Option<String> {
        let h = token_hash(token);
        self.find(&h, Check::IfDue).or_else(|| {
            // not known (yet): a key just added must work at once
            if token.starts_with(KEY_PREFIX) {
                self.find(&h, Check::Now)
            } else {
                None
            }
        })
    }

    fn find(&self, h: &[u8; 32], check: Check) -> Option<String> {
        if let Err(e) = self.reload_if_changed(check) {
            // Keep the keys we had; say so without any key material.
            tracing::warn!(error = %e, "operator keys file not reloaded");
        }
        let l = self.loaded.lock().expect("keys lock");
        let mut found = None;
        for (kh, name) in &l.keys {
            if ct_eq(kh, h) && found.is_none() {
                found = Some(name.clone());
            }
        }
        found
    }
}

impl Verifier for OperatorVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        _from: std::net::IpAddr,
    ) -> BoxFuture<'a, Result<Option<Caller>, AuthError>> {
        Box::pin(async move {
            match self.lookup(token) {
                Some(name) => Ok(Some(Caller {
                    principal: format!("operator:{name}"),
                    asns: Default::default(),
                    is_operator: true,
                })),
                None if token.starts_with(KEY_PREFIX) => {
                    Err(AuthError::Invalid("unknown operator key".into()))
                }
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LO: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn add_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let k1 = add_key(&p, "noc").unwrap();
        let k2 = add_key(&p, "alice").unwrap();
        assert!(k1.starts_with(KEY_PREFIX) && k1.len() > 40);
        assert!(add_key(&p, "noc").is_err());
        assert!(add_key(&p, "bad name").is_err());
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains(&k1) && !text.contains(&k2));
        assert_eq!(load_keys(&p).unwrap().len(), 2);

        let v = OperatorVerifier::new(p.clone()).unwrap();
        let c = v.verify(&k2, LO).await.unwrap().unwrap();
        assert_eq!(c.principal, "operator:alice");
        assert!(c.is_operator);
        assert!(matches!(
            v.verify("peerd_op_nope", LO).await,
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(v.verify("some-pdb-token", LO).await, Ok(None));
    }

    #[tokio::test]
    async fn added_keys_work_at_once_and_removed_ones_stop_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let k1 = add_key(&p, "noc").unwrap();
        let v = OperatorVerifier::new(p.clone()).unwrap();
        assert!(v.verify(&k1, LO).await.unwrap().is_some());
        // added while running: works on its first use
        let k2 = add_key(&p, "alice").unwrap();
        assert!(v.verify(&k2, LO).await.unwrap().is_some());
        // noc's line removed: refused once the file is looked at again
        let text = std::fs::read_to_string(&p).unwrap();
        let keep: Vec<&str> = text.lines().skip_while(|l| !l.contains("alice")).collect();
        write_private(
            &p,
            &format!("- {}\n", keep.join("\n").trim_start_matches("- ")),
        )
        .unwrap();
        assert_eq!(load_keys(&p).unwrap().len(), 1);
        std::thread::sleep(RECHECK + Duration::from_millis(100));
        assert!(v.verify(&k1, LO).await.is_err());
        assert!(v.verify(&k2, LO).await.unwrap().is_some());
    }

    #[test]
    fn file_is_strict() {
        assert!(parse_keys("- name: a\n  sha256: 00\n", "k").is_err());
        let h = "0".repeat(64);
        assert!(parse_keys(&format!("- name: a\n  sha256: {h}\n  extra: 1\n"), "k").is_err());
        assert_eq!(
            parse_keys(&format!("- name: a\n  sha256: {h}\n"), "k")
                .unwrap()
                .len(),
            1
        );
        assert!(parse_keys("# nothing\n", "k").unwrap().is_empty());
    }

    #[test]
    fn missing_file_has_no_keys() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_keys(&dir.path().join("none.yaml")).unwrap().is_empty());
    }
}

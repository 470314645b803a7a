//! Operator API keys: verifying them against the keys file
//! ([`super::keyfile`]: `{name, sha256, role}` entries written by `peerd
//! key add|revoke|rotate`).
//!
//! Keys are 256 random bits shown once at creation; only their SHA-256 is
//! stored and compared (in constant time). The daemon re-reads the file when
//! it changes (another file renamed over it, or a new modification time,
//! size or inode). It looks at most once a second, and at once when a key
//! it does not know comes in: a key added while it runs works on its first
//! use, a key revoked or rotated stops working within a second.
//! Operators may act for any ASN and use the admin routes; a `viewer` key's
//! caller is [`Caller::read_only`]. The console logs operators in with
//! [`OperatorVerifier::identify`] and checks on every page that the key is
//! still there ([`OperatorVerifier::by_hash`]).

use super::keyfile::decode_hash;
pub use super::keyfile::{
    add_key, add_key_with_role, generate_key, load_keys, parse_keys, revoke_key, rotate_key,
    KeysError, OperatorKey, Role, KEY_PREFIX,
};
use super::{ct_eq, token_hash, AuthError, Verifier};
use crate::model::Caller;
use futures::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How long the keys file's modification time is trusted unchecked.
const RECHECK: Duration = Duration::from_secs(1);

/// What identifies one version of the keys file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        mtime: m.modified().ok(),
        len: m.len(),
        inode,
    })
}

struct Loaded {
    stamp: Option<Stamp>,
    /// When `stamp` was read.
    checked: Option<Instant>,
    keys: Vec<([u8; 32], String, Role)>,
}

/// A known operator key, as the console sees it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHolder {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the key.
    pub hash: [u8; 32],
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
                stamp: None,
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
        let now = stamp(&self.path);
        {
            let mut l = self.loaded.lock().expect("keys lock");
            if check != Check::Reload && l.stamp == now {
                l.checked = Some(checked);
                return Ok(());
            }
        }
        let keys = load_keys(&self.path)?
            .into_iter()
            .filter_map(|k| decode_hash(&k.sha256).map(|h| (h, k.name, k.role)))
            .collect();
        let mut l = self.loaded.lock().expect("keys lock");
        *l = Loaded {
            stamp: now,
            checked: Some(checked),
            keys,
        };
        Ok(())
    }

    /// The holder of `token` if it is a known operator key.
    fn lookup(&self, token: &str) -> Option<KeyHolder> {
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

    /// Who holds the key `token` (an operator key the file has now).
    pub fn identify(&self, token: &str) -> Option<KeyHolder> {
        if !token.starts_with(KEY_PREFIX) {
            return None;
        }
        self.lookup(token)
    }

    /// The holder of the key whose SHA-256 is `hash`, if the file (looked
    /// at now, re-read when it changed) still has it: a revoked or rotated
    /// key is gone at once. The console asks on every page, which is not
    /// the API's hot path.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Option<KeyHolder> {
        self.find(hash, Check::Now)
    }

    fn find(&self, hash: &[u8; 32], check: Check) -> Option<KeyHolder> {
        if let Err(e) = self.reload_if_changed(check) {
            // Keep the keys we had; say so without any key material.
            tracing::warn!(error = %e, "operator keys file not reloaded");
        }
        let l = self.loaded.lock().expect("keys lock");
        let mut found = None;
        for (kh, name, role) in &l.keys {
            if ct_eq(kh, hash) && found.is_none() {
                found = Some(KeyHolder {
                    name: name.clone(),
                    role: *role,
                    hash: *kh,
                });
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
                Some(k) => Ok(Some(Caller {
                    principal: format!("operator:{}", k.name),
                    asns: Default::default(),
                    is_operator: true,
                    read_only: k.role == Role::Viewer,
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
        assert!(!c.read_only);
        let k3 = add_key_with_role(&p, "watch", Role::Viewer).unwrap();
        let c = v.verify(&k3, LO).await.unwrap().unwrap();
        assert!(c.is_operator && c.read_only);
        let held = v.identify(&k3).unwrap();
        assert_eq!((held.name.as_str(), held.role), ("watch", Role::Viewer));
        assert_eq!(v.by_hash(&held.hash), Some(held.clone()));
        assert_eq!(v.identify("tok-a"), None);
        revoke_key(&p, "watch").unwrap();
        assert_eq!(v.by_hash(&held.hash), None);
    }

    #[tokio::test]
    async fn added_keys_work_at_once_and_removed_ones_stop_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let k1 = add_key(&p, "noc").unwrap();
        let v = OperatorVerifier::new(p.clone()).unwrap();
        assert!(v.verify(&k1, LO).await.unwrap().is_some());
        // added while running: works on its first use (an unknown key makes
        // the file be looked at now)
        let k2 = add_key(&p, "alice").unwrap();
        assert!(v.verify(&k2, LO).await.unwrap().is_some());
        // noc revoked: refused once the file is looked at again
        revoke_key(&p, "noc").unwrap();
        std::thread::sleep(RECHECK + Duration::from_millis(100));
        assert!(v.verify(&k1, LO).await.is_err());
        assert!(v.verify(&k2, LO).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_file_is_looked_at_at_most_once_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let noc = add_key(&p, "noc").unwrap();
        let v = OperatorVerifier::new(p.clone()).unwrap();
        assert!(v.verify(&noc, LO).await.unwrap().is_some());
        // a known key within the second: the file is not looked at, so a
        // revocation made just now is not seen yet ...
        revoke_key(&p, "noc").unwrap();
        assert!(v.verify(&noc, LO).await.unwrap().is_some());
        // ... and is after it
        std::thread::sleep(RECHECK + Duration::from_millis(100));
        assert!(v.verify(&noc, LO).await.is_err());
    }

    #[tokio::test]
    async fn revoke_and_rotate_count_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let noc = add_key(&p, "noc").unwrap();
        let alice = add_key(&p, "alice").unwrap();
        let v = OperatorVerifier::new(p.clone()).unwrap();
        assert!(v.verify(&noc, LO).await.unwrap().is_some());
        // edits that leave the size and (coarse) time alone are seen too:
        // the file is a new one (another inode)
        let new_noc = rotate_key(&p, "noc").unwrap();
        // the new key is unknown, so the file is looked at now
        assert!(v.verify(&new_noc, LO).await.unwrap().is_some());
        assert!(matches!(
            v.verify(&noc, LO).await,
            Err(AuthError::Invalid(_))
        ));
        revoke_key(&p, "alice").unwrap();
        std::thread::sleep(RECHECK + Duration::from_millis(100));
        assert!(matches!(
            v.verify(&alice, LO).await,
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(v.len(), 1);
    }
}

//! The operator keys file (`settings.operator_keys_file`): a YAML list of
//! `{name, sha256, role}`, read strictly and edited by `peerd key add|revoke|
//! rotate`.
//!
//! A key's [`Role`] is `admin` (reads and changes everything; the default,
//! so entries written before roles existed stay admins) or `viewer` (reads
//! everything an operator reads, changes nothing: the admin API's `GET`
//! routes and the console's pages, never a `POST` or `DELETE`).
//!
//! Keys are 256 random bits with the [`KEY_PREFIX`]; only their SHA-256 is
//! written. Every edit reads the file, changes the list and replaces the
//! file atomically (a new file beside it, fsynced, renamed over it, the
//! directory fsynced), keeping the file's mode, owner and group (0600 for
//! a new file), so a daemon reading it never sees half a file and keeps
//! its access. Comments in the file are not kept by an edit.

use super::token_hash;
use crate::inventory::is_safe_name;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Every generated key starts with this, so peerd never forwards an
/// operator key to PeeringDB by mistake.
pub const KEY_PREFIX: &str = "peerd_op_";

const HEADER: &str =
    "# peerd operator API keys: name and SHA-256 of each key (written by `peerd key add`).\n";

/// What an operator key may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and changes everything.
    #[default]
    Admin,
    /// Reads everything an operator reads; changes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            _ => Err(format!("{s:?} is not a role (admin or viewer)")),
        }
    }
}

/// One entry of the keys file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorKey {
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    pub sha256: String,
    /// `admin` when absent (keys written before roles existed).
    #[serde(default)]
    pub role: Role,
}

impl OperatorKey {
    /// The first 12 hex digits of the hash: names a key in listings
    /// without showing it (as peerd tokens are named).
    pub fn id(&self) -> &str {
        self.sha256.get(..12).unwrap_or(&self.sha256)
    }
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
    let mut names = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if !is_safe_name(&k.name) {
            return Err(KeysError::Parse {
                file: file.into(),
                err: format!("[{i}].name: {:?} is not a valid key name", k.name),
            });
        }
        if !names.insert(k.name.as_str()) {
            return Err(KeysError::Parse {
                file: file.into(),
                err: format!("[{i}].name: a second key named {:?}", k.name),
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

pub(crate) fn decode_hash(h: &str) -> Option<[u8; 32]> {
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

fn check_name(name: &str) -> Result<(), KeysError> {
    if is_safe_name(name) {
        Ok(())
    } else {
        Err(KeysError::Name(format!(
            "{name:?} is not a valid key name (letters, digits, - _ . : up to 64)"
        )))
    }
}

fn entry(name: &str, key: &str, role: Role) -> OperatorKey {
    OperatorKey {
        name: name.to_string(),
        sha256: hex::encode(token_hash(key)),
        role,
    }
}

/// Creates an admin key named `name` ([`add_key_with_role`]).
pub fn add_key(path: &Path, name: &str) -> Result<String, KeysError> {
    add_key_with_role(path, name, Role::Admin)
}

/// Creates a key named `name` with `role`, adds its hash to the keys file
/// (created with mode 0600 if missing) and returns the key, which is never
/// stored.
pub fn add_key_with_role(path: &Path, name: &str, role: Role) -> Result<String, KeysError> {
    check_name(name)?;
    let mut keys = load_keys(path)?;
    if keys.iter().any(|k| k.name == name) {
        return Err(KeysError::Name(format!(
            "a key named {name:?} already exists in {} (`peerd key rotate {name}` replaces it)",
            path.display()
        )));
    }
    let key = generate_key();
    keys.push(entry(name, &key, role));
    save_keys(path, &keys)?;
    Ok(key)
}

/// Removes the key `name` from the file; the daemon refuses it from its
/// next request on. Returns what was removed.
pub fn revoke_key(path: &Path, name: &str) -> Result<OperatorKey, KeysError> {
    let mut keys = load_keys(path)?;
    let i = find(&keys, path, name)?;
    let gone = keys.remove(i);
    save_keys(path, &keys)?;
    Ok(gone)
}

/// Replaces the key `name` with a fresh one of the same role (the old one
/// stops working) and returns the new key, which is never stored.
pub fn rotate_key(path: &Path, name: &str) -> Result<String, KeysError> {
    let mut keys = load_keys(path)?;
    let i = find(&keys, path, name)?;
    let key = generate_key();
    keys[i] = entry(name, &key, keys[i].role);
    save_keys(path, &keys)?;
    Ok(key)
}

fn find(keys: &[OperatorKey], path: &Path, name: &str) -> Result<usize, KeysError> {
    keys.iter().position(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        KeysError::Name(format!(
            "no key named {name:?} in {} (keys: {})",
            path.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    })
}

/// The file's text for `keys`.
fn render(keys: &[OperatorKey]) -> String {
    let mut text = HEADER.to_string();
    if keys.is_empty() {
        text.push_str("[]\n");
    }
    for k in keys {
        text.push_str(&format!(
            "- name: {}\n  sha256: {}\n  role: {}\n",
            k.name,
            k.sha256,
            k.role.as_str()
        ));
    }
    text
}

/// Writes `keys` to `path` atomically, keeping its mode and owner.
pub fn save_keys(path: &Path, keys: &[OperatorKey]) -> Result<(), KeysError> {
    let text = render(keys);
    // what we write must read back as what we meant
    debug_assert_eq!(parse_keys(&text, "rendered").ok().as_deref(), Some(keys));
    write_replacing(path, &text).map_err(|err| KeysError::Write {
        file: path.display().to_string(),
        err,
    })
}

/// Replaces `path` with `text`: a new file in the same directory (mode and
/// owner of the old file, else 0600), fsynced, renamed over the old one,
/// then the directory fsynced.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let old = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "operator-keys.yaml".into());
    let tmp = dir.join(format!(".{base}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = std::fs::remove_file(&tmp); // a leftover of a killed run of ours
    let mut f = opts.open(&tmp)?;
    let done = (|| {
        #[cfg(unix)]
        if let Some(m) = &old {
            keep_owner_and_mode(&f, m)?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

#[cfg(unix)]
fn keep_owner_and_mode(f: &std::fs::File, old: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) != (old.uid(), old.gid()) {
        std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid())).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot keep its owner and group (uid {}, gid {}): {e}; run this as its owner or as root (the file is unchanged)",
                    old.uid(),
                    old.gid()
                ),
            )
        })?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let twice = format!("- name: a\n  sha256: {h}\n- name: a\n  sha256: {h}\n");
        assert!(parse_keys(&twice, "k").is_err());
        assert!(parse_keys("# nothing\n", "k").unwrap().is_empty());
        assert!(parse_keys("[]\n", "k").unwrap().is_empty());
    }

    #[test]
    fn missing_file_has_no_keys() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_keys(&dir.path().join("none.yaml")).unwrap().is_empty());
    }

    #[test]
    fn add_revoke_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        let k1 = add_key(&p, "noc").unwrap();
        let k2 = add_key(&p, "alice").unwrap();
        assert!(k1.starts_with(KEY_PREFIX) && k1.len() > 40);
        assert!(add_key(&p, "noc").is_err());
        assert!(add_key(&p, "bad name").is_err());
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains(&k1) && !text.contains(&k2));
        let keys = load_keys(&p).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].id().len(), 12);

        let k3 = rotate_key(&p, "noc").unwrap();
        assert_ne!(k3, k1);
        let keys = load_keys(&p).unwrap();
        assert_eq!(keys[0], entry("noc", &k3, Role::Admin));
        assert_eq!(keys[1], entry("alice", &k2, Role::Admin));
        assert!(rotate_key(&p, "bob")
            .unwrap_err()
            .to_string()
            .contains("noc, alice"));

        assert_eq!(revoke_key(&p, "noc").unwrap().name, "noc");
        assert_eq!(
            load_keys(&p).unwrap(),
            vec![entry("alice", &k2, Role::Admin)]
        );
        assert!(revoke_key(&p, "noc").is_err());
        revoke_key(&p, "alice").unwrap();
        assert!(load_keys(&p).unwrap().is_empty());
        // an emptied file takes new keys
        add_key(&p, "carol").unwrap();
        assert_eq!(load_keys(&p).unwrap().len(), 1);
        // nothing left beside it
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("keys.yaml")]);
    }

    #[test]
    fn roles_default_to_admin_and_survive_rotation() {
        let h = "0".repeat(64);
        // a file written before roles existed: every key is an admin
        let old = parse_keys(&format!("- name: a\n  sha256: {h}\n"), "k").unwrap();
        assert_eq!(old[0].role, Role::Admin);
        let v = parse_keys(&format!("- name: a\n  sha256: {h}\n  role: viewer\n"), "k").unwrap();
        assert_eq!(v[0].role, Role::Viewer);
        assert!(parse_keys(&format!("- name: a\n  sha256: {h}\n  role: root\n"), "k").is_err());
        assert_eq!("Viewer".parse::<Role>(), Ok(Role::Viewer));
        assert!("root".parse::<Role>().is_err());

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        add_key(&p, "noc").unwrap();
        add_key_with_role(&p, "watch", Role::Viewer).unwrap();
        rotate_key(&p, "watch").unwrap();
        let keys = load_keys(&p).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.role).collect::<Vec<_>>(),
            [Role::Admin, Role::Viewer]
        );
    }

    #[cfg(unix)]
    #[test]
    fn edits_keep_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.yaml");
        add_key(&p, "noc").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600, "a new file is 0600");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        add_key(&p, "alice").unwrap();
        assert_eq!(mode(&p), 0o640);
        rotate_key(&p, "noc").unwrap();
        revoke_key(&p, "alice").unwrap();
        assert_eq!(mode(&p), 0o640);
    }
}

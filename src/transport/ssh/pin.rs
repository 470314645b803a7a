//! Pinned SSH host keys: an inline OpenSSH public key line, or the entries
//! for one host in a known_hosts file (plain host patterns, `*`/`?`
//! wildcards and `!` negation; hashed `|1|` entries are not supported), and
//! the russh handler that accepts only them ([`PinnedKeys`]).

use super::files::read_bounded;
use russh::client;
use russh::keys::{HashAlg, PublicKey};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Largest known_hosts file read.
const MAX_KNOWN_HOSTS_BYTES: u64 = 4 << 20;

/// `ssh-ed25519 SHA256:...`: how a key is named in errors and logs.
pub(crate) fn describe(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

/// Parses `type base64 [comment]`.
pub(crate) fn parse_key_line(line: &str) -> Result<PublicKey, String> {
    let line = line.trim();
    let mut it = line.split_whitespace();
    let (Some(kind), Some(b64)) = (it.next(), it.next()) else {
        return Err("expected an OpenSSH public key line: `<type> <base64> [comment]`".into());
    };
    let key = PublicKey::from_openssh(&format!("{kind} {b64}"))
        .map_err(|e| format!("not a valid {kind} public key: {e}"))?;
    Ok(key)
}

/// The name a known_hosts entry uses for `host` on `port`.
fn host_names(host: &str, port: u16) -> Vec<String> {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if port == 22 {
        vec![h.clone(), format!("[{h}]:22")]
    } else {
        vec![format!("[{h}]:{port}")]
    }
}

/// Glob match with `*` (any run) and `?` (one character), case-insensitive.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What a known_hosts lookup found.
#[derive(Debug)]
pub(crate) struct KnownHostsMatch {
    pub keys: Vec<PublicKey>,
    /// Hashed (`|1|...`) entries skipped because they cannot be checked.
    pub hashed_skipped: usize,
}

/// Finds the keys for `host`:`port` in known_hosts text. Lines marked
/// `@cert-authority` are ignored (host certificates are not supported);
/// keys marked `@revoked` are never returned. A matching line whose key
/// does not parse is an error (it names the line number).
pub(crate) fn lookup_known_hosts(
    text: &str,
    host: &str,
    port: u16,
) -> Result<KnownHostsMatch, String> {
    let names = host_names(host, port);
    let mut keys: Vec<PublicKey> = Vec::new();
    let mut revoked: Vec<PublicKey> = Vec::new();
    let mut hashed_skipped = 0;
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or_default();
        let mut is_revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => is_revoked = true,
                _ => continue, // @cert-authority and unknown markers
            }
            first = match fields.next() {
                Some(f) => f,
                None => continue,
            };
        }
        let patterns = first;
        let (Some(kind), Some(b64)) = (fields.next(), fields.next()) else {
            continue; // malformed line: skipped, as OpenSSH does
        };
        if patterns.starts_with("|1|") {
            hashed_skipped += 1;
            continue;
        }
        let mut hit = false;
        let mut negated = false;
        for pat in patterns.split(',') {
            if let Some(neg) = pat.strip_prefix('!') {
                if names.iter().any(|n| glob(neg, n)) {
                    negated = true;
                }
            } else if names.iter().any(|n| glob(pat, n)) {
                hit = true;
            }
        }
        if !hit || negated {
            continue;
        }
        let key = parse_key_line(&format!("{kind} {b64}"))
            .map_err(|e| format!("line {}: {e}", idx + 1))?;
        if is_revoked {
            revoked.push(key);
        } else {
            keys.push(key);
        }
    }
    keys.retain(|k| !revoked.iter().any(|r| r.key_data() == k.key_data()));
    Ok(KnownHostsMatch {
        keys,
        hashed_skipped,
    })
}

/// Reads `path` and returns the keys pinned for `host`:`port`, or an error
/// that says what was missing.
pub(crate) fn load_known_hosts(
    path: &Path,
    host: &str,
    port: u16,
) -> Result<Vec<PublicKey>, String> {
    let text = read_bounded(path, MAX_KNOWN_HOSTS_BYTES, "known_hosts file")?;
    let found = lookup_known_hosts(&text, host, port)
        .map_err(|e| format!("known_hosts file {}: {e}", path.display()))?;
    if found.keys.is_empty() {
        let name = host_names(host, port).remove(0);
        let mut msg = format!(
            "known_hosts file {} has no entry for {name}",
            path.display()
        );
        if found.hashed_skipped > 0 {
            msg.push_str(&format!(
                " ({} hashed entries were skipped: hashed known_hosts entries are not supported, \
                 add a plain `{name} <type> <key>` line or pin the key inline)",
                found.hashed_skipped
            ));
        }
        return Err(msg);
    }
    Ok(found.keys)
}

/// The russh handler: accepts only the pinned key(s) and remembers what
/// the server presented, so a mismatch can be reported with both
/// fingerprints.
pub(crate) struct PinnedKeys {
    pub(super) pinned: Vec<PublicKey>,
    pub(super) seen: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for PinnedKeys {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host certificate is judged by its bare key: we pin keys, not CAs.
        let key = key.public_key();
        let ok = self.pinned.iter().any(|p| p.key_data() == key.key_data());
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(key);
        }
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two real ed25519 public keys (test fixtures, no private halves kept).
    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K";
    const K2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOVrGvL82SVVDMBdCZ3ysTLPIyyG34R6lPKrksFygHO6";

    fn fp(line: &str) -> String {
        describe(&parse_key_line(line).unwrap())
    }

    #[test]
    fn parses_key_lines_with_and_without_comment() {
        let a = parse_key_line(&format!("{K1} root@host with spaces")).unwrap();
        let b = parse_key_line(K1).unwrap();
        assert_eq!(a.key_data(), b.key_data());
        assert!(
            describe(&a).starts_with("ssh-ed25519 SHA256:"),
            "{}",
            describe(&a)
        );
        assert!(parse_key_line("ssh-ed25519").is_err());
        assert!(parse_key_line("ssh-ed25519 AAAAnotbase64!!").is_err());
        assert!(parse_key_line("").is_err());
    }

    #[test]
    fn port_22_uses_plain_host_other_ports_brackets() {
        let kh = format!("192.0.2.10 {K1}\n[192.0.2.10]:2222 {K2}\n");
        let m = lookup_known_hosts(&kh, "192.0.2.10", 22).unwrap();
        assert_eq!(m.keys.len(), 1);
        assert_eq!(describe(&m.keys[0]), fp(K1));
        let m = lookup_known_hosts(&kh, "192.0.2.10", 2222).unwrap();
        assert_eq!(m.keys.len(), 1);
        assert_eq!(describe(&m.keys[0]), fp(K2));
        assert!(lookup_known_hosts(&kh, "192.0.2.11", 22)
            .unwrap()
            .keys
            .is_empty());
        assert!(lookup_known_hosts(&kh, "192.0.2.10", 2223)
            .unwrap()
            .keys
            .is_empty());
    }

    #[test]
    fn patterns_lists_wildcards_negation_and_case() {
        let kh = format!(
            "# comment\n\n  rtr1.example.net,192.0.2.1 {K1} c\n*.lab.example,!bad.lab.example {K2}\n"
        );
        assert_eq!(
            lookup_known_hosts(&kh, "RTR1.example.net", 22)
                .unwrap()
                .keys
                .len(),
            1
        );
        assert_eq!(
            lookup_known_hosts(&kh, "192.0.2.1", 22).unwrap().keys.len(),
            1
        );
        assert_eq!(
            lookup_known_hosts(&kh, "x.lab.example", 22)
                .unwrap()
                .keys
                .len(),
            1
        );
        assert!(lookup_known_hosts(&kh, "bad.lab.example", 22)
            .unwrap()
            .keys
            .is_empty());
        assert!(lookup_known_hosts(&kh, "lab.example", 22)
            .unwrap()
            .keys
            .is_empty());
        assert!(glob("r?r*", "rtr1"));
        assert!(!glob("r?r", "rtr1"));
        assert!(glob("*", ""));
    }

    #[test]
    fn several_keys_markers_and_revocation() {
        let kh = format!("h {K1}\nh {K2}\n@cert-authority h {K1}\n@revoked h {K2}\nh malformed\n");
        let m = lookup_known_hosts(&kh, "h", 22).unwrap();
        assert_eq!(m.keys.len(), 1);
        assert_eq!(describe(&m.keys[0]), fp(K1));
    }

    #[test]
    fn hashed_entries_are_counted_and_reported() {
        let kh = format!("|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= {K1}\n");
        let m = lookup_known_hosts(&kh, "h", 22).unwrap();
        assert!(m.keys.is_empty());
        assert_eq!(m.hashed_skipped, 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("known_hosts");
        std::fs::write(&p, kh).unwrap();
        let e = load_known_hosts(&p, "h", 22).unwrap_err();
        assert!(
            e.contains("hashed") && e.contains("not supported") && e.contains("no entry for h"),
            "{e}"
        );
        let e = load_known_hosts(&p, "h", 2222).unwrap_err();
        assert!(e.contains("[h]:2222"), "{e}");
    }

    #[test]
    fn bad_key_on_a_matching_line_is_an_error() {
        let kh = "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n";
        let e = lookup_known_hosts(kh, "h", 22).unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        // ... but only when the line is for our host.
        assert!(lookup_known_hosts(kh, "other", 22).unwrap().keys.is_empty());
    }

    #[test]
    fn missing_file_is_reported() {
        let e = load_known_hosts(Path::new("/nonexistent/known_hosts"), "h", 22).unwrap_err();
        assert!(e.contains("/nonexistent/known_hosts"), "{e}");
    }
}

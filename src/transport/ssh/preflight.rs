//! Checks of a router's credential and host key references without
//! connecting (`peerd check`): the files exist, the running user can read
//! them, their modes are safe, the password variable is set (its value is
//! never shown), the private key and the pinned host key parse, and the
//! known_hosts file has an entry for the router's `[host]:port`.
//!
//! Safe modes: no credential file or known_hosts file writable by group
//! or others (someone could swap the key peerd trusts); no private key or
//! password file readable by everyone (group-readable is fine: the
//! install lets a `peerd` group read them); no such file in a directory
//! anyone may write to without the sticky bit.

use super::credential;
use super::pin;
use crate::inventory::{Credential, HostKey, Router};
use std::path::Path;

/// Every problem found with `router`'s references, each naming the
/// inventory key and the file or variable (never a secret). Empty: all
/// good.
pub fn check_router_files(router: &Router) -> Vec<String> {
    let mut out = Vec::new();
    match &router.credential {
        Credential::KeyFile(p) => {
            mode_problems(p, "credential.key_file", true, &mut out);
        }
        Credential::PasswordFile(p) => {
            mode_problems(p, "credential.password_file", true, &mut out);
        }
        Credential::PasswordEnv(_) => {}
    }
    if let Err(e) = credential::load(&router.credential) {
        let key = match &router.credential {
            Credential::KeyFile(_) => "credential.key_file",
            Credential::PasswordFile(_) => "credential.password_file",
            Credential::PasswordEnv(_) => "credential.password_env",
        };
        push_unique(&mut out, format!("{key}: {e}"));
    }
    match &router.host_key {
        HostKey::Key(line) => {
            if let Err(e) = pin::parse_key_line(line) {
                out.push(format!("host_key.key: pinned host key: {e}"));
            }
        }
        HostKey::KnownHosts(p) => {
            mode_problems(p, "host_key.known_hosts", false, &mut out);
            if let Err(e) = pin::load_known_hosts(p, &router.host, router.port) {
                push_unique(&mut out, format!("host_key.known_hosts: {e}"));
            }
        }
    }
    out
}

/// A missing or unreadable file is reported once, by whichever check
/// sees it first.
fn push_unique(out: &mut Vec<String>, msg: String) {
    let key = msg.split(':').next().unwrap_or_default().to_string();
    let missing = |m: &str| m.contains("No such file") || m.contains("does not exist");
    if missing(&msg) && out.iter().any(|m| m.starts_with(&key) && missing(m)) {
        return;
    }
    out.push(msg);
}

#[cfg(unix)]
fn mode_problems(path: &Path, key: &str, secret: bool, out: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(format!("{key}: {shown} does not exist"));
            return;
        }
        Err(e) => {
            out.push(format!("{key}: cannot read {shown}: {e}"));
            return;
        }
    };
    if !meta.is_file() {
        out.push(format!("{key}: {shown} is not a regular file"));
        return;
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        out.push(format!(
            "{key}: {shown} is writable by {} (mode {mode:04o}): anyone who can write it can change what peerd trusts; chmod go-w",
            if mode & 0o002 != 0 { "everyone" } else { "its group" }
        ));
    }
    if secret && mode & 0o004 != 0 {
        out.push(format!(
            "{key}: {shown} is readable by everyone (mode {mode:04o}); chmod 0600 (or 0640 with a group only peerd is in)"
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::metadata(dir) {
            let dm = d.permissions().mode() & 0o7777;
            if dm & 0o022 != 0 && dm & 0o1000 == 0 {
                out.push(format!(
                    "{key}: its directory {} is writable by {} (mode {dm:04o}) without the sticky bit: anyone there can replace {shown}",
                    dir.display(),
                    if dm & 0o002 != 0 { "everyone" } else { "its group" }
                ));
            }
        }
    }
}

#[cfg(not(unix))]
fn mode_problems(path: &Path, key: &str, _secret: bool, out: &mut Vec<String>) {
    if !path.exists() {
        out.push(format!("{key}: {} does not exist", path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    const HOST_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K";
    // a throwaway key generated for these tests only
    const PRIVATE: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwAAAAJCBHEqvgRxK
rwAAAAtzc2gtZWQyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwA
AAAEA/VmZjELQSEsmt/HY04Wukt0FSkTlvHhTeRKblrZ0fnu9/kk1Fi+zjZMA8GiG0cgzt
Fvf3tUruzCwnBs9szQjAAAAACnBlZXJkLXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
";

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn router(credential: Credential, host_key: HostKey) -> Router {
        Router {
            name: "r1".into(),
            platform: "frr".into(),
            host: "127.0.0.1".into(),
            port: 2222,
            user: "peerd".into(),
            credential,
            host_key,
            import_policy: None,
            export_policy: None,
            vars: BTreeMap::new(),
        }
    }

    #[test]
    fn good_references_pass() {
        let d = tempfile::tempdir().unwrap();
        let key = write(d.path(), "id", PRIVATE, 0o600);
        let kh = write(
            d.path(),
            "known_hosts",
            &format!("[127.0.0.1]:2222 {HOST_KEY}\n"),
            0o644,
        );
        let r = router(Credential::KeyFile(key.clone()), HostKey::KnownHosts(kh));
        assert_eq!(check_router_files(&r), Vec::<String>::new());
        let r = router(Credential::KeyFile(key), HostKey::Key(HOST_KEY.into()));
        assert_eq!(check_router_files(&r), Vec::<String>::new());
    }

    #[test]
    fn each_broken_reference_is_named() {
        let d = tempfile::tempdir().unwrap();
        let key = write(d.path(), "id", PRIVATE, 0o600);
        let pinned = HostKey::Key(HOST_KEY.into());
        let one = |r: Router, needles: &[&str]| {
            let p = check_router_files(&r);
            assert_eq!(p.len(), 1, "{p:?}");
            for n in needles {
                assert!(p[0].contains(n), "{n}: {p:?}");
            }
        };
        one(
            router(Credential::KeyFile(d.path().join("nope")), pinned.clone()),
            &["credential.key_file", "nope", "does not exist"],
        );
        one(
            router(
                Credential::KeyFile(key.clone()),
                HostKey::KnownHosts(d.path().join("no_known_hosts")),
            ),
            &["host_key.known_hosts", "no_known_hosts", "does not exist"],
        );
        let var = "PEERD_TEST_PREFLIGHT_UNSET_9A1";
        one(
            router(Credential::PasswordEnv(var.into()), pinned.clone()),
            &["credential.password_env", var, "not set"],
        );
        one(
            router(
                Credential::KeyFile(key.clone()),
                HostKey::Key("ssh-ed25519 garbage!!".into()),
            ),
            &["host_key.key", "not a valid ssh-ed25519"],
        );
        let loose = write(d.path(), "loose", PRIVATE, 0o644);
        one(
            router(Credential::KeyFile(loose), pinned.clone()),
            &["credential.key_file", "readable by everyone", "0644"],
        );
        let writable = write(d.path(), "gw", PRIVATE, 0o660);
        one(
            router(Credential::KeyFile(writable), pinned.clone()),
            &["writable by its group", "0660"],
        );
        let pw = write(d.path(), "pw", "secret-pw\n", 0o666);
        let p = check_router_files(&router(Credential::PasswordFile(pw), pinned.clone()));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().all(|m| !m.contains("secret-pw")), "{p:?}");
        let other = write(
            d.path(),
            "kh_other",
            &format!("[127.0.0.1]:2223 {HOST_KEY}\n"),
            0o644,
        );
        one(
            router(Credential::KeyFile(key.clone()), HostKey::KnownHosts(other)),
            &["host_key.known_hosts", "no entry for [127.0.0.1]:2222"],
        );
        let kh_w = write(
            d.path(),
            "kh_w",
            &format!("[127.0.0.1]:2222 {HOST_KEY}\n"),
            0o666,
        );
        one(
            router(Credential::KeyFile(key), HostKey::KnownHosts(kh_w)),
            &["host_key.known_hosts", "writable by everyone"],
        );
    }

    #[test]
    fn the_password_is_never_shown() {
        let var = "PEERD_TEST_PREFLIGHT_SET_9A2";
        std::env::set_var(var, "hunter2-value");
        let r = router(
            Credential::PasswordEnv(var.into()),
            HostKey::Key(HOST_KEY.into()),
        );
        assert_eq!(check_router_files(&r), Vec::<String>::new());
        std::env::set_var(var, "");
        let p = check_router_files(&r);
        std::env::remove_var(var);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("is empty"), "{p:?}");
    }
}

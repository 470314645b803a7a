//! `peerd check` catches broken router credentials before any push (issue
//! 11): a missing key file, a missing known_hosts, an unset password
//! variable, a garbage pinned host key, unsafe modes and a known_hosts
//! without the router each fail the check, naming the router and the
//! problem; `--format json` says the same, parseably. `--connect` against
//! the lab is in `lab_check.rs`.

use crate::support::*;
use peerd::inventory::{Credential, HostKey, Router};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A throwaway ed25519 private key (tests only; nothing accepts it).
pub const TEST_PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwAAAAJCBHEqvgRxK
rwAAAAtzc2gtZWQyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwA
AAAEA/VmZjELQSEsmt/HY04Wukt0FSkTlvHhTeRKblrZ0fnu9/kk1Fi+zjZMA8GiG0cgzt
Fvf3tUruzCwnBs9szQjAAAAACnBlZXJkLXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
";
/// A real ed25519 public key (no private half kept).
pub const TEST_HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K";

pub fn write_mode(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// Settings for `routers` (each with a location of its own) in `dir`,
/// with the repository's drivers and templates; returns the settings path.
pub fn check_config(dir: &Path, routers: Vec<Router>) -> String {
    let mut b = InventoryBuilder::new(OUR_ASN);
    for r in routers {
        b = b.fault_router(r);
    }
    let inv = dir.join("inventory.yaml");
    std::fs::write(&inv, b.yaml()).unwrap();
    let root = repo_root();
    let cfg = dir.join("peerd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "inventory: {}\ndrivers_dir: {}\ntemplates_dir: {}\noperator_keys_file: {}\n",
            inv.display(),
            root.join("drivers").display(),
            root.join("templates").display(),
            dir.join("operator-keys.yaml").display(),
        ),
    )
    .unwrap();
    cfg.display().to_string()
}

fn good_router(dir: &Path, name: &str) -> Router {
    let key = write_mode(dir, &format!("{name}_id"), TEST_PRIVATE_KEY, 0o600);
    let kh = write_mode(
        dir,
        &format!("{name}_known_hosts"),
        &format!("[127.0.0.1]:2222 {TEST_HOST_KEY}\n"),
        0o644,
    );
    let mut r = router(name, "frr", 2222);
    r.credential = Credential::KeyFile(key);
    r.host_key = HostKey::KnownHosts(kh);
    r
}

#[tokio::test]
async fn check_names_each_broken_credential() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // all good first
    let cfg = check_config(dir, vec![good_router(dir, "edge1")]);
    let out = cli(dir, &["check", "--config", &cfg]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("router credentials: OK (1 router(s)"),
        "{}",
        out.stdout
    );

    type Break = Box<dyn Fn(&Path, &mut Router)>;
    let cases: Vec<(&str, Break, Vec<&str>)> = vec![
        (
            "missing key file",
            Box::new(|d, r| r.credential = Credential::KeyFile(d.join("no_such_key"))),
            vec!["credential.key_file", "no_such_key", "does not exist"],
        ),
        (
            "missing known_hosts",
            Box::new(|d, r| r.host_key = HostKey::KnownHosts(d.join("no_known_hosts"))),
            vec!["host_key.known_hosts", "no_known_hosts", "does not exist"],
        ),
        (
            "unset password_env",
            Box::new(|_, r| {
                r.credential = Credential::PasswordEnv("PEERD_TEST_CHECK_NO_SUCH_VAR".into())
            }),
            vec![
                "credential.password_env",
                "PEERD_TEST_CHECK_NO_SUCH_VAR",
                "not set",
            ],
        ),
        (
            "garbage pinned host key",
            Box::new(|_, r| r.host_key = HostKey::Key("ssh-ed25519 AAAAgarbage!!".into())),
            vec!["host_key.key", "not a valid ssh-ed25519 public key"],
        ),
        (
            "world-readable key",
            Box::new(|d, r| {
                let p = write_mode(d, "loose_id", TEST_PRIVATE_KEY, 0o644);
                r.credential = Credential::KeyFile(p);
            }),
            vec!["credential.key_file", "readable by everyone", "0644"],
        ),
        (
            "group-writable known_hosts",
            Box::new(|d, r| {
                let p = write_mode(
                    d,
                    "gw_known_hosts",
                    &format!("[127.0.0.1]:2222 {TEST_HOST_KEY}\n"),
                    0o664,
                );
                r.host_key = HostKey::KnownHosts(p);
            }),
            vec!["host_key.known_hosts", "writable by its group", "0664"],
        ),
        (
            "known_hosts without the host",
            Box::new(|d, r| {
                let p = write_mode(
                    d,
                    "other_known_hosts",
                    &format!("[127.0.0.1]:2299 {TEST_HOST_KEY}\n192.0.2.9 {TEST_HOST_KEY}\n"),
                    0o644,
                );
                r.host_key = HostKey::KnownHosts(p);
            }),
            vec!["host_key.known_hosts", "no entry for [127.0.0.1]:2222"],
        ),
    ];
    for (what, f, needles) in &cases {
        let mut bad = good_router(dir, "edge2");
        f(dir, &mut bad);
        let cfg = check_config(dir, vec![good_router(dir, "edge1"), bad]);
        let out = cli(dir, &["check", "--config", &cfg]).await;
        assert!(!out.status.success(), "{what}: passed\n{}", out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}");
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains("router edge2:"))
            .unwrap_or_else(|| panic!("{what}: no line for edge2:\n{}", out.stderr));
        for n in needles {
            assert!(line.contains(n), "{what}: {n:?} not in {line:?}");
        }
        assert!(
            !out.stderr.contains("router edge1:"),
            "{what}: {}",
            out.stderr
        );
        // the same as JSON, on stdout
        let out = cli(dir, &["check", "--config", &cfg, "--format", "json"]).await;
        assert!(!out.status.success(), "{what}");
        let v: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", out.stdout));
        assert_eq!(v["ok"], false, "{what}");
        let routers = v["routers"].as_array().unwrap();
        assert_eq!(routers[0]["problems"].as_array().unwrap().len(), 0);
        assert_eq!(routers[1]["router"], "edge2");
        let p = routers[1]["problems"][0].as_str().unwrap();
        assert!(p.contains(needles[0]), "{what}: {p}");
    }
    // --skip-credentials leaves them alone (CI checking an inventory)
    let mut bad = good_router(dir, "edge2");
    bad.credential = Credential::KeyFile(dir.join("no_such_key"));
    let cfg = check_config(dir, vec![bad]);
    let out = cli(dir, &["check", "--skip-credentials", "--config", &cfg]).await;
    assert!(out.status.success(), "{}", out.stderr);
}

#[tokio::test]
async fn check_never_shows_a_password() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut r = good_router(dir, "edge1");
    r.credential = Credential::PasswordEnv("PEERD_TEST_CHECK_PW".into());
    let cfg = check_config(dir, vec![r.clone()]);
    let run = |value: &'static str| {
        let cfg = cfg.clone();
        let dir = dir.to_path_buf();
        async move {
            let out = tokio::process::Command::new(bin())
                .current_dir(&dir)
                .args(["check", "--config", &cfg, "--format", "json"])
                .env("PEERD_TEST_CHECK_PW", value)
                .output()
                .await
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        }
    };
    let (ok, text) = run("s3cret-Value-42").await;
    assert!(ok, "{text}");
    assert!(!text.contains("s3cret-Value-42"), "{text}");
    let (ok, text) = run("").await;
    assert!(
        !ok && text.contains("PEERD_TEST_CHECK_PW is empty"),
        "{text}"
    );
}

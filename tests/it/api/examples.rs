//! The shipped example files: `peerd check` accepts the example inventory,
//! refuses broken ones, and `peerd serve` starts with the examples even
//! though the lab router is not reachable.

use crate::support::*;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn check_accepts_the_example_inventory() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let inv = root.join("inventory.yaml");
    // Default settings: templates/ and drivers/ of the working directory.
    // The example's router credentials are the lab's, which may not be
    // there: they are checked in cli.rs, not here.
    let out = cli(
        &root,
        &[
            "check",
            "--skip-credentials",
            "--inventory",
            inv.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("OK"), "{}", out.stdout);
    assert!(
        out.stdout.contains("router credentials: not checked"),
        "{}",
        out.stdout
    );
    // Every shipped platform's templates were rendered (the list is read
    // from drivers/).
    let platforms = shipped_platforms();
    for platform in &platforms {
        assert!(
            out.stdout.contains(platform.as_str()),
            "{platform}: {}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains(&format!(
            "{} platform(s): {}",
            platforms.len(),
            platforms.join(", ")
        )) && out.stdout.contains("every template renders"),
        "{}",
        out.stdout
    );
    // Elsewhere, without templates, check says what is missing.
    let out = cli(dir.path(), &["check", "--inventory", inv.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("drivers"), "{}", out.stderr);
    let cfg = root.join("peerd.example.yaml");
    let out = cli(
        dir.path(),
        &[
            "check",
            "--skip-credentials",
            "--config",
            cfg.to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
}

/// `peerd check` renders every template: a broken one fails the check
/// with the platform, the case and the template named.
#[tokio::test]
async fn check_refuses_a_broken_template() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    for sub in ["templates", "drivers"] {
        let st = std::process::Command::new("cp")
            .args([
                "-r",
                root.join(sub).to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }
    std::fs::write(
        dir.path().join("templates/junos/remove.xml.tera"),
        "<configuration>{{ n.address }}</configuration>\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("peerd.yaml"),
        format!(
            "inventory: {}\ntemplates_dir: templates\ndrivers_dir: drivers\n",
            root.join("inventory.yaml").display()
        ),
    )
    .unwrap();
    let out = cli(dir.path(), &["check", "--config", "peerd.yaml"]).await;
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("platform junos") && out.stderr.contains("remove"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("remove.xml.tera"), "{}", out.stderr);
}

#[tokio::test]
async fn check_refuses_broken_inventories() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo_root().join("inventory.yaml")).unwrap();
    let cases = [
        (
            good.replace("router: lab-frr", "router: nowhere"),
            "locations[0].router",
        ),
        (
            good.replace("approval: auto", "approval: auto\n  colour: blue"),
            "colour",
        ),
        (
            good.replace("our_ips: [192.0.2.1,", "our_ips: [198.51.100.1,"),
            "locations[0].our_ips[0]",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.yaml"));
        std::fs::write(&p, text).unwrap();
        let out = cli(dir.path(), &["check", "--inventory", p.to_str().unwrap()]).await;
        assert!(!out.status.success(), "case {i} passed");
        assert!(out.stderr.contains(needle), "case {i}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("bad{i}.yaml")),
            "case {i}: {}",
            out.stderr
        );
    }
    let out = cli(
        dir.path(),
        &["check", "--inventory", "/nonexistent/inv.yaml"],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("/nonexistent/inv.yaml"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn serve_starts_with_the_examples() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(bin());
    clean_env(&mut cmd);
    // PEERD_TEST_STORE=postgres: the example on PostgreSQL, by the env
    if let Some(url) = store_url().await {
        cmd.env("PEERD_STORE_URL", url);
    }
    // the example syncs PeeringDB on a schedule: point it at a closed
    // loopback port so the test never leaves this machine
    let mut child = cmd
        .env("PEERD_PDB_API_BASE", "http://127.0.0.1:9/api")
        .env("PEERD_PDB_AUTH_BASE", "http://127.0.0.1:9")
        .current_dir(dir.path())
        .args([
            "serve",
            "--config",
            root.join("peerd.example.yaml").to_str().unwrap(),
            "--inventory",
            root.join("inventory.yaml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("startup line")
        .unwrap()
        .expect("a line");
    let url = url
        .strip_prefix("peerd listening on ")
        .expect(&url)
        .to_string();
    let r = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // No operator key yet, so the API answers 401.
    let r = reqwest::get(format!("{url}/locations")).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let _ = child.start_kill();
}

#[test]
fn example_settings_show_every_key_with_its_default() {
    let path = repo_root().join("peerd.example.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // parsed as written (from_file would also resolve relative paths)
    let parsed: peerd::config::Settings = serde_saphyr::from_str(&text).unwrap();
    let defaults = serde_json::to_value(peerd::config::Settings::default()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), defaults);
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                out.push(k.clone());
                keys(v, out);
            }
        }
    }
    let mut all = Vec::new();
    keys(&defaults, &mut all);
    for k in all {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{k}:"))),
            "peerd.example.yaml does not show `{k}`"
        );
    }
}

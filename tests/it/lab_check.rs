//! `peerd check --connect` against the lab (issue 11): it logs in to FRR,
//! BIRD, netconfd (lab model) and netconfd (OpenConfig) read-only, prints
//! one row per router and passes; a wrong pinned host key, a refused port
//! and a key the router does not accept each fail with the reason.

use crate::cli_check::check_config;
use crate::lab::{lab_routers, take_lab, Lab};
use crate::support::*;
use peerd::inventory::HostKey;

/// A real public key that is not the lab's host key.
const OTHER_HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOVrGvL82SVVDMBdCZ3ysTLPIyyG34R6lPKrksFygHO6";

#[tokio::test]
#[ignore = "lab"]
async fn check_connect_passes_against_the_lab() {
    let _lab = take_lab().await;
    let lab = Lab::load();
    let (rtr, rtr2) = lab_routers(&lab);
    let nc = lab.router("nc", "lab-netconf", "NETCONF_PORT");
    let oc = lab.router("oc", "openconfig", "OC_PORT");
    let d = tempfile::tempdir().unwrap();
    let cfg = check_config(d.path(), vec![rtr, rtr2, nc, oc]);

    let out = cli(d.path(), &["check", "--connect", "--config", &cfg]).await;
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("ROUTER"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 4, "{}", out.stdout);
    for (name, what) in [
        ("rtr", "SSH: host key ssh-ed25519"),
        ("rtr2", "logged in as"),
        ("nc", "NETCONF: session"),
        ("oc", ":candidate"),
    ] {
        let row = rows
            .iter()
            .find(|r| r.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {}", out.stdout));
        assert!(row.contains(" ok ") && row.contains(what), "{row}");
    }
    // the NETCONF profiles ask for confirmed commits: the servers have them
    assert!(out.stdout.contains(":confirmed-commit"), "{}", out.stdout);

    let out = cli(
        d.path(),
        &["check", "--connect", "--config", &cfg, "--format", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let connect = v["connect"].as_array().unwrap();
    assert_eq!(connect.len(), 4);
    assert!(connect.iter().all(|c| c["ok"] == true), "{v}");
    assert_eq!(connect[2]["transport"], "netconf");
}

#[tokio::test]
#[ignore = "lab"]
async fn check_connect_names_what_is_wrong() {
    let _lab = take_lab().await;
    let lab = Lab::load();
    let good = lab.router("good", "frr", "RTR_PORT");
    let mut wrong_key = lab.router("wrongkey", "frr", "RTR_PORT");
    wrong_key.host_key = HostKey::Key(OTHER_HOST_KEY.into());
    // a port nothing listens on, its host key pinned inline (known_hosts
    // has no entry for that port)
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut refused = lab.router("refused", "frr", "RTR_PORT");
    refused.port = port;
    refused.host_key = HostKey::Key(lab.get("HOSTKEY_PUB").into());
    let mut login = lab.router("login", "lab-netconf", "NETCONF_PORT");
    login.credential = peerd::inventory::Credential::KeyFile(lab.get("WRONG_SSH_KEY").into());
    let d = tempfile::tempdir().unwrap();
    let cfg = check_config(d.path(), vec![good, wrong_key, refused, login]);

    let out = cli(
        d.path(),
        &["check", "--connect", "--timeout", "5", "--config", &cfg],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {}", out.stdout))
            .to_string()
    };
    assert!(row("good").contains(" ok "), "{}", out.stdout);
    for (name, reason) in [
        ("wrongkey", "SSH host key mismatch"),
        ("refused", "Connection refused"),
        ("login", "was rejected"),
    ] {
        let r = row(name);
        assert!(r.contains("FAILED") && r.contains(reason), "{name}: {r}");
        let err = out
            .stderr
            .lines()
            .find(|l| l.contains(&format!("router {name}:")))
            .unwrap_or_else(|| panic!("{name} not in stderr: {}", out.stderr));
        assert!(err.contains(reason), "{err}");
    }
    assert!(out.stderr.contains("3 problem(s)"), "{}", out.stderr);
}

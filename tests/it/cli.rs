//! The operator's command line against a running `peerd serve` (issue
//! 11): global flags anywhere on the line, `--format json` on every read
//! command (parsed here), `admin delete`, `key list|revoke|rotate` seen by
//! the daemon at once, `peeringdb status|sync` through the daemon and on
//! the store, completions, a second `serve` on a data dir in use, and an
//! unknown operator-shaped key answered 401 whatever PeeringDB does.

use crate::pdb_standin::{dead_base, dump_path, PdbStandin};
use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn api_data() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dump_path()).unwrap()).unwrap()
}

fn parse(out: &CliOut, what: &str) -> Value {
    assert!(out.status.success(), "{what}: {}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{}", out.stdout))
}

/// A Pending session of AS64600 at pdb:ix:1 from `ip`, entered by the operator.
async fn pending(p: &Peerd, ip: &str) -> String {
    let r = p
        .post(
            "/sessions",
            &p.key,
            &json!([sess(ASN_A, ip, "192.0.2.1", "pdb:ix:1")]),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["sessions"][0]["status"], "Pending", "{}", r.text);
    r.body["sessions"][0]["session_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_read_command_speaks_json_and_flags_go_anywhere() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    let id = pending(&p, "192.0.2.10").await;
    let (u, k) = (p.url.as_str(), p.key.as_str());
    let d = p.path();

    // global flags after the subcommand, before it, and in between
    for args in [
        vec![
            "admin", "sessions", "--url", u, "--key", k, "--format", "json",
        ],
        vec![
            "--url", u, "--key", k, "--format", "json", "admin", "sessions",
        ],
        vec!["admin", "--url", u, "sessions", "--key", k, "--json"],
    ] {
        let v = parse(&cli(d, &args).await, &args.join(" "));
        assert_eq!(v["sessions"][0]["session_id"], id.as_str(), "{args:?}");
    }
    // PEERD_URL / PEERD_KEY still work
    let o = tokio::process::Command::new(bin())
        .args(["admin", "jobs", "--format", "json"])
        .env("PEERD_URL", u)
        .env("PEERD_KEY", k)
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["jobs"].is_array(), "{v}");

    let g = ["--url", u, "--key", k, "--format", "json"];
    let run = |args: Vec<&str>| {
        let full: Vec<String> = args.iter().chain(g.iter()).map(|s| s.to_string()).collect();
        async move {
            let full: Vec<&str> = full.iter().map(String::as_str).collect();
            cli(d, &full).await
        }
    };
    let v = parse(&run(vec!["admin", "show", &id]).await, "admin show");
    assert_eq!(v["status"], "Pending");
    let v = parse(&run(vec!["admin", "session", &id]).await, "admin session");
    assert_eq!(v["router"], "rtr1");
    let v = parse(&run(vec!["admin", "audit", &id]).await, "admin audit");
    assert_eq!(v["events"][0]["action"], "created", "{v}");
    let v = parse(&run(vec!["admin", "jobs"]).await, "admin jobs");
    assert!(v["jobs"].is_array());
    let v = parse(&run(vec!["token", "list"]).await, "token list");
    assert!(v["tokens"].as_array().unwrap().is_empty());
    let v = parse(
        &run(vec!["key", "list", "--config", "peerd.yaml"]).await,
        "key list",
    );
    assert_eq!(v["keys"][0]["name"], "noc");
    assert_eq!(v["keys"][0]["id"].as_str().unwrap().len(), 12);
    let v = parse(
        &run(vec!["peeringdb", "status", "--config", "peerd.yaml"]).await,
        "peeringdb status",
    );
    assert_eq!(v["in_use"], false, "{v}");
    let v = parse(
        &run(vec![
            "check",
            "--skip-credentials",
            "--config",
            "peerd.yaml",
        ])
        .await,
        "check",
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["inventory"]["routers"], 2);
    // write commands answer JSON too
    let v = parse(&run(vec!["admin", "approve", &id]).await, "admin approve");
    assert_eq!(v["status"], "Approved");

    // the text audit shows local times, not the API's UTC strings
    let out = p.admin_cli(&["audit", &id]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let row = out.stdout.lines().nth(1).expect("an audit row");
    let at: String = row.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    assert!(
        at.len() == 25 && at.as_bytes()[10] == b' ' && !at.contains('T') && !at.contains('Z'),
        "{at:?} in {}",
        out.stdout
    );
    assert!(
        at[20..].starts_with('+') || at[20..].starts_with('-'),
        "{at}"
    );
}

#[tokio::test]
async fn admin_delete_removes_a_session() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.approval = "manual";
    let p = Peerd::start(&o).await;
    let a = pending(&p, "192.0.2.11").await;
    let b = pending(&p, "192.0.2.12").await;
    let out = p.admin_cli(&["delete", &a]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("deleted session {a}")) && out.stdout.contains("it is gone"),
        "{}",
        out.stdout
    );
    p.get(&format!("/admin/sessions/{a}"), &p.key)
        .await
        .expect(404);
    let v = parse(
        &p.admin_cli(&["delete", &b, "--format", "json"]).await,
        "delete json",
    );
    assert_eq!(v["outcome"], "removed");
    assert_eq!(v["session_id"], b.as_str());
    // again: not found, non-zero
    let out = p.admin_cli(&["delete", &b]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    let out = p.admin_cli(&["delete", "not-an-id"]).await;
    assert!(out.stderr.contains("not a session id"), "{}", out.stderr);
}

#[tokio::test]
async fn keys_are_listed_revoked_and_rotated_while_the_daemon_runs() {
    use std::os::unix::fs::PermissionsExt;
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let out = p.cli(&["key", "add", "alice"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let alice = out.stdout.trim().to_string();
    p.get("/admin/jobs", &alice).await.expect(200);
    let file = p.path().join("operator-keys.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = p.cli(&["key", "list"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("noc") && out.stdout.contains("alice"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("peerd_op_"), "a key was shown");

    let out = p.cli(&["key", "rotate", "alice"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let new = out.stdout.trim().to_string();
    assert!(new.starts_with("peerd_op_") && new != alice);
    // the new key works at once; the old one within a second
    p.get("/admin/jobs", &new).await.expect(200);
    refused_within_a_second(&p, &alice).await;

    let out = p.cli(&["key", "revoke", "alice"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(!out.stdout.contains("peerd_op_"), "{}", out.stdout);
    refused_within_a_second(&p, &new).await;
    p.get("/admin/jobs", &p.key).await.expect(200);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the edits kept the file's mode");

    let out = p.cli(&["key", "revoke", "alice"]).await;
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("no key named \"alice\""),
        "{}",
        out.stderr
    );
    let v = parse(&p.cli(&["key", "list", "--format", "json"]).await, "list");
    assert_eq!(v["keys"].as_array().unwrap().len(), 1);
}

/// A revoked or rotated operator key is refused within a second (the
/// daemon looks at the keys file at most once a second); 3 s allowed.
async fn refused_within_a_second(p: &Peerd, key: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let r = p.get("/admin/jobs", key).await;
        if r.status.as_u16() == 401 {
            return;
        }
        assert!(Instant::now() < until, "still accepted: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn completions_for_three_shells() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = cli(d.path(), &["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", out.stderr);
        for word in ["peerd", "force-remove", "rotate", "peeringdb"] {
            assert!(out.stdout.contains(word), "{shell}: no {word}");
        }
    }
    let out = cli(d.path(), &["completions", "tcsh"]).await;
    assert!(!out.status.success());
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_dir_says_so() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        cli(p.path(), &["serve", "--config", "peerd.yaml"]),
    )
    .await
    .expect("the second serve exits");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let data = p.path().join("data");
    assert!(
        out.stderr
            .contains(&format!("another peerd is using {}", data.display())),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("WouldBlock"), "{}", out.stderr);
    assert!(!out.stdout.contains("listening"), "{}", out.stdout);
    // the first one is untouched
    p.get("/admin/jobs", &p.key).await.expect(200);
}

/// A key one character off a real one: operator-shaped, unknown.
fn mistyped(key: &str) -> String {
    let mut k = key.to_string();
    let last = k.pop().unwrap();
    k.push(if last == 'A' { 'B' } else { 'A' });
    k
}

#[tokio::test]
async fn an_unknown_operator_key_is_401_whatever_peeringdb_does() {
    let pdb = fake_pdb().await;
    let p = Peerd::start(&Options::new(&pdb)).await;
    let bad = mistyped(&p.key);
    let before = pdb.hits();
    for (state, mode) in [
        ("up", Some(Mode::Normal)),
        ("failing", Some(Mode::Error500)),
        ("hanging", Some(Mode::Hang)),
        ("down", None),
    ] {
        match mode {
            Some(m) => pdb.set_mode(m),
            None => pdb.down().await,
        }
        for path in ["/sessions", "/admin/sessions", "/locations"] {
            let t = Instant::now();
            let r = p.get(path, &bad).await;
            assert_eq!(r.status.as_u16(), 401, "{state} {path}: {}", r.text);
            assert!(r.headers.contains_key("www-authenticate"), "{state}");
            assert!(t.elapsed() < Duration::from_secs(2), "{state} {path}");
        }
        let out = p.admin_cli(&["sessions"]).await;
        assert!(out.status.success(), "{state}: {}", out.stderr);
        let out = cli(
            p.path(),
            &["admin", "sessions", "--url", &p.url, "--key", &bad],
        )
        .await;
        assert!(!out.status.success(), "{state}");
        assert!(
            out.stderr.contains("401") && out.stderr.contains("does not know this operator key"),
            "{state}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(&bad), "the key was printed");
    }
    assert_eq!(
        pdb.hits(),
        before,
        "an operator-shaped key went to PeeringDB"
    );
}

#[tokio::test]
async fn peeringdb_status_and_sync_through_the_daemon_and_on_the_store() {
    let pdb = fake_pdb().await;
    let api = PdbStandin::start().await;
    let mut o = Options::new(&pdb);
    o.inventory_yaml = Some(crate::pdb_use::inventory());
    o.pdb_api = Some(api.base.clone());
    let mut p = Peerd::start(&o).await;
    let (u, k) = (p.url.clone(), p.key.clone());

    // the store is the daemon's: without its URL (it picked a free port)
    // the CLI says what to give
    let out = p.cli(&["peeringdb", "status", "--key", &k]).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("--url"), "{}", out.stderr);

    let out = p
        .cli(&["peeringdb", "status", "--url", &u, "--key", &k])
        .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("data:      none"), "{}", out.stdout);

    let v = parse(
        &p.cli(&[
            "peeringdb",
            "sync",
            "--url",
            &u,
            "--key",
            &k,
            "--format",
            "json",
        ])
        .await,
        "sync",
    );
    assert_eq!(
        (v["in_use"].clone(), v["exchanges"].clone()),
        (json!(true), json!(3)),
        "{v}"
    );
    p.get("/admin/peeringdb", &k).await.expect(200);

    // a PeeringDB that knows none of our exchanges: the sync fails, the
    // data stays
    let good = api_data();
    api.edit_data(|d| d["ix"]["data"] = json!([]));
    let out = p
        .cli(&["peeringdb", "sync", "--url", &u, "--key", &k])
        .await;
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("PeeringDB sync failed") && out.stderr.contains("last good data"),
        "{}",
        out.stderr
    );
    let out = p
        .cli(&["peeringdb", "status", "--url", &u, "--key", &k])
        .await;
    assert!(out.stdout.contains("last error:"), "{}", out.stdout);

    // daemon stopped: the same commands work on the store
    p.kill().await;
    let out = p.cli(&["peeringdb", "status"]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("no daemon running") && out.stdout.contains("3 exchange(s)"),
        "{}",
        out.stdout
    );
    api.set_data(good);
    let out = p.cli(&["peeringdb", "sync", "--format", "json"]).await;
    let v = parse(&out, "offline sync");
    assert_eq!(v["in_use"], true);
}

#[tokio::test]
async fn offline_start_warns_once_and_says_how_to_load_a_dump() {
    let pdb = fake_pdb().await;
    let mut o = Options::new(&pdb);
    o.pdb_api = Some(dead_base().await);
    o.pdb_sync_secs = 3600;
    let p = Peerd::start(&o).await;
    let t = Instant::now();
    while !p.log().contains("no PeeringDB data was ever loaded") {
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "no warning; log:\n{}",
            p.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = p.log();
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("PeeringDB"))
        .collect();
    assert_eq!(warns.len(), 1, "{log}");
    for needle in [
        "peerd peeringdb load FILE",
        "peeringdb.api_base",
        "next_try=5 min",
    ] {
        assert!(warns[0].contains(needle), "{needle}: {}", warns[0]);
    }
    assert!(!log.contains("keeping the last good data"), "{log}");
    assert!(!log.contains("retrying"), "{log}");
    let st = p.get("/admin/peeringdb", &p.key).await;
    st.expect(200);
    assert_eq!(st.body["in_use"], false);
    assert!(st.body["last_error"].is_string(), "{}", st.text);
    // peers are answered from the inventory meanwhile
    p.get("/locations", TOK_A).await.expect(200);

    // sync_at_start off: no try at start at all
    o.pdb_yaml = "  sync_at_start: false\n".into();
    let q = Peerd::start(&o).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = q.log();
    assert!(log.contains("sync_at_start is off"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") && l.contains("PeeringDB")),
        "{log}"
    );
}

//! `peerd render FILE`: what a push would send, secrets redacted unless
//! asked for, nothing contacted.

use crate::support::{cli, repo_root};

#[tokio::test]
async fn render_prints_the_push_for_a_request_file() {
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("req.json");
    std::fs::write(
        &req,
        r#"[{"local_asn": 65002, "local_ip": "192.0.2.2", "peer_asn": 65001, "peer_ip": "192.0.2.1",
             "location": {"id": "pdb:ix:1", "type": "public"}},
            {"local_asn": 65003, "local_ip": "2001:db8::3", "peer_asn": 65001, "peer_ip": "2001:db8::1",
             "session_secret": "s3cr3t-md5", "location": {"id": "pdb:ix:1", "type": "public"}}]"#,
    )
    .unwrap();
    let root = repo_root();
    let inv = root.join("inventory.yaml");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "render",
            req.to_str().unwrap(),
            "--config",
            "/dev/null",
            "--inventory",
            inv.to_str().unwrap(),
        ];
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let a = args(&[]);
    let out = cli(&root, &a.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("neighbor 192.0.2.2 remote-as 65002"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("neighbor 2001:db8::3 password <redacted>"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("s3cr3t-md5"));
    let a = args(&["--reveal-secrets", "--op", "remove"]);
    let out = cli(&root, &a.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("no neighbor 2001:db8::3"),
        "{}",
        out.stdout
    );
    // an invalid request names the field
    std::fs::write(
        &req,
        r#"[{"local_asn": 65002, "local_ip": "203.0.113.9", "peer_asn": 65001,
        "location": {"id": "pdb:ix:1", "type": "public"}}]"#,
    )
    .unwrap();
    let a = args(&[]);
    let out = cli(&root, &a.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!out.status.success());
    assert!(out.stderr.contains("sessions[0]"), "{}", out.stderr);
}

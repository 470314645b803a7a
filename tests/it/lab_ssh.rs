//! The ssh-exec transport against the lab's real sshd (FRR behind vtysh on
//! `rtr`, BIRD on `rtr2`, netconfd's subsystem), plus its faults: a wrong
//! pinned host key, a refused connection, a rejected key, a command past its
//! timeout, output past the bound. Tests that need no lab run always.
//!
//! These tests share the lab with others running at the same time, so they
//! only touch neighbors and files of their own (addresses no lab peer uses).

use crate::lab::Lab;
use peerd::driver::PushError;
use peerd::inventory::{Credential, HostKey, Router};
use peerd::transport::ssh::{connect, SshTarget};
use peerd::transport::TransportError;
use russh::keys::{HashAlg, PublicKey};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fingerprint(openssh_line: &str) -> String {
    let k = PublicKey::from_openssh(openssh_line).expect("a public key line");
    k.fingerprint(HashAlg::Sha256).to_string()
}

async fn rtr_session(lab: &Lab) -> peerd::transport::ssh::SshSession {
    let target = SshTarget::from_router(&lab.router("rtr", "frr", "RTR_PORT")).expect("target");
    connect(&target).await.expect("connect to rtr")
}

#[tokio::test]
#[ignore = "lab"]
async fn rtr_exec_several_commands_on_one_session() {
    let lab = Lab::load();
    let s = rtr_session(&lab).await;
    let out = s
        .exec("vtysh -c 'show bgp summary json'", None)
        .await
        .expect("exec");
    assert!(out.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from vtysh");
    assert!(json.is_object(), "{json}");

    let out = s
        .exec("vtysh -c 'show running-config bgpd'", None)
        .await
        .expect("second exec on the same session");
    assert!(
        out.stdout_text()
            .contains(&format!("router bgp {}", lab.get("RTR_ASN"))),
        "{}",
        out.stdout_text()
    );

    // A failing command: the status comes back, and check() turns it into
    // a Remote error carrying the router's message.
    let out = s
        .exec("echo oops >&2; exit 3", None)
        .await
        .expect("third exec");
    assert_eq!(out.exit_status, 3);
    assert_eq!(out.stderr_text().trim(), "oops");
    match out.check("rtr") {
        Err(TransportError::Remote {
            status: 3, stderr, ..
        }) => assert_eq!(stderr.trim(), "oops"),
        other => panic!("expected Remote, got {other:?}"),
    }
    let e = s
        .exec_checked("vtysh -c 'no such command'", None)
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Remote { .. }), "{e}");
    assert!(e.to_string().contains("Unknown command"), "{e}");
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn rtr_stdin_adds_and_removes_a_neighbor() {
    let _one = crate::lab::take_lab().await;
    let lab = Lab::load();
    let asn = lab.get("RTR_ASN");
    let s = rtr_session(&lab).await;
    // 192.0.2.200 / AS64999: no lab peer uses them, so no other test sees it.
    let add = format!(
        "router bgp {asn}\n neighbor 192.0.2.200 remote-as 64999\n neighbor 192.0.2.200 description peerd-transport-test\nexit\n"
    );
    let out = s
        .exec_checked("vtysh -f /dev/stdin", Some(add.as_bytes()))
        .await
        .expect("apply from stdin");
    assert!(out.success());
    let run = s
        .exec_checked("vtysh -c 'show running-config bgpd'", None)
        .await
        .unwrap()
        .stdout_text();
    assert!(
        run.contains("neighbor 192.0.2.200 remote-as 64999"),
        "{run}"
    );
    assert!(
        run.contains("neighbor 192.0.2.200 description peerd-transport-test"),
        "{run}"
    );

    let del = format!("router bgp {asn}\n no neighbor 192.0.2.200\nexit\n");
    s.exec_checked("vtysh -f /dev/stdin", Some(del.as_bytes()))
        .await
        .expect("remove from stdin");
    let run = s
        .exec_checked("vtysh -c 'show running-config bgpd'", None)
        .await
        .unwrap()
        .stdout_text();
    assert!(!run.contains("192.0.2.200"), "{run}");
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn large_stdin_and_output_flow_both_ways() {
    let lab = Lab::load();
    let s = rtr_session(&lab).await;
    // 1 MiB in, echoed back out while it is still being written: neither
    // side may wait for the other.
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| b'a' + (i % 26) as u8).collect();
    let out = s.exec("cat", Some(&data)).await.expect("cat");
    assert!(out.success());
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data);
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn rtr2_writes_checks_and_loads_a_bird_include() {
    let _one = crate::lab::take_lab().await;
    let lab = Lab::load();
    let target = SshTarget::from_router(&lab.router("rtr2", "bird2", "RTR2_PORT")).unwrap();
    let s = connect(&target).await.expect("connect to rtr2");
    let asn = lab.get("RTR2_ASN");
    let name = "peerd_transport_test";
    // 192.0.2.201 / AS64998: no lab peer; the protocol just sits in Active.
    let conf = format!(
        "protocol bgp {name} {{\n  local {} as {asn};\n  neighbor 192.0.2.201 as 64998;\n  \
         ipv4 {{ import filter {}; export filter {}; }};\n}}\n",
        lab.get("RTR2_V4"),
        lab.get("RTR2_POLICY_IN"),
        lab.get("RTR2_POLICY_OUT"),
    );
    let file = format!("peers/{name}.conf");
    s.exec_checked(&format!("cat > {file}"), Some(conf.as_bytes()))
        .await
        .expect("write the include file");
    let check = s.exec("bird -p", None).await.unwrap();
    assert!(check.success(), "bird -p: {}", check.stderr_text());
    let cfg = s.exec_checked("birdc configure", None).await.unwrap();
    assert!(
        cfg.stdout_text().contains("Reconfigur"),
        "{}",
        cfg.stdout_text()
    );
    let show = s
        .exec_checked(&format!("birdc show protocols {name}"), None)
        .await
        .unwrap();
    assert!(show.stdout_text().contains(name), "{}", show.stdout_text());

    // A broken file is caught by the check, not loaded.
    s.exec_checked(&format!("cat > {file}"), Some(b"protocol bgp {\n"))
        .await
        .unwrap();
    let bad = s.exec("bird -p", None).await.unwrap();
    assert!(!bad.success());
    assert!(
        bad.stderr_text().contains("syntax error"),
        "{}",
        bad.stderr_text()
    );

    s.exec_checked(&format!("rm -f {file} && birdc configure"), None)
        .await
        .expect("remove and reconfigure");
    let show = s.exec("birdc show protocols", None).await.unwrap();
    assert!(!show.stdout_text().contains(name), "{}", show.stdout_text());
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn netconf_subsystem_is_a_byte_stream() {
    let lab = Lab::load();
    let target = SshTarget::from_router(&lab.router("nc", "openconfig", "NETCONF_PORT")).unwrap();
    let s = connect(&target).await.expect("connect to netconf port");
    let mut stream = s.subsystem("netconf").await.expect("subsystem");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(6).any(|w| w == b"]]>]]>") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("hello in time")
            .expect("read");
        assert!(n > 0, "stream ended before the hello");
        got.extend_from_slice(&buf[..n]);
    }
    let hello = String::from_utf8_lossy(&got);
    assert!(hello.contains("<hello"), "{hello}");
    assert!(
        hello.contains("urn:ietf:params:netconf:capability:candidate:1.0"),
        "{hello}"
    );
    assert!(hello.contains(lab.get("NETCONF_NS")), "{hello}");
    let client_hello = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
        <capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>";
    stream.write_all(client_hello.as_bytes()).await.unwrap();
    // netconfd drops an rpc that arrives in the same burst as the client
    // hello, so the close-session is repeated until it is answered.
    let mut reply = Vec::new();
    for id in 1..=10 {
        let close = format!(
            "<rpc message-id=\"{id}\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
             <close-session/></rpc>]]>]]>"
        );
        stream.write_all(close.as_bytes()).await.unwrap();
        if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            let n = r.unwrap();
            reply.extend_from_slice(&buf[..n]);
            if n == 0 || String::from_utf8_lossy(&reply).contains("<ok/>") {
                break;
            }
        }
    }
    assert!(
        String::from_utf8_lossy(&reply).contains("<ok/>"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    // ... after which the server ends the stream.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("the stream ends after close-session")
        .unwrap();
    drop(stream);
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn wrong_pinned_host_key_is_refused_naming_both_fingerprints() {
    let lab = Lab::load();
    let mut r = lab.router("rtr", "frr", "RTR_PORT");
    // Pin some other valid key: the lab's unauthorized client key.
    let wrong = std::fs::read_to_string(format!("{}.pub", lab.get("WRONG_SSH_KEY"))).unwrap();
    r.host_key = HostKey::Key(wrong.trim().to_string());
    let target = SshTarget::from_router(&r).unwrap();
    let e = connect(&target).await.unwrap_err();
    eprintln!("{e}");
    let msg = e.to_string();
    match &e {
        TransportError::HostKeyMismatch {
            router,
            expected,
            got,
        } => {
            assert_eq!(router, "rtr");
            assert!(expected.contains(&fingerprint(wrong.trim())), "{msg}");
            assert!(got.contains(&fingerprint(lab.get("HOSTKEY_PUB"))), "{msg}");
        }
        other => panic!("expected HostKeyMismatch, got {other:?}"),
    }
    // a person must fix it; until then the session retries with this
    // reason in status_detail (the driver's one rule)
    assert!(matches!(
        PushError::from_transport(&e, e.to_string()),
        PushError::Transient(_)
    ));
    assert!(
        msg.contains(&fingerprint(wrong.trim()))
            && msg.contains(&fingerprint(lab.get("HOSTKEY_PUB")))
    );
}

#[tokio::test]
#[ignore = "lab"]
async fn pinned_key_of_a_type_the_server_lacks_is_a_mismatch() {
    let lab = Lab::load();
    let mut r = lab.router("rtr", "frr", "RTR_PORT");
    // The lab sshd has only an ed25519 host key.
    r.host_key = HostKey::Key(RSA_PUB.into());
    let target = SshTarget::from_router(&r).unwrap();
    let e = connect(&target).await.unwrap_err();
    eprintln!("{e}");
    match &e {
        TransportError::HostKeyMismatch { expected, got, .. } => {
            assert!(expected.starts_with("ssh-rsa SHA256:"), "{expected}");
            assert!(got.contains("ssh-ed25519"), "{got}");
        }
        other => panic!("expected HostKeyMismatch, got {other:?}"),
    }
}

const RSA_PUB: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDRhp7GAqRxdZ7dpvqtG1eHL1rBfhTUvkH/OXCThWpwlV5Rhmar9LkuylEgoEnKnHk2QMkAULzHuKF/qtd201W5jZkLBNFKYA7r1zDSJLS/OJ6PNsJwJ/USe8p9PZ2l+9CxL5MjX1K+sQJK4a+QrtljqDDU1RDuQ15O3X6I20zAfQ== test";

#[tokio::test]
#[ignore = "lab"]
async fn rejected_key_is_an_auth_error() {
    let lab = Lab::load();
    let mut r = lab.router("rtr", "frr", "RTR_PORT");
    r.credential = Credential::KeyFile(lab.get("WRONG_SSH_KEY").into());
    let target = SshTarget::from_router(&r).unwrap();
    let e = connect(&target).await.unwrap_err();
    eprintln!("{e}");
    match &e {
        TransportError::Auth {
            router,
            user,
            method,
        } => {
            assert_eq!(router, "rtr");
            assert_eq!(user, lab.get("USER"));
            assert!(
                method.starts_with("public key (ssh-ed25519 SHA256:"),
                "{method}"
            );
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    // a person must fix it; until then the session retries with this
    // reason in status_detail (the driver's one rule)
    assert!(matches!(
        PushError::from_transport(&e, e.to_string()),
        PushError::Transient(_)
    ));
}

#[tokio::test]
#[ignore = "lab"]
async fn command_past_its_timeout_is_stopped_and_the_session_still_works() {
    let lab = Lab::load();
    let target = SshTarget::from_router(&lab.router("rtr", "frr", "RTR_PORT"))
        .unwrap()
        .with_command_timeout(Duration::from_secs(1));
    let s = connect(&target).await.unwrap();
    let e = s.exec("sleep 30", None).await.unwrap_err();
    eprintln!("{e}");
    match &e {
        TransportError::Timeout {
            router,
            what,
            after,
        } => {
            assert_eq!(router, "rtr");
            assert_eq!(*after, Duration::from_secs(1));
            assert!(what.contains("command"), "{what}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(matches!(
        PushError::from_transport(&e, e.to_string()),
        PushError::Transient(_)
    ));
    let out = s
        .exec_checked("echo still-here", None)
        .await
        .expect("session usable after a timeout");
    assert_eq!(out.stdout_text().trim(), "still-here");
    s.close().await;
}

#[tokio::test]
#[ignore = "lab"]
async fn output_past_the_bound_is_an_error() {
    let lab = Lab::load();
    let target = SshTarget::from_router(&lab.router("rtr", "frr", "RTR_PORT"))
        .unwrap()
        .with_max_output(64 * 1024);
    let s = connect(&target).await.unwrap();
    let e = s.exec("head -c 1000000 /dev/zero", None).await.unwrap_err();
    eprintln!("{e}");
    assert!(
        matches!(e, TransportError::OutputTooLarge { limit: 65536, .. }),
        "{e:?}"
    );
    // Exactly at the bound is fine; the session survives the abort.
    let out = s
        .exec_checked("head -c 65536 /dev/zero", None)
        .await
        .expect("output at the bound");
    assert_eq!(out.stdout.len(), 65536);
    s.close().await;
}

// ------------------------------------------------------------ without the lab

/// A router whose credential is a password from the environment, so no
/// key file is needed; the host key is some valid key.
fn offline_router(port: u16) -> Router {
    std::env::set_var("PEERD_IT_SSH_OFFLINE_PW", "not-used");
    Router {
        name: "offline".into(),
        platform: "frr".into(),
        host: "127.0.0.1".into(),
        port,
        user: "labops".into(),
        credential: Credential::PasswordEnv("PEERD_IT_SSH_OFFLINE_PW".into()),
        host_key: HostKey::Key(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K test"
                .into(),
        ),
        import_policy: None,
        export_policy: None,
        vars: BTreeMap::new(),
    }
}

#[tokio::test]
async fn refused_connection_is_a_transient_connect_error() {
    // A port that was just free: bind, note it, release it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = SshTarget::from_router(&offline_router(port)).unwrap();
    let e = connect(&target).await.unwrap_err();
    eprintln!("{e}");
    match &e {
        TransportError::Connect {
            router,
            addr,
            reason,
        } => {
            assert_eq!(router, "offline");
            assert_eq!(addr, &format!("127.0.0.1:{port}"));
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    assert!(matches!(
        PushError::from_transport(&e, e.to_string()),
        PushError::Transient(_)
    ));
}

#[tokio::test]
async fn silent_server_times_out_in_the_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and say nothing.
    let keep = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(sock);
    });
    let target = SshTarget::from_router(&offline_router(port))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(500));
    let e = connect(&target).await.unwrap_err();
    match &e {
        TransportError::Timeout { what, .. } => assert!(what.contains("handshake"), "{what}"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    keep.abort();
}

#[test]
fn target_debug_never_shows_the_password() {
    std::env::set_var("PEERD_IT_SSH_SECRET_PW", "Sup3r-Secret-Pw");
    let mut r = offline_router(22);
    r.credential = Credential::PasswordEnv("PEERD_IT_SSH_SECRET_PW".into());
    let t = SshTarget::from_router(&r).unwrap();
    let d = format!("{t:?}");
    assert!(!d.contains("Sup3r-Secret-Pw"), "{d}");
    assert_eq!(t.addr(), "127.0.0.1:22");
    assert_eq!(t.pinned_fingerprints().len(), 1);
    // Unset variable: a Credential error naming the variable only.
    r.credential = Credential::PasswordEnv("PEERD_IT_SSH_UNSET_PW_VAR".into());
    let e = SshTarget::from_router(&r).unwrap_err();
    assert!(matches!(e, TransportError::Credential { .. }), "{e:?}");
    assert!(e.to_string().contains("PEERD_IT_SSH_UNSET_PW_VAR"), "{e}");
}

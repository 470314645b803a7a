//! The NETCONF session against scripted servers: hello, capabilities,
//! message-id correlation, errors and timeouts.

use super::*;
use crate::transport::netconf::testing::{self, reply};
use tokio::io::{duplex, DuplexStream};

fn caps(uris: &[&str]) -> Capabilities {
    Capabilities(uris.iter().map(|s| s.to_string()).collect())
}

#[test]
fn capability_matching() {
    let c = caps(&[
        "urn:ietf:params:netconf:base:1.1",
        "urn:ietf:params:netconf:capability:candidate:1.0",
        "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
        "urn:ietf:params:netconf:capability:url:1.0?scheme=file",
    ]);
    assert!(c.has(":candidate"));
    assert!(c.has(":confirmed-commit"));
    assert!(c.has(":confirmed-commit:1.1"));
    assert!(!c.has(":confirmed-commit:1.0"));
    assert!(c.has(":url"));
    assert!(c.has("urn:ietf:params:netconf:capability:url:1.0"));
    assert!(c.has(CAP_BASE_11));
    assert!(!c.has(CAP_BASE_10));
    assert!(!c.has(":validate"));
    assert!(!c.has(":cand"));
}

const SERVER_CAPS: &[&str] = &[
    CAP_BASE_10,
    CAP_BASE_11,
    "urn:ietf:params:netconf:capability:candidate:1.0",
];

async fn script(io: DuplexStream, framing: Framing, answers: Vec<Vec<String>>) -> Vec<String> {
    testing::script(io, SERVER_CAPS, framing, answers).await
}

fn no_probe() -> SessionConfig {
    SessionConfig {
        probe_interval: None,
        ..SessionConfig::default()
    }
}

fn probing() -> SessionConfig {
    SessionConfig {
        probe_interval: Some(Duration::from_millis(50)),
        ..SessionConfig::default()
    }
}

#[tokio::test]
async fn probe_resends_when_the_first_request_is_lost() {
    let (client, server) = duplex(1 << 16);
    // The server "loses" the first probe, answers the second.
    let answers = vec![
        vec![],
        vec![reply("2", "<data/>")],
        vec![reply("3", "<ok/>")],
    ];
    let srv = tokio::spawn(script(server, Framing::Chunked, answers));
    let mut s = NetconfSession::connect(client, probing()).await.unwrap();
    s.discard_changes().await.unwrap();
    drop(s);
    let seen = srv.await.unwrap();
    assert!(
        seen[1].contains(r#"<filter type="subtree"></filter>"#),
        "{}",
        seen[1]
    );
    assert!(seen[3].contains("<discard-changes/>"));
}

#[tokio::test]
async fn probe_waits_for_the_last_probe_reply() {
    let (client, server) = duplex(1 << 16);
    // A slow server answers probe 1 only after probe 2 arrived.
    let answers = vec![
        vec![],
        vec![reply("1", "<data/>"), reply("2", "<data/>")],
        vec![reply("3", "<ok/>")],
    ];
    let srv = tokio::spawn(script(server, Framing::Chunked, answers));
    let mut s = NetconfSession::connect(client, probing()).await.unwrap();
    s.discard_changes().await.unwrap();
    drop(s);
    assert_eq!(srv.await.unwrap().len(), 4);
}

#[tokio::test]
async fn unanswered_probe_times_out() {
    let (client, server) = duplex(1 << 16);
    let srv = tokio::spawn(script(server, Framing::Chunked, vec![]));
    let cfg = SessionConfig {
        hello_timeout: Duration::from_millis(200),
        ..probing()
    };
    let e = NetconfSession::connect(client, cfg).await.unwrap_err();
    assert!(
        matches!(e, NetconfError::Timeout { op: "probe", .. }),
        "{e}"
    );
    srv.await.unwrap();
}

#[tokio::test]
async fn negotiates_chunked_and_correlates_ids() {
    let (client, server) = duplex(1 << 16);
    let lock_denied = r#"<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-message>lock held</error-message><error-info><session-id>9</session-id></error-info></rpc-error>"#;
    let notification =
        r#"<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>"#.to_string();
    let answers = vec![
        vec![reply("1", "<ok/>")],
        vec![reply("2", lock_denied)],
        vec![
            notification,
            reply("3", r#"<data><bgp xmlns="urn:x"/></data>"#),
        ],
    ];
    let srv = tokio::spawn(script(server, Framing::Chunked, answers));
    let mut s = NetconfSession::connect(client, no_probe()).await.unwrap();
    assert_eq!(s.session_id(), 5);
    assert_eq!(s.framing(), Framing::Chunked);
    assert!(s.has(":candidate"));
    s.lock(Datastore::Running).await.unwrap();
    let e = s.lock(Datastore::Candidate).await.unwrap_err();
    assert!(e.is_lock_denied() && e.is_retryable(), "{e}");
    assert!(matches!(
        e,
        NetconfError::LockDenied {
            holder: Some(9),
            ..
        }
    ));
    let d = s.get_config(Datastore::Running, None).await.unwrap();
    assert_eq!(d.xml, r#"<bgp xmlns="urn:x"/>"#);
    // Capability checks happen before anything is sent.
    let e = s.cancel_commit(Some("x")).await.unwrap_err();
    assert!(matches!(
        e,
        NetconfError::MissingCapability(":confirmed-commit:1.1")
    ));
    drop(s);
    let seen = srv.await.unwrap();
    assert_eq!(seen.len(), 4);
    assert!(seen[0].contains(CAP_BASE_11));
    assert!(seen[1].contains(r#"message-id="1""#) && seen[1].contains("<lock>"));
    assert!(seen[3].contains(r#"message-id="3""#) && seen[3].contains("<get-config>"));
}

#[tokio::test]
async fn wrong_message_id_breaks_the_session() {
    let (client, server) = duplex(1 << 16);
    let srv = tokio::spawn(script(
        server,
        Framing::EndOfMessage,
        vec![vec![reply("7", "<ok/>")]],
    ));
    let cfg = SessionConfig {
        base11: false,
        ..no_probe()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    assert_eq!(s.framing(), Framing::EndOfMessage);
    let e = s.discard_changes().await.unwrap_err();
    assert!(matches!(e, NetconfError::Protocol(_)), "{e}");
    assert!(matches!(
        s.discard_changes().await,
        Err(NetconfError::Broken(_))
    ));
    drop(s);
    let seen = srv.await.unwrap();
    assert!(!seen[0].contains(CAP_BASE_11));
}

#[tokio::test]
async fn timeouts_apply_to_hello_and_rpcs() {
    let (client, _server) = duplex(1 << 16);
    let cfg = SessionConfig {
        hello_timeout: Duration::from_millis(50),
        ..no_probe()
    };
    let e = NetconfSession::connect(client, cfg).await.unwrap_err();
    assert!(
        matches!(e, NetconfError::Timeout { op: "hello", .. }),
        "{e}"
    );

    let (client, server) = duplex(1 << 16);
    // The server answers the hello and then never replies.
    let srv = tokio::spawn(script(server, Framing::Chunked, vec![]));
    let cfg = SessionConfig {
        rpc_timeout: Duration::from_millis(50),
        ..no_probe()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    let e = s.unlock(Datastore::Running).await.unwrap_err();
    assert!(
        matches!(e, NetconfError::Timeout { op: "unlock", .. }),
        "{e}"
    );
    assert!(s.broken().is_some());
    drop(s);
    srv.await.unwrap();
}

#[tokio::test]
async fn oversize_reply_is_refused() {
    let (client, server) = duplex(1 << 16);
    let big = reply("1", &format!("<data>{}</data>", "x".repeat(5000)));
    let srv = tokio::spawn(script(server, Framing::Chunked, vec![vec![big]]));
    let cfg = SessionConfig {
        max_message_size: 4096,
        ..no_probe()
    };
    let mut s = NetconfSession::connect(client, cfg).await.unwrap();
    let e = s.get(None).await.unwrap_err();
    assert!(
        matches!(
            e,
            NetconfError::Framing(framing::FramingError::Oversize { .. })
        ),
        "{e}"
    );
    drop(s);
    srv.await.unwrap();
}

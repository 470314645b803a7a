//! The NETCONF pusher against scripted servers: the persist-id record is
//! durable before the confirmed commit and gone after the confirming one,
//! errors are classified for the worker (lock contention transient and
//! naming the holder; a rejected payload permanent with the server's text,
//! redacted), a commit left pending keeps its record, and recovery confirms
//! or cancels by what running holds.

use super::*;
use crate::platform::{
    ExpectedNeighbor, Op, ParserKind, Profiles, ReadPlan, Transport as ProfileTransport,
    TransportKind,
};
use crate::store::{SledStore, Store};
use crate::transport::netconf::testing::{reply, rpc_error, script_observed};
use crate::transport::netconf::{Framing, CAP_BASE_10, CAP_BASE_11};
use crate::transport::TransportError;
use futures::future::BoxFuture;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use tokio::io::DuplexStream;

const FULL: &[&str] = &[
    CAP_BASE_10,
    CAP_BASE_11,
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
];
const NS: &str = "urn:peerd:lab-bgp";
/// The MD5 secret of the sample neighbors with one.
const SECRET: &str = "sample-md5-secret";
const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVRvT39H44A2x+uVjEBGlFNgXSwhmIACfmI5tCu0Amd";

/// Hands out the client ends of in-memory streams, one per `open`.
#[derive(Default)]
struct Streams(Mutex<VecDeque<DuplexStream>>);

impl Connector for Streams {
    fn open(&self, target: &SshTarget) -> BoxFuture<'static, Result<Transport, TransportError>> {
        let next = self.0.lock().unwrap().pop_front();
        let router = target.router.clone();
        Box::pin(async move {
            next.map(|s| Transport {
                stream: Box::new(s),
                ssh: None,
            })
            .ok_or(TransportError::Connect {
                router,
                addr: "test".into(),
                reason: "no scripted server left".into(),
            })
        })
    }
}

/// The `netconf` settings of the shipped lab-netconf profile, with the
/// changes `edit` makes to its text.
fn lab_settings(edit: impl Fn(String) -> String) -> NetconfSettings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = edit(std::fs::read_to_string(root.join("drivers/lab-netconf.yaml")).unwrap());
    let profiles = Profiles::from_texts([("lab-netconf", "lab-netconf.yaml", text.as_str())])
        .unwrap_or_else(|e| panic!("{e}"));
    match &profiles.get("lab-netconf").unwrap().transport {
        ProfileTransport::Netconf(n) => n.netconf.clone(),
        other => panic!("not netconf: {other:?}"),
    }
}

/// A push of sample neighbor `i` to `nc1` as the lab-netconf templates
/// render it (0: IPv4, 1: IPv4 + MD5, 2: IPv6, 3: IPv6 + MD5).
fn lab_push(settings: &NetconfSettings, op: Op, i: usize) -> RenderedPush {
    let (addr, asn, md5) = [
        ("192.0.2.2", 65002, false),
        ("192.0.2.3", 65003, true),
        ("2001:db8::2", 65002, false),
        ("2001:db8::3", 65003, true),
    ][i];
    let address: IpAddr = addr.parse().unwrap();
    let session_id = format!("00000000-0000-4000-8000-{:012x}", i + 1);
    let secret = md5.then_some(SECRET);
    let neighbor = match op {
        Op::Add => format!(
            r#"<neighbor nc:operation="replace"><address>{addr}</address><peer-as>{asn}</peer-as>{}<admin-status>up</admin-status></neighbor>"#,
            secret
                .map(|s| format!("<md5-password>{s}</md5-password>"))
                .unwrap_or_default()
        ),
        Op::Remove => {
            format!(r#"<neighbor nc:operation="remove"><address>{addr}</address></neighbor>"#)
        }
    };
    let config = format!(
        r#"<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><bgp xmlns="{NS}">{neighbor}</bgp></config>"#
    );
    RenderedPush {
        router: "nc1".into(),
        platform: "lab-netconf".into(),
        transport: TransportKind::Netconf,
        op,
        session_ids: vec![session_id.clone()],
        plan: PushPlan::Netconf {
            settings: settings.clone(),
            config,
        },
        verify: ReadPlan {
            request: ReadRequest::NetconfGetConfig {
                source: Datastore::Running,
                filter: format!(r#"<bgp xmlns="{NS}"><neighbor/></bgp>"#),
                timeout: Duration::from_secs(settings.timeout_secs),
            },
            parser: ParserKind::LabBgpConfig,
            secret_visible: true,
        },
        expected: vec![ExpectedNeighbor {
            session_id,
            address,
            peer_as: asn,
        }],
        secrets: secret.map(String::from).into_iter().collect(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    inv: Arc<Inventory>,
    streams: Arc<Streams>,
    driver: NetconfDriver,
    settings: NetconfSettings,
}

impl Fixture {
    /// A store, a one-router inventory (`nc1`, lab-netconf) and the
    /// lab-netconf profile's settings with `extra` appended under its
    /// `netconf:` settings.
    fn new(extra_netconf: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(&dir.path().join("data")).unwrap());
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "not-used\n").unwrap();
        let inv = Inventory::from_yaml(
            &format!(
                r#"
asn: 65001
routers:
  - name: nc1
    platform: lab-netconf
    host: 127.0.0.1
    port: 830
    user: peerd
    credential: {{ password_file: {} }}
    host_key: {{ key: "{HOST_KEY}" }}
locations:
  - {{ id: "pdb:ix:1", type: public, name: IX, router: nc1,
      prefixes: [192.0.2.0/24, "2001:db8::/64"], our_ips: [192.0.2.1, "2001:db8::1"] }}
policy: {{ approval: auto, allow_private_asns: true }}
"#,
                pw.display()
            ),
            "inventory.yaml",
        )
        .unwrap();
        let settings = lab_settings(|t| {
            t.replace("  lock: true\n", &format!("  lock: true\n{extra_netconf}"))
        });
        let inv = Arc::new(inv);
        let streams = Arc::new(Streams::default());
        let driver = NetconfDriver::new(inv.clone(), Arc::new(StoreRecords(store.clone())))
            .with_connector(streams.clone())
            .with_session_config(SessionConfig {
                probe_interval: None,
                ..SessionConfig::default()
            });
        Fixture {
            _dir: dir,
            store,
            inv,
            streams,
            driver,
            settings,
        }
    }

    /// Adds a scripted server for the next connection.
    fn server(
        &self,
        answers: Vec<Vec<String>>,
        hook: impl FnMut(&str) + Send + 'static,
    ) -> tokio::task::JoinHandle<Vec<String>> {
        let (client, server) = tokio::io::duplex(1 << 16);
        self.streams.0.lock().unwrap().push_back(client);
        tokio::spawn(script_observed(
            server,
            FULL,
            Framing::Chunked,
            answers,
            hook,
        ))
    }

    /// The push of sample neighbor `i` (see [`lab_push`]).
    fn render(&self, op: Op, i: usize) -> RenderedPush {
        lab_push(&self.settings, op, i)
    }

    fn target(&self) -> SshTarget {
        SshTarget::from_router(self.inv.router("nc1").unwrap()).unwrap()
    }

    fn pending(&self) -> Vec<PendingCommit> {
        self.driver.pending().unwrap()
    }
}

fn ok(id: u32) -> Vec<String> {
    vec![reply(&id.to_string(), "<ok/>")]
}

fn data(id: u32, body: &str) -> Vec<String> {
    vec![reply(&id.to_string(), &format!("<data>{body}</data>"))]
}

fn running(neighbors: &[(&str, u32)]) -> String {
    let n: String = neighbors
        .iter()
        .map(|(a, asn)| {
            format!("<neighbor><address>{a}</address><peer-as>{asn}</peer-as></neighbor>")
        })
        .collect();
    format!(r#"<bgp xmlns="{NS}">{n}</bgp>"#)
}

/// The operation names of the requests a server saw (hello skipped).
fn ops(seen: &[String]) -> Vec<String> {
    seen[1..]
        .iter()
        .map(|m| {
            let root = crate::transport::netconf::xml::parse(m).unwrap();
            root.children[0].name.clone()
        })
        .collect()
}

fn text_between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = s[a..].find(close)? + a;
    Some(&s[a..b])
}

#[tokio::test]
async fn persist_id_is_recorded_before_the_confirmed_commit_and_cleared_after() {
    let f = Fixture::new("");
    let push = f.render(Op::Add, 1);
    let addr = push.expected[0].address.to_string();
    let asn = push.expected[0].peer_as;
    let store = f.store.clone();
    type Records = Vec<(String, Vec<u8>)>;
    let at_commit: Arc<Mutex<Records>> = Arc::default();
    let seen_store = at_commit.clone();
    let srv = f.server(
        vec![
            ok(1),
            ok(2),
            data(3, &running(&[])),
            ok(4),
            ok(5),
            data(6, &running(&[(&addr, asn)])),
            ok(7),
            ok(8),
            ok(9),
        ],
        move |m| {
            if m.contains("<confirmed/>") {
                *seen_store.lock().unwrap() = store.meta_list(PENDING_NS).unwrap();
            }
        },
    );
    f.driver.push(f.target(), push.clone()).await.unwrap();
    let seen = srv.await.unwrap();
    assert_eq!(
        ops(&seen),
        [
            "lock",
            "discard-changes",
            "get-config",
            "edit-config",
            "commit",
            "get-config",
            "commit",
            "unlock",
            "close-session"
        ]
    );
    // The record existed when the confirmed commit arrived, under its
    // persist id, with what verifying needs and no secret.
    let recorded = at_commit.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1, "one record at the confirmed commit");
    let persist = text_between(&seen[5], "<persist>", "</persist>").unwrap();
    assert_eq!(recorded[0].0, persist);
    let rec: PendingCommit = serde_json::from_slice(&recorded[0].1).unwrap();
    assert_eq!((rec.router.as_str(), rec.op.as_str()), ("nc1", "add"));
    assert_eq!(rec.expected[0].address.to_string(), addr);
    assert_eq!(rec.parser, "lab-bgp-config");
    assert!(!String::from_utf8_lossy(&recorded[0].1).contains(SECRET));
    assert!(seen[7].contains(&format!("<persist-id>{persist}</persist-id>")));
    // The edit carried the profile's settings.
    assert!(seen[4].contains("<default-operation>merge</default-operation>"));
    assert!(seen[4].contains("<error-option>rollback-on-error</error-option>"));
    assert!(seen[5].contains("<confirm-timeout>120</confirm-timeout>"));
    assert!(
        f.pending().is_empty(),
        "record cleared after the confirming commit"
    );
}

#[tokio::test]
async fn lock_contention_is_transient_and_names_the_holder() {
    let f = Fixture::new("");
    let denied = "<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag>\
        <error-severity>error</error-severity><error-message>lock is already held</error-message>\
        <error-info><session-id>7</session-id></error-info></rpc-error>";
    let srv = f.server(vec![vec![reply("1", denied)], ok(2)], |_| {});
    let e = f
        .driver
        .push(f.target(), f.render(Op::Add, 0))
        .await
        .unwrap_err();
    let PushError::Transient(msg) = &e else {
        panic!("not transient: {e}")
    };
    assert!(
        msg.contains("the candidate datastore is locked by NETCONF session 7"),
        "{msg}"
    );
    assert!(msg.contains("lock is already held"), "{msg}");
    assert_eq!(ops(&srv.await.unwrap()), ["lock", "close-session"]);
    assert!(f.pending().is_empty());
}

#[tokio::test]
async fn rejected_payload_is_permanent_with_the_server_text_redacted() {
    let f = Fixture::new("");
    let refused = format!(
        "<rpc-error><error-type>application</error-type><error-tag>invalid-value</error-tag>\
         <error-severity>error</error-severity><error-path>/bgp/neighbor/md5-password</error-path>\
         <error-message>bad password {}</error-message>\
         <error-info><bad-value>{}</bad-value></error-info></rpc-error>",
        SECRET, SECRET
    );
    let srv = f.server(
        vec![
            ok(1),
            ok(2),
            data(3, &running(&[])),
            vec![reply("4", &refused)],
            ok(5),
            ok(6),
            ok(7),
        ],
        |_| {},
    );
    let e = f
        .driver
        .push(f.target(), f.render(Op::Add, 1))
        .await
        .unwrap_err();
    let PushError::Permanent(msg) = &e else {
        panic!("not permanent: {e}")
    };
    assert!(msg.contains("edit-config rejected by the device"), "{msg}");
    assert!(
        msg.contains("invalid-value: bad password <redacted>"),
        "{msg}"
    );
    assert!(msg.contains("(path /bgp/neighbor/md5-password)"), "{msg}");
    assert!(msg.contains("nothing committed"), "{msg}");
    assert!(!msg.contains(SECRET), "{msg}");
    assert_eq!(
        ops(&srv.await.unwrap()),
        [
            "lock",
            "discard-changes",
            "get-config",
            "edit-config",
            "discard-changes",
            "unlock",
            "close-session"
        ]
    );
    assert!(f.pending().is_empty());
}

#[tokio::test]
async fn a_device_out_of_file_descriptors_is_transient() {
    let f = Fixture::new("");
    let emfile =
        "<rpc-error><error-type>application</error-type><error-tag>operation-failed</error-tag>\
         <error-severity>error</error-severity>\
         <error-message>cannot open candidate: Too many open files</error-message></rpc-error>";
    let srv = f.server(
        vec![
            ok(1),
            ok(2),
            data(3, &running(&[])),
            vec![reply("4", emfile)],
            ok(5),
            ok(6),
            ok(7),
        ],
        |_| {},
    );
    let e = f
        .driver
        .push(f.target(), f.render(Op::Add, 0))
        .await
        .unwrap_err();
    assert!(matches!(e, PushError::Transient(_)), "{e}");
    assert!(e.to_string().contains("Too many open files"), "{e}");
    srv.await.unwrap();
    // and a read
    let srv = f.server(vec![vec![reply("1", emfile)], ok(2)], |_| {});
    let e = f
        .driver
        .read(
            f.target(),
            ReadRequest::NetconfGetConfig {
                source: Datastore::Running,
                filter: format!(r#"<bgp xmlns="{NS}"/>"#),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PushError::Transient(_)), "{e}");
    srv.await.unwrap();
}

#[tokio::test]
async fn a_commit_left_pending_is_settled_before_the_next_push() {
    let f = Fixture::new("  timeout_secs: 1\n");
    let push = f.render(Op::Add, 0);
    let (addr, asn) = (
        push.expected[0].address.to_string(),
        push.expected[0].peer_as,
    );
    // The confirming commit gets no answer: the session is lost after the
    // confirmed commit.
    let srv = f.server(
        vec![
            ok(1),
            ok(2),
            data(3, &running(&[])),
            ok(4),
            ok(5),
            data(6, &running(&[(&addr, asn)])),
            vec![],
        ],
        |_| {},
    );
    let e = f.driver.push(f.target(), push.clone()).await.unwrap_err();
    assert!(matches!(e, PushError::Transient(_)), "{e}");
    assert!(e.to_string().contains("pending"), "{e}");
    drop(srv);
    let kept = f.pending();
    assert_eq!(
        kept.len(),
        1,
        "the record stays while the commit may be pending"
    );

    // The retry first settles it: running verifies, so it is confirmed;
    // then the push runs again.
    let srv = f.server(
        vec![
            data(1, &running(&[(&addr, asn)])),
            ok(2),
            ok(3),
            ok(4),
            data(5, &running(&[(&addr, asn)])),
            ok(6),
            ok(7),
            data(8, &running(&[(&addr, asn)])),
            ok(9),
            ok(10),
            ok(11),
        ],
        |_| {},
    );
    f.driver.push(f.target(), push).await.unwrap();
    let seen = srv.await.unwrap();
    assert_eq!(ops(&seen)[..2], ["get-config", "commit"]);
    assert!(seen[2].contains(&format!(
        "<commit><persist-id>{}</persist-id></commit>",
        kept[0].persist_id
    )));
    assert!(f.pending().is_empty());
}

#[tokio::test]
async fn recovery_confirms_what_verifies_and_cancels_the_rest() {
    let f = Fixture::new("");
    let add = f.render(Op::Add, 0);
    let rm = f.render(Op::Remove, 2);
    let (a, asn) = (add.expected[0].address.to_string(), add.expected[0].peer_as);
    let b = rm.expected[0].address.to_string();
    for (p, id) in [(&add, "peerd-add"), (&rm, "peerd-rm")] {
        let rec = PendingCommit::new(p, id, &format!(r#"<bgp xmlns="{NS}"/>"#), 60);
        f.driver.remember(&rec).await.unwrap();
    }
    // Running holds the added neighbor (confirm) and still the removed one
    // (cancel).
    let now = running(&[(&a, asn), (&b, 65003)]);
    let srv = f.server(
        vec![data(1, &now), ok(2), data(3, &now), ok(4), ok(5)],
        |_| {},
    );
    let s = f.driver.recover_all().await;
    assert_eq!(
        s,
        RecoverySummary {
            confirmed: 1,
            cancelled: 1,
            ..Default::default()
        }
    );
    let seen = srv.await.unwrap();
    assert!(seen[2].contains("<commit><persist-id>peerd-add</persist-id></commit>"));
    assert!(seen[4].contains("<cancel-commit><persist-id>peerd-rm</persist-id></cancel-commit>"));
    assert!(f.pending().is_empty());
}

#[tokio::test]
async fn recovery_keeps_what_it_cannot_settle_and_drops_unknown_routers() {
    let f = Fixture::new("");
    let add = f.render(Op::Add, 0);
    let rec = PendingCommit::new(&add, "peerd-1", "<bgp/>", 60);
    f.driver.remember(&rec).await.unwrap();
    let gone = PendingCommit {
        router: "gone".into(),
        persist_id: "peerd-2".into(),
        ..rec.clone()
    };
    f.driver.remember(&gone).await.unwrap();
    // No server: the connection fails.
    let s = f.driver.recover_all().await;
    assert_eq!((s.failed, s.dropped), (1, 1), "{s:?}");
    assert_eq!(f.pending(), vec![rec]);
    // Nothing pending on the server any more: the record is cleared.
    let unknown = rpc_error("invalid-value", "persistent confirmed commit not active");
    let srv = f.server(
        vec![data(1, &running(&[])), vec![reply("2", &unknown)], ok(3)],
        |_| {},
    );
    let s = f.driver.recover_all().await;
    assert_eq!(s.nothing_pending, 1, "{s:?}");
    assert!(ops(&srv.await.unwrap()).contains(&"cancel-commit".to_string()));
    assert!(f.pending().is_empty());
}

#[tokio::test]
async fn profile_settings_reach_the_wire() {
    // No lock, replace, stop-on-error, plain commit.
    let f = Fixture::new("");
    let settings = lab_settings(|t| {
        t.replace("lock: true", "lock: false")
            .replace("default_operation: merge", "default_operation: replace")
            .replace(
                "error_option: rollback-on-error",
                "error_option: stop-on-error",
            )
            .replace("confirmed_commit_secs: 120", "confirmed_commit_secs: 0")
    });
    let push = lab_push(&settings, Op::Add, 0);
    let (addr, asn) = (
        push.expected[0].address.to_string(),
        push.expected[0].peer_as,
    );
    let srv = f.server(
        vec![
            ok(1),
            ok(2),
            ok(3),
            data(4, &running(&[(&addr, asn)])),
            ok(5),
        ],
        |_| {},
    );
    f.driver.push(f.target(), push).await.unwrap();
    let seen = srv.await.unwrap();
    assert_eq!(
        ops(&seen),
        [
            "discard-changes",
            "edit-config",
            "commit",
            "get-config",
            "close-session"
        ]
    );
    assert!(seen[2].contains("<default-operation>replace</default-operation>"));
    assert!(seen[2].contains("<error-option>stop-on-error</error-option>"));
    assert!(seen[3].contains("<commit/>"));
    assert!(
        f.pending().is_empty(),
        "no record without a confirmed commit"
    );
}

#[tokio::test]
async fn reads_return_the_answer_for_the_parsers() {
    let f = Fixture::new("");
    let srv = f.server(
        vec![data(1, &running(&[("192.0.2.2", 65002)])), ok(2)],
        |_| {},
    );
    let text = f
        .driver
        .read(
            f.target(),
            ReadRequest::NetconfGetConfig {
                source: Datastore::Running,
                filter: format!(r#"<bgp xmlns="{NS}"/>"#),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
    let n = ParserKind::LabBgpConfig.parse(&text).unwrap();
    assert_eq!(n[0].peer_as, Some(65002));
    srv.await.unwrap();
    let state = r#"<bgp-information><bgp-peer><peer-address>192.0.2.2+179</peer-address><peer-as>65002</peer-as><peer-state>Established</peer-state></bgp-peer></bgp-information>"#;
    let srv = f.server(vec![vec![reply("1", state)], ok(2)], |_| {});
    let text = f
        .driver
        .read(
            f.target(),
            ReadRequest::NetconfRpc {
                body: "<get-bgp-neighbor-information/>".into(),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
    let n = ParserKind::JunosState.parse(&text).unwrap();
    assert_eq!(n[0].established, Some(true));
    let seen = srv.await.unwrap();
    assert!(seen[1].contains("<get-bgp-neighbor-information/>"));
    // A body that is not XML is never sent.
    let srv = f.server(vec![ok(1)], |_| {});
    let e = f
        .driver
        .read(
            f.target(),
            ReadRequest::NetconfRpc {
                body: "<oops".into(),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PushError::Permanent(_)), "{e}");
    assert_eq!(ops(&srv.await.unwrap()), ["close-session"]);
}

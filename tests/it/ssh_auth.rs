//! Password authentication of the ssh-exec transport (the lab's sshd takes
//! keys only), against an in-process russh server: plain `password`, the
//! keyboard-interactive fallback routers often require, and rejection.

use peerd::inventory::{Credential, HostKey, Router};
use peerd::transport::ssh::{connect, SshTarget};
use peerd::transport::TransportError;
use russh::server::{self, Auth, ChannelOpenHandle, Msg, Response, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const GOOD: &str = "correct horse";

// Throwaway ed25519 key, the test server's host key.
const HOST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwAAAAJCBHEqvgRxK
rwAAAAtzc2gtZWQyNTUxOQAAACDvf5JNRYvs42TAPBohtHIM7Rb397VK7swsJwbPbM0IwA
AAAEA/VmZjELQSEsmt/HY04Wukt0FSkTlvHhTeRKblrZ0fnu9/kk1Fi+zjZMA8GiG0cgzt
Fvf3tUruzCwnBs9szQjAAAAACnBlZXJkLXRlc3QBAgM=
-----END OPENSSH PRIVATE KEY-----
";

/// A server that accepts user `ops` with [`GOOD`], through `password`
/// unless `kbd_only`, and through keyboard-interactive; `exec` echoes the
/// command back.
struct TestServer {
    kbd_only: bool,
    channels: Vec<Channel<Msg>>,
}

impl server::Handler for TestServer {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if !self.kbd_only && user == "ops" && password == GOOD {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        match response {
            None => Ok(Auth::Partial {
                name: Cow::Borrowed(""),
                instructions: Cow::Borrowed(""),
                prompts: Cow::Owned(vec![(Cow::Borrowed("Password: "), false)]),
            }),
            Some(mut r) => {
                let answer = r.next();
                if user == "ops" && answer.as_deref() == Some(GOOD.as_bytes()) {
                    Ok(Auth::Accept)
                } else {
                    Ok(Auth::reject())
                }
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.push(channel);
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        session.data(channel, format!("ran: {}\n", String::from_utf8_lossy(data)))?;
        session.exit_status_request(channel, 0)?;
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }
}

/// Starts a one-connection server; returns its port.
async fn serve_once(kbd_only: bool) -> u16 {
    let key = russh::keys::decode_secret_key(HOST_KEY, None).unwrap();
    let methods: &[MethodKind] = if kbd_only {
        &[MethodKind::KeyboardInteractive]
    } else {
        &[MethodKind::Password, MethodKind::KeyboardInteractive]
    };
    let config = Arc::new(server::Config {
        keys: vec![key],
        methods: MethodSet::from(methods),
        auth_rejection_time: Duration::from_millis(10),
        ..server::Config::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let handler = TestServer {
            kbd_only,
            channels: Vec::new(),
        };
        if let Ok(running) = server::run_stream(config, sock, handler).await {
            let _ = running.await;
        }
    });
    port
}

fn router(port: u16, var: &str) -> Router {
    let host = russh::keys::decode_secret_key(HOST_KEY, None).unwrap();
    Router {
        name: "pwtest".into(),
        platform: "eos".into(),
        host: "127.0.0.1".into(),
        port,
        user: "ops".into(),
        credential: Credential::PasswordEnv(var.into()),
        host_key: HostKey::Key(host.public_key().to_openssh().unwrap()),
        import_policy: None,
        export_policy: None,
        vars: BTreeMap::new(),
    }
}

#[tokio::test]
async fn password_auth_then_exec() {
    std::env::set_var("PEERD_IT_PW_GOOD", GOOD);
    let port = serve_once(false).await;
    let target = SshTarget::from_router(&router(port, "PEERD_IT_PW_GOOD")).unwrap();
    let s = connect(&target).await.expect("password login");
    let out = s.exec_checked("show version", None).await.unwrap();
    assert_eq!(out.stdout_text(), "ran: show version\n");
    let out = s.exec_checked("show clock", None).await.unwrap();
    assert_eq!(out.stdout_text(), "ran: show clock\n");
    s.close().await;
}

#[tokio::test]
async fn keyboard_interactive_fallback() {
    std::env::set_var("PEERD_IT_PW_GOOD2", GOOD);
    let port = serve_once(true).await;
    let target = SshTarget::from_router(&router(port, "PEERD_IT_PW_GOOD2")).unwrap();
    let s = connect(&target).await.expect("keyboard-interactive login");
    let out = s.exec_checked("show version", None).await.unwrap();
    assert_eq!(out.stdout_text(), "ran: show version\n");
    s.close().await;
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_password() {
    std::env::set_var("PEERD_IT_PW_BAD", "Wr0ng-Passw0rd");
    let port = serve_once(false).await;
    let target = SshTarget::from_router(&router(port, "PEERD_IT_PW_BAD")).unwrap();
    let e = connect(&target).await.unwrap_err();
    match &e {
        TransportError::Auth {
            router,
            user,
            method,
        } => {
            assert_eq!(router, "pwtest");
            assert_eq!(user, "ops");
            assert!(method.starts_with("password"), "{method}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    assert!(!e.to_string().contains("Wr0ng-Passw0rd"), "{e}");
    assert!(!format!("{e:?}").contains("Wr0ng-Passw0rd"));
}

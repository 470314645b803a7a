//! Connecting: TCP, the SSH handshake offering only the pinned host key
//! types (a mismatch names both fingerprints), then authentication with a
//! key or a password (keyboard-interactive when the router only takes
//! that), each bounded by the connect timeout.

use super::credential::AuthSecret;
use super::pin::{self, PinnedKeys};
use super::session::SshSession;
use super::target::SshTarget;
use crate::transport::TransportError;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{Disconnect, MethodKind, Preferred};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The host key algorithms to offer: exactly those of the pinned keys, so
/// the server cannot pick another of its keys (which would be refused).
pub(super) fn host_key_algorithms(pinned: &[PublicKey]) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for k in pinned {
        let algs = match k.algorithm() {
            Algorithm::Rsa { .. } => vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
                // Last resort for older network gear: SHA-1 signatures.
                // The key itself is still checked against the pin.
                Algorithm::Rsa { hash: None },
            ],
            a => vec![a],
        };
        for a in algs {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// Connects, checks the host key against the pin, authenticates.
pub async fn connect(target: &SshTarget) -> Result<SshSession, TransportError> {
    let addr = target.addr();
    let router = || target.router.clone();
    let ct = target.connect_timeout;

    let tcp = tokio::time::timeout(
        ct,
        tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| target.timeout_err(format!("connecting to {addr}"), ct))?
    .map_err(|e| TransportError::Connect {
        router: router(),
        addr: addr.clone(),
        reason: e.to_string(),
    })?;
    let _ = tcp.set_nodelay(true);

    let config = client::Config {
        preferred: Preferred {
            key: Cow::Owned(host_key_algorithms(&target.host_keys)),
            ..Preferred::default()
        },
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        ..client::Config::default()
    };
    let seen = Arc::new(Mutex::new(None));
    let handler = PinnedKeys {
        pinned: target.host_keys.clone(),
        seen: seen.clone(),
    };
    let expected = || target.pinned_fingerprints().join(" or ");
    let mut handle = match tokio::time::timeout(
        ct,
        client::connect_stream(Arc::new(config), tcp, handler),
    )
    .await
    {
        Err(_) => return Err(target.timeout_err(format!("in the SSH handshake with {addr}"), ct)),
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            let got = seen.lock().ok().and_then(|s| s.clone());
            return Err(match (e, got) {
                (russh::Error::UnknownKey, Some(got)) => TransportError::HostKeyMismatch {
                    router: router(),
                    expected: expected(),
                    got: pin::describe(&got),
                },
                (
                    russh::Error::NoCommonAlgo {
                        kind: russh::AlgorithmKind::Key,
                        theirs,
                        ..
                    },
                    _,
                ) => TransportError::HostKeyMismatch {
                    router: router(),
                    expected: expected(),
                    got: format!(
                        "no key of a pinned type (server offers {})",
                        theirs.join(", ")
                    ),
                },
                (e, _) => TransportError::Connect {
                    router: router(),
                    addr,
                    reason: format!("SSH handshake failed: {e}"),
                },
            });
        }
    };

    match tokio::time::timeout(ct, authenticate(&mut handle, target)).await {
        Err(_) => {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            return Err(target.timeout_err(format!("authenticating as {}", target.user), ct));
        }
        Ok(Err(e)) => {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            return Err(e);
        }
        Ok(Ok(())) => {}
    }
    Ok(SshSession::new(
        handle,
        router(),
        target.command_timeout,
        target.max_output,
    ))
}

async fn authenticate(
    handle: &mut client::Handle<PinnedKeys>,
    target: &SshTarget,
) -> Result<(), TransportError> {
    let lost = |e: russh::Error| TransportError::Connect {
        router: target.router.clone(),
        addr: target.addr(),
        reason: format!("connection lost during authentication: {e}"),
    };
    let user = target.user.clone();
    let (ok, method) = match &target.auth {
        AuthSecret::Key(key) => {
            let hash = if key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(lost)?
                    .flatten()
            } else {
                None
            };
            let method = format!("public key ({})", pin::describe(key.public_key()));
            let r = handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key.clone(), hash))
                .await
                .map_err(lost)?;
            (r.success(), method)
        }
        AuthSecret::Password(pw) => {
            let r = handle
                .authenticate_password(user.clone(), pw.expose())
                .await
                .map_err(lost)?;
            match r {
                AuthResult::Success => (true, "password".to_string()),
                AuthResult::Failure {
                    remaining_methods, ..
                } if remaining_methods.contains(&MethodKind::KeyboardInteractive) => {
                    // Many routers take passwords only as keyboard-interactive.
                    let ok = keyboard_interactive(handle, &user, pw.expose())
                        .await
                        .map_err(lost)?;
                    (ok, "password (keyboard-interactive)".to_string())
                }
                AuthResult::Failure { .. } => (false, "password".to_string()),
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(TransportError::Auth {
            router: target.router.clone(),
            user: target.user.clone(),
            method,
        })
    }
}

/// Answers keyboard-interactive prompts with the password (hidden prompts)
/// for a few rounds; empty rounds get empty answers.
async fn keyboard_interactive(
    handle: &mut client::Handle<PinnedKeys>,
    user: &str,
    password: &str,
) -> Result<bool, russh::Error> {
    let mut resp = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    for _ in 0..4 {
        match resp {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                resp = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_algorithms_follow_the_pins() {
        let ed = pin::parse_key_line(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJYMKspz3OQn1wbU6sMignjRjr1Wm+M5yyofMJDYxI6K",
        )
        .unwrap();
        assert_eq!(
            host_key_algorithms(std::slice::from_ref(&ed)),
            vec![Algorithm::Ed25519]
        );
        assert_eq!(
            host_key_algorithms(&[ed.clone(), ed]),
            vec![Algorithm::Ed25519]
        );
    }
}

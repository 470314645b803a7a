//! "Can peerd reach this router?", read-only: [`check_connection`] logs in
//! over SSH with the pinned host key and the router's credential, and for a
//! NETCONF platform opens the `netconf` subsystem, exchanges hellos and
//! checks that the server advertises what the profile's `netconf:`
//! settings need (`:candidate` or `:writable-running`, `:confirmed-commit`
//! when `confirmed_commit_secs` is set). Nothing is changed and no command
//! is run. `peerd check --connect` prints one row per router; the console
//! can offer the same as a button.

use super::netconf::{Connector, SshConnector};
use crate::inventory::{Credential, Router};
use crate::platform::{Profile, Transport};
use crate::transport::netconf::{
    Datastore, NetconfSession, SessionConfig, CAP_BASE_11, CAP_CANDIDATE, CAP_CONFIRMED_COMMIT,
    CAP_CONFIRMED_COMMIT_11, CAP_WRITABLE_RUNNING,
};
use crate::transport::ssh::{self, SshTarget};
use serde::Serialize;
use std::time::Duration;

/// The outcome for one router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectCheck {
    pub router: String,
    pub platform: String,
    /// `ssh-exec` or `netconf` (empty when the platform is unknown).
    pub transport: String,
    /// `host:port`.
    pub address: String,
    pub ok: bool,
    /// What was checked (on success) or what failed, without the router's
    /// name (the row has it) and without any secret.
    pub detail: String,
}

/// Logs in to `router` (read-only) and reports. `timeout` bounds each
/// step (TCP connect, SSH handshake, authentication, NETCONF hello).
pub async fn check_connection(
    router: &Router,
    profile: Option<&Profile>,
    timeout: Duration,
) -> ConnectCheck {
    let mut c = ConnectCheck {
        router: router.name.clone(),
        platform: router.platform.clone(),
        transport: String::new(),
        address: format!("{}:{}", router.host, router.port),
        ok: false,
        detail: String::new(),
    };
    let Some(profile) = profile else {
        c.detail = format!("no profile for platform {:?}", router.platform);
        return c;
    };
    let strip = |m: String| {
        m.strip_prefix(&format!("router {}: ", router.name))
            .map(str::to_string)
            .unwrap_or(m)
    };
    let target = match SshTarget::from_router(router) {
        Ok(t) => t.with_connect_timeout(timeout),
        Err(e) => {
            c.detail = strip(e.to_string());
            return c;
        }
    };
    c.address = target.addr();
    let login = format!(
        "host key {} matched; logged in as {} with {}",
        target.pinned_fingerprints().join(" or "),
        router.user,
        match router.credential {
            Credential::KeyFile(_) => "its key",
            Credential::PasswordEnv(_) | Credential::PasswordFile(_) => "its password",
        }
    );
    let result = match &profile.transport {
        Transport::SshExec(_) => {
            c.transport = "ssh-exec".into();
            match ssh::connect(&target).await {
                Ok(s) => {
                    s.close().await;
                    Ok(format!("SSH: {login}"))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Transport::Netconf(spec) => {
            c.transport = "netconf".into();
            netconf(&target, &spec.netconf, timeout)
                .await
                .map(|caps| format!("SSH: {login}; NETCONF: {caps}"))
        }
    };
    match result {
        Ok(d) => {
            c.ok = true;
            c.detail = d;
        }
        Err(e) => c.detail = strip(e),
    }
    c
}

/// The hello exchange and the capability check; `Ok` says what the
/// server offers that the profile uses.
async fn netconf(
    target: &SshTarget,
    settings: &crate::platform::NetconfSettings,
    timeout: Duration,
) -> Result<String, String> {
    let t = SshConnector.open(target).await.map_err(|e| e.to_string())?;
    let cfg = SessionConfig {
        hello_timeout: timeout,
        rpc_timeout: timeout,
        ..SessionConfig::default()
    };
    let nc = match NetconfSession::connect(t.stream, cfg).await {
        Ok(nc) => nc,
        Err(e) => {
            if let Some(s) = t.ssh {
                s.close().await;
            }
            return Err(format!("NETCONF hello failed: {e}"));
        }
    };
    let verdict = judge(|c| nc.has(c), settings, nc.session_id());
    let _ = tokio::time::timeout(timeout, nc.close()).await;
    if let Some(s) = t.ssh {
        s.close().await;
    }
    verdict
}

/// What the profile's settings need from the server's capabilities.
pub fn judge(
    has: impl Fn(&str) -> bool,
    settings: &crate::platform::NetconfSettings,
    session_id: u32,
) -> Result<String, String> {
    let mut offered = vec![if has(CAP_BASE_11) {
        "base:1.1"
    } else {
        "base:1.0"
    }];
    let mut missing = Vec::new();
    match settings.target {
        Datastore::Candidate if has(CAP_CANDIDATE) => offered.push(":candidate"),
        Datastore::Candidate => missing.push(":candidate (the profile edits the candidate)"),
        Datastore::Running if has(CAP_WRITABLE_RUNNING) => offered.push(":writable-running"),
        Datastore::Running => missing.push(":writable-running (the profile edits running)"),
        Datastore::Startup => missing.push(":candidate or :writable-running (target startup)"),
    }
    let confirmed = settings.confirmed_commit_secs > 0 && settings.target == Datastore::Candidate;
    if confirmed {
        if has(CAP_CONFIRMED_COMMIT_11) {
            offered.push(":confirmed-commit:1.1");
        } else if has(CAP_CONFIRMED_COMMIT) {
            offered.push(":confirmed-commit:1.0 (no persist id: a push cut off by a restart is rolled back by the server, not recovered)");
        } else {
            missing.push(":confirmed-commit (the profile sets confirmed_commit_secs)");
        }
    }
    if missing.is_empty() {
        Ok(format!("session {session_id}, {}", offered.join(", ")))
    } else {
        Err(format!(
            "NETCONF server (session {session_id}) does not advertise {}",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::NetconfSettings;

    fn settings(yaml: &str) -> NetconfSettings {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn judges_the_capabilities_the_profile_needs() {
        let full = |c: &str| {
            [
                CAP_CANDIDATE,
                CAP_CONFIRMED_COMMIT_11,
                CAP_CONFIRMED_COMMIT,
                CAP_BASE_11,
            ]
            .contains(&c)
        };
        let s = settings("target: candidate\nconfirmed_commit_secs: 120\n");
        let ok = judge(full, &s, 7).unwrap();
        assert!(
            ok.contains(":candidate") && ok.contains(":confirmed-commit:1.1"),
            "{ok}"
        );
        let no_confirm = |c: &str| c == CAP_CANDIDATE;
        let e = judge(no_confirm, &s, 7).unwrap_err();
        assert!(
            e.contains(":confirmed-commit") && e.contains("session 7"),
            "{e}"
        );
        // a plain commit needs no confirmed-commit
        let plain = settings("target: candidate\nconfirmed_commit_secs: 0\n");
        assert!(judge(no_confirm, &plain, 7).is_ok());
        let e = judge(|_| false, &plain, 7).unwrap_err();
        assert!(e.contains(":candidate"), "{e}");
        let running = settings("target: running\n");
        assert!(judge(|c| c == CAP_WRITABLE_RUNNING, &running, 1).is_ok());
        assert!(judge(no_confirm, &running, 1).is_err());
    }
}

//! The ssh-exec executor: runs an exec plan's steps in order over one SSH
//! connection (each command on its own exec channel, with its stdin), reads
//! the running config back with the plan's verify read on the same
//! connection and checks every neighbor, and runs the rollback steps (best
//! effort) when a step or the verify fails. Reads run their commands over
//! one connection too.
//!
//! Failures are classified by [`PushError`]'s one rule; every message has
//! the push's (or the read's) secrets redacted before it leaves here.

use super::port::PushError;
use crate::platform::plan::redact_with;
use crate::platform::{PushPlan, ReadRequest, RenderedPush};
use crate::transport::ssh::{self, SshSession, SshTarget};
use crate::transport::TransportError;

/// A transport failure, redacted and classified.
fn transport_err(e: TransportError, secrets: &[String]) -> PushError {
    let msg = redact_with(secrets, &e.to_string());
    PushError::from_transport(&e, msg)
}

/// Applies an exec plan and verifies it.
pub async fn push(target: &SshTarget, push: &RenderedPush) -> Result<(), PushError> {
    let PushPlan::Exec { steps, rollback } = &push.plan else {
        return Err(PushError::Permanent(format!(
            "platform {}: not an ssh-exec plan",
            push.platform
        )));
    };
    let sec = &push.secrets;
    let sess = ssh::connect(target)
        .await
        .map_err(|e| transport_err(e, sec))?;
    let result = async {
        for step in steps {
            let out = sess
                .exec_with_timeout(
                    &step.command,
                    step.stdin.as_deref().map(str::as_bytes),
                    step.timeout,
                )
                .await
                .map_err(|e| transport_err(e, sec))?;
            step.check(
                Some(out.exit_status),
                &out.stdout_text(),
                &out.stderr_text(),
            )
            .map_err(|m| {
                PushError::refused(format!("router {}: {}", push.router, push.redact(&m)))
            })?;
        }
        let out = read_one(&sess, &push.verify.request, sec).await?;
        push.check_verify(&out).map_err(|problems| {
            PushError::Transient(format!(
                "router {}: verify after {}: {}",
                push.router,
                push.op.as_str(),
                push.redact(&problems.join("; "))
            ))
        })
    }
    .await;
    if result.is_err() && !rollback.is_empty() {
        for step in rollback {
            match sess
                .exec_with_timeout(
                    &step.command,
                    step.stdin.as_deref().map(str::as_bytes),
                    step.timeout,
                )
                .await
            {
                Ok(out) if out.exit_status == 0 => {}
                Ok(out) => {
                    tracing::warn!(router = %push.router, status = out.exit_status, "rollback step failed")
                }
                Err(e) => {
                    tracing::warn!(router = %push.router, error = %push.redact(&e.to_string()), "rollback step failed")
                }
            }
        }
    }
    sess.close().await;
    result
}

/// Runs `reads` in order over one connection, unparsed: one answer (or
/// error) per read. `secrets` are redacted from every message.
pub async fn read_all(
    target: &SshTarget,
    reads: &[&ReadRequest],
    secrets: &[String],
) -> Vec<Result<String, PushError>> {
    let sess = match ssh::connect(target).await {
        Ok(s) => s,
        Err(e) => {
            let e = transport_err(e, secrets);
            return reads.iter().map(|_| Err(e.clone())).collect();
        }
    };
    let mut out = Vec::with_capacity(reads.len());
    for r in reads {
        out.push(read_one(&sess, r, secrets).await);
    }
    sess.close().await;
    out
}

async fn read_one(
    sess: &SshSession,
    request: &ReadRequest,
    secrets: &[String],
) -> Result<String, PushError> {
    let ReadRequest::Exec { command, timeout } = request else {
        return Err(PushError::Permanent(format!(
            "an ssh-exec profile cannot run {}",
            request.summary()
        )));
    };
    let out = sess
        .exec_with_timeout(command, None, *timeout)
        .await
        .map_err(|e| transport_err(e, secrets))?
        .check(sess.router())
        .map_err(|e| transport_err(e, secrets))?;
    Ok(out.stdout_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_router_out_of_file_descriptors_is_transient() {
        let remote = |stderr: &str| TransportError::Remote {
            router: "rtr1".into(),
            status: 1,
            stderr: stderr.into(),
        };
        let secrets = vec!["s3cret".to_string()];
        let e = transport_err(remote("vtysh: s3cret: Too many open files"), &secrets);
        let PushError::Transient(m) = &e else {
            panic!("not transient: {e}")
        };
        assert!(
            m.contains("Too many open files") && !m.contains("s3cret"),
            "{m}"
        );
        let e = transport_err(remote("% Unknown command: neighbor"), &secrets);
        assert!(matches!(e, PushError::Permanent(_)), "{e}");
    }
}

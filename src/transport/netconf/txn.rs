//! The transactional push for NETCONF platforms, and recovery after a restart.
//!
//! [`push`] with `:candidate`: lock the candidate -> discard-changes ->
//! edit-config on the candidate (rollback-on-error when advertised) ->
//! confirmed commit with a persist id and a confirm-timeout -> get-config of
//! running checked by the caller's closure -> confirming commit -> unlock.
//! Running is not locked in this mode: netconfd 2.13 cannot restore running
//! on cancel-commit or at the confirm timeout while any session holds its
//! lock (it logs "restore running config failed (config locked)" and still
//! answers `<ok/>`), so after a cancel-commit the push also reads running
//! back and compares it with a snapshot taken before the edit.
//! The request says what the platform wants (target datastore, default
//! operation, error option, lock, confirmed commit or not); capabilities
//! decide what is used: confirmed-commit:1.1 (persist id),
//! confirmed-commit:1.0 (same session only), or a plain commit;
//! rollback-on-error only where advertised. With `target: running` it edits
//! running in place (under lock when asked).
//!
//! On any failure it cancels the pending confirmed commit (or discards the
//! candidate), unlocks, and returns a [`PushError`] carrying the device's own
//! error text and what happened to the configuration ([`Rollback`]).
//!
//! The persist id is chosen by the caller ([`new_persist_id`]) so it can be
//! stored durably before the confirmed commit goes out. After a crash between
//! the confirmed and the confirming commit, [`recover`] (or
//! [`recover_verified`]) on a new session confirms or cancels it.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::client::NetconfSession;
use super::reply::{Data, ErrorTag, RpcError};
use super::rpc::{Commit, Datastore, DefaultOperation, EditConfig, ErrorOption, Filter};
use super::{
    NetconfError, CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_CONFIRMED_COMMIT_11,
    CAP_ROLLBACK_ON_ERROR, CAP_WRITABLE_RUNNING,
};

/// A fresh random persist id (`peerd-` and 32 hex digits).
pub fn new_persist_id() -> String {
    format!("peerd-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// What to push, and how (the platform profile's `netconf` settings).
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    /// The rendered configuration: content of `<config>` (see
    /// [`EditConfig::config`]).
    pub config: &'a str,
    /// The datastore edited: `Candidate` (then committed) or `Running`
    /// (edited in place, needs `:writable-running`).
    pub target: Datastore,
    /// `<default-operation>` for the edit.
    pub default_operation: DefaultOperation,
    /// `<error-option>` for the edit. `RollbackOnError` is only sent when
    /// the server advertises `:rollback-on-error` (otherwise the server
    /// default, stop-on-error, applies; the candidate is discarded on any
    /// failure anyway).
    pub error_option: Option<ErrorOption>,
    /// Lock the edited datastore for the whole transaction.
    pub lock: bool,
    /// Filter for the verifying get-config of running (`None`: everything).
    pub verify_filter: Option<Filter<'a>>,
    /// Confirm-timeout of the confirmed commit: the server rolls back by
    /// itself if no confirming commit arrives in time. `None`: a plain
    /// commit. Used only with a candidate and when `:confirmed-commit` is
    /// advertised.
    pub confirm_timeout: Option<Duration>,
    /// The persist id for the confirmed commit (store it before calling).
    pub persist_id: &'a str,
    /// Test hook: wait this long right after the confirmed commit was
    /// accepted, before anything else (so a test can kill the process
    /// between the confirmed and the confirming commit). Zero in production.
    pub pause_after_confirmed_commit: Duration,
}

impl<'a> PushRequest<'a> {
    /// A push of `config` to the candidate: merge, rollback-on-error, locked,
    /// confirmed commit with a 120 s timeout under `persist_id`, verified
    /// against all of running. Adjust the fields for other settings.
    pub fn new(config: &'a str, persist_id: &'a str) -> Self {
        PushRequest {
            config,
            target: Datastore::Candidate,
            default_operation: DefaultOperation::Merge,
            error_option: Some(ErrorOption::RollbackOnError),
            lock: true,
            verify_filter: None,
            confirm_timeout: Some(Duration::from_secs(120)),
            persist_id,
            pause_after_confirmed_commit: Duration::ZERO,
        }
    }

    /// The commit mode this request gets from a server with these
    /// capabilities; `Err` names the capability the request needs and the
    /// server lacks.
    pub fn mode(&self, has: impl Fn(&str) -> bool) -> Result<CommitMode, &'static str> {
        CommitMode::choose(has, self.target, self.confirm_timeout.is_some())
    }
}

/// How the change was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Confirmed commit with a persist id (`:confirmed-commit:1.1`).
    ConfirmedPersist,
    /// Confirmed commit tied to this session (`:confirmed-commit:1.0`).
    Confirmed,
    /// Plain commit of the candidate (no confirmed-commit).
    Plain,
    /// Direct edit of running (no candidate).
    Running,
}

impl CommitMode {
    /// The mode for editing `target` on a server with these capabilities,
    /// with a confirmed commit if `confirmed` is asked for and advertised
    /// (persistent if `:confirmed-commit:1.1`). `Err` names the missing
    /// capability.
    pub fn choose(
        has: impl Fn(&str) -> bool,
        target: Datastore,
        confirmed: bool,
    ) -> Result<CommitMode, &'static str> {
        match target {
            Datastore::Candidate if !has(CAP_CANDIDATE) => Err(CAP_CANDIDATE),
            Datastore::Candidate if confirmed && has(CAP_CONFIRMED_COMMIT_11) => {
                Ok(CommitMode::ConfirmedPersist)
            }
            Datastore::Candidate if confirmed && has(CAP_CONFIRMED_COMMIT) => {
                Ok(CommitMode::Confirmed)
            }
            Datastore::Candidate => Ok(CommitMode::Plain),
            Datastore::Running if has(CAP_WRITABLE_RUNNING) => Ok(CommitMode::Running),
            Datastore::Running => Err(CAP_WRITABLE_RUNNING),
            Datastore::Startup => Err(":candidate or :writable-running"),
        }
    }

    /// The mode the server's capabilities allow.
    pub fn for_capabilities(has: impl Fn(&str) -> bool) -> Option<CommitMode> {
        if has(CAP_CANDIDATE) {
            Some(if has(CAP_CONFIRMED_COMMIT_11) {
                CommitMode::ConfirmedPersist
            } else if has(CAP_CONFIRMED_COMMIT) {
                CommitMode::Confirmed
            } else {
                CommitMode::Plain
            })
        } else if has(CAP_WRITABLE_RUNNING) {
            Some(CommitMode::Running)
        } else {
            None
        }
    }
}

/// A successful push.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// How it was committed.
    pub mode: CommitMode,
    /// Warnings the server sent along the way.
    pub warnings: Vec<RpcError>,
    /// Failures while unlocking after success (the change is in place; the
    /// server releases the locks when the session ends).
    pub unlock_errors: Vec<String>,
}

/// The step that failed (in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PushStage {
    /// Taking the locks.
    Lock,
    /// discard-changes before the edit.
    Discard,
    /// edit-config.
    Edit,
    /// The (confirmed) commit.
    Commit,
    /// Reading running back and checking it.
    Verify,
    /// The confirming commit.
    Confirm,
}

impl fmt::Display for PushStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushStage::Lock => "lock",
            PushStage::Discard => "discard-changes",
            PushStage::Edit => "edit-config",
            PushStage::Commit => "commit",
            PushStage::Verify => "verify",
            PushStage::Confirm => "confirming commit",
        })
    }
}

/// What happened to the device's configuration after a failed push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollback {
    /// Nothing was committed; the candidate was discarded. Running unchanged.
    Discarded,
    /// The confirmed commit was cancelled. Running is as before.
    Cancelled,
    /// A confirmed commit may be pending and could not be cancelled here (the
    /// session broke, or cancel-commit failed). The server rolls it back when
    /// its confirm-timeout expires; with a persist id, [`recover`] on a new
    /// session settles it earlier. For a confirmed commit without persist id,
    /// ending this session rolls it back at once.
    Pending {
        /// The persist id, if the commit used one.
        persist_id: Option<String>,
    },
    /// The change may be committed and cannot be undone automatically (plain
    /// commit or direct edit of running, then a later step failed).
    NotPossible,
    /// The rollback was attempted and did not restore running (the reason
    /// says how that was seen). Needs an operator.
    Failed(String),
}

/// A failed push. [`detail`](Self::detail) is meant for `status_detail`.
#[derive(Debug)]
pub struct PushError {
    /// The failed step.
    pub stage: PushStage,
    /// The failure, with the device's own text when it sent one.
    pub error: NetconfError,
    /// The state the device was left in.
    pub rollback: Rollback,
    /// Failures of the clean-up steps (cancel, discard, unlock).
    pub cleanup: Vec<String>,
}

impl PushError {
    /// Lock contention: retry later, nothing was changed.
    pub fn is_lock_denied(&self) -> bool {
        self.error.is_lock_denied()
    }

    /// Worth retrying unchanged (lock contention, transport trouble). When
    /// [`rollback`](Self::rollback) is [`Rollback::Pending`], settle that
    /// first ([`recover`]).
    pub fn is_retryable(&self) -> bool {
        self.error.is_retryable()
    }

    /// One line for `status_detail`: the step, the device's message and the
    /// state left behind. Contains no payload and no `error-info`.
    pub fn detail(&self) -> String {
        let state = match &self.rollback {
            Rollback::Discarded => "nothing committed",
            Rollback::Cancelled => "confirmed commit cancelled",
            Rollback::Pending { .. } => "confirmed commit pending until its timeout",
            Rollback::NotPossible => "change may be in place, not rolled back",
            Rollback::Failed(why) => why.as_str(),
        };
        match &self.error {
            NetconfError::Rpc { errors, .. } => format!(
                "{} rejected by the device: {} ({state})",
                self.stage,
                super::join_errors(errors)
            ),
            e => format!("{} failed: {e} ({state})", self.stage),
        }
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail())
    }
}

impl std::error::Error for PushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Locks held and commit state, for the clean-up path.
struct Held {
    /// The datastore locked (candidate, or running without a candidate).
    locked: Option<Datastore>,
    /// A commit went out (or may have: it got no answer).
    committed: bool,
    mode: CommitMode,
    persist_id: String,
    /// The edit used rollback-on-error.
    atomic_edit: bool,
    /// Running (through the verify filter) before the edit, to check that a
    /// cancelled confirmed commit really restored it.
    before: Option<String>,
}

async fn cleanup<S: AsyncRead + AsyncWrite + Unpin + Send>(
    s: &mut NetconfSession<S>,
    held: &Held,
    filter: Option<&Filter<'_>>,
    stage: PushStage,
    error: NetconfError,
) -> PushError {
    let mut notes = Vec::new();
    let mut rollback = match held.mode {
        CommitMode::Running => {
            let edit_may_have_landed =
                stage == PushStage::Edit && (!held.atomic_edit || error.breaks_session());
            if stage >= PushStage::Verify || edit_may_have_landed {
                Rollback::NotPossible
            } else {
                Rollback::Discarded
            }
        }
        CommitMode::Plain if held.committed => Rollback::NotPossible,
        CommitMode::ConfirmedPersist if held.committed => Rollback::Pending {
            persist_id: Some(held.persist_id.clone()),
        },
        CommitMode::Confirmed if held.committed => Rollback::Pending { persist_id: None },
        _ => Rollback::Discarded,
    };
    if s.broken().is_some() {
        // Nothing more can be said on this session; the server drops its
        // locks and candidate changes when the session ends.
        return PushError {
            stage,
            error,
            rollback,
            cleanup: notes,
        };
    }
    if held.committed && held.mode == CommitMode::ConfirmedPersist {
        match s.cancel_commit(Some(&held.persist_id)).await {
            // Trust but verify: netconfd 2.13 answers <ok/> even when it
            // could not restore running.
            Ok(()) => match (&held.before, s.get_config(Datastore::Running, filter).await) {
                (Some(before), Ok(now)) if *before == now.xml => rollback = Rollback::Cancelled,
                (Some(_), Ok(_)) => {
                    rollback = Rollback::Failed(
                        "cancel-commit answered ok but running differs from before the push".into(),
                    )
                }
                (_, Err(e)) => {
                    notes.push(format!("reading running after cancel-commit: {e}"));
                    rollback = Rollback::Failed(format!(
                        "cancel-commit answered ok; running could not be read back: {e}"
                    ));
                }
                (None, Ok(_)) => rollback = Rollback::Cancelled,
            },
            Err(e) => notes.push(format!("cancel-commit: {e}")),
        }
    }
    if held.locked == Some(Datastore::Candidate) {
        if let Err(e) = s.discard_changes().await {
            notes.push(format!("discard-changes: {e}"));
        }
    }
    if let Some(ds) = held.locked {
        if let Err(e) = s.unlock(ds).await {
            notes.push(format!("unlock {ds}: {e}"));
        }
    }
    PushError {
        stage,
        error,
        rollback,
        cleanup: notes,
    }
}

/// Push `req` as one transaction; `verify` checks running as read back
/// (through `req.verify_filter`) and returns why it is wrong, if it is.
/// See the module docs.
pub async fn push<S, V>(
    s: &mut NetconfSession<S>,
    req: &PushRequest<'_>,
    verify: V,
) -> Result<PushOutcome, PushError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    V: FnOnce(&Data) -> Result<(), String>,
{
    let mode = match req.mode(|c| s.has(c)) {
        Ok(m) => m,
        Err(cap) => {
            return Err(PushError {
                stage: PushStage::Lock,
                error: NetconfError::MissingCapability(cap),
                rollback: Rollback::Discarded,
                cleanup: Vec::new(),
            })
        }
    };
    let filter = req.verify_filter.as_ref();
    let error_option = match req.error_option {
        Some(ErrorOption::RollbackOnError) if !s.has(CAP_ROLLBACK_ON_ERROR) => None,
        other => other,
    };
    let mut held = Held {
        locked: None,
        committed: false,
        mode,
        persist_id: req.persist_id.to_string(),
        atomic_edit: error_option == Some(ErrorOption::RollbackOnError),
        before: None,
    };
    let mut warnings = Vec::new();
    macro_rules! step {
        ($stage:expr, $e:expr) => {
            match $e {
                Ok(v) => v,
                Err(err) => return Err(cleanup(s, &held, filter, $stage, err).await),
            }
        };
    }

    // Only the datastore we write is locked. Holding a lock on running
    // during a confirmed commit would also stop netconfd from restoring
    // running on cancel-commit or timeout.
    let target = if mode == CommitMode::Running {
        Datastore::Running
    } else {
        Datastore::Candidate
    };
    if req.lock {
        step!(PushStage::Lock, s.lock(target).await);
        held.locked = Some(target);
    }
    if target == Datastore::Candidate {
        step!(PushStage::Discard, s.discard_changes().await);
    }
    if mode == CommitMode::ConfirmedPersist {
        let before = step!(
            PushStage::Edit,
            s.get_config(Datastore::Running, filter).await
        );
        held.before = Some(before.xml);
    }

    let edit = EditConfig {
        target,
        config: req.config,
        default_operation: Some(req.default_operation),
        test_option: None,
        error_option,
    };
    let r = step!(PushStage::Edit, s.edit_config(&edit).await);
    warnings.extend(r.warnings().cloned());

    if mode != CommitMode::Running {
        let commit = match mode {
            CommitMode::ConfirmedPersist => Commit::Confirmed {
                timeout: req.confirm_timeout,
                persist: Some(req.persist_id.to_string()),
            },
            CommitMode::Confirmed => Commit::Confirmed {
                timeout: req.confirm_timeout,
                persist: None,
            },
            _ => Commit::Plain,
        };
        let r = s.commit(&commit).await;
        // A commit that got no answer may have been applied.
        held.committed = match &r {
            Ok(_) => true,
            Err(e) => e.breaks_session(),
        };
        let r = step!(PushStage::Commit, r);
        warnings.extend(r.warnings().cloned());
        let confirmed = matches!(mode, CommitMode::ConfirmedPersist | CommitMode::Confirmed);
        if confirmed && !req.pause_after_confirmed_commit.is_zero() {
            tracing::warn!(
                session_id = s.session_id(),
                pause = ?req.pause_after_confirmed_commit,
                "test hook: pausing between the confirmed and the confirming commit"
            );
            tokio::time::sleep(req.pause_after_confirmed_commit).await;
        }
    }

    let data = step!(
        PushStage::Verify,
        s.get_config(Datastore::Running, filter).await
    );
    step!(
        PushStage::Verify,
        verify(&data).map_err(NetconfError::Verify)
    );

    match mode {
        CommitMode::ConfirmedPersist => {
            let r = step!(
                PushStage::Confirm,
                s.commit(&Commit::Confirming {
                    persist_id: req.persist_id.to_string()
                })
                .await
            );
            warnings.extend(r.warnings().cloned());
        }
        CommitMode::Confirmed => {
            let r = step!(PushStage::Confirm, s.commit(&Commit::Plain).await);
            warnings.extend(r.warnings().cloned());
        }
        CommitMode::Plain | CommitMode::Running => {}
    }

    let mut unlock_errors = Vec::new();
    if let Some(ds) = held.locked {
        if let Err(e) = s.unlock(ds).await {
            unlock_errors.push(format!("unlock {ds}: {e}"));
        }
    }
    tracing::debug!(session_id = s.session_id(), ?mode, "NETCONF push done");
    Ok(PushOutcome {
        mode,
        warnings,
        unlock_errors,
    })
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoverOutcome {
    /// The pending confirmed commit is now confirmed.
    Confirmed,
    /// The pending confirmed commit was cancelled; running is as before it.
    Cancelled,
    /// The server knows no confirmed commit with this persist id: it was
    /// already confirmed, already rolled back at its timeout, or never sent.
    /// Read running to tell. Carries the device's message.
    NothingPending(String),
}

/// True if a confirming commit or cancel-commit failed because no confirmed
/// commit with that persist id is pending.
fn is_unknown_persist_id(e: &NetconfError) -> bool {
    e.rpc_errors().iter().any(|r| {
        matches!(
            r.tag,
            ErrorTag::InvalidValue
                | ErrorTag::DataMissing
                | ErrorTag::OperationFailed
                | ErrorTag::MissingElement
                | ErrorTag::BadElement
        )
    }) && e.rpc_errors().iter().all(|r| r.tag != ErrorTag::LockDenied)
}

/// After a restart: on a new session, confirm (`confirm = true`) or cancel
/// the confirmed commit made with `persist_id`.
///
/// Takes no lock: netconfd refuses `<lock>` (in-use,
/// outstanding-confirmed-commit) while a confirmed commit is pending, and
/// RFC 6241 lets any session confirm or cancel with the persist id. The
/// candidate equals running right after a confirmed commit, so the
/// confirming commit carries nothing else.
pub async fn recover<S>(
    s: &mut NetconfSession<S>,
    persist_id: &str,
    confirm: bool,
) -> Result<RecoverOutcome, NetconfError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    if !s.has(CAP_CONFIRMED_COMMIT_11) {
        return Err(NetconfError::MissingCapability(CAP_CONFIRMED_COMMIT_11));
    }
    let r = if confirm {
        s.commit(&Commit::Confirming {
            persist_id: persist_id.to_string(),
        })
        .await
        .map(|_| RecoverOutcome::Confirmed)
    } else {
        s.cancel_commit(Some(persist_id))
            .await
            .map(|()| RecoverOutcome::Cancelled)
    };
    match r {
        Err(e) if is_unknown_persist_id(&e) => Ok(RecoverOutcome::NothingPending(e.to_string())),
        other => other,
    }
}

/// [`recover`], deciding by reading running: confirm if `verify` accepts
/// it, cancel otherwise.
pub async fn recover_verified<S, V>(
    s: &mut NetconfSession<S>,
    persist_id: &str,
    filter: Option<&Filter<'_>>,
    verify: V,
) -> Result<RecoverOutcome, NetconfError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    V: FnOnce(&Data) -> Result<(), String>,
{
    let data = s.get_config(Datastore::Running, filter).await?;
    let ok = verify(&data).is_ok();
    recover(s, persist_id, ok).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::netconf::client::SessionConfig;
    use crate::transport::netconf::testing::{reply, rpc_error, script};
    use crate::transport::netconf::{xml, Framing, CAP_BASE_10, CAP_BASE_11};
    use tokio::io::duplex;

    const CAND: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
    const CC10: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.0";
    const CC11: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
    const ROE: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
    const WR: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";
    const FULL: &[&str] = &[CAP_BASE_10, CAP_BASE_11, CAND, CC10, CC11, ROE];
    const NBR: &str =
        r#"<bgp xmlns="urn:x"><neighbor><address>192.0.2.9</address></neighbor></bgp>"#;

    /// Run `push` against a scripted server; returns the result and, per
    /// request, the operation name and its first child's name.
    async fn run(
        caps: &'static [&'static str],
        answers: Vec<Vec<String>>,
        rpc_timeout: Duration,
        verify: impl FnOnce(&Data) -> Result<(), String>,
    ) -> (
        Result<PushOutcome, PushError>,
        Vec<(String, String)>,
        Vec<String>,
    ) {
        let (client, server) = duplex(1 << 16);
        let srv = tokio::spawn(script(server, caps, Framing::Chunked, answers));
        let cfg = SessionConfig {
            probe_interval: None,
            rpc_timeout,
            ..SessionConfig::default()
        };
        let mut s = NetconfSession::connect(client, cfg).await.unwrap();
        let req = PushRequest {
            verify_filter: Some(Filter::Subtree(r#"<bgp xmlns="urn:x"/>"#)),
            confirm_timeout: Some(Duration::from_secs(90)),
            target: if caps.contains(&CAND) {
                Datastore::Candidate
            } else {
                Datastore::Running
            },
            ..PushRequest::new(NBR, "pid-1")
        };
        let r = push(&mut s, &req, verify).await;
        drop(s);
        let seen = srv.await.unwrap();
        let ops = seen[1..]
            .iter()
            .map(|m| {
                let root = xml::parse(m).unwrap();
                let op = &root.children[0];
                let first = op
                    .children
                    .first()
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                (op.name.clone(), first)
            })
            .collect();
        (r, ops, seen)
    }

    fn ok(id: u32) -> Vec<String> {
        vec![reply(&id.to_string(), "<ok/>")]
    }

    fn data(id: u32, body: &str) -> Vec<String> {
        vec![reply(&id.to_string(), &format!("<data>{body}</data>"))]
    }

    fn ops(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn confirmed_push_in_order() {
        let answers = vec![
            ok(1),
            ok(2),
            data(3, ""),
            ok(4),
            ok(5),
            data(6, NBR),
            ok(7),
            ok(8),
        ];
        let (r, got, seen) = run(FULL, answers, Duration::from_secs(5), |d| {
            d.element
                .find_all(&["bgp", "neighbor"])
                .first()
                .map(|_| ())
                .ok_or_else(|| "missing".to_string())
        })
        .await;
        let out = r.unwrap();
        assert_eq!(out.mode, CommitMode::ConfirmedPersist);
        assert_eq!(
            got,
            ops(&[
                ("lock", "target"),
                ("discard-changes", ""),
                ("get-config", "source"),
                ("edit-config", "target"),
                ("commit", "confirmed"),
                ("get-config", "source"),
                ("commit", "persist-id"),
                ("unlock", "target"),
            ])
        );
        assert!(seen[1].contains("<candidate/>"));
        assert!(seen[4].contains("<error-option>rollback-on-error</error-option>"));
        assert!(seen[5].contains("<confirm-timeout>90</confirm-timeout><persist>pid-1</persist>"));
        assert!(seen[7].contains("<persist-id>pid-1</persist-id>"));
    }

    #[tokio::test]
    async fn rejected_edit_is_discarded_with_the_device_text() {
        let err = vec![reply("4", &rpc_error("bad-element", "invalid number"))];
        let answers = vec![ok(1), ok(2), data(3, ""), err, ok(5), ok(6)];
        let (r, got, _) = run(FULL, answers, Duration::from_secs(5), |_| Ok(())).await;
        let e = r.unwrap_err();
        assert_eq!(e.stage, PushStage::Edit);
        assert_eq!(e.rollback, Rollback::Discarded);
        assert!(!e.is_retryable());
        assert_eq!(
            e.detail(),
            "edit-config rejected by the device: bad-element: invalid number (nothing committed)"
        );
        let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(
            names,
            [
                "lock",
                "discard-changes",
                "get-config",
                "edit-config",
                "discard-changes",
                "unlock"
            ]
        );
    }

    #[tokio::test]
    async fn failed_verify_cancels_and_checks_running_is_restored() {
        let answers = vec![
            ok(1),
            ok(2),
            data(3, ""),
            ok(4),
            ok(5),
            data(6, NBR),
            ok(7),       // cancel-commit
            data(8, ""), // running as before
            ok(9),
            ok(10),
        ];
        let (r, got, seen) = run(FULL, answers, Duration::from_secs(5), |_| Err("no".into())).await;
        let e = r.unwrap_err();
        assert_eq!(e.stage, PushStage::Verify);
        assert_eq!(e.rollback, Rollback::Cancelled);
        assert_eq!(got[6].0, "cancel-commit");
        assert!(seen[7].contains("<persist-id>pid-1</persist-id>"));
        assert_eq!(got[7].0, "get-config");
        assert_eq!(
            (got[8].0.as_str(), got[9].0.as_str()),
            ("discard-changes", "unlock")
        );
    }

    #[tokio::test]
    async fn cancel_that_does_not_restore_running_is_reported() {
        // netconfd 2.13 answers <ok/> to cancel-commit without restoring
        // running when a lock on running is held.
        let answers = vec![
            ok(1),
            ok(2),
            data(3, ""),
            ok(4),
            ok(5),
            data(6, NBR),
            ok(7),
            data(8, NBR),
            ok(9),
            ok(10),
        ];
        let (r, _, _) = run(FULL, answers, Duration::from_secs(5), |_| Err("no".into())).await;
        let e = r.unwrap_err();
        assert!(
            matches!(&e.rollback, Rollback::Failed(why) if why.contains("differs")),
            "{e}"
        );
        assert!(e.detail().contains("running differs from before the push"));
    }

    #[tokio::test]
    async fn unanswered_commit_leaves_it_pending_under_the_persist_id() {
        let answers = vec![ok(1), ok(2), data(3, ""), ok(4), vec![]];
        let (r, _, _) = run(FULL, answers, Duration::from_millis(100), |_| Ok(())).await;
        let e = r.unwrap_err();
        assert_eq!(e.stage, PushStage::Commit);
        assert!(matches!(
            e.error,
            NetconfError::Timeout { op: "commit", .. }
        ));
        assert_eq!(
            e.rollback,
            Rollback::Pending {
                persist_id: Some("pid-1".into())
            }
        );
        assert!(e.is_retryable());
    }

    #[tokio::test]
    async fn without_candidate_running_is_edited_under_lock() {
        const RUNNING: &[&str] = &[CAP_BASE_10, CAP_BASE_11, WR, ROE];
        let answers = vec![ok(1), ok(2), data(3, NBR), ok(4)];
        let (r, got, seen) = run(RUNNING, answers, Duration::from_secs(5), |_| Ok(())).await;
        assert_eq!(r.unwrap().mode, CommitMode::Running);
        let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(names, ["lock", "edit-config", "get-config", "unlock"]);
        assert!(seen[1].contains("<running/>") && seen[2].contains("<target><running/></target>"));
    }

    #[tokio::test]
    async fn plain_commit_without_confirmed_commit() {
        const PLAIN: &[&str] = &[CAP_BASE_10, CAP_BASE_11, CAND];
        let answers = vec![ok(1), ok(2), ok(3), ok(4), data(5, NBR), ok(6)];
        let (r, got, seen) = run(PLAIN, answers, Duration::from_secs(5), |_| Ok(())).await;
        assert_eq!(r.unwrap().mode, CommitMode::Plain);
        let names: Vec<&str> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(
            names,
            [
                "lock",
                "discard-changes",
                "edit-config",
                "commit",
                "get-config",
                "unlock"
            ]
        );
        assert!(
            !seen[3].contains("error-option"),
            "no rollback-on-error advertised"
        );
        assert!(seen[4].contains("<commit/>"));
    }

    #[tokio::test]
    async fn lock_in_use_is_contention() {
        let busy = vec![reply("1", &rpc_error("in-use", "confirmed-commit pending"))];
        let (r, got, _) = run(FULL, vec![busy], Duration::from_secs(5), |_| Ok(())).await;
        let e = r.unwrap_err();
        assert!(e.is_lock_denied() && e.is_retryable(), "{e}");
        assert_eq!(e.rollback, Rollback::Discarded);
        assert_eq!(got.len(), 1, "nothing else sent when the lock is refused");
    }

    #[tokio::test]
    async fn recover_confirms_or_finds_nothing_pending() {
        let (client, server) = duplex(1 << 16);
        let unknown = rpc_error("operation-failed", "persistent confirmed commit not active");
        let answers = vec![ok(1), vec![reply("2", &unknown)]];
        let srv = tokio::spawn(script(server, FULL, Framing::Chunked, answers));
        let cfg = SessionConfig {
            probe_interval: None,
            ..SessionConfig::default()
        };
        let mut s = NetconfSession::connect(client, cfg).await.unwrap();
        assert_eq!(
            recover(&mut s, "pid-1", true).await.unwrap(),
            RecoverOutcome::Confirmed
        );
        assert!(matches!(
            recover(&mut s, "pid-1", false).await.unwrap(),
            RecoverOutcome::NothingPending(m) if m.contains("not active")
        ));
        drop(s);
        let seen = srv.await.unwrap();
        assert!(seen[1].contains("<commit><persist-id>pid-1</persist-id></commit>"));
        assert!(seen[2].contains("<cancel-commit><persist-id>pid-1</persist-id></cancel-commit>"));
    }

    #[test]
    fn persist_ids_are_random_and_plain() {
        let a = new_persist_id();
        assert_ne!(a, new_persist_id());
        assert_eq!(a.len(), 6 + 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn mode_follows_capabilities() {
        let m = |caps: &[&str]| CommitMode::for_capabilities(|c| caps.contains(&c));
        assert_eq!(
            m(&[CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_CONFIRMED_COMMIT_11]),
            Some(CommitMode::ConfirmedPersist)
        );
        assert_eq!(
            m(&[CAP_CANDIDATE, CAP_CONFIRMED_COMMIT]),
            Some(CommitMode::Confirmed)
        );
        assert_eq!(m(&[CAP_CANDIDATE]), Some(CommitMode::Plain));
        assert_eq!(m(&[CAP_WRITABLE_RUNNING]), Some(CommitMode::Running));
        assert_eq!(m(&[]), None);
        let c =
            |caps: &[&str], t, confirmed| CommitMode::choose(|c| caps.contains(&c), t, confirmed);
        let cc = [CAP_CANDIDATE, CAP_CONFIRMED_COMMIT, CAP_CONFIRMED_COMMIT_11];
        assert_eq!(
            c(&cc, Datastore::Candidate, true),
            Ok(CommitMode::ConfirmedPersist)
        );
        assert_eq!(c(&cc, Datastore::Candidate, false), Ok(CommitMode::Plain));
        assert_eq!(c(&cc, Datastore::Running, true), Err(CAP_WRITABLE_RUNNING));
        assert_eq!(
            c(&[CAP_WRITABLE_RUNNING], Datastore::Candidate, true),
            Err(CAP_CANDIDATE)
        );
        assert_eq!(
            c(&[CAP_WRITABLE_RUNNING], Datastore::Running, true),
            Ok(CommitMode::Running)
        );
    }

    #[tokio::test]
    async fn test_pause_sits_between_the_confirmed_and_the_confirming_commit() {
        let (client, server) = duplex(1 << 16);
        let answers = vec![
            ok(1),
            ok(2),
            data(3, ""),
            ok(4),
            ok(5),
            data(6, NBR),
            ok(7),
            ok(8),
        ];
        let srv = tokio::spawn(script(server, FULL, Framing::Chunked, answers));
        let cfg = SessionConfig {
            probe_interval: None,
            ..SessionConfig::default()
        };
        let mut s = NetconfSession::connect(client, cfg).await.unwrap();
        let pause = Duration::from_millis(200);
        let req = PushRequest {
            pause_after_confirmed_commit: pause,
            ..PushRequest::new(NBR, "pid-1")
        };
        let started = std::time::Instant::now();
        let mut verified_at = None;
        push(&mut s, &req, |_| {
            verified_at = Some(started.elapsed());
            Ok(())
        })
        .await
        .unwrap();
        assert!(
            verified_at.unwrap() >= pause,
            "verify ran before the pause ended"
        );
        drop(s);
        srv.await.unwrap();
    }

    #[test]
    fn detail_names_stage_message_and_state() {
        let e = PushError {
            stage: PushStage::Commit,
            error: NetconfError::Rpc {
                op: "commit",
                errors: vec![RpcError {
                    error_type: super::super::ErrorType::Application,
                    tag: ErrorTag::DataMissing,
                    severity: super::super::Severity::Error,
                    app_tag: None,
                    path: Some("/bgp/neighbor/peer-as".into()),
                    message: Some("missing mandatory peer-as".into()),
                    info: vec![],
                }],
            },
            rollback: Rollback::Discarded,
            cleanup: vec![],
        };
        assert_eq!(
            e.detail(),
            "commit rejected by the device: data-missing: missing mandatory peer-as (path /bgp/neighbor/peer-as) (nothing committed)"
        );
        assert!(!e.is_retryable());
    }
}

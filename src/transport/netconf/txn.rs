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
mod tests;

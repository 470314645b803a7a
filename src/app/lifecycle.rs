//! The lifecycle rules the use cases share, over the store alone: delete,
//! retry now, force remove. Each decision is one compare-and-set call of
//! the store; a session that moves on meanwhile is looked at again. These
//! are synchronous (the use cases run them on the blocking pool) and
//! neither check who asks nor wait for the disk: [`super::delete`],
//! [`super::retry`] and [`super::force_remove`] do.

use crate::model::{Session, SessionStatus};
use crate::store::{self, RemoveOpts, Store, StoreError, TransitionOpts};

/// Attempts when the session keeps changing under a decision.
const TRIES: usize = 5;

/// What a deletion did.
#[derive(Clone, Debug, PartialEq)]
pub enum Deletion {
    /// Nothing of the session was on its router: it is gone already.
    Removed(Session),
    /// It is `Deleting`: the worker removes its neighbor, then the session.
    Deleting(Session),
}

fn changed(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Conflict(_) | StoreError::BadTransition { .. }
    )
}

fn load(store: &dyn Store, id: &str) -> store::Result<Session> {
    store
        .get_session(id)?
        .ok_or_else(|| StoreError::NotFound(format!("session {id}")))
}

/// Deletes a session (a peer's `DELETE`, or an operator's). A session
/// whose config never reached its router (`Pending`, never pushed, or
/// already taken off: `Unestablished`; `Rejected` holds no address) is
/// removed at once, without the router; any other becomes `Deleting`.
pub fn delete(store: &dyn Store, id: &str, actor: &str) -> store::Result<Deletion> {
    let mut last = None;
    for _ in 0..TRIES {
        let s = load(store, id)?;
        let off_router = matches!(
            s.status,
            SessionStatus::Pending | SessionStatus::Rejected | SessionStatus::Unestablished
        );
        let r = if s.status == SessionStatus::Deleting && s.pushed {
            return Ok(Deletion::Deleting(s));
        } else if off_router || !s.pushed {
            let detail = if off_router {
                format!("deleted while {}: nothing on router {}", s.status, s.router)
            } else {
                format!(
                    "deleted while {}: never pushed to router {}, removed without contacting it",
                    s.status, s.router
                )
            };
            let opts = RemoveOpts {
                actor: actor.to_string(),
                action: Some("delete".into()),
                detail: Some(detail),
                expect: vec![s.status],
                unpushed: !off_router,
            };
            store.remove_session_if(id, opts).map(Deletion::Removed)
        } else {
            let opts = TransitionOpts {
                actor: actor.to_string(),
                action: Some("delete".into()),
                expect: vec![s.status],
                detail: Some(Some("deletion requested".into())),
            };
            store
                .transition(id, SessionStatus::Deleting, opts)
                .map(Deletion::Deleting)
        };
        match r {
            Err(e) if changed(&e) => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Conflict("the session keeps changing".into())))
}

/// An operator's "retry now": a `Failed` session goes back to `Approved`
/// with a fresh job; one that backs off (`Approved`, `Provisioning`,
/// `Deleting`, or an expiry that failed) has its waiting jobs made ready
/// now, attempts reset. `Conflict` when nothing waits or a push is running.
pub fn retry_now(store: &dyn Store, id: &str, actor: &str) -> store::Result<Session> {
    let mut last = None;
    for _ in 0..TRIES {
        let s = load(store, id)?;
        let r = if s.status == SessionStatus::Failed {
            let opts = TransitionOpts {
                actor: actor.to_string(),
                action: Some("retry".into()),
                expect: vec![SessionStatus::Failed],
                detail: Some(Some("an operator asked for a retry now".into())),
            };
            store.transition(id, SessionStatus::Approved, opts)
        } else {
            return store.requeue_now(id, actor);
        };
        match r {
            Err(e) if changed(&e) => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Conflict("the session keeps changing".into())))
}

/// What a forced removal did.
#[derive(Clone, Debug, PartialEq)]
pub struct ForceRemoved {
    /// The session as it was.
    pub session: Session,
    /// Set when its config may have reached the router (and may remain).
    pub warning: Option<String>,
}

/// Statuses an operator may force out of the store.
pub const FORCE_REMOVABLE: [SessionStatus; 2] = [SessionStatus::Deleting, SessionStatus::Failed];

/// Removes a `Deleting` or `Failed` session from the store without its
/// router (which may be gone for good); audited. Other statuses:
/// `Conflict` (they are deleted with `DELETE`).
pub fn force_remove(store: &dyn Store, id: &str, actor: &str) -> store::Result<ForceRemoved> {
    let s = load(store, id)?;
    if !FORCE_REMOVABLE.contains(&s.status) {
        return Err(StoreError::Conflict(format!(
            "the session is {}; only Deleting or Failed sessions can be force-removed (delete it instead)",
            s.status
        )));
    }
    let opts = RemoveOpts {
        actor: actor.to_string(),
        action: Some("force-remove".into()),
        detail: Some(format!(
            "removed by an operator without contacting router {}",
            s.router
        )),
        expect: FORCE_REMOVABLE.to_vec(),
        unpushed: false,
    };
    let session = store.remove_session_if(id, opts)?;
    let warning = session.pushed.then(|| {
        format!(
            "peerd did not contact router {}: neighbor {} may still be configured there; check and remove it by hand",
            session.router, session.local_ip
        )
    });
    Ok(ForceRemoved { session, warning })
}

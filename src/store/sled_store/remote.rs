//! The remote side of outbound sessions ([`crate::model::RemoteState`]):
//! one transaction that stores it (and optionally `status_detail`), with an
//! audit record when something an operator reads changed.

use super::super::{Result, StoreError};
use super::sessions::{clip, event};
use super::tx::abort;
use super::Inner;
use crate::model::{now_ms, Direction, RemoteState, Session};

/// What an operator reads of a session's remote side and detail (attempt
/// counters and check times change on every poll and are not worth an
/// audit record of their own).
fn visible(s: &Session) -> impl PartialEq {
    let r = s.remote.as_ref();
    (
        r.map(|r| r.phase),
        r.and_then(|r| r.session_id.clone()),
        r.and_then(|r| r.request_id.clone()),
        r.and_then(|r| r.status.clone()),
        r.and_then(|r| r.detail.clone()),
        s.status_detail.clone(),
    )
}

impl Inner {
    pub fn set_remote(
        &self,
        id: &str,
        remote: RemoteState,
        detail: Option<Option<String>>,
        actor: &str,
    ) -> Result<Session> {
        let now = now_ms();
        let detail = detail.map(|d| d.map(|d| clip(&d)));
        let (id, actor) = (id.to_string(), actor.to_string());
        self.writer.write(move |tx| {
            let mut s = tx.session(&id)?;
            if s.direction != Direction::Outbound {
                return abort(StoreError::Conflict(
                    "only outbound sessions have a remote side".into(),
                ));
            }
            let before = visible(&s);
            s.remote = Some(remote.clone());
            if let Some(d) = &detail {
                s.status_detail = d.clone();
            }
            if before != visible(&s) {
                s.updated_ms = now;
                let what = format!(
                    "remote {}{}{}",
                    remote.phase.as_str(),
                    remote
                        .status
                        .as_deref()
                        .map(|st| format!(", status {st}"))
                        .unwrap_or_default(),
                    remote
                        .detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default(),
                );
                let ev = event(&s, &actor, "remote", Some(s.status), Some(clip(&what)), now);
                tx.audit(&ev)?;
            }
            tx.store_session(&s)?;
            Ok(s)
        })
    }
}

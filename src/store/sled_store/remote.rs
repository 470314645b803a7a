//! The remote side of outbound sessions ([`crate::model::RemoteState`]):
//! one transaction that stores it (and optionally `status_detail`), with an
//! audit record when something an operator reads changed.

use super::super::{Result, StoreError};
use super::sessions::{clip, event};
use super::tx::abort;
use super::Inner;
use crate::model::{now_ms, Direction, RemoteState, Session};
use crate::store::rules::{remote_text, visible_remote as visible};

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
                let what = remote_text(&remote);
                let ev = event(&s, &actor, "remote", Some(s.status), Some(clip(&what)), now);
                tx.audit(&s, &ev)?;
            }
            tx.store_session(&s)?;
            Ok(s)
        })
    }
}

//! The asking side: peerd asks another network's Peering API for sessions
//! and provisions our end once the remote accepts (`peerd request ASN`,
//! `POST /admin/outbound`).
//!
//! - `plan`: the locations we share (the remote's own list, joined with
//!   our inventory and PeeringDB's `netixlan` rows for both ASNs) and the
//!   address pairs per location and family, each validated as strictly as
//!   an inbound request.
//! - `send`: the request: recorded on disk before anything is sent,
//!   then sent, then the answer applied ([`request`]).
//! - `follow`: the [`Follower`], which keeps asking the remote for the
//!   status of open requests (with backoff), provisions our end when the
//!   remote accepts, records a refusal, and resends what was never
//!   confirmed without asking twice.
//! - `withdraw`: deleting an outbound session also deletes it at the
//!   remote (retried until the remote has it gone).
//!
//! An outbound session is stored like an inbound one, seen from our
//! router: `local_*` is the remote (the neighbor), `peer_*` is us, plus
//! [`Direction::Outbound`] and the remote's side in [`RemoteState`]. The
//! worker, the renderer and the drift checks treat it like any other; it
//! holds its neighbor address under the same one-owner rule.
//!
//! Idempotent sending (the draft has no idempotency key): the sessions are
//! stored in phase `sending` (with an open-request record) and flushed
//! before the POST. If the answer is lost (timeout, crash), the next
//! attempt first asks the remote what it holds for us (draft `GET
//! /sessions?asn=<ours>`, v0 `get_status?asn=<ours>`) and adopts every
//! session it finds by its address pair; only what the remote does not
//! hold is sent again. A request is never looked at by the follower while
//! it is being sent, nor within `timeout_secs` of a send.

mod follow;
mod plan;
mod send;
mod settle;
mod withdraw;

pub use follow::Follower;
pub use plan::{Plan, Skip};
pub use send::{request, RequestOutcome};
pub use withdraw::withdraw;

use super::{AppError, Ctx};
use crate::auth::is_token_syntax;
use crate::auth::own::OwnToken;
use crate::config::{check_url, OutboundSettings, RemoteAuth, RemotePeer};
use crate::model::{Direction, RemoteState, Session, UnixMillis};
use crate::outbound::{RemoteClient, Target};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Metadata namespace of the requests still followed (key: our request id).
pub const OPEN_NS: &str = "outbound_open";
/// Metadata namespace of deletions at a remote not done yet (key: our
/// session id).
pub const DELETE_NS: &str = "outbound_delete";

/// A request the follower looks after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRequest {
    pub remote_asn: u32,
    pub created_ms: UnixMillis,
    /// Not looked at before this time.
    pub next_ms: UnixMillis,
    /// Failed looks in a row (for the backoff).
    pub failures: u32,
    pub last_error: Option<String>,
}

/// A deletion at a remote still to be done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDelete {
    pub remote_asn: u32,
    pub remote_session_id: Option<String>,
    pub our_ip: IpAddr,
    pub their_ip: IpAddr,
    pub created_ms: UnixMillis,
    pub next_ms: UnixMillis,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Longest bearer token read from a file.
const TOKEN_FILE_MAX: u64 = 8192;

/// The asking side's tools: the HTTP client, the settings, our own
/// PeeringDB login. Shared behind an `Arc` by the API and the follower.
pub struct Outbound {
    pub client: RemoteClient,
    pub settings: OutboundSettings,
    pub our_asn: u32,
    /// Our PeeringDB login (for `auth: peeringdb`); `None` when the
    /// PeeringDB login is not configured.
    pub own: Option<Arc<OwnToken>>,
    /// Requests being sent right now (the follower leaves them alone).
    busy: Mutex<HashSet<String>>,
}

impl Outbound {
    pub fn new(
        settings: &OutboundSettings,
        our_asn: u32,
        own: Option<Arc<OwnToken>>,
    ) -> Result<Outbound, String> {
        Ok(Outbound {
            client: RemoteClient::new(settings)?,
            settings: settings.clone(),
            our_asn,
            own,
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// The configured remote peer for `asn`.
    pub fn remote(&self, asn: u32) -> Result<&RemotePeer, AppError> {
        self.settings.remote(asn).ok_or_else(|| {
            AppError::invalid(
                "asn",
                format!("AS{asn} is not a remote peer of this server (outbound.remotes in the settings)"),
            )
        })
    }

    /// A call target for `peer`, with its bearer token read now.
    pub async fn target(&self, peer: &RemotePeer) -> Result<Target, String> {
        let base = check_url(&peer.url, self.settings.allow_http_loopback)
            .map_err(|m| format!("outbound url of AS{}: {m}", peer.asn))?;
        let token = match &peer.auth {
            RemoteAuth::BearerEnv(var) => std::env::var(var).unwrap_or_default(),
            RemoteAuth::BearerFile(path) => read_token_file(path)?,
            RemoteAuth::Peeringdb => match &self.own {
                None => return Err("auth: peeringdb needs the PeeringDB login (peeringdb.client_id and redirect_url)".into()),
                Some(own) => own
                    .access_token()
                    .await
                    .map_err(|e| format!("our PeeringDB token: {e}"))?,
            },
        };
        let token = token.trim().to_string();
        if !is_token_syntax(&token) {
            let from = match &peer.auth {
                RemoteAuth::BearerEnv(v) => format!("environment variable {v}"),
                RemoteAuth::BearerFile(p) => format!("file {}", p.display()),
                RemoteAuth::Peeringdb => "our PeeringDB login".into(),
            };
            return Err(format!(
                "no usable bearer token for AS{} in {from} (unset, empty or not a token)",
                peer.asn
            ));
        }
        Ok(Target {
            asn: peer.asn,
            base,
            dialect: peer.dialect,
            token,
            our_asn: self.our_asn,
        })
    }

    /// Marks request `rid` as being worked on (sent or followed) until the
    /// guard is dropped (also when the work is cut short); `None` when it
    /// already is.
    fn claim(&self, rid: &str) -> Option<Busy<'_>> {
        let fresh = self.busy.lock().expect("busy lock").insert(rid.to_string());
        fresh.then(|| Busy {
            ob: self,
            rid: rid.to_string(),
        })
    }

    /// Backoff before look number `failures + 1`.
    fn backoff_ms(&self, failures: u32) -> u64 {
        let base = self.settings.poll_interval_secs.max(1) * 1000;
        let max = self.settings.backoff_max_secs.max(1) * 1000;
        base.saturating_mul(1u64 << failures.min(16))
            .min(max.max(base))
    }
}

/// A request being worked on; released on drop.
struct Busy<'a> {
    ob: &'a Outbound,
    rid: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut b) = self.ob.busy.lock() {
            b.remove(&self.rid);
        }
    }
}

fn read_token_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).map_err(|e| format!("bearer_file {}: {e}", path.display()))?;
    let mut s = String::new();
    f.take(TOKEN_FILE_MAX)
        .read_to_string(&mut s)
        .map_err(|e| format!("bearer_file {}: {e}", path.display()))?;
    Ok(s.lines().next().unwrap_or("").to_string())
}

/// The outbound tools of `ctx`, or why there are none.
fn tools(ctx: &Ctx) -> Result<Arc<Outbound>, AppError> {
    ctx.outbound
        .clone()
        .ok_or_else(|| AppError::unavailable("the asking side is not running on this server"))
}

/// The remote side of an outbound session (a default one if missing).
fn remote_of(s: &Session) -> RemoteState {
    s.remote.clone().unwrap_or_default()
}

/// True for a session of ours that asks a remote.
pub fn is_outbound(s: &Session) -> bool {
    s.direction == Direction::Outbound
}

fn meta_get<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    ns: &str,
    key: &str,
) -> Result<Option<T>, AppError> {
    match ctx.store.meta_get(ns, key)? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(AppError::internal),
    }
}

fn meta_put<T: Serialize>(ctx: &Ctx, ns: &str, key: &str, v: &T) -> Result<(), AppError> {
    let raw = serde_json::to_vec(v).map_err(AppError::internal)?;
    ctx.store.meta_put(ns, key, &raw)?;
    Ok(())
}

/// Every record of a namespace (unreadable ones are skipped with a log).
fn meta_all<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    ns: &str,
) -> Result<Vec<(String, T)>, AppError> {
    let mut out = Vec::new();
    for (k, raw) in ctx.store.meta_list(ns)? {
        match serde_json::from_slice(&raw) {
            Ok(v) => out.push((k, v)),
            Err(e) => {
                tracing::warn!(ns, key = %k, error = %e, "unreadable outbound record skipped")
            }
        }
    }
    Ok(out)
}

/// What is still open with remotes, for operators.
pub struct OpenState {
    /// Requests still followed, by our request id.
    pub requests: Vec<(String, OpenRequest)>,
    /// Deletions at remotes still to do, by our session id.
    pub deletes: Vec<(String, PendingDelete)>,
}

/// The requests still followed and the deletions at remotes still to do.
pub fn open_state(ctx: &Ctx) -> Result<OpenState, AppError> {
    Ok(OpenState {
        requests: meta_all(ctx, OPEN_NS)?,
        deletes: meta_all(ctx, DELETE_NS)?,
    })
}

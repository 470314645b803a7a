//! The NETCONF executor's records of confirmed commits that may still be
//! pending on a router ([`PendingCommit`]), and where they are kept: the
//! narrow [`PendingRecords`] trait (list, put, delete, durable) the
//! executor sees, and [`StoreRecords`], its adapter over the store's meta
//! area ([`PENDING_NS`]).

use crate::model::now_ms;
use crate::platform::parsers::wrap_netconf_data;
use crate::platform::plan::check_expected;
use crate::platform::{ExpectedNeighbor, Op, ParserKind, RenderedPush};
use crate::store::Store;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;

/// Namespace of the store's meta area holding pending confirmed commits,
/// keyed by persist id.
pub const PENDING_NS: &str = "netconf-pending";

/// A durable key-value area for pending-commit records. Errors are
/// messages (they name no secret).
pub trait PendingRecords: Send + Sync + 'static {
    /// Every record, `(key, bytes)`.
    fn list(&self) -> Result<Vec<(String, Vec<u8>)>, String>;
    fn put(&self, key: &str, value: &[u8]) -> Result<(), String>;
    fn delete(&self, key: &str) -> Result<(), String>;
    /// Resolves once every earlier change is on disk.
    fn durable(&self) -> BoxFuture<'static, Result<(), String>>;
}

/// [`PendingRecords`] in the store's meta area, namespace [`PENDING_NS`].
pub struct StoreRecords(pub Arc<dyn Store>);

impl PendingRecords for StoreRecords {
    fn list(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.0.meta_list(PENDING_NS).map_err(|e| e.to_string())
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.0
            .meta_put(PENDING_NS, key, value)
            .map_err(|e| e.to_string())
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        self.0
            .meta_delete(PENDING_NS, key)
            .map_err(|e| e.to_string())
    }

    fn durable(&self) -> BoxFuture<'static, Result<(), String>> {
        let f = self.0.durable();
        Box::pin(async move { f.await.map_err(|e| e.to_string()) })
    }
}

/// A neighbor a pending confirmed commit was meant to leave in running
/// (add) or take out of it (remove).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingNeighbor {
    pub session_id: String,
    pub address: IpAddr,
    pub peer_as: u32,
}

/// A confirmed commit that was (or was about to be) sent and not yet
/// confirmed or rolled back. Holds no secret: not the payload, only what
/// verifying running needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingCommit {
    pub persist_id: String,
    pub router: String,
    /// `add` or `remove`.
    pub op: String,
    pub session_ids: Vec<String>,
    pub expected: Vec<PendingNeighbor>,
    /// The subtree filter of the verifying get-config of running.
    pub filter: String,
    /// The verify parser's name.
    pub parser: String,
    /// Per-RPC timeout of the platform.
    pub timeout_secs: u64,
    pub created_ms: u64,
}

impl PendingCommit {
    pub fn new(push: &RenderedPush, persist_id: &str, filter: &str, timeout_secs: u64) -> Self {
        PendingCommit {
            persist_id: persist_id.to_string(),
            router: push.router.clone(),
            op: push.op.as_str().to_string(),
            session_ids: push.session_ids.clone(),
            expected: push
                .expected
                .iter()
                .map(|e| PendingNeighbor {
                    session_id: e.session_id.clone(),
                    address: e.address,
                    peer_as: e.peer_as,
                })
                .collect(),
            filter: filter.to_string(),
            parser: push.verify.parser.name().to_string(),
            timeout_secs,
            created_ms: now_ms(),
        }
    }

    /// Whether running (the get-config answer) holds what the push meant.
    pub fn check(&self, data_xml: &str) -> Result<(), String> {
        let parser = ParserKind::from_name(&self.parser)
            .ok_or_else(|| format!("unknown parser {:?}", self.parser))?;
        let op = match self.op.as_str() {
            "add" => Op::Add,
            "remove" => Op::Remove,
            other => return Err(format!("unknown operation {other:?}")),
        };
        let observed = parser.parse(&wrap_netconf_data(data_xml))?;
        let expected: Vec<ExpectedNeighbor> = self
            .expected
            .iter()
            .map(|e| ExpectedNeighbor {
                session_id: e.session_id.clone(),
                address: e.address,
                peer_as: e.peer_as,
            })
            .collect();
        check_expected(op, &expected, &observed).map_err(|p| p.join("; "))
    }
}

//! peerd: the receiving side of the Peering API (draft-ietf-grow-peering-api).
//!
//! Data flows one way: [`api`] -> [`policy`] -> [`store`] (job) -> worker ->
//! render -> driver -> transport -> router; status flows back through the
//! store to the API. [`model`] depends on nothing.

pub mod config;
pub mod inventory;
pub mod model;
pub mod store;
pub mod transport;

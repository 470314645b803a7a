//! peerd: the receiving side of the Peering API (draft-ietf-grow-peering-api).
//!
//! Data flows one way: [`api`] -> [`policy`] -> [`store`] (job) -> worker ->
//! render -> driver -> transport -> router; status flows back through the
//! store to the API. [`model`] depends on nothing.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod driver;
pub mod inventory;
pub mod model;
pub mod peeringdb;
pub mod policy;
pub mod render;
pub mod store;
pub mod transport;
pub mod validate;
pub mod wire;
pub mod worker;

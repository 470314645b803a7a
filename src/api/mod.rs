//! The HTTP API: draft routes, v0 routes, admin routes, errors and auth.
//! The JSON shapes are [`crate::wire`]; [`server`] builds
//! the router under the configurable base path and serves it through the
//! accept loop in [`listen`] (connection cap, descriptor reserve) and
//! [`conn`] (one connection: timeouts, eviction, clean closes).

pub mod admin;
pub mod admin_pdb;
pub mod common;
pub mod conn;
pub mod error;
pub mod extract;
pub mod listen;
pub mod locations;
pub mod login;
pub mod server;
pub mod sessions;
pub mod state;
pub mod v0;

/// TEMPORARY (issue 9): `worker/lifecycle_tests.rs` still names
/// `crate::api::lifecycle`; the lead removes this once the worker half of
/// the issue is merged.
#[doc(hidden)]
pub use crate::app::lifecycle;

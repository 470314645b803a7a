//! The HTTP API (axum): draft routes, v0 routes, admin routes (the asking
//! side's among them: [`outbound`]), the peer login routes. Handlers authenticate the caller ([`extract`]), read the
//! request into the shapes of [`crate::wire`], call a use case of
//! [`crate::app`] (or read the store for a listing), and answer; every
//! failure becomes an [`error::ApiError`], and [`error`] is the one place
//! where a refusal becomes an HTTP status. [`server`] builds the router
//! under the configurable base path and serves it through the accept loop
//! in [`listen`] (connection cap, descriptor reserve) and [`conn`] (one
//! connection: timeouts, eviction, clean closes). [`ops`] answers health,
//! readiness and metrics; [`openapi`] describes every route. [`ui`] is the
//! operator console (HTML pages at `/ui`, not described by the OpenAPI
//! document), over the same use cases.

pub mod admin;
pub mod admin_pdb;
pub mod common;
pub mod conn;
pub mod error;
pub mod extract;
pub mod listen;
pub mod locations;
pub mod login;
pub mod maintenance;
pub mod openapi;
pub mod ops;
pub mod outbound;
pub mod server;
pub mod sessions;
pub mod state;
pub mod ui;
pub mod v0;

//! The Peering API over real HTTP: the `peerd` binary on loopback with a
//! stand-in PeeringDB (issue 2).

mod addresses;
mod admin;
mod auth;
mod durability;
mod examples;
mod isolation;
mod lifecycle;
mod paging;
mod routes;
mod v0;
mod validation;

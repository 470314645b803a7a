//! The HTTP API: draft routes, v0 routes, admin routes, errors and auth.
//! [`wire`] holds the JSON shapes that go over the wire.

pub mod wire;

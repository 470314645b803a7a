//! The driver: the worker's port ([`port`]: [`RouterDriver`], the one
//! transient/permanent classification of [`PushError`], [`PushOutcome`],
//! [`NeighborState`], the reads of one router) and its executors, peers of
//! each other: [`ssh_exec`] (commands over SSH) and [`netconf`] (NETCONF
//! transactions). [`Executors`] routes each rendered plan to its executor.
//!
//! [`probe`] checks that a router can be reached (read-only), for
//! `peerd check --connect`.
//!
//! The driver runs what the worker rendered; it never renders. It imports
//! the platform (plans and parsers) and the transport below it.

mod executors;
pub mod netconf;
pub mod port;
pub mod probe;
pub mod ssh_exec;

pub use executors::Executors;
pub use port::{
    is_resource_exhaustion, NeighborState, PushError, PushOutcome, RouterDriver, RouterRead,
    RouterReads,
};

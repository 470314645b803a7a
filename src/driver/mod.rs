//! The driver: the worker's port ([`port`]: [`RouterDriver`], the one
//! transient/permanent classification of [`PushError`], [`PushOutcome`],
//! [`NeighborState`], the reads of one router) and its executors, peers of
//! each other: [`ssh_exec`] (commands over SSH) and [`netconf`] (NETCONF
//! transactions). [`Executors`] routes each rendered plan to its executor.
//!
//! The driver runs what the worker rendered; it never renders. It imports
//! the platform (plans and parsers) and the transport below it.

mod executors;
pub mod netconf;
pub mod port;
pub mod ssh_exec;

pub use executors::Executors;
pub use port::{
    is_resource_exhaustion, NeighborState, PushError, PushOutcome, RouterDriver, RouterRead,
    RouterReads,
};

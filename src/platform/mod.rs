//! Platforms as data: the profiles in `drivers/<platform>.yaml`
//! ([`profile`], loaded by [`Profiles`] and checked by [`check`]), the push
//! and read plans a render produces for them ([`plan`]), and the named
//! parsers that read a router's answers ([`parsers`]).
//!
//! A platform is a profile plus templates; Rust changes only for a new
//! transport or a new parser. Nothing here does I/O to a router: render
//! fills the plans, the driver runs them, and the parsers read what the
//! router answered. It depends on the model and inventory, and on the
//! NETCONF protocol enums of [`crate::transport::netconf`] (the profiles'
//! `netconf` settings use them).

pub mod check;
pub mod parsers;
pub mod plan;
pub mod profile;
mod profiles;

pub use check::ProfileIssue;
pub use parsers::{DownReason, ObservedNeighbor, ParserKind};
pub use plan::{ExecStep, ExpectedNeighbor, Op, PushPlan, ReadPlan, ReadRequest, RenderedPush};
pub use profile::{
    CommandRead, ConfigSpec, ForEach, NetconfRead, NetconfSettings, NetconfSpec, Profile,
    ReadCommon, SshExecSpec, StepSpec, StepsSpec, Transport, TransportKind,
};
pub use profiles::{command_name, error_chain, ProfileError, Profiles};

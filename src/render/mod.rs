//! Rendering: a Tera 2 environment over `templates/<platform>/*.tera`
//! ([`TemplateEnv`]), the typed render context ([`context`]), and
//! [`render_batch`], which turns a batch of sessions for one router into
//! the exact [`crate::platform::RenderedPush`] its platform profile
//! describes: one render and one apply per batch. The reads the worker asks
//! the driver to make are rendered here too ([`verify_request`],
//! [`state_request`]). Render imports the platform (profiles and plans),
//! the inventory and the model; it never talks to a router.
//!
//! Undefined values are errors (Tera 2's default, kept). Templates whose
//! name ends in `.xml.tera` are XML-escaped automatically.

mod batch;
mod check;
mod cli;
pub mod context;
mod env;
mod error;
mod plain;
mod prepared;
mod reads;
#[cfg(test)]
mod tests;
mod values;

pub use batch::{
    render_batch, render_batch_filtered, state_request, verify_request, Filters, Renderer,
    MAX_BATCH,
};
pub use check::{
    check_all, sample_sessions, sample_sessions_for, unfiltered_locations, SAMPLE_SECRET,
};
pub use cli::{format_push, render_for_cli};
pub use context::max_prefix;
pub use env::{xml_escape, TemplateEnv};
pub use error::RenderError;

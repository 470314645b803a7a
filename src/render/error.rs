//! The one error of rendering.

/// A render failure, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Load(String),
    #[error("session {session}: {problem}")]
    Session { session: String, problem: String },
    #[error("{0}")]
    Batch(String),
    #[error("template {name}: {msg}")]
    Template { name: String, msg: String },
    #[error("{0}")]
    Command(String),
}

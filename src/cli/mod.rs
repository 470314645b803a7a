//! The work behind each `peerd` subcommand. `main.rs` only parses the
//! command line (the argument structs live here) and calls these.

pub mod admin;
pub mod check;
pub mod key;
pub mod peeringdb;
pub mod render;
pub mod request;
pub mod serve;
pub mod token;

/// A failed command: the message is printed as `peerd: error: <msg>` and
/// the process exits non-zero.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    pub fn new(m: impl std::fmt::Display) -> Self {
        CliError(m.to_string())
    }
}

macro_rules! cli_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self { CliError(e.to_string()) }
        }
    )*};
}
cli_from!(
    std::io::Error,
    crate::config::ConfigError,
    crate::inventory::InventoryError,
    crate::auth::operator::KeysError,
    crate::store::StoreError,
    reqwest::Error
);

pub type CliResult<T = ()> = Result<T, CliError>;

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

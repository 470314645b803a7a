//! The work behind each `peerd` subcommand. `main.rs` only parses the
//! command line (the argument structs live here) and calls these.
//!
//! [`Global`] holds the flags every subcommand takes anywhere on the line
//! (`--url`, `--key`, `--format`); [`remote`] is the HTTP client of the
//! commands that talk to a running daemon; [`output`] prints tables, JSON
//! and local times.

pub mod admin;
pub mod check;
pub mod completions;
pub mod key;
pub mod output;
pub mod peeringdb;
pub mod remote;
pub mod render;
pub mod serve;
pub mod token;

pub use output::Format;

/// Flags accepted anywhere on the command line (`peerd admin jobs --format
/// json` as well as `peerd --format json admin jobs`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Global {
    /// Base URL of a running peerd's API, with its base path
    /// [default: http://127.0.0.1:8080].
    #[arg(
        long,
        env = "PEERD_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// Operator API key for a running peerd (from `peerd key add`).
    #[arg(
        long,
        env = "PEERD_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY"
    )]
    pub key: Option<String>,
    /// Output: `text` (tables and lines) or `json` (parseable, one document).
    #[arg(
        long,
        value_enum,
        global = true,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub format: Format,
    /// Same as `--format json`.
    #[arg(long, global = true, hide = true)]
    pub json: bool,
}

impl Global {
    /// The output format (`--json` is `--format json`).
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }

    /// The API URL: `--url`, `PEERD_URL`, or the default.
    pub fn url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| remote::DEFAULT_URL.to_string())
    }
}

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

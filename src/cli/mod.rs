//! The work behind each `peerd` subcommand. `main.rs` only parses the
//! command line (the argument structs live here) and calls these.

pub mod admin;
pub mod check;
pub mod key;
pub mod peeringdb;
pub mod render;
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

/// Logs to stderr as text; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    init_logging_as(crate::config::LogFormat::Text);
}

/// Logs to stderr in `format`; `RUST_LOG` filters (default `info`).
pub fn init_logging_as(format: crate::config::LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(log_subscriber(
        format,
        filter,
        ansi,
        std::io::stderr,
    ));
}

/// The subscriber `peerd` logs through: `text` lines, or `json` (one JSON
/// object per line: `timestamp`, `level`, `target`, the event's fields
/// flattened, `message`), written to `writer`.
pub fn log_subscriber<W>(
    format: crate::config::LogFormat,
    filter: tracing_subscriber::EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        crate::config::LogFormat::Text => Box::new(fmt.with_ansi(ansi).with_target(false).finish()),
        crate::config::LogFormat::Json => Box::new(
            fmt.json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_target(true)
                .finish(),
        ),
    }
}

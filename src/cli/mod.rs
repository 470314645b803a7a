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
pub mod logsink;
pub mod maintenance;
pub mod memory;
pub mod output;
pub mod peeringdb;
pub mod remote;
pub mod render;
pub mod request;
pub mod serve;
pub mod store;
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

/// Logs to stderr as text; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    init_logging_as(crate::config::LogFormat::Text);
}

/// Logs to stderr in `format`; `RUST_LOG` filters (default `info`).
pub fn init_logging_as(format: crate::config::LogFormat) {
    let _ = tracing::subscriber::set_global_default(log_subscriber(
        format,
        log_filter(),
        stderr_ansi(),
        std::io::stderr,
    ));
}

/// `serve`'s logging: as [`init_logging_as`], through the batching sink
/// ([`logsink`]; stderr directly should its thread not start).
pub fn init_serve_logging(format: crate::config::LogFormat) {
    let Ok(sink) = logsink::stderr() else {
        return init_logging_as(format);
    };
    let _ = tracing::subscriber::set_global_default(log_subscriber(
        format,
        log_filter(),
        stderr_ansi(),
        sink,
    ));
}

fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

fn stderr_ansi() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogFormat;
    use crate::model::{Secret, Session, SessionStatus};
    use std::sync::{Arc, Mutex};

    /// Runs `f` under `peerd`'s subscriber in `format`; the lines written.
    fn logged(format: LogFormat, f: impl FnOnce()) -> Vec<String> {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let sub = log_subscriber(
            format,
            tracing_subscriber::EnvFilter::new("info"),
            false,
            move || w.clone(),
        );
        tracing::subscriber::with_default(sub, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }

    fn session() -> Session {
        let mut s = Session::sample(
            "r1",
            "pdb:ix:1",
            (64600, "192.0.2.10".parse().unwrap()),
            (65001, "192.0.2.1".parse().unwrap()),
        );
        s.session_secret = Some(Secret::new("Hq3-unit-secret".to_string()));
        s
    }

    #[test]
    fn json_lines_for_a_state_change_and_a_push() {
        let s = session();
        let lines = logged(LogFormat::Json, || {
            crate::store::log_change(
                &s,
                Some(SessionStatus::Provisioning),
                Some(SessionStatus::Configured),
                "worker",
                "configured",
            );
            crate::store::log_change(&s, Some(SessionStatus::Deleting), None, "worker", "removed");
            tracing::debug!("filtered out");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(v[0]["target"], "peerd::session");
        assert_eq!(v[0]["level"], "INFO");
        assert!(v[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(v[0]["session"], s.session_id.as_str());
        assert_eq!(v[0]["router"], "r1");
        assert_eq!(v[0]["from"], "Provisioning");
        assert_eq!(v[0]["to"], "Configured");
        assert_eq!(v[0]["actor"], "worker");
        assert_eq!(v[0]["message"], "session Provisioning -> Configured");
        assert_eq!(v[1]["to"], "removed");
        assert!(!lines.concat().contains("Hq3-unit-secret"));
    }

    #[test]
    fn serve_takes_a_log_format() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: serve::ServeArgs,
        }
        let c = Cli::try_parse_from(["peerd", "--log-format", "json"]).unwrap();
        assert_eq!(c.serve.log_format, Some(LogFormat::Json));
        let c = Cli::try_parse_from(["peerd"]).unwrap();
        assert_eq!(c.serve.log_format, None);
        assert!(Cli::try_parse_from(["peerd", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn text_lines_read_as_before() {
        let s = session();
        let lines = logged(LogFormat::Text, || {
            crate::store::log_change(&s, None, Some(SessionStatus::Approved), "pdb:1", "created");
        });
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("INFO"), "{}", lines[0]);
        assert!(lines[0].contains("session new -> Approved"), "{}", lines[0]);
        assert!(lines[0].contains("actor=\"pdb:1\""), "{}", lines[0]);
        assert!(serde_json::from_str::<serde_json::Value>(&lines[0]).is_err());
    }
}

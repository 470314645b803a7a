//! `peerd store copy --from DIR --to URL`: copies the embedded sled store
//! of a stopped peerd into PostgreSQL (see [`crate::app::store_copy`]);
//! safe to run again (what is there already is left alone and counted as
//! `present`). The database password comes from `--password-file` or
//! `--password-env`, never from the URL.

use super::output::print_json;
use super::{CliError, CliResult, Global};
use crate::config::StoreSettings;
use crate::store::{PgStore, SledStore, StoreError};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub cmd: StoreCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum StoreCmd {
    /// Copy a sled store (its peerd stopped) into a PostgreSQL database:
    /// sessions, requests, audit, jobs and metadata; idempotent.
    Copy {
        /// The sled store's directory (a peerd `data_dir`).
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// PostgreSQL URL, e.g. postgres://peerd@db.example.net/peerd
        /// (no password in it).
        #[arg(long, value_name = "URL")]
        to: String,
        /// File holding the database password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// NAME of the environment variable holding the database password.
        #[arg(long, value_name = "NAME")]
        password_env: Option<String>,
    },
}

/// `peerd store ...`.
pub fn run(g: &Global, a: StoreArgs) -> CliResult {
    match a.cmd {
        StoreCmd::Copy {
            from,
            to,
            password_file,
            password_env,
        } => {
            let src = SledStore::open(&from).map_err(|e| match e {
                StoreError::Locked(dir) => CliError::new(format!(
                    "a peerd is using {dir}: stop it before copying its store"
                )),
                e => CliError::new(format!("store in {}: {e}", from.display())),
            })?;
            let mut settings = StoreSettings::postgres(&to);
            settings.password_file = password_file;
            settings.password_env = password_env;
            let dst = PgStore::open(&settings)
                .map_err(|e| CliError::new(format!("store (PostgreSQL): {e}")))?;
            let n = crate::app::store_copy::copy(&src, &dst)
                .map_err(|e| CliError::new(format!("copy: {e}")))?;
            if g.format().is_json() {
                print_json(&n);
            } else {
                println!(
                    "copied {} sessions ({} audit records), {} requests, {} jobs, {} metadata records; {} already present",
                    n.sessions, n.audit, n.requests, n.jobs, n.meta, n.present
                );
            }
            Ok(())
        }
    }
}

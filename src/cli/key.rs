//! `peerd key add NAME`: creates an operator API key. The key is printed
//! once on stdout; only its SHA-256 goes into the operator keys file.

use super::CliResult;
use crate::auth::operator::add_key;
use crate::config::Settings;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug, Clone)]
pub enum KeyCmd {
    /// Create an operator key NAME; prints the key once.
    Add(KeyAddArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct KeyAddArgs {
    /// Name of the key (who holds it), e.g. `noc` or `alice`.
    pub name: String,
    /// Settings file (default: ./peerd.yaml if it exists).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Operator keys file (default: from the settings, ./operator-keys.yaml).
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
}

pub fn run(cmd: KeyCmd) -> CliResult {
    match cmd {
        KeyCmd::Add(a) => {
            let path = match a.keys_file {
                Some(p) => p,
                None => Settings::load(a.config.as_deref())?.operator_keys_file,
            };
            let key = add_key(&path, &a.name)?;
            eprintln!(
                "peerd: added operator key {:?} to {}; it is shown only now:",
                a.name,
                path.display()
            );
            println!("{key}");
            Ok(())
        }
    }
}

//! `peerd key add|list|revoke|rotate`: the operator API keys, in the
//! operator keys file (edited in place, atomically, keeping its mode; a
//! running daemon re-reads it on its next request). A key is printed once,
//! on stdout, when it is made (`add`, `rotate`); only its SHA-256 is kept,
//! and `list` shows names, roles and hash ids, never keys. A key is an
//! `admin` unless added with `--role viewer` (reads everything, changes
//! nothing: the admin API's `GET` routes and the console's pages).

use super::output::{print_json, print_table};
use super::{CliResult, Global};
use crate::auth::operator::{add_key_with_role, load_keys, revoke_key, rotate_key, Role};
use crate::config::Settings;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct KeyArgs {
    /// Settings file (default: ./peerd.yaml if it exists).
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Operator keys file (default: from the settings, ./operator-keys.yaml).
    #[arg(long, value_name = "FILE", global = true)]
    pub keys_file: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: KeyCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum KeyCmd {
    /// Create an operator key NAME; prints the key once.
    Add {
        /// Name of the key (who holds it), e.g. `noc` or `alice`.
        name: String,
        /// `admin` (reads and changes everything) or `viewer` (reads
        /// everything, changes nothing).
        #[arg(long, value_name = "ROLE", default_value = "admin", value_parser = clap::value_parser!(Role))]
        role: Role,
    },
    /// List the keys: names, roles and hash ids (never the keys).
    List,
    /// Remove the key NAME: it stops working at once, in a running daemon too.
    Revoke { name: String },
    /// Replace the key NAME with a new one (printed once); the old one
    /// stops working at once.
    Rotate { name: String },
}

/// `peerd key ...`.
pub fn run(g: &Global, a: KeyArgs) -> CliResult {
    let path = match a.keys_file {
        Some(p) => p,
        None => Settings::load(a.config.as_deref())?.operator_keys_file,
    };
    let json = g.format().is_json();
    let file = path.display().to_string();
    match &a.cmd {
        KeyCmd::Add { name, role } => {
            let key = add_key_with_role(&path, name, *role)?;
            let role = role.as_str();
            if json {
                print_json(&json!({"name": name, "role": role, "file": file, "key": key}));
            } else {
                eprintln!(
                    "peerd: added operator key {name:?} ({role}) to {file}; it is shown only now:"
                );
                println!("{key}");
            }
        }
        KeyCmd::List => {
            let keys = load_keys(&path)?;
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| json!({"name": k.name, "role": k.role.as_str(), "id": k.id()}))
                    .collect();
                print_json(&json!({"file": file, "keys": list}));
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.name.clone(),
                            k.role.as_str().to_string(),
                            k.id().to_string(),
                        ]
                    })
                    .collect();
                print_table(&["NAME", "ROLE", "ID"], &rows);
                if keys.is_empty() {
                    eprintln!("peerd: no operator keys in {file} (`peerd key add NAME` makes one)");
                }
            }
        }
        KeyCmd::Revoke { name } => {
            let gone = revoke_key(&path, name)?;
            let left = load_keys(&path)?.len();
            if json {
                print_json(
                    &json!({"revoked": gone.name, "id": gone.id(), "file": file, "keys_left": left}),
                );
            } else {
                println!(
                    "revoked operator key {:?} ({}) in {file}; {left} key(s) left",
                    gone.name,
                    gone.id()
                );
                if left == 0 {
                    eprintln!("peerd: no operator keys left: the admin routes refuse everyone until `peerd key add NAME`");
                }
            }
        }
        KeyCmd::Rotate { name } => {
            let key = rotate_key(&path, name)?;
            if json {
                print_json(&json!({"name": name, "file": file, "key": key}));
            } else {
                eprintln!(
                    "peerd: replaced operator key {name:?} in {file}; the old key no longer works; the new one is shown only now:"
                );
                println!("{key}");
            }
        }
    }
    Ok(())
}

//! `peerd token list|revoke ID`: the peerd tokens peers got by logging in
//! with PeeringDB, over the admin routes of a running peerd (like
//! `peerd admin`; server URL and operator key from `--url`/`--key` or
//! `PEERD_URL`/`PEERD_KEY`). Tokens are shown by id, never by secret.

use super::output::{local_time, print_json, print_table};
use super::remote::{typed, Client};
use super::{CliResult, Global};
use crate::wire::{TokenOut, TokensOut};

#[derive(clap::Args, Debug, Clone)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub cmd: TokenCmd,
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum TokenCmd {
    /// List tokens (id, PeeringDB user, ASNs, expiry, revoked).
    List,
    /// Revoke a token by its id (or an id prefix of at least 8 hex digits).
    Revoke { id: String },
}

/// `peerd token ...`.
pub async fn run(g: &Global, a: TokenArgs) -> CliResult {
    let c = Client::from_global(g)?;
    let json = g.format().is_json();
    match &a.cmd {
        TokenCmd::List => {
            let v = c.get("/admin/tokens", &[]).await?;
            if json {
                print_json(&v);
            } else {
                let t: TokensOut = typed(&v)?;
                print_tokens(&t.tokens);
            }
        }
        TokenCmd::Revoke { id } => {
            if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(super::CliError::new(format!(
                    "{id:?} is not a token id (hex digits, as `peerd token list` shows)"
                )));
            }
            let v = c
                .post(
                    &format!("/admin/tokens/{id}/revoke"),
                    &serde_json::json!({}),
                )
                .await?;
            if json {
                print_json(&v);
            } else {
                let t: TokenOut = typed(&v)?;
                println!("revoked token {}", t.id);
            }
        }
    }
    Ok(())
}

fn print_tokens(tokens: &[TokenOut]) {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let state = if t.revoked {
                "revoked"
            } else if t.expired {
                "expired"
            } else {
                "valid"
            };
            let asns: Vec<String> = t.asns.iter().map(|a| format!("AS{a}")).collect();
            vec![
                t.id.clone(),
                state.into(),
                t.principal.clone(),
                asns.join(","),
                local_time(&t.created_at),
                local_time(&t.expires_at),
            ]
        })
        .collect();
    print_table(
        &["TOKEN", "STATE", "USER", "ASNS", "CREATED", "EXPIRES"],
        &rows,
    );
}

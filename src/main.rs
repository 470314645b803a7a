//! The `peerd` command line: parses arguments and calls into the library.

use clap::{CommandFactory, Parser, Subcommand};
use peerd::cli;
use std::process::ExitCode;

/// mimalloc instead of the system allocator (see Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "peerd",
    version,
    about = "The Peering API, both sides: answers requests, asks other networks"
)]
struct Cli {
    #[command(flatten)]
    global: cli::Global,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the daemon (API; routers are not contacted at startup).
    Serve(cli::serve::ServeArgs),
    /// Validate settings, inventory, operator keys and router credentials
    /// (`--connect`: log in to each router); non-zero on any error.
    Check(cli::check::CheckArgs),
    /// Operator API keys: add, list, revoke, rotate (the keys file).
    Key(cli::key::KeyArgs),
    /// Operator commands against a running peerd (admin routes over HTTP).
    Admin(cli::admin::AdminArgs),
    /// Peer login tokens of a running peerd: list, revoke (admin routes).
    Token(cli::token::TokenArgs),
    /// PeeringDB data: status, sync (through a running daemon, or on the
    /// store), load FILE (a dump; daemon stopped).
    Peeringdb(cli::peeringdb::PeeringDbArgs),
    /// Print what a push would send to each router, touching none.
    Render(cli::render::RenderArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(cli::completions::CompletionsArgs),
    /// Ask another network for sessions (`request ASN [--dry-run]`), or
    /// `request status` / `request login` (through the admin routes).
    Request(cli::request::RequestArgs),
    /// The store: `store copy --from DIR --to URL` copies a sled store
    /// (its peerd stopped) into PostgreSQL.
    Store(cli::store::StoreArgs),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    // `serve` starts logging once it has read its settings (`log_format`)
    if !matches!(args.cmd, Cmd::Serve(_)) {
        cli::init_logging();
    }
    let g = &args.global;
    let result = match args.cmd {
        Cmd::Serve(a) => runtime().and_then(|rt| rt.block_on(cli::serve::run(a))),
        Cmd::Check(a) => runtime().and_then(|rt| rt.block_on(cli::check::run(g, a))),
        Cmd::Key(a) => cli::key::run(g, a),
        Cmd::Admin(a) => runtime().and_then(|rt| rt.block_on(cli::admin::run(g, a))),
        Cmd::Token(a) => runtime().and_then(|rt| rt.block_on(cli::token::run(g, a))),
        Cmd::Peeringdb(a) => runtime().and_then(|rt| rt.block_on(cli::peeringdb::run(g, a))),
        Cmd::Render(a) => cli::render::run(a),
        Cmd::Completions(a) => cli::completions::run(a, Cli::command()),
        Cmd::Request(a) => runtime().and_then(|rt| rt.block_on(cli::request::run(g, a))),
        Cmd::Store(a) => cli::store::run(g, a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerd: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> cli::CliResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

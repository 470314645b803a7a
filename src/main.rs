//! The `peerd` command line: parses arguments and calls into the library.

use clap::{Parser, Subcommand};
use peerd::cli;
use std::process::ExitCode;

/// mimalloc instead of the system allocator (see Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "peerd", version, about = "Receiving side of the Peering API")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the daemon (API; routers are not contacted at startup).
    Serve(cli::serve::ServeArgs),
    /// Validate settings, inventory and operator keys; non-zero on any error.
    Check(cli::check::CheckArgs),
    /// Manage operator API keys.
    #[command(subcommand)]
    Key(cli::key::KeyCmd),
    /// Operator commands against a running peerd (admin routes over HTTP).
    Admin(cli::admin::AdminArgs),
    /// Peer login tokens of a running peerd: list, revoke (admin routes).
    Token(cli::token::TokenArgs),
    /// PeeringDB data, daemon stopped: `sync` from the API, `load FILE` (a dump).
    Peeringdb(cli::peeringdb::PeeringDbArgs),
    /// Print what a push would send to each router, touching none.
    Render(cli::render::RenderArgs),
}

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::init_logging();
    let result = match args.cmd {
        Cmd::Serve(a) => runtime().and_then(|rt| rt.block_on(cli::serve::run(a))),
        Cmd::Check(a) => cli::check::run(a),
        Cmd::Key(k) => cli::key::run(k),
        Cmd::Admin(a) => runtime().and_then(|rt| rt.block_on(cli::admin::run(a))),
        Cmd::Token(a) => runtime().and_then(|rt| rt.block_on(cli::token::run(a))),
        Cmd::Peeringdb(a) => runtime().and_then(|rt| rt.block_on(cli::peeringdb::run(a))),
        Cmd::Render(a) => cli::render::run(a),
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

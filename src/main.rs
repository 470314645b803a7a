//! The `peerd` command line: parses arguments and calls into the library.

use clap::{CommandFactory, Parser, Subcommand};
use peerd::cli;
use std::process::ExitCode;

/// mimalloc instead of the system allocator (see Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's option API (linked in with the allocator above).
extern "C" {
    fn mi_option_get(option: i32) -> std::os::raw::c_long;
    fn mi_option_set(option: i32, value: std::os::raw::c_long);
}
/// `mi_option_purge_delay`: 15 in mimalloc 2 and 3 (options keep their
/// numbers across versions); default 1000 ms in the bundled 3.x.
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// Freed memory goes back to the system after 10 ms, not 1 s: mimalloc
/// purges only when it is next called, so what a burst (a GET of every
/// session, a poll of every router, a store opening) freed otherwise stays
/// resident through the quiet after it (at 100k sessions, after a GET of
/// every id: 216 MiB against 236; 0 ms gave 205 MiB but GETs about a
/// tenth slower; README, Performance). Left alone when
/// `MIMALLOC_PURGE_DELAY` set something else.
fn allocator_settings() {
    // SAFETY: plain integers in and out; mimalloc is initialised before main
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            mi_option_set(MI_OPTION_PURGE_DELAY, 10);
        }
    }
}

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
    allocator_settings();
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

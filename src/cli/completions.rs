//! `peerd completions bash|zsh|fish`: prints a shell completion script
//! for the whole command line (clap_complete), to be sourced or installed
//! (`peerd completions bash > /etc/bash_completion.d/peerd`).

use super::CliResult;

/// The shells completions are made for.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script for `cmd` (the whole `peerd` command) to stdout.
pub fn run(a: CompletionsArgs, mut cmd: clap::Command) -> CliResult {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "peerd", &mut out);
    Ok(())
}

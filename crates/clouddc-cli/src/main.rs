//! `clouddc`: export, wait for and download CloudDC server log bundles, for one
//! server or a fleet; and the simulator to try it against.
//!
//! Modules, one concept each:
//! - [`args`]: the command line (clap derive);
//! - [`connect`]: the client from the environment and flags, or `--simulate`;
//! - [`commands`]: one module per command;
//! - [`servers`]: the server list and the servers file;
//! - [`select`]: the inventory filters and the servers they select;
//! - [`progress`]: bars on a terminal, state-change lines elsewhere;
//! - [`summary`]: the per-server results, as text or JSON;
//! - [`sim`]: the simulator, served (`clouddc sim`) or embedded (`--simulate`);
//! - [`interrupt`], [`exit`], [`logging`]: signals, exit statuses, diagnostics.

mod args;
mod commands;
mod connect;
mod exit;
mod interrupt;
mod logging;
mod progress;
mod select;
mod servers;
mod sim;
mod summary;

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use crate::args::Cli;
use crate::exit::{CliError, Exit};

/// How long leftover background work may delay the exit once the command is
/// done (a download's last rename, a simulator connection closing).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = parse();
    logging::init(cli.output.verbose, cli.output.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(CliError::Output(error)),
    };
    let result = runtime.block_on(commands::run(cli));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    match result {
        Ok(exit) => exit.into(),
        Err(error) => report(error),
    }
}

/// Parses the command line; usage errors exit with status 2, `--help` and
/// `--version` with 0, as clap does.
fn parse() -> Cli {
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(std::env::args_os())
        .unwrap_or_else(|e| e.exit());
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    if let Err(error) = cli.connection.settle_endpoint(&matches) {
        error.format(&mut command).exit();
    }
    cli
}

/// Prints the error as one line and picks the exit status.
fn report(error: CliError) -> ExitCode {
    let exit = error.exit();
    match exit {
        Exit::Interrupted(_) => eprintln!("interrupted"),
        _ => eprintln!("error: {error}"),
    }
    exit.into()
}

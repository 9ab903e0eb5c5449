//! `clouddc`: export, wait for and download CloudDC server log bundles, for one
//! server or a fleet; and the simulator to try it against.
//!
//! Modules, one concept each:
//! - [`args`]: the command line (clap derive);
//! - [`settings`]: the connection settings, resolved once from flags,
//!   environment and defaults;
//! - [`connect`]: the client from the settings, or `--simulate`;
//! - [`commands`]: one module per command, `clouddc sim` among them;
//! - [`context`]: how a command presents what it does;
//! - [`embedded`]: the simulator `--simulate` runs in the process;
//! - [`text`]: the one sanitiser between service or user strings and the
//!   terminal;
//! - [`servers`]: the server list and the servers file;
//! - [`select`]: the inventory filters and the servers they select;
//! - [`shard`]: `--shard K/N`, one collector's share of a fleet;
//! - [`object_output`]: `-o s3://` and `obs://`, the object store's settings;
//! - [`progress`]: bars on a terminal, state-change lines elsewhere;
//! - [`summary`]: the per-server results, as text or JSON;
//! - [`interrupt`], [`exit`], [`logging`]: signals, exit statuses, diagnostics.

mod args;
mod commands;
mod connect;
mod context;
#[cfg(feature = "simulate")]
mod embedded;
mod exit;
mod interrupt;
mod logging;
mod object_output;
mod progress;
mod select;
mod servers;
mod settings;
mod shard;
mod size;
mod summary;
mod text;

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command, LogsCommand};
use crate::exit::{CliError, Exit};
use crate::settings::Settings;

/// The runtime a command runs on.
///
/// One transfer is one chain of tasks (hyper's connection task hands the body
/// to the download task): on one thread each chunk passes without waking
/// another, where a multi-thread runtime pays a futex on each side for most of
/// them (9,700 futex calls for a 1 GiB `logs download`, against 150 on one
/// thread), while the download's own worker thread still hashes and writes
/// beside it. A collect runs many transfers at once, and `--simulate` or `sim`
/// serves them from this process, so those keep a worker per core.
fn runtime_for(cli: &Cli, settings: &Settings) -> std::io::Result<tokio::runtime::Runtime> {
    let many_tasks = settings.simulate
        || match &cli.command {
            Command::Logs(logs) => matches!(logs.command, LogsCommand::Collect(_)),
            #[cfg(feature = "simulate")]
            Command::Sim(_) => true,
            Command::Servers(_) | Command::Completions(_) => false,
        };
    let mut builder = if many_tasks {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

/// How long leftover background work may delay the exit once the command is
/// done (a download's last rename, a simulator connection closing).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let (cli, settings) = match parse() {
        Ok(parsed) => parsed,
        Err(error) => return report(error),
    };
    logging::init(cli.output.verbose, cli.output.quiet);
    let runtime = match runtime_for(&cli, &settings) {
        Ok(runtime) => runtime,
        Err(error) => return report(CliError::Output(error)),
    };
    let result = runtime.block_on(commands::run(cli, settings));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    match result {
        Ok(exit) => exit.into(),
        Err(error) => report(error),
    }
}

/// Parses the command line and resolves the connection settings; usage
/// errors exit with status 2, `--help` and `--version` with 0, as clap does.
fn parse() -> Result<(Cli, Settings), CliError> {
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(std::env::args_os())
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    let settings = Settings::resolve(&cli.connection, &matches)?;
    Ok((cli, settings))
}

/// Prints the error as one line and picks the exit status.
fn report(error: CliError) -> ExitCode {
    let exit = error.exit();
    match exit {
        Exit::Interrupted(_) => eprintln!("interrupted"),
        _ => eprintln!("{}", error_line(&error)),
    }
    exit.into()
}

/// The one line an error is reported as. The message may hold the service's
/// words (a status, an export id) or the user's (a path): cleaned like every
/// other text line.
fn error_line(error: &CliError) -> String {
    format!("error: {}", text::clean(&error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_line_cannot_drive_the_terminal() {
        let error = CliError::from(clouddc::Error::Io {
            action: "writing",
            path: "/tmp/\u{1b}]0;PWNED\u{7}\nforged".into(),
            source: std::io::Error::other("disk full"),
        });
        let line = error_line(&error);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.starts_with("error: writing /tmp/"), "{line}");
    }
}

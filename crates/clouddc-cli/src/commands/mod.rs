//! One module per command; this one dispatches and holds what they share.

mod collect;
mod completions;
mod download;
mod export;
pub mod servers;
mod status;

use std::io::{self, Write};

use crate::args::{Cli, Command, Format, LogsCommand};
use crate::connect::connect;
use crate::exit::{CliError, Exit};
use crate::progress::Mode;

/// How a command presents what it does.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The format of results on stdout.
    pub format: Format,
    /// How progress is shown on stderr.
    pub mode: Mode,
    /// Whether informational lines on stderr are suppressed.
    pub quiet: bool,
}

impl Context {
    /// An informational line on stderr, unless `--quiet`.
    pub fn inform(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    let context = Context {
        format: cli.output.format,
        mode: Mode::detect(cli.output.quiet),
        quiet: cli.output.quiet,
    };
    match cli.command {
        Command::Sim(args) => crate::sim::serve(args, &context).await,
        Command::Completions(args) => completions::run(&args),
        Command::Logs(command) => {
            let connection = connect(&cli.connection, |line| context.inform(line)).await?;
            let client = &connection.client;
            match command {
                LogsCommand::Collect(args) => collect::run(client, &args, &context).await,
                LogsCommand::Export(args) => export::run(client, &args, &context).await,
                LogsCommand::Status(args) => status::run(client, &args, &context).await,
                LogsCommand::Download(args) => download::run(client, &args, &context).await,
            }
        }
        Command::Servers(command) => {
            let connection = connect(&cli.connection, |line| context.inform(line)).await?;
            servers::run(&connection.client, &command, &context).await
        }
    }
}

/// Writes the whole of stdout's part at once; a closed pipe is an error to
/// report, not a panic.
pub fn write_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Creates the output directory up front: a directory that cannot exist is a
/// configuration error (exit 2), not one failure per server.
pub fn prepare_output_dir(dir: &std::path::Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::Config(format!(
            "cannot use {} as the output directory: {e}",
            dir.display()
        ))
    })
}

/// Prints an export task: `key: value` lines, or the task object as JSON.
pub fn print_task(
    context: &Context,
    server: &str,
    task: &clouddc::types::ExportTask,
) -> Result<(), CliError> {
    write_stdout(|out| match context.format {
        Format::Json => {
            serde_json::to_writer(&mut *out, task)?;
            writeln!(out)
        }
        Format::Text => {
            writeln!(out, "server:     {server}")?;
            writeln!(out, "export_id:  {}", task.export_id)?;
            writeln!(out, "status:     {}", task.status)?;
            if let Some(percentage) = &task.percentage {
                writeln!(out, "percentage: {percentage}")?;
            }
            if let Some(created_at) = &task.created_at {
                writeln!(out, "created_at: {created_at}")?;
            }
            Ok(())
        }
    })
}

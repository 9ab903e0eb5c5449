//! One module per command; this one dispatches and holds what they share.

mod collect;
mod completions;
mod download;
mod export;
pub mod servers;
#[cfg(feature = "simulate")]
mod sim;
mod status;

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::args::{Cli, Command, Format, LogsCommand};
use crate::connect::connect;
use crate::context::Context;
use crate::exit::{CliError, Exit, chain};
use crate::settings::Settings;
use crate::text::clean;

/// Runs the command `cli` names, with the connection `settings` resolved from it.
pub async fn run(cli: Cli, settings: Settings) -> Result<Exit, CliError> {
    let context = Context::new(cli.format(), cli.output.quiet);
    match cli.command {
        #[cfg(feature = "simulate")]
        Command::Sim(args) => sim::run(args, settings.simulator()?, &context).await,
        Command::Completions(args) => completions::run(&args),
        Command::Logs(logs) => {
            if settings.simulate
                && let LogsCommand::Status(_) | LogsCommand::Download(_) = &logs.command
            {
                return Err(CliError::Config(
                    "--simulate starts an empty simulator that ends with the command, so it knows no export to show or download; use --simulate with `logs collect` or `logs export`, or run `clouddc sim` in another terminal".into(),
                ));
            }
            let connection = connect(&settings, |line| context.inform(line)).await?;
            let client = &connection.client;
            match logs.command {
                LogsCommand::Collect(args) => {
                    collect::run(client, &args, &context, &settings).await
                }
                LogsCommand::Export(args) => export::run(client, &args, &context).await,
                LogsCommand::Status(args) => status::run(client, &args, &context).await,
                LogsCommand::Download(args) => download::run(client, &args, &context).await,
            }
        }
        Command::Servers(servers) => {
            let connection = connect(&settings, |line| context.inform(line)).await?;
            servers::run(&connection.client, &servers.command, &context).await
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

/// Creates the output directory and proves it writable up front, before any
/// export is triggered: a directory that cannot hold the archives is a
/// configuration error (exit 2, one line), not one failure per server after
/// every export was waited for.
pub fn prepare_output_dir(dir: &Path) -> Result<(), CliError> {
    let unusable = |e: io::Error| {
        CliError::Config(format!(
            "cannot use {} as the output directory: {e}",
            clean(&dir.display().to_string())
        ))
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    // A probe file, removed when dropped: permissions alone do not say
    // (root, ACLs, a read-only mount).
    tempfile::Builder::new()
        .prefix(".clouddc-write-check-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(unusable)
}

/// The JSON document of `logs export` and `logs status`: the task, or why
/// there is none. The keys are the same either way; `percentage` is a number
/// (`null` when the service's value does not read as one).
#[derive(Debug, Serialize)]
struct TaskDocument<'a> {
    server: &'a str,
    export_id: Option<&'a str>,
    status: Option<&'a str>,
    percentage: Option<f64>,
    created_at: Option<&'a clouddc::CreatedAt>,
    error: Option<String>,
    request_id: Option<&'a str>,
}

/// Prints an export task, or the error that prevented it: `key: value` lines
/// (every value cleaned for the terminal), or the task document as JSON. The
/// error is returned either way: `main` prints its line on stderr and picks
/// the exit status.
pub fn print_task(
    context: &Context,
    server: &str,
    export_id: Option<&str>,
    result: Result<clouddc::types::ExportTask, clouddc::Error>,
) -> Result<Exit, CliError> {
    let task = match (context.format, result) {
        (Format::Text, Err(error)) => return Err(error.into()),
        (Format::Json, Err(error)) => {
            let document = TaskDocument {
                server,
                export_id,
                status: None,
                percentage: None,
                created_at: None,
                error: Some(chain(&error)),
                request_id: error.request_id(),
            };
            write_stdout(|out| {
                serde_json::to_writer(&mut *out, &document)?;
                writeln!(out)
            })?;
            return Err(error.into());
        }
        (_, Ok(task)) => task,
    };
    let percentage = task.percentage.as_ref().and_then(|p| p.value());
    write_stdout(|out| match context.format {
        Format::Json => {
            let document = TaskDocument {
                server,
                export_id: Some(&task.export_id),
                status: Some(task.status.as_str()),
                percentage,
                created_at: task.created_at.as_ref(),
                error: None,
                request_id: None,
            };
            serde_json::to_writer(&mut *out, &document)?;
            writeln!(out)
        }
        Format::Text => {
            writeln!(out, "server:     {}", clean(server))?;
            writeln!(out, "export_id:  {}", clean(&task.export_id))?;
            writeln!(out, "status:     {}", clean(task.status.as_str()))?;
            if let Some(raw) = &task.percentage {
                writeln!(out, "percentage: {}", clean(&raw.to_string()))?;
            }
            if let Some(created_at) = &task.created_at {
                writeln!(out, "created_at: {}", clean(&created_at.to_string()))?;
            }
            Ok(())
        }
    })?;
    Ok(Exit::Success)
}

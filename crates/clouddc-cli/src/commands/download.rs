//! `clouddc logs download SERVER EXPORT_ID [-o DIR]`.

use clouddc::{Client, DownloadProgress};

use super::{prepare_output_dir, write_stdout};
use crate::args::{DownloadArgs, Format};
use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::interrupt::interruptible;
use crate::progress::{Phase, Progress};
use crate::summary::Record;

/// Downloads the archive and prints where it is, its size and SHA-256 (in JSON:
/// the same record as one `logs collect` result, failed or not).
pub async fn run(
    client: &Client,
    args: &DownloadArgs,
    context: &Context,
) -> Result<Exit, CliError> {
    prepare_output_dir(&args.output_dir)?;
    let options = args.check.download_options();
    let progress = Progress::new(context.mode, None);
    let report = |p: DownloadProgress| {
        progress.update(
            &args.server,
            Phase::Downloading {
                bytes: p.bytes,
                total: p.total,
            },
        )
    };
    let downloaded = client.download(
        &args.server,
        &args.export_id,
        &args.output_dir,
        &options,
        &report,
    );
    // Before any request: the name is the server's, so a taken one is known now.
    let free =
        clouddc::download::ensure_archive_free(&args.output_dir, &args.server, options.overwrite);
    let result = match free {
        Ok(()) => interruptible(downloaded).await,
        Err(error) => Ok(Err(error)),
    };
    progress.clear();
    let result = result.map_err(CliError::Interrupted)?;
    let record = Record::new(args.server.clone(), Some(args.export_id.clone()), &result);
    match (context.format, result) {
        (Format::Json, result) => {
            write_stdout(|out| {
                serde_json::to_writer(&mut *out, &record)?;
                writeln!(out)
            })?;
            match result {
                Ok(_) => Ok(Exit::Success),
                Err(error) => Err(error.into()),
            }
        }
        (Format::Text, Ok(archive)) => {
            write_stdout(|out| {
                writeln!(out, "path:   {}", archive.path.display())?;
                writeln!(out, "bytes:  {}", archive.bytes)?;
                writeln!(out, "sha256: {}", archive.sha256)
            })?;
            Ok(Exit::Success)
        }
        (Format::Text, Err(error)) => Err(error.into()),
    }
}

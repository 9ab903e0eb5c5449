//! `clouddc logs status SERVER EXPORT_ID [--watch]`.

use clouddc::{Client, WaitOptions, WaitProgress};

use super::print_task;
use crate::args::StatusArgs;
use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::interrupt::interruptible;
use crate::progress::{Phase, Progress};

/// Prints the task's status once, or watches it until it ends; on failure,
/// the document of the failure.
pub async fn run(client: &Client, args: &StatusArgs, context: &Context) -> Result<Exit, CliError> {
    let result = if args.watch {
        let progress = Progress::new(context.mode, None);
        let report = |reading: &WaitProgress| {
            progress.update(
                &args.server,
                Phase::Waiting {
                    export_id: &reading.task.export_id,
                    status: reading.task.status.as_str(),
                    percentage: reading.percentage,
                },
            )
        };
        let options = WaitOptions {
            deadline: args.timeout,
            ..WaitOptions::default()
        };
        let waited = client.wait_for_export(&args.server, &args.export_id, None, &options, &report);
        let result = interruptible(waited).await;
        progress.clear();
        result.map_err(CliError::Interrupted)?
    } else {
        interruptible(client.status(&args.server, &args.export_id))
            .await
            .map_err(CliError::Interrupted)?
    };
    print_task(context, &args.server, Some(&args.export_id), result)
}

//! `clouddc logs export SERVER`.

use clouddc::Client;

use super::{Context, print_task};
use crate::args::ExportArgs;
use crate::exit::{CliError, Exit};
use crate::interrupt::interruptible;

/// Starts an export and prints the task.
pub async fn run(client: &Client, args: &ExportArgs, context: &Context) -> Result<Exit, CliError> {
    let task = interruptible(client.export(&args.server))
        .await
        .map_err(CliError::Interrupted)??;
    print_task(context, &args.server, &task)?;
    Ok(Exit::Success)
}

//! `clouddc logs export SERVER`.

use clouddc::Client;

use super::print_task;
use crate::args::ExportArgs;
use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::interrupt::interruptible;

/// Starts an export and prints the task, or the document of the failure.
pub async fn run(client: &Client, args: &ExportArgs, context: &Context) -> Result<Exit, CliError> {
    let result = interruptible(client.export(&args.server))
        .await
        .map_err(CliError::Interrupted)?;
    print_task(context, &args.server, None, result)
}

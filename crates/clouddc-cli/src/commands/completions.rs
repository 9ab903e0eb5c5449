//! `clouddc completions SHELL`.

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};
use crate::exit::{CliError, Exit};

/// Prints the completion script for the shell.
pub fn run(args: &CompletionsArgs) -> Result<Exit, CliError> {
    let mut command = Cli::command();
    super::write_stdout(|out| {
        clap_complete::generate(args.shell, &mut command, "clouddc", out);
        Ok(())
    })?;
    Ok(Exit::Success)
}

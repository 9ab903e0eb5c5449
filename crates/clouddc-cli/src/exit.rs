//! Exit statuses and the errors that end a command.
//!
//! Scripts branch on the status, so each has one meaning: 0 everything
//! succeeded, 1 some server or request failed, 2 the command could not start
//! (usage or configuration), 130/143 interrupted by SIGINT/SIGTERM.

use std::path::PathBuf;

use crate::interrupt::Signal;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything succeeded.
    Success,
    /// Some server or request failed; the output says which and why.
    Failed,
    /// Bad flags or configuration; nothing was attempted.
    Usage,
    /// Stopped by a signal; what finished before it was reported.
    Interrupted(Signal),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Interrupted(signal) => 128 + signal.number(),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// Why a command stopped early. `Display` is the one line printed after `error: `;
/// no variant holds a secret (the library's errors hold none, and the CLI never
/// puts a credential into one).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Something to set before the command can run; the message says what.
    #[error("{0}")]
    Config(String),
    /// A file the command was pointed at cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The request (or the wait, or the download) failed.
    #[error("{}", chain(.0))]
    Operation(#[from] clouddc::Error),
    /// The simulator did not start.
    #[error("the simulator did not start: {0}")]
    #[cfg(feature = "simulate")]
    Simulator(String),
    /// Stdout went away or could not be written.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    /// Stopped by a signal.
    #[error("interrupted")]
    Interrupted(Signal),
}

impl CliError {
    /// The exit status this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Config(_) | CliError::Read { .. } => Exit::Usage,
            #[cfg(feature = "simulate")]
            CliError::Simulator(_) => Exit::Usage,
            CliError::Operation(_) | CliError::Output(_) => Exit::Failed,
            CliError::Interrupted(signal) => Exit::Interrupted(*signal),
        }
    }
}

/// An error and its causes on one line: the library keeps `Display` terse and
/// puts the cause (a connection refused, a file not writable) in `source`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // reqwest repeats its cause in its own message at times.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if text.contains("certificate") {
        // rustls says what it refused (`invalid peer certificate: UnknownIssuer`);
        // say how to trust a private CA.
        text.push_str(
            "; if the endpoint's certificate comes from a private CA (a corporate TLS proxy's, a test's), trust it with --ca-bundle FILE or SSL_CERT_FILE",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Failed.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::Interrupted(Signal::Interrupt).code(), 130);
        assert_eq!(Exit::Interrupted(Signal::Terminate).code(), 143);
    }

    #[test]
    fn chain_joins_causes() {
        let io = std::io::Error::other("disk full");
        let error = clouddc::Error::Io {
            action: "writing",
            path: "/tmp/x".into(),
            source: io,
        };
        assert_eq!(chain(&error), "writing /tmp/x: disk full");
        assert_eq!(
            CliError::from(error).to_string(),
            "writing /tmp/x: disk full"
        );
    }
}

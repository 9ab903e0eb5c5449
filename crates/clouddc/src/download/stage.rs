//! What the download's consumers have in common: a [`Stage`] consumes the
//! archive's bytes on the download's worker thread and says why it stopped
//! with a [`StageError`].

use std::io;
use std::path::Path;

use crate::Error;

/// Why a worker stopped.
#[derive(Debug)]
pub(super) enum StageError {
    /// A file operation failed.
    Io {
        /// What was being done, for the error message.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The data is not a valid archive.
    Corrupt(String),
    /// The download was abandoned.
    Aborted,
    /// The worker thread ended without a result.
    Lost,
}

impl StageError {
    /// A mapper for `map_err` that records what was being done.
    pub(super) fn io(action: &'static str) -> impl FnOnce(io::Error) -> StageError {
        move |source| StageError::Io { action, source }
    }

    /// The crate's error, naming the temporary file `part`.
    pub(super) fn into_error(self, part: &Path) -> Error {
        let path = part.to_path_buf();
        match self {
            StageError::Io { action, source } => Error::Io {
                action,
                path,
                source,
            },
            StageError::Corrupt(reason) => Error::Integrity { path, reason },
            StageError::Aborted | StageError::Lost => Error::Io {
                action: "writing",
                path,
                source: io::Error::other("the writer thread stopped unexpectedly"),
            },
        }
    }
}

/// One consumer of the archive's bytes, run on the download's worker thread
/// (beside the others, chunk by chunk).
pub(super) trait Stage: Send + 'static {
    /// What the stage reports once the archive is complete.
    type Output: Send + 'static;
    /// Takes the next bytes of the archive, in order.
    fn feed(&mut self, data: &[u8]) -> Result<(), StageError>;
    /// Forgets everything fed so far: the server sent the archive again from
    /// byte 0.
    fn restart(&mut self) -> Result<(), StageError>;
    /// The archive is complete: check what is left and report.
    fn finish(self) -> Result<Self::Output, StageError>;
}

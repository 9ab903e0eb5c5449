//! What the download's worker threads have in common: a [`Stage`] consumes the
//! archive's bytes on a thread of its own and says why it stopped with a
//! [`StageError`].

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

    /// Which of two errors to report: a real one over a consequence.
    pub(super) fn rank(&self) -> u8 {
        match self {
            StageError::Io { .. } => 3,
            StageError::Corrupt(_) => 2,
            StageError::Lost => 1,
            StageError::Aborted => 0,
        }
    }
}

/// One consumer of the archive's bytes, run on its own thread.
pub(super) trait Stage: Send + 'static {
    /// The name of the stage's thread, as `top` and debuggers show it.
    const THREAD_NAME: &'static str;
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

//! Where collected archives go: a [`Destination`] stores each archive under a
//! name, and tells which archives it already holds complete.
//!
//! Two are built in: [`DirectoryDestination`] (files in a directory) and
//! [`ObjectStoreDestination`] (objects in an S3-compatible bucket, Huawei OBS
//! among them). A program embedding clouddc adds its own by implementing the
//! two traits: the download feeds an [`ArchiveWriter`] on a worker thread of
//! its own, in order, restarting it from byte 0 when the service sends the
//! archive again, and only once the archive is complete and checked (length,
//! and gzip unless turned off) asks it to [`ArchiveWriter::commit`]. An
//! archive that fails is [`ArchiveWriter::abort`]ed, so nothing half-written
//! ever appears under a name.
//!
//! One concept a file: `directory`, `object` (the store and its settings),
//! `upload` (one object's multipart upload).

mod directory;
mod object;
mod upload;

use std::fmt;
use std::io;
use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::Error;
use crate::download::DownloadOptions;

pub use self::directory::DirectoryDestination;
pub use self::object::{ObjectStoreConfig, ObjectStoreDestination, ObjectUrl};

/// An archive a destination holds, complete and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// Where archives are stored.
pub trait Destination: Send + Sync + fmt::Debug {
    /// How the archive stored as `name` is shown to the user and reported as
    /// [`crate::Downloaded::path`] (a path, or `s3://bucket/key`).
    fn location(&self, name: &str) -> PathBuf;

    /// The archive stored as `name`, when one is there complete (with its
    /// SHA-256 on record): a re-run skips its server. `None` when there is
    /// none, or the destination cannot tell.
    fn stored<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Stored>, Error>>;

    /// Fails when `name` cannot be stored, before an export is started for it
    /// (e.g. a file is in the way and `options.overwrite` is off).
    fn check_free(&self, name: &str, options: &DownloadOptions) -> Result<(), Error>;

    /// A writer for the archive to be stored as `name`. Nothing is visible under
    /// `name` until the writer is committed.
    fn create<'a>(
        &'a self,
        name: &'a str,
        options: &'a DownloadOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ArchiveWriter>, Error>>;

    /// Releases what cancelled writers may still hold (an object store's open
    /// multipart uploads), waiting for it within a bound. Called once the
    /// collect is over or dropped; the default has nothing to release.
    fn close(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}

/// Takes one archive's bytes. `write`, `restart` and `finish` run on a worker
/// thread of their own, so they may block (on disk, or on the network through
/// `tokio::runtime::Handle::block_on`); `commit` and `abort` run on the
/// runtime.
pub trait ArchiveWriter: Send {
    /// The next bytes of the archive, in order.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// Forgets everything written: the archive starts again from byte 0.
    fn restart(&mut self) -> io::Result<()>;
    /// Every byte was written: make it ready to commit (flush, send the last
    /// part), but visible under no name yet.
    fn finish(&mut self) -> io::Result<()>;
    /// The archive was checked: make it visible under its name, recording
    /// `archive`'s length and SHA-256 beside it. Returns its location.
    fn commit(self: Box<Self>, archive: Stored) -> BoxFuture<'static, Result<PathBuf, Error>>;
    /// The archive failed or was cancelled: remove every trace of it.
    fn abort(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// An I/O error for a writer's failure, with `what` for the message.
pub(crate) fn io_error(what: impl fmt::Display) -> io::Error {
    io::Error::other(what.to_string())
}

//! [`DirectoryDestination`]: each archive a file in a directory, written to a
//! hidden temporary file there and renamed to its name once checked (the
//! same placing as `Client::download`).

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::path::PathBuf;

use futures::future::BoxFuture;
use tempfile::TempPath;

use super::{ArchiveWriter, Destination, Stored};
use crate::Error;
use crate::download::naming::exists_error;
use crate::download::{DownloadOptions, place};

/// Archives as files in a directory (created when missing).
#[derive(Debug, Clone)]
pub struct DirectoryDestination {
    dir: PathBuf,
}

impl DirectoryDestination {
    /// Files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl Destination for DirectoryDestination {
    fn location(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A directory keeps no SHA-256 beside its files, so it cannot tell a
    /// complete archive from a stale one: always `None` (the collect journal,
    /// [`crate::FileJournal`], is what skips a directory's finished servers).
    fn stored<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Option<Stored>, Error>> {
        Box::pin(async { Ok(None) })
    }

    fn check_free(&self, name: &str, options: &DownloadOptions) -> Result<(), Error> {
        let path = self.dir.join(name);
        if options.overwrite || path.symlink_metadata().is_err() {
            Ok(())
        } else {
            Err(exists_error(path))
        }
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        options: &'a DownloadOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ArchiveWriter>, Error>> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let (file, temp) = tokio::task::spawn_blocking(move || place::open_part(&dir))
                .await
                .map_err(|e| Error::Io {
                    action: "creating a temporary file in",
                    path: self.dir.clone(),
                    source: io::Error::other(e.to_string()),
                })??;
            Ok(Box::new(FileArchive {
                out: BufWriter::new(file),
                temp,
                dir: self.dir.clone(),
                name: name.to_owned(),
                overwrite: options.overwrite,
                durable: options.fsync,
            }) as Box<dyn ArchiveWriter>)
        })
    }
}

/// One archive on its way into the directory.
struct FileArchive {
    out: BufWriter<File>,
    /// Removes the temporary file when dropped uncommitted.
    temp: TempPath,
    dir: PathBuf,
    name: String,
    overwrite: bool,
    durable: bool,
}

impl ArchiveWriter for FileArchive {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)
    }

    fn restart(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let file = self.out.get_mut();
        file.set_len(0)?;
        file.rewind()?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.durable {
            self.out.get_ref().sync_all()?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>, _archive: Stored) -> BoxFuture<'static, Result<PathBuf, Error>> {
        let FileArchive {
            out,
            temp,
            dir,
            name,
            overwrite,
            durable,
        } = *self;
        drop(out);
        Box::pin(async move { place::persist(temp, &dir, &name, overwrite, durable).await })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, ()> {
        // Dropping the temporary path removes the file.
        drop(self);
        Box::pin(async {})
    }
}

//! Downloading into a [`Destination`]: its [`ArchiveWriter`] is the writer
//! stage (hashing beside it), and it is committed only once every stage
//! checked the archive, or aborted.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, TryLockError};

use progenitor_client::{ByteStream, ResponseValue};
use sha2::{Digest, Sha256};

use super::gzip::GzipCheck;
use super::stage::{Stage, StageError};
use super::writer::Written;
use super::{DownloadOptions, DownloadProgress, Downloaded, Place, start_pipeline, transfer};
use crate::Error;
use crate::destination::{ArchiveWriter, Destination, Stored};

/// The writer, shared: fed on the stage's thread, then taken back on the
/// runtime to be committed or aborted.
type Shared = Arc<Mutex<Option<Box<dyn ArchiveWriter>>>>;

/// An [`ArchiveWriter`] as the pipeline's writer stage.
struct SinkStage {
    writer: Shared,
    hasher: Sha256,
    bytes: u64,
}

impl SinkStage {
    fn with<T>(
        &self,
        action: &'static str,
        op: impl FnOnce(&mut dyn ArchiveWriter) -> std::io::Result<T>,
    ) -> Result<T, StageError> {
        let mut slot = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let writer = slot.as_deref_mut().ok_or(StageError::Aborted)?;
        op(writer).map_err(StageError::io(action))
    }
}

impl Stage for SinkStage {
    type Output = Written;

    fn feed(&mut self, data: &[u8]) -> Result<(), StageError> {
        self.with("writing", |w| w.write(data))?;
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        Ok(())
    }

    fn restart(&mut self) -> Result<(), StageError> {
        self.with("restarting", |w| w.restart())?;
        self.hasher = Sha256::new();
        self.bytes = 0;
        Ok(())
    }

    fn finish(self) -> Result<Written, StageError> {
        self.with("finishing", |w| w.finish())?;
        Ok(Written {
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

/// Downloads an archive into `destination` as `name`: the same requests,
/// resumes, bounds and checks as [`super::download_to_dir`], then a commit.
/// On any error the writer is aborted, and nothing is stored under `name`.
pub(crate) async fn download_to_destination<F, Fut>(
    fetch: F,
    destination: &dyn Destination,
    name: &str,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
) -> Result<Downloaded, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    let location = destination.location(name);
    let writer: Shared = Arc::new(Mutex::new(Some(destination.create(name, options).await?)));
    let stage = SinkStage {
        writer: writer.clone(),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let gzip = options.verify_gzip.then(GzipCheck::new);
    let place = Place {
        dir: location.parent().unwrap_or(Path::new("")),
        part: &location,
        on_disk: 0,
        check_space: false,
    };
    let pipeline = start_pipeline(stage, gzip);
    let transferred = transfer(fetch, pipeline, place, options, progress, None).await;
    let taken = take(&writer).await;
    let Some(taken) = taken else {
        return Err(transferred.err().unwrap_or_else(|| Error::Io {
            action: "writing",
            path: location,
            source: std::io::Error::other("the writer was lost"),
        }));
    };
    match transferred {
        Ok(done) => {
            let stored = Stored {
                bytes: done.bytes,
                sha256: done.sha256.clone(),
            };
            let path = taken.commit(stored).await?;
            Ok(done.stored_at(path))
        }
        Err(error) => {
            taken.abort().await;
            Err(error)
        }
    }
}

/// Takes the writer back without blocking the runtime: after an early error
/// the stage's thread may still hold it for a part in flight.
async fn take(writer: &Shared) -> Option<Box<dyn ArchiveWriter>> {
    loop {
        let taken = match writer.try_lock() {
            Ok(mut slot) => Some(slot.take()),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner().take()),
            Err(TryLockError::WouldBlock) => None,
        };
        match taken {
            Some(writer) => return writer,
            None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

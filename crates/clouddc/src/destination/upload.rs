//! One archive's way into an object store: a multipart upload fed part by
//! part from the download's worker thread, completed only once the archive
//! was checked, and aborted otherwise, so that no part is left behind.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::runtime::Handle;

use super::{ArchiveWriter, Stored, io_error};
use crate::Error;

/// The uploads of one destination that writers could not abort themselves
/// (dropped while cancelled), aborted by `close`.
#[derive(Debug, Default)]
pub(super) struct Uploads {
    /// Writers alive now.
    live: AtomicUsize,
    /// Multipart uploads left open by dropped writers.
    orphans: Mutex<Vec<Box<dyn MultipartUpload>>>,
}

/// How long `close` waits for cancelled writers to stop (a part in flight
/// ends within the store's request timeout).
const CLOSE_WAIT: Duration = Duration::from_secs(60);

impl Uploads {
    /// Waits (within a bound) until no writer is alive, then aborts every
    /// upload they left open.
    pub(super) async fn close(&self) -> Result<(), object_store::Error> {
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        while self.live.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let orphans = std::mem::take(&mut *self.orphans.lock().unwrap_or_else(|e| e.into_inner()));
        let mut first_error = None;
        for mut upload in orphans {
            if let Err(error) = upload.abort().await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The archive's bytes on their way to `path`.
pub(super) struct ObjectArchive {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    /// The object beside it holding the archive's SHA-256.
    sidecar: ObjectPath,
    /// What the user is shown.
    location: PathBuf,
    runtime: Handle,
    part_bytes: usize,
    buffer: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    uploads: Arc<Uploads>,
}

impl ObjectArchive {
    /// A writer of `path` (and its `sidecar`) in `store`, counted as alive in
    /// `uploads` until dropped. Called on the runtime, whose handle it keeps.
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        (path, sidecar): (ObjectPath, ObjectPath),
        location: PathBuf,
        part_bytes: usize,
        uploads: Arc<Uploads>,
    ) -> Self {
        uploads.live.fetch_add(1, Ordering::AcqRel);
        Self {
            store,
            path,
            sidecar,
            location,
            runtime: Handle::current(),
            part_bytes,
            buffer: Vec::new(),
            upload: None,
            uploads,
        }
    }

    /// Sends the buffered bytes as the next part, starting the upload first.
    fn send_part(&mut self) -> std::io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_bytes));
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let created = self
                    .runtime
                    .block_on(self.store.put_multipart(&self.path))
                    .map_err(io_error)?;
                self.upload.insert(created)
            }
        };
        let part = upload.put_part(PutPayload::from(data));
        self.runtime.block_on(part).map_err(io_error)
    }
}

impl ArchiveWriter for ObjectArchive {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let room = self.part_bytes - self.buffer.len();
            let (now, later) = data.split_at(room.min(data.len()));
            self.buffer.extend_from_slice(now);
            data = later;
            if self.buffer.len() == self.part_bytes {
                self.send_part()?;
            }
        }
        Ok(())
    }

    fn restart(&mut self) -> std::io::Result<()> {
        self.buffer.clear();
        if let Some(mut upload) = self.upload.take() {
            self.runtime.block_on(upload.abort()).map_err(io_error)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        // Without an upload the archive fits one part: it is sent whole at
        // the commit, one PUT, so nothing is stored before it is checked.
        if self.upload.is_some() && !self.buffer.is_empty() {
            self.send_part()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>, archive: Stored) -> BoxFuture<'static, Result<PathBuf, Error>> {
        let upload = self.upload.take();
        let buffer = std::mem::take(&mut self.buffer);
        Box::pin(async move {
            let failed = |action: &'static str, location: &PathBuf| {
                let location = location.clone();
                move |error: object_store::Error| Error::Io {
                    action,
                    path: location,
                    source: io_error(error),
                }
            };
            match upload {
                Some(mut upload) => {
                    if let Err(error) = upload.complete().await {
                        // An upload that did not complete is aborted, not left.
                        let _ = upload.abort().await;
                        return Err(failed("completing the upload of", &self.location)(error));
                    }
                }
                None => {
                    self.store
                        .put(&self.path, PutPayload::from(buffer))
                        .await
                        .map_err(failed("uploading", &self.location))?;
                }
            }
            // Written last: an archive without it is not taken as complete.
            let name = self.path.filename().unwrap_or_default();
            let line = format!("{}  {name}\n", archive.sha256);
            self.store
                .put(&self.sidecar, PutPayload::from(line.into_bytes()))
                .await
                .map_err(failed("recording the SHA-256 of", &self.location))?;
            Ok(self.location.clone())
        })
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        let upload = self.upload.take();
        Box::pin(async move {
            if let Some(mut upload) = upload
                && let Err(error) = upload.abort().await
            {
                tracing::warn!(location = %self.location.display(), %error, "could not abort the upload");
            }
        })
    }
}

impl Drop for ObjectArchive {
    fn drop(&mut self) {
        // Dropped uncommitted and unaborted (the collect was cancelled): the
        // upload is left to `close`, which cannot block here.
        if let Some(upload) = self.upload.take() {
            self.uploads
                .orphans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(upload);
        }
        self.uploads.live.fetch_sub(1, Ordering::AcqRel);
    }
}

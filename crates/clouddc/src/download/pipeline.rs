//! The stage pipeline: the async task hands the body's chunks to worker
//! threads, one per [`Stage`], through queues bounded in bytes.
//!
//! The pipeline takes its stages ready-made; what they do with the bytes (write,
//! hash, check) is theirs. It owns only the threads, the queues, the byte
//! budgets and the rule for which of two failures to report.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::stage::{Stage, StageError};
use crate::Error;

/// The unit of a [`Budget`]: a chunk takes one permit per started KiB.
const PERMIT_BYTES: usize = 1024;

/// A number of body bytes that may be queued at once, shared by every chunk
/// drawn from it. Cloning shares it.
#[derive(Clone)]
pub(super) struct Budget {
    semaphore: Arc<Semaphore>,
    permits: u32,
}

impl Budget {
    /// A budget of `bytes` (rounded down to whole KiB, at least one).
    pub(super) fn new(bytes: usize) -> Self {
        let permits = u32::try_from(bytes / PERMIT_BYTES)
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            semaphore: Arc::new(Semaphore::new(permits as usize)),
            permits,
        }
    }

    async fn take(&self, permits: u32) -> Result<OwnedSemaphorePermit, ()> {
        self.semaphore
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(drop)
    }
}

/// A body chunk, holding its share of the in-flight budget until every worker
/// is done with it.
struct Chunk {
    data: Bytes,
    _permit: OwnedSemaphorePermit,
    _process_permit: OwnedSemaphorePermit,
}

/// What the async task tells a worker.
enum Message {
    /// The next bytes of the archive.
    Data(Arc<Chunk>),
    /// Forget everything: the archive starts again from byte 0.
    Restart,
    /// The archive is complete: finish and report.
    Finish,
}

/// The async side of one worker thread.
struct Worker<T> {
    tx: Option<mpsc::UnboundedSender<Message>>,
    result: oneshot::Receiver<Result<T, StageError>>,
}

impl<T> Worker<T> {
    fn send(&self, message: Message) -> Result<(), ()> {
        match &self.tx {
            Some(tx) => tx.send(message).map_err(drop),
            None => Err(()),
        }
    }

    /// Sends a last message, if any, and closes the queue: the worker ends once
    /// it has handled what is queued (or at once, when aborted).
    fn close(&mut self, last: Option<Message>) {
        if let (Some(message), Some(tx)) = (last, &self.tx) {
            let _ = tx.send(message);
        }
        self.tx = None;
    }

    /// Waits for the worker's result.
    async fn result(self) -> Result<T, StageError> {
        self.result.await.unwrap_or(Err(StageError::Lost))
    }
}

/// Runs `stage` on a thread of its own until it finishes, fails or is aborted.
fn spawn_stage<S: Stage>(mut stage: S, abort: Arc<AtomicBool>) -> io::Result<Worker<S::Output>> {
    // Unbounded in messages, bounded in bytes by the budgets of `Pipeline`.
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(S::THREAD_NAME.to_string())
        .spawn(move || {
            let result = (|| {
                while let Some(message) = rx.blocking_recv() {
                    if abort.load(Ordering::Relaxed) {
                        return Err(StageError::Aborted);
                    }
                    match message {
                        Message::Data(chunk) => stage.feed(&chunk.data)?,
                        Message::Restart => stage.restart()?,
                        Message::Finish => return stage.finish(),
                    }
                }
                Err(StageError::Aborted)
            })();
            // Release queued chunks (and their budget) before reporting.
            drop(rx);
            let _ = done_tx.send(result);
        })?;
    Ok(Worker {
        tx: Some(tx),
        result: done_rx,
    })
}

/// Sets the abort flag when dropped, i.e. when the download future is dropped
/// or returns.
struct AbortOnDrop(Arc<AtomicBool>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The writer and, optionally, a checker, each on its own thread, fed the same
/// chunks. `T` is what the writer reports.
pub(super) struct Pipeline<T> {
    budget: Budget,
    process_budget: Budget,
    writer: Worker<T>,
    checker: Option<Worker<()>>,
    abort: AbortOnDrop,
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts a thread for `writer` and one for `checker`. A chunk holds its
    /// size of both `budget` (this download's) and `process_budget` (shared by
    /// every download of the process) until every stage is done with it.
    pub(super) fn start<W, C>(
        writer: W,
        checker: Option<C>,
        budget: Budget,
        process_budget: Budget,
    ) -> io::Result<Self>
    where
        W: Stage<Output = T>,
        C: Stage<Output = ()>,
    {
        let abort = Arc::new(AtomicBool::new(false));
        let writer = spawn_stage(writer, abort.clone())?;
        let checker = match checker {
            Some(checker) => Some(spawn_stage(checker, abort.clone())?),
            None => None,
        };
        Ok(Self {
            budget,
            process_budget,
            writer,
            checker,
            abort: AbortOnDrop(abort),
        })
    }

    /// Queues a chunk for every worker, waiting while the budget is used up.
    pub(super) async fn send(&self, data: Bytes) -> Result<(), ()> {
        // A chunk larger than a budget takes all of it rather than wait forever.
        let permits = u32::try_from(data.len().div_ceil(PERMIT_BYTES))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget.permits.min(self.process_budget.permits));
        // This download's budget first, so that one download never holds more
        // than its share of the process's.
        let permit = self.budget.take(permits).await?;
        let process_permit = self.process_budget.take(permits).await?;
        let chunk = Arc::new(Chunk {
            data,
            _permit: permit,
            _process_permit: process_permit,
        });
        if let Some(checker) = &self.checker {
            checker.send(Message::Data(chunk.clone()))?;
        }
        self.writer.send(Message::Data(chunk))
    }

    /// Tells every worker the archive starts again from byte 0.
    pub(super) fn restart(&self) -> Result<(), ()> {
        if let Some(checker) = &self.checker {
            checker.send(Message::Restart)?;
        }
        self.writer.send(Message::Restart)
    }

    /// Ends the archive and collects what the workers found.
    pub(super) async fn finish(mut self) -> Result<T, StageError> {
        self.writer.close(Some(Message::Finish));
        if let Some(checker) = &mut self.checker {
            checker.close(Some(Message::Finish));
        }
        let checked = match self.checker {
            Some(checker) => checker.result().await,
            None => Ok(()),
        };
        if checked.is_err() {
            // The file is doomed: spare the writer its fsync where still possible.
            self.abort.0.store(true, Ordering::Relaxed);
        }
        let written = self.writer.result().await;
        match (written, checked) {
            (Ok(written), Ok(())) => Ok(written),
            (Err(w), Err(c)) => Err(if c.rank() > w.rank() { c } else { w }),
            (Err(e), Ok(())) | (Ok(_), Err(e)) => Err(e),
        }
    }

    /// After a worker stopped: stops the others and says why it stopped.
    pub(super) async fn fail(mut self, part: &Path) -> Error {
        self.abort.0.store(true, Ordering::Relaxed);
        self.writer.close(None);
        if let Some(checker) = &mut self.checker {
            checker.close(None);
        }
        let checked = match self.checker {
            Some(checker) => checker.result().await.err(),
            None => None,
        };
        let written = self.writer.result().await.err();
        let worst = [checked, written]
            .into_iter()
            .flatten()
            .max_by_key(StageError::rank)
            .unwrap_or(StageError::Lost);
        worst.into_error(part)
    }
}

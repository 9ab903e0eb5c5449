//! The stage pipeline: the async task gathers the body's chunks into batches
//! and hands each batch to one worker thread that runs every [`Stage`] over it,
//! through a queue bounded in bytes.
//!
//! One thread, not one per stage, and batches, not chunks: on two cores the
//! simulator or the network stack holds one of them, so a second worker buys no
//! parallelism, and every handoff is a futex wake on each side. A batch is cut
//! at [`BATCH_BYTES`], or earlier when the byte budget is used up, so a
//! download never waits for budget while holding bytes it has not handed over
//! (which, with the process's budget shared by many downloads, could wait
//! forever). Within a batch each chunk goes through every stage in turn while
//! it is still in the CPU's cache.
//!
//! The worker starts with the first batch, not with the download: a fleet's
//! downloads spend most of their life waiting for the response, and an archive
//! no larger than a batch never needs a worker at all. Its stages run once, in
//! one blocking call, when its body ends.
//!
//! The pipeline takes its stages ready-made; what they do with the bytes (write,
//! hash, check) is theirs. It owns only the thread, the queue, the byte
//! budgets and the rule for which of two failures to report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::stage::{Stage, StageError};
use crate::Error;

/// The unit of a [`Budget`]: a chunk takes one permit per started KiB.
const PERMIT_BYTES: usize = 1024;

/// How many body bytes are gathered before they are handed to the worker: a
/// few of the transport's reads, so a GiB costs about a thousand handoffs.
pub(super) const BATCH_BYTES: usize = 1 << 20;

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

    fn try_take(&self, permits: u32) -> Option<OwnedSemaphorePermit> {
        self.semaphore.clone().try_acquire_many_owned(permits).ok()
    }

    async fn take(&self, permits: u32) -> Result<OwnedSemaphorePermit, ()> {
        self.semaphore
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(drop)
    }
}

/// Body chunks in order, holding their share of both budgets until the worker
/// is done with them.
#[derive(Default)]
struct Batch {
    chunks: Vec<Bytes>,
    bytes: usize,
    permits: Option<OwnedSemaphorePermit>,
    process_permits: Option<OwnedSemaphorePermit>,
}

impl Batch {
    fn push(&mut self, data: Bytes, permit: OwnedSemaphorePermit, process: OwnedSemaphorePermit) {
        self.bytes += data.len();
        self.chunks.push(data);
        merge(&mut self.permits, permit);
        merge(&mut self.process_permits, process);
    }
}

fn merge(into: &mut Option<OwnedSemaphorePermit>, permit: OwnedSemaphorePermit) {
    match into {
        Some(held) => held.merge(permit),
        None => *into = Some(permit),
    }
}

/// What the async task tells the worker.
enum Message {
    /// The next bytes of the archive.
    Data(Batch),
    /// Forget everything: the archive starts again from byte 0.
    Restart,
    /// The archive is complete: finish and report.
    Finish,
}

/// The async side of the worker thread.
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

/// The stages of one download, run in turn over each chunk.
struct Stages<W, C> {
    writer: W,
    checker: Option<C>,
}

impl<W: Stage, C: Stage<Output = ()>> Stages<W, C> {
    fn feed(&mut self, batch: &Batch) -> Result<(), StageError> {
        for chunk in &batch.chunks {
            // The writer first: of two failures on the same bytes, a write
            // error is the real one.
            self.writer.feed(chunk)?;
            if let Some(checker) = &mut self.checker {
                checker.feed(chunk)?;
            }
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), StageError> {
        if let Some(checker) = &mut self.checker {
            checker.restart()?;
        }
        self.writer.restart()
    }

    /// The checker's verdict first: a doomed file is spared the writer's fsync.
    fn finish(self) -> Result<W::Output, StageError> {
        if let Some(checker) = self.checker {
            checker.finish()?;
        }
        self.writer.finish()
    }
}

/// [`Stages`] with their stage types erased, so that a [`Pipeline`] can hold
/// them until its worker starts.
trait Run<T>: Send {
    fn feed(&mut self, batch: &Batch) -> Result<(), StageError>;
    fn restart(&mut self) -> Result<(), StageError>;
    fn finish(self: Box<Self>) -> Result<T, StageError>;
}

impl<W: Stage, C: Stage<Output = ()>> Run<W::Output> for Stages<W, C> {
    fn feed(&mut self, batch: &Batch) -> Result<(), StageError> {
        Stages::feed(self, batch)
    }
    fn restart(&mut self) -> Result<(), StageError> {
        Stages::restart(self)
    }
    fn finish(self: Box<Self>) -> Result<W::Output, StageError> {
        Stages::finish(*self)
    }
}

/// Runs `stages` on a blocking thread until they finish, fail or are aborted.
fn spawn_worker<T: Send + 'static>(
    mut stages: Box<dyn Run<T>>,
    abort: Arc<AtomicBool>,
) -> Worker<T> {
    // Unbounded in messages, bounded in bytes by the budgets of `Pipeline`.
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let (done_tx, done_rx) = oneshot::channel();
    // A thread of tokio's blocking pool, not one of its own: a fleet runs
    // thousands of downloads, and the pool's threads are reused.
    tokio::task::spawn_blocking(move || {
        let result = (|| {
            while let Some(message) = rx.blocking_recv() {
                if abort.load(Ordering::Relaxed) {
                    return Err(StageError::Aborted);
                }
                match message {
                    Message::Data(batch) => stages.feed(&batch)?,
                    Message::Restart => stages.restart()?,
                    Message::Finish => return stages.finish(),
                }
            }
            Err(StageError::Aborted)
        })();
        // Release queued batches (and their budget) before reporting.
        drop(rx);
        let _ = done_tx.send(result);
    });
    Worker {
        tx: Some(tx),
        result: done_rx,
    }
}

/// Sets the abort flag when dropped, i.e. when the download future is dropped
/// or returns.
struct AbortOnDrop(Arc<AtomicBool>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Where a pipeline's stages are.
enum Stations<T> {
    /// Not started: no batch has been handed over yet.
    Idle(Box<dyn Run<T>>),
    /// On their worker thread.
    Running(Worker<T>),
    /// Taken by `finish` or `fail`.
    Gone,
}

/// The writer and, optionally, a checker, on one worker thread, fed the same
/// chunks. `T` is what the writer reports.
pub(super) struct Pipeline<T> {
    budget: Budget,
    process_budget: Budget,
    /// Chunks received but not yet handed to the worker.
    pending: Batch,
    stations: Stations<T>,
    abort: AbortOnDrop,
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts the worker for `writer` and `checker`. A chunk holds its
    /// size of both `budget` (this download's) and `process_budget` (shared by
    /// every download of the process) until every stage is done with it.
    pub(super) fn start<W, C>(
        writer: W,
        checker: Option<C>,
        budget: Budget,
        process_budget: Budget,
    ) -> Self
    where
        W: Stage<Output = T>,
        C: Stage<Output = ()>,
    {
        Self {
            budget,
            process_budget,
            pending: Batch::default(),
            stations: Stations::Idle(Box::new(Stages { writer, checker })),
            abort: AbortOnDrop(Arc::new(AtomicBool::new(false))),
        }
    }

    /// The worker, started if it was not.
    fn worker(&mut self) -> Result<&Worker<T>, ()> {
        if let Some(stages) = self.take_idle() {
            self.stations = Stations::Running(spawn_worker(stages, self.abort.0.clone()));
        }
        match &self.stations {
            Stations::Running(worker) => Ok(worker),
            _ => Err(()),
        }
    }

    /// The stages, if no worker has started yet; the stations are left as
    /// they were otherwise.
    fn take_idle(&mut self) -> Option<Box<dyn Run<T>>> {
        match std::mem::replace(&mut self.stations, Stations::Gone) {
            Stations::Idle(stages) => Some(stages),
            other => {
                self.stations = other;
                None
            }
        }
    }

    /// Queues a chunk for the worker, waiting while the budget is used up.
    pub(super) async fn send(&mut self, data: Bytes) -> Result<(), ()> {
        // A chunk larger than a budget takes all of it rather than wait forever.
        let permits = u32::try_from(data.len().div_ceil(PERMIT_BYTES))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget.permits.min(self.process_budget.permits));
        // This download's budget first, so that one download never holds more
        // than its share of the process's. Before waiting for either, the
        // gathered chunks go to the worker: only it gives budget back.
        let permit = match self.budget.try_take(permits) {
            Some(permit) => permit,
            None => {
                self.flush()?;
                self.budget.take(permits).await?
            }
        };
        let process_permit = match self.process_budget.try_take(permits) {
            Some(permit) => permit,
            None => {
                self.flush()?;
                self.process_budget.take(permits).await?
            }
        };
        self.pending.push(data, permit, process_permit);
        if self.pending.bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the gathered chunks to the worker.
    fn flush(&mut self) -> Result<(), ()> {
        if self.pending.chunks.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        self.worker()?.send(Message::Data(batch))
    }

    /// Tells every stage the archive starts again from byte 0.
    pub(super) fn restart(&mut self) -> Result<(), ()> {
        // Gathered chunks of the abandoned body are forgotten with it.
        self.pending = Batch::default();
        self.worker()?.send(Message::Restart)
    }

    /// Ends the archive and collects what the stages found.
    pub(super) async fn finish(mut self) -> Result<T, StageError> {
        // The whole archive is in one batch: the stages see it and finish in
        // one blocking call, with no worker to start and stop.
        if let Some(mut stages) = self.take_idle() {
            let batch = std::mem::take(&mut self.pending);
            let abort = self.abort.0.clone();
            return tokio::task::spawn_blocking(move || {
                if abort.load(Ordering::Relaxed) {
                    return Err(StageError::Aborted);
                }
                stages.feed(&batch)?;
                drop(batch);
                stages.finish()
            })
            .await
            .unwrap_or(Err(StageError::Lost));
        }
        let flushed = self.flush();
        let Stations::Running(mut worker) = std::mem::replace(&mut self.stations, Stations::Gone)
        else {
            return Err(StageError::Lost);
        };
        if flushed.is_err() {
            return worker.result().await.and(Err(StageError::Lost));
        }
        worker.close(Some(Message::Finish));
        worker.result().await
    }

    /// After the worker stopped: says why it stopped.
    pub(super) async fn fail(mut self, part: &Path) -> Error {
        self.abort.0.store(true, Ordering::Relaxed);
        let stopped = match std::mem::replace(&mut self.stations, Stations::Gone) {
            Stations::Running(mut worker) => {
                worker.close(None);
                worker.result().await.err()
            }
            Stations::Idle(_) | Stations::Gone => None,
        };
        stopped.unwrap_or(StageError::Lost).into_error(part)
    }
}

//! The whole job for many servers: export, wait, download, with bounded
//! concurrency; one server's failure never stops the others.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::Semaphore;

use crate::client::Client;
use crate::destination::Destination;
use crate::download::{DownloadOptions, DownloadProgress, Downloaded, PartFile, PartTarget};
use crate::journal::resume::{self, Recorder};
use crate::journal::{Journal, MAX_EXPORT_AGE, part_name};
use crate::retry::{Idempotency, RetryPolicy, with_retries};
use crate::validate::id_argument;
use crate::waiter::{WaitOptions, WaitProgress};
use crate::{Error, PathId};

/// How many servers may be between their export call and their download at once:
/// waiting is cheap (about a KiB of state a server), but not free, so a
/// 100,000-server list is worked through in windows of this size. A fleet of
/// 10,000 fits in one window, so all its exports run at the same time.
pub const MAX_SERVERS_IN_FLIGHT: usize = 16_384;

/// The default of [`CollectOptions::max_downloads`]: on loopback, 16 streams
/// moved 1,000 archives of 1 MiB as fast as 256 did, in a quarter of the memory
/// (`cargo xtask bench fleet`).
pub const DEFAULT_MAX_DOWNLOADS: usize = 16;

/// The first wait before an export call is made again after a server error:
/// the calls inside have already backed off through their own retries.
const EXPORT_REATTEMPT_BACKOFF: Duration = Duration::from_millis(400);

/// How to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Where the archives go.
    pub output_dir: PathBuf,
    /// How many export and status calls are in flight at once, and the most
    /// downloads that run. The time between two polls holds no slot: a fleet's
    /// exports all run on their servers at the same time while the calls (and
    /// the connections and file descriptors they take) and transfers stay
    /// bounded.
    pub concurrency: usize,
    /// How many downloads run at once (never more than `concurrency`). Each
    /// transfer costs a connection's buffers and two worker threads, and a
    /// handful of streams already fill the link, so a fleet collected at a
    /// concurrency of hundreds still downloads a few archives at a time.
    pub max_downloads: usize,
    /// How to wait for each export.
    pub wait: WaitOptions,
    /// How to download each archive.
    pub download: DownloadOptions,
    /// How many times the export call is made for one server when it fails with a
    /// server error. The request-level retry policy repeats a POST only when no
    /// task can exist; a 5xx may have created one, and a second POST then returns
    /// the running task (the simulator's documented behaviour) or starts another,
    /// which is harmless next to losing a server's logs.
    pub export_attempts: u32,
    /// Where each server's progress is recorded, and a previous run's found:
    /// with one, a server whose archive is complete and unchanged is skipped,
    /// a saved export is polled instead of exported again, and a part file is
    /// resumed (see [`crate::journal`]). `None` collects everything afresh.
    pub journal: Option<Arc<dyn Journal>>,
    /// Saved exports older than this are exported again rather than polled.
    pub max_export_age: Duration,
    /// Where the archives go instead of `output_dir` (an object store, or an
    /// embedder's own): a server whose archive the destination already holds
    /// complete is skipped (reported `resumed`), and each archive is streamed
    /// into it. The journal, if any, still saves the exports; its part files
    /// are not used. The caller calls [`Destination::close`] at the end.
    pub destination: Option<Arc<dyn Destination>>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            output_dir: PathBuf::from("."),
            concurrency: 8,
            max_downloads: DEFAULT_MAX_DOWNLOADS,
            wait: WaitOptions::default(),
            download: DownloadOptions::default(),
            export_attempts: 3,
            journal: None,
            max_export_age: MAX_EXPORT_AGE,
            destination: None,
        }
    }
}

/// What happened to one server, reported while collecting.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CollectEvent {
    /// The export call is being made.
    Exporting {
        /// The server.
        server: String,
    },
    /// The export is running.
    Waiting {
        /// The server.
        server: String,
        /// The latest reading.
        progress: WaitProgress,
    },
    /// The archive is being downloaded.
    Downloading {
        /// The server.
        server: String,
        /// Bytes so far and the total.
        progress: DownloadProgress,
    },
}

/// The result for one server.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerOutcome {
    /// The server.
    pub server: String,
    /// The export task, once one was created.
    pub export_id: Option<String>,
    /// The archive, or why there is none.
    pub result: Result<Downloaded, Error>,
    /// The archive was already complete from a previous run (per the journal,
    /// verified by length and SHA-256): no request was made for it.
    pub resumed: bool,
}

/// A callback for [`CollectEvent`]s.
pub type EventSink = Arc<dyn Fn(CollectEvent) + Send + Sync>;

/// The bounds of one collection.
struct Slots {
    /// Export and status calls in flight.
    calls: Semaphore,
    downloads: Semaphore,
}

impl Client {
    /// Runs export, wait and download for every server, yielding each server's
    /// outcome as it finishes. At most `options.concurrency` export and status
    /// calls and
    /// `min(options.concurrency, options.max_downloads)` downloads run at once;
    /// at most [`MAX_SERVERS_IN_FLIGHT`] servers are
    /// between export and download. Dropping the stream cancels the work in
    /// flight and removes its temporary files.
    pub fn collect(
        &self,
        servers: Vec<String>,
        options: CollectOptions,
        events: Option<EventSink>,
    ) -> impl Stream<Item = ServerOutcome> + Send + 'static {
        let client = self.clone();
        let concurrency = options.concurrency.max(1);
        let slots = Slots {
            calls: Semaphore::new(concurrency),
            downloads: Semaphore::new(options.max_downloads.clamp(1, concurrency)),
        };
        let slots = Arc::new(slots);
        let options = Arc::new(options);
        futures::stream::iter(servers)
            .map(move |server| {
                let client = client.clone();
                let options = options.clone();
                let events = events.clone();
                let slots = slots.clone();
                async move { client.collect_one(server, &options, &slots, events).await }
            })
            .buffer_unordered(MAX_SERVERS_IN_FLIGHT)
    }

    async fn collect_one(
        &self,
        server: String,
        options: &CollectOptions,
        slots: &Slots,
        events: Option<EventSink>,
    ) -> ServerOutcome {
        let emit = |event: CollectEvent| {
            if let Some(sink) = &events {
                sink(event);
            }
        };
        let failed = |export_id, error| ServerOutcome {
            server: server.clone(),
            export_id,
            result: Err(error),
            resumed: false,
        };
        let journal = options.journal.as_deref();
        let recorder = Recorder::new(journal, &server);
        let recalled = journal.and_then(|j| j.recall(&server)).unwrap_or_default();
        if let Some(destination) = options.destination.as_deref() {
            match already_stored(destination, &server, &options.download).await {
                Ok(Some(archive)) => {
                    return ServerOutcome {
                        server: server.clone(),
                        export_id: recalled.export.as_ref().map(|e| e.export_id.clone()),
                        result: Ok(archive),
                        resumed: true,
                    };
                }
                Ok(None) => {}
                Err(error) => return failed(None, error),
            }
        } else if let Some(saved) = &recalled.complete {
            match resume::verify_archive(&options.output_dir, saved).await {
                Ok(archive) => {
                    return ServerOutcome {
                        server: server.clone(),
                        export_id: Some(saved.export_id.clone()),
                        result: Ok(archive),
                        resumed: true,
                    };
                }
                Err(why) => {
                    tracing::info!(
                        server,
                        why,
                        "the journaled archive does not check out; collecting it again"
                    );
                }
            }
        }
        // A re-run without overwriting fails a server whose archive is there
        // before triggering an export that could never be placed.
        if options.destination.is_none()
            && let Err(error) = crate::download::ensure_archive_free(
                &options.output_dir,
                server.as_str(),
                options.download.overwrite,
            )
        {
            return failed(None, error);
        }
        // The id is checked once, here where it enters; the export, every
        // poll and every resume take it checked.
        let server_id = match id_argument("server", server.as_str()) {
            Ok(id) => id,
            Err(error) => return failed(None, error),
        };
        let saved = if journal.is_some() {
            resume::saved_export(&recalled, options.max_export_age, resume::unix_now())
                .inspect_err(|why| tracing::debug!(server, why, "exporting"))
                .ok()
        } else {
            None
        };
        let last_status = std::sync::Mutex::new(None::<String>);
        let on_wait = |progress: &WaitProgress| {
            let status = progress.task.status.as_str();
            let mut last = last_status.lock().unwrap_or_else(|e| e.into_inner());
            if last.as_deref() != Some(status) {
                *last = Some(status.to_owned());
                recorder.status(&progress.task);
            }
            drop(last);
            emit(CollectEvent::Waiting {
                server: server.clone(),
                progress: progress.clone(),
            })
        };
        let mut waited = None;
        if let Some(export_id) = saved {
            let polled = match id_argument("export_id", export_id.as_str()) {
                Ok(export) => {
                    Box::pin(self.wait_checked(
                        &server_id,
                        &export,
                        None,
                        &options.wait,
                        &on_wait,
                        Some(&slots.calls),
                    ))
                    .await
                }
                Err(error) => Err(error),
            };
            match polled {
                Err(Error::Api(api)) if api.status == 404 => tracing::info!(
                    server,
                    export_id,
                    "the saved export is no longer known to the service (404); exporting again"
                ),
                other => waited = Some((export_id, other.map(drop))),
            }
        }
        let (export_id, waited) = match waited {
            Some(waited) => waited,
            None => {
                emit(CollectEvent::Exporting {
                    server: server.clone(),
                });
                if recalled.export_cut.is_some() {
                    tracing::info!(
                        server,
                        "the previous run stopped during this server's export call; exporting again (the service may run a second task for it)"
                    );
                }
                // The semaphore is never closed, so acquiring cannot fail.
                let slot = slots.calls.acquire().await.ok();
                recorder.exporting();
                let exported =
                    Box::pin(self.export_with_attempts(&server_id, options.export_attempts)).await;
                drop(slot);
                let task = match exported {
                    Ok(task) => task,
                    Err(error) => return failed(None, error),
                };
                let export_id = task.export_id.clone();
                recorder.exported(&export_id);
                let waited = match id_argument("export_id", export_id.as_str()) {
                    Ok(export) => Box::pin(self.wait_checked(
                        &server_id,
                        &export,
                        Some(task),
                        &options.wait,
                        &on_wait,
                        Some(&slots.calls),
                    ))
                    .await
                    .map(drop),
                    Err(error) => Err(error),
                };
                (export_id, waited)
            }
        };
        if let Err(error) = waited {
            return failed(Some(export_id), error);
        }
        // The slot first, then the box: thousands of servers queue here for
        // a few download slots, and the download's state is several KB (10,000
        // queued servers held 68 MB when the box came first).
        // The semaphore is never closed, so acquiring cannot fail.
        let slot = slots.downloads.acquire().await.ok();
        // Boxed, as the waits above: a server's future is as large as its
        // largest state, and thousands of servers wait while few download.
        let result = Box::pin(async {
            let export = id_argument("export_id", export_id.as_str())?;
            let on_bytes = |progress: DownloadProgress| {
                emit(CollectEvent::Downloading {
                    server: server.clone(),
                    progress,
                })
            };
            if let Some(destination) = options.destination.as_deref() {
                return self
                    .download_to_destination_checked(
                        (&server_id, &export),
                        destination,
                        &options.download,
                        &on_bytes,
                    )
                    .await;
            }
            if journal.is_none() {
                return self
                    .download_checked(
                        &server_id,
                        &export,
                        &options.output_dir,
                        &options.download,
                        &on_bytes,
                    )
                    .await;
            }
            let name = part_name(&server);
            let part = PartFile {
                resume: recalled
                    .download
                    .clone()
                    .filter(|d| d.part == name)
                    .filter(|_| {
                        recalled
                            .export
                            .as_ref()
                            .is_some_and(|e| e.export_id == export_id)
                    })
                    .map(|d| d.validators),
                name,
            };
            let watch = recorder.part(&export_id, &part.name);
            self.download_to_part_checked(
                (&server_id, &export),
                &options.output_dir,
                &options.download,
                &on_bytes,
                PartTarget {
                    file: &part,
                    watch: &watch,
                },
            )
            .await
        })
        .await;
        drop(slot);
        ServerOutcome {
            server,
            export_id: Some(export_id),
            result,
            resumed: false,
        }
    }

    /// The export call, made again on a server error up to `attempts` times in
    /// all (see [`CollectOptions::export_attempts`]), backing off as every
    /// other retry does.
    async fn export_with_attempts(
        &self,
        server: &PathId,
        attempts: u32,
    ) -> Result<crate::types::ExportTask, Error> {
        let policy = RetryPolicy {
            max_attempts: attempts,
            initial_backoff: EXPORT_REATTEMPT_BACKOFF,
            ..self.retry_policy().clone()
        };
        with_retries(
            &policy,
            Idempotency::DuplicateTolerated,
            crate::operation::EXPORT.name,
            || self.export_checked(server),
        )
        .await
    }
}

/// The server's archive when `destination` already holds it complete; fails
/// when its name is taken by something that may not be replaced.
async fn already_stored(
    destination: &dyn Destination,
    server: &str,
    download: &DownloadOptions,
) -> Result<Option<Downloaded>, Error> {
    let name = crate::download::archive_file_name(server);
    let stored = destination.stored(&name).await?;
    if stored.is_none() {
        destination.check_free(&name, download)?;
    }
    Ok(stored.map(|stored| Downloaded {
        path: destination.location(&name),
        suggested_name: None,
        bytes: stored.bytes,
        sha256: stored.sha256,
        resumes: 0,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server on 127.0.0.1 that answers the `n`th request (from 0) with
    /// `answer(n)`, counting requests.
    async fn serve(answer: fn(u32) -> &'static str) -> (String, Arc<AtomicU32>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let count = Arc::new(AtomicU32::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The export request's body is `{}`: read up to it.
                while !request.ends_with(b"{}") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = socket.write_all(answer(n).as_bytes()).await;
            }
        });
        (url, count)
    }

    const FAILED: &str =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const CREATED: &str = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 41\r\nConnection: close\r\n\r\n{\"export_id\":\"e-1\",\"status\":\"processing\"}";

    fn client(url: &str) -> Client {
        let retry = RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        Client::builder()
            .endpoint(url)
            .project_id("p1")
            .token("t")
            .retry_policy(retry)
            .build()
            .expect("client")
    }

    #[tokio::test]
    async fn an_export_is_made_again_after_a_server_error() {
        let (url, count) = serve(|n| if n == 0 { FAILED } else { CREATED }).await;
        let server = "srv-1".parse().expect("valid");
        let task = client(&url).export_with_attempts(&server, 3).await;
        assert_eq!(task.expect("created").export_id, "e-1");
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_server_between_its_calls_is_small() {
        // Thousands of servers wait for their exports at once; each holds
        // its future, which would be as large as a download's state were the
        // download and the waits not boxed (8.8 KB before they were).
        let client = client("http://127.0.0.1:1");
        let options = CollectOptions::default();
        let slots = Slots {
            calls: Semaphore::new(1),
            downloads: Semaphore::new(1),
        };
        let future = client.collect_one("srv-1".into(), &options, &slots, None);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "a server's future takes {size} bytes");
        // The wait itself, boxed above, lasts the whole export: it holds its
        // status call (about 12 KB) only while that call is in flight.
        let id: PathId = "srv-1".parse().expect("valid");
        let wait = WaitOptions::default();
        let waiting = client.wait_checked(&id, &id, None, &wait, &|_| {}, None);
        let size = std::mem::size_of_val(&waiting);
        assert!(size <= 1024, "a wait's future takes {size} bytes");
    }

    #[tokio::test]
    async fn export_attempts_bound_the_calls() {
        let (url, count) = serve(|_| FAILED).await;
        let server = "srv-1".parse().expect("valid");
        let error = client(&url).export_with_attempts(&server, 3).await;
        assert_eq!(error.expect_err("fails").status(), Some(500));
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }
}

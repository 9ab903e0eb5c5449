//! Streaming, verified, resumable download of an archive into a directory.
//!
//! What [`download_to_dir`] guarantees:
//! - nothing ever appears at a final path unless it is complete: the body goes to
//!   a temporary `.clouddc-*.part` file in the target directory, which is removed
//!   on any failure and when the future is dropped, and is moved to its final
//!   name only after every check passed and it was `fsync`ed;
//! - the final path is `dir/<name>` where `<name>` is a single, sanitised path
//!   component (see [`crate::content_disposition`]); an existing file is never
//!   overwritten: a free `<stem>.N<ext>` name is used instead;
//! - the byte count matches `Content-Length` / `Content-Range`, the body is a
//!   complete gzip stream (every member's CRC-32 and size checked) and its
//!   SHA-256 is reported;
//! - a body that breaks (transport error, idle timeout, premature end) is resumed
//!   with a `Range` request when the server answers `206` consistently, and
//!   restarted from zero otherwise;
//! - memory stays flat: at most [`IN_FLIGHT_BYTES`] of body are queued (and at
//!   most [`PROCESS_IN_FLIGHT_BYTES`] by all the downloads of the process
//!   together), plus a 64 KiB write buffer and the inflater's state.
//!
//! Hashing, gzip checking and writing run on two dedicated threads fed through a
//! byte-bounded queue, so the async task only moves chunks and the download runs
//! at network speed on a 2-core machine.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use progenitor_client::{ByteStream, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, HeaderMap};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use crate::Error;
use crate::content_disposition::{safe_file_name, sanitize_file_name, split_extension};
use crate::hooks::ResponseMeta;

/// How many body bytes one download may have queued between the network and
/// the file at once.
pub const IN_FLIGHT_BYTES: usize = 2 << 20;
/// How many body bytes all the downloads of the process may have queued at
/// once: a fleet collected at a concurrency of hundreds must not cost
/// [`IN_FLIGHT_BYTES`] per server.
pub const PROCESS_IN_FLIGHT_BYTES: usize = 32 << 20;
/// The name of the operation in errors.
const OPERATION: &str = "DownloadServerLogs";
/// The write buffer of the temporary file. Chunks at least this large are
/// written directly; smaller ones are gathered so that a write is never tiny.
/// Small, because every download in flight has one.
const WRITE_BUFFER_BYTES: usize = 64 << 10;
/// The inflater's output buffer (the output is only checksummed, then dropped).
/// zlib-rs inflates about 1.2x faster into 256 KiB than into 32 KiB; with at
/// most 16 downloads at once by default that is 4 MiB.
const INFLATE_BUFFER_BYTES: usize = 256 << 10;
/// The minimum time between two progress reports.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// How many `<stem>.N<ext>` names are tried when the final name is taken.
pub const MAX_NAME_SUFFIX: u32 = 999;
/// Idle timeouts longer than this are treated as this (keeps deadlines in range).
const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);
/// The queue budget in semaphore permits of 1 KiB each.
const IN_FLIGHT_PERMITS: u32 = (IN_FLIGHT_BYTES / 1024) as u32;
/// The process's queue budget, shared by every download, in permits of 1 KiB.
static PROCESS_BUDGET: std::sync::LazyLock<Arc<Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(Semaphore::new(PROCESS_IN_FLIGHT_BYTES / 1024)));

/// How a download behaves when things go wrong.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// How many times the archive is requested again after the body broke or the
    /// server answered inconsistently: resumed from where it broke with `Range`
    /// when the server allows it, restarted from zero otherwise. `0` disables it.
    /// Request-level retries (429, 5xx, connection errors) are the business of
    /// the `fetch` function and do not count here.
    pub max_resumes: u32,
    /// A body that delivers no data for this long counts as broken (and is
    /// resumed). `None` waits forever, which only makes sense when the transport
    /// has a read timeout of its own.
    pub idle_timeout: Option<Duration>,
    /// Whether the archive must be a complete, valid gzip stream. Only turn it
    /// off for archives that are not gzip; the check is what catches a body that
    /// is truncated when the server sent no length.
    pub verify_gzip: bool,
}

impl Default for DownloadOptions {
    /// Five resumes, a 120 s idle timeout (the official SDKs' read timeout),
    /// gzip verified.
    fn default() -> Self {
        Self {
            max_resumes: 5,
            idle_timeout: Some(Duration::from_secs(120)),
            verify_gzip: true,
        }
    }
}

/// How far a download is, reported while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes of the archive received so far. Goes back to zero when the server
    /// forces a restart.
    pub bytes: u64,
    /// The archive's size, when the server said (`Content-Length`, or the total
    /// of `Content-Range`).
    pub total: Option<u64>,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where the archive is: `dir/<name>`, `<name>` from `Content-Disposition` or
    /// the fallback, with a `.N` suffix when the name was taken.
    pub path: PathBuf,
    /// The archive's size in bytes.
    pub bytes: u64,
    /// The archive's SHA-256, lowercase hex.
    pub sha256: String,
    /// How many times the archive was requested again after the first request
    /// (resumed with `Range` or restarted from zero).
    pub resumes: u32,
}

/// Downloads an archive into `dir`, safely and resumably.
///
/// `fetch(None)` must request the whole archive and `fetch(Some(offset))` the
/// rest of it from `offset` (`Range: bytes=offset-`); retrying throttled or
/// failed requests is up to `fetch`. The file name comes from the first
/// response's `Content-Disposition`, or else from `fallback_name`; both are
/// sanitised (see [`crate::content_disposition::sanitize_file_name`]) and the
/// file is always created directly in `dir`, which is created when missing.
///
/// `progress` is called when the first response arrives, then as bytes arrive
/// (at most every 50 ms), and once more at the end.
///
/// The file is private to the user (mode `0600` on Unix), like the temporary
/// file it was.
///
/// # Errors
/// - [`Error::InvalidInput`] when `fallback_name` leaves no safe name;
/// - [`Error::Io`] naming the path when `dir` cannot be created or is not a
///   directory, when writing fails, or when no free name is left
///   (after [`MAX_NAME_SUFFIX`] suffixes);
/// - [`Error::Integrity`] when the body is shorter or longer than announced
///   and resumes are exhausted, or is not a complete, valid gzip stream;
/// - [`Error::Transport`] / [`Error::Timeout`] when the body broke and resumes
///   are exhausted;
/// - [`Error::UnexpectedResponse`] when the server keeps answering
///   inconsistently (a `206` for another range, a non-2xx status);
/// - whatever `fetch` returns.
///
/// In every error case, nothing is left in `dir` but what was there before.
pub async fn download_to_dir<F, Fut>(
    mut fetch: F,
    dir: &Path,
    fallback_name: &str,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
) -> Result<Downloaded, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    let fallback = sanitize_file_name(fallback_name).ok_or_else(|| {
        Error::invalid(
            "fallback_name",
            format!("{fallback_name:?} leaves no safe file name"),
        )
    })?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    prepare_dir(dir)?;
    let temp = tempfile::Builder::new()
        .prefix(".clouddc-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|source| Error::Io {
            action: "creating a temporary file in",
            path: dir.to_path_buf(),
            source,
        })?;
    let (file, temp_path) = temp.into_parts();
    let part = temp_path.to_path_buf();
    // Declared after `temp_path`, so dropped first: the workers are told to stop
    // before the temporary file is removed.
    let pipeline = Pipeline::start(file, options.verify_gzip).map_err(|source| Error::Io {
        action: "starting the writer thread for",
        path: part.clone(),
        source,
    })?;

    let mut reporter = Reporter::new(progress);
    let mut written: u64 = 0;
    let mut total: Option<u64> = None;
    let mut resumes: u32 = 0;
    let mut name: Option<String> = None;
    let mut request: Option<u64> = None;

    loop {
        let response = fetch(request).await?;
        let status = response.status();
        let meta = ResponseMeta {
            status: Some(status.as_u16()),
            request_id: crate::error::request_id(response.headers()),
        };
        if !status.is_success() {
            return Err(Error::UnexpectedResponse {
                operation: OPERATION,
                reason: format!("status {} instead of the archive", status.as_u16()),
                meta,
            });
        }
        if name.is_none() {
            let proposed = response
                .headers()
                .get(CONTENT_DISPOSITION)
                .and_then(|value| safe_file_name(value.as_bytes()));
            name = Some(proposed.unwrap_or_else(|| fallback.clone()));
        }
        let plan = match plan_body(status, response.headers(), request, total) {
            Ok(plan) => plan,
            Err(reason) => {
                drop(response);
                if resumes >= options.max_resumes {
                    return Err(Error::UnexpectedResponse {
                        operation: OPERATION,
                        reason,
                        meta,
                    });
                }
                tracing::debug!(%reason, "inconsistent answer; restarting the download from zero");
                resumes += 1;
                request = None;
                total = None;
                if written > 0 {
                    written = 0;
                    if pipeline.restart().is_err() {
                        return Err(pipeline.fail(&part).await);
                    }
                }
                continue;
            }
        };
        if plan.from_zero && written > 0 {
            tracing::debug!(
                written,
                "the server sent the whole archive; restarting from zero"
            );
            written = 0;
            if pipeline.restart().is_err() {
                return Err(pipeline.fail(&part).await);
            }
        }
        total = plan.total;
        reporter.total = total;
        reporter.report(written);

        let broken = match pump(
            response.into_inner_stream(),
            &pipeline,
            &mut written,
            plan.len,
            options.idle_timeout,
            &mut reporter,
        )
        .await
        {
            BodyEnd::Ended => match total {
                Some(t) if written < t => Broken::Short {
                    expected: t,
                    got: written,
                },
                Some(t) if written > t => {
                    return Err(Error::Integrity {
                        path: part,
                        reason: format!("received {written} bytes of a {t}-byte archive"),
                    });
                }
                _ => break,
            },
            BodyEnd::TooLong { announced } => {
                return Err(Error::Integrity {
                    path: part,
                    reason: format!("the server sent more than the {announced} bytes it announced"),
                });
            }
            BodyEnd::PipelineFailed => return Err(pipeline.fail(&part).await),
            BodyEnd::Broken(broken) => broken,
        };
        if total.is_some_and(|t| written == t) {
            // Every byte arrived before the body broke; the checks decide.
            break;
        }
        if resumes >= options.max_resumes {
            return Err(broken.into_error(part, options.max_resumes));
        }
        resumes += 1;
        request = (written > 0).then_some(written);
        tracing::debug!(written, resumes, why = %broken.describe(), "the body broke; resuming");
    }

    let result = match pipeline.finish().await {
        Ok(result) => result,
        Err(error) => return Err(error.into_error(&part)),
    };
    if result.bytes != written {
        return Err(Error::Integrity {
            path: part,
            reason: format!("{} bytes were written but {written} received", result.bytes),
        });
    }
    reporter.finish(written);
    let name = name.unwrap_or(fallback);
    let path = persist(temp_path, dir, &name).await?;
    Ok(Downloaded {
        path,
        bytes: written,
        sha256: result.sha256,
        resumes,
    })
}

/// Makes sure `dir` is a directory, creating it (and its parents) when missing.
fn prepare_dir(dir: &Path) -> Result<(), Error> {
    let io_error = |action, source| Error::Io {
        action,
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io_error(
            "using as the download directory",
            io::Error::new(
                io::ErrorKind::NotADirectory,
                "it exists and is not a directory",
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|source| io_error("creating the download directory", source)),
        Err(source) => Err(io_error("checking the download directory", source)),
    }
}

/// `dir/name`, checked to be a direct child of `dir`.
fn final_path(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let mut components = Path::new(name).components();
    let single = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    );
    let path = dir.join(name);
    if single && path.parent() == Some(dir) {
        Ok(path)
    } else {
        Err(Error::invalid(
            "file name",
            format!("{name:?} is not a single path component"),
        ))
    }
}

/// Moves the temporary file to `dir/name`, or the first free `<stem>.N<ext>`,
/// never replacing an existing file, then syncs the directory.
async fn persist(temp: TempPath, dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let owned_dir = dir.to_path_buf();
    let owned_name = name.to_string();
    tokio::task::spawn_blocking(move || persist_blocking(temp, &owned_dir, &owned_name))
        .await
        .unwrap_or_else(|join_error| {
            Err(Error::Io {
                action: "moving the download into",
                path: dir.to_path_buf(),
                source: io::Error::other(join_error.to_string()),
            })
        })
}

fn persist_blocking(mut temp: TempPath, dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let (stem, ext) = split_extension(name);
    for n in 0..=MAX_NAME_SUFFIX {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}.{n}{ext}")
        };
        let path = final_path(dir, &candidate)?;
        match temp.persist_noclobber(&path) {
            Ok(()) => {
                sync_dir(dir);
                return Ok(path);
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => temp = e.path,
            Err(e) => {
                return Err(Error::Io {
                    action: "moving the download to",
                    path,
                    source: e.error,
                });
            }
        }
    }
    Err(Error::Io {
        action: "finding a free name for",
        path: dir.join(name),
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("it and every name from {stem}.1{ext} to {stem}.{MAX_NAME_SUFFIX}{ext} exist"),
        ),
    })
}

/// Makes the new directory entry durable. The file's data already is, so a
/// failure here is logged rather than failing a complete download.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), %error, "could not sync the download directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// What to expect of one response's body.
#[derive(Debug, PartialEq, Eq)]
struct BodyPlan {
    /// The body starts at offset 0 of the archive.
    from_zero: bool,
    /// The body's length, when announced.
    len: Option<u64>,
    /// The archive's size, when known.
    total: Option<u64>,
}

/// Checks a successful response against what was asked; `Err` says what is
/// inconsistent (the download then starts over from zero).
fn plan_body(
    status: StatusCode,
    headers: &HeaderMap,
    requested: Option<u64>,
    known_total: Option<u64>,
) -> Result<BodyPlan, String> {
    let content_length = match headers.get(CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(parse_decimal)
                .ok_or_else(|| format!("unparseable Content-Length {value:?}"))?,
        ),
    };
    if status != StatusCode::PARTIAL_CONTENT {
        // The whole archive, whatever was asked.
        return Ok(BodyPlan {
            from_zero: true,
            len: content_length,
            total: content_length,
        });
    }
    let value = headers
        .get(CONTENT_RANGE)
        .ok_or_else(|| "206 without Content-Range".to_string())?;
    let range = value
        .to_str()
        .ok()
        .and_then(ContentRange::parse)
        .ok_or_else(|| format!("unparseable Content-Range {value:?}"))?;
    let wanted = requested.unwrap_or(0);
    if range.start != wanted {
        return Err(format!(
            "asked for the archive from byte {wanted}, got Content-Range {value:?}"
        ));
    }
    let len = range.end - range.start + 1;
    if let Some(cl) = content_length
        && cl != len
    {
        return Err(format!(
            "Content-Length {cl} does not match Content-Range {value:?}"
        ));
    }
    if range.start > 0
        && let (Some(now), Some(before)) = (range.total, known_total)
        && now != before
    {
        return Err(format!(
            "the archive's size changed from {before} to {now} bytes"
        ));
    }
    Ok(BodyPlan {
        from_zero: range.start == 0,
        len: Some(len),
        total: if range.start == 0 {
            range.total
        } else {
            range.total.or(known_total)
        },
    })
}

/// A `Content-Range: bytes start-end/total` value.
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    start: u64,
    end: u64,
    total: Option<u64>,
}

impl ContentRange {
    /// Parses `bytes a-b/t` or `bytes a-b/*`; `None` unless `a <= b < t`.
    fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let (unit, rest) = value.split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (range, total) = rest.trim().split_once('/')?;
        let (start, end) = range.trim().split_once('-')?;
        let start = parse_decimal(start.trim())?;
        let end = parse_decimal(end.trim())?;
        let total = match total.trim() {
            "*" => None,
            t => Some(parse_decimal(t)?),
        };
        let valid = start <= end && end < u64::MAX && total.is_none_or(|t| end < t);
        valid.then_some(Self { start, end, total })
    }
}

/// A decimal number of digits only (no sign, no spaces).
fn parse_decimal(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why a body stopped before it was complete.
enum Broken {
    /// Reading the body failed.
    Transport(reqwest::Error),
    /// No data arrived for this long.
    Idle(Duration),
    /// The body ended early.
    Short { expected: u64, got: u64 },
}

impl Broken {
    fn describe(&self) -> String {
        match self {
            Broken::Transport(e) => format!("transport error: {e}"),
            Broken::Idle(after) => format!("no data for {after:?}"),
            Broken::Short { expected, got } => {
                format!("the body ended after {got} of {expected} bytes")
            }
        }
    }

    fn into_error(self, part: PathBuf, max_resumes: u32) -> Error {
        match self {
            Broken::Transport(source) => Error::Transport {
                operation: "reading the archive",
                source,
            },
            Broken::Idle(after) => Error::Timeout {
                what: format!("receiving data for {}", part.display()),
                after,
            },
            Broken::Short { expected, got } => Error::Integrity {
                reason: format!(
                    "the body ended after {got} of {expected} bytes (after {max_resumes} resumes)"
                ),
                path: part,
            },
        }
    }
}

/// How reading one body ended.
enum BodyEnd {
    /// The stream ended with every announced byte.
    Ended,
    /// The body stopped early.
    Broken(Broken),
    /// The body is longer than its `Content-Length` / `Content-Range`.
    TooLong { announced: u64 },
    /// A worker stopped (write error, corrupt gzip).
    PipelineFailed,
}

type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// Moves one body into the pipeline, counting bytes into `written`.
async fn pump(
    mut body: BodyStream,
    pipeline: &Pipeline,
    written: &mut u64,
    announced: Option<u64>,
    idle_timeout: Option<Duration>,
    reporter: &mut Reporter<'_>,
) -> BodyEnd {
    let idle = idle_timeout.map(|d| d.min(MAX_IDLE));
    let mut received: u64 = 0;
    let mut last_data = Instant::now();
    // Re-armed lazily: a chunk only records the time, and the timer, when it
    // fires, checks whether data arrived since.
    let timer = tokio::time::sleep(idle.unwrap_or(MAX_IDLE));
    tokio::pin!(timer);
    loop {
        let item = tokio::select! {
            biased;
            item = body.next() => item,
            () = &mut timer => {
                let now = Instant::now();
                match idle {
                    Some(idle) if now.duration_since(last_data) >= idle => {
                        return BodyEnd::Broken(Broken::Idle(idle));
                    }
                    Some(idle) => timer.as_mut().reset(last_data + idle),
                    None => timer.as_mut().reset(now + MAX_IDLE),
                }
                continue;
            }
        };
        let chunk = match item {
            None => {
                return match announced {
                    Some(expected) if received < expected => BodyEnd::Broken(Broken::Short {
                        expected: *written - received + expected,
                        got: *written,
                    }),
                    _ => BodyEnd::Ended,
                };
            }
            Some(Err(error)) => return BodyEnd::Broken(Broken::Transport(error)),
            Some(Ok(chunk)) => chunk,
        };
        if chunk.is_empty() {
            continue;
        }
        let len = chunk.len() as u64;
        if let Some(limit) = announced
            && len > limit - received
        {
            return BodyEnd::TooLong { announced: limit };
        }
        received += len;
        *written += len;
        if pipeline.send(chunk).await.is_err() {
            return BodyEnd::PipelineFailed;
        }
        // After the send: waiting for the disk or the gzip check is not the
        // network being idle.
        last_data = Instant::now();
        reporter.tick(*written, last_data);
    }
}

/// Calls the progress callback, at most every [`PROGRESS_INTERVAL`].
struct Reporter<'a> {
    callback: &'a (dyn Fn(DownloadProgress) + Send + Sync),
    total: Option<u64>,
    last: Option<Instant>,
}

impl<'a> Reporter<'a> {
    fn new(callback: &'a (dyn Fn(DownloadProgress) + Send + Sync)) -> Self {
        Self {
            callback,
            total: None,
            last: None,
        }
    }

    fn tick(&mut self, bytes: u64, now: Instant) {
        if self
            .last
            .is_none_or(|last| now.duration_since(last) >= PROGRESS_INTERVAL)
        {
            self.report(bytes);
        }
    }

    fn report(&mut self, bytes: u64) {
        (self.callback)(DownloadProgress {
            bytes,
            total: self.total,
        });
        self.last = Some(Instant::now());
    }

    fn finish(&mut self, bytes: u64) {
        self.total = Some(bytes);
        self.report(bytes);
    }
}

// ---------------------------------------------------------------------------
// The pipeline: the async task hands chunks to worker threads.

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

/// Why a worker stopped.
#[derive(Debug)]
enum StageError {
    /// A file operation failed.
    Io {
        action: &'static str,
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
    fn io(action: &'static str) -> impl FnOnce(io::Error) -> StageError {
        move |source| StageError::Io { action, source }
    }

    fn into_error(self, part: &Path) -> Error {
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
    fn rank(&self) -> u8 {
        match self {
            StageError::Io { .. } => 3,
            StageError::Corrupt(_) => 2,
            StageError::Lost => 1,
            StageError::Aborted => 0,
        }
    }
}

/// One consumer of the archive's bytes, run on its own thread.
trait Stage: Send + 'static {
    type Output: Send + 'static;
    fn feed(&mut self, data: &[u8]) -> Result<(), StageError>;
    fn restart(&mut self) -> Result<(), StageError>;
    fn finish(self) -> Result<Self::Output, StageError>;
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

fn spawn_stage<S: Stage>(
    name: &str,
    mut stage: S,
    abort: Arc<AtomicBool>,
) -> io::Result<Worker<S::Output>> {
    // Unbounded in messages, bounded in bytes by the semaphore of `Pipeline`.
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
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

/// The writer (file and SHA-256) and, optionally, the gzip checker, each on its
/// own thread, fed the same chunks.
struct Pipeline {
    budget: Arc<Semaphore>,
    writer: Worker<Written>,
    checker: Option<Worker<()>>,
    abort: AbortOnDrop,
}

impl Pipeline {
    fn start(file: File, verify_gzip: bool) -> io::Result<Self> {
        let abort = Arc::new(AtomicBool::new(false));
        let writer = spawn_stage("clouddc-writer", FileWriter::new(file), abort.clone())?;
        let checker = if verify_gzip {
            Some(spawn_stage(
                "clouddc-gzip-check",
                GzipCheck::new(),
                abort.clone(),
            )?)
        } else {
            None
        };
        Ok(Self {
            budget: Arc::new(Semaphore::new(IN_FLIGHT_PERMITS as usize)),
            writer,
            checker,
            abort: AbortOnDrop(abort),
        })
    }

    /// Queues a chunk for every worker, waiting while the budget is used up.
    async fn send(&self, data: Bytes) -> Result<(), ()> {
        let permits = u32::try_from(data.len().div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, IN_FLIGHT_PERMITS);
        // This download's budget first, so that one download never holds more
        // than its share of the process's.
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(drop)?;
        let process_permit = PROCESS_BUDGET
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(drop)?;
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
    fn restart(&self) -> Result<(), ()> {
        if let Some(checker) = &self.checker {
            checker.send(Message::Restart)?;
        }
        self.writer.send(Message::Restart)
    }

    /// Ends the archive and collects what the workers found.
    async fn finish(mut self) -> Result<Written, StageError> {
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
    async fn fail(mut self, part: &Path) -> Error {
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

/// What the writer reports.
struct Written {
    bytes: u64,
    sha256: String,
}

/// Writes the archive to the temporary file and hashes it.
struct FileWriter {
    out: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    /// Up to where the disk was asked to start writing.
    writeback_from: u64,
}

/// How much is written between two requests to start writing it to disk.
const WRITEBACK_STEP_BYTES: u64 = 8 << 20;

impl FileWriter {
    fn new(file: File) -> Self {
        Self {
            out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            hasher: Sha256::new(),
            bytes: 0,
            writeback_from: 0,
        }
    }

    /// Asks the kernel to start writing what is written so far to disk, without
    /// waiting. The archive is fsynced before its rename; left alone, the kernel
    /// writes a large archive back only then, and the fsync waits for all of it
    /// after the last byte arrived. Started early, the disk works while the
    /// network does. A hint: when it fails, the fsync still does the work.
    fn start_writeback(&mut self) -> Result<(), StageError> {
        if self.bytes - self.writeback_from < WRITEBACK_STEP_BYTES {
            return Ok(());
        }
        self.out.flush().map_err(StageError::io("writing"))?;
        start_writeback(self.out.get_ref(), self.writeback_from, self.bytes);
        self.writeback_from = self.bytes;
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(from), i64::try_from(to - from)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor `file` keeps open for the call;
    // it reads no memory of ours.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _from: u64, _to: u64) {}

impl Stage for FileWriter {
    type Output = Written;

    fn feed(&mut self, data: &[u8]) -> Result<(), StageError> {
        self.out
            .write_all(data)
            .map_err(StageError::io("writing"))?;
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.start_writeback()
    }

    fn restart(&mut self) -> Result<(), StageError> {
        self.out.flush().map_err(StageError::io("writing"))?;
        let file = self.out.get_mut();
        file.set_len(0).map_err(StageError::io("truncating"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(StageError::io("truncating"))?;
        self.hasher = Sha256::new();
        self.bytes = 0;
        self.writeback_from = 0;
        Ok(())
    }

    fn finish(self) -> Result<Written, StageError> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| StageError::io("writing")(e.into_error()))?;
        file.sync_all().map_err(StageError::io("syncing"))?;
        Ok(Written {
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

// ---------------------------------------------------------------------------
// The gzip check.

/// Where the checker is in the gzip stream (RFC 1952).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzipState {
    /// In a member header.
    Header(HeaderStep),
    /// In a member's deflate data.
    Deflate,
    /// In a member's 8-byte trailer; this many bytes of it seen.
    Trailer(usize),
    /// After a complete member: another member, zero padding, or the end.
    Between,
    /// In the zero padding after the last member.
    Padding,
}

/// Where the checker is in a member header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderStep {
    /// The 10 fixed bytes; this many seen.
    Fixed(usize),
    /// The 2-byte length of the extra field; the length so far and bytes seen.
    ExtraLen(u16, usize),
    /// The extra field; this many bytes left.
    Extra(u16),
    /// The zero-terminated file name.
    Name,
    /// The zero-terminated comment.
    Comment,
    /// The 2-byte header CRC; this many seen.
    HeaderCrc(usize),
}

const FLAG_HCRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;
const FLAG_RESERVED: u8 = 0xE0;

/// Checks, incrementally, that the bytes are one or more complete gzip members
/// (optionally followed by zero padding), each with a matching CRC-32 and size.
struct GzipCheck {
    state: GzipState,
    flags: u8,
    fixed: [u8; 10],
    trailer: [u8; 8],
    inflate: flate2::Decompress,
    crc: crc32fast::Hasher,
    /// The member's inflated size modulo 2^32, as the trailer's ISIZE.
    size: u32,
    out: Box<[u8]>,
    /// Bytes fed so far, for error messages.
    offset: u64,
    members: u64,
}

impl GzipCheck {
    fn new() -> Self {
        Self {
            out: vec![0; INFLATE_BUFFER_BYTES].into_boxed_slice(),
            ..Self::new_without_buffer()
        }
    }

    /// A fresh checker whose output buffer is to be supplied by the caller.
    fn new_without_buffer() -> Self {
        Self {
            state: GzipState::Header(HeaderStep::Fixed(0)),
            flags: 0,
            fixed: [0; 10],
            trailer: [0; 8],
            inflate: flate2::Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            out: Box::default(),
            offset: 0,
            members: 0,
        }
    }

    fn corrupt(&self, what: impl std::fmt::Display) -> StageError {
        StageError::Corrupt(format!("not a valid gzip archive: {what}"))
    }

    /// The step after the header's fixed part or an optional field.
    fn next_header_step(&self, after: HeaderStep) -> GzipState {
        let order = [
            (FLAG_EXTRA, HeaderStep::ExtraLen(0, 0)),
            (FLAG_NAME, HeaderStep::Name),
            (FLAG_COMMENT, HeaderStep::Comment),
            (FLAG_HCRC, HeaderStep::HeaderCrc(0)),
        ];
        let position = match after {
            HeaderStep::Fixed(_) => 0,
            HeaderStep::ExtraLen(..) | HeaderStep::Extra(_) => 1,
            HeaderStep::Name => 2,
            HeaderStep::Comment => 3,
            HeaderStep::HeaderCrc(_) => 4,
        };
        order[position..]
            .iter()
            .find(|(flag, _)| self.flags & flag != 0)
            .map_or(GzipState::Deflate, |&(_, step)| GzipState::Header(step))
    }

    /// Consumes header bytes; returns how many were used.
    fn header(&mut self, step: HeaderStep, data: &[u8]) -> Result<usize, StageError> {
        match step {
            HeaderStep::Fixed(seen) => {
                let take = (10 - seen).min(data.len());
                self.fixed[seen..seen + take].copy_from_slice(&data[..take]);
                let seen = seen + take;
                if seen < 10 {
                    self.state = GzipState::Header(HeaderStep::Fixed(seen));
                    return Ok(take);
                }
                let start = self.offset + take as u64 - 10;
                if self.fixed[0] != 0x1f || self.fixed[1] != 0x8b {
                    return Err(self.corrupt(format_args!("no gzip magic at byte {start}")));
                }
                if self.fixed[2] != 8 {
                    return Err(self.corrupt(format_args!(
                        "unknown compression method {} at byte {start}",
                        self.fixed[2]
                    )));
                }
                self.flags = self.fixed[3];
                if self.flags & FLAG_RESERVED != 0 {
                    return Err(
                        self.corrupt(format_args!("reserved header flags set at byte {start}"))
                    );
                }
                self.state = self.next_header_step(step);
                Ok(take)
            }
            HeaderStep::ExtraLen(len, seen) => {
                let len = len | (u16::from(data[0]) << (8 * seen));
                self.state = if seen == 0 {
                    GzipState::Header(HeaderStep::ExtraLen(len, 1))
                } else if len == 0 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::Extra(len))
                };
                Ok(1)
            }
            HeaderStep::Extra(left) => {
                let take = usize::from(left).min(data.len());
                // `take <= left`, a u16.
                let left = left - take as u16;
                self.state = if left == 0 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::Extra(left))
                };
                Ok(take)
            }
            HeaderStep::Name | HeaderStep::Comment => match data.iter().position(|&b| b == 0) {
                Some(nul) => {
                    self.state = self.next_header_step(step);
                    Ok(nul + 1)
                }
                None => Ok(data.len()),
            },
            HeaderStep::HeaderCrc(seen) => {
                let take = (2 - seen).min(data.len());
                self.state = if seen + take == 2 {
                    self.next_header_step(step)
                } else {
                    GzipState::Header(HeaderStep::HeaderCrc(seen + take))
                };
                Ok(take)
            }
        }
    }

    /// Consumes deflate data; returns how many bytes were used.
    fn deflate(&mut self, data: &[u8]) -> Result<usize, StageError> {
        let mut used = 0;
        loop {
            let in_before = self.inflate.total_in();
            let out_before = self.inflate.total_out();
            let status = self
                .inflate
                .decompress(&data[used..], &mut self.out, flate2::FlushDecompress::None)
                .map_err(|e| self.corrupt(format_args!("bad deflate data ({e})")))?;
            let consumed = usize::try_from(self.inflate.total_in() - in_before).unwrap_or(0);
            let produced = usize::try_from(self.inflate.total_out() - out_before).unwrap_or(0);
            let produced = produced.min(self.out.len());
            self.crc.update(&self.out[..produced]);
            // ISIZE is the size modulo 2^32: truncation is the format.
            self.size = self.size.wrapping_add(produced as u32);
            used = (used + consumed).min(data.len());
            if status == flate2::Status::StreamEnd {
                self.state = GzipState::Trailer(0);
                return Ok(used);
            }
            if used == data.len() && produced < self.out.len() {
                return Ok(used);
            }
            if consumed == 0 && produced == 0 {
                return Err(self.corrupt("the deflate data makes no progress"));
            }
        }
    }

    /// Consumes trailer bytes; checks the member when the trailer is complete.
    fn trailer(&mut self, seen: usize, data: &[u8]) -> Result<usize, StageError> {
        let take = (8 - seen).min(data.len());
        self.trailer[seen..seen + take].copy_from_slice(&data[..take]);
        let seen = seen + take;
        if seen < 8 {
            self.state = GzipState::Trailer(seen);
            return Ok(take);
        }
        let [c0, c1, c2, c3, s0, s1, s2, s3] = self.trailer;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let size = u32::from_le_bytes([s0, s1, s2, s3]);
        if crc != self.crc.clone().finalize() {
            return Err(self.corrupt(format_args!(
                "CRC-32 mismatch in member {} (data is damaged)",
                self.members + 1
            )));
        }
        if size != self.size {
            return Err(self.corrupt(format_args!(
                "size mismatch in member {} (data is damaged)",
                self.members + 1
            )));
        }
        self.members += 1;
        self.inflate.reset(false);
        self.crc.reset();
        self.size = 0;
        self.state = GzipState::Between;
        Ok(take)
    }
}

impl Stage for GzipCheck {
    type Output = ();

    fn feed(&mut self, mut data: &[u8]) -> Result<(), StageError> {
        while !data.is_empty() {
            let used = match self.state {
                GzipState::Header(step) => self.header(step, data)?,
                GzipState::Deflate => self.deflate(data)?,
                GzipState::Trailer(seen) => self.trailer(seen, data)?,
                GzipState::Between => {
                    self.state = if data[0] == 0 {
                        GzipState::Padding
                    } else {
                        GzipState::Header(HeaderStep::Fixed(0))
                    };
                    0
                }
                GzipState::Padding => match data.iter().position(|&b| b != 0) {
                    Some(at) => {
                        return Err(self.corrupt(format_args!(
                            "unexpected data at byte {} after the last member",
                            self.offset + at as u64
                        )));
                    }
                    None => data.len(),
                },
            };
            self.offset += used as u64;
            data = &data[used.min(data.len())..];
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), StageError> {
        let out = std::mem::take(&mut self.out);
        *self = Self {
            out,
            ..Self::new_without_buffer()
        };
        Ok(())
    }

    fn finish(self) -> Result<(), StageError> {
        match self.state {
            GzipState::Between | GzipState::Padding => Ok(()),
            GzipState::Header(HeaderStep::Fixed(0)) if self.offset == 0 => {
                Err(self.corrupt("the archive is empty"))
            }
            GzipState::Header(_) => Err(self.corrupt("it ends inside a member header")),
            GzipState::Deflate => Err(self.corrupt(format_args!(
                "it ends early, after {} bytes (truncated)",
                self.offset
            ))),
            GzipState::Trailer(_) => Err(self.corrupt("it ends inside a member trailer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::Write as _;
    use std::sync::Mutex;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    /// A gzip archive of about `len` bytes of log-like text.
    fn archive(len: usize) -> Vec<u8> {
        let mut raw = Vec::with_capacity(len * 4);
        let mut x: u32 = 12345;
        while raw.len() < len * 4 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            raw.extend_from_slice(format!("line {} value {:x}\n", raw.len(), x).as_bytes());
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&raw).unwrap();
        encoder.finish().unwrap()
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    /// A reqwest body error, as a broken connection produces.
    async fn transport_error() -> reqwest::Error {
        let body = reqwest::Body::wrap_stream(futures::stream::once(async {
            Err::<Bytes, _>(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            ))
        }));
        reqwest::Response::from(http::Response::new(body))
            .bytes()
            .await
            .unwrap_err()
    }

    fn chunks(data: &[u8], size: usize) -> Vec<reqwest::Result<Bytes>> {
        data.chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    fn response(
        status: u16,
        headers: &[(&str, String)],
        items: Vec<reqwest::Result<Bytes>>,
        hang: bool,
    ) -> ResponseValue<ByteStream> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        let stream = futures::stream::iter(items);
        let stream: BodyStream = if hang {
            Box::pin(stream.chain(futures::stream::pending()))
        } else {
            Box::pin(stream)
        };
        ResponseValue::new(
            ByteStream::new(stream),
            StatusCode::from_u16(status).unwrap(),
            map,
        )
    }

    /// A 200 with the whole archive and its length.
    fn full(data: &[u8], disposition: Option<&str>) -> ResponseValue<ByteStream> {
        let mut headers = vec![("content-length", data.len().to_string())];
        if let Some(d) = disposition {
            headers.push(("content-disposition", d.to_string()));
        }
        response(200, &headers, chunks(data, 4096), false)
    }

    /// A 206 with the archive from `from`.
    fn partial(data: &[u8], from: usize) -> ResponseValue<ByteStream> {
        let headers = [
            ("content-length", (data.len() - from).to_string()),
            (
                "content-range",
                format!("bytes {from}-{}/{}", data.len() - 1, data.len()),
            ),
        ];
        response(206, &headers, chunks(&data[from..], 4096), false)
    }

    /// A 200 announcing the whole archive whose body breaks after `cut` bytes.
    fn broken(data: &[u8], cut: usize, error: reqwest::Error) -> ResponseValue<ByteStream> {
        let mut items = chunks(&data[..cut], 4096);
        items.push(Err(error));
        response(
            200,
            &[("content-length", data.len().to_string())],
            items,
            false,
        )
    }

    /// Answers requests from a list, recording the offsets asked for.
    #[derive(Default)]
    struct Script {
        answers: Mutex<VecDeque<Result<ResponseValue<ByteStream>, Error>>>,
        offsets: Mutex<Vec<Option<u64>>>,
    }

    impl Script {
        fn new(answers: Vec<ResponseValue<ByteStream>>) -> Self {
            Self {
                answers: Mutex::new(answers.into_iter().map(Ok).collect()),
                offsets: Mutex::default(),
            }
        }

        fn fetch(
            &self,
        ) -> impl FnMut(Option<u64>) -> std::future::Ready<Result<ResponseValue<ByteStream>, Error>> + '_
        {
            |offset| {
                self.offsets.lock().unwrap().push(offset);
                let next = self.answers.lock().unwrap().pop_front();
                std::future::ready(
                    next.unwrap_or_else(|| Err(Error::invalid("test", "no more answers"))),
                )
            }
        }

        fn offsets(&self) -> Vec<Option<u64>> {
            self.offsets.lock().unwrap().clone()
        }
    }

    #[derive(Default)]
    struct Progress(Mutex<Vec<DownloadProgress>>);

    impl Progress {
        fn callback(&self) -> impl Fn(DownloadProgress) + Send + Sync + '_ {
            |p| self.0.lock().unwrap().push(p)
        }

        fn last(&self) -> Option<DownloadProgress> {
            self.0.lock().unwrap().last().copied()
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(read) => read
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    fn options(max_resumes: u32) -> DownloadOptions {
        DownloadOptions {
            max_resumes,
            ..DownloadOptions::default()
        }
    }

    async fn run(
        script: &Script,
        dir: &Path,
        options: &DownloadOptions,
    ) -> Result<Downloaded, Error> {
        download_to_dir(
            script.fetch(),
            dir,
            "srv-9-42.tar.gz",
            options,
            &|_: DownloadProgress| {},
        )
        .await
    }

    #[tokio::test]
    async fn happy_path_creates_the_directory_and_verifies_everything() {
        let data = archive(300_000);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs").join("incident");
        let script = Script::new(vec![full(
            &data,
            Some(r#"attachment; filename="srv-1.tar.gz""#),
        )]);
        let progress = Progress::default();
        let got = download_to_dir(
            script.fetch(),
            &dir,
            "fallback.tar.gz",
            &options(3),
            &progress.callback(),
        )
        .await
        .unwrap();
        assert_eq!(got.path, dir.join("srv-1.tar.gz"));
        assert_eq!(got.bytes, data.len() as u64);
        assert_eq!(got.sha256, sha256_hex(&data));
        assert_eq!(got.resumes, 0);
        assert_eq!(std::fs::read(&got.path).unwrap(), data);
        assert_eq!(entries(&dir), ["srv-1.tar.gz"]);
        assert_eq!(script.offsets(), [None]);
        let total = Some(data.len() as u64);
        assert_eq!(
            progress.last(),
            Some(DownloadProgress {
                bytes: data.len() as u64,
                total
            })
        );
        for p in progress.0.lock().unwrap().iter() {
            assert_eq!(p.total, total);
            assert!(p.bytes <= data.len() as u64);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&got.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn the_download_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let script = Script::new(vec![]);
        let options = options(0);
        let download = run(&script, Path::new("unused"), &options);
        assert_send(&download);

        // The way `Client::download` calls it: a method future borrowing `self`.
        struct Source(Script);
        impl Source {
            async fn open(
                &self,
                _server: &str,
                offset: Option<u64>,
            ) -> Result<ResponseValue<ByteStream>, Error> {
                (self.0.fetch())(offset).await
            }
        }
        let source = Source(Script::new(vec![]));
        let server = String::from("srv");
        let download = download_to_dir(
            |offset| source.open(&server, offset),
            Path::new("unused"),
            "srv-1.tar.gz",
            &options,
            &|_: DownloadProgress| {},
        );
        assert_send(&download);
    }

    #[tokio::test]
    async fn progress_is_rate_limited() {
        let data = archive(2_000_000);
        let tmp = tempfile::tempdir().unwrap();
        // Tiny chunks: one call per chunk would be tens of thousands.
        let items: Vec<_> = data
            .chunks(64)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let script = Script::new(vec![response(
            200,
            &[("content-length", data.len().to_string())],
            items,
            false,
        )]);
        let progress = Progress::default();
        let started = Instant::now();
        let got = download_to_dir(
            script.fetch(),
            tmp.path(),
            "x.tar.gz",
            &options(0),
            &progress.callback(),
        )
        .await
        .unwrap();
        let elapsed_ms = started.elapsed().as_millis() as usize;
        let calls = progress.0.lock().unwrap().len();
        assert!(
            calls <= 3 + elapsed_ms / 50,
            "{calls} calls in {elapsed_ms} ms"
        );
        assert_eq!(progress.last().unwrap().bytes, got.bytes);
    }

    #[tokio::test]
    async fn hostile_names_stay_inside_the_directory() {
        let data = archive(20_000);
        let tmp = tempfile::tempdir().unwrap();
        for (i, (header, expected)) in [
            ("attachment; filename=../../escape.tar.gz", "escape.tar.gz"),
            ("attachment; filename=/etc/cron.d/evil", "evil"),
            (r#"attachment; filename="..\..\x.tar.gz""#, "x.tar.gz"),
            (
                "attachment; filename*=UTF-8''..%2F..%2Fup.tar.gz",
                "up.tar.gz",
            ),
            ("attachment; filename=..", "srv-9-42.tar.gz"),
            ("attachment; filename=.hidden", "hidden"),
            (
                "attachment; filename*=UTF-8''a%00b%0A.tar.gz",
                "a_b_.tar.gz",
            ),
            ("attachment; filename=nul.tar.gz", "_nul.tar.gz"),
            ("attachment", "srv-9-42.tar.gz"),
            ("=;\"\\\t=\u{ff}", "srv-9-42.tar.gz"),
        ]
        .into_iter()
        .enumerate()
        {
            let dir = tmp.path().join(format!("d{i}"));
            let script = Script::new(vec![full(&data, Some(header))]);
            let got = run(&script, &dir, &options(0)).await.unwrap();
            assert_eq!(got.path, dir.join(expected), "{header}");
            assert_eq!(got.path.parent(), Some(dir.as_path()), "{header}");
            assert_eq!(entries(&dir), [expected], "{header}");
        }
        // Nothing escaped into the parent.
        assert!(entries(tmp.path()).iter().all(|n| n.starts_with('d')));

        // Without the header, the fallback is used.
        let dir = tmp.path().join("none");
        let script = Script::new(vec![full(&data, None)]);
        let got = run(&script, &dir, &options(0)).await.unwrap();
        assert_eq!(got.path, dir.join("srv-9-42.tar.gz"));
    }

    #[tokio::test]
    async fn an_unusable_fallback_name_is_rejected_before_any_request() {
        let tmp = tempfile::tempdir().unwrap();
        let script = Script::new(vec![]);
        let result = download_to_dir(
            script.fetch(),
            tmp.path(),
            "../..",
            &options(0),
            &|_: DownloadProgress| {},
        )
        .await;
        assert!(
            matches!(
                result,
                Err(Error::InvalidInput {
                    argument: "fallback_name",
                    ..
                })
            ),
            "{result:?}"
        );
        assert!(script.offsets().is_empty());
    }

    #[tokio::test]
    async fn a_truncated_body_without_resumes_leaves_nothing() {
        let data = archive(200_000);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();

        // The body ends early.
        let short = response(
            200,
            &[("content-length", data.len().to_string())],
            chunks(&data[..data.len() / 2], 4096),
            false,
        );
        let script = Script::new(vec![short]);
        let result = run(&script, dir, &options(0)).await;
        match result {
            Err(Error::Integrity { path, reason }) => {
                assert!(reason.contains("ended after"), "{reason}");
                assert_eq!(path.parent(), Some(dir));
            }
            other => panic!("{other:?}"),
        }
        assert!(entries(dir).is_empty(), "{:?}", entries(dir));

        // The connection breaks.
        let script = Script::new(vec![broken(&data, 65_536, transport_error().await)]);
        let result = run(&script, dir, &options(0)).await;
        assert!(matches!(result, Err(Error::Transport { .. })), "{result:?}");
        assert!(entries(dir).is_empty(), "{:?}", entries(dir));
        assert_eq!(script.offsets(), [None]);
    }

    #[tokio::test]
    async fn resumes_with_a_range_after_a_mid_body_error() {
        let data = archive(400_000);
        let cut = 40 * 4096;
        assert!(cut < data.len());
        let tmp = tempfile::tempdir().unwrap();
        let script = Script::new(vec![
            broken(&data, cut, transport_error().await),
            partial(&data, cut),
        ]);
        let progress = Progress::default();
        let got = download_to_dir(
            script.fetch(),
            tmp.path(),
            "srv-9-42.tar.gz",
            &options(3),
            &progress.callback(),
        )
        .await
        .unwrap();
        assert_eq!(script.offsets(), [None, Some(cut as u64)]);
        assert_eq!(got.resumes, 1);
        assert_eq!(got.sha256, sha256_hex(&data));
        assert_eq!(std::fs::read(&got.path).unwrap(), data);
        assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
        let seen = progress.0.lock().unwrap().clone();
        assert!(
            seen.windows(2).all(|w| w[0].bytes <= w[1].bytes),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn restarts_when_the_server_ignores_the_range() {
        let data = archive(300_000);
        let cut = 20 * 4096;
        let tmp = tempfile::tempdir().unwrap();
        let script = Script::new(vec![
            broken(&data, cut, transport_error().await),
            full(&data, None),
        ]);
        let got = run(&script, tmp.path(), &options(3)).await.unwrap();
        assert_eq!(script.offsets(), [None, Some(cut as u64)]);
        assert_eq!(got.resumes, 1);
        assert_eq!(got.bytes, data.len() as u64);
        assert_eq!(got.sha256, sha256_hex(&data));
        assert_eq!(std::fs::read(&got.path).unwrap(), data);
    }

    #[tokio::test]
    async fn an_inconsistent_range_answer_restarts_from_zero() {
        let data = archive(300_000);
        let cut = 20 * 4096;
        let tmp = tempfile::tempdir().unwrap();
        // A 206 for another offset than asked.
        let wrong = partial(&data, cut + 10);
        let script = Script::new(vec![
            broken(&data, cut, transport_error().await),
            wrong,
            full(&data, None),
        ]);
        let got = run(&script, tmp.path(), &options(3)).await.unwrap();
        assert_eq!(script.offsets(), [None, Some(cut as u64), None]);
        assert_eq!(got.resumes, 2);
        assert_eq!(std::fs::read(&got.path).unwrap(), data);

        // Without resumes left, it is an error naming the problem.
        let script = Script::new(vec![
            broken(&data, cut, transport_error().await),
            partial(&data, cut + 10),
        ]);
        let result = run(&script, tmp.path(), &options(1)).await;
        match result {
            Err(Error::UnexpectedResponse { reason, meta, .. }) => {
                assert!(reason.contains("Content-Range"), "{reason}");
                assert_eq!(meta.status, Some(206));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
    }

    #[tokio::test]
    async fn a_stalled_body_times_out_and_resumes() {
        let data = archive(200_000);
        let cut = 10 * 4096;
        let tmp = tempfile::tempdir().unwrap();
        let stalled = || {
            response(
                200,
                &[("content-length", data.len().to_string())],
                chunks(&data[..cut], 4096),
                true,
            )
        };
        let options = DownloadOptions {
            max_resumes: 1,
            idle_timeout: Some(Duration::from_millis(100)),
            verify_gzip: true,
        };
        let script = Script::new(vec![stalled(), partial(&data, cut)]);
        let got = run(&script, tmp.path(), &options).await.unwrap();
        assert_eq!(got.resumes, 1);
        assert_eq!(std::fs::read(&got.path).unwrap(), data);

        let dir = tmp.path().join("again");
        let script = Script::new(vec![stalled()]);
        let result = run(
            &script,
            &dir,
            &DownloadOptions {
                max_resumes: 0,
                ..options
            },
        )
        .await;
        assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
        assert!(entries(&dir).is_empty());
    }

    #[tokio::test]
    async fn a_lying_content_length_is_an_integrity_error() {
        let data = archive(100_000);
        let tmp = tempfile::tempdir().unwrap();
        // Announces more than it sends.
        let long = response(
            200,
            &[("content-length", (data.len() + 100).to_string())],
            chunks(&data, 4096),
            false,
        );
        let script = Script::new(vec![long]);
        let result = run(&script, tmp.path(), &options(0)).await;
        assert!(
            matches!(&result, Err(Error::Integrity { reason, .. }) if reason.contains("ended after")),
            "{result:?}"
        );
        assert!(entries(tmp.path()).is_empty());

        // Announces less than it sends: never resumed, it cannot be trusted.
        let short = response(
            200,
            &[("content-length", (data.len() - 100).to_string())],
            chunks(&data, 4096),
            false,
        );
        let script = Script::new(vec![short]);
        let result = run(&script, tmp.path(), &options(3)).await;
        assert!(
            matches!(&result, Err(Error::Integrity { reason, .. }) if reason.contains("more than")),
            "{result:?}"
        );
        assert_eq!(script.offsets(), [None]);
        assert!(entries(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn corrupt_or_incomplete_gzip_is_an_integrity_error() {
        let data = archive(200_000);
        let tmp = tempfile::tempdir().unwrap();
        let mut flipped = data.clone();
        flipped[data.len() / 2] ^= 0x55;
        let mut bad_crc = data.clone();
        let at = data.len() - 8;
        bad_crc[at] ^= 1;
        let truncated = data[..data.len() - 1000].to_vec();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("flipped byte", flipped, "gzip"),
            ("bad crc", bad_crc, "CRC-32"),
            ("truncated", truncated, "ends early"),
            ("not gzip", b"<html>oops</html>".to_vec(), "magic"),
            ("empty", Vec::new(), "empty"),
        ];
        for (what, body, expected) in cases {
            let script = Script::new(vec![full(&body, None)]);
            let result = run(&script, tmp.path(), &options(2)).await;
            match result {
                Err(Error::Integrity { reason, .. }) => {
                    assert!(reason.contains(expected), "{what}: {reason}");
                }
                other => panic!("{what}: {other:?}"),
            }
            assert!(entries(tmp.path()).is_empty(), "{what}");
        }

        // Without a length, only the gzip check can tell the body was cut.
        let cut = response(200, &[], chunks(&data[..data.len() / 2], 4096), false);
        let script = Script::new(vec![cut]);
        let result = run(&script, tmp.path(), &options(2)).await;
        assert!(matches!(result, Err(Error::Integrity { .. })), "{result:?}");
        assert!(entries(tmp.path()).is_empty());

        // With the check off, anything goes.
        let script = Script::new(vec![full(b"plain bytes", None)]);
        let options = DownloadOptions {
            verify_gzip: false,
            ..options(0)
        };
        let got = run(&script, tmp.path(), &options).await.unwrap();
        assert_eq!(std::fs::read(got.path).unwrap(), b"plain bytes");
    }

    #[tokio::test]
    async fn an_existing_file_is_never_overwritten() {
        let data = archive(20_000);
        let tmp = tempfile::tempdir().unwrap();
        let taken = tmp.path().join("srv-1.tar.gz");
        std::fs::write(&taken, b"old").unwrap();
        let header = Some("attachment; filename=srv-1.tar.gz");
        for expected in ["srv-1.1.tar.gz", "srv-1.2.tar.gz"] {
            let script = Script::new(vec![full(&data, header)]);
            let got = run(&script, tmp.path(), &options(0)).await.unwrap();
            assert_eq!(got.path, tmp.path().join(expected));
            assert_eq!(std::fs::read(&got.path).unwrap(), data);
        }
        assert_eq!(std::fs::read(&taken).unwrap(), b"old");
        assert_eq!(
            entries(tmp.path()),
            ["srv-1.1.tar.gz", "srv-1.2.tar.gz", "srv-1.tar.gz"]
        );
    }

    #[test]
    fn every_free_name_taken_is_a_typed_error() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x.tar.gz"), b"").unwrap();
        for n in 1..=MAX_NAME_SUFFIX {
            std::fs::write(tmp.path().join(format!("x.{n}.tar.gz")), b"").unwrap();
        }
        let temp = tempfile::NamedTempFile::new_in(tmp.path()).unwrap();
        let temp_name = temp.path().to_path_buf();
        let result = persist_blocking(temp.into_temp_path(), tmp.path(), "x.tar.gz");
        match result {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, tmp.path().join("x.tar.gz"));
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        // The temporary file went with the error.
        assert!(!temp_name.exists());
    }

    #[tokio::test]
    async fn a_file_in_the_way_of_the_directory_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        for dir in [file.clone(), file.join("sub")] {
            let script = Script::new(vec![]);
            let result = run(&script, &dir, &options(0)).await;
            match result {
                Err(e @ Error::Io { .. }) => {
                    assert!(e.to_string().contains(&*dir.to_string_lossy()), "{e}");
                }
                other => panic!("{}: {other:?}", dir.display()),
            }
            assert!(script.offsets().is_empty());
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_read_only_directory_is_an_error_naming_it() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ro");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if std::fs::write(&probe, b"").is_ok() {
            // Running as root: permissions do not bite (the directory-under-a-file
            // case covers the error path).
            std::fs::remove_file(&probe).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let script = Script::new(vec![]);
        let result = run(&script, &dir, &options(0)).await;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        match result {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, dir);
                assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_non_success_status_is_an_unexpected_response() {
        let tmp = tempfile::tempdir().unwrap();
        let script = Script::new(vec![response(
            404,
            &[("x-request-id", "r-9".into())],
            vec![],
            false,
        )]);
        let result = run(&script, tmp.path(), &options(3)).await;
        match result {
            Err(Error::UnexpectedResponse { meta, .. }) => {
                assert_eq!(meta.status, Some(404));
                assert_eq!(meta.request_id.as_deref(), Some("r-9"));
            }
            other => panic!("{other:?}"),
        }
        assert!(entries(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn a_fetch_error_on_resume_is_returned_and_cleans_up() {
        let data = archive(100_000);
        let tmp = tempfile::tempdir().unwrap();
        let script = Script::new(vec![broken(&data, 8192, transport_error().await)]);
        let result = run(&script, tmp.path(), &options(3)).await;
        assert!(
            matches!(
                result,
                Err(Error::InvalidInput {
                    argument: "test",
                    ..
                })
            ),
            "{result:?}"
        );
        assert_eq!(script.offsets(), [None, Some(8192)]);
        assert!(entries(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn dropping_the_future_mid_download_removes_the_temporary_file() {
        let data = archive(200_000);
        let tmp = tempfile::tempdir().unwrap();
        let stalled = response(
            200,
            &[("content-length", data.len().to_string())],
            chunks(&data[..data.len() / 2], 4096),
            true,
        );
        let script = Script::new(vec![stalled]);
        let options = DownloadOptions {
            idle_timeout: None,
            ..options(0)
        };
        let mut download = Box::pin(run(&script, tmp.path(), &options));
        let started = Instant::now();
        loop {
            tokio::select! {
                result = &mut download => panic!("finished: {result:?}"),
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            let names = entries(tmp.path());
            if started.elapsed() > Duration::from_millis(100) {
                assert_eq!(names.len(), 1, "{names:?}");
                assert!(names[0].starts_with(".clouddc-") && names[0].ends_with(".part"));
                break;
            }
        }
        drop(download);
        assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
    }

    #[test]
    fn content_range_parsing() {
        let parse = ContentRange::parse;
        assert_eq!(
            parse("bytes 10-99/100"),
            Some(ContentRange {
                start: 10,
                end: 99,
                total: Some(100)
            })
        );
        assert_eq!(
            parse("BYTES 0-0/*"),
            Some(ContentRange {
                start: 0,
                end: 0,
                total: None
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes */100",
            "bytes 5-4/100",
            "bytes 0-100/100",
            "bytes -1-5/10",
            "bytes +1-5/10",
            "items 0-1/2",
            "bytes 0-18446744073709551615/*",
            "bytes 0-99999999999999999999/*",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn body_plans() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, v.parse().unwrap());
            }
            map
        };
        let ok = StatusCode::OK;
        let partial = StatusCode::PARTIAL_CONTENT;
        assert_eq!(
            plan_body(ok, &headers(&[("content-length", "5")]), Some(3), Some(5)),
            Ok(BodyPlan {
                from_zero: true,
                len: Some(5),
                total: Some(5)
            })
        );
        assert_eq!(
            plan_body(
                partial,
                &headers(&[("content-range", "bytes 3-4/5"), ("content-length", "2")]),
                Some(3),
                Some(5)
            ),
            Ok(BodyPlan {
                from_zero: false,
                len: Some(2),
                total: Some(5)
            })
        );
        assert_eq!(
            plan_body(
                partial,
                &headers(&[("content-range", "bytes 3-4/*")]),
                Some(3),
                None
            ),
            Ok(BodyPlan {
                from_zero: false,
                len: Some(2),
                total: None
            })
        );
        for (pairs, requested, known) in [
            (vec![], Some(3), Some(5)),
            (vec![("content-range", "bytes 2-4/5")], Some(3), Some(5)),
            (vec![("content-range", "bytes 3-5/6")], Some(3), Some(5)),
            (
                vec![("content-range", "bytes 3-4/5"), ("content-length", "9")],
                Some(3),
                Some(5),
            ),
            (vec![("content-range", "garbage")], Some(3), Some(5)),
        ] {
            assert!(
                plan_body(partial, &headers(&pairs), requested, known).is_err(),
                "{pairs:?}"
            );
        }
        assert!(plan_body(ok, &headers(&[("content-length", "x")]), None, None).is_err());
    }

    fn check(chunks: &[&[u8]]) -> Result<(), StageError> {
        let mut checker = GzipCheck::new();
        for chunk in chunks {
            checker.feed(chunk)?;
        }
        checker.finish()
    }

    fn gzip(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut encoder = builder.write(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_check_handles_members_padding_and_optional_header_fields() {
        let a = gzip(b"first member ", flate2::GzBuilder::new());
        let b = gzip(
            b"second member",
            flate2::GzBuilder::new()
                .filename("x.tar")
                .comment("a comment")
                .extra(vec![1, 2, 3, 4])
                .mtime(7),
        );
        let both = [a.clone(), b.clone()].concat();
        assert!(check(&[&both]).is_ok());
        // Byte by byte: every state boundary falls between chunks.
        let bytes: Vec<&[u8]> = both.chunks(1).collect();
        assert!(check(&bytes).is_ok());
        // Zero padding after the last member is tolerated, other data is not.
        assert!(check(&[&a, &[0; 512]]).is_ok());
        assert!(matches!(check(&[&a, b"junk"]), Err(StageError::Corrupt(_))));
        assert!(matches!(
            check(&[&a, &[0, 0, 1]]),
            Err(StageError::Corrupt(_))
        ));
        // A header CRC (FHCRC) is skipped.
        let mut with_hcrc = a[..10].to_vec();
        with_hcrc[3] |= FLAG_HCRC;
        with_hcrc.extend_from_slice(&[0xAB, 0xCD]);
        with_hcrc.extend_from_slice(&a[10..]);
        assert!(check(&[&with_hcrc]).is_ok());
        // Reserved flags and other methods are refused.
        let mut reserved = a.clone();
        reserved[3] |= 0x20;
        assert!(check(&[&reserved]).is_err());
        let mut method = a.clone();
        method[2] = 7;
        assert!(check(&[&method]).is_err());
        // Cut anywhere, it is incomplete.
        for cut in [1, 5, 10, 12, a.len() - 8, a.len() - 1] {
            assert!(check(&[&a[..cut]]).is_err(), "cut at {cut}");
        }
        // A wrong size in the trailer.
        let mut size = a.clone();
        let at = a.len() - 1;
        size[at] ^= 1;
        assert!(check(&[&size]).is_err());
    }

    #[test]
    fn gzip_check_restarts_cleanly() {
        let a = gzip(b"some data to check", flate2::GzBuilder::new());
        let mut checker = GzipCheck::new();
        checker.feed(&a[..a.len() / 2]).unwrap();
        checker.restart().unwrap();
        checker.feed(&a).unwrap();
        assert!(checker.finish().is_ok());
    }
}

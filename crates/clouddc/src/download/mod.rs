//! Streaming, verified, resumable download of an archive into a directory.
//!
//! What `download_to_dir`, behind [`crate::Client::download`], guarantees:
//! - nothing ever appears at a final path unless it is complete: the body goes to
//!   a temporary `.clouddc-*.part` file in the target directory, which is removed
//!   on any failure and when the future is dropped, and is moved to its final
//!   name only after every check passed (and it was `fsync`ed, with
//!   [`DownloadOptions::fsync`]);
//! - the final path is `dir/<name>` where `<name>` is the caller's, sanitised
//!   to a single path component ([`Client::download`](crate::Client::download)
//!   passes [`archive_file_name`] of the server id: the service never names a
//!   file, its `Content-Disposition` is only reported); an existing file is
//!   replaced only when [`DownloadOptions::overwrite`] says so, never with a
//!   `.N` name a script cannot predict;
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
//! Hashing, gzip checking and writing run on one blocking thread per download,
//! fed batches of about a MiB through a byte-bounded queue, so the async task
//! only moves chunks and the network and the disk work at the same time.
//!
//! `download_to_part` is the same with a part file of a fixed name that a
//! killed process leaves behind, so a later call resumes it (the collect
//! journal's use).
//!
//! One concept a file: `naming` names a server's archive, `place` puts the
//! file in the directory, `part` opens a resumable part file and reads its
//! bytes back, `body` reads one response (within `speed`'s floor and
//! `limits`' bounds), `resume` decides what to ask for next, `pipeline` runs
//! the stages (`writer`, `gzip`) on their threads; this file holds the options
//! and the loop that ties them together.

mod body;
mod gzip;
mod limits;
pub(crate) mod naming;
mod part;
mod pipeline;
pub(crate) mod place;
mod resume;
mod sink;
mod speed;
mod stage;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use progenitor_client::{ByteStream, ResponseValue};
use reqwest::header::CONTENT_DISPOSITION;
use tokio::time::Instant;

use self::body::{BodyEnd, Broken, Limits, plan_body, pump};
use self::gzip::GzipCheck;
pub use self::naming::{ARCHIVE_SUFFIX, archive_file_name, ensure_archive_free};
pub use self::part::{PartFile, Validators};
use self::pipeline::{Budget, Pipeline};
use self::resume::{Answer, Have, Next};
pub(crate) use self::sink::download_to_destination;
use self::stage::Stage;
use self::writer::{FileWriter, Written};
use crate::Error;
use crate::content_disposition::{safe_file_name, sanitize_file_name};
use crate::response_meta::{ResponseMeta, request_id};

/// How many body bytes one download may have queued between the network and
/// the file at once.
pub const IN_FLIGHT_BYTES: usize = 2 << 20;
/// How many body bytes all the downloads of the process may have queued at
/// once: a fleet collected at a concurrency of hundreds must not cost
/// [`IN_FLIGHT_BYTES`] per server.
pub const PROCESS_IN_FLIGHT_BYTES: usize = 32 << 20;
/// The name of the operation in errors.
/// The minimum time between two progress reports.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// The process's queue budget, shared by every download.
static PROCESS_BUDGET: LazyLock<Budget> = LazyLock::new(|| Budget::new(PROCESS_IN_FLIGHT_BYTES));

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
    /// A body averaging below this speed counts as broken (and is resumed), as
    /// curl's `--speed-limit`/`--speed-time`: a server trickling a byte now and
    /// then never trips `idle_timeout`. `None` sets no floor.
    pub low_speed: Option<LowSpeed>,
    /// The largest archive accepted, in bytes. An archive announced larger fails
    /// before its body is read; a body without a length is cut at the bound and
    /// fails. Either way nothing is left. `None` sets no bound.
    pub max_archive_bytes: Option<u64>,
    /// Whether the archive and its directory entry are `fsync`ed before the
    /// download reports it, so it survives a power loss at once. Off, the
    /// kernel writes it back in its own time (as curl, wget and the official
    /// SDKs leave it): after a power loss, a reported archive may be shorter or
    /// missing, which its length and SHA-256 show when it is checked again.
    /// Either way, a crash of the process never leaves a partial file at a
    /// final path.
    pub fsync: bool,
    /// Whether an existing file at the archive's name is replaced (atomically,
    /// once the new archive is complete and checked; a directory is never
    /// replaced, a symlink is replaced, not followed). Off: the download fails
    /// naming the file, and nothing is written.
    pub overwrite: bool,
}

impl Default for DownloadOptions {
    /// Five resumes, a 120 s idle timeout (the official SDKs' read timeout),
    /// gzip verified, [`LowSpeed::default`], [`DEFAULT_MAX_ARCHIVE_BYTES`], no
    /// `fsync`.
    fn default() -> Self {
        Self {
            max_resumes: 5,
            idle_timeout: Some(Duration::from_secs(120)),
            verify_gzip: true,
            low_speed: Some(LowSpeed::default()),
            max_archive_bytes: Some(DEFAULT_MAX_ARCHIVE_BYTES),
            fsync: false,
            overwrite: false,
        }
    }
}

/// The default bound on an archive's size: 64 GiB, far above any log bundle a
/// BMC produces, far below a disk's worth.
pub const DEFAULT_MAX_ARCHIVE_BYTES: u64 = 64 << 30;

/// A speed floor: a body averaging below `bytes_per_second` over `time` is
/// broken. It is checked in consecutive windows of `time`, so a slowdown is
/// caught within twice `time`. Time spent waiting for the disk does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowSpeed {
    /// The floor, in bytes per second.
    pub bytes_per_second: u64,
    /// Over how long the speed is averaged.
    pub time: Duration,
}

impl Default for LowSpeed {
    /// Below 1 KiB/s for 60 s.
    fn default() -> Self {
        Self {
            bytes_per_second: 1024,
            time: Duration::from_secs(60),
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
    /// Where the archive is: `dir/<name>`, the name the caller gave.
    pub path: PathBuf,
    /// The name the service suggested in `Content-Disposition`, sanitised: for
    /// information only, it never names the file.
    pub suggested_name: Option<String>,
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
/// failed requests is up to `fetch`. The file is `dir/file_name`, sanitised
/// (see [`crate::content_disposition::sanitize_file_name`]); the first
/// response's `Content-Disposition` is reported as
/// [`Downloaded::suggested_name`] and names nothing. `dir` is created when
/// missing.
///
/// `progress` is called when the first response arrives, then as bytes arrive
/// (at most every 50 ms), and once more at the end.
///
/// The file is private to the user (mode `0600` on Unix), like the temporary
/// file it was.
///
/// # Errors
/// - [`Error::InvalidInput`] when `file_name` leaves no safe name;
/// - [`Error::Io`] naming the path when `dir` cannot be created or is not a
///   directory, when writing fails, or when the name is taken and
///   [`DownloadOptions::overwrite`] is off; of kind `FileTooLarge` when the
///   archive is over [`DownloadOptions::max_archive_bytes`], of kind
///   `StorageFull` when the announced length is more than the free space
///   (both numbers in the message);
/// - [`Error::Integrity`] when the body is shorter or longer than announced
///   and resumes are exhausted, or is not a complete, valid gzip stream;
/// - [`Error::Transport`] / [`Error::Timeout`] when the body broke (or stayed
///   below [`DownloadOptions::low_speed`]) and resumes are exhausted;
/// - [`Error::UnexpectedResponse`] when the server keeps answering
///   inconsistently (a `206` for another range, a non-2xx status);
/// - whatever `fetch` returns.
///
/// In every error case, nothing is left in `dir` but what was there before.
pub(crate) async fn download_to_dir<F, Fut>(
    fetch: F,
    dir: &Path,
    file_name: &str,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
) -> Result<Downloaded, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    download_into(fetch, dir, file_name, options, progress, None).await
}

/// Like [`download_to_dir`], but through a part file of a fixed name that
/// outlives the process, so a later call (after a crash) can keep its bytes.
///
/// With `part.file.resume` set, the bytes already in the file are read back (to
/// rebuild the SHA-256 and the gzip check) and only the rest is requested
/// (`Range`); a `200` instead of `206`, a changed size, `ETag` or
/// `Last-Modified` starts over from zero. `part.watch` is told the first
/// answer's validators (to record next to the part's name), and the final path
/// just before the checked archive is renamed there (to record it first: a
/// crash right after the rename must not leave a file nobody knows of). An
/// error or a dropped future removes the part file; a killed process leaves it.
///
/// # Errors
/// Those of [`download_to_dir`], and [`Error::InvalidInput`] when
/// `part.file.name` is not a hidden `.clouddc-` name directly in `dir`.
pub(crate) async fn download_to_part<F, Fut>(
    fetch: F,
    dir: &Path,
    file_name: &str,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    part: PartTarget<'_>,
) -> Result<Downloaded, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    download_into(fetch, dir, file_name, options, progress, Some(part)).await
}

/// The part file of a resumable download and who watches it.
#[derive(Clone, Copy)]
pub struct PartTarget<'a> {
    /// The part file.
    pub file: &'a PartFile,
    /// Told what must survive a crash.
    pub watch: &'a dyn PartWatch,
}

impl std::fmt::Debug for PartTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartTarget")
            .field("file", self.file)
            .finish_non_exhaustive()
    }
}

/// Told what a download through a [`PartFile`] must not lose in a crash.
pub trait PartWatch: Send + Sync {
    /// The archive's validators, from the first answer (and again after a
    /// restart from zero).
    fn started(&self, validators: &Validators);
    /// The checked archive is about to be renamed to `archive.path`.
    fn placing(&self, archive: &Downloaded);
}

async fn download_into<F, Fut>(
    fetch: F,
    dir: &Path,
    file_name: &str,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    named: Option<PartTarget<'_>>,
) -> Result<Downloaded, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    let name = sanitize_file_name(file_name).ok_or_else(|| {
        Error::invalid(
            "file_name",
            format!("{file_name:?} leaves no safe file name"),
        )
    })?;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let (writer, gzip, temp_path, on_disk) = match named {
        None => {
            let (file, temp_path) = place::open_part(dir)?;
            let gzip = options.verify_gzip.then(GzipCheck::new);
            (FileWriter::new(file, options.fsync), gzip, temp_path, 0)
        }
        Some(target) => {
            place::prepare_dir(dir)?;
            let opened = part::open(dir, target.file, options.verify_gzip, options.fsync)?;
            (opened.writer, opened.gzip, opened.path, opened.bytes)
        }
    };
    let part = temp_path.to_path_buf();
    // Dropped (its workers told to stop) inside `transfer`, before
    // `temp_path` removes the temporary file.
    let pipeline = start_pipeline(writer, gzip);
    let place = Place {
        dir,
        part: &part,
        on_disk,
        check_space: true,
    };
    let done = transfer(fetch, pipeline, place, options, progress, named).await?;
    if let Some(PartTarget { watch, .. }) = named {
        watch.placing(&done.clone().stored_at(dir.join(&name)));
    }
    let path = place::persist(temp_path, dir, &name, options.overwrite, options.fsync).await?;
    Ok(done.stored_at(path))
}

/// Starts the worker of `writer` and `gzip`.
fn start_pipeline<W: Stage<Output = Written>>(
    writer: W,
    gzip: Option<GzipCheck>,
) -> Pipeline<Written> {
    Pipeline::start(
        writer,
        gzip,
        Budget::new(IN_FLIGHT_BYTES),
        PROCESS_BUDGET.clone(),
    )
}

/// Where a transfer writes, for its checks and error messages.
#[derive(Clone, Copy)]
struct Place<'a> {
    /// The directory (or the destination) the archive goes to.
    dir: &'a Path,
    /// What errors name as the archive being written.
    part: &'a Path,
    /// Bytes the writer already holds (a resumed part file).
    on_disk: u64,
    /// Whether `dir`'s free space bounds the announced length.
    check_space: bool,
}

/// What a finished, checked transfer holds.
#[derive(Clone)]
struct Transferred {
    bytes: u64,
    sha256: String,
    resumes: u32,
    suggested_name: Option<String>,
}

impl Transferred {
    /// What the caller is told once the archive is at `path`.
    fn stored_at(self, path: PathBuf) -> Downloaded {
        Downloaded {
            path,
            suggested_name: self.suggested_name,
            bytes: self.bytes,
            sha256: self.sha256,
            resumes: self.resumes,
        }
    }
}

/// Requests the archive (resuming and restarting as its answers allow) and
/// feeds it through `pipeline` until every stage checked it.
async fn transfer<F, Fut>(
    mut fetch: F,
    mut pipeline: Pipeline<Written>,
    place: Place<'_>,
    options: &DownloadOptions,
    progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    named: Option<PartTarget<'_>>,
) -> Result<Transferred, Error>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<ResponseValue<ByteStream>, Error>>,
{
    let Place {
        dir,
        part,
        on_disk,
        check_space,
    } = place;
    let part = part.to_path_buf();
    let mut reporter = Reporter::new(progress);
    let mut written: u64 = on_disk;
    let resumed = named.and_then(|target| target.file.resume.as_ref().filter(|_| on_disk > 0));
    let mut total: Option<u64> = resumed.and_then(|validators| validators.total);
    let mut resumes: u32 = 0;
    let mut suggested_name: Option<Option<String>> = None;
    let mut request: Option<u64> = (on_disk > 0).then_some(on_disk);
    // Validators are told once, from the first answer that fits.
    let mut told = false;

    loop {
        let response = fetch(request).await?;
        let status = response.status();
        let meta = ResponseMeta {
            status: Some(status.as_u16()),
            request_id: request_id(response.headers()),
        };
        if !status.is_success() {
            return Err(Error::UnexpectedResponse {
                operation: crate::operation::DOWNLOAD.name,
                reason: format!("status {} instead of the archive", status.as_u16()),
                meta,
            });
        }
        if suggested_name.is_none() {
            suggested_name = Some(
                response
                    .headers()
                    .get(CONTENT_DISPOSITION)
                    .and_then(|value| safe_file_name(value.as_bytes())),
            );
        }
        let planned = plan_body(status, response.headers(), request, total).and_then(|plan| {
            // A resumed answer for another version of the archive is no answer.
            match resumed.filter(|_| !plan.from_zero && !told) {
                Some(before) => before.mismatch(response.headers()).map_or(Ok(plan), Err),
                None => Ok(plan),
            }
        });
        let outcome = match planned {
            Err(reason) => {
                drop(response);
                Outcome::Inconsistent { reason, meta }
            }
            Ok(plan) => {
                if let Some(target) = named.filter(|_| !told || plan.from_zero) {
                    target
                        .watch
                        .started(&Validators::of(response.headers(), plan.total));
                    told = true;
                }
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
                // The archive's end as announced: its size, or where this body ends.
                if let Some(end) = total.or(plan.len.map(|len| written + len)) {
                    limits::check_announced(dir, end, options.max_archive_bytes)?;
                }
                if let Some(len) = plan.len.filter(|_| check_space) {
                    limits::check_free_space(dir, len)?;
                }
                reporter.total = total;
                reporter.report(written);
                let limits = Limits {
                    announced: plan.len,
                    cap: options.max_archive_bytes,
                    idle_timeout: options.idle_timeout,
                    low_speed: options
                        .low_speed
                        .map(|floor| (floor.bytes_per_second, floor.time)),
                };
                let end = pump(
                    response.into_inner_stream(),
                    &mut pipeline,
                    &mut written,
                    limits,
                    |bytes, now| reporter.tick(bytes, now),
                )
                .await;
                match end {
                    BodyEnd::Ended => Outcome::Ended,
                    BodyEnd::Broken(broken) => Outcome::Broken(broken),
                    BodyEnd::TooLong { announced } => {
                        return Err(Error::Integrity {
                            path: part,
                            reason: format!(
                                "the server sent more than the {announced} bytes it announced"
                            ),
                        });
                    }
                    BodyEnd::OverCap { cap } => return Err(limits::received_too_much(dir, cap)),
                    BodyEnd::PipelineFailed => return Err(pipeline.fail(&part).await),
                }
            }
        };
        let have = Have {
            written,
            total,
            resumes,
            max_resumes: options.max_resumes,
        };
        match resume::next(have, outcome.answer()) {
            Next::Finish => break,
            Next::Overrun { expected } => {
                return Err(Error::Integrity {
                    path: part,
                    reason: format!("received {written} bytes of a {expected}-byte archive"),
                });
            }
            Next::GiveUp => return Err(outcome.into_error(part, have)),
            Next::Resume(from) => {
                resumes += 1;
                request = Some(from);
                tracing::debug!(written, resumes, why = %outcome.describe(have), "the body broke; resuming");
            }
            Next::Restart => {
                resumes += 1;
                request = None;
                total = None;
                tracing::debug!(resumes, why = %outcome.describe(have), "restarting the download from zero");
                if written > 0 {
                    written = 0;
                    if pipeline.restart().is_err() {
                        return Err(pipeline.fail(&part).await);
                    }
                }
            }
        }
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
    Ok(Transferred {
        bytes: written,
        sha256: result.sha256,
        resumes,
        suggested_name: suggested_name.flatten(),
    })
}

/// How one answer ended, kept for the error when no resume is left.
enum Outcome {
    /// The response did not fit the request.
    Inconsistent { reason: String, meta: ResponseMeta },
    /// The body's stream closed.
    Ended,
    /// The body broke.
    Broken(Broken),
}

impl Outcome {
    fn answer(&self) -> Answer {
        match self {
            Outcome::Inconsistent { .. } => Answer::Inconsistent,
            Outcome::Ended => Answer::Ended,
            Outcome::Broken(_) => Answer::Broken,
        }
    }

    /// A body that ended is only a problem when it ended short of the total.
    fn short(have: Have) -> Broken {
        Broken::Short {
            expected: have.total.unwrap_or(have.written),
            got: have.written,
        }
    }

    fn describe(&self, have: Have) -> String {
        match self {
            Outcome::Inconsistent { reason, .. } => reason.clone(),
            Outcome::Ended => Self::short(have).describe(),
            Outcome::Broken(broken) => broken.describe(),
        }
    }

    fn into_error(self, part: PathBuf, have: Have) -> Error {
        match self {
            Outcome::Inconsistent { reason, meta } => Error::UnexpectedResponse {
                operation: crate::operation::DOWNLOAD.name,
                reason,
                meta,
            },
            Outcome::Ended => Self::short(have).into_error(part, have.max_resumes),
            Outcome::Broken(broken) => broken.into_error(part, have.max_resumes),
        }
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

//! Plumbing for the workspace's contract and benchmark drivers, which call the
//! generated client directly and want its errors as the client reports them,
//! or feed the download an answer from memory. Behind the `testing` feature
//! and hidden: not public API, free to change.

use std::path::Path;

use progenitor_client::{ByteStream, Error as GeneratedError, ResponseValue};

use crate::Error;
use crate::download::{DownloadOptions, DownloadProgress, Downloaded};
use crate::response_meta::ResponseMeta;

/// Runs one generated call and returns, beside its result, the status and
/// request id of the response it received.
pub async fn with_response_meta<F: Future>(call: F) -> (F::Output, ResponseMeta) {
    crate::response_meta::with_response_meta(call).await
}

/// A generated call's error as the client reports it; `meta` comes from
/// [`with_response_meta`].
pub async fn from_generated(
    operation: &'static str,
    error: GeneratedError<ByteStream>,
    meta: ResponseMeta,
) -> Error {
    crate::error::from_generated(operation, error, meta).await
}

/// The download behind [`crate::Client::download`], with `fetch` standing in
/// for the `DownloadServerLogs` call (the offset is where a resume starts).
pub async fn download_to_dir<F, Fut>(
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
    crate::download::download_to_dir(fetch, dir, file_name, options, progress).await
}

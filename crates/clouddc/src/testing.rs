//! Plumbing for the workspace's contract drivers, which call the generated
//! client directly and want its errors as the client reports them. Behind the
//! `testing` feature and hidden: not public API, free to change.

use progenitor_client::{ByteStream, Error as GeneratedError};

use crate::Error;
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

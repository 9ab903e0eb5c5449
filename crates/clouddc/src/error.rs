//! The one error type of the crate.
//!
//! `Display` is terse and names what failed; the cause comes through
//! [`std::error::Error::source`]. No variant holds a secret: request headers are
//! never kept, and response bodies are cut to [`MAX_BODY_SNIPPET`] characters.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::HeaderMap;

pub use crate::printable::{MAX_BODY_SNIPPET, snippet};
pub use crate::response_meta::{ResponseMeta, request_id};
/// How much of an error body is read at most, in bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service (or its gateway) answered with an error status.
    #[error("{0}")]
    Api(ApiError),
    /// The service asked us to slow down (HTTP 429) and retries ran out.
    #[error("throttled (HTTP 429){}{}", retry_after_text(.retry_after), request_id_text(.request_id))]
    Throttled {
        /// What `Retry-After` asked for, if it said.
        retry_after: Option<Duration>,
        /// The `X-Request-Id` of the response.
        request_id: Option<String>,
    },
    /// The request did not reach the service, or the response did not arrive.
    #[error("transport error during {operation}")]
    Transport {
        /// The operation that failed.
        operation: &'static str,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// A deadline passed.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long was waited.
        after: Duration,
    },
    /// No source of the credential chain gave credentials, or the one that
    /// did failed (the metadata service did not answer). The reason names
    /// each source asked, never a value it held.
    #[error("no usable credentials from {source_name}: {reason}")]
    Credentials {
        /// Which source (or "the credential chain" for all of them).
        source_name: &'static str,
        /// What each source said.
        reason: String,
    },
    /// The project id of a region could not be found with IAM, as the
    /// official SDKs look it up when none is configured.
    #[error(
        "cannot find the project id of region {region:?} with IAM: {reason}; set the project id (--project-id or HUAWEICLOUD_SDK_PROJECT_ID)"
    )]
    ProjectLookup {
        /// The region (the project name asked for).
        region: String,
        /// Zero projects, several, or the error of the IAM call.
        reason: String,
    },
    /// An argument was rejected before anything was sent.
    #[error("invalid {argument}: {reason}")]
    InvalidInput {
        /// Which argument.
        argument: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The service answered with something the client cannot use.
    #[error("unexpected response to {operation}: {reason}{}", request_id_text(&.meta.request_id))]
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// What was wrong with the response.
        reason: String,
        /// The response's status and request id.
        meta: ResponseMeta,
    },
    /// The service answered with a redirect (3xx). The API documents none, so
    /// none is followed: a redirect to another origin would carry the
    /// credential headers with it (reqwest strips only `Authorization` and
    /// cookies), and one to the same origin has no documented meaning.
    #[error("refused a redirect (HTTP {status}) of {operation} to {}: the API documents no redirect{}", .location.as_deref().unwrap_or("no location"), request_id_text(&.meta.request_id))]
    Redirected {
        /// The operation.
        operation: &'static str,
        /// The 3xx status.
        status: u16,
        /// Where the service pointed, printable, with any `user:password@`
        /// replaced by `***@`.
        location: Option<String>,
        /// The response's status and request id.
        meta: ResponseMeta,
    },
    /// A request failed after more than one attempt; `last` is the last
    /// attempt's error (see [`Error::last_attempt`] to match on it).
    #[error("{last} (gave up after {attempts} attempts)")]
    Retried {
        /// How many attempts were made, the first included.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<Error>,
    },
    /// A downloaded archive is incomplete or corrupt. The message does not
    /// name `path`: it is the temporary file, already removed, and a name
    /// that no longer exists only sends the user looking for it.
    #[error("the archive failed its integrity check: {reason} (the partial download was removed)")]
    Integrity {
        /// The file (temporary, already removed) that failed the check.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// A file operation failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done (`creating`, `writing`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The export ended without an archive.
    #[error("export {export_id} of server {server} ended with status {status:?}")]
    ExportFailed {
        /// The server.
        server: String,
        /// The export task.
        export_id: String,
        /// The status the service reported.
        status: String,
    },
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(", retry after {}s", d.as_secs()))
        .unwrap_or_default()
}

fn request_id_text(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" [request id {id}]"))
        .unwrap_or_default()
}

impl Error {
    /// The error of the last attempt: `self`, unless retries wrapped it in
    /// [`Error::Retried`].
    pub fn last_attempt(&self) -> &Error {
        match self {
            Error::Retried { last, .. } => last.last_attempt(),
            other => other,
        }
    }

    /// How many attempts were made for the request behind this error.
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Retried { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Retried { last, .. } => last.status(),
            Error::Api(api) => Some(api.status),
            Error::Throttled { .. } => Some(429),
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            Error::UnexpectedResponse { meta, .. } | Error::Redirected { meta, .. } => meta.status,
            _ => None,
        }
    }

    /// The `X-Request-Id` of the response behind this error, for support cases.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Retried { last, .. } => last.request_id(),
            Error::Api(api) => api.request_id.as_deref(),
            Error::Throttled { request_id, .. } => request_id.as_deref(),
            Error::UnexpectedResponse { meta, .. } | Error::Redirected { meta, .. } => {
                meta.request_id.as_deref()
            }
            _ => None,
        }
    }

    /// An invalid-argument error.
    pub fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            argument,
            reason: reason.into(),
        }
    }
}

/// An error answer from the service or its gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// `error_code` (or `errorCode`, `code`), e.g. `APIGW.0301`.
    pub error_code: Option<String>,
    /// `error_msg` (or `errorMsg`, `message`).
    pub error_msg: Option<String>,
    /// The body as text when it was not a JSON error, cut to [`MAX_BODY_SNIPPET`].
    pub body: Option<String>,
    /// The `X-Request-Id` of the response.
    pub request_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        match (&self.error_msg, &self.body) {
            (Some(msg), _) => write!(f, ": {msg}")?,
            (None, Some(body)) if !body.is_empty() => write!(f, ": {body}")?,
            _ => {}
        }
        f.write_str(&request_id_text(&self.request_id))
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Reads an error answer: JSON in any of the vendor's spellings, or plain text.
    pub fn parse(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let (error_code, error_msg) = parse_error_fields(body);
        let body = if error_code.is_none() && error_msg.is_none() {
            Some(snippet(body))
        } else {
            None
        };
        ApiError {
            status,
            error_code,
            error_msg,
            body,
            request_id: request_id(headers),
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the gateway and is
/// ignored), capped at an hour so a hostile value cannot park a client.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3600.0)))
}

/// Finds `{error_code, error_msg}` in the spellings the official SDKs accept,
/// at the top level or under an `error` object.
fn parse_error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return (None, None);
    };
    let nested = match map.get("error") {
        Some(serde_json::Value::Object(inner)) => Some(inner),
        _ => None,
    };
    let pick = |keys: &[&str]| {
        [Some(&map), nested].into_iter().flatten().find_map(|m| {
            keys.iter().find_map(|k| match m.get(*k)? {
                serde_json::Value::String(s) => Some(snippet(s.as_bytes())),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        })
    };
    (
        pick(&["error_code", "errorCode", "code"]),
        pick(&["error_msg", "errorMsg", "message", "msg"]),
    )
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error body.
async fn read_capped(mut stream: progenitor_client::ByteStream) -> Bytes {
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    Bytes::from(body)
}

async fn read_response_capped(response: reqwest::Response) -> Bytes {
    let stream = progenitor_client::ByteStream::new(Box::pin(response.bytes_stream()));
    read_capped(stream).await
}

/// Turns an error answer into [`Error::Throttled`] for 429 and [`Error::Api`] otherwise.
fn from_status(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    if status == 429 {
        Error::Throttled {
            retry_after: retry_after(headers),
            request_id: request_id(headers),
        }
    } else {
        Error::Api(ApiError::parse(status, headers, body))
    }
}

/// The refusal of a 3xx answer, naming where it pointed without any
/// credential that URL carries.
fn redirected(operation: &'static str, status: u16, headers: &HeaderMap) -> Error {
    let location = headers.get(http::header::LOCATION).map(|value| {
        snippet(crate::endpoint::redacted(&String::from_utf8_lossy(value.as_bytes())).as_bytes())
    });
    Error::Redirected {
        operation,
        status,
        location,
        meta: ResponseMeta {
            status: Some(status),
            request_id: request_id(headers),
        },
    }
}

/// Converts an error of the generated client, reading the error body where there is
/// one. `meta` comes from [`crate::response_meta::with_response_meta`] and restores the
/// status and request id that progenitor drops for undecodable bodies.
pub(crate) async fn from_generated(
    operation: &'static str,
    error: progenitor_client::Error<progenitor_client::ByteStream>,
    meta: ResponseMeta,
) -> Error {
    use progenitor_client::Error as G;
    match error {
        G::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response.into_inner()).await;
            from_status(status, &headers, &body)
        }
        G::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            if (300..400).contains(&status) {
                return redirected(operation, status, &headers);
            }
            let body = read_response_capped(response).await;
            if status >= 400 {
                from_status(status, &headers, &body)
            } else {
                Error::UnexpectedResponse {
                    operation,
                    reason: format!("undocumented status {status}"),
                    meta: ResponseMeta {
                        status: Some(status),
                        request_id: request_id(&headers),
                    },
                }
            }
        }
        G::InvalidResponsePayload(body, cause) => Error::UnexpectedResponse {
            operation,
            reason: format!("body does not decode ({cause}): {}", snippet(&body)),
            meta,
        },
        G::CommunicationError(source)
        | G::ResponseBodyError(source)
        | G::InvalidUpgrade(source) => Error::Transport { operation, source },
        G::InvalidRequest(reason) | G::Custom(reason) => Error::InvalidInput {
            argument: "request",
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn parses_every_spelling_of_the_error_body() {
        for body in [
            r#"{"error_code":"APIGW.0301","error_msg":"bad token"}"#,
            r#"{"errorCode":"APIGW.0301","errorMsg":"bad token"}"#,
            r#"{"code":"APIGW.0301","message":"bad token"}"#,
            r#"{"error":{"code":"APIGW.0301","message":"bad token"}}"#,
        ] {
            let e = ApiError::parse(401, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.error_code.as_deref(), Some("APIGW.0301"), "{body}");
            assert_eq!(e.error_msg.as_deref(), Some("bad token"), "{body}");
            assert_eq!(e.body, None);
        }
    }

    #[test]
    fn raw_text_and_html_are_kept_as_snippets() {
        let e = ApiError::parse(
            500,
            &headers(&[("x-request-id", "r-1")]),
            b"<html>\n<b>oops</b></html>",
        );
        assert_eq!(e.body.as_deref(), Some("<html> <b>oops</b></html>"));
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        assert_eq!(
            e.to_string(),
            "HTTP 500: <html> <b>oops</b></html> [request id r-1]"
        );
        let huge = "x".repeat(10_000);
        let e = ApiError::parse(500, &HeaderMap::new(), huge.as_bytes());
        assert_eq!(e.body.unwrap().chars().count(), MAX_BODY_SNIPPET + 1);
    }

    #[test]
    fn retry_after_seconds_capped_and_garbage_ignored() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "99999")])),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn display_is_terse_and_keeps_the_request_id() {
        let e = Error::Throttled {
            retry_after: Some(Duration::from_secs(2)),
            request_id: Some("abc".into()),
        };
        assert_eq!(
            e.to_string(),
            "throttled (HTTP 429), retry after 2s [request id abc]"
        );
        assert_eq!(e.status(), Some(429));
        assert_eq!(e.request_id(), Some("abc"));
    }

    #[test]
    fn an_integrity_error_does_not_name_the_removed_temporary_file() {
        let e = Error::Integrity {
            path: "/out/.clouddc-x1.part".into(),
            reason: "gzip CRC mismatch".into(),
        };
        let text = e.to_string();
        assert!(!text.contains(".part"), "{text}");
        assert!(text.contains("gzip CRC mismatch"), "{text}");
    }
}

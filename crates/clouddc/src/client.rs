//! The high-level client: the three operations with validation, retries and
//! readable errors, plus the waiter and the download on top of them.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use progenitor_client::{ByteStream, ResponseValue};
use serde::de::DeserializeOwned;

use crate::download::{
    DownloadOptions, DownloadProgress, Downloaded, PartTarget, archive_file_name, download_to_dir,
    download_to_part,
};
use crate::error::{from_generated, request_id};
use crate::operation as op;
use crate::response_meta::{ReceivedMeta, ResponseMeta, with_received_meta};
use crate::retry::{Idempotency, RetryPolicy, with_retries};
use crate::types::{DownloadServerLogsRange, ExportRequest, ExportTask};
use crate::validate::id_argument;
use crate::{Error, generated};
use crate::{IdArgument, PathId};

/// What the client shares between clones.
pub(crate) struct ClientInner {
    pub(crate) generated: generated::Client,
    pub(crate) base_url: String,
    /// The project, checked once at build instead of at every call.
    pub(crate) project: PathId,
    pub(crate) retry: RetryPolicy,
    /// The whole of one JSON request, body included (see
    /// [`crate::TransportOptions::request_timeout`]).
    pub(crate) request_timeout: Duration,
    /// Where the credentials came from (never what they are).
    pub(crate) credential_source: crate::credentials::Source,
}

/// A CloudDC log-export client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials are deliberately absent.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("project_id", &self.project_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Arc<ClientInner>) -> Self {
        Self { inner }
    }

    /// The shared state, for the operations defined in other modules.
    pub(crate) fn inner(&self) -> &ClientInner {
        &self.inner
    }

    /// How each request is retried; the flows above derive theirs from it.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The generated client underneath, with the same credentials and hooks.
    pub fn generated(&self) -> &generated::Client {
        &self.inner.generated
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Which source of the credential chain gave the credentials.
    pub fn credential_source(&self) -> &crate::credentials::Source {
        &self.inner.credential_source
    }

    /// The project requests are for.
    pub fn project_id(&self) -> &str {
        &self.inner.project
    }

    /// Starts exporting `server`'s logs. Retried only where no task can have been
    /// created: on 429 and when the connection was never established.
    pub async fn export(&self, server: impl IdArgument) -> Result<ExportTask, Error> {
        self.export_checked(&id_argument("server", server)?).await
    }

    /// [`Client::export`] for an id checked where it entered.
    pub(crate) async fn export_checked(&self, server: &PathId) -> Result<ExportTask, Error> {
        let project = self.inner.project.as_resource_id();
        let server = server.as_resource_id();
        with_retries(
            &self.inner.retry,
            Idempotency::Create,
            op::EXPORT.name,
            || {
                self.within_request_timeout(op::EXPORT.name, async {
                    let (result, meta) =
                        with_received_meta(self.inner.generated.export_server_logs(
                            project,
                            server,
                            None,
                            &ExportRequest {},
                        ))
                        .await;
                    decode(op::EXPORT.name, result, meta).await
                })
            },
        )
        .await
    }

    /// The export task's current state.
    pub async fn status(
        &self,
        server: impl IdArgument,
        export_id: impl IdArgument,
    ) -> Result<ExportTask, Error> {
        let server = id_argument("server", server)?;
        let export_id = id_argument("export_id", export_id)?;
        self.status_checked(&server, &export_id).await
    }

    /// [`Client::status`] for ids checked where they entered: what every poll
    /// of a wait calls.
    pub(crate) async fn status_checked(
        &self,
        server: &PathId,
        export_id: &PathId,
    ) -> Result<ExportTask, Error> {
        let project = self.inner.project.as_resource_id();
        let (server, export) = (server.as_resource_id(), export_id.as_resource_id());
        with_retries(
            &self.inner.retry,
            Idempotency::Safe,
            op::STATUS.name,
            || {
                self.within_request_timeout(op::STATUS.name, async {
                    let (result, meta) = with_received_meta(
                        self.inner
                            .generated
                            .show_logs_export_status(project, server, export, None),
                    )
                    .await;
                    decode(op::STATUS.name, result, meta).await
                })
            },
        )
        .await
    }

    /// Bounds one JSON request, from sending to the last byte of the decoded
    /// body. The transport's read timeout restarts with every byte, so a body
    /// trickling a byte every few seconds would otherwise hold the call, and
    /// its `collect` slot, for ever.
    pub(crate) async fn within_request_timeout<T>(
        &self,
        operation: &'static str,
        request: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let after = self.inner.request_timeout;
        tokio::time::timeout(after, request)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    what: format!("the {operation} request"),
                    after,
                })
            })
    }

    /// Opens the archive, from `offset` when resuming. Retried on transient
    /// failures; the body is read by the caller (each resume calls this again,
    /// with the ids checked once).
    pub(crate) async fn open_download(
        &self,
        server: &PathId,
        export_id: &PathId,
        offset: Option<u64>,
    ) -> Result<ResponseValue<ByteStream>, Error> {
        let project = self.inner.project.as_resource_id();
        let (server, export) = (server.as_resource_id(), export_id.as_resource_id());
        let range = offset
            .map(|o| DownloadServerLogsRange::try_from(format!("bytes={o}-")))
            .transpose()
            .map_err(|e| Error::invalid("range", e.to_string()))?;
        with_retries(
            &self.inner.retry,
            Idempotency::Safe,
            op::DOWNLOAD.name,
            || async {
                let (result, meta) = with_received_meta(self.inner.generated.download_server_logs(
                    project,
                    server,
                    export,
                    range.as_ref(),
                    None,
                ))
                .await;
                match result {
                    Ok(response) => Ok(response),
                    Err(error) => {
                        Err(from_generated(op::DOWNLOAD.name, error, meta.into_meta()).await)
                    }
                }
            },
        )
        .await
    }

    /// Downloads the archive into `dir`, safely: a temporary file in `dir`,
    /// checked, then renamed to [`archive_file_name`] of `server`; resumed
    /// with `Range` when the body breaks.
    pub async fn download(
        &self,
        server: impl IdArgument,
        export_id: impl IdArgument,
        dir: &Path,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    ) -> Result<Downloaded, Error> {
        let server = id_argument("server", server)?;
        let export_id = id_argument("export_id", export_id)?;
        self.download_checked(&server, &export_id, dir, options, progress)
            .await
    }

    /// [`Client::download`] for ids checked where they entered.
    pub(crate) async fn download_checked(
        &self,
        server: &PathId,
        export_id: &PathId,
        dir: &Path,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    ) -> Result<Downloaded, Error> {
        // The server's id names the file, never the service's answer.
        download_to_dir(
            |offset| self.open_download(server, export_id, offset),
            dir,
            &archive_file_name(server.as_str()),
            options,
            progress,
        )
        .await
    }

    /// [`Client::download_checked`] into a destination, as the server's
    /// archive name.
    pub(crate) async fn download_to_destination_checked(
        &self,
        (server, export_id): (&PathId, &PathId),
        destination: &dyn crate::destination::Destination,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    ) -> Result<Downloaded, Error> {
        crate::download::download_to_destination(
            |offset| self.open_download(server, export_id, offset),
            destination,
            &archive_file_name(server.as_str()),
            options,
            progress,
        )
        .await
    }

    /// [`Client::download_checked`] through a part file of a fixed name that a
    /// later call can resume after the process died (see
    /// [`crate::download::download_to_part`]).
    pub(crate) async fn download_to_part_checked(
        &self,
        (server, export_id): (&PathId, &PathId),
        dir: &Path,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
        part: PartTarget<'_>,
    ) -> Result<Downloaded, Error> {
        download_to_part(
            |offset| self.open_download(server, export_id, offset),
            dir,
            &archive_file_name(server.as_str()),
            options,
            progress,
            part,
        )
        .await
    }
}

/// Turns a generated call's result into ours. A 2xx the spec does not list for
/// the operation (a 200 instead of 202) is still decoded: the service's answer
/// matters more than the documented code.
pub(crate) async fn decode<T: DeserializeOwned>(
    operation: &'static str,
    result: Result<ResponseValue<T>, progenitor_client::Error<ByteStream>>,
    meta: ReceivedMeta,
) -> Result<T, Error> {
    match result {
        Ok(value) => Ok(value.into_inner()),
        Err(progenitor_client::Error::UnexpectedResponse(response))
            if response.status().is_success() =>
        {
            let meta = ResponseMeta {
                status: Some(response.status().as_u16()),
                request_id: request_id(response.headers()),
            };
            let body = response
                .bytes()
                .await
                .map_err(|source| Error::Transport { operation, source })?;
            serde_json::from_slice(&body).map_err(|e| Error::UnexpectedResponse {
                operation,
                reason: format!(
                    "body does not decode ({e}): {}",
                    crate::printable::snippet(&body)
                ),
                meta,
            })
        }
        Err(error) => Err(from_generated(operation, error, meta.into_meta()).await),
    }
}

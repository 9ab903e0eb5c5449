//! The high-level client: the three operations with validation, retries and
//! readable errors, plus the waiter and the download on top of them.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use progenitor_client::{ByteStream, ResponseValue};
use serde::de::DeserializeOwned;

use crate::ResourceId;
use crate::config::ClientBuilder;
use crate::download::{
    DownloadOptions, DownloadProgress, Downloaded, PartTarget, download_to_dir, download_to_part,
};
use crate::error::{from_generated, request_id};
use crate::hooks::{ReceivedMeta, ResponseMeta, with_received_meta};
use crate::retry::{Idempotency, RetryPolicy, with_retries};
use crate::types::{DownloadServerLogsRange, ExportRequest, ExportTask};
use crate::validate::{path_id, validate_id};
use crate::{Error, generated};

/// What the client shares between clones.
pub(crate) struct ClientInner {
    pub(crate) generated: generated::Client,
    pub(crate) base_url: String,
    /// The project, checked once at build instead of at every call.
    pub(crate) project: ResourceId,
    pub(crate) retry: RetryPolicy,
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

/// The operation names used in errors and logs.
mod op {
    pub const EXPORT: &str = "ExportServerLogs";
    pub const STATUS: &str = "ShowLogsExportStatus";
    pub const DOWNLOAD: &str = "DownloadServerLogs";
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_inner(inner: Arc<ClientInner>) -> Self {
        Self { inner }
    }

    /// The generated client underneath, with the same credentials and hooks.
    pub fn generated(&self) -> &generated::Client {
        &self.inner.generated
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The project requests are for.
    pub fn project_id(&self) -> &str {
        &self.inner.project
    }

    /// Starts exporting `server`'s logs. Retried only where no task can have been
    /// created: on 429 and when the connection was never established.
    pub async fn export(&self, server: &str) -> Result<ExportTask, Error> {
        let project = &self.inner.project;
        let server_id = path_id("server", server)?;
        with_retries(
            &self.inner.retry,
            Idempotency::Create,
            op::EXPORT,
            || async {
                let (result, meta) = with_received_meta(self.inner.generated.export_server_logs(
                    project,
                    &server_id,
                    None,
                    &ExportRequest {},
                ))
                .await;
                decode(op::EXPORT, result, meta).await
            },
        )
        .await
    }

    /// The export task's current state.
    pub async fn status(&self, server: &str, export_id: &str) -> Result<ExportTask, Error> {
        let project = &self.inner.project;
        let server_id = path_id("server", server)?;
        let export = path_id("export_id", export_id)?;
        with_retries(&self.inner.retry, Idempotency::Safe, op::STATUS, || async {
            let (result, meta) = with_received_meta(
                self.inner
                    .generated
                    .show_logs_export_status(project, &server_id, &export, None),
            )
            .await;
            decode(op::STATUS, result, meta).await
        })
        .await
    }

    /// Opens the archive, from `offset` when resuming. Retried on transient
    /// failures; the body is read by the caller.
    pub async fn open_download(
        &self,
        server: &str,
        export_id: &str,
        offset: Option<u64>,
    ) -> Result<ResponseValue<ByteStream>, Error> {
        let project = &self.inner.project;
        let server_id = path_id("server", server)?;
        let export = path_id("export_id", export_id)?;
        let range = offset
            .map(|o| DownloadServerLogsRange::try_from(format!("bytes={o}-")))
            .transpose()
            .map_err(|e| Error::invalid("range", e.to_string()))?;
        with_retries(
            &self.inner.retry,
            Idempotency::Safe,
            op::DOWNLOAD,
            || async {
                let (result, meta) = with_received_meta(self.inner.generated.download_server_logs(
                    project,
                    &server_id,
                    &export,
                    range.as_ref(),
                    None,
                ))
                .await;
                match result {
                    Ok(response) => Ok(response),
                    Err(error) => Err(from_generated(op::DOWNLOAD, error, meta.into_meta()).await),
                }
            },
        )
        .await
    }

    /// Downloads the archive into `dir`, safely: a temporary file in `dir`,
    /// checked, then renamed; resumed with `Range` when the body breaks.
    pub async fn download(
        &self,
        server: &str,
        export_id: &str,
        dir: &Path,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
    ) -> Result<Downloaded, Error> {
        validate_id("server", server)?;
        validate_id("export_id", export_id)?;
        download_to_dir(
            |offset| self.open_download(server, export_id, offset),
            dir,
            &fallback_name(server, export_id),
            options,
            progress,
        )
        .await
    }

    /// Like [`Client::download`], through a part file of a fixed name that a
    /// later call can resume after the process died (see
    /// [`crate::download::download_to_part`]).
    pub async fn download_to_part(
        &self,
        server: &str,
        export_id: &str,
        dir: &Path,
        options: &DownloadOptions,
        progress: &(dyn Fn(DownloadProgress) + Send + Sync),
        part: PartTarget<'_>,
    ) -> Result<Downloaded, Error> {
        validate_id("server", server)?;
        validate_id("export_id", export_id)?;
        download_to_part(
            |offset| self.open_download(server, export_id, offset),
            dir,
            &fallback_name(server, export_id),
            options,
            progress,
            part,
        )
        .await
    }
}

/// The archive's name when the service sends none. Ids may hold `/`; the name
/// must stay one path component.
fn fallback_name(server: &str, export_id: &str) -> String {
    format!("{server}-{export_id}.tar.gz").replace(['/', '\\'], "_")
}

/// Turns a generated call's result into ours. A 2xx the spec does not list for
/// the operation (a 200 instead of 202) is still decoded: the service's answer
/// matters more than the documented code.
async fn decode<T: DeserializeOwned>(
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
                    crate::error::snippet(&body)
                ),
                meta,
            })
        }
        Err(error) => Err(from_generated(operation, error, meta.into_meta()).await),
    }
}

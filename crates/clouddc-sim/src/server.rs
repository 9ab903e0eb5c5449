//! The HTTP service: routes, the checks every request goes through, and the
//! three operations.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use futures::stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::archive::{ArchiveDigest, CHUNK};
use crate::auth::{Caller, authenticate};
use crate::dialect::Stage;
use crate::faults::{FaultInjector, FaultKind, Roll};
use crate::identity;
use crate::inventory::Inventory;
use crate::limits::RateLimiter;
use crate::listing;
use crate::tasks::{Task, TaskStore};
use crate::wire::{WireError, WireTask};
use crate::{ServerExports, SimConfig, SimStats};

/// The largest request body read; the export body is `{}` at most.
const MAX_BODY: usize = 16 * 1024;
/// How long the export body may take to arrive: a client that declares a
/// body and never sends it must not hold the handler.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The `Range` header's `maxLength` in the spec.
const MAX_RANGE_LEN: usize = 256;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: SimConfig,
    pub(crate) tasks: TaskStore,
    faults: FaultInjector,
    limiter: RateLimiter,
    downloads: Arc<Semaphore>,
    servers: Option<HashSet<String>>,
    /// The seeded fleet `ListServers` and the other inventory operations serve.
    pub(crate) inventory: Inventory,
    pub(crate) counters: Counters,
    /// The metadata service's session tokens and temporary credentials.
    pub(crate) issued: crate::identity::Issued,
    /// Export calls and tasks created, per server: what a test needs to prove a
    /// resumed collect exported each server at most once.
    exports_by_server: std::sync::Mutex<BTreeMap<String, ServerExports>>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    export: AtomicU64,
    status: AtomicU64,
    download: AtomicU64,
    created: AtomicU64,
    throttled: AtomicU64,
    pub(crate) unauthenticated: AtomicU64,
    download_bytes: AtomicU64,
    pub(crate) iam: AtomicU64,
    pub(crate) metadata_tokens: AtomicU64,
    pub(crate) metadata_credentials: AtomicU64,
    export_window: Window,
    download_window: Window,
}

/// When the first and the last of a kind of request arrived, in milliseconds
/// since the Unix epoch (0: none yet), so a benchmark can tell where a run's
/// time went.
#[derive(Debug, Default)]
struct Window {
    first: AtomicU64,
    last: AtomicU64,
}

impl Window {
    fn mark(&self) {
        let now = crate::RequestWindow::now_ms();
        let _ = self
            .first
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn read(&self) -> Option<crate::RequestWindow> {
        match (
            self.first.load(Ordering::Relaxed),
            self.last.load(Ordering::Relaxed),
        ) {
            (0, _) => None,
            (first_ms, last_ms) => Some(crate::RequestWindow { first_ms, last_ms }),
        }
    }
}

impl State {
    pub(crate) fn new(config: SimConfig) -> Self {
        Self {
            tasks: TaskStore::new(&config),
            faults: FaultInjector::new(config.faults, config.seed),
            limiter: RateLimiter::new(config.rate_limit),
            downloads: Arc::new(Semaphore::new(config.max_downloads)),
            servers: config.servers.as_ref().map(|s| s.iter().cloned().collect()),
            inventory: Inventory::build(
                config.inventory,
                config.seed,
                &config.project_id,
                chrono::Utc::now().timestamp_millis(),
            ),
            counters: Counters::default(),
            issued: crate::identity::Issued::default(),
            exports_by_server: std::sync::Mutex::default(),
            config,
        }
    }

    pub(crate) fn stats(&self) -> SimStats {
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimStats {
            export_requests: c(&self.counters.export),
            status_requests: c(&self.counters.status),
            download_requests: c(&self.counters.download),
            tasks_created: c(&self.counters.created),
            throttled: c(&self.counters.throttled),
            unauthenticated: c(&self.counters.unauthenticated),
            download_bytes: c(&self.counters.download_bytes),
            iam_requests: c(&self.counters.iam),
            metadata_token_requests: c(&self.counters.metadata_tokens),
            metadata_credentials_issued: c(&self.counters.metadata_credentials),
            live_tasks: self.tasks.len() as u64,
            faults: self.faults.counts(),
            export_window: self.counters.export_window.read(),
            download_window: self.counters.download_window.read(),
        }
    }
}

impl State {
    /// Counts an export call for `server` (whatever its answer).
    fn count_export(&self, server: &str) {
        self.with_exports(server, |entry| entry.calls += 1);
    }

    /// Counts a task created for `server`.
    fn count_export_task(&self, server: &str) {
        self.with_exports(server, |entry| entry.tasks_created += 1);
    }

    fn with_exports(&self, server: &str, change: impl FnOnce(&mut ServerExports)) {
        let mut map = self
            .exports_by_server
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        change(map.entry(server.to_owned()).or_default());
    }

    pub(crate) fn exports_by_server(&self) -> BTreeMap<String, ServerExports> {
        self.exports_by_server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

pub(crate) type Shared = Arc<State>;

const EXPORTS: &str = "/v1/{project_id}/physicalservers/{id}/logs/exports";
const STATUS: &str = "/v1/{project_id}/physicalservers/{id}/logs/exports/{export_id}";
const CONTENT: &str = "/v1/{project_id}/physicalservers/{id}/logs/exports/{export_id}/content";
const SERVERS: &str = "/v1/{project_id}/physicalservers";
const SERVER: &str = "/v1/{project_id}/physicalservers/{id}";
const ALARMS: &str = "/v1/{project_id}/physicalservers/alarms";
const EVENTS: &str = "/v1/{project_id}/physicalservers/events";
const IAM_PROJECTS: &str = "/v3/projects";
const METADATA_TOKEN: &str = "/meta-data/latest/api/token";
const SECURITY_KEY: &str = "/openstack/latest/securitykey";

/// The service: exactly the operations of the spec. A known path with
/// another method answers 405 with `Allow`; any other path the gateway's 404.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(EXPORTS, post(export))
        .route(STATUS, get(status))
        .route(CONTENT, get(download))
        .route(SERVERS, get(listing::list_servers))
        .route(SERVER, get(listing::show_server))
        .route(ALARMS, get(listing::list_alarms))
        .route(EVENTS, get(listing::list_events))
        .route(IAM_PROJECTS, get(identity::list_projects))
        .route(METADATA_TOKEN, put(identity::create_metadata_token))
        .route(SECURITY_KEY, get(identity::show_security_key))
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// Holds every request back by the configured latency, as a WAN would.
async fn latency(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    next.run(request).await
}

/// Gives every response an `X-Request-Id`, as the gateway does.
async fn request_id(request: Request, next: Next) -> Response {
    let id = format!("{:032x}", rand::random::<u128>());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    tracing::debug!(request_id = %id, %method, %path, status = response.status().as_u16(), "served");
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn unknown_route() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    )
}

/// `{error_code, error_msg}` with `status`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = WireError {
        error_code: code.to_owned(),
        error_msg: message.into(),
    };
    (status, axum::Json(body)).into_response()
}

/// The gateway's 429: a plain-text body and `Retry-After` in whole seconds.
fn too_many(retry_after: Duration, message: &str) -> Response {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::RETRY_AFTER, seconds.to_string()),
        ],
        message.to_owned(),
    )
        .into_response()
}

/// What a request must pass before its operation runs, in the gateway's
/// order: authentication (401), project (403), ids (400), rate limit (429),
/// then the injected faults of a backend in trouble (slow, 500, 429).
pub(crate) async fn admit<'s>(
    state: &'s State,
    operation: &str,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    ids: &[(&'static str, &str)],
) -> Result<(Caller, Roll<'s>), Response> {
    let caller = authenticate(
        &state.config,
        &state.issued,
        method.as_str(),
        path_and_query,
        headers,
        body,
    )
    .map_err(|failure| {
        state
            .counters
            .unauthenticated
            .fetch_add(1, Ordering::Relaxed);
        error(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            format!("Incorrect IAM authentication information: {}", failure.0),
        )
    })?;
    let (_, project) = ids[0];
    if project != state.config.project_id {
        return Err(error(
            StatusCode::FORBIDDEN,
            "APIGW.0302",
            "The credentials do not grant access to this project",
        ));
    }
    for (name, value) in ids {
        if let Err(why) = check_id(value) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "APIGW.0201",
                format!("Invalid {name}: {why}"),
            ));
        }
    }
    if ids.iter().any(|(_, value)| matches!(*value, "." | "..")) {
        return Err(not_found("No resource has that name"));
    }
    if let Err(wait) = state.limiter.take(&caller.0, Instant::now()) {
        state.counters.throttled.fetch_add(1, Ordering::Relaxed);
        return Err(too_many(
            wait,
            "Too Many Requests: the rate limit is exceeded",
        ));
    }
    let resource = ids
        .iter()
        .skip(1)
        .map(|(_, v)| *v)
        .collect::<Vec<_>>()
        .join("/");
    let mut roll = state.faults.roll(&format!("{operation} {resource}"));
    if roll.happens(FaultKind::Slow) {
        tokio::time::sleep(state.config.slow_for).await;
    }
    if roll.happens(FaultKind::Internal) {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "CLOUDDC.0500",
            "Internal server error (injected by the simulator)",
        ));
    }
    if roll.happens(FaultKind::Throttle) {
        return Err(too_many(
            Duration::from_secs(1),
            "Too Many Requests (injected by the simulator)",
        ));
    }
    Ok((caller, roll))
}

/// What the spec's `ResourceId` allows (1 to 128 characters, none of them a
/// control character), or why not. Stricter rules (no `.`, `..` or edge
/// whitespace) are the client's, which must keep URLs from resolving elsewhere.
fn check_id(value: &str) -> Result<(), String> {
    clouddc_auth::ResourceId::check(value).map_err(|why| why.to_string())
}

pub(crate) fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

pub(crate) fn bad_path(rejection: PathRejection) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "APIGW.0201",
        format!("Malformed path: {rejection}"),
    )
}

pub(crate) fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, "CLOUDDC.0404", what.to_owned())
}

fn server_exists(state: &State, server: &str) -> bool {
    state.servers.as_ref().is_none_or(|s| s.contains(server))
}

fn task_body(state: &State, task: &Task) -> WireTask {
    let dialect = state.config.dialect;
    let (stage, percent) = task.progress(Instant::now());
    WireTask {
        export_id: task.export_id.clone(),
        status: dialect.status(stage).to_owned(),
        percentage: Some(dialect.percentage(percent)),
        created_at: Some(dialect.created_at(task.created_at)),
    }
}

/// `ExportServerLogs`.
async fn export(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    state.counters.export.fetch_add(1, Ordering::Relaxed);
    state.counters.export_window.mark();
    let Path((project, server)) = match path {
        Ok(path) => path,
        Err(rejection) => return bad_path(rejection),
    };
    let target = path_and_query(request.uri()).to_owned();
    state.count_export(&server);
    let too_large = || {
        error(
            StatusCode::BAD_REQUEST,
            "APIGW.0201",
            format!("The request body is larger than {MAX_BODY} bytes"),
        )
    };
    // Refused on its declaration, before any of it is awaited.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let read = axum::body::to_bytes(request.into_body(), MAX_BODY);
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "APIGW.0201",
                "The request body did not arrive in time",
            );
        }
    };
    let ids = [("project_id", project.as_str()), ("id", server.as_str())];
    let (_, mut roll) = match admit(&state, "export", &method, &target, &headers, &body, &ids).await
    {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    if let Err(why) = check_export_body(&body) {
        return error(StatusCode::BAD_REQUEST, "CLOUDDC.0400", why);
    }
    if !server_exists(&state, &server) {
        return not_found("The server does not exist in this project");
    }
    let fails_at = roll
        .happens(FaultKind::Fail)
        .then(|| (10.0 + roll.fraction() * 80.0) as u8);
    match state.tasks.export(&server, fails_at, Instant::now()) {
        Ok((task, created)) => {
            if created {
                state.count_export_task(&server);
                state.counters.created.fetch_add(1, Ordering::Relaxed);
            }
            (StatusCode::ACCEPTED, axum::Json(task_body(&state, &task))).into_response()
        }
        Err(_) => {
            state.counters.throttled.fetch_add(1, Ordering::Relaxed);
            too_many(
                Duration::from_secs(1),
                "Too Many Requests: too many export tasks",
            )
        }
    }
}

/// The export body is optional; if sent it must be `{}`. A body of only
/// whitespace is sent, and is no JSON document (schemathesis found it
/// accepted).
fn check_export_body(body: &[u8]) -> Result<(), String> {
    if body.is_empty() {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(fields)) if fields.is_empty() => Ok(()),
        Ok(serde_json::Value::Object(fields)) => Err(format!(
            "The export takes no options; unexpected field {:?}",
            fields.keys().next().map(String::as_str).unwrap_or_default()
        )),
        Ok(_) => Err("The request body must be a JSON object".into()),
        Err(e) => Err(format!("The request body is not valid JSON: {e}")),
    }
}

/// The ids of a request on one task, once admitted.
struct TaskRequest {
    server: String,
    export_id: String,
}

/// Extracts and admits a request on `/…/exports/{export_id}[/content]`.
async fn admit_task_request<'s>(
    state: &'s State,
    operation: &str,
    method: &Method,
    headers: &HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    uri: &Uri,
) -> Result<(TaskRequest, Roll<'s>), Response> {
    let Path((project, server, export_id)) = path.map_err(bad_path)?;
    let ids = [
        ("project_id", project.as_str()),
        ("id", server.as_str()),
        ("export_id", export_id.as_str()),
    ];
    let target = path_and_query(uri);
    let (_, roll) = admit(state, operation, method, target, headers, b"", &ids).await?;
    Ok((TaskRequest { server, export_id }, roll))
}

/// `ShowLogsExportStatus`.
async fn status(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    uri: Uri,
) -> Response {
    state.counters.status.fetch_add(1, Ordering::Relaxed);
    let admitted = admit_task_request(&state, "status", &method, &headers, path, &uri).await;
    let TaskRequest { server, export_id } = match admitted {
        Ok((ids, _)) => ids,
        Err(response) => return response,
    };
    match state.tasks.get(&server, &export_id, Instant::now()) {
        Some(task) => axum::Json(task_body(&state, &task)).into_response(),
        None => not_found("The export task does not exist or has expired"),
    }
}

/// `DownloadServerLogs`.
async fn download(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    uri: Uri,
) -> Response {
    state.counters.download.fetch_add(1, Ordering::Relaxed);
    state.counters.download_window.mark();
    let admitted = admit_task_request(&state, "download", &method, &headers, path, &uri).await;
    let (TaskRequest { server, export_id }, mut roll) = match admitted {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(value) if value.len() > MAX_RANGE_LEN => {
            return error(
                StatusCode::BAD_REQUEST,
                "CLOUDDC.0400",
                format!("The Range header is longer than {MAX_RANGE_LEN} bytes"),
            );
        }
        Some(value) => Some(value.to_str().unwrap_or_default().to_owned()),
    };
    let Some(task) = state.tasks.get(&server, &export_id, Instant::now()) else {
        return not_found("The export task does not exist or has expired");
    };
    match task.progress(Instant::now()) {
        (Stage::Completed, _) => {}
        (Stage::Processing, percent) => {
            return not_found(&format!(
                "The export has no archive yet: it is {percent}% done"
            ));
        }
        (Stage::Failed, _) => return not_found("The export failed; it has no archive"),
    }
    let Ok(permit) = state.downloads.clone().try_acquire_owned() else {
        state.counters.throttled.fetch_add(1, Ordering::Relaxed);
        return too_many(
            Duration::from_secs(1),
            "Too Many Requests: too many downloads",
        );
    };
    let layout = task.layout.clone();
    let digest = task
        .digest
        .get_or_init(|| {
            let layout = layout.clone();
            async move {
                let made = tokio::task::spawn_blocking(move || layout.digest()).await;
                Arc::new(made.unwrap_or_else(|_| layout_digest_fallback()))
            }
        })
        .await
        .clone();
    let len = layout.len();
    // A range the archive cannot satisfy is ignored (RFC 9110 allows it):
    // the whole archive follows with 200, and the client starts over.
    let (start, end, partial) = match range.as_deref().and_then(|r| parse_range(r, len)) {
        Some((start, end)) => (start, end, true),
        None => (0, len, false),
    };
    let fault = [FaultKind::Reset, FaultKind::Truncate, FaultKind::Stall]
        .into_iter()
        .find(|kind| roll.happens(*kind))
        .map(|kind| {
            let at = start + ((end - start) as f64 * roll.fraction()) as u64;
            // At least one byte of body first, so the fault breaks a body.
            (kind, at.max(start + 1))
        });
    let body = Body::from_stream(body_stream(BodyState {
        layout,
        digest,
        position: start,
        end,
        fault,
        stall_for: state.config.stall_for,
        served: state.clone(),
        _permit: permit,
    }));
    let mut response = Response::new(body);
    *response.status_mut() = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(
        headers,
        header::CONTENT_TYPE,
        "application/octet-stream;charset=UTF-8".into(),
    );
    set(
        headers,
        header::CONTENT_DISPOSITION,
        format!("attachment; filename={}", task.layout.file_name()),
    );
    set(
        headers,
        header::HeaderName::from_static("content-transfer-encoding"),
        "binary".into(),
    );
    set(headers, header::CONTENT_LENGTH, (end - start).to_string());
    set(headers, header::ACCEPT_RANGES, "bytes".into());
    if partial {
        set(
            headers,
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", end - 1),
        );
    }
    response
}

/// Never reached in practice (`digest` does not panic); keeps a panicking
/// blocking task from taking the server down with it.
fn layout_digest_fallback() -> ArchiveDigest {
    crate::archive::ArchiveLayout::new(0, "server", "export", 0).digest()
}

/// A single `bytes=N-` or `bytes=N-M` range within `len`, as `[start, end)`.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    if spec.contains(',') {
        return None;
    }
    let first: u64 = first.trim().parse().ok()?;
    let end = match last.trim() {
        "" => len,
        last => last.parse::<u64>().ok()?.saturating_add(1).min(len),
    };
    (first < end).then_some((first, end))
}

struct BodyState {
    layout: Arc<crate::archive::ArchiveLayout>,
    digest: Arc<ArchiveDigest>,
    position: u64,
    end: u64,
    /// The fault to strike and the offset where it strikes.
    fault: Option<(FaultKind, u64)>,
    stall_for: Duration,
    /// Where the bytes handed to the connection are counted.
    served: Shared,
    /// Held until the body is dropped, so the download bound counts streams.
    _permit: OwnedSemaphorePermit,
}

fn body_stream(state: BodyState) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let mut stop_at = state.end;
        if let Some((kind, at)) = state.fault {
            if state.position >= at {
                // Let hyper flush the head and what was sent first, so the
                // client sees a broken body it can resume, not a failed request.
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                return match kind {
                    // Ending the body short of its Content-Length: the client
                    // sees the connection close early.
                    FaultKind::Truncate => None,
                    FaultKind::Stall => {
                        tokio::time::sleep(state.stall_for).await;
                        Some((Err(std::io::Error::other("stalled download dropped")), None))
                    }
                    _ => Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected connection reset",
                        )),
                        None,
                    )),
                };
            }
            stop_at = stop_at.min(at);
        }
        let n = (stop_at - state.position).min(CHUNK as u64);
        if n == 0 {
            return None;
        }
        let chunk = state
            .layout
            .chunk(&state.digest, state.position, n as usize);
        state.position += n;
        state
            .served
            .counters
            .download_bytes
            .fetch_add(n, Ordering::Relaxed);
        Some((Ok(chunk), Some(state)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=10-", 100), Some((10, 100)));
        assert_eq!(parse_range("bytes=10-19", 100), Some((10, 20)));
        assert_eq!(parse_range("bytes=10-1000", 100), Some((10, 100)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=20-10", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=-5", 100), None);
        assert_eq!(
            parse_range("bytes=0-18446744073709551615", 100),
            Some((0, 100))
        );
    }

    #[test]
    fn ids_follow_the_spec() {
        assert!(check_id("srv-0001").is_ok());
        assert!(check_id(" spaced ").is_ok());
        assert!(check_id(&"é".repeat(128)).is_ok());
        assert!(check_id(&"x".repeat(129)).is_err());
        assert!(check_id("").is_err());
        assert!(check_id("a\u{89}b").is_err());
        assert!(check_id("a\nb").is_err());
    }

    #[test]
    fn export_bodies() {
        assert!(check_export_body(b"").is_ok());
        assert!(check_export_body(b" {} ").is_ok());
        assert!(check_export_body(b"{\"a\":1}").is_err());
        assert!(check_export_body(b"[]").is_err());
        assert!(check_export_body(b"{").is_err());
        assert!(check_export_body(b"\n").is_err());
        assert!(check_export_body(b" ").is_err());
    }
}

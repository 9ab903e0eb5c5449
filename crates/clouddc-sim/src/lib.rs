//! A faithful, stateful simulator of CloudDC's log-export service.
//!
//! It serves exactly the operations of `openapi/clouddc.yaml` with the
//! service's quirks: a seeded inventory of servers, alarms and events paged as
//! the service pages them, token and AK/SK authentication bound to one project,
//! asynchronous export tasks in any of the vendor's dialects, deterministic
//! `tar.gz` archives streamed with `Range` support, a per-credential token
//! bucket, and seeded fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clouddc_sim::SimError> {
//! let mut config = clouddc_sim::SimConfig::default();
//! config.tokens.push("demo-token".into());
//! let sim = clouddc_sim::Simulator::start(config).await?;
//! println!("listening on {}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Decisions a client can rely on:
//! - a second export of a server while its task runs answers 202 with the
//!   running task, so repeating a POST whose answer was lost is safe;
//! - downloading a task that has not completed answers 404 (the archive does
//!   not exist yet), one that failed answers 404 as well;
//! - finished tasks expire [`SimConfig::task_ttl`] after they finish, then 404;
//! - the inventory lists [`SimConfig::inventory`] servers; exports of ids it
//!   does not list answer 404 only when [`SimConfig::servers`] says which exist
//!   ([`SimConfig::with_inventory`], `clouddc sim --servers N`), so ad-hoc ids keep
//!   working against a default simulator;
//! - it also answers IAM's project lookup (`GET /v3/projects?name=REGION`,
//!   see [`SimConfig::project_regions`]) and the ECS metadata service's
//!   session token and temporary credentials, which live
//!   [`SimConfig::credential_ttl`] and authenticate like an AK/SK pair;
//! - errors are ordered as the gateway orders them: 401, then 403 (project),
//!   then 400 (malformed ids or body), then 404, then 429 (limits).

#![deny(missing_docs)]

mod archive;
mod auth;
mod config;
mod dialect;
mod faults;
mod identity;
pub mod inventory;
pub mod inventory_wire;
mod limits;
mod listing;
mod server;
mod tasks;
pub mod tls;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

pub use archive::ArchiveLayout;
pub use config::{DEFAULT_PROJECT_ID, SimConfig};
pub use dialect::{Dialect, Stage, UnknownDialect};
pub use faults::{FaultCounts, FaultKind, FaultSpec, FaultSpecError};
pub use inventory::Inventory;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A setting is out of range.
    #[error("invalid simulator setting {what}: {why}")]
    Config {
        /// The setting.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// Counts of what a simulator has served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// `ExportServerLogs` requests that reached the handler.
    pub export_requests: u64,
    /// `ShowLogsExportStatus` requests that reached the handler.
    pub status_requests: u64,
    /// `DownloadServerLogs` requests that reached the handler.
    pub download_requests: u64,
    /// Export tasks created.
    pub tasks_created: u64,
    /// Requests refused by the rate limit or the task and download bounds.
    pub throttled: u64,
    /// Requests refused for authentication (401).
    pub unauthenticated: u64,
    /// Archive bytes handed to connections by `DownloadServerLogs`, resumed and
    /// restarted bodies included.
    pub download_bytes: u64,
    /// Tasks held now (running, or finished and not yet expired).
    pub live_tasks: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// IAM `KeystoneListProjects` requests (project lookups).
    pub iam_requests: u64,
    /// Metadata session tokens handed out.
    pub metadata_token_requests: u64,
    /// Temporary credentials the metadata service issued: the first fetch of
    /// each client and every refresh.
    pub metadata_credentials_issued: u64,
    /// When the first and the last `ExportServerLogs` request arrived.
    pub export_window: Option<RequestWindow>,
    /// When the first and the last `DownloadServerLogs` request arrived.
    pub download_window: Option<RequestWindow>,
}

/// When the first and the last request of one kind reached the simulator, in
/// milliseconds since the Unix epoch: a run's phases, as the service saw them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestWindow {
    /// The first request's arrival.
    pub first_ms: u64,
    /// The last request's arrival.
    pub last_ms: u64,
}

impl RequestWindow {
    /// Milliseconds since the Unix epoch now (0 if the clock is before it).
    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }
}

/// What one server's export calls came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ServerExports {
    /// `ExportServerLogs` calls for the server that reached the handler, whatever
    /// their answer (a refused or faulted call is still a call).
    pub calls: u64,
    /// Export tasks created for it: a repeated call while a task runs returns
    /// that task and creates none.
    pub tasks_created: u64,
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.addr` and serves until the handle is shut down or dropped.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        config.validate()?;
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.addr,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.addr,
            source,
        })?;
        let identity = if config.tls {
            Some(tls::make_identity()?)
        } else {
            None
        };
        let state = Arc::new(server::State::new(config));
        let app = server::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let (scheme, authority, task) = match identity {
            None => (
                "http",
                None,
                tokio::spawn(async move {
                    let serve = axum::serve(listener, app).with_graceful_shutdown(stopped);
                    if let Err(error) = serve.await {
                        tracing::error!(%error, "simulator stopped with an error");
                    }
                }),
            ),
            Some((authority, server_config)) => {
                let listener = tls::TlsListener::new(listener, server_config);
                (
                    "https",
                    Some(authority),
                    tokio::spawn(async move {
                        let serve = axum::serve(listener, app).with_graceful_shutdown(stopped);
                        if let Err(error) = serve.await {
                            tracing::error!(%error, "simulator stopped with an error");
                        }
                    }),
                )
            }
        };
        tracing::info!(addr = %local_addr, "simulator listening");
        Ok(SimHandle {
            base_url: format!("{scheme}://{local_addr}"),
            tls: authority,
            local_addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server (open downloads are cut);
/// [`SimHandle::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct SimHandle {
    base_url: String,
    tls: Option<tls::TlsAuthority>,
    local_addr: SocketAddr,
    state: Arc<server::State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the endpoint to give a client.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The project the simulator serves.
    pub fn project_id(&self) -> &str {
        &self.state.config.project_id
    }

    /// The sha256 (lowercase hex) of the archive `export_id` of `server` will
    /// serve, or `None` if there is no such task. Computed by generating the
    /// archive, so it costs a pass over its bytes.
    pub async fn expected_sha256(&self, server: &str, export_id: &str) -> Option<String> {
        let layout = self.state.tasks.layout_of(server, export_id)?;
        tokio::task::spawn_blocking(move || layout.sha256())
            .await
            .ok()
    }

    /// The layout (members, sizes) of an export's archive.
    pub fn archive_layout(&self, server: &str, export_id: &str) -> Option<ArchiveLayout> {
        self.state.tasks.layout_of(server, export_id)
    }

    /// The fleet, alarms and events the inventory operations serve.
    pub fn inventory(&self) -> &Inventory {
        &self.state.inventory
    }

    /// The CA to trust when it serves HTTPS ([`SimConfig::tls`]).
    pub fn tls_authority(&self) -> Option<&tls::TlsAuthority> {
        self.tls.as_ref()
    }

    /// What the simulator has served so far.
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Export calls and tasks created, per server, so far.
    pub fn exports_by_server(&self) -> std::collections::BTreeMap<String, ServerExports> {
        self.state.exports_by_server()
    }

    /// Stops accepting, lets in-flight requests end, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Long downloads would hold a graceful shutdown open; bound it.
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                tracing::warn!("simulator shutdown timed out; aborting open connections");
                task.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

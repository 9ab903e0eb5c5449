//! Client for Huawei Cloud CloudDC's physical-server log export.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clouddc::Error> {
//! use futures::StreamExt;
//! let client = clouddc::Client::builder()
//!     .region("cn-east-3")
//!     .project_id("0123456789abcdef0123456789abcdef")
//!     .ak_sk("AK", "SK")
//!     .build()?;
//! let options = clouddc::CollectOptions { output_dir: "./logs".into(), ..Default::default() };
//! let mut outcomes = client.collect(vec!["srv-0001".into()], options, None);
//! while let Some(outcome) = outcomes.next().await {
//!     println!("{}: {:?}", outcome.server, outcome.result.map(|a| a.path));
//! }
//! # Ok(()) }
//! ```
//!
//! Layers, bottom up:
//! - [`generated`]: the client progenitor generates from `openapi/clouddc.yaml`
//!   (never edited by hand);
//! - [`hooks`]: what every generated request goes through (credentials and
//!   signing), recording each answer's [`response_meta`];
//! - [`signing`], [`credentials`], [`resource_id`]: the rules shared with the
//!   simulator, from `clouddc_auth`, and the reqwest signing adapter;
//! - [`tolerant`]: the wire types that accept every form the vendor has shipped;
//! - [`error`]: one error type with the status and request id of each failure;
//! - [`inventory`] and [`states`]: the project's servers, alarms and events,
//!   paged as streams, with open state enums;
//! - [`client`], [`waiter`], [`download`], [`collect`]: the flow, built from
//!   [`validate`], [`retry`], [`transport`], [`endpoint`], [`operation`] and
//!   [`config`].

#![deny(missing_docs)]

pub mod client;
pub mod collect;
pub mod config;
pub mod content_disposition;
pub mod credentials;
pub mod destination;
pub mod download;
pub mod endpoint;
pub mod error;
pub mod generated;
pub mod hooks;
pub mod inventory;
pub mod journal;
pub mod operation;
mod printable;
pub mod project;
pub mod resource_id;
pub mod response_meta;
pub mod retry;
pub mod signing;
pub use clouddc_auth::states;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod tolerant;
pub mod transport;
pub mod validate;
pub mod waiter;

pub use client::Client;
pub use clouddc_auth::{InvalidPathId, PathId};
pub use collect::{CollectEvent, CollectOptions, EventSink, ServerOutcome};
pub use config::ClientBuilder;
pub use credentials::{Credentials, Secret};
pub use download::{DownloadOptions, DownloadProgress, Downloaded, LowSpeed};
pub use error::{ApiError, Error};
pub use generated::types;
pub use inventory::{AlarmQuery, EventQuery, ServerQuery};
pub use journal::{FileJournal, Journal};
pub use resource_id::ResourceId;
pub use retry::RetryPolicy;
pub use states::{EventLevel, HealthState, ManageState, OperationState, PowerState};
pub use tolerant::{CreatedAt, ExportStatus, Percentage, PercentageError, StatusKind};
pub use transport::TransportOptions;
pub use validate::IdArgument;
pub use waiter::{WaitOptions, WaitProgress};

//! Client for Huawei Cloud CloudDC's physical-server log export.
//!
//! Layers, bottom up:
//! - [`generated`]: the client progenitor generates from `openapi/clouddc.yaml`
//!   (never edited by hand);
//! - [`hooks`]: what every generated request goes through (credentials, response
//!   metadata);
//! - [`tolerant`]: the wire types that accept every form the vendor has shipped;
//! - [`error`]: one error type with the status and request id of each failure.

pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod generated;
pub mod hooks;
pub mod retry;
pub mod tolerant;
pub mod transport;
pub mod validate;

pub use credentials::{Credentials, Secret};
pub use error::{ApiError, Error};
pub use generated::types;
pub use tolerant::{CreatedAt, ExportStatus, Percentage, PercentageError, StatusKind};

//! What both ends of CloudDC's API agree on, apart from any HTTP client:
//!
//! - [`signing`]: `SDK-HMAC-SHA256` AK/SK signing byte for byte as the vendor's
//!   official signer does it, and its verification (what the simulator runs);
//! - [`Secret`]: tokens and secret keys that never print;
//! - [`ResourceId`] and [`path_id()`]: the spec's rules for a project, server or
//!   export id, and the client's stricter rules for one in a URL path.
//!
//! This stands apart from the client as `aws-sigv4` stands apart from the AWS
//! SDK: the simulator links it without reqwest or progenitor, and the client's
//! reqwest adapter (`clouddc::signing::sign_request`) is built on it.

pub mod path_id;
pub mod resource_id;
pub mod secret;
pub mod signing;

pub use path_id::{InvalidPathId, PathId, path_id};
pub use resource_id::{InvalidResourceId, MAX_ID_LEN, ResourceId};
pub use secret::Secret;

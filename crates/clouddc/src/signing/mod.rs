//! AK/SK request signing (`SDK-HMAC-SHA256`), byte for byte as the vendor's
//! official signer does it.
//!
//! The canonicalisation, [`sign`] and [`verify`] live in `clouddc_auth`, which
//! the simulator links without an HTTP client; they are re-exported here
//! unchanged. What stays in the client is the reqwest adapter:
//! [`sign_request`] signs a `reqwest::Request` in place (what the client hooks call).
//!
//! The reference is the official Python SDK's own output;
//! `tests/sign_vectors.rs` runs every case of it.

pub use clouddc_auth::signing::*;

mod request;

pub use request::sign_request;

//! The integration tests of `clouddc`, in one binary: one link for the crate's
//! public API seen from outside.

mod properties;
mod sign_vectors;

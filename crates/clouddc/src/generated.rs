//! The client progenitor generates from `openapi/clouddc.yaml` at build time.
//!
//! Never edited by hand: `build.rs` writes it into `OUT_DIR` through
//! `clouddc_codegen::generate`, and `cargo xtask drift` keeps a reviewed snapshot
//! of the same text in `xtask/snapshots/`.

#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused_imports,
    dead_code,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

/// The client progenitor generates from `openapi/iam.yaml`: the project lookup
/// only (see [`crate::project`]).
pub(crate) mod iam {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unused_imports,
        dead_code,
        rustdoc::all
    )]
    include!(concat!(env!("OUT_DIR"), "/iam.rs"));
}

/// The client progenitor generates from `openapi/metadata.yaml`: the ECS
/// metadata session token and temporary credentials (see
/// [`crate::credentials`]).
pub(crate) mod metadata {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unused_imports,
        dead_code,
        rustdoc::all
    )]
    include!(concat!(env!("OUT_DIR"), "/metadata.rs"));
}

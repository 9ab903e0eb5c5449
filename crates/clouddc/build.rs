//! Generates the client from the spec into `OUT_DIR` with the same function that
//! `cargo xtask drift` snapshots.

use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    // The crate's own copy of the spec, so the package builds by itself;
    // `cargo xtask drift --accept` writes it from the workspace's
    // `openapi/clouddc.yaml`, and the drift check fails while they differ.
    let spec_path = manifest_dir.join(clouddc_codegen::SPEC_PATH);
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let spec = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let code = clouddc_codegen::generate(&spec).unwrap_or_else(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        panic!("{message}")
    });
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("generated.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

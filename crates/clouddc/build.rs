//! Generates the clients from the specs into `OUT_DIR` with the same function
//! that `cargo xtask drift` snapshots: CloudDC's, and the small IAM and ECS
//! metadata specs beside it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    // The crate's own copies of the specs, so the package builds by itself;
    // `cargo xtask drift --accept` writes them from the workspace's
    // `openapi/`, and the drift check fails while they differ.
    generate(
        &manifest_dir,
        clouddc_codegen::SPEC_PATH,
        &out_dir.join("generated.rs"),
    );
    for side in clouddc_codegen::SIDE_SPECS {
        let out = out_dir.join(format!("{}.rs", side.module));
        generate(&manifest_dir, side.path, &out);
    }
}

fn generate(manifest_dir: &Path, spec: &str, out: &Path) {
    let spec_path = manifest_dir.join(spec);
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let text = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let code = clouddc_codegen::generate_from(&text, spec).unwrap_or_else(|e| {
        let mut message = format!("{spec}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        panic!("{message}")
    });
    std::fs::write(out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

//! `cargo xtask vectors`: regenerates the signing-vector fixture by running the
//! vendor's official signer (`tools/python/gen_sign_vectors.py`, in the SDK's
//! pinned venv).

use std::path::PathBuf;
use std::process::Command;

use crate::{shell, tools};

/// The committed fixture `crates/clouddc/tests/it/sign_vectors.rs` reads.
pub fn fixture() -> PathBuf {
    shell::workspace_root().join("crates/clouddc/tests/fixtures/sign_vectors.json")
}

/// Writes the fixture next to its final path, then renames it over: a failed
/// run leaves the committed file as it was.
pub fn run() -> Result<(), String> {
    let python = tools::sdk_python()?;
    let script = tools::python_dir().join("gen_sign_vectors.py");
    let fixture = fixture();
    let partial = fixture.with_extension("json.partial");
    let result = shell::run(Command::new(&python).arg(&script).arg(&partial));
    if let Err(message) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(message);
    }
    std::fs::rename(&partial, &fixture)
        .map_err(|e| format!("cannot move {} into place: {e}", partial.display()))?;
    eprintln!(
        "wrote {}; run `cargo test -p clouddc --test it sign_vectors`",
        fixture.display()
    );
    Ok(())
}

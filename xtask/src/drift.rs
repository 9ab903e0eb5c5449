//! The drift check: what the spec generates, the spec itself and the public API of
//! `clouddc` must equal their reviewed snapshots in `xtask/snapshots/`.
//!
//! The generated text comes from `clouddc_codegen::generate`, the function
//! `crates/clouddc/build.rs` compiles, so the snapshot is exactly what is built.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{public_api, shell};

/// Whether differences fail or are written as the new snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fail on any difference and print the command that accepts it.
    Check,
    /// Write every snapshot anew.
    Accept,
}

/// One snapshot: its name and the text it must hold.
struct Snapshot {
    name: &'static str,
    text: String,
}

fn snapshots() -> Result<Vec<Snapshot>, String> {
    let root = shell::workspace_root();
    let spec_path = root.join(clouddc_codegen::SPEC_PATH);
    let spec = std::fs::read_to_string(&spec_path)
        .map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let describe = |e: clouddc_codegen::CodegenError| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    };
    Ok(vec![
        Snapshot {
            name: "generated_client",
            text: clouddc_codegen::generate(&spec).map_err(describe)?,
        },
        Snapshot {
            name: "spec_canonical",
            text: clouddc_codegen::canonical_spec(&spec).map_err(describe)?,
        },
        Snapshot {
            name: "clouddc_public_api",
            text: public_api::describe(&root.join("crates/clouddc/src"))?,
        },
    ])
}

/// The copy of the spec inside the `clouddc` crate, which its package carries.
fn packaged_spec() -> std::path::PathBuf {
    shell::workspace_root()
        .join("crates/clouddc")
        .join(clouddc_codegen::SPEC_PATH)
}

/// Checks (or, with [`Mode::Accept`], writes) the crate's copy of the spec: it
/// must equal `openapi/clouddc.yaml`, the one file people edit.
fn sync_packaged_spec(mode: Mode) -> Result<(), String> {
    let source = shell::workspace_root().join(clouddc_codegen::SPEC_PATH);
    let copy = packaged_spec();
    let spec =
        std::fs::read(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    if std::fs::read(&copy).is_ok_and(|current| current == spec) {
        return Ok(());
    }
    match mode {
        Mode::Check => Err(format!(
            "{} differs from {}: run `{}`",
            copy.display(),
            clouddc_codegen::SPEC_PATH,
            clouddc_codegen::REGENERATE_COMMAND
        )),
        Mode::Accept => {
            let partial = copy.with_extension("yaml.partial");
            std::fs::write(&partial, &spec)
                .and_then(|()| std::fs::rename(&partial, &copy))
                .map_err(|e| format!("cannot write {}: {e}", copy.display()))?;
            eprintln!("drift: wrote {}", copy.display());
            Ok(())
        }
    }
}

/// Compares (or, with [`Mode::Accept`], rewrites) every snapshot and the
/// crate's copy of the spec.
pub fn run(mode: Mode) -> Result<(), String> {
    sync_packaged_spec(mode)?;
    let snapshots = snapshots()?;
    // insta reads these when it first asserts: `always` writes, `no` only compares.
    // SAFETY: xtask is single-threaded here; nothing else reads the environment.
    unsafe {
        std::env::set_var(
            "INSTA_UPDATE",
            if mode == Mode::Accept { "always" } else { "no" },
        );
        std::env::set_var("INSTA_FORCE_PASS", "0");
    }
    // insta prints the diff itself; the panic that follows needs one line, not a
    // backtrace.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let mut drifted = Vec::new();
    for snapshot in &snapshots {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(shell::workspace_root().join("xtask/snapshots"));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(snapshot.name, &snapshot.text));
        }));
        if outcome.is_err() {
            drifted.push(snapshot.name);
        }
    }
    std::panic::set_hook(default_hook);
    match (mode, drifted.is_empty()) {
        (_, true) => {
            eprintln!(
                "drift: {} snapshots match ({})",
                snapshots.len(),
                snapshots
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
        (Mode::Accept, false) => Err(format!("could not write snapshots: {}", drifted.join(", "))),
        (Mode::Check, false) => Err(format!(
            "drift in {}: review the diff above; if the change is intended, run `{}` and commit xtask/snapshots/",
            drifted.join(", "),
            clouddc_codegen::REGENERATE_COMMAND
        )),
    }
}

#[cfg(test)]
mod tests {
    /// The same check as `cargo xtask drift`, so `cargo test` catches drift too.
    #[test]
    fn no_drift() {
        if let Err(message) = super::run(super::Mode::Check) {
            panic!("{message}");
        }
    }
}

//! The drift check: what the spec generates, the spec itself and the public APIs
//! of `clouddc` and `clouddc-auth` must equal their reviewed snapshots in
//! `xtask/snapshots/`.
//!
//! The snapshots are ordinary insta assertions in this module's tests, so
//! `cargo test` catches drift too. `cargo xtask drift` runs those tests in a
//! child `cargo test`, telling insta through the child's environment whether to
//! only compare (`INSTA_UPDATE=no`) or to write (`INSTA_UPDATE=always`); insta
//! prints the diff. The generated text comes from `clouddc_codegen::generate`,
//! the function `crates/clouddc/build.rs` compiles, so the snapshot is exactly
//! what is built.

use std::process::Command;

use crate::shell;

/// Whether differences fail or are written as the new snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fail on any difference and print the command that accepts it.
    Check,
    /// Write every snapshot anew.
    Accept,
}

/// What a failure tells the reader to do (insta also prints it above each
/// diff, as the snapshot's description, so a plain `cargo test` says it too).
fn fix() -> String {
    format!(
        "if the change is intended, run `{}` and commit xtask/snapshots/",
        clouddc_codegen::REGENERATE_COMMAND
    )
}

/// The child `cargo test` that runs this module's snapshot tests.
fn snapshot_tests(mode: Mode) -> Command {
    let mut command = shell::cargo(&shell::workspace_root());
    command
        .args(["test", "--quiet", "-p", "xtask", "--bin", "xtask", "--"])
        .args(["drift::snapshots::", "--test-threads=1"])
        // A passing test's output is captured; when accepting, the diff of what
        // is written is the point.
        .args((mode == Mode::Accept).then_some("--nocapture"))
        .env(
            "INSTA_UPDATE",
            if mode == Mode::Accept { "always" } else { "no" },
        )
        .env("INSTA_FORCE_PASS", "0")
        .env("INSTA_OUTPUT", "diff")
        // The diff says what drifted; a backtrace of insta's panic says nothing.
        .env("RUST_BACKTRACE", "0");
    command
}

/// Every spec the `clouddc` crate generates a client from: CloudDC's and the
/// small IAM and metadata ones.
fn all_specs() -> impl Iterator<Item = &'static str> {
    std::iter::once(clouddc_codegen::SPEC_PATH)
        .chain(clouddc_codegen::SIDE_SPECS.iter().map(|side| side.path))
}

/// Checks (or, with [`Mode::Accept`], writes) the crate's copy of every spec.
fn sync_packaged_spec(mode: Mode) -> Result<(), String> {
    all_specs().try_for_each(|spec| sync_packaged(spec, mode))
}

/// Checks (or, with [`Mode::Accept`], writes) the crate's copy of `spec`: it
/// must equal the workspace's `openapi/` file, the one people edit.
fn sync_packaged(name: &str, mode: Mode) -> Result<(), String> {
    let source = shell::workspace_root().join(name);
    let copy = shell::workspace_root().join("crates/clouddc").join(name);
    let spec =
        std::fs::read(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    if std::fs::read(&copy).is_ok_and(|current| current == spec) {
        return Ok(());
    }
    match mode {
        Mode::Check => Err(format!("{} differs from {name}: {}", copy.display(), fix())),
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
    let status = snapshot_tests(mode)
        .status()
        .map_err(|e| format!("cannot start cargo test: {e}"))?;
    match (mode, status.success()) {
        (Mode::Check, true) => {
            eprintln!("drift: every snapshot matches");
            Ok(())
        }
        (Mode::Accept, true) => {
            eprintln!("drift: snapshots written; review and commit xtask/snapshots/");
            Ok(())
        }
        (Mode::Accept, false) => Err(format!(
            "drift: the snapshot tests failed with {status} while accepting; see above"
        )),
        (Mode::Check, false) => Err(format!(
            "drift: a snapshot differs from the reviewed one (diff above); {}",
            fix()
        )),
    }
}

#[cfg(test)]
mod snapshots {
    use std::path::Path;

    use crate::{public_api, shell};

    /// Asserts `text` equals the snapshot `name` in `xtask/snapshots/`.
    fn check(name: &str, text: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(shell::workspace_root().join("xtask/snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("Not the reviewed snapshot: {}.", super::fix()));
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    fn spec() -> String {
        let path = shell::workspace_root().join(clouddc_codegen::SPEC_PATH);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// The error and every cause, on one line.
    fn describe(e: clouddc_codegen::CodegenError) -> String {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    }

    fn public_api_of(crate_dir: &str, crate_name: &str) -> String {
        let src = shell::workspace_root().join(crate_dir).join("src");
        public_api::describe(Path::new(&src), crate_name).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The spec the `clouddc` package carries is the one people edit.
    #[test]
    fn packaged_spec_is_the_spec() {
        if let Err(message) = super::sync_packaged_spec(super::Mode::Check) {
            panic!("{message}");
        }
    }

    #[test]
    fn generated_client() {
        let text = clouddc_codegen::generate(&spec()).unwrap_or_else(|e| panic!("{}", describe(e)));
        check("generated_client", &text);
    }

    /// Each small spec beside CloudDC's generates its own client, reviewed
    /// like CloudDC's (the spec's canonical form is in the header's sha256
    /// and in the client's doc comments).
    #[test]
    fn side_clients() {
        for side in clouddc_codegen::SIDE_SPECS {
            let path = shell::workspace_root().join(side.path);
            let spec = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let text = clouddc_codegen::generate_from(&spec, side.path)
                .unwrap_or_else(|e| panic!("{}: {}", side.path, describe(e)));
            check(&format!("{}_client", side.module), &text);
            let canonical = clouddc_codegen::canonical_spec(&spec)
                .unwrap_or_else(|e| panic!("{}: {}", side.path, describe(e)));
            check(&format!("{}_spec_canonical", side.module), &canonical);
        }
    }

    #[test]
    fn spec_canonical() {
        let text =
            clouddc_codegen::canonical_spec(&spec()).unwrap_or_else(|e| panic!("{}", describe(e)));
        check("spec_canonical", &text);
    }

    #[test]
    fn clouddc_public_api() {
        check(
            "clouddc_public_api",
            &public_api_of("crates/clouddc", "clouddc"),
        );
    }

    /// `clouddc` re-exports `clouddc_auth`'s signing and id types, so its
    /// public API is `clouddc`'s too.
    #[test]
    fn clouddc_auth_public_api() {
        check(
            "clouddc_auth_public_api",
            &public_api_of("crates/clouddc-auth", "clouddc_auth"),
        );
    }
}

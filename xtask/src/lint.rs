//! Lints the specs (CloudDC's and the small IAM and metadata ones beside it)
//! with an independent linter, `@redocly/cli`, using the checked-in
//! `openapi/redocly.yaml` (the `recommended-strict` ruleset: every warning is an
//! error, so a clean exit means 0 errors and 0 warnings).

use std::process::Command;

use crate::{shell, tools};

/// Runs `redocly lint` on every spec; any error or warning fails.
pub fn run() -> Result<(), String> {
    tools::install_all()?;
    let root = shell::workspace_root();
    let side_specs = clouddc_codegen::SIDE_SPECS.iter().map(|side| side.path);
    shell::run(
        Command::new(tools::npm_bin("redocly"))
            .current_dir(&root)
            .args([
                "lint",
                "--config",
                "openapi/redocly.yaml",
                clouddc_codegen::SPEC_PATH,
            ])
            .args(side_specs)
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
    )
    .map_err(|e| format!("spec lint failed: {e}"))
}

//! Lints the spec with an independent linter, `@redocly/cli`, using the checked-in
//! `openapi/redocly.yaml` (the `recommended-strict` ruleset: every warning is an
//! error, so a clean exit means 0 errors and 0 warnings).

use std::process::Command;

use crate::{shell, tools};

/// Runs `redocly lint`; any error or warning fails.
pub fn run() -> Result<(), String> {
    tools::install_all()?;
    let root = shell::workspace_root();
    shell::run(
        Command::new(tools::npm_bin("redocly"))
            .current_dir(&root)
            .args([
                "lint",
                "--config",
                "openapi/redocly.yaml",
                clouddc_codegen::SPEC_PATH,
            ])
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
    )
    .map_err(|e| format!("spec lint failed: {e}"))
}

//! `build`: a cold build of the `clouddc` library (dev profile, a fresh
//! `CARGO_TARGET_DIR=target/bench-build`), then the rebuild after touching the
//! spec, which reruns the code generation in `build.rs`.

use std::fs::File;
use std::time::{Duration, SystemTime};

use super::harness;
use super::{Context, Report, Row, Verdict};
use crate::shell;

const REBUILD_LIMIT_SECONDS: f64 = 15.0;

fn cargo_build(target: &std::path::Path) -> Result<harness::Measured, String> {
    let root = shell::workspace_root();
    let mut command = shell::cargo(&root);
    harness::clean_cargo_env(&mut command)
        .env("CARGO_TARGET_DIR", target)
        .args(["build", "-p", "clouddc"]);
    harness::run_measured(&mut command, Duration::from_secs(3600))?.check("cargo build -p clouddc")
}

pub fn run(_context: &mut Context) -> Result<Report, String> {
    let root = shell::workspace_root();
    let target = root.join("target/bench-build");
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
    }
    eprintln!("bench build: cold build of -p clouddc (several minutes on 2 cores)");
    let cold = cargo_build(&target)?;
    let compiled = cold.stderr.matches("Compiling ").count();

    let spec = root.join(clouddc_codegen::SPEC_PATH);
    File::options()
        .append(true)
        .open(&spec)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .map_err(|e| format!("cannot touch {}: {e}", spec.display()))?;
    eprintln!(
        "bench build: rebuild after touching {}",
        clouddc_codegen::SPEC_PATH
    );
    let rebuild = cargo_build(&target)?;
    let recompiled: Vec<String> = rebuild
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        // The report is committed: no path of this machine goes into it.
        .map(|crate_line| crate_line.replace(&*root.to_string_lossy(), "<repo>"))
        .collect();
    let _ = std::fs::remove_dir_all(&target);

    let cold_s = cold.wall.as_secs_f64();
    let rebuild_s = rebuild.wall.as_secs_f64();
    let rows = vec![
        Row::new(
            "cold build of `-p clouddc` (dev profile)",
            format!("{cold_s:.1} s"),
            "—",
            "—",
            "report",
            Verdict::Report,
        ),
        Row::new(
            "rebuild after `touch openapi/clouddc.yaml`",
            format!("{rebuild_s:.1} s"),
            "—",
            "—",
            format!("≤ {REBUILD_LIMIT_SECONDS:.0} s"),
            Verdict::from_bool(rebuild_s <= REBUILD_LIMIT_SECONDS),
        ),
    ];
    let details = format!(
        "`CARGO_TARGET_DIR=target/bench-build cargo build -p clouddc`, removed first (so every \
dependency is compiled: {compiled} crates, {:.0} s of CPU, user+sys), then `touch {}` and the same \
command again ({:.0} s of CPU), which recompiled: {}. The directory is removed afterwards.\n\n\
A touch reruns the generator in `crates/clouddc/build.rs` but leaves the generated code as it \
was, so the dev profile's incremental compilation reuses most of the crate's work; an edit that \
changes the generated client costs more than this figure.\n",
        cold.cpu.as_secs_f64(),
        clouddc_codegen::SPEC_PATH,
        rebuild.cpu.as_secs_f64(),
        if recompiled.is_empty() {
            "nothing".to_string()
        } else {
            recompiled
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(Report { rows, details })
}

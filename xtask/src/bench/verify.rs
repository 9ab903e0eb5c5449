//! `verify`: what checking a real, compressed archive costs. The simulator's
//! archives are stored-deflate (inflating them is a copy), so the `download`
//! benchmark cannot show it. `bench_verify` (`crates/clouddc-drivers/src/bin/bench_verify.rs`)
//! makes a tar of syslog-like text, the system's `gzip -6` compresses it as
//! `tar -czf` does, and `bench_verify` feeds the bundle from memory through the
//! download pipeline with the gzip check on and off, taking turns. `gzip -t` on
//! the same file is what an SRE would run to check a bundle by hand.

use std::process::Command;
use std::time::{Duration, Instant};

use super::harness;
use super::{Context, Report, Row, Verdict};

/// The bundle's uncompressed size: large enough for steady figures.
const BUNDLE_MIB: &str = "512";
const RUNS: &str = "5";
const GZIP_RUNS: usize = 3;
const RUN_LIMIT: Duration = Duration::from_secs(600);

pub fn run(_context: &mut Context) -> Result<Report, String> {
    let dir = harness::bench_dir().join("verify");
    harness::fresh_dir(&dir)?;
    let tar = dir.join("bundle.tar");
    let made = harness::run_measured(
        Command::new(harness::release_bin("bench_verify"))
            .arg("make")
            .arg(&tar)
            .arg(BUNDLE_MIB),
        RUN_LIMIT,
    )?
    .check("bench_verify make")?;
    let line = made.stdout.trim();
    let uncompressed =
        harness::json_number(line, "bytes").ok_or_else(|| format!("no bytes in {line:?}"))?;
    // The system's gzip, as `tar -czf` runs it: the bundle is the same whatever
    // compressor this workspace links.
    harness::run_measured(
        Command::new("gzip").args(["-6", "-n", "-f"]).arg(&tar),
        RUN_LIMIT,
    )?
    .check("gzip -6")?;
    let bundle = dir.join("bundle.tar.gz");
    let compressed_bytes = std::fs::metadata(&bundle)
        .map_err(|e| format!("{}: {e}", bundle.display()))?
        .len();
    let ratio = uncompressed / compressed_bytes as f64;

    let out = dir.join("out");
    let measured = harness::run_measured(
        Command::new(harness::release_bin("bench_verify"))
            .arg("run")
            .arg(&bundle)
            .arg(&out)
            .arg(RUNS),
        RUN_LIMIT,
    )?
    .check("bench_verify run")?;
    let (mut on, mut off, mut on_cpu, mut off_cpu) = (vec![], vec![], vec![], vec![]);
    for line in measured.stdout.lines() {
        let rate = harness::json_number(line, "mib_per_s")
            .ok_or_else(|| format!("no mib_per_s in {line:?}"))?;
        let cpu =
            harness::json_number(line, "cpu_s").ok_or_else(|| format!("no cpu_s in {line:?}"))?;
        if harness::json_bool(line, "verify") == Some(true) {
            on.push(rate);
            on_cpu.push(cpu);
        } else {
            off.push(rate);
            off_cpu.push(cpu);
        }
    }
    if on.is_empty() || off.is_empty() {
        return Err(format!(
            "bench_verify printed no figures:\n{}",
            measured.stdout
        ));
    }

    let mut gzip = Vec::new();
    for _ in 0..GZIP_RUNS {
        let started = Instant::now();
        harness::run_measured(Command::new("gzip").arg("-t").arg(&bundle), RUN_LIMIT)?
            .check("gzip -t")?;
        gzip.push(harness::mib(compressed_bytes) / started.elapsed().as_secs_f64());
    }

    let (on_m, off_m, gzip_m) = (
        harness::median(&on),
        harness::median(&off),
        harness::median(&gzip),
    );
    let gib = harness::mib(compressed_bytes) / 1024.0;
    let rows = vec![
        Row::new(
            format!("a {ratio:.1}:1 compressed bundle through the download pipeline, gzip checked"),
            format!("{on_m:.0} MiB/s"),
            format!("`--no-verify`: {off_m:.0} MiB/s"),
            format!("{:.2}× unchecked", on_m / off_m),
            "report",
            Verdict::Report,
        ),
        Row::new(
            "the gzip check next to `gzip -t` on the same file",
            format!("{on_m:.0} MiB/s"),
            format!("`gzip -t`: {gzip_m:.0} MiB/s"),
            format!("{:.2}× `gzip -t`", on_m / gzip_m),
            "report",
            Verdict::Report,
        ),
    ];
    let details = format!(
        "A tar of {BUNDLE_MIB} MiB of syslog-like text made by `bench_verify make`, compressed \
by the system's `gzip -6 -n` (as `tar -czf` does): {:.1} MiB, {ratio:.1}:1. It is fed from memory in \
64 KiB chunks through `clouddc::testing::download_to_dir` (SHA-256, the write, the fsync and, \
when on, the inflate and CRC check), so the rate is the pipeline's, not a network's; rates are \
of compressed bytes. {RUNS} runs of each mode, taking turns, after one untimed pair; medians in \
the table.\n\n\
| mode | MiB/s per run | CPU s per run (user+sys) | CPU s per compressed GiB (median) |\n|---|---|---|---|\n\
| gzip checked (default) | {} | {} | {:.1} |\n\
| `--no-verify` | {} | {} | {:.1} |\n\
| `gzip -t` (Debian's gzip) | {} | — | — |\n",
        harness::mib(compressed_bytes),
        harness::figures(&on, 0),
        harness::figures(&on_cpu, 2),
        harness::median(&on_cpu) / gib,
        harness::figures(&off, 0),
        harness::figures(&off_cpu, 2),
        harness::median(&off_cpu) / gib,
        harness::figures(&gzip, 0),
    );
    harness::fresh_dir(&dir)?;
    Ok(Report { rows, details })
}

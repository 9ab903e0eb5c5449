//! `rerun`: `clouddc logs collect` run again over a directory it completed, next
//! to the fresh run that filled it. The re-run verifies every archive against
//! its journal (length and sha256) and should make no request at all; it is
//! pointed at a second, fresh simulator so that any request it did make would
//! show in that simulator's counts.
//!
//! `CLOUDDC_BENCH_RERUN_SERVERS` makes it smaller (the default is 1,000).

use std::path::Path;
use std::time::Duration;

use super::harness::{self, Measured};
use super::{Context, Report, Row, Verdict};

const SERVERS: usize = 1000;
const EXPORT_SECONDS: &str = "1";
const ARCHIVE_BYTES: u64 = 256 << 10;
const CONCURRENCY: &str = "256";

/// The requests a simulator's `stats` line counts.
fn requests(stats: &str) -> Result<u64, String> {
    ["export_requests", "status_requests", "download_requests"]
        .iter()
        .map(|key| {
            harness::json_number(stats, key)
                .map(|n| n as u64)
                .ok_or_else(|| format!("no {key} in the simulator's stats {stats:?}"))
        })
        .sum()
}

/// Runs one collect of the list into `out` against `sim`; returns the run and
/// the requests the simulator answered (the simulator is stopped).
fn collect(
    log_name: &str,
    list: &Path,
    out: &Path,
    servers: usize,
) -> Result<(Measured, u64), String> {
    let mut sim = harness::Sim::start(
        log_name,
        &[
            "--archive-bytes",
            &ARCHIVE_BYTES.to_string(),
            "--export-seconds",
            EXPORT_SECONDS,
        ],
    )?;
    harness::sync();
    let measured = harness::run_measured(
        sim.client()
            .args(["--format", "json", "-q", "logs", "collect"])
            .args(["--concurrency", CONCURRENCY, "--timeout", "300s"])
            .arg("--servers-file")
            .arg(list)
            .arg("-o")
            .arg(out),
        Duration::from_secs(600),
    )?
    .check("clouddc logs collect")?;
    sim.server.check_alive()?;
    harness::check_all_collected(&measured.stdout, servers)?;
    let stats = sim
        .server
        .interrupt_for_line("stats ", Duration::from_secs(30))?;
    Ok((measured, requests(&stats)?))
}

pub fn run(_context: &mut Context) -> Result<Report, String> {
    let servers = std::env::var("CLOUDDC_BENCH_RERUN_SERVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SERVERS);
    let dir = harness::bench_dir().join("rerun");
    harness::fresh_dir(&dir)?;
    let list = dir.join("servers.txt");
    let names: Vec<String> = (1..=servers).map(|i| format!("srv-{i:04}")).collect();
    std::fs::write(&list, names.join("\n") + "\n").map_err(|e| e.to_string())?;
    let out = dir.join("logs");

    let (fresh, fresh_requests) = collect("rerun-fresh-sim", &list, &out, servers)?;
    let (again, again_requests) = collect("rerun-again-sim", &list, &out, servers)?;
    let resumed = again.stdout.matches("\"resumed\":true").count();
    harness::fresh_dir(&dir)?;
    if resumed != servers {
        return Err(format!(
            "the re-run skipped {resumed} of {servers} complete archives"
        ));
    }

    let fresh_s = fresh.wall.as_secs_f64();
    let again_s = again.wall.as_secs_f64();
    let rows = vec![
        Row::new(
            format!("`logs collect` re-run over {servers} complete archives"),
            format!("{again_s:.2} s"),
            format!("fresh run: {fresh_s:.1} s"),
            format!("{:.3}× the fresh run", again_s / fresh_s),
            "—",
            Verdict::Report,
        ),
        Row::new(
            "requests made by that re-run",
            again_requests.to_string(),
            format!("fresh run: {fresh_requests}"),
            "—",
            "0",
            Verdict::from_bool(again_requests == 0),
        ),
    ];
    let details = format!(
        "`clouddc sim --export-seconds {EXPORT_SECONDS} --archive-bytes {ARCHIVE_BYTES}`; \
`clouddc --format json logs collect --concurrency {CONCURRENCY} --servers-file FILE -o DIR` with \
{servers} servers, then the same command again on the same DIR. The re-run read the journal, \
re-hashed every archive ({} MiB) and reported all {resumed} as `\"resumed\":true`. It was pointed \
at a second, fresh simulator, whose `stats` line counts every request it made \
(export + status + download). Wall times are whole processes; CPU (user+sys): fresh {:.1} s, \
re-run {:.2} s; peak RSS: fresh {:.1} MiB, re-run {:.1} MiB.\n",
        harness::mib(ARCHIVE_BYTES * servers as u64),
        fresh.cpu.as_secs_f64(),
        again.cpu.as_secs_f64(),
        fresh.max_rss_mib(),
        again.max_rss_mib(),
    );
    Ok(Report { rows, details })
}

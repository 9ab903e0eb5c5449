//! `fleet`: `clouddc logs collect` of 1,000 servers against a simulator whose
//! exports take 5 s and whose archives are 1 MiB, at concurrency 256, against
//! the ideal: every export running at once, then every byte at the download rate
//! `clouddc logs download` reached in the same run.

use std::time::Duration;

use super::download::{clouddc_download, sim_with_export};
use super::harness::{self, mib};
use super::{Context, Report, Row, Verdict};

const SERVERS: usize = 1000;
const EXPORT_SECONDS: f64 = 5.0;
const ARCHIVE_BYTES: u64 = 1 << 20;
const CONCURRENCY: &str = "256";
const RATIO_LIMIT: f64 = 1.25;
const CALLS_LIMIT: f64 = 4.0;
const RSS_LIMIT_MIB: f64 = 128.0;
/// The archive used to measure the download rate when `download` did not run.
const RATE_PROBE_BYTES: u64 = 1 << 30;
/// How many probe downloads give the rate: their median, since one slow
/// download (277 MiB/s against a usual 800–900) once halved an ideal.
const RATE_PROBES: usize = 3;

/// The download rate of this run, measured now when the download benchmark did
/// not run before.
pub(super) fn download_rate(context: &mut Context) -> Result<(f64, &'static str), String> {
    if let Some(rate) = context.download_mib_per_s {
        return Ok((rate, "the median of the `download` benchmark in this run"));
    }
    eprintln!("bench fleet: measuring the download rate (1 GiB, {RATE_PROBES} times)");
    let (sim, export_id) = sim_with_export("fleet-rate-sim", RATE_PROBE_BYTES)?;
    let dir = harness::bench_dir().join("fleet-rate");
    let mut rates = Vec::with_capacity(RATE_PROBES);
    for _ in 0..RATE_PROBES {
        rates.push(clouddc_download(&sim, &export_id, &dir, RATE_PROBE_BYTES)?.0);
    }
    harness::fresh_dir(&dir)?;
    Ok((
        harness::median(&rates),
        "three 1 GiB `clouddc logs download`s measured in this run (their median; the `download` benchmark did not run)",
    ))
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let (rate, rate_source) = download_rate(context)?;
    let mut sim = harness::Sim::start(
        "fleet-sim",
        &[
            "--archive-bytes",
            &ARCHIVE_BYTES.to_string(),
            "--export-seconds",
            &EXPORT_SECONDS.to_string(),
        ],
    )?;
    let dir = harness::bench_dir().join("fleet");
    harness::fresh_dir(&dir)?;
    harness::settle_removals();
    let servers: Vec<String> = (1..=SERVERS).map(|i| format!("srv-{i:04}")).collect();
    let list = harness::bench_dir().join("fleet-servers.txt");
    std::fs::write(&list, servers.join("\n") + "\n").map_err(|e| e.to_string())?;
    let out = dir.join("logs");
    harness::sync();
    let measured = harness::run_measured(
        sim.client()
            .args(["--format", "json", "-q", "logs", "collect"])
            .args(["--concurrency", CONCURRENCY, "--timeout", "300s"])
            .arg("--servers-file")
            .arg(&list)
            .arg("-o")
            .arg(&out),
        Duration::from_secs(600),
    )?
    .check("clouddc logs collect")?;
    sim.server.check_alive()?;
    harness::check_all_collected(&measured.stdout, SERVERS)?;
    let files = std::fs::read_dir(&out).map_or(0, |d| d.count());
    // A fresh simulator served only this run: all its status calls are the run's.
    let stats = sim
        .server
        .interrupt_for_line("stats ", Duration::from_secs(30))?;
    let status_calls = harness::json_number(&stats, "status_requests")
        .map(|n| n as u64)
        .ok_or_else(|| format!("no status_requests in the simulator's stats {stats:?}"))?;
    harness::fresh_dir(&dir)?;

    let total_mib = mib(ARCHIVE_BYTES * SERVERS as u64);
    let ideal = EXPORT_SECONDS + total_mib / rate;
    let took = measured.wall.as_secs_f64();
    let ratio = took / ideal;
    let rss = measured.max_rss_mib();
    let calls = status_calls as f64 / SERVERS as f64;
    let mut rows = vec![Row::new(
        "`logs collect`, 1,000 servers, 5 s exports, 1 MiB, concurrency 256",
        format!("{took:.1} s"),
        format!("ideal: {ideal:.1} s"),
        format!("{ratio:.2}× ideal"),
        format!("≤ {RATIO_LIMIT}× ideal"),
        Verdict::from_bool(ratio <= RATIO_LIMIT),
    )];
    rows.push(Row::new(
        "status calls per export",
        format!("{calls:.2}"),
        "—",
        "—",
        format!("≤ {CALLS_LIMIT:.0}"),
        Verdict::from_bool(calls <= CALLS_LIMIT),
    ));
    rows.push(Row::new(
        "peak RSS of that `logs collect`",
        format!("{rss:.1} MiB"),
        "—",
        "—",
        format!("≤ {RSS_LIMIT_MIB:.0} MiB"),
        Verdict::from_bool(rss <= RSS_LIMIT_MIB),
    ));
    let mut details = format!(
        "`clouddc sim --export-seconds {EXPORT_SECONDS} --archive-bytes {ARCHIVE_BYTES}` (no throttle, \
no faults); `clouddc --format json logs collect --concurrency {CONCURRENCY} --servers-file FILE` \
with {SERVERS} servers (256 export calls at once, downloads at the default \
`--max-downloads 16`); all {SERVERS} archives arrived ({files} files). The wall time is the whole \
process, from spawning to reaping; it used {:.1} s of CPU (user+sys).\n\n\
The ideal is {EXPORT_SECONDS} s of export plus {total_mib:.0} MiB at {rate:.0} MiB/s, the rate of \
{rate_source}: {EXPORT_SECONDS} + {:.1} = {ideal:.1} s.\n",
        measured.cpu.as_secs_f64(),
        total_mib / rate,
    );
    details.push_str(&format!(
        "\nStatus calls per export: {status_calls} `ShowLogsExportStatus` requests answered by the \
simulator (its `stats` line on SIGINT) over {SERVERS} exports.\n"
    ));
    Ok(Report { rows, details })
}

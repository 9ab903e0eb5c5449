//! `fleet-all`: `clouddc logs collect --all` over a seeded inventory of 100,
//! 1,000 and 10,000 servers (`CLOUDDC_BENCH_FLEET_ALL_SIZES` picks others), with
//! the simulator answering every request after 50 ms as a WAN would; and
//! `clouddc servers list` of the largest inventory at `limit` 1000 against the
//! official Python SDK's loop over the same pages.
//!
//! The ideal of a collection is the slowest export plus every byte at the
//! download rate `clouddc logs download` reached in this run.
//!
//! `CLOUDDC_BENCH_FLEET_ALL_MAX_DOWNLOADS` changes `--max-downloads` (256), to
//! see what more archives at once buy in time and cost in memory.

use std::time::Duration;

use super::harness::{self, AK, PROJECT, SK, mib};
use super::{Context, Report, Row, Verdict, fleet};

const SIZES: &[usize] = &[100, 1000, 10_000];
const LATENCY: &str = "50ms";
const EXPORT_SECONDS: f64 = 5.0;
/// Small archives: 10,000 of them must fit the benchmark's disk.
const ARCHIVE_BYTES: u64 = 64 * 1024;
/// Requests in flight: at 50 ms each, 10,000 servers' 40,000 calls take 2 s
/// at this many, where 256 would take 8 s, more than the whole ideal.
const CONCURRENCY: &str = "1024";
/// Archives streaming at once: on a WAN a small archive's time is mostly its
/// round trip, which the default of 16 would serialise (10,000 × 50 ms / 16 =
/// 31 s), as the first run of this benchmark showed (39 s, 6.7× ideal). At 512
/// the 10,000-server run's peak RSS passes the 256 MiB target.
const MAX_DOWNLOADS: usize = 256;
const RATIO_LIMIT: f64 = 1.3;
const CALLS_LIMIT: f64 = 4.0;
const RSS_LIMIT_MIB: f64 = 256.0;

/// The `--max-downloads` of this run: [`MAX_DOWNLOADS`], or
/// `CLOUDDC_BENCH_FLEET_ALL_MAX_DOWNLOADS` to see the trade of memory for time.
fn max_downloads() -> Result<usize, String> {
    match std::env::var("CLOUDDC_BENCH_FLEET_ALL_MAX_DOWNLOADS") {
        Err(_) => Ok(MAX_DOWNLOADS),
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=4096).contains(n))
            .ok_or_else(|| {
                format!("CLOUDDC_BENCH_FLEET_ALL_MAX_DOWNLOADS: {text:?} is not 1..=4096")
            }),
    }
}

/// The inventory sizes of this run.
fn sizes() -> Result<Vec<usize>, String> {
    match std::env::var("CLOUDDC_BENCH_FLEET_ALL_SIZES") {
        Err(_) => Ok(SIZES.to_vec()),
        Ok(text) => text
            .split(',')
            .map(|n| {
                n.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| {
                        format!("CLOUDDC_BENCH_FLEET_ALL_SIZES: {n:?} is not 1..=100000")
                    })
            })
            .collect(),
    }
}

fn sim(servers: usize) -> Result<harness::Sim, String> {
    harness::Sim::start(
        &format!("fleet-all-sim-{servers}"),
        &[
            "--servers",
            &servers.to_string(),
            "--latency",
            LATENCY,
            "--archive-bytes",
            &ARCHIVE_BYTES.to_string(),
            "--export-seconds",
            &EXPORT_SECONDS.to_string(),
        ],
    )
}

/// One `collect --all`: its rows and a line of the cost curve.
fn collect_all(
    servers: usize,
    rate: f64,
    max_downloads: usize,
) -> Result<(Vec<Row>, String), String> {
    let mut sim = sim(servers)?;
    // A directory of its own, removed only after every run, and none removed
    // lately (see `harness::remove_many`).
    let dir = harness::bench_dir()
        .join("fleet-all")
        .join(servers.to_string());
    harness::fresh_dir(&dir)?;
    harness::sync();
    let started_ms = harness::now_ms();
    let sampler = harness::CpuSampler::start();
    let measured = harness::run_measured(
        sim.client()
            .args(["--format", "json", "-q", "logs", "collect", "--all"])
            .args([
                "--concurrency",
                CONCURRENCY,
                "--max-downloads",
                &max_downloads.to_string(),
            ])
            .args(["--timeout", "600s", "-o"])
            .arg(&dir),
        Duration::from_secs(1800),
    )?
    .check("clouddc logs collect --all");
    let samples = sampler.stop();
    let measured = measured?;
    sim.server.check_alive()?;
    harness::check_all_collected(&measured.stdout, servers)?;
    let sim_cpu = sim.server.cpu_seconds();
    let stats = sim
        .server
        .interrupt_for_line("stats ", Duration::from_secs(30))?;
    let count = |key: &str| {
        harness::json_number(&stats, key)
            .ok_or_else(|| format!("no {key} in the simulator's stats {stats:?}"))
    };
    let status_calls = count("status_requests")?;
    let log_requests = count("export_requests")? + status_calls + count("download_requests")?;
    // ListServers pages of 1,000 (the client's page size).
    let pages = servers.div_ceil(1000) as f64;
    let per_server = (log_requests + pages) / servers as f64;
    let ideal = EXPORT_SECONDS + mib(ARCHIVE_BYTES * servers as u64) / rate;
    let took = measured.wall.as_secs_f64();
    let ratio = took / ideal;
    let calls = status_calls / servers as f64;
    let rss = measured.max_rss_mib();
    let rows = vec![
        Row::new(
            format!("`logs collect --all`, {servers} servers, {LATENCY} latency"),
            format!("{took:.1} s"),
            format!("ideal: {ideal:.1} s"),
            format!("{ratio:.2}× ideal"),
            format!("≤ {RATIO_LIMIT}× ideal"),
            Verdict::from_bool(ratio <= RATIO_LIMIT),
        ),
        Row::new(
            format!("status calls per export, {servers} servers"),
            format!("{calls:.2}"),
            "—",
            "—",
            format!("≤ {CALLS_LIMIT:.0}"),
            Verdict::from_bool(calls <= CALLS_LIMIT),
        ),
        Row::new(
            format!("peak RSS, {servers} servers"),
            format!("{rss:.1} MiB"),
            "—",
            "—",
            format!("≤ {RSS_LIMIT_MIB:.0} MiB"),
            Verdict::from_bool(rss <= RSS_LIMIT_MIB),
        ),
    ];
    let phases = Phases::read(&stats, started_ms, &samples);
    let cpu = match sim_cpu {
        Some(sim) => format!("{:.1} + {sim:.1} s", measured.cpu.as_secs_f64()),
        None => format!("{:.1} s + not read", measured.cpu.as_secs_f64()),
    };
    let curve = format!(
        "| {servers} | {took:.1} s | {ratio:.2}× | {rss:.1} MiB | {per_server:.2} | {} | {} | {cpu} | {} |\n",
        phases.exports, phases.downloads, phases.busy_downloading
    );
    Ok((rows, curve))
}

/// When the simulator saw a run's export and download requests arrive, in
/// seconds after the client was started, as `first–last`.
/// With how busy the machine's CPUs were while the downloads arrived.
struct Phases {
    exports: String,
    downloads: String,
    busy_downloading: String,
}

impl Phases {
    fn read(stats: &str, started_ms: u64, samples: &[harness::CpuSample]) -> Self {
        let parsed: serde_json::Value = serde_json::from_str(stats.trim()).unwrap_or_default();
        let window = |key: &str| {
            let at = |end: &str| parsed[key][end].as_u64();
            at("first_ms").zip(at("last_ms"))
        };
        let shown = |window: Option<(u64, u64)>| match window {
            Some((first, last)) => {
                let since = |ms: u64| ms.saturating_sub(started_ms) as f64 / 1000.0;
                format!("{:.1}–{:.1} s", since(first), since(last))
            }
            None => "—".to_string(),
        };
        let downloads = window("download_window");
        let busy = downloads
            .and_then(|(first, last)| harness::busy_between(samples, first, last))
            .map_or_else(|| "—".to_string(), |busy| format!("{:.0}%", busy * 100.0));
        Self {
            exports: shown(window("export_window")),
            downloads: shown(downloads),
            busy_downloading: busy,
        }
    }
}

/// `clouddc servers list` against the official SDK's loop, both at limit 1000.
fn list(servers: usize) -> Result<(Row, String), String> {
    let sim = sim(servers)?;
    let ours = harness::run_measured(
        sim.client().args(["--format", "json", "servers", "list"]),
        Duration::from_secs(600),
    )?
    .check("clouddc servers list")?;
    let python = crate::vendor::pinned_python()?;
    let script = crate::shell::workspace_root().join("xtask/vendor/sdk_list_servers.py");
    let theirs = harness::run_measured(
        std::process::Command::new(python)
            .arg(script)
            .args([sim.url(), AK, SK, PROJECT, "1000"]),
        Duration::from_secs(600),
    )?
    .check("the official SDK's server list")?;
    let (a, b) = (ours.wall.as_secs_f64(), theirs.wall.as_secs_f64());
    let row = Row::new(
        format!("`servers list`, {servers} servers, limit 1000, {LATENCY} latency"),
        format!("{a:.2} s, {:.1} MiB", ours.max_rss_mib()),
        format!("official SDK: {b:.2} s, {:.1} MiB", theirs.max_rss_mib()),
        format!("{:.2}× the SDK's time", a / b),
        "—",
        Verdict::Report,
    );
    Ok((row, format!("{a:.2} s against {b:.2} s")))
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let sizes = sizes()?;
    let max_downloads = max_downloads()?;
    let dirs = harness::bench_dir().join("fleet-all");
    harness::remove_many(&dirs)?;
    let (rate, rate_source) = fleet::download_rate(context)?;
    harness::settle_removals();
    let mut rows = Vec::new();
    let mut curve = String::from(
        "| servers | time | ratio to ideal | peak RSS | requests per server | export calls arrived | download calls arrived | CPU: client + simulator | CPUs busy while downloads arrived |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for &servers in &sizes {
        eprintln!("bench fleet-all: collect --all of {servers} servers");
        let (mut more, line) = collect_all(servers, rate, max_downloads)?;
        rows.append(&mut more);
        curve.push_str(&line);
    }
    harness::remove_many(&dirs)?;
    let largest = sizes.iter().copied().max().unwrap_or(SIZES[0]);
    let (row, versus) = list(largest)?;
    rows.push(row);
    let details = format!(
        "`clouddc sim --servers N --latency {LATENCY} --export-seconds {EXPORT_SECONDS} \
--archive-bytes {ARCHIVE_BYTES}` (no throttle, no faults), then `clouddc --format json logs \
collect --all --concurrency {CONCURRENCY} --max-downloads {max_downloads}` into a new \
directory: the server list comes from `ListServers` (pages of \
1,000), every request waits {LATENCY} in the simulator. The ideal is the {EXPORT_SECONDS} s export \
plus every byte at {rate:.0} MiB/s, the rate of {rate_source}.\n\n\
Cost curve (requests per server: export, status and download calls the simulator counted, plus \
the listing's pages, over the servers; when the first and the last export and download call \
reached the simulator, in seconds after the client started; the CPU time, user plus system, of \
the client and of the simulator, which share the machine's cores; and how busy all of the \
machine's CPUs were, sampled every 100 ms, from the first download call's arrival to the \
last's):\n\n{curve}\n\
`clouddc --format json servers list` of {largest} servers against `xtask/vendor/sdk_list_servers.py` \
(the official SDK's `list_servers` loop over `next_marker`, limit 1000, AK/SK): {versus}.\n"
    );
    Ok(Report { rows, details })
}

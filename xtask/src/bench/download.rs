//! `download`: one 1 GiB archive from the simulator to a file, with
//! `clouddc logs download`, `curl -o` and the official Python SDK, each run
//! [`RUNS`] times in turn; the medians are compared.
//!
//! Every rate is the archive's size over the time the whole process took, from
//! spawning to reaping, except the Python SDK's, which is the figure the peer
//! prints itself (from its request to the end of its writes: it leaves out the
//! interpreter's start, which favours the SDK). Dirty pages are flushed with
//! `sync` before each run, untimed, so no run pays for another's writeback.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::harness::{self, Measured, Sim, TOKEN, median, mib};
use super::{Context, Report, Row, Verdict};

const ARCHIVE_BYTES: u64 = 1 << 30;
const RUNS: usize = 5;
const SERVER: &str = "srv-0001";
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// `clouddc logs download` of `export_id` into `dir`, checked; returns the rate
/// in MiB/s and the measurement.
pub fn clouddc_download(
    sim: &Sim,
    export_id: &str,
    dir: &Path,
    bytes: u64,
) -> Result<(f64, Measured), String> {
    harness::fresh_dir(dir)?;
    harness::sync();
    let measured = harness::run_measured(
        sim.client()
            .args([
                "--format", "json", "-q", "logs", "download", SERVER, export_id,
            ])
            .arg("-o")
            .arg(dir),
        RUN_LIMIT,
    )?
    .check("clouddc logs download")?;
    let status = harness::json_string(&measured.stdout, "status");
    let got = harness::json_number(&measured.stdout, "bytes");
    if status.as_deref() != Some("ok") || got != Some(bytes as f64) {
        return Err(format!(
            "clouddc logs download did not report {bytes} bytes: {}",
            measured.stdout.trim()
        ));
    }
    Ok((mib(bytes) / measured.wall.as_secs_f64(), measured))
}

/// Starts a simulator serving `bytes`-byte archives and a completed export,
/// downloaded once (untimed).
pub fn sim_with_export(log_name: &str, bytes: u64) -> Result<(Sim, String), String> {
    let sim = Sim::start(
        log_name,
        &[
            "--archive-bytes",
            &bytes.to_string(),
            "--export-seconds",
            "0.5",
        ],
    )?;
    let export_id = sim.completed_export(SERVER)?;
    // One untimed transfer first, so no client pays for the simulator's first
    // request (whatever it prepares or caches) in its figures.
    harness::run_measured(
        Command::new("curl")
            .args(["-sS", "--fail", "-H", &format!("X-Auth-Token: {TOKEN}")])
            .args(["-o", "/dev/null"])
            .arg(sim.content_url(SERVER, &export_id)),
        RUN_LIMIT,
    )?
    .check("curl (warm-up)")?;
    Ok((sim, export_id))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let dir = harness::bench_dir().join("download");
    let (mut sim, export_id) = sim_with_export("download-sim", ARCHIVE_BYTES)?;
    let url = sim.content_url(SERVER, &export_id);
    let peer_version = context.peer()?.sdk_version();

    let mut ours = Vec::new();
    let mut ours_cpu = Vec::new();
    let mut ours_rss = Vec::new();
    let mut curl = Vec::new();
    let mut curl_cpu = Vec::new();
    let mut curl_fsync = Vec::new();
    let mut peer = Vec::new();
    let mut peer_wall = Vec::new();
    let mut peer_rss = Vec::new();
    for run in 1..=RUNS {
        eprintln!("bench download: run {run}/{RUNS}");
        let (rate, measured) = clouddc_download(&sim, &export_id, &dir, ARCHIVE_BYTES)?;
        ours.push(rate);
        ours_cpu.push(measured.cpu.as_secs_f64());
        ours_rss.push(measured.max_rss_mib());

        harness::fresh_dir(&dir)?;
        harness::sync();
        let file = dir.join("curl.tar.gz");
        let measured = harness::run_measured(
            Command::new("curl")
                .args([
                    "-sS",
                    "--fail",
                    "-H",
                    &format!("X-Auth-Token: {TOKEN}"),
                    "-o",
                ])
                .arg(&file)
                .arg(&url),
            RUN_LIMIT,
        )?
        .check("curl -o")?;
        if file_len(&file) != ARCHIVE_BYTES {
            return Err(format!("curl wrote {} bytes", file_len(&file)));
        }
        curl.push(mib(ARCHIVE_BYTES) / measured.wall.as_secs_f64());
        curl_cpu.push(measured.cpu.as_secs_f64());
        // For the record only: what making curl's file durable costs, since
        // clouddc fsyncs before its rename and curl does not.
        let t = Instant::now();
        harness::run_measured(Command::new("sync").arg(&file), RUN_LIMIT)?.check("sync FILE")?;
        curl_fsync.push(mib(ARCHIVE_BYTES) / (measured.wall + t.elapsed()).as_secs_f64());

        harness::fresh_dir(&dir)?;
        harness::sync();
        let file = dir.join("peer.tar.gz");
        let mut command = context.peer()?.command(&sim, SERVER);
        command
            .args(["--download-only", &export_id, "--out"])
            .arg(&file);
        let measured =
            harness::run_measured(&mut command, RUN_LIMIT)?.check("the Python SDK peer")?;
        let done = harness::line_with(&measured.stdout, "download-done")
            .ok_or_else(|| format!("no download-done line from the peer:\n{}", measured.stdout))?;
        let rate = harness::json_number(done, "mib_per_s")
            .ok_or_else(|| format!("no mib_per_s in {done:?}"))?;
        if harness::json_number(done, "bytes") != Some(ARCHIVE_BYTES as f64) {
            return Err(format!(
                "the peer did not download {ARCHIVE_BYTES} bytes: {done}"
            ));
        }
        peer.push(rate);
        peer_wall.push(mib(ARCHIVE_BYTES) / measured.wall.as_secs_f64());
        peer_rss.push(measured.max_rss_mib());
    }
    sim.server.check_alive()?;
    drop(sim);
    harness::fresh_dir(&dir)?;

    let ours_m = median(&ours);
    let curl_m = median(&curl);
    let peer_m = median(&peer);
    context.download_mib_per_s = Some(ours_m);
    let vs_curl = ours_m / curl_m;
    let vs_peer = ours_m / peer_m;
    let rows = vec![
        Row::new(
            "1 GiB to a file vs curl",
            format!("{ours_m:.0} MiB/s"),
            format!("`curl -o`: {curl_m:.0} MiB/s"),
            format!("{vs_curl:.2}× curl"),
            "≥ 0.9× curl",
            Verdict::from_bool(vs_curl >= 0.9),
        ),
        Row::new(
            "1 GiB to a file vs Python SDK",
            format!("{ours_m:.0} MiB/s"),
            format!("Python SDK {peer_version}: {peer_m:.0} MiB/s"),
            format!("{vs_peer:.1}× Python SDK"),
            "≥ 2× Python SDK",
            Verdict::from_bool(vs_peer >= 2.0),
        ),
    ];
    let mut details = format!(
        "One archive of {} MiB from `clouddc sim` (`--archive-bytes {ARCHIVE_BYTES}`), {RUNS} runs of each \
client in turn after one untimed warm-up transfer; medians in the table.\n\n\
| client | MiB/s per run | CPU s per run (user+sys) | peak RSS MiB per run |\n|---|---|---|---|\n\
| `clouddc logs download` (token; whole process) | {} | {} | {} |\n\
| `curl -sS --fail -o` (token; whole process) | {} | {} | — |\n\
| `curl -o` then `sync FILE` (for the record; clouddc fsyncs before its rename) | {} | — | — |\n\
| Python SDK `peer_client.py --download-only` (AK/SK; its own `mib_per_s`) | {} | — | {} |\n\
| the same, whole process including the interpreter's start | {} | — | — |\n",
        ARCHIVE_BYTES >> 20,
        harness::figures(&ours, 0),
        harness::figures(&ours_cpu, 1),
        harness::figures(&ours_rss, 1),
        harness::figures(&curl, 0),
        harness::figures(&curl_cpu, 1),
        harness::figures(&curl_fsync, 0),
        harness::figures(&peer, 0),
        harness::figures(&peer_rss, 1),
        harness::figures(&peer_wall, 0),
    );
    if vs_curl < 0.9 {
        details.push_str(&format!(
            "\nMissed against curl: clouddc needed {:.1} s of CPU per GiB against curl's {:.1} s. \
Besides moving the bytes it computes the SHA-256 of the archive, inflates it to check the gzip \
stream, and fsyncs the file before renaming it into place (`curl -o` does none of these; \
with a `sync` of its file, curl ran at {:.0} MiB/s). On 2 cores those stages compete with the \
socket reads for CPU.\n",
            median(&ours_cpu),
            median(&curl_cpu),
            median(&curl_fsync)
        ));
    }
    Ok(Report { rows, details })
}

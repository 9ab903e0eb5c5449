//! `download`: one archive (1 GiB) from the simulator to a file, timed as a
//! user sees it: whole processes, from spawning to reaping, in alternating
//! pairs. `clouddc logs download` is paired with each of the official Python
//! SDK's plain download, the SDK with `--sha256` and a `sync` of its file (the
//! same guarantees as `clouddc --fsync`), `curl -o`, `curl -o` with `sync`, and
//! clouddc's own durability options (`--fsync`; one `sync -f` of the directory
//! afterwards, as a collect's single `syncfs` would); each pair runs in turn,
//! the order swapped every time. Medians of wall time, CPU time (user+sys, of
//! the process and its children) and peak RSS, and the ratios of the medians.
//! One more run of clouddc under `strace -f -c` counts its syscalls.
//!
//! Dirty pages are flushed with `sync` before each run, untimed, so no run pays
//! for another's writeback. `XTASK_BENCH_DOWNLOAD_MIB` and `XTASK_BENCH_PAIRS`
//! shrink the run to check the harness; the figures of record are 1 GiB and 5
//! pairs on a quiet machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::harness::{self, Measured, Sim, TOKEN, median, mib};
use super::syscalls;
use super::{Context, Report, Row, Verdict};

const ARCHIVE_BYTES: u64 = 1 << 30;
const PAIRS: usize = 5;
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
    clouddc_download_with(sim, export_id, dir, bytes, &[])
}

/// `clouddc logs download` as [`clouddc_download`], with `extra` flags.
fn clouddc_download_with(
    sim: &Sim,
    export_id: &str,
    dir: &Path,
    bytes: u64,
    extra: &[&str],
) -> Result<(f64, Measured), String> {
    harness::fresh_dir(dir)?;
    harness::sync();
    let measured =
        harness::run_measured(&mut clouddc_command(sim, export_id, dir, extra), RUN_LIMIT)?
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

/// The `clouddc logs download` command line.
fn clouddc_command(sim: &Sim, export_id: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut command = sim.client();
    command
        .args([
            "--format", "json", "-q", "logs", "download", SERVER, export_id,
        ])
        .args(extra)
        .arg("-o")
        .arg(dir);
    command
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

/// A whole number from the environment, or `default`.
fn from_env(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name}={text:?} is not a whole number above 0")),
        Err(_) => Ok(default),
    }
}

/// What one run of one contender cost.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_mib: f64,
}

impl Sample {
    fn of(measured: &Measured) -> Self {
        Self {
            wall: measured.wall.as_secs_f64(),
            cpu: measured.cpu.as_secs_f64(),
            rss_mib: measured.max_rss_mib(),
        }
    }

    /// This run followed by `then` (a `sync`): times add up, the peak is the
    /// larger one.
    fn and(self, then: &Measured) -> Self {
        Self {
            wall: self.wall + then.wall.as_secs_f64(),
            cpu: self.cpu + then.cpu.as_secs_f64(),
            rss_mib: self.rss_mib.max(then.max_rss_mib()),
        }
    }
}

/// Every program `clouddc logs download` is paired with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Other {
    Sdk,
    SdkSha256Sync,
    Curl,
    CurlSync,
    ClouddcFsync,
    ClouddcSyncfs,
}

impl Other {
    const ALL: [Other; 6] = [
        Other::Sdk,
        Other::SdkSha256Sync,
        Other::Curl,
        Other::CurlSync,
        Other::ClouddcFsync,
        Other::ClouddcSyncfs,
    ];

    fn label(self) -> &'static str {
        match self {
            Other::Sdk => "Python SDK `peer_client.py --download-only`",
            Other::SdkSha256Sync => "Python SDK `--sha256`, then `sync FILE`",
            Other::Curl => "`curl -o`",
            Other::CurlSync => "`curl -o`, then `sync FILE`",
            Other::ClouddcFsync => "`clouddc logs download --fsync`",
            Other::ClouddcSyncfs => "`clouddc logs download`, then `sync -f DIR` (syncfs)",
        }
    }
}

/// What every run needs.
struct Bench<'a> {
    sim: &'a Sim,
    export_id: String,
    url: String,
    dir: PathBuf,
    bytes: u64,
    peer: &'a harness::Peer,
}

impl Bench<'_> {
    fn clouddc(&self, extra: &[&str]) -> Result<Sample, String> {
        let (_, measured) =
            clouddc_download_with(self.sim, &self.export_id, &self.dir, self.bytes, extra)?;
        Ok(Sample::of(&measured))
    }

    /// `sync FILE` (an fsync of the file) or `sync -f DIR` (a syncfs).
    fn sync(&self, args: &[&Path]) -> Result<Measured, String> {
        harness::run_measured(Command::new("sync").args(args), RUN_LIMIT)?.check("sync")
    }

    fn curl(&self) -> Result<(Sample, PathBuf), String> {
        harness::fresh_dir(&self.dir)?;
        harness::sync();
        let file = self.dir.join("curl.tar.gz");
        let measured = harness::run_measured(
            Command::new("curl")
                .args(["-sS", "--fail", "-H", &format!("X-Auth-Token: {TOKEN}")])
                .arg("-o")
                .arg(&file)
                .arg(&self.url),
            RUN_LIMIT,
        )?
        .check("curl -o")?;
        if file_len(&file) != self.bytes {
            return Err(format!("curl wrote {} bytes", file_len(&file)));
        }
        Ok((Sample::of(&measured), file))
    }

    /// The peer's download; returns its run, its file and its own MiB/s.
    fn sdk(&self, sha256: bool) -> Result<(Sample, PathBuf, f64), String> {
        harness::fresh_dir(&self.dir)?;
        harness::sync();
        let file = self.dir.join("peer.tar.gz");
        let mut command = self.peer.command(self.sim, SERVER);
        command
            .args(["--download-only", &self.export_id, "--out"])
            .arg(&file);
        if sha256 {
            command.arg("--sha256");
        }
        let measured =
            harness::run_measured(&mut command, RUN_LIMIT)?.check("the Python SDK peer")?;
        let done = harness::line_with(&measured.stdout, "download-done")
            .ok_or_else(|| format!("no download-done line from the peer:\n{}", measured.stdout))?;
        if harness::json_number(done, "bytes") != Some(self.bytes as f64) {
            return Err(format!(
                "the peer did not download {} bytes: {done}",
                self.bytes
            ));
        }
        let rate = harness::json_number(done, "mib_per_s").unwrap_or(f64::NAN);
        Ok((Sample::of(&measured), file, rate))
    }

    fn other(&self, other: Other, extras: &mut Extras) -> Result<Sample, String> {
        Ok(match other {
            Other::Sdk => {
                let (sample, file, rate) = self.sdk(false)?;
                extras.sdk_rate.push(rate);
                // The file is in the page cache: this is hashing's CPU alone.
                let hashed =
                    harness::run_measured(Command::new("sha256sum").arg(&file), RUN_LIMIT)?
                        .check("sha256sum")?;
                extras.sha256sum_cpu.push(hashed.cpu.as_secs_f64());
                sample
            }
            Other::SdkSha256Sync => {
                let (sample, file, _) = self.sdk(true)?;
                sample.and(&self.sync(&[&file])?)
            }
            Other::Curl => self.curl()?.0,
            Other::CurlSync => {
                let (sample, file) = self.curl()?;
                sample.and(&self.sync(&[&file])?)
            }
            Other::ClouddcFsync => self.clouddc(&["--fsync"])?,
            Other::ClouddcSyncfs => {
                let sample = self.clouddc(&[])?;
                sample.and(&self.sync(&[Path::new("-f"), &self.dir])?)
            }
        })
    }
}

/// Figures beside the pairs: the SDK's own rate and `sha256sum`'s CPU.
#[derive(Default)]
struct Extras {
    sdk_rate: Vec<f64>,
    sha256sum_cpu: Vec<f64>,
}

/// The runs of one pairing: clouddc's and the other's.
struct Pairing {
    other: Other,
    ours: Vec<Sample>,
    theirs: Vec<Sample>,
}

fn medians(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median(&samples.iter().map(f).collect::<Vec<_>>());
    Sample {
        wall: of(|s| s.wall),
        cpu: of(|s| s.cpu),
        rss_mib: of(|s| s.rss_mib),
    }
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let bytes = from_env("XTASK_BENCH_DOWNLOAD_MIB", ARCHIVE_BYTES >> 20)? << 20;
    let pairs = from_env("XTASK_BENCH_PAIRS", PAIRS as u64)? as usize;
    let dir = harness::bench_dir().join("download");
    let (mut sim, export_id) = sim_with_export("download-sim", bytes)?;
    let peer_version = context.peer()?.sdk_version();
    let bench = Bench {
        url: sim.content_url(SERVER, &export_id),
        sim: &sim,
        export_id: export_id.clone(),
        dir: dir.clone(),
        bytes,
        peer: context.peer()?,
    };
    let mut extras = Extras::default();
    let mut pairings = Vec::new();
    for other in Other::ALL {
        let mut pairing = Pairing {
            other,
            ours: Vec::new(),
            theirs: Vec::new(),
        };
        for pair in 0..pairs {
            eprintln!(
                "bench download: clouddc vs {other:?}, pair {}/{pairs}",
                pair + 1
            );
            // Alternating: neither side always runs on a warmer machine.
            if pair % 2 == 0 {
                pairing.ours.push(bench.clouddc(&[])?);
                pairing.theirs.push(bench.other(other, &mut extras)?);
            } else {
                pairing.theirs.push(bench.other(other, &mut extras)?);
                pairing.ours.push(bench.clouddc(&[])?);
            }
        }
        pairings.push(pairing);
    }
    harness::fresh_dir(&dir)?;
    let counts = syscalls::count(
        &clouddc_command(&sim, &export_id, &dir, &[]),
        &harness::bench_dir().join("download-strace.txt"),
        RUN_LIMIT,
    )?;
    sim.server.check_alive()?;
    drop(sim);
    harness::fresh_dir(&dir)?;
    let report = report(&pairings, &extras, &counts, bytes, pairs, &peer_version);
    context.download_mib_per_s = pairings
        .iter()
        .find(|p| p.other == Other::Curl)
        .map(|p| mib(bytes) / medians(&p.ours).wall);
    Ok(report)
}

fn report(
    pairings: &[Pairing],
    extras: &Extras,
    counts: &[syscalls::Count],
    bytes: u64,
    pairs: usize,
    peer_version: &str,
) -> Report {
    let pairing = |other| {
        let p = pairings
            .iter()
            .find(|p| p.other == other)
            .expect("every pairing ran");
        (medians(&p.ours), medians(&p.theirs))
    };
    let (ours_sdk, sdk) = pairing(Other::Sdk);
    let (ours_curl, curl) = pairing(Other::Curl);
    let sha256sum_cpu = median(&extras.sha256sum_cpu);
    let all_ours: Vec<Sample> = pairings.iter().flat_map(|p| p.ours.clone()).collect();
    let ours = medians(&all_ours);
    let size = format!("{} MiB", bytes >> 20);
    let mut rows = vec![
        Row::new(
            format!("{size} whole process, wall, vs the SDK's plain download"),
            format!("{:.2} s", ours_sdk.wall),
            format!("Python SDK {peer_version}: {:.2} s", sdk.wall),
            format!("{:.2}×", ours_sdk.wall / sdk.wall),
            "≤ 0.8×",
            Verdict::from_bool(ours_sdk.wall <= 0.8 * sdk.wall),
        ),
        Row::new(
            format!("{size} whole process, wall, vs `curl -o`"),
            format!("{:.2} s", ours_curl.wall),
            format!("curl: {:.2} s", curl.wall),
            format!("{:.2}×", ours_curl.wall / curl.wall),
            "≤ 1.1×",
            Verdict::from_bool(ours_curl.wall <= 1.1 * curl.wall),
        ),
        Row::new(
            format!("{size} CPU (user+sys), vs the SDK's plus `sha256sum`'s"),
            format!("{:.2} s", ours_sdk.cpu),
            format!("{:.2} s + {sha256sum_cpu:.2} s", sdk.cpu),
            format!("{:.2}×", ours_sdk.cpu / (sdk.cpu + sha256sum_cpu)),
            "≤ 1×",
            Verdict::from_bool(ours_sdk.cpu <= sdk.cpu + sha256sum_cpu),
        ),
        Row::new(
            format!("{size} peak RSS"),
            format!("{:.1} MiB", ours.rss_mib),
            "—",
            "—",
            "≤ 32 MiB",
            Verdict::from_bool(ours.rss_mib <= 32.0),
        ),
    ];
    for other in [
        Other::SdkSha256Sync,
        Other::CurlSync,
        Other::ClouddcFsync,
        Other::ClouddcSyncfs,
    ] {
        let (ours, theirs) = pairing(other);
        rows.push(Row::new(
            format!("{size} wall vs {}", other.label()),
            format!("{:.2} s", ours.wall),
            format!("{:.2} s", theirs.wall),
            format!("{:.2}×", ours.wall / theirs.wall),
            "—",
            Verdict::Report,
        ));
    }
    let mut details = format!(
        "One archive of {size} from `clouddc sim`; `clouddc logs download` (token, no fsync, \
gzip verified, SHA-256) paired with each program below, {pairs} pairs each, the order swapped \
every pair, whole processes from spawning to reaping. Medians; the per-run figures follow.\n\n\
| pairing | clouddc wall | other wall | ratio | clouddc CPU | other CPU | clouddc peak RSS | other peak RSS |\n\
|---|---|---|---|---|---|---|---|\n"
    );
    for p in pairings {
        let (ours, theirs) = (medians(&p.ours), medians(&p.theirs));
        details.push_str(&format!(
            "| {} | {:.2} s | {:.2} s | {:.2}× | {:.2} s | {:.2} s | {:.1} MiB | {:.1} MiB |\n",
            p.other.label(),
            ours.wall,
            theirs.wall,
            ours.wall / theirs.wall,
            ours.cpu,
            theirs.cpu,
            ours.rss_mib,
            theirs.rss_mib
        ));
    }
    details.push_str("\nWall seconds per run (clouddc / other):\n\n");
    for p in pairings {
        let walls = |samples: &[Sample]| samples.iter().map(|s| s.wall).collect::<Vec<_>>();
        details.push_str(&format!(
            "- {}: {} / {}\n",
            p.other.label(),
            harness::figures(&walls(&p.ours), 2),
            harness::figures(&walls(&p.theirs), 2)
        ));
    }
    details.push_str(&format!(
        "\n`sha256sum` of the SDK's file (in the page cache), CPU per run: {} s.\n\n\
Syscalls of one `clouddc logs download` (`strace -f -c`, all threads; strace slows it, so \
only the counts are figures): {}.\n\n\
Footnote: the SDK's own rate (`mib_per_s` from its request to its last write, leaving out \
the interpreter's start): {} MiB/s.\n",
        harness::figures(&extras.sha256sum_cpu, 2),
        counts
            .iter()
            .take(12)
            .map(|c| format!("{} {}", c.name, c.calls))
            .collect::<Vec<_>>()
            .join(", "),
        harness::figures(&extras.sdk_rate, 0),
    ));
    Report { rows, details }
}

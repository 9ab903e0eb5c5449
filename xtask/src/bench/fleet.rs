//! `fleet`: `clouddc logs collect` of 1,000 servers against a simulator whose
//! exports take 5 s and whose archives are 1 MiB, at concurrency 256, against
//! the ideal: every export running at once, then every byte at the download rate
//! `clouddc logs download` reached in the same run.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::download::{clouddc_download, sim_with_export};
use super::harness::{self, AK, PROJECT, SK, TOKEN, mib};
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

/// The download rate of this run, measured now when the download benchmark did
/// not run before.
fn download_rate(context: &mut Context) -> Result<(f64, &'static str), String> {
    if let Some(rate) = context.download_mib_per_s {
        return Ok((rate, "the median of the `download` benchmark in this run"));
    }
    eprintln!("bench fleet: measuring the download rate (1 GiB, once)");
    let (sim, export_id) = sim_with_export("fleet-rate-sim", RATE_PROBE_BYTES)?;
    let dir = harness::bench_dir().join("fleet-rate");
    let (rate, _) = clouddc_download(&sim, &export_id, &dir, RATE_PROBE_BYTES)?;
    harness::fresh_dir(&dir)?;
    Ok((
        rate,
        "one 1 GiB `clouddc logs download` measured in this run (the `download` benchmark did not run)",
    ))
}

/// `clouddc sim` started as [`harness::Sim`] starts it, but keeping its stdout:
/// `harness::Sim` reads only the first line, and the count of status calls is
/// in the last one, `stats {JSON}`, printed when the simulator stops on SIGINT.
struct CountingSim {
    child: Child,
    url: String,
    /// Stdout's lines after `listening on URL`, read by a thread so the
    /// simulator never blocks on a full pipe.
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl CountingSim {
    /// The flags of `harness::Sim::start`: the benchmark credentials, a fixed
    /// seed and a rate limit far above anything a benchmark sends.
    fn start(log_name: &str, extra: &[&str]) -> Result<Self, String> {
        std::fs::create_dir_all(harness::bench_dir()).map_err(|e| e.to_string())?;
        let log = harness::bench_dir().join(format!("{log_name}.log"));
        let stderr = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = harness::clouddc()
            .args(["sim", "--addr", "127.0.0.1:0", "--project-id", PROJECT])
            .args(["--token", TOKEN, "--ak", AK, "--sk", SK])
            .args(["--rate-limit", "1000000000", "--seed", "20261123"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start clouddc sim: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sim = Self {
            child,
            url: String::new(),
            lines,
            log,
        };
        let first = sim
            .lines
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| {
                format!(
                    "clouddc sim printed nothing within 60 s; see {}",
                    sim.log.display()
                )
            })?;
        sim.url = first
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("clouddc sim: unexpected first line {first:?}"))?
            .trim_end_matches('/')
            .to_string();
        Ok(sim)
    }

    /// `clouddc` pointed at this simulator with the token.
    fn client(&self) -> Command {
        let mut command = harness::clouddc();
        command.args([
            "--endpoint",
            &self.url,
            "--project-id",
            PROJECT,
            "--token",
            TOKEN,
        ]);
        command
    }

    /// Fails when the simulator has exited (a crash under load).
    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "clouddc sim exited with {status}; see {}",
                self.log.display()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stops the simulator with SIGINT, as a user does, and returns the status
    /// calls it answered, from its `stats` line.
    fn stop(self) -> Result<u64, String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|e| e.to_string())?;
        // SAFETY: `kill` has no memory effects; `pid` is our unreaped child, so
        // it cannot name another process.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(format!(
                "cannot stop clouddc sim: {}",
                std::io::Error::last_os_error()
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|_| {
                format!(
                    "clouddc sim printed no `stats` line within 30 s of SIGINT; see {}",
                    self.log.display()
                )
            })?;
            if let Some(stats) = line.strip_prefix("stats ") {
                return harness::json_number(stats, "status_requests")
                    .map(|n| n as u64)
                    .ok_or_else(|| format!("no status_requests in {line:?}"));
            }
        }
    }
}

impl Drop for CountingSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let (rate, rate_source) = download_rate(context)?;
    let mut sim = CountingSim::start(
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
    sim.check_alive()?;
    let ok = measured.stdout.matches("\"status\":\"ok\"").count();
    if ok != SERVERS {
        return Err(format!(
            "{ok} of {SERVERS} archives collected:\n{}",
            harness::tail(&measured.stdout, 20)
        ));
    }
    let files = std::fs::read_dir(&out).map_or(0, |d| d.count());
    // A fresh simulator served only this run: all its status calls are the run's.
    let status_calls = sim.stop()?;
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
`--max-downloads 16`); all {ok} archives arrived ({files} files). The wall time is the whole \
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

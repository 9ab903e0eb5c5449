//! What the benchmarks share: release binaries, simulators and servers that die
//! with their guard, commands measured with `wait4` (wall time, CPU time, peak
//! RSS), the Python peer's venv, and fields of the JSON the tools print.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::process;
use crate::{shell, tools};

/// The project, token and AK/SK every benchmark simulator accepts.
pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "bench-token";
pub const AK: &str = "BENCHAK0123456789";
pub const SK: &str = "bench-secret-key-0123456789";
/// The simulator's throttle, set far above anything a benchmark sends.
const NO_RATE_LIMIT: &str = "1000000000";

/// Where benchmarks put their files and logs (under cargo's target directory).
pub fn bench_dir() -> PathBuf {
    shell::target_dir().join("bench")
}

/// A release binary of the workspace.
pub fn release_bin(name: &str) -> PathBuf {
    shell::target_dir().join("release").join(name)
}

/// Removes the variables `cargo run` sets for xtask itself, so that the cargo
/// commands we start see the same environment as a developer's (otherwise build
/// scripts that watch them, such as ring's, run again).
pub fn clean_cargo_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_by_cargo_run = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*name,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            );
        if set_by_cargo_run {
            command.env_remove(&*name);
        }
    }
    command
}

/// `cargo build --release -p clouddc-cli -p clouddc-drivers --bins`.
pub fn build_release() -> Result<(), String> {
    let root = shell::workspace_root();
    shell::run(clean_cargo_env(&mut shell::cargo(&root)).args([
        "build",
        "--release",
        "-p",
        "clouddc-cli",
        "-p",
        "clouddc-drivers",
        "--bins",
    ]))
}

/// The `clouddc` release binary with a clean environment: nothing of the
/// developer's shell (credentials, endpoint, `RUST_LOG`) reaches it.
pub fn clouddc() -> Command {
    let mut command = Command::new(release_bin("clouddc"));
    for name in [
        "CLOUDDC_ENDPOINT",
        "CLOUDDC_REGION",
        "CLOUDDC_AUTH_TOKEN",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command
}

/// A server process, killed and reaped when dropped.
pub struct Server {
    name: String,
    child: Child,
    /// The base URL from its first line, `listening on http://ADDR`.
    pub url: String,
    /// Where its stderr goes.
    pub log: PathBuf,
    /// Its stdout's lines after the first.
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `command`, with stderr to `target/bench/<log_name>.log`, and waits
    /// for its `listening on URL` line.
    pub fn start(name: &str, log_name: &str, command: &mut Command) -> Result<Self, String> {
        std::fs::create_dir_all(bench_dir()).map_err(|e| e.to_string())?;
        let log = bench_dir().join(format!("{log_name}.log"));
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let listening =
            process::start_listening(name, command, Stdio::from(file), Duration::from_secs(60))
                .map_err(|e| format!("{e} (stderr in {})", log.display()))?;
        Ok(Self {
            name: name.to_string(),
            child: listening.child,
            url: listening.url,
            log,
            lines: listening.lines,
        })
    }

    /// Stops the server with SIGINT, as a user does, and returns the rest of
    /// the first line it then prints that starts with `prefix` (the simulator
    /// prints `stats {JSON}` last).
    pub fn interrupt_for_line(self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|e| e.to_string())?;
        // SAFETY: `kill` has no memory effects; `pid` is our unreaped child, so
        // it cannot name another process.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(format!(
                "cannot stop {}: {}",
                self.name,
                std::io::Error::last_os_error()
            ));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|_| {
                format!(
                    "{} printed no `{prefix}` line within {timeout:?} of SIGINT; see {}",
                    self.name,
                    self.log.display()
                )
            })?;
            if let Some(rest) = line.strip_prefix(prefix) {
                return Ok(rest.to_string());
            }
        }
    }

    /// The CPU time (user plus system) the server has used so far, from
    /// `/proc/PID/stat`; `None` where that cannot be read.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The fields after the command name, which is in parentheses and may
        // hold spaces: state is field 3, utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .collect();
        let ticks = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        // SAFETY: sysconf reads a constant of the system; no memory effects.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if per_second <= 0 {
            return None;
        }
        Some((ticks(14)? + ticks(15)?) / per_second as f64)
    }

    /// Fails when the server has exited (a crash under load).
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited with {status}; see {}",
                self.name,
                self.log.display()
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `clouddc sim` on 127.0.0.1 with the benchmark credentials and no throttle.
pub struct Sim {
    pub server: Server,
}

impl Sim {
    /// Starts the simulator with `extra` flags (archive size, export time...).
    pub fn start(log_name: &str, extra: &[&str]) -> Result<Self, String> {
        let mut command = process::simulator(clouddc(), PROJECT);
        command
            .args(["--token", TOKEN, "--ak", AK, "--sk", SK])
            .args(["--rate-limit", NO_RATE_LIMIT, "--seed", "20261123"])
            .args(extra);
        let server = Server::start("clouddc sim", log_name, &mut command)?;
        Ok(Self { server })
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// `clouddc` pointed at this simulator with the token.
    pub fn client(&self) -> Command {
        let mut command = clouddc();
        command.args([
            "--endpoint",
            self.url(),
            "--project-id",
            PROJECT,
            "--token",
            TOKEN,
        ]);
        command
    }

    /// The status URL of an export.
    pub fn status_url(&self, server: &str, export_id: &str) -> String {
        format!(
            "{}/v1/{PROJECT}/physicalservers/{server}/logs/exports/{export_id}",
            self.url()
        )
    }

    /// The archive URL of an export.
    pub fn content_url(&self, server: &str, export_id: &str) -> String {
        format!("{}/content", self.status_url(server, export_id))
    }

    /// Starts an export of `server` and waits until it is complete; returns its id.
    pub fn completed_export(&self, server: &str) -> Result<String, String> {
        let output = self
            .client()
            .args(["--format", "json", "-q", "logs", "export", server])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run clouddc logs export: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "clouddc logs export {server} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let export_id = json_string(&stdout, "export_id")
            .ok_or_else(|| format!("no export_id in {stdout:?}"))?;
        let output = self
            .client()
            .args([
                "--format", "json", "-q", "logs", "status", server, &export_id,
            ])
            .args(["--watch", "--timeout", "300s"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run clouddc logs status: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "export {export_id} of {server} did not complete: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(export_id)
    }
}

/// How a measured command ended and what it used.
#[derive(Debug)]
pub struct Measured {
    /// Whether it exited with status 0.
    pub success: bool,
    /// From spawning to reaping.
    pub wall: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
    pub stdout: String,
    pub stderr: String,
    /// How it ended, for messages.
    pub status: String,
}

impl Measured {
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    /// Fails with the command's output unless it succeeded.
    pub fn check(self, what: &str) -> Result<Self, String> {
        if self.success {
            Ok(self)
        } else {
            Err(format!(
                "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.status,
                tail(&self.stdout, 40),
                tail(&self.stderr, 40)
            ))
        }
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// Runs `command` to its end (killed after `timeout`), reaping it with `wait4`
/// for its resource usage. Stdout and stderr are captured.
pub fn run_measured(command: &mut Command, timeout: Duration) -> Result<Measured, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    // The child is reaped here, never through `child`: it must not be waited
    // for (or killed) by std afterwards.
    drop(child);
    let deadline = started + timeout;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    // Bounded: after the deadline the child is killed, and a killed child ends.
    loop {
        // SAFETY: pid is our unreaped child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        if reaped < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("wait4 on {command:?}: {error}"));
        }
        if !killed && Instant::now() >= deadline {
            // SAFETY: pid is still our unreaped child, so it names that process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = started.elapsed();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if killed {
        return Err(format!(
            "{command:?} did not finish within {timeout:?} and was killed\n{}",
            tail(&stderr, 20)
        ));
    }
    let (success, status) = if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        (code == 0, format!("exit status {code}"))
    } else {
        (false, format!("signal {}", libc::WTERMSIG(status)))
    };
    Ok(Measured {
        success,
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stdout,
        stderr,
        status,
    })
}

/// `key`'s value in the JSON object `text` holds: the whole text, or else its
/// first line that has one from its first `{` on (the Python peer starts its
/// lines with a timestamp and a word), searched depth first, so `status` is
/// found inside `clouddc --format json`'s `results` too.
fn json_value(text: &str, key: &str) -> Option<serde_json::Value> {
    fn find<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map
                .get(key)
                .or_else(|| map.values().find_map(|inner| find(inner, key))),
            serde_json::Value::Array(items) => items.iter().find_map(|inner| find(inner, key)),
            _ => None,
        }
    }
    std::iter::once(text)
        .chain(text.lines())
        .find_map(|candidate| {
            let start = candidate.find('{')?;
            let value: serde_json::Value = serde_json::from_str(candidate[start..].trim()).ok()?;
            find(&value, key).cloned()
        })
}

/// Fails unless a `logs collect --format json` summary in `stdout` reports
/// every one of `servers` archives `ok`, showing the summary's tail.
pub fn check_all_collected(stdout: &str, servers: usize) -> Result<(), String> {
    let ok = stdout.matches("\"status\":\"ok\"").count();
    if ok == servers {
        return Ok(());
    }
    Err(format!(
        "{ok} of {servers} archives collected:\n{}",
        tail(stdout, 20)
    ))
}

/// A number field of the JSON in `text` (see [`json_value`]).
pub fn json_number(text: &str, key: &str) -> Option<f64> {
    json_value(text, key)?.as_f64()
}

/// A string field of the JSON in `text` (see [`json_value`]).
pub fn json_string(text: &str, key: &str) -> Option<String> {
    json_value(text, key)?.as_str().map(str::to_string)
}

/// A boolean field of the JSON in `text` (see [`json_value`]).
pub fn json_bool(text: &str, key: &str) -> Option<bool> {
    json_value(text, key)?.as_bool()
}

/// The first line of `text` containing `needle`.
pub fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|line| line.contains(needle))
}

/// Milliseconds since the Unix epoch, the clock of the simulator's request
/// windows.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Flushes dirty pages so one measurement's writeback does not land in the next.
pub fn sync() {
    let _ = Command::new("sync").status();
}

/// Where [`remove_many`] notes when it last removed files.
const REMOVED_STAMP: &str = ".removed-at-ms";
/// How long ext4 may pass over a freed inode: 60 s (`RECENTCY_MIN`), plus 300 s
/// (`RECENTCY_DIRTY`) while its inode table block is dirty, which creating
/// files next to it makes it again; and a margin.
const REMOVAL_SETTLES: Duration = Duration::from_secs(365);

/// Empties `dir` of the thousands of archives a fleet benchmark wrote, then
/// writes the freed inodes back and notes the time for [`settle_removals`].
///
/// ext4 passes over inodes freed in the last minute (six while their inode
/// table block is dirty) when it allocates new ones in their block group, so
/// creating thousands of files soon after removing thousands next to them
/// costs seconds of system time (`recently_deleted` took a quarter of a
/// 10,000-server collect's CPU in a profile), a cost a user collecting into a
/// new directory does not pay.
pub fn remove_many(dir: &Path) -> Result<(), String> {
    let held = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    fresh_dir(dir)?;
    if !held {
        return Ok(());
    }
    sync();
    let stamp = bench_dir().join(REMOVED_STAMP);
    std::fs::write(&stamp, now_ms().to_string())
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Waits until files removed by [`remove_many`] no longer slow down creating
/// new ones (at most about six minutes; at once when none were removed lately).
pub fn settle_removals() {
    let stamp = bench_dir().join(REMOVED_STAMP);
    let Some(removed_ms) = std::fs::read_to_string(stamp)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
    else {
        return;
    };
    let since = Duration::from_millis(now_ms().saturating_sub(removed_ms));
    if let Some(left) = REMOVAL_SETTLES.checked_sub(since) {
        eprintln!(
            "bench: waiting {:.0} s until ext4 stops passing over the files removed last",
            left.as_secs_f64()
        );
        std::thread::sleep(left);
    }
}

/// Empties `dir` (creating it when missing).
pub fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Busy fraction of all CPUs over `window`, from /proc/stat.
fn busy_fraction(window: Duration) -> Option<f64> {
    let (t0, i0) = cpu_jiffies()?;
    std::thread::sleep(window);
    let (t1, i1) = cpu_jiffies()?;
    let total = t1.saturating_sub(t0);
    (total > 0).then(|| 1.0 - i1.saturating_sub(i0) as f64 / total as f64)
}

/// All CPUs' time so far from /proc/stat, in jiffies: (total, idle + iowait).
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total, idle))
}

/// Samples how busy the machine's CPUs are, every 100 ms, until stopped, so a
/// benchmark can say how busy they were during one phase of a run.
pub struct CpuSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<CpuSample>>,
}

/// One reading of [`CpuSampler`].
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    /// When, in milliseconds since the Unix epoch ([`now_ms`]).
    pub at_ms: u64,
    /// All CPUs' time so far, in jiffies.
    pub total: u64,
    /// Of which idle.
    pub idle: u64,
}

impl CpuSampler {
    /// Starts sampling.
    pub fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            // Bounded: a run is stopped long before 100,000 samples (2.8 h).
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) && samples.len() < 100_000 {
                if let Some((total, idle)) = cpu_jiffies() {
                    samples.push(CpuSample {
                        at_ms: now_ms(),
                        total,
                        idle,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // One more, so the samples reach past the end of what was run.
            if let Some((total, idle)) = cpu_jiffies() {
                samples.push(CpuSample {
                    at_ms: now_ms(),
                    total,
                    idle,
                });
            }
            samples
        });
        Self { stop, thread }
    }

    /// Stops sampling and returns the readings.
    pub fn stop(self) -> Vec<CpuSample> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The busy fraction of all CPUs between the last sample at or before
/// `from_ms` and the first at or after `to_ms`; `None` when the samples do not
/// cover the interval or it is shorter than two samples.
pub fn busy_between(samples: &[CpuSample], from_ms: u64, to_ms: u64) -> Option<f64> {
    let first = samples.iter().rev().find(|s| s.at_ms <= from_ms)?;
    let last = samples.iter().find(|s| s.at_ms >= to_ms)?;
    let total = last.total.checked_sub(first.total)?;
    let idle = last.idle.checked_sub(first.idle)?;
    (total > 0 && last.at_ms > first.at_ms + 100).then(|| 1.0 - idle as f64 / total as f64)
}

/// Waits (at most `limit`) until other work leaves the CPUs nearly idle, and
/// returns the busy fraction seen last, for the report.
pub fn wait_for_quiet(limit: Duration) -> Option<f64> {
    const QUIET: f64 = 0.10;
    let started = Instant::now();
    let mut said = false;
    loop {
        let busy = busy_fraction(Duration::from_secs(1))?;
        if busy <= QUIET || started.elapsed() >= limit {
            return Some(busy);
        }
        if !said {
            eprintln!(
                "bench: the CPUs are {:.0}% busy with other work; waiting up to {}s for them to quiet down",
                busy * 100.0,
                limit.as_secs()
            );
            said = true;
        }
    }
}

/// The official Python SDK's peer client (installed by [`tools::install_peer`]).
pub struct Peer {
    pub python: PathBuf,
    pub script: PathBuf,
}

impl Peer {
    pub fn install() -> Result<Self, String> {
        let tools::Peer { python, script } = tools::install_peer()?;
        Ok(Self { python, script })
    }

    /// The peer against `sim`, with AK/SK, for `server`.
    pub fn command(&self, sim: &Sim, server: &str) -> Command {
        let mut command = Command::new(&self.python);
        command
            .arg(&self.script)
            .args(["--endpoint", sim.url(), "--ak", AK, "--sk", SK])
            .args(["--project-id", PROJECT, "--server-id", server]);
        for name in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "HUAWEICLOUD_SDK_PROJECT_ID",
        ] {
            command.env_remove(name);
        }
        command
    }

    /// The version of the SDK in the venv, for the report.
    pub fn sdk_version(&self) -> String {
        Command::new(&self.python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('huaweicloudsdkclouddc'))",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `values` for a details table: `digits` decimals each, comma-separated.
pub fn figures(values: &[f64], digits: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.digits$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes to MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_lines_and_documents() {
        let line = r#"[   1.234] download-done {"bytes": 10, "mib_per_s": 512.5, "sha256": null, "s": "a\"b"}"#;
        assert_eq!(json_number(line, "mib_per_s"), Some(512.5));
        assert_eq!(json_number(line, "bytes"), Some(10.0));
        assert_eq!(json_string(line, "sha256"), None);
        assert_eq!(json_string(line, "s").as_deref(), Some(r#"a"b"#));
        assert_eq!(json_number(line, "missing"), None);
        let figures = r#"{"verify": true, "mib_per_s": 1.5}"#;
        assert_eq!(json_bool(figures, "verify"), Some(true));
        assert_eq!(json_bool(line, "bytes"), None);
        let ours = r#"{"export_id":"e-1","status":"completed"}"#;
        assert_eq!(json_string(ours, "export_id").as_deref(), Some("e-1"));
        let nested = "{\"results\":[{\"status\":\"ok\",\n\"bytes\":4096}]}\n";
        assert_eq!(json_string(nested, "status").as_deref(), Some("ok"));
        assert_eq!(json_number(nested, "bytes"), Some(4096.0));
        let log = "starting\nstats {\"status_requests\": 7}\n";
        assert_eq!(json_number(log, "status_requests"), Some(7.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn busy_between_reads_the_samples_around_the_interval() {
        let at = |at_ms, total, idle| CpuSample { at_ms, total, idle };
        let samples = [
            at(1_000, 100, 50),
            at(1_100, 120, 60),
            at(1_200, 140, 60),
            at(1_300, 160, 60),
        ];
        // From the sample at 1,100 to the one at 1,300: 40 jiffies, none idle.
        assert_eq!(busy_between(&samples, 1_150, 1_300), Some(1.0));
        // From 1,000 to 1,200: 40 jiffies, 10 idle.
        assert_eq!(busy_between(&samples, 1_000, 1_150), Some(0.75));
        // Not covered, or too short to tell.
        assert_eq!(busy_between(&samples, 900, 1_200), None);
        assert_eq!(busy_between(&samples, 1_100, 1_400), None);
        assert_eq!(busy_between(&samples, 1_100, 1_100), None);
    }
}

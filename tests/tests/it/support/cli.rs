//! What the tests of the command line share: the built `clouddc` binary, a
//! clean environment, simulators to point it at, and ways to run, interrupt
//! and read it.
//!
//! The binary belongs to another package (`clouddc-cli`), so cargo does not
//! build it for this one's tests; [`clouddc`] builds it once per test process,
//! into the same target directory and profile, so the tests never run a stale
//! binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ChildStdout;
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use assert_cmd::Command;

/// The environment variables the binary reads; cleared for every run so the
/// developer's shell cannot change a result.
pub const ENV_VARS: &[&str] = &[
    "CLOUDDC_ENDPOINT",
    "CLOUDDC_REGION",
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "CLOUDDC_AUTH_TOKEN",
    "HUAWEICLOUD_SDK_AK",
    "HUAWEICLOUD_SDK_SK",
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_IAM_ENDPOINT",
    "SSL_CERT_FILE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "RUST_LOG",
    "JOB_COMPLETION_INDEX",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "OBS_ACCESS_KEY_ID",
    "OBS_SECRET_ACCESS_KEY",
    "OBS_SECURITY_TOKEN",
    "COLUMNS",
    "LINES",
];

/// The profile directory this test binary was built into (`target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test>
    exe.parent()
        .and_then(Path::parent)
        .expect("a test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// The path of the `clouddc` binary, built on first use.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let profile_dir = profile_dir();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("profile name");
        let profile = if profile == "debug" { "dev" } else { profile };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = StdCommand::new(cargo);
        // The variables cargo sets for this test would reach the build scripts
        // (ring's watches CARGO_MANIFEST_DIR) and make them run again, then
        // again for the next `cargo test`.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if is_set_by_cargo_for_tests(&name) {
                build.env_remove(&*name);
            }
        }
        let status = build
            .args(["build", "--quiet", "-p", "clouddc-cli", "--bin", "clouddc"])
            .args(["--profile", profile])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building clouddc failed");
        let binary = profile_dir.join(format!("clouddc{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    })
}

fn is_set_by_cargo_for_tests(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_BIN_EXE_",
        "CARGO_MANIFEST_",
    ];
    const NAMES: &[&str] = &[
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `clouddc` with a clean environment and `args`.
pub fn clouddc<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(binary());
    for name in ENV_VARS {
        command.env_remove(name);
    }
    for (name, value) in HERMETIC_CHAIN {
        command.env(name, value);
    }
    command.args(args);
    command
}

/// The credential chain's sources, pointed where nothing answers: no
/// developer's `~/.huaweicloud` files, and a metadata service that refuses
/// at once instead of the link-local one (a test that wants them sets these).
pub const HERMETIC_CHAIN: &[(&str, &str)] = &[
    (
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        "/nonexistent/clouddc-test/credentials",
    ),
    (
        "HUAWEICLOUD_SDK_REGIONS_FILE",
        "/nonexistent/clouddc-test/regions.yaml",
    ),
    ("CLOUDDC_METADATA_ENDPOINT", "http://127.0.0.1:9"),
];

/// What a finished run printed, and how it ended.
#[derive(Debug)]
pub struct RunResult {
    /// The exit status (a signal counts as -1).
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl std::fmt::Display for RunResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// How long any one run may take before the test fails instead of hanging.
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Kills a spawned process (SIGKILL) if it is still running after a time
/// limit, so a test that reads its pipes fails instead of hanging. Dropping the
/// guard disarms it.
pub struct Watchdog {
    _disarm: std::sync::mpsc::Sender<()>,
}

/// Arms a [`Watchdog`] over `child` for [`RUN_LIMIT`].
pub fn watchdog(child: &std::process::Child) -> Watchdog {
    let pid = child.id().to_string();
    let (disarm, disarmed) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        // Dropping the sender disconnects the channel: only a timeout kills.
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(RUN_LIMIT) {
            let _ = StdCommand::new("kill").args(["-KILL", &pid]).status();
        }
    });
    Watchdog { _disarm: disarm }
}

/// Runs `clouddc args` to the end.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> RunResult {
    run_command(clouddc(args))
}

/// Runs a prepared command to the end, within [`RUN_LIMIT`].
pub fn run_command(mut command: Command) -> RunResult {
    let output = command.timeout(RUN_LIMIT).output().expect("clouddc runs");
    RunResult {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Parses stdout as exactly one JSON document.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
}

/// The project every test simulator serves.
pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// The token every test simulator accepts unless a test says otherwise.
pub const TOKEN: &str = "cli-test-token";

/// SHA-256 in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every dialect the simulator speaks, by its `--dialect` name.
pub const DIALECTS: [&str; 3] = ["documented", "example", "integer"];

/// The credentials a test simulator accepts, and the CLI then sends.
#[derive(Debug, Clone)]
pub enum Auth {
    /// An IAM token.
    Token(String),
    /// An AK/SK pair.
    AkSk(String, String),
}

/// How to start a test simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The dialect's name; `None` for the default.
    pub dialect: Option<String>,
    /// How long an export takes.
    pub export_seconds: f64,
    /// How large each archive is.
    pub archive_bytes: u64,
    /// What the simulator accepts.
    pub auth: Auth,
    /// A fault spec, e.g. `500=0.05,429=0.05`.
    pub faults: Option<String>,
    /// The seed of faults and archive content.
    pub seed: Option<u64>,
    /// How long an injected stall lasts before the connection drops.
    pub stall_for: std::time::Duration,
    /// How long an injected slow response is held back.
    pub slow_for: std::time::Duration,
    /// A seeded inventory of this many servers, the only ones exportable.
    pub servers: Option<usize>,
    /// How long the metadata endpoints' temporary credentials live.
    pub credential_ttl: Option<std::time::Duration>,
    /// IAM's `(region, project)` pairs; `None`: every region is the project.
    pub project_regions: Option<Vec<(String, String)>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            dialect: None,
            export_seconds: 1.0,
            archive_bytes: 16 * 1024,
            auth: Auth::Token(TOKEN.into()),
            faults: None,
            seed: None,
            // Short, so that injected stalls and slow answers cost a test
            // seconds, not the simulator's half-minute defaults.
            stall_for: std::time::Duration::from_secs(2),
            slow_for: std::time::Duration::from_millis(300),
            servers: None,
            credential_ttl: None,
            project_regions: None,
        }
    }
}

/// A simulator running in this test process (on its own runtime, on
/// 127.0.0.1), stopped when dropped. Tests ask it for the SHA-256 each archive
/// must have.
pub struct Sim {
    handle: Option<clouddc_sim::SimHandle>,
    auth: Auth,
    runtime: tokio::runtime::Runtime,
}

impl Sim {
    /// Starts a simulator as `options` say; panics (failing the test) if it
    /// cannot.
    pub fn start(options: SimOptions) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut config = clouddc_sim::SimConfig {
            project_id: PROJECT.into(),
            export_duration: std::time::Duration::from_secs_f64(options.export_seconds),
            archive_bytes: options.archive_bytes,
            stall_for: options.stall_for,
            slow_for: options.slow_for,
            ..clouddc_sim::SimConfig::default()
        };
        match &options.auth {
            Auth::Token(token) => config.tokens.push(token.as_str().into()),
            Auth::AkSk(ak, sk) => config.ak_sk.push((ak.clone(), sk.as_str().into())),
        }
        if let Some(dialect) = &options.dialect {
            config.dialect = dialect.parse().expect("a known dialect");
        }
        if let Some(faults) = &options.faults {
            config.faults = faults.parse().expect("a valid fault spec");
        }
        if let Some(seed) = options.seed {
            config.seed = seed;
        }
        if let Some(count) = options.servers {
            config = config.with_inventory(count);
        }
        if let Some(ttl) = options.credential_ttl {
            config.credential_ttl = ttl;
        }
        config.project_regions = options.project_regions.clone();
        let handle = runtime
            .block_on(clouddc_sim::Simulator::start(config))
            .expect("the simulator starts");
        Sim {
            handle: Some(handle),
            auth: options.auth,
            runtime,
        }
    }

    fn handle(&self) -> &clouddc_sim::SimHandle {
        self.handle.as_ref().expect("running until dropped")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.handle().base_url().to_string()
    }

    /// `--endpoint URL --project-id P` and the credentials it accepts.
    pub fn connection_args(&self) -> Vec<String> {
        let mut args = vec![
            "--endpoint".to_string(),
            self.url(),
            "--project-id".into(),
            PROJECT.into(),
        ];
        match &self.auth {
            Auth::Token(token) => args.extend(["--token".into(), token.clone()]),
            Auth::AkSk(ak, sk) => {
                args.extend(["--ak".into(), ak.clone(), "--sk".into(), sk.clone()]);
            }
        }
        args
    }

    /// The SHA-256 the simulator's archive of this export has; panics if the
    /// simulator knows no such export.
    pub fn expected_sha256(&self, server: &str, export_id: &str) -> String {
        self.runtime
            .block_on(self.handle().expected_sha256(server, export_id))
            .unwrap_or_else(|| panic!("the simulator has no export {export_id} of {server}"))
    }

    /// The fleet, alarms and events the simulator serves.
    pub fn inventory(&self) -> &clouddc_sim::Inventory {
        self.handle().inventory()
    }

    /// What the simulator has served so far.
    pub fn stats(&self) -> clouddc_sim::SimStats {
        self.handle().stats()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // Bounded by the simulator itself (open downloads are cut after 5 s).
            self.runtime.block_on(handle.shutdown());
        }
    }
}

/// Whether `bytes` is the size of an archive the simulator was asked to make
/// `asked` bytes large: at least that, at most 1 KiB more (tar and gzip framing).
pub fn is_archive_size(bytes: u64, asked: u64) -> bool {
    (asked..=asked + 1024).contains(&bytes)
}

/// The names in `dir`, but the collect's journal, which stays so that a
/// re-run can resume.
pub fn files_but_the_journal(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".clouddc-journal")
        .collect()
}

impl Sim {
    /// [`Sim::connection_args`], then `rest`, then `dir`: a command that
    /// writes into `dir` (`rest` ending with `-o`).
    pub fn args_into(&self, rest: &[&str], dir: &Path) -> Vec<String> {
        let mut args = self.connection_args();
        args.extend(rest.iter().map(|arg| arg.to_string()));
        args.push(dir.display().to_string());
        args
    }
}

/// `clouddc args` started with nothing of this process's environment but
/// `PATH`, stderr piped, stdout as given: a run a test interrupts while it
/// reads the progress lines.
pub fn spawn_clean(args: &[String], stdout: std::process::Stdio) -> std::process::Child {
    StdCommand::new(binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("clouddc starts")
}

/// Sends `signal` (`-INT`, `-TERM`, ...) to a spawned process, as a user's
/// Ctrl-C or `kill` would.
pub fn signal(child: &std::process::Child, signal: &str) -> std::process::ExitStatus {
    StdCommand::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs")
}

/// The stdout of a spawned `clouddc sim`, and its first line (`listening on
/// URL`).
pub fn first_line(child: &mut std::process::Child) -> (BufReader<ChildStdout>, String) {
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("stdout reads");
    (stdout, line)
}

/// The servers of a `logs collect --format json` document's results, in order.
pub fn servers_of(doc: &serde_json::Value) -> Vec<&str> {
    doc["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| r["server"].as_str().expect("a server name"))
        .collect()
}

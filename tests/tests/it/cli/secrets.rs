//! No secret in any output: every command, at `-vv`, with sentinel secrets
//! given as flags and as environment variables, succeeding and failing; stdout
//! and stderr are scanned for the sentinels.

use crate::support::cli;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use cli::{Auth, RunResult, Sim, SimOptions, clouddc, run_command};

const SENTINEL_TOKEN: &str = "sentinel-token-5f1c9e0b";
const SENTINEL_SK: &str = "sentinel-sk-8d2a47c3";
const SENTINEL_SECURITY_TOKEN: &str = "sentinel-sts-77e1d0aa";
const SENTINELS: &[&str] = &[
    SENTINEL_TOKEN,
    SENTINEL_SK,
    SENTINEL_SECURITY_TOKEN,
    "sentinel",
];
const AK: &str = "AKSENTINELTEST";

fn assert_clean(label: &str, output: &str) {
    for sentinel in SENTINELS {
        assert!(
            !output.contains(sentinel),
            "{label}: {sentinel} appears in the output:\n{output}"
        );
    }
}

/// The `logs` invocations to scan, after the connection flags.
fn logs_commands(out: &str, export_id: &str) -> Vec<Vec<String>> {
    let commands: Vec<Vec<&str>> = vec![
        vec!["logs", "export", "srv-0001"],
        vec!["--format", "json", "logs", "export", "srv-0001"],
        vec!["logs", "status", "srv-0001", export_id],
        vec!["logs", "status", "srv-0001", export_id, "--watch"],
        vec!["logs", "download", "srv-0001", export_id, "-o", out],
        vec![
            "--format", "json", "logs", "download", "srv-0001", "missing", "-o", out,
        ],
        vec!["logs", "collect", "srv-0001", "..", "-o", out],
        vec!["--format", "json", "logs", "collect", "srv-0002", "-o", out],
    ];
    commands
        .into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect()
}

fn scan(label: &str, command: assert_cmd::Command) -> RunResult {
    let result = run_command(command);
    assert_clean(label, &result.stdout);
    assert_clean(label, &result.stderr);
    result
}

/// A prepared export id to use with status and download.
fn export_id(sim: &Sim) -> String {
    let mut command = clouddc(sim.connection_args());
    command.args(["--format", "json", "logs", "export", "srv-0001"]);
    let result = run_command(command);
    assert_eq!(result.code, 0, "{result}");
    cli::json(&result.stdout)["export_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn token_as_flag_and_as_environment_variable() {
    let sim = Sim::start(SimOptions {
        auth: Auth::Token(SENTINEL_TOKEN.into()),
        export_seconds: 1.0,
        archive_bytes: 8192,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let export_id = export_id(&sim);
    for verbosity in ["-vv", "-vvv"] {
        for args in logs_commands(&out, &export_id) {
            let label = format!("flag {verbosity} {args:?}");
            let mut command = clouddc(sim.connection_args());
            command.arg(verbosity).args(&args);
            let result = scan(&label, command);
            assert!(result.code == 0 || result.code == 1, "{label}: {result}");

            let label = format!("env {verbosity} {args:?}");
            let mut command = clouddc([verbosity]);
            command
                .env("CLOUDDC_ENDPOINT", sim.url())
                .env("HUAWEICLOUD_SDK_PROJECT_ID", cli::PROJECT)
                .env("CLOUDDC_AUTH_TOKEN", SENTINEL_TOKEN)
                .args(&args);
            let result = scan(&label, command);
            assert!(result.code == 0 || result.code == 1, "{label}: {result}");
        }
    }
}

#[test]
fn ak_sk_as_flags_and_as_environment_variables() {
    let sim = Sim::start(SimOptions {
        auth: Auth::AkSk(AK.into(), SENTINEL_SK.into()),
        export_seconds: 1.0,
        archive_bytes: 8192,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let export_id = export_id(&sim);
    for args in logs_commands(&out, &export_id) {
        let label = format!("flags {args:?}");
        let mut command = clouddc(sim.connection_args());
        command.arg("-vv").args(&args);
        let result = scan(&label, command);
        assert!(result.code == 0 || result.code == 1, "{label}: {result}");

        let label = format!("env {args:?}");
        let mut command = clouddc(["-vv"]);
        command
            .env("CLOUDDC_ENDPOINT", sim.url())
            .env("HUAWEICLOUD_SDK_PROJECT_ID", cli::PROJECT)
            .env("HUAWEICLOUD_SDK_AK", AK)
            .env("HUAWEICLOUD_SDK_SK", SENTINEL_SK)
            .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SENTINEL_SECURITY_TOKEN)
            .args(&args);
        scan(&label, command);
    }
}

#[test]
fn failures_never_echo_the_credentials() {
    let sim = Sim::start(SimOptions {
        auth: Auth::Token("the-right-token".into()),
        export_seconds: 1.0,
        archive_bytes: 8192,
        ..SimOptions::default()
    });
    let wrong: Vec<Vec<String>> = vec![
        // A token the service rejects.
        vec![
            "--endpoint",
            &sim.url(),
            "--project-id",
            cli::PROJECT,
            "--token",
            SENTINEL_TOKEN,
        ],
        // A signature the service rejects.
        vec![
            "--endpoint",
            &sim.url(),
            "--project-id",
            cli::PROJECT,
            "--ak",
            AK,
            "--sk",
            SENTINEL_SK,
        ],
        // An endpoint that refuses connections.
        vec![
            "--endpoint",
            "http://127.0.0.1:9",
            "--project-id",
            cli::PROJECT,
            "--token",
            SENTINEL_TOKEN,
        ],
        // Incomplete configurations.
        vec!["--token", SENTINEL_TOKEN, "--project-id", "p"],
        vec![
            "--endpoint",
            "ftp://nowhere",
            "--project-id",
            "p",
            "--sk",
            SENTINEL_SK,
        ],
        vec![
            "--endpoint",
            "http://127.0.0.1:9",
            "--project-id",
            "p",
            "--ak",
            "A K",
            "--sk",
            SENTINEL_SK,
        ],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    let dir = tempfile::tempdir().unwrap();
    for connection in wrong {
        for tail in [
            &["logs", "export", "srv-0001"][..],
            &["--format", "json", "logs", "collect", "srv-0001", "-o"],
        ] {
            let label = format!("{connection:?} {tail:?}");
            let mut command = clouddc(&connection);
            command.arg("-vv").args(tail);
            if tail.last() == Some(&"-o") {
                command.arg(dir.path());
            }
            let result = scan(&label, command);
            assert!(result.code == 1 || result.code == 2, "{label}: {result}");
        }
    }
    // Help with every secret in the environment.
    let mut command = clouddc(["--help"]);
    command
        .env("CLOUDDC_AUTH_TOKEN", SENTINEL_TOKEN)
        .env("HUAWEICLOUD_SDK_SK", SENTINEL_SK)
        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SENTINEL_SECURITY_TOKEN);
    scan("--help", command);
}

#[test]
fn the_sim_command_never_prints_its_secrets() {
    let mut child = std::process::Command::new(cli::binary())
        .args([
            "-vv",
            "sim",
            "--addr",
            "127.0.0.1:0",
            "--token",
            SENTINEL_TOKEN,
        ])
        .args([
            "--ak",
            AK,
            "--sk",
            SENTINEL_SK,
            "--export-seconds",
            "1",
            "--archive-bytes",
            "4096",
        ])
        .args(["--project-id", cli::PROJECT])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _watchdog = cli::watchdog(&child);
    let mut stdout = child.stdout.take().unwrap();
    // Drained all along: a full pipe would stall the simulator's logging.
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let mut first = Vec::new();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        first.push(byte[0]);
    }
    let first = String::from_utf8(first).unwrap();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    // Traffic of both kinds, right and wrong, so the simulator logs requests.
    let dir = tempfile::tempdir().unwrap();
    for credentials in [
        &["--token", SENTINEL_TOKEN][..],
        &["--ak", AK, "--sk", SENTINEL_SK],
        &["--token", "wrong-token"],
        &["--ak", AK, "--sk", "wrong-sk"],
    ] {
        let mut command = clouddc(["--endpoint", &url, "--project-id", cli::PROJECT]);
        command
            .args(credentials)
            .args(["-vv", "logs", "collect", "srv-0001", "-o"])
            .arg(dir.path());
        scan(&format!("against clouddc sim {credentials:?}"), command);
    }
    std::thread::sleep(Duration::from_millis(200));
    cli::signal(&child, "-INT");
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).ok();
    rest.push_str(&stderr.join().unwrap());
    assert_clean("clouddc sim", &first);
    assert_clean("clouddc sim", &rest);
}

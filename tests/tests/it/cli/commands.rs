//! Every command against the simulator, in each dialect, with a token and with
//! AK/SK; `--simulate`; and `clouddc sim` as a process.

use crate::support::cli;

use std::process::Stdio;

use cli::{Auth, DIALECTS, Sim, SimOptions, json, run};

fn sim(dialect: &str, auth: Auth) -> Sim {
    Sim::start(SimOptions {
        dialect: Some(dialect.into()),
        export_seconds: 1.0,
        archive_bytes: 32 * 1024,
        auth,
        ..SimOptions::default()
    })
}

fn args(sim: &Sim, rest: &[&str]) -> Vec<String> {
    let mut args = sim.connection_args();
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

/// export, status, status --watch, download, in text and JSON.
fn single_commands(sim: &Sim, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();

    // export, JSON: the task object.
    let result = run(&args(
        sim,
        &["--format", "json", "logs", "export", "srv-0001"],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    let task = json(&result.stdout);
    let export_id = task["export_id"].as_str().unwrap().to_string();
    assert!(task["status"].is_string(), "{label}: {task}");

    // export, text.
    let result = run(&args(sim, &["logs", "export", "srv-0002"]));
    assert_eq!(result.code, 0, "{label}: {result}");
    assert!(
        result.stdout.contains("server:     srv-0002"),
        "{label}: {result}"
    );
    let text_id = result
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("export_id:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{label}: no export id: {result}"));
    assert!(result.stdout.contains("status:"), "{label}: {result}");

    // status, once.
    let result = run(&args(
        sim,
        &["--format", "json", "logs", "status", "srv-0001", &export_id],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    assert_eq!(
        json(&result.stdout)["export_id"],
        export_id.as_str(),
        "{label}"
    );

    // status --watch until it ends, with progress lines on stderr.
    let result = run(&args(
        sim,
        &["logs", "status", "srv-0002", &text_id, "--watch"],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    assert!(
        result.stderr.contains("srv-0002: waiting"),
        "{label}: {result}"
    );
    assert!(result.stdout.contains("status:"), "{label}: {result}");
    let result = run(&args(
        sim,
        &[
            "--format", "json", "logs", "status", "srv-0001", &export_id, "--watch",
        ],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    json(&result.stdout);

    // download, text then JSON.
    let result = run(&args(
        sim,
        &["logs", "download", "srv-0002", &text_id, "-o", &out],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    let sha = result
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sha256:"))
        .map(|v| v.trim().to_string())
        .unwrap();
    assert_eq!(sha, sim.expected_sha256("srv-0002", &text_id), "{label}");
    let result = run(&args(
        sim,
        &[
            "--format", "json", "logs", "download", "srv-0001", &export_id, "-o", &out,
        ],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    let record = json(&result.stdout);
    assert_eq!(record["status"], "ok", "{label}: {record}");
    assert_eq!(
        record["sha256"],
        sim.expected_sha256("srv-0001", &export_id),
        "{label}"
    );
    let bytes = std::fs::read(record["path"].as_str().unwrap()).unwrap();
    assert_eq!(bytes.len() as u64, record["bytes"], "{label}");
    assert!(
        cli::is_archive_size(bytes.len() as u64, 32 * 1024),
        "{label}: {record}"
    );
    assert_eq!(cli::sha256_hex(&bytes), record["sha256"], "{label}");

    // A download of an export that does not exist fails with exit 1.
    let result = run(&args(
        sim,
        &[
            "--format",
            "json",
            "logs",
            "download",
            "srv-0001",
            "no-such-export",
            "-o",
            &out,
        ],
    ));
    assert_eq!(result.code, 1, "{label}: {result}");
    assert_eq!(json(&result.stdout)["status"], "failed", "{label}");
}

fn collect(sim: &Sim, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let result = run(&args(
        sim,
        &[
            "--format", "json", "logs", "collect", "srv-0001", "srv-0002", "srv-0003", "-o", &out,
        ],
    ));
    assert_eq!(result.code, 0, "{label}: {result}");
    for r in json(&result.stdout)["results"].as_array().unwrap() {
        assert_eq!(r["status"], "ok", "{label}: {r}");
        let (server, export_id) = (
            r["server"].as_str().unwrap(),
            r["export_id"].as_str().unwrap(),
        );
        assert_eq!(
            r["sha256"],
            sim.expected_sha256(server, export_id),
            "{label}: {r}"
        );
    }
}

#[test]
fn every_command_in_every_dialect_with_a_token() {
    for dialect in DIALECTS {
        let sim = sim(dialect, Auth::Token(cli::TOKEN.into()));
        single_commands(&sim, dialect);
        collect(&sim, dialect);
    }
}

#[test]
fn every_command_in_every_dialect_with_ak_sk() {
    for dialect in DIALECTS {
        let sim = sim(
            dialect,
            Auth::AkSk("AKCLITEST".into(), "cli-test-sk".into()),
        );
        single_commands(&sim, dialect);
        collect(&sim, dialect);
    }
}

#[test]
fn wrong_credentials_fail_with_exit_1_and_the_services_answer() {
    let sim = sim("documented", Auth::Token(cli::TOKEN.into()));
    let mut args = vec![
        "--endpoint".to_string(),
        sim.url(),
        "--project-id".into(),
        cli::PROJECT.into(),
    ];
    args.extend(["--token", "not-the-token", "logs", "export", "srv-0001"].map(String::from));
    let result = run(&args);
    assert_eq!(result.code, 1, "{result}");
    assert!(result.stderr.starts_with("error: "), "{result}");
    assert!(result.stderr.contains("401"), "{result}");
}

#[test]
fn simulate_runs_the_main_job_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logs");
    let result = run(&[
        "--simulate",
        "logs",
        "collect",
        "srv-0001",
        "srv-0002",
        "srv-0003",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.code, 0, "{result}");
    assert!(result.stderr.contains("simulator"), "{result}");
    assert!(
        result.stdout.contains("3 of 3 servers collected"),
        "{result}"
    );
    // The three archives, and the journal a re-run resumes from.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".clouddc-journal")
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.to_string_lossy().ends_with(".tar.gz")),
        "{names:?}"
    );

    // The other commands work with --simulate too (each run has its own simulator).
    let result = run(&[
        "--simulate",
        "--format",
        "json",
        "logs",
        "export",
        "srv-0001",
    ]);
    assert_eq!(result.code, 0, "{result}");
    json(&result.stdout);
    let result = run(&["--simulate", "-q", "logs", "export", "srv-0001"]);
    assert_eq!(result.code, 0, "{result}");
    assert!(result.stderr.is_empty(), "quiet: {result}");
}

#[test]
fn sim_command_announces_its_real_port_and_serves() {
    let mut child = std::process::Command::new(cli::binary())
        .args([
            "sim",
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t-sim",
            "--export-seconds",
            "1",
        ])
        .args(["--archive-bytes", "4096", "--project-id", cli::PROJECT])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _watchdog = cli::watchdog(&child);
    let (mut stdout, line) = cli::first_line(&mut child);
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_string);
    let collected = url.as_ref().map(|url| {
        let dir = tempfile::tempdir().unwrap();
        run(&[
            "--endpoint",
            url,
            "--project-id",
            cli::PROJECT,
            "--token",
            "t-sim",
            "--format",
            "json",
            "logs",
            "collect",
            "srv-0001",
            "-o",
            dir.path().to_str().unwrap(),
        ])
    });
    // Stop it the way a user does.
    cli::signal(&child, "-INT");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let url = url.unwrap_or_else(|| panic!("first line: {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "the real port: {url}");
    let collected = collected.unwrap();
    assert_eq!(collected.code, 0, "{collected}");
    assert_eq!(json(&collected.stdout)["results"][0]["status"], "ok");
    assert_eq!(status.code(), Some(0), "stops cleanly on Ctrl-C");

    // After stopping, one last line: what it served.
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 1, "{rest}");
    let stats = json(
        lines[0]
            .strip_prefix("stats ")
            .unwrap_or_else(|| panic!("{rest}")),
    );
    assert_eq!(stats["export_requests"], 1, "{stats}");
    assert!(stats["status_requests"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["download_requests"], 1, "{stats}");
    assert_eq!(stats["tasks_created"], 1, "{stats}");
    assert_eq!(stats["faults"]["500"], 0, "{stats}");
    // When the export and the download arrived: one of each, the export first,
    // both within this test's run.
    let stopped_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let window = |key: &str| {
        let at = |end: &str| {
            stats[key][end]
                .as_u64()
                .unwrap_or_else(|| panic!("{stats}"))
        };
        (at("first_ms"), at("last_ms"))
    };
    let (export_first, export_last) = window("export_window");
    let (download_first, download_last) = window("download_window");
    assert_eq!(export_first, export_last, "one export: {stats}");
    assert_eq!(download_first, download_last, "one download: {stats}");
    assert!(export_first <= download_first, "{stats}");
    assert!(
        download_last <= stopped_ms && stopped_ms - export_first < 120_000,
        "{stats}"
    );
}

#[test]
fn sim_command_stops_on_sigterm_too() {
    let mut child = std::process::Command::new(cli::binary())
        .args(["sim", "--addr", "127.0.0.1:0", "--token", "t-sim"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _watchdog = cli::watchdog(&child);
    let (mut stdout, line) = cli::first_line(&mut child);
    cli::signal(&child, "-TERM");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    assert_eq!(status.code(), Some(0));
    let stats = json(rest.trim().strip_prefix("stats ").unwrap());
    assert_eq!(stats["export_requests"], 0, "{stats}");
}

#[test]
fn sim_rejects_bad_settings_with_exit_2() {
    for (extra, expected) in [
        (&["--dialect", "klingon"][..], "--dialect"),
        (&["--faults", "500=lots"], "--faults"),
        (&["--faults", "boom=0.1"], "--faults"),
        (&["--rate-limit", "0"], "rate_limit"),
        (&["--project-id", ".."], "project_id"),
    ] {
        let mut args = vec!["sim", "--addr", "127.0.0.1:0", "--token", "t"];
        args.extend_from_slice(extra);
        let result = run(&args);
        assert_eq!(result.code, 2, "{extra:?}: {result}");
        assert!(result.stdout.is_empty(), "{extra:?}: {result}");
        assert_eq!(result.stderr.lines().count(), 1, "{extra:?}: {result}");
        assert!(result.stderr.starts_with("error: "), "{extra:?}: {result}");
        assert!(result.stderr.contains(expected), "{extra:?}: {result}");
    }
    // Errors clap finds itself.
    for extra in [
        &["--addr", "not-an-address", "--token", "t"][..],
        &["--addr", "127.0.0.1:0", "--ak", "AK-only"],
        &["--addr", "127.0.0.1:0", "--token", "t", "--seed", "-3"],
        &[
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t",
            "--export-seconds=-1",
        ],
        &[
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t",
            "--archive-bytes",
            "100",
        ],
    ] {
        let mut args = vec!["sim"];
        args.extend_from_slice(extra);
        let result = run(&args);
        assert_eq!(result.code, 2, "{extra:?}: {result}");
        assert!(result.stdout.is_empty(), "{extra:?}: {result}");
        assert!(result.stderr.starts_with("error:"), "{extra:?}: {result}");
    }
    // A negative export time says what is expected, not how floats parse.
    let result = run(&["sim", "--token", "t", "--export-seconds=-1"]);
    assert!(result.stderr.contains("0 or more"), "{result}");
    // No credential to accept: one line saying which flags to pass.
    let result = run(&["sim", "--addr", "127.0.0.1:0"]);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stdout.is_empty(), "{result}");
    assert_eq!(result.stderr.lines().count(), 1, "{result}");
    assert!(result.stderr.contains("--token"), "{result}");
    assert!(result.stderr.contains("--ak"), "{result}");
}

#[test]
fn sim_on_a_taken_address_is_a_configuration_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let result = run(&["sim", "--addr", &addr, "--token", "t"]);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stdout.is_empty(), "{result}");
    assert!(result.stderr.contains(&addr), "{result}");
}

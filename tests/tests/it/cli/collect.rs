//! `clouddc logs collect`: the JSON document, the text summary, exit statuses,
//! the servers file, progress lines, timeouts and Ctrl-C.

use crate::support::cli;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli::{Sim, SimOptions, clouddc, files_but_the_journal, json, run};
use serde_json::Value;

fn fast() -> SimOptions {
    SimOptions {
        export_seconds: 1.0,
        archive_bytes: 64 * 1024,
        ..SimOptions::default()
    }
}

#[test]
fn json_document_shape_and_nothing_else_on_stdout() {
    let sim = Sim::start(fast());
    let out = tempfile::tempdir().unwrap();
    let mut args = sim.connection_args();
    args.extend(
        [
            "--format", "json", "logs", "collect", "srv-0001", "..", "srv-0002",
        ]
        .map(String::from),
    );
    args.extend(["-o".into(), out.path().display().to_string()]);
    let result = run(&args);
    assert_eq!(result.code, 1, "{result}");
    let doc = json(&result.stdout);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    let results = doc["results"].as_array().unwrap();
    let servers: Vec<&str> = results
        .iter()
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["srv-0001", "..", "srv-0002"], "input order");
    let keys = [
        "server",
        "export_id",
        "status",
        "path",
        "bytes",
        "sha256",
        "error",
        "request_id",
        "resumed",
    ];
    for r in results {
        let object = r.as_object().unwrap();
        assert_eq!(object.len(), keys.len(), "{r}");
        for key in keys {
            assert!(object.contains_key(key), "{key} in {r}");
        }
    }
    for ok in [&results[0], &results[2]] {
        assert_eq!(ok["status"], "ok");
        assert_eq!(ok["error"], Value::Null);
        assert_eq!(ok["request_id"], Value::Null);
        let bytes = ok["bytes"].as_u64().unwrap();
        assert!(cli::is_archive_size(bytes, 64 * 1024), "{ok}");
        let path = std::path::Path::new(ok["path"].as_str().unwrap());
        assert!(path.starts_with(out.path()), "{ok}");
        assert_eq!(std::fs::metadata(path).unwrap().len(), bytes);
        let server = ok["server"].as_str().unwrap();
        let export_id = ok["export_id"].as_str().unwrap();
        assert_eq!(ok["sha256"], sim.expected_sha256(server, export_id), "{ok}");
    }
    let bad = &results[1];
    assert_eq!(bad["status"], "failed");
    for key in ["export_id", "path", "bytes", "sha256"] {
        assert_eq!(bad[key], Value::Null, "{key}");
    }
    assert!(
        bad["error"].as_str().unwrap().contains("invalid server"),
        "{bad}"
    );
}

#[test]
fn text_summary_and_progress_lines() {
    let sim = Sim::start(fast());
    let out = tempfile::tempdir().unwrap();
    let mut args = sim.connection_args();
    args.extend(["logs", "collect", "srv-0001", "srv-0002"].map(String::from));
    args.extend(["-o".into(), out.path().display().to_string()]);
    let result = run(&args);
    assert_eq!(result.code, 0, "{result}");
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{result}");
    for (line, server) in lines.iter().zip(["srv-0001", "srv-0002"]) {
        assert!(line.starts_with(&format!("{server}  ok  ")), "{line}");
        assert!(line.contains(" 64.0"), "{line}");
        assert!(line.contains(" KiB  "), "{line}");
        assert!(line.contains("sha256:"), "{line}");
    }
    assert!(
        lines[2].starts_with("2 of 2 servers collected, 0 failed"),
        "{result}"
    );
    // Not a terminal: one line per state change, never per byte.
    for server in ["srv-0001", "srv-0002"] {
        for state in ["exporting", "waiting", "downloading", "done"] {
            assert!(
                result.stderr.contains(&format!("{server}: {state}")),
                "{server} {state}: {result}"
            );
        }
        let downloading = result
            .stderr
            .matches(&format!("{server}: downloading"))
            .count();
        assert_eq!(downloading, 1, "{result}");
    }
    assert!(result.stderr.lines().count() < 40, "{result}");
}

#[test]
fn a_failing_simulator_fails_every_server_with_exit_1() {
    let sim = Sim::start(SimOptions {
        faults: Some("fail=1.0".into()),
        ..fast()
    });
    let out = tempfile::tempdir().unwrap();
    let mut args = sim.connection_args();
    args.extend(
        [
            "--format", "json", "logs", "collect", "srv-0001", "srv-0002",
        ]
        .map(String::from),
    );
    args.extend(["-o".into(), out.path().display().to_string()]);
    let result = run(&args);
    assert_eq!(result.code, 1, "{result}");
    let doc = json(&result.stdout);
    for r in doc["results"].as_array().unwrap() {
        assert_eq!(r["status"], "failed", "{r}");
        assert!(!r["error"].as_str().unwrap().is_empty(), "{r}");
    }
    assert_eq!(
        files_but_the_journal(out.path()),
        Vec::<String>::new(),
        "nothing left behind"
    );
}

#[test]
fn servers_file_and_arguments_combined_without_duplicates() {
    let sim = Sim::start(fast());
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("servers.txt");
    std::fs::write(
        &file,
        "# rack 1\nsrv-0002\n\n  srv-0003   # the new one\nsrv-0001\nsrv-0002\n",
    )
    .unwrap();
    let archives = out.path().join("archives");
    let mut args = sim.connection_args();
    args.extend(
        [
            "--format",
            "json",
            "logs",
            "collect",
            "srv-0001",
            "--servers-file",
        ]
        .map(String::from),
    );
    args.push(file.display().to_string());
    args.extend(["-o".into(), archives.display().to_string()]);
    let result = run(&args);
    assert_eq!(result.code, 0, "{result}");
    let doc = json(&result.stdout);
    let servers = cli::servers_of(&doc);
    assert_eq!(servers, ["srv-0001", "srv-0002", "srv-0003"]);
    assert_eq!(files_but_the_journal(&archives).len(), 3);
}

#[test]
fn servers_file_from_stdin() {
    let sim = Sim::start(fast());
    let out = tempfile::tempdir().unwrap();
    let args = sim.args_into(
        &[
            "--format",
            "json",
            "logs",
            "collect",
            "--servers-file",
            "-",
            "-o",
        ],
        out.path(),
    );
    let output = clouddc(&args)
        .write_stdin("srv-0007\n# done\n")
        .timeout(cli::RUN_LIMIT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let doc = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(doc["results"][0]["server"], "srv-0007");
}

#[test]
fn timeout_bounds_each_servers_wait() {
    let sim = Sim::start(SimOptions {
        export_seconds: 60.0,
        ..fast()
    });
    let out = tempfile::tempdir().unwrap();
    let args = sim.args_into(
        &[
            "--format",
            "json",
            "logs",
            "collect",
            "srv-0001",
            "--timeout",
            "2s",
            "-o",
        ],
        out.path(),
    );
    let started = Instant::now();
    let result = run(&args);
    assert!(started.elapsed() < Duration::from_secs(20), "{result}");
    assert_eq!(result.code, 1, "{result}");
    let doc = json(&result.stdout);
    let error = doc["results"][0]["error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert!(doc["results"][0]["export_id"].is_string(), "{doc}");
}

#[test]
fn ctrl_c_stops_cleanly_with_a_summary_and_exit_130() {
    let sim = Sim::start(SimOptions {
        export_seconds: 60.0,
        ..fast()
    });
    let out = tempfile::tempdir().unwrap();
    let args = sim.args_into(
        &[
            "--format", "json", "logs", "collect", "srv-0001", "srv-0002", "-o",
        ],
        out.path(),
    );
    let mut child = cli::spawn_clean(&args, Stdio::piped());
    let _watchdog = cli::watchdog(&child);
    // Wait until both servers are waiting for their exports.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.matches(": waiting").count() < 2 {
        assert!(Instant::now() < deadline, "no waiting lines: {seen}");
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("clouddc ended early: {seen}");
        }
        seen.push_str(&line);
    }
    let status = cli::signal(&child, "-INT");
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(output.status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    // Every server is listed, as interrupted: a script sees what was not done.
    let doc = json(&String::from_utf8_lossy(&output.stdout));
    let results = doc["results"].as_array().unwrap();
    let listed: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["server"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("srv-0001", "interrupted"), ("srv-0002", "interrupted")],
        "{doc}"
    );
    assert_eq!(
        files_but_the_journal(out.path()),
        Vec::<String>::new(),
        "no files left behind"
    );
}

#[test]
fn ctrl_c_mid_download_removes_the_partial_file_and_reports_what_finished() {
    // Every download stalls part way through its body (at 10 % or more), long
    // enough to be interrupted while its temporary file holds a partial
    // archive; 16 MiB so that the part exceeds the 1 MiB write buffer.
    let sim = Sim::start(SimOptions {
        faults: Some("stall=1.0".into()),
        stall_for: Duration::from_secs(60),
        archive_bytes: 16 << 20,
        ..fast()
    });
    let out = tempfile::tempdir().unwrap();
    // `..` fails at once: one server finished before the interruption.
    let args = sim.args_into(&["logs", "collect", "srv-0001", "..", "-o"], out.path());
    let mut child = cli::spawn_clean(&args, Stdio::piped());
    let _watchdog = cli::watchdog(&child);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("srv-0001: downloading") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("clouddc ended early: {seen}");
        }
        seen.push_str(&line);
    }
    // The partial archive exists, under a temporary name only.
    let deadline = Instant::now() + Duration::from_secs(20);
    let partial = loop {
        // The lock is held while the collect runs.
        let names: Vec<String> = files_but_the_journal(out.path())
            .into_iter()
            .filter(|n| n != ".clouddc.lock")
            .collect();
        let part = names.iter().find(|n| n.ends_with(".part")).cloned();
        let size = part
            .as_ref()
            .map(|n| std::fs::metadata(out.path().join(n)).map_or(0, |m| m.len()))
            .unwrap_or(0);
        if size > 0 {
            assert_eq!(names.len(), 1, "only the temporary file: {names:?}");
            break part.unwrap();
        }
        assert!(Instant::now() < deadline, "no partial file: {names:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    cli::signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(output.status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains("interrupted: 1 of 2 servers finished"),
        "{rest}"
    );
    let remaining = files_but_the_journal(out.path());
    assert!(remaining.is_empty(), "{partial} left behind: {remaining:?}");
    // The summary lists what finished and counts what did not.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("srv-0001  interrupted "), "{stdout}");
    assert!(
        lines[1].starts_with("..        failed  invalid server"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("0 of 2 servers collected, 1 failed"),
        "{stdout}"
    );
    assert!(lines[2].ends_with(", 1 not finished"), "{stdout}");
}

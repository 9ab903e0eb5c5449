//! What a newcomer hit (issue 18, items 6 to 11), through the real binary:
//! the output directory is checked before any export, connection flags work
//! after the command, retries show, every command prints its JSON document,
//! and defaults and messages say what is true.

use crate::support::cli;
use crate::support::fs::listing;

use cli::{PROJECT, Sim, SimOptions, TOKEN, json, run};

/// A port nothing listens on: bound, then released.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_output_directory_fails_before_any_export() {
    let sim = Sim::start(SimOptions::default());
    // A directory that exists and that even root cannot create files in.
    let mut args = sim.connection_args();
    args.extend(["logs", "collect", "srv-0001", "srv-0002", "-o", "/proc/1"].map(String::from));
    let result = run(&args);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stdout.is_empty(), "{result}");
    assert_eq!(result.stderr.lines().count(), 1, "{result}");
    assert!(
        result
            .stderr
            .starts_with("error: cannot use /proc/1 as the output directory"),
        "{result}"
    );
    assert_eq!(sim.stats().export_requests, 0, "an export was triggered");
}

#[test]
fn connection_flags_work_after_the_command() {
    let sim = Sim::start(SimOptions::default());
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let mut args = vec!["-q", "logs", "collect"];
    let connection = sim.connection_args();
    args.extend(connection.iter().map(String::as_str));
    args.extend(["srv-0001", "-o", &dir, "--format", "json"]);
    let result = run(&args);
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(json(&result.stdout)["results"][0]["status"], "ok");
    // Each subcommand's help lists them.
    for command in [
        &["logs", "collect", "--help"][..],
        &["logs", "export", "--help"],
        &["logs", "status", "--help"],
        &["logs", "download", "--help"],
    ] {
        let help = run(command);
        for flag in ["--endpoint", "--region", "--project-id", "--token", "--ak"] {
            assert!(help.stdout.contains(flag), "{command:?} lacks {flag}");
        }
    }
}

#[test]
fn retries_show_without_verbose_and_the_error_counts_the_attempts() {
    let endpoint = dead_endpoint();
    let result = run(&[
        "--endpoint",
        &endpoint,
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
        "logs",
        "status",
        "srv-0001",
        "e1",
    ]);
    assert_eq!(result.code, 1, "{result}");
    let retries = result.stderr.matches("retrying").count();
    assert_eq!(retries, 7, "one line per retry: {result}");
    let last = result.stderr.lines().last().unwrap();
    assert!(last.starts_with("error: "), "{result}");
    assert!(last.contains("gave up after 8 attempts"), "{result}");
    assert!(!result.stderr.contains(TOKEN), "{result}");
}

#[test]
fn very_verbose_shows_each_request_and_response_never_a_secret() {
    let sim = Sim::start(SimOptions::default());
    let mut args = vec!["-vv".to_string()];
    args.extend(sim.connection_args());
    args.extend(["logs", "export", "srv-0001"].map(String::from));
    let result = run(&args);
    assert_eq!(result.code, 0, "{result}");
    let line = result
        .stderr
        .lines()
        .find(|l| l.contains("response"))
        .unwrap_or_else(|| panic!("no response line: {result}"));
    for part in [
        "method=\"POST\"",
        "path=\"/v1/",
        "status=202",
        "request_id=",
        "elapsed_ms=",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    // -vvv adds the header names, never their values.
    let mut args = vec!["-vvv".to_string()];
    args.extend(sim.connection_args());
    args.extend(["logs", "export", "srv-0002"].map(String::from));
    let result = run(&args);
    assert!(result.stderr.contains("x-auth-token"), "{result}");
    assert!(!result.stderr.contains(TOKEN), "{result}");
}

#[test]
fn every_command_prints_its_document_and_percentage_is_a_number() {
    let sim = Sim::start(SimOptions::default());
    let with = |extra: &[&str]| {
        let mut args = sim.connection_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        run(&args)
    };
    let result = with(&["--format", "json", "logs", "export", "srv-0001"]);
    assert_eq!(result.code, 0, "{result}");
    let task = json(&result.stdout);
    assert!(task["percentage"].is_number(), "{task}");
    assert_eq!(task["server"], "srv-0001");
    assert_eq!(task["error"], serde_json::Value::Null);
    let export_id = task["export_id"].as_str().unwrap().to_owned();
    let result = with(&["logs", "status", "srv-0001", &export_id, "--format", "json"]);
    assert!(json(&result.stdout)["percentage"].is_number(), "{result}");

    // Failures: status and export print the same keys, with the error.
    for args in [
        &[
            "logs",
            "status",
            "srv-0001",
            "no-such-export",
            "--format",
            "json",
        ][..],
        &["logs", "export", "..", "--format", "json"],
    ] {
        let result = with(args);
        assert_eq!(result.code, 1, "{args:?}: {result}");
        let document = json(&result.stdout);
        for key in [
            "server",
            "export_id",
            "status",
            "percentage",
            "created_at",
            "error",
            "request_id",
        ] {
            assert!(document.get(key).is_some(), "{key}: {document}");
        }
        assert!(document["error"].is_string(), "{document}");
    }
    let result = with(&[
        "logs",
        "status",
        "srv-0001",
        "no-such-export",
        "--format",
        "json",
    ]);
    assert!(json(&result.stdout)["request_id"].is_string(), "{result}");
}

#[test]
fn defaults_and_messages_say_what_is_true() {
    // An endpoint without a scheme suggests one.
    let result = run(&[
        "--endpoint",
        "127.0.0.1:8080",
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
        "logs",
        "export",
        "srv-0001",
    ]);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stderr.contains("http://"), "{result}");
    assert!(!result.stderr.contains("relative URL"), "{result}");

    // --simulate cannot show or download an export from elsewhere: refused.
    for command in [
        &["--simulate", "logs", "status", "srv-0001", "e1"][..],
        &["--simulate", "logs", "download", "srv-0001", "e1"],
    ] {
        let result = run(command);
        assert_eq!(result.code, 2, "{result}");
        assert!(result.stderr.contains("empty simulator"), "{result}");
    }

    // --format is where it does something only.
    for command in [
        &["sim", "--help"][..],
        &["completions", "--help"],
        &["--help"],
    ] {
        let help = run(command);
        assert!(!help.stdout.contains("--format"), "{command:?}");
    }
    let help = run(&["logs", "collect", "--help"]);
    assert!(help.stdout.contains("--format"), "{help}");
    // --max-downloads says its real default.
    // (Compared with the help's line breaks folded: the columns move as flags
    // are added.)
    let folded = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        folded.contains("[default: 16, and never more than --concurrency]"),
        "{help}"
    );

    // The simulator's banner tells the truth about sizes, and bad values say
    // what is expected.
    let result = run(&["sim", "--token", "t", "--archive-bytes", "1025"]);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stderr.contains("4096"), "{result}");
}

#[test]
fn a_rerun_is_predictable_no_dot_n_names_and_overwrite_replaces() {
    let sim = Sim::start(SimOptions::default());
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let collect = |extra: &[&str]| {
        let mut args = sim.connection_args();
        args.extend(
            [
                "-q", "--format", "json", "logs", "collect", "srv-0001", "srv-0002", "-o", &dir,
            ]
            .map(String::from),
        );
        args.extend(extra.iter().map(|a| a.to_string()));
        run(&args)
    };
    let first = collect(&[]);
    assert_eq!(first.code, 0, "{first}");
    let exports = sim.stats().export_requests;
    // Again: the journal knows both archives complete, so both are resumed.
    let resumed = collect(&[]);
    assert_eq!(resumed.code, 0, "{resumed}");
    for result in json(&resumed.stdout)["results"].as_array().unwrap() {
        assert_eq!(result["resumed"], true, "{resumed}");
    }
    // Again without the journal: each server fails before its export, naming
    // its file.
    let again = collect(&["--fresh"]);
    assert_eq!(again.code, 1, "{again}");
    for result in json(&again.stdout)["results"].as_array().unwrap() {
        assert_eq!(result["status"], "failed", "{again}");
        let error = result["error"].as_str().unwrap();
        assert!(
            error.contains("-dump.tar.gz") && error.contains("--overwrite"),
            "{error}"
        );
    }
    assert_eq!(
        sim.stats().export_requests,
        exports,
        "an export was triggered"
    );
    // With --overwrite: the same names, replaced.
    let replaced = collect(&["--fresh", "--overwrite"]);
    assert_eq!(replaced.code, 0, "{replaced}");
    let names = listing(out.path());
    assert_eq!(
        names,
        [
            ".clouddc-journal",
            "srv-0001-dump.tar.gz",
            "srv-0002-dump.tar.gz"
        ]
    );
}

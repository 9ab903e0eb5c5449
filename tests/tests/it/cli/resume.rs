//! `logs collect` run again on its own directory: the journal, the lock, a
//! torn record, `--fresh`.

use crate::support::cli;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cli::{Sim, SimOptions, json, run};

fn collect_args(sim: &Sim, dir: &std::path::Path, servers: &[&str]) -> Vec<String> {
    let mut args = sim.connection_args();
    args.extend(["--format", "json", "logs", "collect"].map(String::from));
    args.extend(servers.iter().map(|s| s.to_string()));
    args.push("-o".into());
    args.push(dir.display().to_string());
    args
}

#[test]
fn a_rerun_skips_complete_archives_without_a_request_and_says_resumed() {
    let sim = Sim::start(SimOptions {
        export_seconds: 0.2,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let args = collect_args(&sim, dir.path(), &["srv-0001", "srv-0002"]);
    let first = run(&args);
    assert_eq!(first.code, 0, "{first}");
    let before = sim.stats();

    // A crash mid-write of the journal: half a record at its end.
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(".clouddc-journal"))
        .unwrap();
    journal.write_all(b"0badc0de {\"kind\":\"expo").unwrap();
    drop(journal);

    let again = run(&args);
    assert_eq!(again.code, 0, "{again}");
    assert!(
        again.stderr.contains("journal: dropped a torn last record"),
        "{again}"
    );
    let doc = json(&again.stdout);
    for result in doc["results"].as_array().unwrap() {
        assert_eq!(result["status"], "ok", "{result}");
        assert_eq!(result["resumed"], true, "{result}");
    }
    let after = sim.stats();
    assert_eq!(
        (
            after.export_requests,
            after.status_requests,
            after.download_requests
        ),
        (
            before.export_requests,
            before.status_requests,
            before.download_requests
        ),
        "a re-run over complete archives makes no request"
    );

    // A changed archive is collected again, not reported as resumed.
    let first_doc = json(&first.stdout);
    let path = first_doc["results"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&path, b"not the archive").unwrap();
    std::fs::remove_file(&path).unwrap();
    let third = run(&args);
    assert_eq!(third.code, 0, "{third}");
    let doc = json(&third.stdout);
    assert_eq!(doc["results"][0]["resumed"], false, "{doc}");
    assert_eq!(doc["results"][1]["resumed"], true, "{doc}");

    // --fresh exports everything again (replacing the archives needs
    // --overwrite, as for any archive the journal does not vouch for).
    let mut fresh = args.clone();
    fresh.extend(["--fresh".into(), "--overwrite".into()]);
    let exports_before = sim.stats().tasks_created;
    let fourth = run(&fresh);
    assert_eq!(fourth.code, 0, "{fourth}");
    let doc = json(&fourth.stdout);
    assert!(
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["resumed"] == false),
        "{doc}"
    );
    assert_eq!(sim.stats().tasks_created, exports_before + 2);
}

#[test]
fn a_journaled_server_left_out_of_the_list_is_reported_not_collected() {
    let sim = Sim::start(SimOptions {
        export_seconds: 0.2,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let first = run(&collect_args(&sim, dir.path(), &["srv-0001", "srv-0002"]));
    assert_eq!(first.code, 0, "{first}");
    let second = run(&collect_args(&sim, dir.path(), &["srv-0002", "srv-0003"]));
    assert_eq!(second.code, 0, "{second}");
    assert!(
        second.stderr.contains(
            "journal: 1 journaled servers are not in this run's list and are not collected: srv-0001"
        ),
        "{second}"
    );
    let doc = json(&second.stdout);
    let servers = cli::servers_of(&doc);
    assert_eq!(servers, ["srv-0002", "srv-0003"]);
    assert_eq!(doc["results"][0]["resumed"], true);
    assert_eq!(doc["results"][1]["resumed"], false);
}

#[test]
fn a_second_collect_on_a_directory_in_use_exits_2_naming_the_lock() {
    let sim = Sim::start(SimOptions {
        export_seconds: 60.0,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let args = sim.args_into(&["logs", "collect", "srv-0001", "-o"], dir.path());
    let mut first = cli::spawn_clean(&args, Stdio::null());
    let _watchdog = cli::watchdog(&first);
    let mut stderr = BufReader::new(first.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while !seen.contains(": waiting") {
        assert!(Instant::now() < deadline, "not waiting: {seen}");
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "ended: {seen}");
        seen.push_str(&line);
    }

    let second = run(&args);
    let lock = dir.path().join(".clouddc.lock");
    assert_eq!(second.code, 2, "{second}");
    assert!(
        second.stderr.contains(&lock.display().to_string()),
        "{second}"
    );
    assert!(second.stdout.is_empty(), "{second}");

    cli::signal(&first, "-INT");
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!lock.exists(), "the lock file goes at a clean exit");
    // The interrupted run left its journal, and nothing else.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [".clouddc-journal"]);
}

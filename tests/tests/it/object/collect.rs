//! `logs collect -o s3://BUCKET/PREFIX/` against a real S3 server (moto's, on
//! 127.0.0.1), read back by boto3: a fleet under faults, a cancelled upload
//! that leaves no multipart upload open, and a killed collector's re-run.

use crate::support::{cli, s3};

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cli::{ENV_VARS, RunResult, Sim, SimOptions, binary, json, run_command, watchdog};
use s3::{S3Server, SECRET_KEY};
use serde_json::Value;

const BUCKET: &str = "clouddc-logs";

fn collect(sim: &Sim, s3: &S3Server, servers: &[String], rest: &[&str]) -> std::process::Command {
    collect_with("-q", sim, s3, servers, rest)
}

/// `clouddc VERBOSITY --format json logs collect -o s3://... REST SERVERS`.
fn collect_with(
    verbosity: &str,
    sim: &Sim,
    s3: &S3Server,
    servers: &[String],
    rest: &[&str],
) -> std::process::Command {
    let mut args = sim.connection_args();
    args.extend(
        [
            verbosity,
            "--format",
            "json",
            "logs",
            "collect",
            "-o",
            "s3://clouddc-logs/fleet/",
            "--s3-path-style",
        ]
        .iter()
        .chain(rest)
        .map(|s| (*s).to_owned()),
    );
    args.extend(servers.iter().cloned());
    let mut command = std::process::Command::new(binary());
    for name in ENV_VARS {
        command.env_remove(name);
    }
    command.args(args);
    for (name, value) in s3.env() {
        command.env(name, value);
    }
    command
}

fn ids(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("srv-{i:04}")).collect()
}

/// The bucket as boto3 read it: key -> (size, sha256, text of a small
/// object, whether it is a complete gzip stream).
fn bucket(s3: &S3Server) -> HashMap<String, (u64, String, Option<String>, bool)> {
    s3.objects(BUCKET)
        .into_iter()
        .map(|o| {
            assert_eq!(o["size"], o["read"], "{o}");
            (
                o["key"].as_str().unwrap().to_owned(),
                (
                    o["size"].as_u64().unwrap(),
                    o["sha256"].as_str().unwrap().to_owned(),
                    o["text"].as_str().map(str::to_owned),
                    o["gzip_ok"] == true,
                ),
            )
        })
        .collect()
}

/// Every result is ok and its object, read back by boto3, has the simulator's
/// bytes and sha256, with the sha256 recorded beside it.
fn assert_bucket_holds(sim: &Sim, s3: &S3Server, result: &RunResult, servers: &[String]) {
    assert_eq!(result.code, 0, "{result}");
    assert!(!result.stdout.contains(SECRET_KEY) && !result.stderr.contains(SECRET_KEY));
    let objects = bucket(s3);
    assert_eq!(
        objects.len(),
        2 * servers.len(),
        "an archive and its .sha256 each: {objects:?}"
    );
    let doc = json(&result.stdout);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), servers.len());
    for record in results {
        assert_eq!(record["status"], "ok", "{record}");
        let server = record["server"].as_str().unwrap();
        let key = format!("fleet/{server}-dump.tar.gz");
        assert_eq!(record["path"], format!("s3://{BUCKET}/{key}"));
        let (size, sha256, _, gzipped) = &objects[&key];
        // A server skipped by a re-run reports no export (no journal with
        // object output); its object is still checked as boto3 reads it.
        let expected = match record["export_id"].as_str() {
            Some(export_id) => sim.expected_sha256(server, export_id),
            None => {
                assert_eq!(record["resumed"], true, "{record}");
                sha256.clone()
            }
        };
        assert_eq!(*sha256, expected, "{key}: boto3 read other bytes");
        assert!(*gzipped, "{key}: not a complete gzip stream");
        assert_eq!(record["sha256"], expected);
        assert_eq!(record["bytes"], *size);
        let (_, _, text, _) = &objects[&format!("{key}.sha256")];
        assert_eq!(
            text.as_deref(),
            Some(format!("{expected}  {server}-dump.tar.gz\n").as_str())
        );
    }
    assert!(
        s3.uploads(BUCKET).is_empty(),
        "no multipart upload is left open"
    );
}

#[test]
fn a_fleet_under_faults_lands_in_the_bucket_as_the_simulator_made_it() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let sim = Sim::start(SimOptions {
        export_seconds: 0.3,
        archive_bytes: 24 * 1024,
        faults: Some("500=0.05,429=0.05,reset=0.02,truncate=0.02".into()),
        seed: Some(17),
        ..SimOptions::default()
    });
    let servers = ids(50);
    let result = run_command(Command::from_std(collect(
        &sim,
        &s3,
        &servers,
        &["--concurrency", "16"],
    )));
    assert_bucket_holds(&sim, &s3, &result, &servers);
    let faults = sim.stats().faults;
    assert!(
        faults.internal + faults.throttle + faults.reset + faults.truncate > 0,
        "faults were injected"
    );
}

#[test]
fn archives_larger_than_a_part_go_up_in_parts() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    // 19 MiB: two full 8 MiB parts and a last one.
    let sim = Sim::start(SimOptions {
        export_seconds: 0.2,
        archive_bytes: 19 << 20,
        faults: Some("reset=0.2".into()),
        seed: Some(5),
        ..SimOptions::default()
    });
    let servers = ids(2);
    // Every request logged (-vvv): still no secret on stderr.
    let result = run_command(Command::from_std(collect_with(
        "-vvv",
        &sim,
        &s3,
        &servers,
        &[],
    )));
    assert!(result.stderr.contains("srv-0001"), "{result}");
    assert_bucket_holds(&sim, &s3, &result, &servers);
}

/// Waits (bounded) until `ready` holds.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_interrupted_collect_leaves_no_multipart_upload_open() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let sim = Sim::start(SimOptions {
        export_seconds: 0.2,
        archive_bytes: 40 << 20,
        ..SimOptions::default()
    });
    let servers = ids(2);
    let child = collect(&sim, &s3, &servers, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _watchdog = watchdog(&child);
    wait_for("a multipart upload", Duration::from_secs(50), || {
        !s3.uploads(BUCKET).is_empty()
    });
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        json(&stdout)["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "interrupted")
    );
    assert_eq!(
        s3.uploads(BUCKET),
        Vec::<Value>::new(),
        "every upload was aborted"
    );
    assert!(bucket(&s3).is_empty(), "no object appeared");
}

#[test]
fn a_killed_collectors_rerun_completes_the_bucket_and_skips_what_is_there() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    // Under a part each (one PUT at the commit), one download at a time, so
    // the kill lands with some servers done and leaves no upload behind.
    let sim = Sim::start(SimOptions {
        export_seconds: 0.2,
        archive_bytes: 6 << 20,
        ..SimOptions::default()
    });
    let servers = ids(16);
    let mut child = collect(&sim, &s3, &servers, &["--max-downloads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _watchdog = watchdog(&child);
    wait_for("the first objects", Duration::from_secs(50), || {
        s3.keys(BUCKET)
            .iter()
            .filter(|k| k.ends_with(".sha256"))
            .count()
            >= 2
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let before = bucket(&s3).len() / 2;
    assert!(
        before < servers.len(),
        "killed before the end ({before} done)"
    );

    let result = run_command(Command::from_std(collect(&sim, &s3, &servers, &[])));
    assert_bucket_holds(&sim, &s3, &result, &servers);
    let doc = json(&result.stdout);
    let resumed = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resumed"] == true)
        .count();
    assert!(
        resumed >= before - 1 && resumed >= 1,
        "{resumed} skipped of {before} complete"
    );
    assert!(sim.stats().tasks_created < 2 * servers.len() as u64);
}

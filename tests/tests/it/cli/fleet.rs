//! A fleet of 200 servers against a faulty simulator: every archive arrives,
//! complete and with the simulator's SHA-256, in bounded time.

use crate::support::cli;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cli::{Sim, SimOptions, json, run};

const SERVERS: usize = 200;
/// Generous for 2 cores and a debug build (it takes about 5 s); a hang fails
/// instead of blocking CI.
const TIME_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn two_hundred_servers_through_faults() {
    let sim = Sim::start(SimOptions {
        export_seconds: 1.0,
        archive_bytes: 16 * 1024,
        // Every fault a client can recover from; `fail` ends an export for
        // good, which is not recoverable. Stalls and slow answers are short
        // (see `SimOptions::default`) so they cost seconds.
        faults: Some("500=0.05,429=0.05,reset=0.05,truncate=0.05,stall=0.02,slow=0.02".into()),
        seed: Some(20_261_123),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<String> = (1..=SERVERS).map(|i| format!("srv-{i:04}")).collect();
    let file = dir.path().join("fleet.txt");
    std::fs::write(&file, servers.join("\n")).unwrap();
    let out = dir.path().join("logs");

    let mut args = sim.connection_args();
    args.extend(["--format", "json", "logs", "collect", "--concurrency", "32"].map(String::from));
    args.extend(["--timeout".into(), "60s".into()]);
    args.extend(["--servers-file".into(), file.display().to_string()]);
    args.extend(["-o".into(), out.display().to_string()]);
    let started = Instant::now();
    let result = run(&args);
    let elapsed = started.elapsed();
    assert_eq!(result.code, 0, "{result}");
    assert!(elapsed < TIME_LIMIT, "took {elapsed:?}");

    let doc = json(&result.stdout);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), SERVERS);
    let mut paths = HashSet::new();
    for (r, server) in results.iter().zip(&servers) {
        assert_eq!(r["server"], server.as_str(), "input order");
        assert_eq!(r["status"], "ok", "{r}");
        let export_id = r["export_id"].as_str().unwrap();
        assert_eq!(r["sha256"], sim.expected_sha256(server, export_id), "{r}");
        let bytes = r["bytes"].as_u64().unwrap();
        assert!(cli::is_archive_size(bytes, 16 * 1024), "{r}");
        let path = r["path"].as_str().unwrap();
        assert!(paths.insert(path.to_string()), "two servers wrote {path}");
        let content = std::fs::read(path).unwrap();
        assert_eq!(content.len() as u64, bytes, "{r}");
        assert_eq!(cli::sha256_hex(&content), r["sha256"].as_str().unwrap());
    }
    // The faults did strike, and were recovered from.
    let stats = sim.stats();
    let faults = stats.faults;
    for (name, count) in [
        ("500", faults.internal),
        ("429", faults.throttle),
        ("reset", faults.reset),
        ("truncate", faults.truncate),
    ] {
        assert!(count > 0, "no {name} fault in 200 servers: {stats:?}");
    }
    assert!(stats.export_requests > SERVERS as u64, "{stats:?}");
    assert!(stats.download_requests > SERVERS as u64, "{stats:?}");
    // Only the archives and the journal: no temporary files left behind.
    let left = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != ".clouddc-journal")
        .count();
    assert_eq!(left, SERVERS);
    // One line per state change, not per byte.
    assert!(
        result.stderr.lines().count() < SERVERS * 20,
        "{} lines",
        result.stderr.lines().count()
    );
}

//! A collect that survives its own death: a 200-server `clouddc logs collect`
//! against a separate `clouddc sim` process with faults on, SIGKILLed at seeded
//! random instants and restarted until it exits 0. Then every archive must be
//! complete with the simulator's sha256, every server exported once (the
//! simulator's per-server counts) unless a kill cut its export call (the
//! journal's `exporting` record without its `exported`), and nothing temporary
//! or locked left.
//!
//! Bounded: each run has a watchdog, the whole test a time budget and a cap on
//! runs. It prints its figures (kills, runs, exports, bytes served again).

use crate::support::{cli, heavy};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli::{PROJECT, binary, sha256_hex};

const SERVERS: usize = 200;
const KILLS: usize = 20;
const SEED: u64 = 15;
/// Larger than the writer's 64 KiB buffer, so killed downloads leave parts to
/// resume.
const ARCHIVE_BYTES: u64 = 256 * 1024;
const TOKEN: &str = "kill-test-token";
/// The whole test, kills and the final run included.
const BUDGET: Duration = Duration::from_secs(150);
/// A run is abandoned (and the test fails) after this.
const RUN_LIMIT: Duration = Duration::from_secs(60);
const MAX_RUNS: usize = 80;

/// A tiny seeded generator: the kill instants are reproducible from `SEED`.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn start_sim() -> (Child, BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new(binary())
        .args(["sim", "--addr", "127.0.0.1:0", "--token", TOKEN])
        .args(["--project-id", PROJECT, "--export-seconds", "1.5"])
        .args(["--archive-bytes", &ARCHIVE_BYTES.to_string()])
        .args(["--faults", "500=0.02,429=0.02,reset=0.03,truncate=0.03"])
        .args(["--seed", &SEED.to_string()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simulator starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .to_string();
    (child, stdout, url)
}

/// Stops the simulator with SIGTERM and returns its stats line as JSON.
fn stop_sim(
    mut child: Child,
    mut stdout: BufReader<std::process::ChildStdout>,
) -> serde_json::Value {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let mut rest = String::new();
    stdout
        .read_to_string(&mut rest)
        .expect("the rest of stdout");
    child.wait().expect("the simulator ends");
    let stats = rest
        .lines()
        .find_map(|l| l.strip_prefix("stats "))
        .unwrap_or_else(|| panic!("no stats line in {rest:?}"));
    serde_json::from_str(stats).expect("stats JSON")
}

/// The servers whose export call the kill cut: their journal's last word on
/// exporting is `exporting` (the call was made) with no `exported` (its
/// answer) after it. Only these may have a second task: no operation lists a
/// server's tasks, so the re-run cannot find the one the cut call created.
fn cut_export_calls(dir: &Path) -> BTreeSet<String> {
    let journal = std::fs::read_to_string(dir.join(".clouddc-journal")).unwrap_or_default();
    let mut cut = BTreeSet::new();
    // `<crc32> <json>` lines after the header; a torn last line parses as nothing.
    let records = journal
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(_, json)| serde_json::from_str::<serde_json::Value>(json).ok());
    for record in records {
        let server = record["server"].as_str().unwrap_or_default().to_string();
        match record["kind"].as_str() {
            Some("exporting") => {
                cut.insert(server);
            }
            Some("exported") => {
                cut.remove(&server);
            }
            _ => {}
        }
    }
    cut
}

/// Starts one collect; stdout and stderr go to files, so a full pipe can never
/// hold it up and a kill loses nothing the test reads.
fn start_collect(url: &str, dir: &Path, servers: &Path, logs: &Path, run: usize) -> Child {
    let file = |name: &str| std::fs::File::create(logs.join(format!("{run}.{name}"))).unwrap();
    let mut command = Command::new(binary());
    for name in cli::ENV_VARS {
        command.env_remove(name);
    }
    command
        .args(["--endpoint", url, "--project-id", PROJECT, "--token", TOKEN])
        .args(["--format", "json", "logs", "collect", "--servers-file"])
        .arg(servers)
        .arg("-o")
        .arg(dir)
        .args(["--concurrency", "64", "--timeout", "60s"])
        .stdout(file("out"))
        .stderr(file("err"))
        .spawn()
        .expect("collect starts")
}

#[test]
fn a_collect_killed_at_random_instants_finishes_with_each_server_exported_once() {
    let _heavy = heavy::lock();
    let started = Instant::now();
    let (sim, sim_stdout, url) = start_sim();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("out");
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let servers: Vec<String> = (1..=SERVERS).map(|n| format!("kill-{n:04}")).collect();
    let servers_file = work.path().join("servers.txt");
    std::fs::write(&servers_file, servers.join("\n")).unwrap();

    let mut rng = XorShift(SEED.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (mut kills, mut runs, mut torn, mut failed_runs) = (0usize, 0usize, 0usize, 0usize);
    let mut cut = BTreeSet::new();
    let final_run = loop {
        assert!(
            started.elapsed() < BUDGET,
            "over the time budget after {runs} runs"
        );
        assert!(runs < MAX_RUNS, "{runs} runs without a clean exit");
        let run = runs;
        runs += 1;
        let mut child = start_collect(&url, &dir, &servers_file, &logs, run);
        let run_started = Instant::now();
        // Killed after a random 20 to 300 ms while kills remain (short enough
        // that no run finishes first); else let run.
        let kill_at = (kills < KILLS).then(|| Duration::from_millis(20 + rng.next() % 280));
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            let elapsed = run_started.elapsed();
            if kill_at.is_some_and(|at| elapsed >= at) {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                break None;
            }
            if elapsed > RUN_LIMIT {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("run {run} took over {RUN_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let stderr = std::fs::read_to_string(logs.join(format!("{run}.err"))).unwrap();
        torn += stderr
            .matches("journal: dropped a torn last record")
            .count();
        match status {
            None => cut.extend(cut_export_calls(&dir)),
            Some(status) if status.success() => break run,
            Some(status) => {
                // A server that ran out of retries under faults: run again.
                assert_eq!(status.code(), Some(1), "run {run}: {status}\n{stderr}");
                failed_runs += 1;
            }
        }
    };
    let stats = stop_sim(sim, sim_stdout);

    assert!(
        kills >= KILLS,
        "only {kills} kills landed before a run finished"
    );
    let out = std::fs::read_to_string(logs.join(format!("{final_run}.out"))).unwrap();
    let document = cli::json(&out);
    let results = document["results"].as_array().expect("results");
    assert_eq!(results.len(), SERVERS);
    let mut resumed = 0;
    let mut total = 0u64;
    for (result, server) in results.iter().zip(&servers) {
        assert_eq!(result["server"], server.as_str());
        assert_eq!(result["status"], "ok", "{result}");
        resumed += usize::from(result["resumed"] == true);
        let export_id = result["export_id"].as_str().unwrap();
        let layout = clouddc_sim::ArchiveLayout::new(SEED, server, export_id, ARCHIVE_BYTES);
        let path = Path::new(result["path"].as_str().unwrap());
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(bytes.len() as u64, layout.len(), "{server}");
        total += layout.len();
        assert_eq!(
            sha256_hex(&bytes),
            layout.sha256(),
            "{server}: the simulator's archive"
        );
        assert_eq!(result["sha256"], layout.sha256().as_str());
    }

    let per_server: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(stats["exports_by_server"].clone()).expect("exports_by_server");
    let mut calls = Vec::new();
    let mut twice = 0;
    for server in &servers {
        let counts = &per_server[server];
        // The default export TTL (an hour) cannot expire a task in this test:
        // a second task means a kill cut the call that created the first.
        let created = counts["tasks_created"].as_u64().unwrap();
        assert!(
            created == 1 || (created == 2 && cut.contains(server)),
            "{server} exported more than once without a kill during its export call: {counts}"
        );
        twice += usize::from(created == 2);
        calls.push(counts["calls"].as_u64().unwrap());
    }

    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".tar.gz"))
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".clouddc-journal"],
        "only the archives and the journal remain"
    );
    let archives = std::fs::read_dir(&dir).unwrap().count() - 1;
    assert_eq!(archives, SERVERS, "one archive a server, no .N copies");

    let served = stats["download_bytes"].as_u64().unwrap();
    calls.sort_unstable();
    println!(
        "kill test: {kills} kills, {runs} runs ({failed_runs} ended 1 under faults), \
         {torn} torn journal records dropped, {resumed} of {SERVERS} archives skipped as complete \
         by the last run, {} s",
        started.elapsed().as_secs()
    );
    println!(
        "kill test: tasks created per server: 1, except {twice} of the {} servers whose export \
         call a kill cut (2); export calls per server: min {}, median {}, max {} (faults make \
         calls repeat; a repeat returns the running task)",
        cut.len(),
        calls[0],
        calls[calls.len() / 2],
        calls[calls.len() - 1]
    );
    println!(
        "kill test: archive bytes served {served} for {total} collected: {} downloaded again \
         after kills, resumes and restarts ({:.1}%)",
        served.saturating_sub(total),
        100.0 * served.saturating_sub(total) as f64 / total as f64
    );
}

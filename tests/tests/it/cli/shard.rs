//! `logs collect --shard K/N` and `--shard-count N` with `JOB_COMPLETION_INDEX`:
//! N collectors split a 1,000-server inventory with no overlap and no gap.

use crate::support::cli;

use std::collections::HashSet;

use cli::{Sim, SimOptions, clouddc, json, run, run_command};

const FLEET: usize = 1000;
const SHARDS: usize = 4;

fn fleet() -> Sim {
    Sim::start(SimOptions {
        servers: Some(FLEET),
        seed: Some(17),
        ..SimOptions::default()
    })
}

fn collect_args(sim: &Sim, rest: &[&str]) -> Vec<String> {
    let mut args = sim.connection_args();
    args.extend(
        ["--format", "json", "logs", "collect", "--all", "--dry-run"]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned()),
    );
    args
}

fn servers_of(stdout: &str) -> Vec<String> {
    json(stdout)["servers"]
        .as_array()
        .expect("a servers array")
        .iter()
        .map(|s| s.as_str().expect("an id").to_owned())
        .collect()
}

#[test]
fn four_shards_of_the_inventory_cover_it_once_and_evenly() {
    let sim = fleet();
    let fleet: Vec<String> = sim
        .inventory()
        .servers
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(fleet.len(), FLEET);
    let mut seen = HashSet::new();
    for k in 1..=SHARDS {
        let shard = format!("{k}/{SHARDS}");
        let result = run(&collect_args(&sim, &["--shard", &shard]));
        assert_eq!(result.code, 0, "{result}");
        let mine = servers_of(&result.stdout);
        let fair = FLEET as f64 / SHARDS as f64;
        assert!(
            (mine.len() as f64 - fair).abs() <= 0.15 * fair,
            "shard {shard} has {} servers",
            mine.len()
        );
        assert!(
            result
                .stderr
                .contains(&format!("shard {shard}: {} of {FLEET} servers", mine.len())),
            "{result}"
        );
        for id in mine {
            assert!(seen.insert(id.clone()), "{id} is in two shards");
        }
        // The same shard from an Indexed Job's pod: --shard-count and its index.
        let mut command = clouddc(collect_args(&sim, &["--shard-count", "4"]));
        command.env("JOB_COMPLETION_INDEX", (k - 1).to_string());
        let pod = run_command(command);
        assert_eq!(pod.code, 0, "{pod}");
        assert_eq!(
            pod.stdout,
            result.stdout,
            "pod {} runs shard {shard}",
            k - 1
        );
    }
    let expected: HashSet<String> = fleet.into_iter().collect();
    assert_eq!(seen, expected, "the shards' union is the fleet");
    assert_eq!(sim.stats().export_requests, 0);
}

#[test]
fn bad_shards_are_usage_errors_before_any_request() {
    let sim = fleet();
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (&["--shard", "0/4"], None, "from 1 to 4"),
        (&["--shard", "3"], None, "expected K/N"),
        (&["--shard", "1/0"], None, "shard count must be from 1"),
        (&["--shard-count", "4"], None, "needs JOB_COMPLETION_INDEX"),
        (&["--shard-count", "4"], Some("4"), "from 0 to 3"),
    ];
    for (flags, index, message) in cases {
        let mut command = clouddc(collect_args(&sim, flags));
        if let Some(index) = index {
            command.env("JOB_COMPLETION_INDEX", index);
        }
        let result = run_command(command);
        assert_eq!(result.code, 2, "{flags:?}: {result}");
        assert!(result.stderr.contains(message), "{flags:?}: {result}");
    }
    let both = run(&collect_args(
        &sim,
        &["--shard", "1/2", "--shard-count", "2"],
    ));
    assert_eq!(both.code, 2, "{both}");
    assert_eq!(sim.stats().export_requests, 0);
}

#[test]
fn an_empty_shard_collects_nothing_and_succeeds() {
    let sim = fleet();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    // srv-0001 hashes to shard 4 of 4 (pinned in the CLI's unit tests).
    let mut args = sim.connection_args();
    args.extend(
        [
            "--format", "json", "logs", "collect", "srv-0001", "--shard", "1/4", "-o", &dir,
        ]
        .map(str::to_owned),
    );
    let result = run(&args);
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(json(&result.stdout)["results"], serde_json::json!([]));
    assert_eq!(sim.stats().export_requests, 0);
}

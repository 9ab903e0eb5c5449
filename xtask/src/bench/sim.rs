//! `sim`: how many status requests a second the simulator answers at 64
//! connections, and their p50/p99 latency, next to a bare axum handler that
//! returns the same JSON (`crates/clouddc-drivers/src/bin/bench_bare_axum.rs`). The two servers
//! run one after the other as separate processes under the same load
//! (`crates/clouddc-drivers/src/bin/bench_load.rs`), [`ROUNDS`] times in turn.

use std::process::Command;
use std::time::Duration;

use super::harness::{self, Server, Sim, TOKEN};
use super::{Context, Report, Row, Verdict};

const SERVER: &str = "srv-0001";
const CONNECTIONS: &str = "64";
const SECONDS: &str = "6";
const WARMUP_SECONDS: &str = "1";
const MAX_REQUESTS: &str = "3000000";
const ROUNDS: usize = 3;
const RATIO_LIMIT: f64 = 0.5;
const P99_LIMIT_MS: f64 = 10.0;

/// One `bench_load` result.
#[derive(Debug, Clone, Copy)]
struct Load {
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: f64,
    errors: f64,
}

fn load(url: &str) -> Result<Load, String> {
    let measured = harness::run_measured(
        Command::new(harness::release_bin("bench_load"))
            .args(["--url", url, "--header", &format!("X-Auth-Token: {TOKEN}")])
            .args(["--connections", CONNECTIONS, "--seconds", SECONDS])
            .args([
                "--warmup-seconds",
                WARMUP_SECONDS,
                "--max-requests",
                MAX_REQUESTS,
            ]),
        Duration::from_secs(120),
    )?
    .check("bench_load")?;
    let line = measured.stdout.trim();
    let number =
        |key: &str| harness::json_number(line, key).ok_or_else(|| format!("no {key} in {line:?}"));
    let load = Load {
        req_per_s: number("req_per_s")?,
        p50_ms: number("p50_ms")?,
        p99_ms: number("p99_ms")?,
        requests: number("requests")?,
        errors: number("errors")?,
    };
    if load.errors > 0.0 {
        return Err(format!("{} requests to {url} failed: {line}", load.errors));
    }
    Ok(load)
}

/// The run with the median rate.
fn median_run(runs: &[Load]) -> Load {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s));
    sorted[(sorted.len() - 1) / 2]
}

pub fn run(_context: &mut Context) -> Result<Report, String> {
    // The status body the simulator sends for a completed export: the bare
    // server answers with exactly these bytes.
    let (export_id, body) = {
        let sim = Sim::start(
            "sim-probe",
            &["--archive-bytes", "4096", "--export-seconds", "0.2"],
        )?;
        let export_id = sim.completed_export(SERVER)?;
        let output = Command::new("curl")
            .args(["-sS", "--fail", "-H", &format!("X-Auth-Token: {TOKEN}")])
            .arg(sim.status_url(SERVER, &export_id))
            .output()
            .map_err(|e| format!("cannot run curl: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "curl of the status failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        (export_id, output.stdout)
    };
    let body_file = harness::bench_dir().join("sim-status-body.json");
    std::fs::write(&body_file, &body).map_err(|e| e.to_string())?;

    let mut sims = Vec::new();
    let mut bares = Vec::new();
    for round in 1..=ROUNDS {
        eprintln!("bench sim: round {round}/{ROUNDS}: clouddc sim");
        {
            let mut sim = Sim::start(
                "sim-sim",
                &["--archive-bytes", "4096", "--export-seconds", "0.2"],
            )?;
            let id = sim.completed_export(SERVER)?;
            sims.push(load(&sim.status_url(SERVER, &id))?);
            sim.server.check_alive()?;
        }
        eprintln!("bench sim: round {round}/{ROUNDS}: bare axum");
        {
            let mut bare = Server::start(
                "bench_bare_axum",
                "sim-bare-axum",
                Command::new(harness::release_bin("bench_bare_axum"))
                    .args(["--addr", "127.0.0.1:0", "--body-file"])
                    .arg(&body_file),
            )?;
            let url = format!(
                "{}/v1/{}/physicalservers/{SERVER}/logs/exports/{export_id}",
                bare.url,
                harness::PROJECT
            );
            bares.push(load(&url)?);
            bare.check_alive()?;
        }
    }
    let sim = median_run(&sims);
    let bare = median_run(&bares);
    let ratio = sim.req_per_s / bare.req_per_s;
    let rows = vec![
        Row::new(
            "simulator status requests/s, 64 connections",
            format!("{:.0}/s", sim.req_per_s),
            format!("bare axum: {:.0}/s", bare.req_per_s),
            format!("{ratio:.2}× bare axum"),
            format!("≥ {RATIO_LIMIT}× bare axum"),
            Verdict::from_bool(ratio >= RATIO_LIMIT),
        ),
        Row::new(
            "simulator latency p50 / p99, 64 connections",
            format!("{:.2} / {:.2} ms", sim.p50_ms, sim.p99_ms),
            format!("bare axum: {:.2} / {:.2} ms", bare.p50_ms, bare.p99_ms),
            "—",
            format!("p99 ≤ {P99_LIMIT_MS:.0} ms"),
            Verdict::from_bool(sim.p99_ms <= P99_LIMIT_MS),
        ),
    ];
    let mut details = format!(
        "`bench_load` (`crates/clouddc-drivers/src/bin/bench_load.rs`): {CONNECTIONS} HTTP/1.1 keep-alive connections, \
one `reqwest::Client` each, one request at a time per connection, {WARMUP_SECONDS} s warm-up then \
{SECONDS} s measured (at most {MAX_REQUESTS} requests); every answer must be 200. The load \
generator runs on the same 2 cores as the server. The servers run one after the other, {ROUNDS} \
rounds in turn; the table shows the run with the median rate. The bare server answers the status \
path with the {} bytes the simulator sent for the same request; it checks no token, keeps no state \
and throttles nothing.\n\n\
| server | round | requests | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n",
        body.len()
    );
    for (name, runs) in [("`clouddc sim`", &sims), ("bare axum", &bares)] {
        for (i, run) in runs.iter().enumerate() {
            details.push_str(&format!(
                "| {name} | {} | {:.0} | {:.0} | {:.3} | {:.3} |\n",
                i + 1,
                run.requests,
                run.req_per_s,
                run.p50_ms,
                run.p99_ms
            ));
        }
    }
    Ok(Report { rows, details })
}

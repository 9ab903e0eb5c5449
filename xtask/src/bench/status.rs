//! `status`: status calls per second, sequential over one connection and with 64
//! in flight, through `clouddc::Client::status` and through a bare reqwest loop
//! sending the same request (`crates/clouddc-drivers/src/bin/bench_status.rs` runs both in turns),
//! and the official Python SDK's `--status-loop`.

use std::process::Command;
use std::time::Duration;

use super::harness::{self, AK, PROJECT, SK, Sim, TOKEN};
use super::{Context, Report, Row, Verdict};

const SERVER: &str = "srv-0001";
/// Calls per client and phase at most (sequential, in flight), and seconds per
/// client and phase at most.
const COUNT: &str = "50000";
const IN_FLIGHT_COUNT: &str = "200000";
const SECONDS: &str = "10";
const IN_FLIGHT: &str = "64";
/// The Python SDK's sequential calls (about 300 a second).
const PEER_CALLS: &str = "3000";

/// One measurement line of `bench_status`.
struct Line {
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    calls: f64,
}

fn find(stdout: &str, mode: &str, client: &str) -> Result<Line, String> {
    let line = stdout
        .lines()
        .find(|l| {
            harness::json_string(l, "mode").as_deref() == Some(mode)
                && harness::json_string(l, "client").as_deref() == Some(client)
        })
        .ok_or_else(|| format!("bench_status printed no {mode}/{client} line:\n{stdout}"))?;
    let number =
        |key: &str| harness::json_number(line, key).ok_or_else(|| format!("no {key} in {line:?}"));
    Ok(Line {
        req_per_s: number("req_per_s")?,
        p50_ms: number("p50_ms")?,
        p99_ms: number("p99_ms")?,
        calls: number("calls")?,
    })
}

pub fn run(context: &mut Context) -> Result<Report, String> {
    let peer_version = context.peer()?.sdk_version();
    let mut sim = Sim::start(
        "status-sim",
        &["--archive-bytes", "4096", "--export-seconds", "0.2"],
    )?;
    let export_id = sim.completed_export(SERVER)?;

    let measured = harness::run_measured(
        Command::new(harness::release_bin("bench_status"))
            .args(["--endpoint", sim.url(), "--project-id", PROJECT])
            .args(["--token", TOKEN, "--ak", AK, "--sk", SK])
            .args(["--server", SERVER, "--export-id", &export_id])
            .args(["--count", COUNT, "--in-flight-count", IN_FLIGHT_COUNT])
            .args(["--seconds", SECONDS, "--in-flight", IN_FLIGHT]),
        Duration::from_secs(300),
    )?
    .check("bench_status")?;
    let seq_ours = find(&measured.stdout, "sequential", "clouddc")?;
    let seq_bare = find(&measured.stdout, "sequential", "bare-reqwest")?;
    let seq_signed = find(&measured.stdout, "sequential", "clouddc-aksk")?;
    let mode = format!("in-flight-{IN_FLIGHT}");
    let par_ours = find(&measured.stdout, &mode, "clouddc")?;
    let par_bare = find(&measured.stdout, &mode, "bare-reqwest")?;

    let mut command = context.peer()?.command(&sim, SERVER);
    command.args(["--status-loop", PEER_CALLS, "--export-id", &export_id]);
    let peer = harness::run_measured(&mut command, Duration::from_secs(300))?
        .check("the Python SDK peer --status-loop")?;
    let line = harness::line_with(&peer.stdout, "status-loop")
        .ok_or_else(|| format!("no status-loop line from the peer:\n{}", peer.stdout))?;
    let peer_rate = harness::json_number(line, "req_per_s")
        .ok_or_else(|| format!("no req_per_s in {line:?}"))?;
    let peer_p50 = harness::json_number(line, "p50_ms").unwrap_or(f64::NAN);
    let peer_p99 = harness::json_number(line, "p99_ms").unwrap_or(f64::NAN);
    sim.server.check_alive()?;

    let overhead = |ours: &Line, bare: &Line| bare.req_per_s / ours.req_per_s - 1.0;
    let seq_overhead = overhead(&seq_ours, &seq_bare);
    let par_overhead = overhead(&par_ours, &par_bare);
    let vs_peer = seq_signed.req_per_s / peer_rate;
    let rows = vec![
        Row::new(
            "status calls, sequential, one connection",
            format!("{:.0}/s", seq_ours.req_per_s),
            format!("bare reqwest: {:.0}/s", seq_bare.req_per_s),
            format!("{:+.1}% time per call", seq_overhead * 100.0),
            "≤ 10% overhead",
            Verdict::from_bool(seq_overhead <= 0.10),
        ),
        Row::new(
            "status calls, 64 in flight",
            format!("{:.0}/s", par_ours.req_per_s),
            format!("bare reqwest: {:.0}/s", par_bare.req_per_s),
            format!("{:+.1}% time per call", par_overhead * 100.0),
            "≤ 10% overhead",
            Verdict::from_bool(par_overhead <= 0.10),
        ),
        Row::new(
            "status calls, sequential, AK/SK signed",
            format!("{:.0}/s", seq_signed.req_per_s),
            format!("Python SDK {peer_version}: {peer_rate:.0}/s"),
            format!("{vs_peer:.1}× Python SDK"),
            "≥ 10× Python SDK",
            Verdict::from_bool(vs_peer >= 10.0),
        ),
    ];
    let row = |name: &str, line: &Line| {
        format!(
            "| {name} | {:.0} | {:.0} | {:.3} | {:.3} |\n",
            line.calls, line.req_per_s, line.p50_ms, line.p99_ms
        )
    };
    let mut details = format!(
        "Against `clouddc sim` (no throttle), one completed export. `bench_status` \
(`crates/clouddc-drivers/src/bin/bench_status.rs`) makes the same GET through `clouddc::Client::status` and \
through a bare `reqwest::Client` (same URL and `X-Auth-Token`, body parsed with `serde_json`), \
in alternating rounds, at most {COUNT} sequential calls ({IN_FLIGHT_COUNT} with {IN_FLIGHT} in flight) \
or {SECONDS} s per client and phase. \
The Python SDK signs with AK/SK (it has no token mode), so the like-for-like comparison with it \
is `clouddc::Client` with AK/SK; with a token, clouddc made {:.0} calls/s ({:.1}× the SDK).\n\n\
| client | calls | calls/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n",
        seq_ours.req_per_s,
        seq_ours.req_per_s / peer_rate
    );
    details.push_str(&row(
        "`clouddc::Client::status`, token, sequential",
        &seq_ours,
    ));
    details.push_str(&row("bare reqwest, token, sequential", &seq_bare));
    details.push_str(&row(
        "`clouddc::Client::status`, AK/SK, sequential",
        &seq_signed,
    ));
    details.push_str(&row(
        &format!("`clouddc::Client::status`, token, {IN_FLIGHT} in flight"),
        &par_ours,
    ));
    details.push_str(&row(
        &format!("bare reqwest, token, {IN_FLIGHT} in flight"),
        &par_bare,
    ));
    details.push_str(&format!(
        "| Python SDK `--status-loop {PEER_CALLS}`, AK/SK, sequential | {PEER_CALLS} | {peer_rate:.0} | {peer_p50:.3} | {peer_p99:.3} |\n"
    ));
    details.push_str(
        "\nThe overhead is the extra time per call: bare rate / clouddc rate − 1. \
Both clients share the 2 cores with the simulator, so the time per call includes the \
simulator's share.\n",
    );
    details.push_str(&format!(
        "\nThe ceiling of the sequential comparison with the SDK: a sequential call waits for \
the simulator's answer over loopback, and the bare reqwest loop, which does nothing else, \
made {:.0} calls/s, {:.1}× the SDK; no client can show a larger ratio here. \
clouddc with AK/SK reached {:.0}% of that ceiling (signing, and the simulator's check of the \
signature, cost the rest).\n",
        seq_bare.req_per_s,
        seq_bare.req_per_s / peer_rate,
        100.0 * seq_signed.req_per_s / seq_bare.req_per_s
    ));
    Ok(Report { rows, details })
}

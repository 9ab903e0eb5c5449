//! Benchmark driver for `cargo xtask bench status`: status calls per second through
//! `clouddc::Client::status` and through a bare reqwest loop sending the same
//! request (same URL, same `X-Auth-Token`, the JSON parsed with serde_json too),
//! sequentially over one connection and with 64 calls in flight.
//!
//! The two clients take turns in short rounds (A B B A ...) so that drift of the
//! machine or the simulator hits both alike. Every phase is bounded by a call
//! count and a time budget, whichever comes first. With `--ak/--sk`, a third,
//! sequential-only measurement uses `clouddc::Client` with AK/SK signing, the
//! like-for-like peer of the official Python SDK (which can only sign).
//!
//! Prints one JSON line per measurement:
//! `{"mode":"sequential","client":"clouddc","calls":..,"seconds":..,"req_per_s":..,"p50_ms":..,"p99_ms":..}`.
//!
//! Usage: `bench_status --endpoint URL --project-id P --token T --server S
//! --export-id E [--ak AK --sk SK] [--count N] [--in-flight-count N]
//! [--seconds S] [--in-flight K]`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clouddc_drivers::bench_support::quantile_ms;
use tokio::task::JoinSet;

/// Calls per client per sequential round, and per in-flight task per round.
const SEQUENTIAL_ROUND: usize = 500;
const CONCURRENT_ROUND_PER_TASK: usize = 100;
/// Calls per client before measuring (connections, caches, allocator).
const WARMUP_CALLS: usize = 300;

#[derive(Debug)]
struct Args {
    endpoint: String,
    project_id: String,
    token: String,
    server: String,
    export_id: String,
    ak: Option<String>,
    sk: Option<String>,
    /// The most sequential calls per client.
    count: usize,
    /// The most calls per client with `in_flight` calls at once.
    in_flight_count: usize,
    /// The time budget per client and phase.
    seconds: f64,
    in_flight: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: String::new(),
        project_id: String::new(),
        token: String::new(),
        server: String::new(),
        export_id: String::new(),
        ak: None,
        sk: None,
        count: 50_000,
        in_flight_count: 200_000,
        seconds: 20.0,
        in_flight: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => args.endpoint = value()?,
            "--project-id" => args.project_id = value()?,
            "--token" => args.token = value()?,
            "--server" => args.server = value()?,
            "--export-id" => args.export_id = value()?,
            "--ak" => args.ak = Some(value()?),
            "--sk" => args.sk = Some(value()?),
            "--count" => args.count = number(&flag, &value()?)?,
            "--in-flight-count" => args.in_flight_count = number(&flag, &value()?)?,
            "--seconds" => args.seconds = number(&flag, &value()?)?,
            "--in-flight" => args.in_flight = number(&flag, &value()?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for (name, value) in [
        ("--endpoint", &args.endpoint),
        ("--project-id", &args.project_id),
        ("--token", &args.token),
        ("--server", &args.server),
        ("--export-id", &args.export_id),
    ] {
        if value.is_empty() {
            return Err(format!("{name} is required"));
        }
    }
    if args.count == 0 || args.in_flight_count == 0 || args.in_flight == 0 || args.seconds <= 0.0 {
        return Err(
            "--count, --in-flight-count, --in-flight and --seconds must be positive".into(),
        );
    }
    Ok(args)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a number"))
}

/// One way of making the status call.
#[derive(Clone)]
enum Caller {
    Clouddc {
        client: clouddc::Client,
        server: Arc<str>,
        export_id: Arc<str>,
    },
    Bare {
        http: reqwest::Client,
        url: Arc<str>,
        token: Arc<str>,
    },
}

impl Caller {
    async fn call(&self) -> Result<(), String> {
        match self {
            Caller::Clouddc {
                client,
                server,
                export_id,
            } => {
                let task = client
                    .status(&**server, &**export_id)
                    .await
                    .map_err(|e| e.to_string())?;
                std::hint::black_box(task);
                Ok(())
            }
            Caller::Bare { http, url, token } => {
                let response = http
                    .get(&**url)
                    .header("X-Auth-Token", &**token)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                let value: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                std::hint::black_box(value);
                Ok(())
            }
        }
    }
}

/// Calls and latencies of one client in one phase.
#[derive(Default)]
struct Tally {
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Tally {
    fn calls(&self) -> usize {
        self.latencies_us.len()
    }

    fn report(&mut self, mode: &str, client: &str) {
        self.latencies_us.sort_unstable();
        let quantile = |q: f64| quantile_ms(&self.latencies_us, q);
        let seconds = self.elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.calls() as f64 / seconds
        } else {
            0.0
        };
        println!(
            "{{\"mode\":\"{mode}\",\"client\":\"{client}\",\"calls\":{},\"seconds\":{seconds:.3},\"req_per_s\":{rate:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
            self.calls(),
            quantile(0.5),
            quantile(0.99)
        );
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// `calls` calls one after the other.
async fn sequential_round(caller: &Caller, calls: usize, tally: &mut Tally) -> Result<(), String> {
    let started = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        caller.call().await?;
        tally.latencies_us.push(micros(t.elapsed()));
    }
    tally.elapsed += started.elapsed();
    Ok(())
}

/// `tasks` tasks making `per_task` calls each, all at once.
async fn concurrent_round(
    caller: &Caller,
    tasks: usize,
    per_task: usize,
    tally: &mut Tally,
) -> Result<(), String> {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let caller = caller.clone();
        set.spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                caller.call().await?;
                latencies.push(micros(t.elapsed()));
            }
            Ok::<_, String>(latencies)
        });
    }
    let mut result = Ok(());
    while let Some(joined) = set.join_next().await {
        match joined.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(latencies) => tally.latencies_us.extend(latencies),
            Err(error) => result = Err(error),
        }
    }
    tally.elapsed += started.elapsed();
    result
}

/// Runs `callers` in alternating rounds until each made `count` calls or the
/// phase used its time budget.
async fn phase(
    callers: &[(&str, Caller)],
    count: usize,
    budget: Duration,
    in_flight: Option<usize>,
) -> Result<Vec<Tally>, String> {
    let mut tallies: Vec<Tally> = callers.iter().map(|_| Tally::default()).collect();
    let budget = budget * callers.len() as u32;
    let started = Instant::now();
    let mut round = 0usize;
    // Bounded: every round adds calls to every client, and the count caps them.
    while started.elapsed() < budget && tallies.iter().any(|t| t.calls() < count) {
        let mut order: Vec<usize> = (0..callers.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let caller = &callers[index].1;
            let tally = &mut tallies[index];
            match in_flight {
                None => sequential_round(caller, SEQUENTIAL_ROUND, tally).await?,
                Some(tasks) => {
                    concurrent_round(caller, tasks, CONCURRENT_ROUND_PER_TASK, tally).await?
                }
            }
        }
        round += 1;
    }
    Ok(tallies)
}

async fn run(args: Args) -> Result<(), String> {
    clouddc::transport::install_crypto_provider();
    let builder = || {
        clouddc::Client::builder()
            .endpoint(&args.endpoint)
            .project_id(&args.project_id)
    };
    let ours = builder()
        .token(args.token.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let server: Arc<str> = args.server.as_str().into();
    let export_id: Arc<str> = args.export_id.as_str().into();
    let clouddc = Caller::Clouddc {
        client: ours.clone(),
        server: server.clone(),
        export_id: export_id.clone(),
    };
    // The same transport settings as clouddc's (see clouddc::transport).
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(60))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/v1/{}/physicalservers/{}/logs/exports/{}",
        ours.base_url().trim_end_matches('/'),
        args.project_id,
        args.server,
        args.export_id
    );
    let bare = Caller::Bare {
        http,
        url: url.into(),
        token: args.token.as_str().into(),
    };
    let mut sequential: Vec<(&str, Caller)> =
        vec![("clouddc", clouddc.clone()), ("bare-reqwest", bare.clone())];
    if let (Some(ak), Some(sk)) = (&args.ak, &args.sk) {
        let signed = builder()
            .ak_sk(ak.clone(), sk.clone())
            .build()
            .map_err(|e| e.to_string())?;
        sequential.push((
            "clouddc-aksk",
            Caller::Clouddc {
                client: signed,
                server,
                export_id,
            },
        ));
    }
    for (_, caller) in &sequential {
        for _ in 0..WARMUP_CALLS {
            caller.call().await?;
        }
    }
    let budget = Duration::from_secs_f64(args.seconds);
    let tallies = phase(&sequential, args.count, budget, None).await?;
    for ((name, _), mut tally) in sequential.iter().zip(tallies) {
        tally.report("sequential", name);
    }
    let concurrent = [("clouddc", clouddc), ("bare-reqwest", bare)];
    // Warms the pools up to `in_flight` connections each.
    let mut warm = Tally::default();
    for (_, caller) in &concurrent {
        concurrent_round(caller, args.in_flight, 4, &mut warm).await?;
    }
    let tallies = phase(
        &concurrent,
        args.in_flight_count,
        budget,
        Some(args.in_flight),
    )
    .await?;
    for ((name, _), mut tally) in concurrent.iter().zip(tallies) {
        tally.report(&format!("in-flight-{}", args.in_flight), name);
    }
    Ok(())
}

fn main() -> ExitCode {
    clouddc_drivers::bench_support::main("bench_status", parse_args, run)
}

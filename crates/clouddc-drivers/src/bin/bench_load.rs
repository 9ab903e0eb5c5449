//! Load generator for `cargo xtask bench sim`: GETs one URL over a fixed number
//! of HTTP/1.1 keep-alive connections (one `reqwest::Client` per connection, one
//! request at a time on each) for a bounded time and count, recording every
//! request's latency.
//!
//! Prints one JSON line:
//! `{"connections":..,"requests":..,"errors":..,"seconds":..,"req_per_s":..,"p50_ms":..,"p99_ms":..,"max_ms":..}`.
//! A request counts only when it was answered 200 and its body was read.
//!
//! Usage: `bench_load --url URL [--header 'Name: value']... [--connections 64]
//! [--seconds 10] [--warmup-seconds 1] [--max-requests N]`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clouddc_drivers::bench_support::quantile_ms;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::task::JoinSet;

#[derive(Debug)]
struct Args {
    url: String,
    headers: Vec<(String, String)>,
    connections: usize,
    seconds: f64,
    warmup_seconds: f64,
    max_requests: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        headers: Vec::new(),
        connections: 64,
        seconds: 10.0,
        warmup_seconds: 1.0,
        max_requests: 5_000_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--header" => {
                let header = value()?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or_else(|| format!("--header {header:?}: expected 'Name: value'"))?;
                args.headers
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            "--connections" => args.connections = number(&flag, &value()?)?,
            "--seconds" => args.seconds = number(&flag, &value()?)?,
            "--warmup-seconds" => args.warmup_seconds = number(&flag, &value()?)?,
            "--max-requests" => args.max_requests = number(&flag, &value()?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    if args.connections == 0 || args.seconds <= 0.0 || args.warmup_seconds < 0.0 {
        return Err("--connections and --seconds must be positive".into());
    }
    Ok(args)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a number"))
}

/// What one connection saw in the measured window.
struct Seen {
    latencies_us: Vec<u32>,
    errors: u64,
    finished: Instant,
}

async fn connection(
    http: reqwest::Client,
    url: Arc<str>,
    measure_from: Instant,
    until: Instant,
    budget: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen {
        latencies_us: Vec::with_capacity(1 << 16),
        errors: 0,
        finished: measure_from,
    };
    // Bounded by the deadline and by the shared request budget.
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let measured = started >= measure_from;
        if measured
            && budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
        {
            break;
        }
        let ok = match http.get(&*url).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                response.bytes().await.is_ok()
            }
            Ok(_) | Err(_) => false,
        };
        let done = Instant::now();
        if measured {
            if ok {
                let us =
                    u32::try_from(done.duration_since(started).as_micros()).unwrap_or(u32::MAX);
                seen.latencies_us.push(us);
            } else {
                seen.errors += 1;
            }
            seen.finished = done;
        }
        if !ok {
            // An error answer is quick; do not spin on a broken server.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    seen
}

async fn run(args: Args) -> Result<(), String> {
    clouddc::transport::install_crypto_provider();
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    let url: Arc<str> = args.url.as_str().into();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup_seconds);
    let until = measure_from + Duration::from_secs_f64(args.seconds);
    let budget = Arc::new(AtomicU64::new(args.max_requests));
    let mut set = JoinSet::new();
    for _ in 0..args.connections {
        let http = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .default_headers(headers.clone())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        set.spawn(connection(
            http,
            url.clone(),
            measure_from,
            until,
            budget.clone(),
        ));
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0u64;
    let mut finished = measure_from;
    while let Some(joined) = set.join_next().await {
        let seen = joined.map_err(|e| e.to_string())?;
        latencies.extend(seen.latencies_us);
        errors += seen.errors;
        finished = finished.max(seen.finished);
    }
    latencies.sort_unstable();
    let seconds = finished.duration_since(measure_from).as_secs_f64();
    let quantile = |q: f64| quantile_ms(&latencies, q);
    let rate = if seconds > 0.0 {
        latencies.len() as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{{\"connections\":{},\"requests\":{},\"errors\":{errors},\"seconds\":{seconds:.3},\"req_per_s\":{rate:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        args.connections,
        latencies.len(),
        quantile(0.5),
        quantile(0.99),
        latencies.last().map_or(0.0, |&us| f64::from(us) / 1000.0)
    );
    Ok(())
}

fn main() -> ExitCode {
    clouddc_drivers::bench_support::main("bench_load", parse_args, run)
}

//! The simulator under load: 10,000 status requests from 256 concurrent
//! clients (each its own connection pool) plus 100 concurrent downloads against
//! one in-process simulator that injects `500=0.01,429=0.01,reset=0.05,
//! truncate=0.05`.
//!
//! What it proves:
//! - no error outside the injected ones: every failed request is matched, kind
//!   by kind, against the simulator's own fault counters, and the counts are
//!   equal; every request sent reached the simulator's handler;
//! - every archive arrives whole with the simulator's sha256;
//! - every task is still answerable afterwards, with its own id;
//! - memory is bounded: the simulator holds exactly the tasks created, and the
//!   peak RSS of the test's own process (simulator and 356 clients) stays under
//!   [`RSS_LIMIT_MIB`].
//!
//! Bounded in count (every loop) and in time ([`RUN_LIMIT`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{child, client, heavy};

use clouddc::{Client, Error, StatusKind};
use clouddc_sim::{FaultSpec, SimConfig, SimHandle, Simulator};
use futures::StreamExt;
use sha2::{Digest, Sha256};

const TOKEN: &str = "load-token";
const STATUS_REQUESTS: usize = 10_000;
const STATUS_CLIENTS: usize = 256;
const DOWNLOADS: usize = 100;
/// Tasks the status load reads, besides the downloads' tasks.
const STATUS_TASKS: usize = 200;
const ARCHIVE_BYTES: u64 = 1024 * 1024;
/// How often one request may be tried before the test gives up on it: only
/// injected faults make a try fail, each with p ≤ 0.12, so 20 is never reached.
const MAX_TRIES: usize = 20;
/// The whole test, including setup, ends within this or fails.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// The peak resident memory allowed to the whole test process: about twice the
/// peak measured in debug builds (82 to 100 MiB, most of it hyper's write
/// buffers of 100 downloads and 356 connection pools). A leak of a few KiB per
/// request (10,000 of them) or archives held whole would go past it.
const RSS_LIMIT_MIB: u64 = 200;

/// Failures seen, by kind, to be matched against the simulator's counters.
#[derive(Default, Debug)]
struct Tally {
    injected_500: AtomicU64,
    injected_429: AtomicU64,
    /// Downloads that broke: reset or cut before their `Content-Length`.
    broken_bodies: AtomicU64,
    /// Requests sent to a status endpoint, to compare with the simulator's count.
    status_sent: AtomicU64,
    unexpected: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    /// Counts an error of the client as the injected fault it is, or as
    /// unexpected.
    fn client_error(&self, what: &str, error: &Error) {
        match error {
            Error::Api(api)
                if api.status == 500 && api.error_code.as_deref() == Some("CLOUDDC.0500") =>
            {
                self.injected_500.fetch_add(1, Ordering::Relaxed);
            }
            Error::Throttled { .. } => {
                self.injected_429.fetch_add(1, Ordering::Relaxed);
            }
            other => self.unexpected(format!("{what}: {other}")),
        }
    }

    fn unexpected(&self, text: String) {
        self.unexpected.lock().unwrap().push(text);
    }
}

/// The peak resident set size of this process, from `/proc/self/status`.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib / 1024
}

/// No retries: every injected fault must reach the tally.
fn without_retries(sim: &SimHandle) -> Client {
    client::without_retries(sim.base_url(), sim.project_id(), TOKEN)
}

fn raw() -> reqwest::Client {
    client::http(Duration::from_secs(30))
}

/// Starts an export of `server`, trying again after injected faults.
async fn export(client: &Client, tally: &Tally, server: &str) -> String {
    for _ in 0..MAX_TRIES {
        match client.export(server).await {
            Ok(task) => return task.export_id,
            Err(error) => tally.client_error("export", &error),
        }
    }
    panic!("{server}: no export after {MAX_TRIES} tries");
}

/// Reads the task once; `None` after an (injected) failure.
async fn status_once(
    client: &Client,
    tally: &Tally,
    server: &str,
    export_id: &str,
) -> Option<clouddc::types::ExportTask> {
    tally.status_sent.fetch_add(1, Ordering::Relaxed);
    match client.status(server, export_id).await {
        Ok(task) => {
            if task.export_id != export_id {
                tally.unexpected(format!("{server}: answered for {}", task.export_id));
            }
            let kind = task.status.kind();
            if !matches!(kind, StatusKind::InProgress | StatusKind::Completed) {
                tally.unexpected(format!("{server}: status {:?}", task.status));
            }
            if task.percentage.as_ref().and_then(|p| p.value()).is_none() {
                tally.unexpected(format!("{server}: percentage {:?}", task.percentage));
            }
            Some(task)
        }
        Err(error) => {
            tally.client_error("status", &error);
            None
        }
    }
}

/// Reads the task until an answer comes (injected faults aside).
async fn status(
    client: &Client,
    tally: &Tally,
    server: &str,
    export_id: &str,
) -> clouddc::types::ExportTask {
    for _ in 0..MAX_TRIES {
        if let Some(task) = status_once(client, tally, server, export_id).await {
            return task;
        }
    }
    panic!("{server}: no status after {MAX_TRIES} tries");
}

/// Downloads the whole archive with a plain client, from zero on any failure;
/// returns its sha256.
async fn download(http: &reqwest::Client, tally: &Tally, url: &str) -> String {
    for _ in 0..MAX_TRIES {
        let response = match http.get(url).header("X-Auth-Token", TOKEN).send().await {
            Ok(response) => response,
            // A fault striking before the simulator flushed the response head
            // ends the connection before the status line.
            Err(_) => {
                tally.broken_bodies.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        match response.status().as_u16() {
            200 => {}
            500 => {
                tally.injected_500.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            429 => {
                tally.injected_429.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            other => {
                tally.unexpected(format!("download {url}: status {other}"));
                continue;
            }
        }
        let announced = response.content_length();
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        let mut broken = false;
        // Bounded by the body itself: the simulator ends every body.
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    received += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if broken || Some(received) != announced {
            tally.broken_bodies.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        return hex::encode(hasher.finalize());
    }
    panic!("{url}: no whole archive after {MAX_TRIES} tries");
}

/// Runs in a child process of its own, its peak RSS its own, while no other
/// heavy test runs.
#[test]
fn ten_thousand_status_requests_and_a_hundred_downloads_hold() {
    const NAME: &str = "ten_thousand_status_requests_and_a_hundred_downloads_hold";
    if !child::is_child(module_path!(), NAME) {
        let _heavy = heavy::lock();
        let text = child::output(child::command(module_path!(), NAME));
        assert!(text.contains("load: live tasks"), "{text}");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            tokio::time::timeout(RUN_LIMIT, load())
                .await
                .unwrap_or_else(|_| panic!("the load test did not finish within {RUN_LIMIT:?}"))
        });
}

async fn load() {
    let sim = Simulator::start(SimConfig {
        tokens: vec![TOKEN.into()],
        // Download faults often enough that some strike in every run (p(none)
        // over ~105 downloads is 0.9^105), which the exact tally then checks.
        faults: "500=0.01,429=0.01,reset=0.05,truncate=0.05"
            .parse::<FaultSpec>()
            .unwrap(),
        seed: 42,
        export_duration: Duration::from_secs(1),
        archive_bytes: ARCHIVE_BYTES,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let tally = Arc::new(Tally::default());
    let setup = without_retries(&sim);

    // The downloads' tasks first, so they are complete when the load starts.
    let mut download_tasks = Vec::new();
    for i in 0..DOWNLOADS {
        let server = format!("dl-{i:03}");
        let id = export(&setup, &tally, &server).await;
        download_tasks.push((server, id));
    }
    for (server, id) in &download_tasks {
        // Bounded: the export takes 1 s; at most MAX_TRIES * 50 polls.
        for poll in 0..=MAX_TRIES * 50 {
            assert!(poll < MAX_TRIES * 50, "{server} never completed");
            if status(&setup, &tally, server, id)
                .await
                .status
                .is_completed()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The status load's tasks run while it reads them: both stages are read.
    let mut status_tasks = Vec::new();
    for i in 0..STATUS_TASKS {
        let server = format!("st-{i:03}");
        let id = export(&setup, &tally, &server).await;
        status_tasks.push((server, id));
    }
    let status_tasks = Arc::new(status_tasks);
    let rss_before = peak_rss_mib();
    let started = Instant::now();

    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..STATUS_CLIENTS {
        let client = without_retries(&sim);
        let (tally, next, answered, failed, tasks) = (
            tally.clone(),
            next.clone(),
            answered.clone(),
            failed.clone(),
            status_tasks.clone(),
        );
        workers.push(tokio::spawn(async move {
            // Bounded: the shared counter hands out exactly STATUS_REQUESTS.
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= STATUS_REQUESTS {
                    break;
                }
                let (server, id) = &tasks[n % tasks.len()];
                let counter = match status_once(&client, &tally, server, id).await {
                    Some(_) => &answered,
                    None => &failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut downloads = Vec::new();
    for (server, id) in &download_tasks {
        let url = format!(
            "{}/v1/{}/physicalservers/{server}/logs/exports/{id}/content",
            sim.base_url(),
            sim.project_id()
        );
        let tally = tally.clone();
        downloads.push(tokio::spawn(
            async move { download(&raw(), &tally, &url).await },
        ));
    }
    for worker in workers {
        worker.await.expect("a status worker");
    }
    let status_elapsed = started.elapsed();
    let mut sums = Vec::new();
    for handle in downloads {
        sums.push(handle.await.expect("a download worker"));
    }
    let elapsed = started.elapsed();
    let rss_peak = peak_rss_mib();

    // Every archive whole, with the simulator's sha256.
    for ((server, id), sum) in download_tasks.iter().zip(&sums) {
        let expected = sim.expected_sha256(server, id).await.expect("known task");
        assert_eq!(sum, &expected, "{server}");
    }
    // Every task still answerable, with its own id, and complete by now.
    for (server, id) in download_tasks.iter().chain(status_tasks.iter()) {
        let mut task = status(&setup, &tally, server, id).await;
        // Bounded: the status tasks finish 1 s after creation.
        for _ in 0..MAX_TRIES * 50 {
            if task.status.is_completed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            task = status(&setup, &tally, server, id).await;
        }
        assert!(task.status.is_completed(), "{server}: {:?}", task.status);
    }

    let stats = sim.stats();
    let faults = stats.faults;
    let unexpected = tally.unexpected.lock().unwrap().clone();
    let seen_500 = tally.injected_500.load(Ordering::Relaxed);
    let seen_429 = tally.injected_429.load(Ordering::Relaxed);
    let broken = tally.broken_bodies.load(Ordering::Relaxed);
    let answered = answered.load(Ordering::Relaxed);
    println!(
        "load: {STATUS_REQUESTS} status requests from {STATUS_CLIENTS} clients in {:.1} s \
         ({:.0}/s), {answered} answered; {DOWNLOADS} concurrent downloads of {} KiB, all done \
         after {:.1} s\n\
         load: errors {} = injected 500 {seen_500}/{} + 429 {seen_429}/{} + broken \
         downloads {broken}/{}; unexpected {}\n\
         load: live tasks {} of {} created; peak RSS {rss_peak} MiB (before the load \
         {rss_before} MiB, limit {RSS_LIMIT_MIB} MiB)\n\
         load: simulator {}",
        status_elapsed.as_secs_f64(),
        STATUS_REQUESTS as f64 / status_elapsed.as_secs_f64(),
        ARCHIVE_BYTES / 1024,
        elapsed.as_secs_f64(),
        seen_500 + seen_429 + broken,
        faults.internal,
        faults.throttle,
        faults.reset + faults.truncate,
        unexpected.len(),
        stats.live_tasks,
        stats.tasks_created,
        serde_json::to_string(&stats).unwrap(),
    );
    assert!(
        unexpected.is_empty(),
        "errors no fault explains: {unexpected:#?}"
    );
    // Each failure is one injected fault, and each injected fault one failure.
    assert_eq!(seen_500, faults.internal);
    assert_eq!(seen_429, faults.throttle);
    assert_eq!(broken, faults.reset + faults.truncate);
    assert!(seen_500 > 0 && seen_429 > 0 && broken > 0, "{faults:?}");
    assert_eq!(
        answered + failed.load(Ordering::Relaxed),
        STATUS_REQUESTS as u64
    );
    // Every status request sent reached the handler: none was dropped.
    assert_eq!(
        stats.status_requests,
        tally.status_sent.load(Ordering::Relaxed)
    );
    assert_eq!(stats.throttled, 0, "no request met a bound");
    assert_eq!(stats.tasks_created, (DOWNLOADS + STATUS_TASKS) as u64);
    assert_eq!(stats.live_tasks, stats.tasks_created);
    assert!(
        rss_peak < RSS_LIMIT_MIB,
        "peak RSS {rss_peak} MiB over {RSS_LIMIT_MIB} MiB"
    );
    sim.shutdown().await;
}

//! Fault soak: `Client::collect` over a fleet against the in-process simulator
//! injecting `500=0.1,429=0.1,reset=0.05,truncate=0.05,stall=0.02`. Every
//! archive must arrive, match the simulator's sha256, and be the only thing left
//! in the output directory; the run prints the faults injected next to the
//! recoveries the client made.
//!
//! `CLOUDDC_SOAK_SERVERS` sets the fleet size (120 by default, the bounded run of
//! `cargo test`); `cargo xtask soak [--servers N]` runs it in release with 500.
//! `CLOUDDC_SOAK_SEED` changes the fault seed (fault decisions are a pure
//! function of it, so a failing seed reproduces) and `CLOUDDC_SOAK_ARCHIVE_BYTES`
//! the archive size (256 KiB by default).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::{client, heavy};

use clouddc::{
    Client, CollectOptions, DownloadOptions, RetryPolicy, ServerOutcome, TransportOptions,
    WaitOptions,
};
use clouddc_sim::{FaultSpec, SimConfig, Simulator};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// The fault mix of issue 8, as `--faults` takes it.
const FAULTS: &str = "500=0.1,429=0.1,reset=0.05,truncate=0.05,stall=0.02";
const TOKEN: &str = "soak-token";
const AK: &str = "SOAKAK";
const SK: &str = "soak-sk";
/// The whole run must end well within this, or the test fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// Counts the client's recoveries by the debug events it logs when it makes one,
/// so the test can say how each injected fault was survived.
#[derive(Default)]
struct Recoveries {
    /// `retry::with_retries` repeating a request (`"retrying"`).
    request_retries: AtomicU64,
    /// `collect` repeating an export that answered 5xx.
    export_reattempts: AtomicU64,
    /// `download` resuming or restarting a broken body.
    download_resumes: AtomicU64,
}

struct RecoveryLayer(Arc<Recoveries>);

/// Pulls the `message` of an event.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RecoveryLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let counter = match message.0.as_str() {
            "retrying" => &self.0.request_retries,
            "export failed; trying again" => &self.0.export_reattempts,
            "the body broke; resuming" => &self.0.download_resumes,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn patient_client(sim: &clouddc_sim::SimHandle, aksk: bool) -> Client {
    let builder = client::of_sim(sim)
        // Enough attempts that p(fail) = 0.2^12 per request never happens in a
        // soak; short backoffs keep the run quick (Retry-After of 1 s still wins).
        .retry_policy(RetryPolicy {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(400),
            deadline: Duration::from_secs(90),
        })
        .transport(TransportOptions {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            ..TransportOptions::default()
        });
    let builder = if aksk {
        builder.ak_sk(AK, SK)
    } else {
        builder.token(TOKEN)
    };
    builder.build().expect("the client builds")
}

/// Alone among the heavy tests: its recoveries are bounded in time.
#[test]
fn every_archive_arrives_intact_through_injected_faults() {
    let _heavy = heavy::lock();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(soak());
}

async fn soak() {
    let servers = env_number("CLOUDDC_SOAK_SERVERS", 120) as usize;
    let seed = env_number("CLOUDDC_SOAK_SEED", 8);
    assert!(servers > 0, "CLOUDDC_SOAK_SERVERS must be at least 1");
    let sim = Simulator::start(SimConfig {
        tokens: vec![TOKEN.into()],
        ak_sk: vec![(AK.into(), SK.into())],
        faults: FAULTS
            .parse::<FaultSpec>()
            .expect("the documented fault spec"),
        seed,
        export_duration: Duration::from_millis(400),
        archive_bytes: env_number("CLOUDDC_SOAK_ARCHIVE_BYTES", 256 * 1024),
        // A stalled body stays silent for 2 s; the client gives up on it after 1 s.
        stall_for: Duration::from_secs(2),
        slow_for: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("fleet");
    let options = CollectOptions {
        output_dir: out.clone(),
        concurrency: 32,
        max_downloads: 16,
        wait: WaitOptions {
            deadline: Duration::from_secs(120),
            min_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(500),
            first_interval: Duration::from_millis(100),
        },
        download: DownloadOptions {
            max_resumes: 20,
            idle_timeout: Some(Duration::from_secs(1)),
            verify_gzip: true,
            ..DownloadOptions::default()
        },
        export_attempts: 10,
        ..CollectOptions::default()
    };
    let names: Vec<String> = (0..servers).map(|i| format!("soak-{i:05}")).collect();
    // Half the fleet signs with AK/SK, half sends a token: both paths under faults.
    let (signed, tokened): (Vec<_>, Vec<_>) = names
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let strip = |v: Vec<(usize, String)>| v.into_iter().map(|(_, s)| s).collect::<Vec<_>>();

    let recoveries = Arc::new(Recoveries::default());
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(RecoveryLayer(recoveries.clone())),
    );
    let started = Instant::now();
    let run = futures::stream::select(
        patient_client(&sim, true).collect(strip(signed), options.clone(), None),
        patient_client(&sim, false).collect(strip(tokened), options, None),
    )
    .collect::<Vec<ServerOutcome>>()
    .with_subscriber(dispatch);
    let outcomes = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("the soak did not finish within {RUN_LIMIT:?}"));
    let elapsed = started.elapsed();

    // Every server has an archive, with the simulator's sha256, on disk as reported.
    assert_eq!(outcomes.len(), servers);
    let mut expected_files = BTreeSet::new();
    let mut bytes = 0u64;
    let mut resumes = 0u64;
    let mut failures = BTreeMap::new();
    for outcome in &outcomes {
        let downloaded = match &outcome.result {
            Ok(downloaded) => downloaded,
            Err(error) => {
                failures.insert(outcome.server.clone(), error.to_string());
                continue;
            }
        };
        let export_id = outcome.export_id.as_deref().expect("an export id");
        let expected = sim
            .expected_sha256(&outcome.server, export_id)
            .await
            .expect("the simulator knows the task");
        assert_eq!(downloaded.sha256, expected, "{}", outcome.server);
        let on_disk = std::fs::read(&downloaded.path).expect("the archive is on disk");
        assert_eq!(on_disk.len() as u64, downloaded.bytes, "{}", outcome.server);
        assert_eq!(
            hex::encode(Sha256::digest(&on_disk)),
            expected,
            "{}",
            outcome.server
        );
        assert_eq!(downloaded.path.parent(), Some(out.as_path()));
        expected_files.insert(format!("{}-dump.tar.gz", outcome.server));
        bytes += downloaded.bytes;
        resumes += u64::from(downloaded.resumes);
    }
    assert!(failures.is_empty(), "servers lost: {failures:#?}");

    // Nothing but the archives: no `.part`, no temporary file, no stray name.
    let present: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("the output directory exists")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(present, expected_files);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        ["fleet"],
        "nothing is written beside the output directory"
    );

    let stats = sim.stats();
    let faults = stats.faults;
    let request_faults = faults.internal + faults.throttle;
    let body_faults = faults.reset + faults.truncate + faults.stall;
    let retries = recoveries.request_retries.load(Ordering::Relaxed);
    let reattempts = recoveries.export_reattempts.load(Ordering::Relaxed);
    let logged_resumes = recoveries.download_resumes.load(Ordering::Relaxed);
    println!(
        "soak: {servers} servers, {} MiB, {:.1} s, seed {seed}\n\
         soak: faults injected {}: 500={} 429={} reset={} truncate={} stall={}\n\
         soak: survived {}: {retries} request retries, {reattempts} export re-attempts, \
         {resumes} download resumes ({request_faults} injected 500/429, {body_faults} broken \
         downloads)\n\
         soak: archives {} of {servers} intact, 0 lost, 0 temporary files left\n\
         soak: simulator {}",
        bytes / (1024 * 1024),
        elapsed.as_secs_f64(),
        faults.total(),
        faults.internal,
        faults.throttle,
        faults.reset,
        faults.truncate,
        faults.stall,
        faults.total(),
        outcomes.len(),
        serde_json::to_string(&stats).unwrap(),
    );
    // The faults really happened, and each was answered by a recovery: an
    // injected 500/429 fails one request, which is retried (or, a 500 on the
    // export POST, re-attempted by collect); an injected reset/truncate/stall
    // breaks one download, which is resumed, or retried as a request when it
    // struck before the simulator flushed the response head. Transport hiccups
    // could only add recoveries, never remove one.
    assert_eq!(request_faults + body_faults, faults.total(), "{faults:?}");
    assert!(request_faults > 0 && body_faults > 0, "{faults:?}");
    let recovered = retries + reattempts + resumes;
    assert!(
        recovered >= faults.total(),
        "{recovered} recoveries < {} injected faults",
        faults.total()
    );
    assert_eq!(resumes, logged_resumes, "every resume is logged once");
    assert!(stats.unauthenticated == 0, "{stats:?}");
    sim.shutdown().await;
}

/// The simulator's body faults are what the README says they are: the response
/// head (200, `Content-Length`) arrives, then the body breaks part way. When a
/// fault struck before hyper flushed the head, the client saw a connection
/// closed before any response instead: a different fault, survived by a request
/// retry rather than by the resume with `Range` that these faults exist to test.
#[tokio::test]
async fn download_faults_strike_after_the_response_head() {
    use clouddc_sim::FaultKind;
    for kind in [FaultKind::Reset, FaultKind::Truncate] {
        let sim = Simulator::start(SimConfig {
            tokens: vec![TOKEN.into()],
            faults: FaultSpec::none().with(kind, 1.0),
            export_duration: Duration::ZERO,
            archive_bytes: 256 * 1024,
            ..SimConfig::default()
        })
        .await
        .expect("the simulator starts");
        let http = client::http(Duration::from_secs(10));
        let base = format!("{}/v1/{}/physicalservers", sim.base_url(), sim.project_id());
        let mut heads = 0;
        let servers = 8;
        for i in 0..servers {
            let exports = format!("{base}/srv-{i}/logs/exports");
            let task: serde_json::Value = http
                .post(&exports)
                .header("X-Auth-Token", TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let url = format!("{exports}/{}/content", task["export_id"].as_str().unwrap());
            // Only the head matters here; the body is known to break.
            if let Ok(response) = http.get(&url).header("X-Auth-Token", TOKEN).send().await {
                assert_eq!(response.status(), 200);
                let announced = response.content_length().unwrap();
                let body = response.bytes().await;
                assert!(body.is_err() || (body.unwrap().len() as u64) < announced);
                heads += 1;
            }
        }
        assert_eq!(
            heads, servers,
            "{kind:?}: only {heads} of {servers} downloads got their response head before \
             the fault"
        );
    }
}

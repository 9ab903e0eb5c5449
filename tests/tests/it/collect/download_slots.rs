//! `CollectOptions::max_downloads`: a fleet collected at a high concurrency
//! still downloads only that many archives at once, and the export calls keep
//! their own slots.

use crate::support::client;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clouddc::{CollectEvent, CollectOptions, EventSink, WaitOptions};
use clouddc_sim::{SimConfig, Simulator};
use futures::StreamExt;

const TOKEN: &str = "slots-token";
const SERVERS: usize = 8;
/// Large enough that a download is still running when the next one starts.
const ARCHIVE_BYTES: u64 = 4 << 20;
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Servers between their first download event and their outcome, and the most
/// there ever were at once.
#[derive(Default)]
struct Active {
    now: HashSet<String>,
    most: usize,
}

/// Collects the fleet and returns the most downloads seen at once and how many
/// requests the simulator turned away for its own download bound.
async fn most_downloads_at_once(max_downloads: usize, sim_max_downloads: usize) -> (usize, u64) {
    let sim = Simulator::start(SimConfig {
        tokens: vec![TOKEN.into()],
        export_duration: Duration::from_millis(300),
        archive_bytes: ARCHIVE_BYTES,
        max_downloads: sim_max_downloads,
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let client = client::of_sim(&sim)
        .token(TOKEN)
        .build()
        .expect("the client builds");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = CollectOptions {
        output_dir: dir.path().to_owned(),
        concurrency: SERVERS,
        max_downloads,
        wait: WaitOptions {
            first_interval: Duration::from_millis(50),
            min_interval: Duration::from_millis(50),
            ..WaitOptions::default()
        },
        ..CollectOptions::default()
    };
    let active = Arc::new(Mutex::new(Active::default()));
    let sink: EventSink = {
        let active = active.clone();
        Arc::new(move |event| {
            if let CollectEvent::Downloading { server, .. } = event {
                let mut active = active.lock().unwrap();
                active.now.insert(server);
                active.most = active.most.max(active.now.len());
            }
        })
    };
    let servers: Vec<String> = (1..=SERVERS).map(|i| format!("srv-{i:02}")).collect();
    let run = async {
        let mut outcomes = Box::pin(client.collect(servers, options, Some(sink)));
        let mut done = 0;
        while let Some(outcome) = outcomes.next().await {
            // A download's slot is free once its outcome is out; the next
            // download is polled only after this.
            active.lock().unwrap().now.remove(&outcome.server);
            let result = outcome.result.map(drop).map_err(|e| e.to_string());
            assert_eq!(result, Ok(()), "{}", outcome.server);
            done += 1;
        }
        done
    };
    let done = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("the fleet is collected in time");
    assert_eq!(done, SERVERS);
    let throttled = sim.stats().throttled;
    let most = active.lock().unwrap().most;
    (most, throttled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_stay_within_their_own_bound() {
    // Against a simulator that refuses a third simultaneous download: two
    // slots never trip it, and two downloads do overlap.
    let (most, throttled) = most_downloads_at_once(2, 2).await;
    assert_eq!(most, 2, "the most downloads at once");
    assert_eq!(throttled, 0, "requests the simulator turned away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_larger_bound_lets_more_downloads_overlap() {
    // The same fleet with room for all: more than two overlap, so the bound
    // above is what held them to two.
    let (most, _) = most_downloads_at_once(SERVERS, 64).await;
    assert!(most > 2, "only {most} downloads overlapped");
}

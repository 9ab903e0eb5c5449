//! `Client::collect` with a journal, from the library: a saved export is polled
//! instead of exported again, unless the service no longer knows it (404) or it
//! is older than the maximum age.

use crate::support::client;

use std::sync::Arc;
use std::time::Duration;

use clouddc::journal::{FileJournal, Journal, Record};
use clouddc::{Client, CollectOptions, WaitOptions};
use clouddc_sim::{SimConfig, SimHandle, Simulator};
use futures::StreamExt;

const TOKEN: &str = "journal-token";

async fn sim() -> (SimHandle, Client) {
    let sim = Simulator::start(SimConfig {
        tokens: vec![TOKEN.into()],
        export_duration: Duration::ZERO,
        archive_bytes: 8 * 1024,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = client::of_sim(&sim).token(TOKEN).build().unwrap();
    (sim, client)
}

/// Collects `server` into `dir` with the journal there, after `prepare` wrote
/// records to it; returns whether it succeeded.
async fn collect_with(client: &Client, dir: &std::path::Path, prepare: Vec<Record>) -> bool {
    let (journal, _) = FileJournal::open(dir, false).unwrap();
    for record in prepare {
        journal.record(record).unwrap();
    }
    drop(journal);
    let (journal, _) = FileJournal::open(dir, false).unwrap();
    let options = CollectOptions {
        output_dir: dir.to_owned(),
        journal: Some(Arc::new(journal)),
        wait: WaitOptions {
            first_interval: Duration::from_millis(20),
            min_interval: Duration::from_millis(20),
            ..WaitOptions::default()
        },
        ..CollectOptions::default()
    };
    let outcomes: Vec<_> = client
        .collect(vec!["srv-0001".into()], options, None)
        .collect()
        .await;
    outcomes.iter().all(|o| o.result.is_ok())
}

fn exported(export_id: &str, at: i64) -> Record {
    serde_json::from_value(serde_json::json!({
        "kind": "exported", "server": "srv-0001", "export_id": export_id, "at": at
    }))
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_saved_export_is_polled_not_exported_again() {
    let (sim, client) = sim().await;
    let task = client.export("srv-0001").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(collect_with(&client, dir.path(), vec![exported(&task.export_id, now())]).await);
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, 1);
    assert_eq!(stats.export_requests, 1, "only the test's own export");
}

#[tokio::test]
async fn a_saved_export_the_service_no_longer_knows_is_exported_again() {
    let (sim, client) = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let unknown = "0123456789abcdef0123456789abcdef";
    assert!(collect_with(&client, dir.path(), vec![exported(unknown, now())]).await);
    assert_eq!(sim.stats().tasks_created, 1);
    assert_eq!(sim.stats().export_requests, 1);
}

#[tokio::test]
async fn a_saved_export_older_than_the_maximum_age_is_exported_again() {
    let (sim, client) = sim().await;
    let task = client.export("srv-0001").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = now() - clouddc::journal::MAX_EXPORT_AGE.as_secs() as i64 - 60;
    assert!(collect_with(&client, dir.path(), vec![exported(&task.export_id, old)]).await);
    // The first task had finished, so the second call created a second task.
    assert_eq!(sim.stats().tasks_created, 2);
    assert_eq!(sim.stats().export_requests, 2);
}

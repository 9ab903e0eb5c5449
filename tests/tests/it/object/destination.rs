//! `CollectOptions::destination` from the library: the built-in directory
//! and object-store destinations against the simulator under faults, the
//! object store an in-memory `object_store` one (the S3 protocol itself is
//! `object_collect`'s, against moto).

use std::sync::Arc;
use std::time::Duration;

use clouddc::destination::{
    Destination, DirectoryDestination, ObjectStoreDestination, ObjectUrl, Stored,
};
use clouddc::{Client, CollectOptions, DownloadOptions, ServerOutcome, WaitOptions};
use clouddc_sim::{SimConfig, SimHandle, Simulator};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use sha2::Digest;

const TOKEN: &str = "destination-token";

async fn sim(archive_bytes: u64, faults: &str) -> (SimHandle, Client) {
    let sim = Simulator::start(SimConfig {
        tokens: vec![TOKEN.into()],
        export_duration: Duration::ZERO,
        archive_bytes,
        faults: faults.parse().unwrap(),
        seed: 11,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .endpoint(sim.base_url())
        .project_id(sim.project_id())
        .token(TOKEN)
        .build()
        .unwrap();
    (sim, client)
}

async fn collect(
    client: &Client,
    servers: &[&str],
    destination: Arc<dyn Destination>,
) -> Vec<ServerOutcome> {
    let options = CollectOptions {
        destination: Some(destination.clone()),
        wait: WaitOptions {
            first_interval: Duration::from_millis(20),
            min_interval: Duration::from_millis(20),
            ..WaitOptions::default()
        },
        download: DownloadOptions {
            max_resumes: 20,
            ..DownloadOptions::default()
        },
        ..CollectOptions::default()
    };
    let servers = servers.iter().map(|s| (*s).to_owned()).collect();
    let outcomes = client.collect(servers, options, None).collect().await;
    destination.close().await.unwrap();
    outcomes
}

fn url() -> ObjectUrl {
    ObjectUrl::parse("s3://bucket/logs/").unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_stream_into_the_store_in_parts_and_a_rerun_skips_them() {
    // Over two 8 MiB parts, with the body broken now and then: resumes go on
    // appending parts, a restart from zero aborts the upload and starts over.
    let (sim, client) = sim(17 << 20, "reset=0.3,truncate=0.2").await;
    let store = Arc::new(InMemory::new());
    let destination = Arc::new(ObjectStoreDestination::with_store(store.clone(), url()));
    let outcomes = collect(&client, &["srv-1", "srv-2"], destination.clone()).await;
    for outcome in &outcomes {
        let archive = outcome.result.as_ref().unwrap();
        let export_id = outcome.export_id.as_deref().unwrap();
        let expected = sim
            .expected_sha256(&outcome.server, export_id)
            .await
            .unwrap();
        let key = ObjectPath::from(format!("logs/{}-dump.tar.gz", outcome.server));
        let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), expected);
        assert_eq!(archive.sha256, expected);
        assert_eq!(
            archive.path.to_str().unwrap(),
            format!("s3://bucket/logs/{}-dump.tar.gz", outcome.server)
        );
        let stored = destination
            .stored(&format!("{}-dump.tar.gz", outcome.server))
            .await
            .unwrap();
        assert_eq!(
            stored,
            Some(Stored {
                bytes: bytes.len() as u64,
                sha256: expected
            })
        );
    }
    let tasks = sim.stats().tasks_created;
    let again = collect(&client, &["srv-1", "srv-2"], destination).await;
    assert!(again.iter().all(|o| o.resumed && o.result.is_ok()));
    assert_eq!(
        sim.stats().tasks_created,
        tasks,
        "nothing was exported again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_without_its_sha256_is_collected_again() {
    let (_sim, client) = sim(8 * 1024, "").await;
    let store = Arc::new(InMemory::new());
    let destination = Arc::new(ObjectStoreDestination::with_store(store.clone(), url()));
    let key = ObjectPath::from("logs/srv-1-dump.tar.gz");
    store
        .put(&key, b"half an archive".to_vec().into())
        .await
        .unwrap();
    assert_eq!(destination.stored("srv-1-dump.tar.gz").await.unwrap(), None);
    let outcomes = collect(&client, &["srv-1"], destination).await;
    assert!(!outcomes[0].resumed);
    let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(
        bytes.len() as u64,
        outcomes[0].result.as_ref().unwrap().bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_destination_places_checked_files_and_keeps_existing_ones() {
    let (sim, client) = sim(64 * 1024, "truncate=0.3").await;
    let dir = tempfile::tempdir().unwrap();
    let destination = Arc::new(DirectoryDestination::new(dir.path()));
    let outcomes = collect(&client, &["srv-1", "srv-2"], destination.clone()).await;
    for outcome in &outcomes {
        let archive = outcome.result.as_ref().unwrap();
        let bytes =
            std::fs::read(dir.path().join(format!("{}-dump.tar.gz", outcome.server))).unwrap();
        let expected = sim
            .expected_sha256(&outcome.server, outcome.export_id.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), expected);
        assert_eq!(
            archive.path,
            dir.path().join(format!("{}-dump.tar.gz", outcome.server))
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["srv-1-dump.tar.gz", "srv-2-dump.tar.gz"],
        "no temporary file is left"
    );
    // A file in the way fails its server before any export, as without a destination.
    let exports = sim.stats().export_requests;
    let again = collect(&client, &["srv-1"], destination).await;
    let error = again[0].result.as_ref().unwrap_err().to_string();
    assert!(error.contains("keeping the existing"), "{error}");
    assert_eq!(sim.stats().export_requests, exports);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_parts_went_up_starts_the_object_over_and_an_abort_leaves_none() {
    let store = Arc::new(InMemory::new());
    let destination = ObjectStoreDestination::with_store(store.clone(), url());
    let options = DownloadOptions::default();
    let first = vec![1_u8; 9 << 20];
    let second = vec![2_u8; 3 << 20];

    // Over a part (one went up), then the archive starts again from byte 0.
    let mut writer = destination.create("a.tar.gz", &options).await.unwrap();
    let (writer, expected) = tokio::task::spawn_blocking(move || {
        writer.write(&first).unwrap();
        writer.restart().unwrap();
        writer.write(&second).unwrap();
        writer.finish().unwrap();
        (writer, second)
    })
    .await
    .unwrap();
    let key = ObjectPath::from("logs/a.tar.gz");
    assert!(
        store.head(&key).await.is_err(),
        "nothing is visible before the commit"
    );
    let sha256 = hex::encode(sha2::Sha256::digest(&expected));
    let stored = Stored {
        bytes: expected.len() as u64,
        sha256: sha256.clone(),
    };
    let location = writer.commit(stored.clone()).await.unwrap();
    assert_eq!(location.to_str(), Some("s3://bucket/logs/a.tar.gz"));
    let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(
        bytes.as_ref(),
        expected.as_slice(),
        "only the bytes after the restart"
    );
    assert_eq!(destination.stored("a.tar.gz").await.unwrap(), Some(stored));

    // Aborted after a part went up: no object, no .sha256.
    let mut writer = destination.create("b.tar.gz", &options).await.unwrap();
    let writer = tokio::task::spawn_blocking(move || {
        writer.write(&vec![3_u8; 9 << 20]).unwrap();
        writer
    })
    .await
    .unwrap();
    writer.abort().await;
    destination.close().await.unwrap();
    assert!(
        store
            .head(&ObjectPath::from("logs/b.tar.gz"))
            .await
            .is_err()
    );
    assert_eq!(destination.stored("b.tar.gz").await.unwrap(), None);
}

//! The simulator, from the outside: the client and raw HTTP against
//! `clouddc_sim::Simulator` on 127.0.0.1, covering each dialect, each fault,
//! authentication, project isolation, expiry, `Range` and archive integrity.

use crate::support::client;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use clouddc::{Client, DownloadOptions, Error, RetryPolicy, WaitOptions};
use clouddc_sim::{Dialect, FaultKind, FaultSpec, SimConfig, SimHandle, Simulator};
use sha2::{Digest, Sha256};

const TOKEN: &str = "sim-test-token";
const AK: &str = "SIMTESTAK";
const SK: &str = "sim-test-sk";

fn config() -> SimConfig {
    SimConfig {
        tokens: vec![TOKEN.into()],
        ak_sk: vec![(AK.into(), SK.into())],
        export_duration: Duration::from_millis(600),
        archive_bytes: 200 * 1024,
        stall_for: Duration::from_secs(3),
        slow_for: Duration::from_millis(400),
        ..Default::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    Simulator::start(config)
        .await
        .expect("the simulator starts")
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        deadline: Duration::from_secs(30),
    }
}

fn token_client(sim: &SimHandle) -> Client {
    client::of_sim(sim)
        .token(TOKEN)
        .retry_policy(fast_retries())
        .build()
        .expect("client")
}

fn aksk_client(sim: &SimHandle) -> Client {
    client::of_sim(sim)
        .ak_sk(AK, SK)
        .retry_policy(fast_retries())
        .build()
        .expect("client")
}

fn quick_wait() -> WaitOptions {
    WaitOptions {
        deadline: Duration::from_secs(20),
        min_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(300),
        first_interval: Duration::from_millis(100),
    }
}

fn download_options() -> DownloadOptions {
    DownloadOptions {
        // The fault tests break half of all bodies, each attempt on its own
        // dice: 10 resumes lost one download in 2^11, which CI met once.
        // 40 make a run of 41 broken attempts a 1-in-2^41 event.
        max_resumes: 40,
        idle_timeout: Some(Duration::from_secs(1)),
        ..DownloadOptions::default()
    }
}

fn raw() -> reqwest::Client {
    client::http(Duration::from_secs(20))
}

fn exports_url(sim: &SimHandle, project: &str, server: &str) -> String {
    format!(
        "{}/v1/{project}/physicalservers/{server}/logs/exports",
        sim.base_url()
    )
}

/// Export, wait and download `server` with `client`; returns the path and sha256.
async fn full_flow(client: &Client, sim: &SimHandle, server: &str, dir: &Path) -> (String, String) {
    let task = client.export(server).await.expect("export");
    let done = client
        .wait_for_export(
            server,
            &task.export_id,
            Some(task.clone()),
            &quick_wait(),
            &|_| {},
        )
        .await
        .expect("the export completes");
    assert!(done.status.is_completed(), "{:?}", done.status);
    let downloaded = client
        .download(server, &task.export_id, dir, &download_options(), &|_| {})
        .await
        .expect("download");
    let expected = sim
        .expected_sha256(server, &task.export_id)
        .await
        .expect("the task is known");
    assert_eq!(downloaded.sha256, expected, "{server}");
    let on_disk = format!(
        "{:x}",
        Sha256::digest(std::fs::read(&downloaded.path).unwrap())
    );
    assert_eq!(on_disk, expected);
    (task.export_id, downloaded.path.display().to_string())
}

#[tokio::test]
async fn every_dialect_completes_the_flow_with_token_and_aksk() {
    for dialect in Dialect::ALL {
        let sim = start(SimConfig {
            dialect,
            ..config()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        full_flow(&token_client(&sim), &sim, "srv-token", dir.path()).await;
        full_flow(&aksk_client(&sim), &sim, "srv-aksk", dir.path()).await;
        assert!(
            dir.path().join("srv-token-dump.tar.gz").exists(),
            "{dialect}"
        );
        assert!(
            dir.path().join("srv-aksk-dump.tar.gz").exists(),
            "{dialect}"
        );
    }
}

#[tokio::test]
async fn each_dialect_words_the_status_as_documented() {
    let expectations = [
        (Dialect::Documented, "processing", serde_json::json!("0")),
        (Dialect::Example, "Running", serde_json::json!("0%")),
        (Dialect::Integer, "processing", serde_json::json!(0)),
    ];
    for (dialect, status, percentage) in expectations {
        let sim = start(SimConfig {
            dialect,
            export_duration: Duration::from_secs(60),
            ..config()
        })
        .await;
        let response = raw()
            .post(exports_url(&sim, sim.project_id(), "srv-1"))
            .header("X-Auth-Token", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{dialect}");
        assert_eq!(body["percentage"], percentage, "{dialect}");
        let created = body["created_at"].as_str().unwrap();
        let suffix = if dialect == Dialect::Example {
            "+00:00"
        } else {
            "Z"
        };
        assert!(created.ends_with(suffix), "{dialect}: {created}");
    }
}

#[tokio::test]
async fn archives_unpack_and_match_their_manifest() {
    let sim = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = full_flow(&token_client(&sim), &sim, "srv-0001", dir.path()).await;
    let bytes = std::fs::read(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut manifest = String::new();
    let mut computed = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name.ends_with("MANIFEST.sha256") {
            manifest = String::from_utf8(data).unwrap();
        } else {
            computed.push_str(&format!("{:x}  {name}\n", Sha256::digest(&data)));
        }
    }
    assert_eq!(manifest.lines().count(), 3);
    assert_eq!(manifest, computed);
}

#[tokio::test]
async fn range_requests_resume_with_206() {
    let sim = start(SimConfig {
        export_duration: Duration::ZERO,
        ..config()
    })
    .await;
    let client = token_client(&sim);
    let task = client.export("srv-r").await.unwrap();
    let url = format!(
        "{}/{}/content",
        exports_url(&sim, sim.project_id(), "srv-r"),
        task.export_id
    );
    let whole = raw()
        .get(&url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.headers()["content-disposition"],
        "attachment; filename=srv-r-dump.tar.gz"
    );
    assert_eq!(
        whole.headers()["content-type"],
        "application/octet-stream;charset=UTF-8"
    );
    let whole = whole.bytes().await.unwrap();
    let len = whole.len();
    let part = raw()
        .get(&url)
        .header("X-Auth-Token", TOKEN)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1000-{}/{len}", len - 1).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), whole.slice(1000..));
    // A range past the end is ignored: the whole archive, 200.
    let past = raw()
        .get(&url)
        .header("X-Auth-Token", TOKEN)
        .header("Range", format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 200);
}

#[tokio::test]
async fn download_faults_are_survived_by_resuming() {
    for kind in [FaultKind::Reset, FaultKind::Truncate, FaultKind::Stall] {
        let sim = start(SimConfig {
            faults: FaultSpec::none().with(kind, 0.5),
            seed: 3,
            export_duration: Duration::ZERO,
            ..config()
        })
        .await;
        let client = token_client(&sim);
        let dir = tempfile::tempdir().unwrap();
        let injected = || {
            let counts = sim.stats().faults;
            match kind {
                FaultKind::Reset => counts.reset,
                FaultKind::Truncate => counts.truncate,
                _ => counts.stall,
            }
        };
        // Export ids are random, so which download a fault strikes varies from
        // run to run; enough servers make "never" a 1-in-a-billion event.
        for i in 0..30 {
            full_flow(&client, &sim, &format!("srv-{i}"), dir.path()).await;
            if i >= 3 && injected() > 0 {
                break;
            }
        }
        let (injected, counts) = (injected(), sim.stats().faults);
        assert!(injected > 0, "{kind:?} never struck: {counts:?}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.ends_with("-dump.tar.gz"))
            .collect();
        assert!(leftovers.is_empty(), "{kind:?}: {leftovers:?}");
    }
}

#[tokio::test]
async fn injected_500_and_429_have_the_documented_shapes_and_are_retried() {
    let sim = start(SimConfig {
        faults: "500=0.3,429=0.3".parse().unwrap(),
        seed: 11,
        export_duration: Duration::ZERO,
        ..config()
    })
    .await;
    let mut saw_500 = false;
    let mut saw_429 = false;
    for i in 0..40 {
        let response = raw()
            .get(format!(
                "{}/nope{i}",
                exports_url(&sim, sim.project_id(), "srv")
            ))
            .header("X-Auth-Token", TOKEN)
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("x-request-id"));
        match response.status().as_u16() {
            500 => {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error_code"], "CLOUDDC.0500");
                saw_500 = true;
            }
            429 => {
                assert!(response.headers().contains_key("retry-after"));
                assert!(
                    response.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("text/plain")
                );
                saw_429 = true;
            }
            404 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(saw_500 && saw_429);
    // The client's retries carry the flow through them.
    let dir = tempfile::tempdir().unwrap();
    // Here a try fails with p = 0.3 + 0.7 × 0.3 = 0.51: 8 attempts lose a
    // call one time in 220, so the flow gets 30 (one in 2^29).
    let client = client::of_sim(&sim)
        .token(TOKEN)
        .retry_policy(RetryPolicy {
            max_attempts: 30,
            ..fast_retries()
        })
        .build()
        .expect("client");
    full_flow(&client, &sim, "srv-retry", dir.path()).await;
}

#[tokio::test]
async fn slow_responses_are_held_back() {
    let sim = start(SimConfig {
        faults: FaultSpec::none().with(FaultKind::Slow, 1.0),
        ..config()
    })
    .await;
    let started = Instant::now();
    let response = raw()
        .post(exports_url(&sim, sim.project_id(), "srv"))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(sim.stats().faults.slow, 1);
}

#[tokio::test]
async fn failed_exports_end_the_wait_with_an_error() {
    let sim = start(SimConfig {
        faults: FaultSpec::none().with(FaultKind::Fail, 1.0),
        ..config()
    })
    .await;
    let client = token_client(&sim);
    let task = client.export("srv-f").await.unwrap();
    let result = client
        .wait_for_export("srv-f", &task.export_id, None, &quick_wait(), &|_| {})
        .await;
    assert!(
        matches!(result, Err(Error::ExportFailed { .. })),
        "{result:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let download = client
        .download(
            "srv-f",
            &task.export_id,
            dir.path(),
            &download_options(),
            &|_| {},
        )
        .await;
    assert!(download.is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn authentication_failures_answer_401_in_the_gateway_shape() {
    let sim = start(config()).await;
    let url = exports_url(&sim, sim.project_id(), "srv");
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("no credentials", raw().post(&url)),
        (
            "wrong token",
            raw().post(&url).header("X-Auth-Token", "wrong"),
        ),
        (
            "garbage Authorization",
            raw().post(&url).header("Authorization", "Bearer x"),
        ),
    ];
    for (what, request) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
        assert!(response.headers().contains_key("x-request-id"), "{what}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error_code"], "APIGW.0301", "{what}");
        let message = body["error_msg"].as_str().unwrap();
        assert!(
            !message.contains(TOKEN) && !message.contains(SK),
            "{what}: {message}"
        );
    }
    // A signature by the wrong SK, and a correct one fifteen minutes stale.
    for (sk, age) in [("not-the-sk", 0), (SK, 16 * 60)] {
        let mut request = raw().post(&url).build().unwrap();
        let now = chrono::Utc::now() - chrono::TimeDelta::seconds(age);
        clouddc::signing::sign_request(&mut request, AK, &sk.into(), None, None, now).unwrap();
        let response = raw().execute(request).await.unwrap();
        assert_eq!(response.status(), 401, "sk {sk}, {age} s old");
    }
    // The same request signed now is accepted.
    let mut request = raw().post(&url).build().unwrap();
    clouddc::signing::sign_request(&mut request, AK, &SK.into(), None, None, chrono::Utc::now())
        .unwrap();
    assert_eq!(raw().execute(request).await.unwrap().status(), 202);
    assert!(sim.stats().unauthenticated >= 5);
}

#[tokio::test]
async fn other_projects_bad_ids_and_unknown_ids() {
    let sim = start(SimConfig {
        servers: Some(vec!["srv-known".into()]),
        ..config()
    })
    .await;
    let send = |url: String| async move {
        raw()
            .post(url)
            .header("X-Auth-Token", TOKEN)
            .send()
            .await
            .unwrap()
    };
    let other = send(exports_url(&sim, "another-project", "srv-known")).await;
    assert_eq!(other.status(), 403);
    let long = "x".repeat(129);
    assert_eq!(
        send(exports_url(&sim, sim.project_id(), &long))
            .await
            .status(),
        400
    );
    assert_eq!(
        send(exports_url(&sim, sim.project_id(), "%0A"))
            .await
            .status(),
        400
    );
    assert_eq!(
        send(exports_url(&sim, sim.project_id(), "srv-unknown"))
            .await
            .status(),
        404
    );
    let known = send(exports_url(&sim, sim.project_id(), "srv-known")).await;
    assert_eq!(known.status(), 202);
    let status = raw()
        .get(format!(
            "{}/ffff",
            exports_url(&sim, sim.project_id(), "srv-known")
        ))
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);
    let with_options = raw()
        .post(exports_url(&sim, sim.project_id(), "srv-known"))
        .header("X-Auth-Token", TOKEN)
        .header("Content-Type", "application/json")
        .body("{\"verbose\":true}")
        .send()
        .await
        .unwrap();
    assert_eq!(with_options.status(), 400);
}

#[tokio::test]
async fn a_second_export_while_running_returns_the_same_task() {
    let sim = start(SimConfig {
        export_duration: Duration::from_secs(60),
        ..config()
    })
    .await;
    let client = token_client(&sim);
    let first = client.export("srv").await.unwrap();
    let second = client.export("srv").await.unwrap();
    assert_eq!(first.export_id, second.export_id);
    assert_eq!(sim.stats().tasks_created, 1);
    let other = client.export("srv-2").await.unwrap();
    assert_ne!(other.export_id, first.export_id);
    assert_eq!(other.export_id.len(), 32, "128 random bits in hex");
}

#[tokio::test]
async fn finished_tasks_expire_after_the_ttl() {
    let sim = start(SimConfig {
        export_duration: Duration::ZERO,
        task_ttl: Duration::from_millis(300),
        ..config()
    })
    .await;
    let client = client::without_retries(sim.base_url(), sim.project_id(), TOKEN);
    let task = client.export("srv").await.unwrap();
    assert!(client.status("srv", &task.export_id).await.is_ok());
    tokio::time::sleep(Duration::from_millis(600)).await;
    match client.status("srv", &task.export_id).await {
        Err(Error::Api(api)) => assert_eq!(api.status, 404),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let sim = start(SimConfig {
        rate_limit: Some(2.0),
        ..config()
    })
    .await;
    let url = format!("{}/x", exports_url(&sim, sim.project_id(), "srv"));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = raw()
            .get(&url)
            .header("X-Auth-Token", TOKEN)
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1);
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[404, 404]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    assert!(sim.stats().throttled >= 1);
}

#[tokio::test]
async fn downloads_beyond_the_bound_answer_429() {
    let sim = start(SimConfig {
        max_downloads: 1,
        export_duration: Duration::ZERO,
        archive_bytes: 64 * 1024 * 1024,
        ..config()
    })
    .await;
    let client = token_client(&sim);
    let task = client.export("srv").await.unwrap();
    let url = format!(
        "{}/{}/content",
        exports_url(&sim, sim.project_id(), "srv"),
        task.export_id
    );
    let first = raw()
        .get(&url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = raw()
        .get(&url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    drop(first);
}

#[tokio::test]
async fn undeclared_methods_answer_405_with_allow_and_unknown_paths_404() {
    let sim = start(config()).await;
    let url = exports_url(&sim, sim.project_id(), "srv");
    let response = raw()
        .delete(&url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert!(response.headers().contains_key("x-request-id"));
    let response = raw()
        .get(format!("{}/v2/whatever", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0101");
}

#[tokio::test]
async fn bad_settings_are_refused_before_binding() {
    let result = Simulator::start(SimConfig {
        project_id: String::new(),
        ..config()
    })
    .await;
    assert!(matches!(
        result,
        Err(clouddc_sim::SimError::Config {
            what: "project_id",
            ..
        })
    ));
    assert!("500=1.5".parse::<FaultSpec>().is_err());
}

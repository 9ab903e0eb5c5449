//! The official SDKs' credential chain through the `clouddc` binary, against
//! the simulator's CloudDC, IAM and ECS metadata endpoints: a credentials file
//! and a region are enough (the project comes from IAM), temporary metadata
//! credentials that expire every couple of seconds are refreshed in the middle
//! of a fleet without losing a server, and no secret of either source is
//! ever printed.

use crate::support::cli;

use std::path::Path;
use std::time::Duration;

use cli::{Auth, PROJECT, Sim, SimOptions, clouddc, files_but_the_journal, run_command};

const FILE_AK: &str = "FILEAK0001";
const FILE_SK: &str = "file-sk-sentinel-3e91";

/// A credentials file holding the simulator's pair and its IAM endpoint, and
/// a regions file sending `cn-east-3`'s CloudDC to the simulator: what a user
/// of the official SDKs has, pointed at the simulator.
fn sdk_files(dir: &Path, sim: &Sim) -> (std::path::PathBuf, std::path::PathBuf) {
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "# as KooCLI and the SDKs read it\n[basic]\nak = {FILE_AK}\nsk = {FILE_SK}\niam_endpoint = {}\n",
            sim.url()
        ),
    )
    .unwrap();
    let regions = dir.join("regions.yaml");
    std::fs::write(
        &regions,
        format!("CLOUDDC:\n  - id: cn-east-3\n    endpoint: {}\n", sim.url()),
    )
    .unwrap();
    (credentials, regions)
}

fn file_sim(project_regions: Option<Vec<(String, String)>>) -> Sim {
    Sim::start(SimOptions {
        auth: Auth::AkSk(FILE_AK.into(), FILE_SK.into()),
        export_seconds: 0.5,
        project_regions,
        ..SimOptions::default()
    })
}

#[test]
fn a_credentials_file_and_a_region_are_enough() {
    let sim = file_sim(None);
    let dir = tempfile::tempdir().unwrap();
    let (credentials, regions) = sdk_files(dir.path(), &sim);
    let out = dir.path().join("logs");
    let mut command = clouddc(["-vvv", "--region", "cn-east-3", "logs", "collect"]);
    command
        .args(["srv-0001", "srv-0002", "-o"])
        .arg(&out)
        .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &credentials)
        .env("HUAWEICLOUD_SDK_REGIONS_FILE", &regions);
    let result = run_command(command);
    assert_eq!(result.code, 0, "{result}");
    let mut files = files_but_the_journal(&out);
    files.sort();
    assert_eq!(files, ["srv-0001-dump.tar.gz", "srv-0002-dump.tar.gz"]);
    assert!(
        result.stderr.contains("the credentials file"),
        "-v names the source: {result}"
    );
    assert!(!result.stderr.contains(FILE_SK) && !result.stdout.contains(FILE_SK));
    let stats = sim.stats();
    assert_eq!(stats.iam_requests, 1, "one lookup: {stats:?}");
    assert_eq!(stats.unauthenticated, 0, "{stats:?}");
}

#[test]
fn iam_finding_no_project_or_several_is_an_error_naming_the_region() {
    let pair = |region: &str, id: &str| (region.to_owned(), id.to_owned());
    let sim = file_sim(Some(vec![
        pair("cn-east-3", PROJECT),
        pair("cn-east-3", "fedcba9876543210fedcba9876543210"),
        pair("cn-south-1", PROJECT),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let (credentials, regions) = sdk_files(dir.path(), &sim);
    std::fs::write(
        &regions,
        format!(
            "clouddc:\n  - id: cn-east-3\n    endpoint: {url}\n  - id: ap-southeast-3\n    endpoint: {url}\n",
            url = sim.url()
        ),
    )
    .unwrap();
    for (region, expected) in [
        ("cn-east-3", "2 projects"),
        ("ap-southeast-3", "no project"),
    ] {
        let mut command = clouddc(["--region", region, "logs", "export", "srv-0001"]);
        command
            .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &credentials)
            .env("HUAWEICLOUD_SDK_REGIONS_FILE", &regions);
        let result = run_command(command);
        assert_eq!(result.code, 2, "{region}: {result}");
        assert!(result.stderr.contains(region), "{result}");
        assert!(result.stderr.contains(expected), "{result}");
        assert!(result.stderr.contains("--project-id"), "{result}");
    }
    assert_eq!(sim.stats().export_requests, 0);
}

#[test]
fn metadata_credentials_are_refreshed_in_the_middle_of_a_fleet() {
    // Credentials live 2 s; the fleet takes several times that.
    let sim = Sim::start(SimOptions {
        auth: Auth::Token("unused-token".into()),
        export_seconds: 7.0,
        credential_ttl: Some(Duration::from_secs(2)),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logs");
    let servers: Vec<String> = (1..=8).map(|i| format!("srv-{i:04}")).collect();
    let mut command = clouddc(["-vvv", "--endpoint", &sim.url(), "logs", "collect"]);
    command
        .args(&servers)
        .args(["--concurrency", "2", "-o"])
        .arg(&out)
        .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
        .env("CLOUDDC_METADATA_ENDPOINT", sim.url());
    let started = std::time::Instant::now();
    let result = run_command(command);
    let took = started.elapsed();
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(files_but_the_journal(&out).len(), servers.len(), "{result}");
    assert!(
        result.stderr.contains("the ECS metadata service"),
        "-v names the source: {result}"
    );
    assert!(
        !result.stderr.contains("sts-"),
        "no security token: {result}"
    );
    let stats = sim.stats();
    assert_eq!(stats.unauthenticated, 0, "{stats:?}");
    // The run outlived several generations of credentials, and every request
    // was accepted: the ones after the first generation expired were signed
    // with refreshed credentials (fetched when a request needed them and the
    // current ones were in their last third).
    assert!(took > Duration::from_secs(4), "{took:?}");
    assert!(
        stats.metadata_credentials_issued >= 2,
        "{} fetches in {took:?}: {stats:?}",
        stats.metadata_credentials_issued
    );
    assert!(stats.metadata_token_requests >= 1, "{stats:?}");
}

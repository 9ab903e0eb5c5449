//! The secret sentinels of `cli_secrets`, extended to the credential chain and
//! the network settings: an SK from the credentials file (used, and on a line
//! that does not parse), the metadata service's temporary credentials, and a
//! proxy's password in `--proxy` and in `HTTP_PROXY`, all at `-vvv`, never in
//! stdout or stderr.

use crate::support::cli;

use std::time::Duration;

use cli::{Auth, RunResult, Sim, SimOptions, clouddc, run_command};

const AK: &str = "AKFILESENTINEL";
const SENTINEL_SK: &str = "sentinel-file-sk-0c7d31";
const SENTINEL_PROXY_PASSWORD: &str = "sentinel-proxy-pw-4b20";
/// Every security token the simulator's metadata service issues starts so.
const ISSUED_TOKEN_PREFIX: &str = "sts-";

fn scan(label: &str, command: assert_cmd::Command) -> RunResult {
    let result = run_command(command);
    for text in [&result.stdout, &result.stderr] {
        for sentinel in ["sentinel", ISSUED_TOKEN_PREFIX] {
            assert!(
                !text.contains(sentinel),
                "{label}: {sentinel} appears in the output:\n{result}"
            );
        }
    }
    result
}

#[test]
fn the_credentials_file_never_shows_its_secret() {
    let sim = Sim::start(SimOptions {
        auth: Auth::AkSk(AK.into(), SENTINEL_SK.into()),
        export_seconds: 0.2,
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, format!("[basic]\nak = {AK}\nsk = {SENTINEL_SK}\n")).unwrap();
    let out = dir.path().join("logs");
    let args = [
        "-vvv",
        "--endpoint",
        &sim.url(),
        "--project-id",
        cli::PROJECT,
    ];
    let mut command = clouddc(args);
    command
        .args(["logs", "collect", "srv-0001", "-o"])
        .arg(&out)
        .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file);
    let result = scan("used", command);
    assert_eq!(result.code, 0, "{result}");

    // A line that does not parse is named by number, never shown.
    std::fs::write(&file, format!("[basic]\nak = {AK}\n{SENTINEL_SK}\n")).unwrap();
    let mut command = clouddc(args);
    command
        .args(["logs", "export", "srv-0001"])
        .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file);
    let result = scan("malformed", command);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stderr.contains("line 3"), "{result}");
}

#[test]
fn temporary_credentials_never_show() {
    let sim = Sim::start(SimOptions {
        auth: Auth::Token("unused-token".into()),
        export_seconds: 0.2,
        credential_ttl: Some(Duration::from_secs(60)),
        ..SimOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("logs");
    let mut command = clouddc(["-vvv", "--endpoint", &sim.url(), "--project-id"]);
    command
        .args([cli::PROJECT, "logs", "collect", "srv-0001", "-o"])
        .arg(&out)
        .env("CLOUDDC_METADATA_ENDPOINT", sim.url());
    let result = scan("metadata", command);
    assert_eq!(result.code, 0, "{result}");
    assert!(sim.stats().metadata_credentials_issued >= 1);
}

#[test]
fn a_proxys_password_never_shows() {
    let sim = Sim::start(SimOptions::default());
    // Nothing listens on port 9: the proxy is unreachable, so the run fails
    // and its errors are scanned too.
    let proxy = format!("http://user:{SENTINEL_PROXY_PASSWORD}@127.0.0.1:9");
    let mut by_flag = clouddc(sim.connection_args());
    by_flag.args(["-vvv", "--proxy", &proxy, "logs", "export", "srv-0001"]);
    let result = scan("--proxy", by_flag);
    assert_eq!(result.code, 1, "{result}");
    let mut by_env = clouddc(sim.connection_args());
    by_env
        .args(["-vvv", "logs", "export", "srv-0001"])
        .env("HTTP_PROXY", &proxy);
    let result = scan("HTTP_PROXY", by_env);
    assert_eq!(result.code, 1, "{result}");
    let mut bad = clouddc(sim.connection_args());
    bad.args([
        "--proxy",
        &proxy.replace("http:", "ftp:"),
        "logs",
        "export",
        "srv-0001",
    ]);
    let result = scan("a bad --proxy", bad);
    assert_eq!(result.code, 2, "{result}");
    assert!(result.stderr.contains("proxy"), "{result}");
    assert_eq!(
        sim.stats().export_requests,
        0,
        "nothing went around the proxy"
    );
}

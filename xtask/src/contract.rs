//! `cargo xtask contract`: the spec, the client and the simulator checked by tools
//! we did not write, all on 127.0.0.1.
//!
//! 1. spec lint: redocly, recommended-strict;
//! 2. client against an independent mock: `prism mock --errors` and the
//!    `contract-client` driver (every operation, forced error codes, a missing
//!    token, no `sl-violations` on any response);
//! 3. both directions through a validating proxy: `prism proxy --errors` in front
//!    of the simulator, the full `clouddc logs collect` through it;
//! 4. server fuzzing: schemathesis against the simulator, all checks;
//! 5. breaking changes: openapi-diff against `openapi/baseline/clouddc.yaml`;
//! 6. the official Python SDK's export, status and download against the simulator;
//! 7. the official Python SDK pages through the simulator's inventory, and its
//!    list equals `clouddc servers list --format json`;
//! 8. `clouddc logs collect` through a real forward proxy (`proxy.py` from PyPI):
//!    by `HTTP_PROXY`, by `--proxy` with the proxy's credentials (never printed),
//!    and past it with `NO_PROXY`, the simulator verifying every AK/SK signature;
//! 9. the official Python SDK and clouddc, each configured only by the same
//!    credentials file, regions file and region: no project id, which both look
//!    up with the simulator's IAM.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Background, free_port};
use crate::{lint, shell, tools, vendor};

/// The project, token and ids the suites use against the simulator.
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "contract-token";

/// How many schemathesis cases per operation, and the time bound of the run.
const FUZZ_EXAMPLES_PER_OPERATION: &str = "200";
const FUZZ_MAX_SECONDS: &str = "240";
/// The fewest generated cases a run must reach to count (issue 6).
const FUZZ_MIN_CASES: u64 = 1000;

fn target_dir() -> PathBuf {
    shell::target_dir().join("contract")
}

fn binary(name: &str) -> PathBuf {
    shell::target_dir().join("debug").join(name)
}

/// Runs every suite; the first failure stops the run with the tool's own report.
/// A suite: it passes, or says what the tool reported.
type Suite = fn() -> Result<(), String>;

/// The suites, in the order `cargo xtask contract` runs them.
const SUITES: [(&str, Suite); 9] = [
    ("spec lint (redocly recommended-strict)", lint::run),
    ("client against prism mock --errors", client_against_mock),
    (
        "logs collect through prism proxy --errors in front of the simulator",
        collect_through_proxy,
    ),
    ("schemathesis against the simulator", fuzz_simulator),
    (
        "breaking changes against openapi/baseline/clouddc.yaml",
        breaking_changes,
    ),
    (
        "the official Python SDK against the simulator (AK/SK)",
        python_sdk_against_simulator,
    ),
    (
        "the official Python SDK's server list equals clouddc's",
        python_sdk_lists_servers,
    ),
    (
        "logs collect through a forward proxy (proxy.py), and past it with NO_PROXY",
        collect_through_forward_proxy,
    ),
    (
        "the official Python SDK and clouddc from a credentials file and a region",
        credentials_file_and_region,
    ),
];

/// Runs every suite, or only suite `only` (1-based: `cargo xtask contract 3`).
pub fn run(only: Option<&str>) -> Result<(), String> {
    let only = match only {
        None => None,
        Some(n) => Some(
            n.parse::<usize>()
                .ok()
                .filter(|n| (1..=SUITES.len()).contains(n))
                .ok_or_else(|| {
                    format!("no contract suite {n:?}; suites are 1 to {}", SUITES.len())
                })?,
        ),
    };
    tools::install_all()?;
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    let root = shell::workspace_root();
    shell::run(shell::cargo(&root).args([
        "build",
        "-p",
        "clouddc-cli",
        "-p",
        "clouddc-drivers",
        "--bins",
    ]))?;
    for (index, (name, suite)) in SUITES.iter().enumerate() {
        if only.is_none_or(|n| n == index + 1) {
            step(&format!("{}/{} {name}", index + 1, SUITES.len()), *suite)?;
        }
    }
    match only {
        None => eprintln!("\ncontract: all {} suites passed", SUITES.len()),
        Some(n) => eprintln!("\ncontract: suite {n} passed"),
    }
    Ok(())
}

fn step(name: &str, suite: fn() -> Result<(), String>) -> Result<(), String> {
    eprintln!("\n==> contract {name}");
    suite().map_err(|e| format!("contract suite {name:?} failed: {e}"))
}

fn prism(args: &[&str], port: u16, log: &str) -> Result<Background, String> {
    let mut command = Command::new(tools::npm_bin("prism"));
    command
        .current_dir(shell::workspace_root())
        .args(args)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    let mut prism = Background::start("prism", &mut command, &target_dir().join(log))?;
    prism.wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(60))?;
    Ok(prism)
}

fn client_against_mock() -> Result<(), String> {
    let port = free_port()?;
    let _prism = prism(
        &["mock", "--errors", clouddc_codegen::SPEC_PATH],
        port,
        "prism-mock.log",
    )?;
    shell::run(Command::new(binary("contract-client")).arg(format!("http://127.0.0.1:{port}")))
}

/// Starts `clouddc sim` with the suites' token and `extra` flags, and
/// returns it with its base URL.
fn simulator(extra: &[&str]) -> Result<(Background, String), String> {
    let mut flags = vec!["--token", TOKEN];
    flags.extend_from_slice(extra);
    simulator_with(&flags)
}

/// Starts `clouddc sim` on a free port with exactly `flags` (besides the
/// address and project).
fn simulator_with(flags: &[&str]) -> Result<(Background, String), String> {
    let mut command = process::simulator(Command::new(binary("clouddc")), PROJECT);
    command.args(flags);
    Background::start_listening("clouddc sim", &mut command, Duration::from_secs(30))
}

fn collect_through_proxy() -> Result<(), String> {
    let (_sim, sim_url) = simulator(&["--export-seconds", "1", "--archive-bytes", "65536"])?;
    let port = free_port()?;
    let _prism = prism(
        &["proxy", "--errors", clouddc_codegen::SPEC_PATH, &sim_url],
        port,
        "prism-proxy.log",
    )?;
    // prism corrupts binary bodies (see crates/clouddc-drivers/src/bin/contract_tee_proxy.rs):
    // the tee sends every request through prism and serves archives intact.
    let prism_url = format!("http://127.0.0.1:{port}");
    let mut tee = Command::new(binary("contract-tee-proxy"));
    tee.args([&prism_url, &sim_url]);
    let (_tee, tee_url) =
        Background::start_listening("contract-tee-proxy", &mut tee, Duration::from_secs(30))?;
    let out = target_dir().join("proxy-logs");
    let _ = std::fs::remove_dir_all(&out);
    let connection = [
        "--endpoint",
        &tee_url,
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
    ];
    // The inventory operations, both directions validated: every page of
    // servers, one server, and the alarms of the last 30 days.
    for inventory in [
        &["servers", "list", "--health", "OK"][..],
        &["servers", "show", "srv-0002"],
        &[
            "logs",
            "collect",
            "--all",
            "--alarmed",
            "--since",
            "30d",
            "--dry-run",
        ],
    ] {
        let output = Command::new(binary("clouddc"))
            .args(connection)
            .args(inventory)
            .output()
            .map_err(|e| format!("cannot run clouddc: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "clouddc {} through the proxy failed ({}):\n{}",
                inventory.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    // The default simulator's 16 servers, of which these four are Critical or
    // Warning: the export flow for ids given, from the inventory, and both.
    let servers = ["srv-0001", "srv-0002", "srv-0003", "srv-0004", "srv-0008"];
    let output = Command::new(binary("clouddc"))
        .args(connection)
        .args([
            "--format", "json", "logs", "collect", "srv-0001", "srv-0002", "srv-0003",
        ])
        .args(["--all", "--health", "Critical", "--health", "Warning"])
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run clouddc: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "clouddc logs collect through the proxy failed ({}):\n{stdout}\n{}\nprism log: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            target_dir().join("prism-proxy.log").display()
        ));
    }
    let ok = stdout.matches("\"status\":\"ok\"").count();
    if ok != servers.len() {
        return Err(format!(
            "expected {} archives, got {ok}:\n{stdout}",
            servers.len()
        ));
    }
    let violations = count_in_file(&target_dir().join("prism-proxy.log"), "Violation")?;
    if violations > 0 {
        return Err(format!(
            "prism reported {violations} violations; see {}",
            target_dir().join("prism-proxy.log").display()
        ));
    }
    let seen = count_in_file(&target_dir().join("prism-proxy.log"), "Request received")?;
    // Each server needs at least an export, a status call and a download.
    if seen < 3 * servers.len() + 3 {
        return Err(format!(
            "prism saw only {seen} requests for {} servers; the flow bypassed it",
            servers.len()
        ));
    }
    eprintln!(
        "proxy: {} servers collected, {seen} requests validated by prism, 0 violations in either direction",
        servers.len()
    );
    Ok(())
}

/// Occurrences of `needle` in the file, ignoring case (prism writes both
/// `Violation` and `VIOLATIONS`).
fn count_in_file(path: &Path, needle: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text.to_lowercase().matches(&needle.to_lowercase()).count())
}

fn fuzz_simulator() -> Result<(), String> {
    // Generous limits: the fuzzer must see real behaviour, not a throttled wall.
    let (_sim, sim_url) = simulator(&[
        "--export-seconds",
        "1",
        "--archive-bytes",
        "4096",
        "--rate-limit",
        "100000",
    ])?;
    let root = shell::workspace_root();
    let output = Command::new(tools::venv_bin("st"))
        .current_dir(&root)
        .args([
            "--config-file",
            "openapi/schemathesis.toml",
            "run",
            clouddc_codegen::SPEC_PATH,
        ])
        .args(["--url", &sim_url])
        .args(["--header", &format!("X-Auth-Token: {TOKEN}")])
        .args(["--checks", "all", "--seed", "20261123"])
        .args([
            "--max-examples",
            FUZZ_EXAMPLES_PER_OPERATION,
            "--max-time",
            FUZZ_MAX_SECONDS,
        ])
        .args(["--workers", "2", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(target_dir().join("schemathesis"))
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .map_err(|e| format!("cannot run schemathesis: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("test cases") || l.contains("passed") || l.contains("failed"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    if !output.status.success() {
        return Err(format!(
            "schemathesis reported failures:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // "  30429 generated, 30429 passed, 9 skipped". The "skipped" are cases
    // without checks of their own: the `ignored_auth` check's probes (no
    // token, a wrong token, a wrong `Authorization`; three per operation,
    // each answered 401), as `--report ndjson` shows.
    // The first line that starts with a count: warnings also say "generated".
    let generated = stdout
        .lines()
        .find_map(|l| {
            let (n, _) = l.trim().split_once(" generated")?;
            n.trim().parse::<u64>().ok()
        })
        .ok_or_else(|| format!("no case count in schemathesis's output:\n{stdout}"))?;
    if generated < FUZZ_MIN_CASES {
        return Err(format!(
            "schemathesis generated only {generated} cases; at least {FUZZ_MIN_CASES} are required"
        ));
    }
    eprintln!("schemathesis: {generated} cases, 0 failures");
    Ok(())
}

fn breaking_changes() -> Result<(), String> {
    let root = shell::workspace_root();
    let output = Command::new(tools::npm_bin("openapi-diff"))
        .current_dir(&root)
        .args(["openapi/baseline/clouddc.yaml", clouddc_codegen::SPEC_PATH])
        .output()
        .map_err(|e| format!("cannot run openapi-diff: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "breaking change against the baseline:\n{stdout}\n{}\nIf it is intended, run `cargo xtask baseline` in the same change.",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    eprintln!("{}", stdout.lines().take(5).collect::<Vec<_>>().join("\n"));
    Ok(())
}

/// The official SDK, unmodified, pages through 2,500 servers 1,000 at a time and
/// 35 servers 10 at a time (3 and 4 pages), and its list must equal
/// `clouddc servers list --format json` field for field.
fn python_sdk_lists_servers() -> Result<(), String> {
    const AK: &str = "SDKLISTAK";
    const SK: &str = "sdk-list-sk";
    let python = vendor::pinned_python()?;
    let script = shell::workspace_root().join("xtask/vendor/sdk_list_servers.py");
    for (servers, limit) in [("2500", "1000"), ("35", "10")] {
        let (_sim, url) = simulator_with(&["--ak", AK, "--sk", SK, "--servers", servers])?;
        let sdk = Command::new(&python)
            .arg(&script)
            .args([url.as_str(), AK, SK, PROJECT, limit])
            .output()
            .map_err(|e| format!("cannot run the Python SDK: {e}"))?;
        if !sdk.status.success() {
            return Err(format!(
                "the official SDK could not list the servers:\n{}",
                String::from_utf8_lossy(&sdk.stderr)
            ));
        }
        let ours = Command::new(binary("clouddc"))
            .args([
                "--endpoint",
                &url,
                "--project-id",
                PROJECT,
                "--ak",
                AK,
                "--sk",
                SK,
            ])
            .args(["--format", "json", "servers", "list"])
            .output()
            .map_err(|e| format!("cannot run clouddc: {e}"))?;
        if !ours.status.success() {
            return Err(format!(
                "clouddc servers list failed:\n{}",
                String::from_utf8_lossy(&ours.stderr)
            ));
        }
        let sdk_file = target_dir().join(format!("sdk-list-{servers}.json"));
        let ours_file = target_dir().join(format!("clouddc-list-{servers}.json"));
        for (path, bytes) in [(&sdk_file, &sdk.stdout), (&ours_file, &ours.stdout)] {
            std::fs::write(path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        let compare = Command::new(&python)
            .args(["-c", COMPARE_LISTS_PY])
            .arg(&sdk_file)
            .arg(&ours_file)
            .output()
            .map_err(|e| format!("cannot run python: {e}"))?;
        let verdict = String::from_utf8_lossy(&compare.stdout);
        if !compare.status.success() {
            return Err(format!(
                "the official SDK's list and clouddc's differ ({servers} servers):\n{verdict}{}",
                String::from_utf8_lossy(&compare.stderr)
            ));
        }
        eprintln!(
            "sdk list: {servers} servers at limit {limit}: {}",
            verdict.trim()
        );
    }
    Ok(())
}

/// Compares the SDK's `{"servers", "pages"}` with clouddc's `{"servers"}`.
const COMPARE_LISTS_PY: &str = r#"
import json, sys
sdk, ours = (json.load(open(path)) for path in sys.argv[1:3])
assert sdk["pages"] >= 3, f"only {sdk['pages']} pages"
assert sdk["servers"] == ours["servers"], next(
    (a, b) for a, b in zip(sdk["servers"], ours["servers"]) if a != b
) if len(sdk["servers"]) == len(ours["servers"]) else (len(sdk["servers"]), len(ours["servers"]))
print(f"{len(sdk['servers'])} servers in {sdk['pages']} pages, equal field for field")
"#;

/// `cargo xtask baseline`: makes the current spec the released baseline.
pub fn update_baseline() -> Result<(), String> {
    let root = shell::workspace_root();
    std::fs::copy(
        root.join(clouddc_codegen::SPEC_PATH),
        root.join("openapi/baseline/clouddc.yaml"),
    )
    .map_err(|e| format!("cannot copy the spec to the baseline: {e}"))?;
    eprintln!(
        "openapi/baseline/clouddc.yaml now equals {}",
        clouddc_codegen::SPEC_PATH
    );
    Ok(())
}

/// Checks that a `tar.gz` unpacks and that its `MANIFEST.sha256` matches every
/// other member, with Python's own `tarfile` and `hashlib`.
const VERIFY_ARCHIVE_PY: &str = r#"
import hashlib, sys, tarfile
members, manifest = {}, None
with tarfile.open(sys.argv[1], "r:gz") as archive:
    for member in archive.getmembers():
        data = archive.extractfile(member).read()
        if member.name.endswith("MANIFEST.sha256"):
            manifest = data.decode()
        else:
            members[member.name] = hashlib.sha256(data).hexdigest()
listed = dict(reversed(line.split("  ", 1)) for line in manifest.splitlines())
assert listed == {name: digest for name, digest in members.items()}, (listed, members)
print(f"{len(members)} members match the manifest")
"#;

/// The vendor's own client, unmodified, runs export, status and download
/// against the simulator with AK/SK, in the documented and example dialects.
fn python_sdk_against_simulator() -> Result<(), String> {
    const AK: &str = "PEERACCESSKEY";
    const SK: &str = "peer-secret-key";
    let peer = tools::install_peer()?;
    for dialect in ["documented", "example", "integer"] {
        let (_sim, url) = simulator_with(&[
            "--ak",
            AK,
            "--sk",
            SK,
            "--dialect",
            dialect,
            "--export-seconds",
            "2",
            "--archive-bytes",
            "1048576",
        ])?;
        let out = target_dir().join(format!("peer-{dialect}.tar.gz"));
        let _ = std::fs::remove_file(&out);
        let output = Command::new(&peer.python)
            .arg(&peer.script)
            .args([
                "--endpoint",
                &url,
                "--ak",
                AK,
                "--sk",
                SK,
                "--project-id",
                PROJECT,
            ])
            .args([
                "--server-id",
                "srv-peer",
                "--poll-interval",
                "0.5",
                "--max-wait",
                "60",
            ])
            .arg("--out")
            .arg(&out)
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
            .output()
            .map_err(|e| format!("cannot run the Python peer: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "the official Python SDK failed against the simulator ({dialect}, {}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let verified = Command::new(&peer.python)
            .args(["-c", VERIFY_ARCHIVE_PY])
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run python: {e}"))?;
        if !verified.status.success() {
            return Err(format!(
                "the archive the Python SDK downloaded ({dialect}) does not check out:\n{}",
                String::from_utf8_lossy(&verified.stderr)
            ));
        }
        eprintln!(
            "peer: {dialect}: export, {} status calls, download; {}",
            stdout.matches("] status ").count(),
            String::from_utf8_lossy(&verified.stdout).trim()
        );
    }
    Ok(())
}

/// `clouddc logs collect` with AK/SK through `proxy.py`, a forward proxy from
/// PyPI (pinned in `tools/python/requirements.txt`): its access log must list
/// the CloudDC requests (so they went through it) and the simulator must have
/// verified every signature (exit 0, nothing unauthenticated); with `NO_PROXY`
/// naming the simulator's host the log gains nothing. The proxy's password in
/// `--proxy` never appears in clouddc's output, even at `-vvv`.
fn collect_through_forward_proxy() -> Result<(), String> {
    const AK: &str = "PROXYACCESSKEY";
    const SK: &str = "proxy-suite-secret-key";
    const PROXY_PASSWORD: &str = "proxy-password-sentinel";
    let python = tools::sdk_python()?;
    let proxy_bin = python.with_file_name("proxy");
    let (_sim, sim_url) = simulator_with(&["--ak", AK, "--sk", SK, "--export-seconds", "1"])?;
    let collect = |name: &str, proxy_port: u16, extra: &[&str], env: &[(&str, String)]| {
        let out = target_dir().join(format!("forward-proxy-{name}"));
        let _ = std::fs::remove_dir_all(&out);
        let mut command = Command::new(binary("clouddc"));
        for variable in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(variable);
        }
        command
            .args(["-vvv", "--endpoint", &sim_url, "--project-id", PROJECT])
            .args(["--ak", AK, "--sk", SK])
            .args(extra)
            .args(["logs", "collect", "srv-0001", "srv-0002", "-o"])
            .arg(&out)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let output = command
            .output()
            .map_err(|e| format!("cannot run clouddc: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(format!(
                "{name}: clouddc failed through port {proxy_port}:\n{text}"
            ));
        }
        if text.contains(PROXY_PASSWORD) || text.contains(SK) {
            return Err(format!("{name}: a secret was printed:\n{text}"));
        }
        Ok(())
    };
    let start_proxy =
        |name: &str, auth: Option<&str>| -> Result<(Background, u16, PathBuf), String> {
            let port = free_port()?;
            let log = target_dir().join(format!("forward-proxy-{name}.log"));
            let mut command = Command::new(&proxy_bin);
            command.args(["--hostname", "127.0.0.1", "--port", &port.to_string()]);
            command.args(["--num-acceptors", "1", "--num-workers", "1"]);
            if let Some(auth) = auth {
                command.args(["--basic-auth", auth]);
            }
            let mut proxy = Background::start("proxy.py", &mut command, &log)?;
            proxy.wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(30))?;
            Ok((proxy, port, log))
        };
    // proxy.py logs an access line per client connection, naming its first
    // request: `127.0.0.1:PORT - POST 127.0.0.1:SIM/v1/... - 202 Accepted - ...`.
    // Each server's export opens a connection of its own (two at once).
    let forwarded = |log: &Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("access_log") && line.contains("/physicalservers/"))
            .count()
    };
    let settle = || std::thread::sleep(Duration::from_millis(500));

    let (proxy, port, log) = start_proxy("env", None)?;
    collect(
        "env",
        port,
        &[],
        &[("HTTP_PROXY", format!("http://127.0.0.1:{port}"))],
    )?;
    settle();
    let through_env = forwarded(&log);
    if through_env < 2 {
        return Err(format!(
            "HTTP_PROXY: proxy.py forwarded {through_env} CloudDC connections, expected one per \
             server at least (see {})",
            log.display()
        ));
    }
    collect(
        "no-proxy",
        port,
        &[],
        &[
            ("HTTP_PROXY", format!("http://127.0.0.1:{port}")),
            ("NO_PROXY", "127.0.0.1".into()),
        ],
    )?;
    settle();
    if forwarded(&log) != through_env {
        return Err(format!(
            "NO_PROXY: requests still went through proxy.py (see {})",
            log.display()
        ));
    }
    drop(proxy);

    let (_proxy, port, log) = start_proxy("flag", Some(&format!("clouddc:{PROXY_PASSWORD}")))?;
    let flag = format!("http://clouddc:{PROXY_PASSWORD}@127.0.0.1:{port}");
    collect("flag", port, &["--proxy", &flag], &[])?;
    settle();
    let through_flag = forwarded(&log);
    if through_flag < 2 {
        return Err(format!(
            "--proxy: proxy.py forwarded {through_flag} CloudDC connections (see {})",
            log.display()
        ));
    }
    eprintln!(
        "forward proxy: {through_env} connections by HTTP_PROXY, {through_flag} by --proxy with credentials, none with NO_PROXY"
    );
    Ok(())
}

/// The official Python SDK, unmodified, and clouddc, each given only the same
/// `HUAWEICLOUD_SDK_CREDENTIALS_FILE` (`[basic]` ak, sk and `iam_endpoint`),
/// `HUAWEICLOUD_SDK_REGIONS_FILE` (CloudDC's `cn-east-3` at the simulator)
/// and the region: both find the project with the simulator's IAM and run
/// the whole flow, every request signed and verified.
fn credentials_file_and_region() -> Result<(), String> {
    const AK: &str = "FILEACCESSKEY";
    const SK: &str = "file-secret-key-sentinel";
    let peer = tools::install_peer()?;
    let (sim, url) = simulator_with(&["--ak", AK, "--sk", SK, "--export-seconds", "1"])?;
    let dir = target_dir().join("credentials-file");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let credentials = dir.join("credentials");
    let regions = dir.join("regions.yaml");
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(
        &credentials,
        format!("[basic]\nak = {AK}\nsk = {SK}\niam_endpoint = {url}\n"),
    )?;
    write(
        &regions,
        format!("CLOUDDC:\n  - id: cn-east-3\n    endpoint: {url}\n"),
    )?;
    let configure = |command: &mut Command| {
        for variable in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            "HUAWEICLOUD_SDK_IAM_ENDPOINT",
            "CLOUDDC_ENDPOINT",
            "CLOUDDC_REGION",
            "CLOUDDC_AUTH_TOKEN",
            "HTTP_PROXY",
            "http_proxy",
        ] {
            command.env_remove(variable);
        }
        command
            .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &credentials)
            .env("HUAWEICLOUD_SDK_REGIONS_FILE", &regions);
    };
    let mut python = Command::new(&peer.python);
    python
        .arg(&peer.script)
        .args([
            "--region",
            "cn-east-3",
            "--server-id",
            "srv-file",
            "--poll-interval",
            "0.5",
        ])
        .args(["--max-wait", "60", "--out"])
        .arg(dir.join("peer.tar.gz"));
    configure(&mut python);
    let mut clouddc = Command::new(binary("clouddc"));
    clouddc
        .args([
            "-v",
            "--region",
            "cn-east-3",
            "logs",
            "collect",
            "srv-file",
            "-o",
        ])
        .arg(dir.join("clouddc"));
    configure(&mut clouddc);
    for (name, command) in [("the Python SDK", &mut python), ("clouddc", &mut clouddc)] {
        let output = command
            .output()
            .map_err(|e| format!("cannot run {name}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(format!("{name} failed from the credentials file:\n{text}"));
        }
        if text.contains(SK) {
            return Err(format!("{name} printed the file's SK:\n{text}"));
        }
    }
    if !dir.join("clouddc/srv-file-dump.tar.gz").exists() || !dir.join("peer.tar.gz").exists() {
        return Err(format!("an archive is missing in {}", dir.display()));
    }
    drop(sim);
    eprintln!(
        "credentials file: the Python SDK and clouddc each looked the project up with IAM and collected"
    );
    Ok(())
}

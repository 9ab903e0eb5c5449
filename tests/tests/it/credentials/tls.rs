//! TLS the way corporate networks need it: the simulator serves HTTPS with a
//! certificate from a CA it makes at start (`clouddc sim --tls`); clouddc
//! refuses it with an error naming `--ca-bundle` until the CA is trusted, by
//! `--ca-bundle` or by `SSL_CERT_FILE`, and then collects.
//!
//! (The forward proxy is tested against a real proxy server, `proxy.py`, in
//! `cargo xtask contract`'s suite 8: it needs the Python tools.)

use crate::support::cli;

use cli::{PROJECT, TOKEN, clouddc, run_command};

struct TlsSim {
    handle: Option<clouddc_sim::SimHandle>,
    runtime: tokio::runtime::Runtime,
}

impl TlsSim {
    fn start() -> TlsSim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config = clouddc_sim::SimConfig {
            project_id: PROJECT.into(),
            export_duration: std::time::Duration::from_millis(200),
            archive_bytes: 16 * 1024,
            tls: true,
            ..clouddc_sim::SimConfig::default()
        };
        config.tokens.push(TOKEN.into());
        let handle = runtime
            .block_on(clouddc_sim::Simulator::start(config))
            .unwrap();
        TlsSim {
            handle: Some(handle),
            runtime,
        }
    }

    fn handle(&self) -> &clouddc_sim::SimHandle {
        self.handle.as_ref().unwrap()
    }
}

impl Drop for TlsSim {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

#[test]
fn an_untrusted_certificate_names_the_fix_and_a_trusted_one_works() {
    let sim = TlsSim::start();
    let url = sim.handle().base_url().to_owned();
    assert!(url.starts_with("https://"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let authority = sim
        .handle()
        .tls_authority()
        .expect("a TLS simulator has a CA");
    std::fs::write(&ca, &authority.ca_pem).unwrap();
    let connection = [
        "--endpoint",
        &url,
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
    ];

    let mut untrusted = clouddc(connection);
    untrusted.args(["logs", "export", "srv-0001"]);
    let result = run_command(untrusted);
    assert_eq!(result.code, 1, "{result}");
    assert!(result.stderr.contains("certificate"), "{result}");
    assert!(result.stderr.contains("--ca-bundle"), "{result}");
    assert_eq!(sim.handle().stats().export_requests, 0);

    let out = dir.path().join("by-flag");
    let mut by_flag = clouddc(connection);
    by_flag
        .arg("--ca-bundle")
        .arg(&ca)
        .args(["logs", "collect", "srv-0001", "-o"])
        .arg(&out);
    let result = run_command(by_flag);
    assert_eq!(result.code, 0, "{result}");
    assert!(out.join("srv-0001-dump.tar.gz").exists());

    let out = dir.path().join("by-variable");
    let mut by_variable = clouddc(connection);
    by_variable
        .args(["logs", "collect", "srv-0002", "-o"])
        .arg(&out)
        .env("SSL_CERT_FILE", &ca);
    let result = run_command(by_variable);
    assert_eq!(result.code, 0, "{result}");
    assert!(out.join("srv-0002-dump.tar.gz").exists());
}

#[test]
fn clouddc_sim_tls_prints_its_ca_which_clients_then_trust() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = std::process::Command::new(cli::binary())
        .args(["sim", "--tls", "--addr", "127.0.0.1:0", "--token", TOKEN])
        .args(["--project-id", PROJECT, "--export-seconds", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _watchdog = cli::watchdog(&child);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut listening = String::new();
    stdout.read_line(&mut listening).unwrap();
    let url = listening
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{listening}"))
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    // The CA line follows the summary on stderr; read it as it comes.
    let (lines, received) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let ca_line = std::iter::from_fn(|| {
        received
            .recv_timeout(std::time::Duration::from_secs(20))
            .ok()
    })
    .find(|line| line.contains("--ca-bundle"))
    .expect("a line naming the CA");
    let path = ca_line
        .rsplit("--ca-bundle ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        path.contains("clouddc-sim-ca-") && path.ends_with(".pem"),
        "{ca_line}"
    );
    let mut command = clouddc([
        "--endpoint",
        &url,
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
    ]);
    command.args(["--ca-bundle", &path, "logs", "export", "srv-0001"]);
    let result = run_command(command);
    assert_eq!(result.code, 0, "{result}");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        !std::path::Path::new(&path).exists(),
        "the CA file is removed at exit"
    );
}

//! No secret leaves the library: sentinel tokens, SKs and security tokens go
//! through every builder, the environment, successful flows and every error
//! path the library has (bad input, bad credentials, 401s, 404s, transport
//! failures, retries), with every `tracing` event and `log` record of the
//! process captured at trace level (the client's, reqwest's, hyper's, rustls'
//! and the in-process simulator's). `Debug`, `{:#?}`, `Display`, each error's
//! source chain and the captured logs must not contain any sentinel.
//!
//! The capture is process-wide and the environment is read, so the test runs
//! in a child process of its own ([`child`]), its environment set by the parent.
//! (The command line is scanned by the CLI's own `cli_secrets.rs`.)

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::child;

use clouddc::{Client, ClientBuilder, CollectOptions, DownloadOptions, Error, RetryPolicy, Secret};
use clouddc_sim::{SimConfig, Simulator};
use futures::StreamExt;

const SENTINEL_TOKEN: &str = "sentinel-lib-token-3c9f1a";
const SENTINEL_SK: &str = "sentinel-lib-sk-7e4d2b";
const SENTINEL_STS: &str = "sentinel-lib-sts-51a0ce";
const SENTINELS: &[&str] = &[SENTINEL_TOKEN, SENTINEL_SK, SENTINEL_STS, "sentinel-lib"];
const AK: &str = "AKLIBSECRETS";

/// Everything logged in the process.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// `log` records (reqwest and rustls use `log`, not `tracing`) into the capture.
struct LogCapture(Capture);

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!(
            "log {} {}: {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        self.0.0.lock().unwrap().extend_from_slice(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Fails naming `what` if `text` holds a sentinel.
fn assert_clean(what: &str, text: &str) {
    for sentinel in SENTINELS {
        assert!(
            !text.contains(sentinel),
            "{what}: {sentinel} appears in:\n{text}"
        );
    }
}

/// Every rendering of an error and of its causes.
fn assert_error_clean(what: &str, error: &Error) {
    assert_clean(what, &format!("{error}"));
    assert_clean(what, &format!("{error:?}"));
    assert_clean(what, &format!("{error:#?}"));
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        assert_clean(what, &format!("{cause} / {cause:?}"));
        source = cause.source();
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        deadline: Duration::from_secs(10),
    }
}

/// The environment `ClientBuilder::from_env` reads in the child.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("CLOUDDC_AUTH_TOKEN", SENTINEL_TOKEN),
    ("HUAWEICLOUD_SDK_AK", AK),
    ("HUAWEICLOUD_SDK_SK", SENTINEL_SK),
    ("HUAWEICLOUD_SDK_SECURITY_TOKEN", SENTINEL_STS),
    (
        "HUAWEICLOUD_SDK_PROJECT_ID",
        clouddc_sim::DEFAULT_PROJECT_ID,
    ),
    ("CLOUDDC_ENDPOINT", "http://127.0.0.1:1"),
];

#[test]
fn no_secret_in_debug_display_errors_or_trace_logs() {
    const NAME: &str = "no_secret_in_debug_display_errors_or_trace_logs";
    if !child::is_child(module_path!(), NAME) {
        let mut command = child::command(module_path!(), NAME);
        command.envs(ENVIRONMENT.iter().copied());
        let text = child::output(command);
        assert!(text.contains("scanned "), "{text}");
        assert_clean("the child's output", &text);
        return;
    }
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let logger: &'static LogCapture = Box::leak(Box::new(LogCapture(capture.clone())));
    log::set_logger(logger).expect("the only logger");
    log::set_max_level(log::LevelFilter::Trace);

    let from_env = ClientBuilder::from_env();
    assert_clean("from_env builder", &format!("{from_env:?} {from_env:#?}"));
    let client = from_env.build().expect("the environment is complete");
    assert_clean("from_env client", &format!("{client:?} {client:#?}"));
    assert_clean("generated client", &format!("{:?}", client.generated()));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let errors = runtime.block_on(scenarios());
    assert!(errors.len() >= 12, "{} error paths ran", errors.len());
    for (what, error) in &errors {
        assert_error_clean(what, error);
    }

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    // The capture works: it holds the client's, the simulator's and reqwest's
    // own lines, at debug and trace level.
    for marker in [
        "retrying",
        "simulator listening",
        "served",
        "log DEBUG reqwest",
    ] {
        assert!(logs.contains(marker), "no {marker:?} in the captured logs");
    }
    assert!(
        logs.contains("TRACE"),
        "nothing at trace level was captured"
    );
    assert_clean("trace-level logs", &logs);
    println!(
        "scanned {} error paths and {} KiB of trace logs",
        errors.len(),
        logs.len() / 1024
    );
}

/// Keeps the error `result` must be.
fn record(errors: &mut Vec<(String, Error)>, what: &str, result: Result<(), Error>) {
    match result {
        Ok(()) => panic!("{what}: expected an error"),
        Err(error) => errors.push((what.to_owned(), error)),
    }
}

/// Runs every flow; returns each error produced, named.
async fn scenarios() -> Vec<(String, Error)> {
    let mut errors: Vec<(String, Error)> = Vec::new();

    // Builders with every secret set, and their refusals.
    let full = Client::builder()
        .endpoint("http://127.0.0.1:1")
        .project_id("p")
        .token(SENTINEL_TOKEN)
        .ak_sk(AK, SENTINEL_SK)
        .security_token(SENTINEL_STS);
    assert_clean("builder", &format!("{full:?} {full:#?}"));
    let secret = Secret::new(SENTINEL_SK);
    assert_clean("secret", &format!("{secret} {secret:?}"));
    record(
        &mut errors,
        "AK with a space",
        Client::builder()
            .endpoint("http://127.0.0.1:1")
            .project_id("p")
            .ak_sk("AK WITH SPACE", SENTINEL_SK)
            .build()
            .map(drop),
    );
    record(
        &mut errors,
        "SK without AK",
        Client::builder()
            .endpoint("http://127.0.0.1:1")
            .project_id("p")
            .ak_sk("", SENTINEL_SK)
            .build()
            .map(drop),
    );
    record(
        &mut errors,
        "credentials in the endpoint URL",
        Client::builder()
            .endpoint(format!("http://user:{SENTINEL_TOKEN}@127.0.0.1:1"))
            .project_id("p")
            .token("t")
            .build()
            .map(drop),
    );

    // A token that cannot go in a header, and a security token that cannot be
    // signed: refused before sending.
    let bad_header = Client::builder()
        .endpoint("http://127.0.0.1:1")
        .project_id("p")
        .token(format!("{SENTINEL_TOKEN}\r\nx-injected: 1"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    record(
        &mut errors,
        "token with CRLF",
        bad_header.export("srv").await.map(drop),
    );
    let bad_sts = Client::builder()
        .endpoint("http://127.0.0.1:1")
        .project_id("p")
        .ak_sk(AK, SENTINEL_SK)
        .security_token(format!("{SENTINEL_STS}\n"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    record(
        &mut errors,
        "security token with LF",
        bad_sts.export("srv").await.map(drop),
    );

    // Nothing listening: transport errors, retried.
    for (what, builder) in [
        (
            "unreachable, token",
            Client::builder().token(SENTINEL_TOKEN),
        ),
        (
            "unreachable, AK/SK",
            Client::builder()
                .ak_sk(AK, SENTINEL_SK)
                .security_token(SENTINEL_STS),
        ),
    ] {
        let client = builder
            .endpoint("http://127.0.0.1:1")
            .project_id("p")
            .retry_policy(fast_retries())
            .build()
            .unwrap();
        record(
            &mut errors,
            what,
            client.status("srv", "e1").await.map(drop),
        );
    }

    // The simulator knows the sentinels as the real credentials.
    let sim = Simulator::start(SimConfig {
        tokens: vec![SENTINEL_TOKEN.into()],
        ak_sk: vec![(AK.into(), SENTINEL_SK.into())],
        export_duration: Duration::from_millis(200),
        archive_bytes: 32 * 1024,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_clean("simulator handle", &format!("{sim:?}"));
    let dir = tempfile::tempdir().unwrap();
    let connect = |builder: ClientBuilder| {
        builder
            .endpoint(sim.base_url())
            .project_id(sim.project_id())
            .retry_policy(fast_retries())
            .build()
            .unwrap()
    };
    let token = connect(Client::builder().token(SENTINEL_TOKEN));
    let signed = connect(
        Client::builder()
            .ak_sk(AK, SENTINEL_SK)
            .security_token(SENTINEL_STS),
    );
    for (label, client) in [("token", &token), ("AK/SK", &signed)] {
        // The whole job, with an invalid and an unknown server among the good.
        let options = CollectOptions {
            output_dir: dir.path().to_owned(),
            download: DownloadOptions::default(),
            ..CollectOptions::default()
        };
        let servers = vec![format!("srv-{label}").replace('/', "-"), "..".to_owned()];
        let outcomes: Vec<_> = client.collect(servers, options, None).collect().await;
        assert_eq!(outcomes.len(), 2);
        for outcome in outcomes {
            match outcome.result {
                Ok(_) => assert_ne!(outcome.server, "..", "{label}"),
                Err(error) => {
                    assert_eq!(outcome.server, "..", "{label}: {error}");
                    errors.push((format!("{label} collect {}", outcome.server), error));
                }
            }
        }
        let unknown = client.status("srv-1", "0000000000000000").await;
        record(
            &mut errors,
            &format!("{label} unknown export"),
            unknown.map(drop),
        );
        let download = client
            .download(
                "srv-1",
                "0000",
                dir.path(),
                &DownloadOptions::default(),
                &|_| {},
            )
            .await;
        record(
            &mut errors,
            &format!("{label} unknown archive"),
            download.map(drop),
        );
    }
    // Wrong credentials: the simulator's 401s.
    let wrong_token = connect(Client::builder().token(format!("{SENTINEL_TOKEN}-wrong")));
    record(
        &mut errors,
        "wrong token",
        wrong_token.export("srv").await.map(drop),
    );
    let wrong_sk = connect(Client::builder().ak_sk(AK, format!("{SENTINEL_SK}-wrong")));
    record(
        &mut errors,
        "wrong SK",
        wrong_sk.export("srv").await.map(drop),
    );
    let other_project = Client::builder()
        .endpoint(sim.base_url())
        .project_id("another-project")
        .ak_sk(AK, SENTINEL_SK)
        .build()
        .unwrap();
    record(
        &mut errors,
        "another project",
        other_project.export("srv").await.map(drop),
    );

    // Nothing but the archives was written.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with("-dump.tar.gz"), "{name}");
    }
    sim.shutdown().await;
    errors
}

//! The hostile service of issue 18, items 1 to 4: a redirect never carries a
//! credential to another origin; a string from the service never drives the
//! terminal; the service never names a file; and a JSON answer that trickles
//! in is cut at its total deadline, failing that server alone, from the
//! library and from the command line.
//!
//! The servers are [`raw_http`]'s (hyper will not trickle a body a byte at a
//! time on request).

use crate::support::fs::listing;
use crate::support::raw_http::{self, Reply, Request, Server};
use crate::support::{cli, client};

use std::io::Write as _;
use std::time::{Duration, Instant};

use clouddc::{Client, ClientBuilder, CollectOptions, Error, RetryPolicy, TransportOptions};
use futures::StreamExt;

const PROJECT: &str = "p-hardening";
const TOKEN: &str = "sentinel-redirect-token-5d1";
const SK: &str = "sentinel-redirect-sk-8b2";
const SECURITY_TOKEN: &str = "sentinel-redirect-sts-3f7";
const SENTINELS: &[&str] = &[TOKEN, SK, SECURITY_TOKEN, "sentinel", "hunter2"];

/// A response with this service's request id and an exact `Content-Length`.
fn response(status: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let length = format!("content-length: {}", body.len());
    let mut all: Vec<&str> = headers.iter().map(String::as_str).collect();
    all.push(&length);
    raw_http::response("hard-1", status, &all, body)
}

fn json(status: &str, body: &str) -> Reply {
    Reply::Raw(response(
        status,
        &["content-type: application/json".into()],
        body.as_bytes(),
    ))
}

fn task(export_id: &str, status: &str, percentage: &str) -> String {
    format!(
        r#"{{"export_id":"{export_id}","status":"{status}","percentage":"{percentage}","created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A well-behaved service: exports start, are complete at once, and the
/// archive is a small gzip.
fn well_behaved(request: &Request) -> Reply {
    if request.path.ends_with("/content") {
        Reply::Raw(response(
            "200 OK",
            &["content-type: application/octet-stream".into()],
            &gzip(b"the logs"),
        ))
    } else if request.is_post() {
        json("202 Accepted", &task("e1", "processing", "0"))
    } else {
        json("200 OK", &task("e1", "completed", "100"))
    }
}

fn builder(base_url: &str) -> ClientBuilder {
    client::builder(base_url, PROJECT).retry_policy(RetryPolicy::none())
}

fn assert_no_sentinel(text: &str) {
    for sentinel in SENTINELS {
        assert!(!text.contains(sentinel), "{sentinel} in {text}");
    }
}

/// Runs the three operations against `client`, returning each error.
async fn every_operation(client: &Client, dir: &std::path::Path) -> Vec<Error> {
    let no_progress = |_| {};
    vec![
        client.export("srv-1").await.unwrap_err(),
        client.status("srv-1", "e1").await.unwrap_err(),
        client
            .download("srv-1", "e1", dir, &Default::default(), &no_progress)
            .await
            .unwrap_err(),
    ]
}

#[tokio::test]
async fn no_redirect_is_followed_and_no_credential_reaches_another_origin() {
    // The other origin records everything it is sent, and would answer well.
    let elsewhere = Server::start(well_behaved).await;
    let target = elsewhere.base_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let plain = format!("{target}/v1/{PROJECT}/physicalservers/srv-1/logs/exports");
    let with_userinfo = plain.replace("http://", "http://admin:hunter2@");
    for location in [plain, with_userinfo] {
        for status in [
            "301 Moved Permanently",
            "302 Found",
            "303 See Other",
            "307 Temporary Redirect",
            "308 Permanent Redirect",
        ] {
            let location_header = format!("location: {location}");
            let redirecting = Server::start(move |_| {
                Reply::Raw(response(
                    status,
                    std::slice::from_ref(&location_header),
                    b"",
                ))
            })
            .await;
            let token = builder(&redirecting.base_url).token(TOKEN).build().unwrap();
            let signed = builder(&redirecting.base_url)
                .ak_sk("AKREDIRECT", SK)
                .security_token(SECURITY_TOKEN)
                .build()
                .unwrap();
            for client in [token, signed] {
                for error in every_operation(&client, dir.path()).await {
                    let code: u16 = status[..3].parse().unwrap();
                    match &error {
                        Error::Redirected {
                            status: got,
                            location: Some(shown),
                            ..
                        } => {
                            assert_eq!(*got, code);
                            assert!(shown.starts_with("http://"), "{shown}");
                            assert!(shown.contains(&target[7..]), "{shown}");
                        }
                        other => panic!("{status}: {other:?}"),
                    }
                    assert_eq!(error.request_id(), Some("hard-1"));
                    assert_no_sentinel(&format!("{error} {error:?}"));
                }
            }
            // Every operation reached the redirecting server, with credentials.
            let requests = redirecting.requests();
            assert_eq!(requests.len(), 6, "{status}");
            assert!(
                requests
                    .iter()
                    .any(|r| r.header("x-auth-token") == Some(TOKEN))
            );
        }
    }
    assert_eq!(
        elsewhere.requests(),
        Vec::<Request>::new(),
        "the other origin was contacted"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A service whose export call for `srv-slow` answers its head at once and
/// then its JSON body one byte a second.
fn slow_export_for(request: &Request) -> Reply {
    if request.is_post() && request.path.contains("/srv-slow/") {
        let body = task("e-slow", "processing", "0").into_bytes();
        let head = format!(
            "HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        Reply::Trickle {
            head: head.into_bytes(),
            body,
            every: Duration::from_secs(1),
        }
    } else {
        well_behaved(request)
    }
}

fn deadline_client(base_url: &str, request_timeout: Duration) -> Client {
    builder(base_url)
        .token(TOKEN)
        .transport(TransportOptions {
            // Longer than the test: only the total deadline can end the call.
            read_timeout: Duration::from_secs(60),
            request_timeout,
            ..TransportOptions::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_trickling_json_answer_is_cut_at_the_request_deadline() {
    let server = Server::start(slow_export_for).await;
    let client = deadline_client(&server.base_url, Duration::from_secs(2));
    let started = Instant::now();
    let error = client.export("srv-slow").await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&error, Error::Timeout { what, after } if what.contains("ExportServerLogs") && *after == Duration::from_secs(2)),
        "{error:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The export call is not repeated: the first may have created a task.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_stalled_server_is_failed_and_its_slot_released_the_others_go_on() {
    let server = Server::start(slow_export_for).await;
    let client = deadline_client(&server.base_url, Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        output_dir: dir.path().to_owned(),
        // One export slot: the stalled call must give it back.
        concurrency: 1,
        export_attempts: 1,
        ..CollectOptions::default()
    };
    let servers = vec!["srv-slow".to_string(), "srv-a".into(), "srv-b".into()];
    let started = Instant::now();
    let outcomes: Vec<_> = tokio::time::timeout(
        Duration::from_secs(20),
        client.collect(servers, options, None).collect(),
    )
    .await
    .expect("the fleet finishes");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(outcomes.len(), 3);
    for outcome in outcomes {
        match outcome.server.as_str() {
            "srv-slow" => assert!(
                matches!(outcome.result, Err(Error::Timeout { .. })),
                "{:?}",
                outcome.result
            ),
            _ => assert!(outcome.result.is_ok(), "{:?}", outcome.result),
        }
    }
}

/// An error and its causes, as one string.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn an_answer_over_the_cap_names_the_real_url() {
    // 2 MiB of a JSON string, its length undeclared (the connection's end
    // ends it): past the 1 MiB cap.
    let server = Server::start(|_| {
        let mut body = br#"{"export_id":"e1","status":""#.to_vec();
        body.resize(2 << 20, b'a');
        let mut out =
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n"
                .to_vec();
        out.extend_from_slice(&body);
        Reply::Raw(out)
    })
    .await;
    let client = builder(&server.base_url).token(TOKEN).build().unwrap();
    let error = client.status("srv-1", "e1").await.unwrap_err();
    let text = chain(&error);
    assert!(!text.contains("no.url.provided"), "{text}");
    assert!(text.contains(&server.base_url[7..]), "{text}");
}

/// The terminal attack of the review: a title, a colour, a carriage return.
const HOSTILE_TEXT: &str = "\u{1b}]0;PWNED\u{7}\u{1b}[31mprocessing\rFAKE";

/// Runs `clouddc ARGS` against `base_url` with a token, off the runtime.
async fn cli(base_url: &str, args: &[&str]) -> cli::RunResult {
    let mut all: Vec<String> = [
        "--endpoint",
        base_url,
        "--project-id",
        PROJECT,
        "--token",
        TOKEN,
    ]
    .map(String::from)
    .to_vec();
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || cli::run(&all))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_strings_reach_the_terminal_cleaned_and_json_exact() {
    let status = HOSTILE_TEXT
        .replace('\u{1b}', "\\u001b")
        .replace('\u{7}', "\\u0007")
        .replace('\r', "\\r");
    let body = format!(
        r#"{{"export_id":"e1\n2","status":"{status}","percentage":"{status}","created_at":"2026-01-01T00:00:00Z"}}"#
    );
    let server = Server::start(move |_| json("200 OK", &body)).await;
    for args in [
        &["logs", "status", "srv-1", "e1"][..],
        &["logs", "export", "srv-1"],
    ] {
        let result = cli(&server.base_url, args).await;
        assert_eq!(result.code, 0, "{result}");
        for output in [&result.stdout, &result.stderr] {
            assert!(
                !output.chars().any(|c| c.is_control() && c != '\n'),
                "{args:?}: {output:?}"
            );
        }
        // One line a field: the newline in the export id did not split one.
        assert_eq!(result.stdout.lines().count(), 5, "{result}");
        assert!(result.stdout.contains("processing FAKE"), "{result}");
    }
    // JSON keeps the values exact; its escaping is the sanitiser.
    let result = cli(
        &server.base_url,
        &["logs", "status", "srv-1", "e1", "--format", "json"],
    )
    .await;
    let document = cli::json(&result.stdout);
    assert_eq!(document["status"], HOSTILE_TEXT);
    assert_eq!(document["export_id"], "e1\n2");
    assert_eq!(document["percentage"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_request_timeout_flag_bounds_a_trickling_export() {
    let server = Server::start(slow_export_for).await;
    let started = Instant::now();
    let result = cli(
        &server.base_url,
        &["logs", "export", "srv-slow", "--request-timeout", "2s"],
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(15), "{result}");
    assert_eq!(result.code, 1, "{result}");
    assert!(result.stderr.contains("timed out after 2s"), "{result}");
    assert!(result.stderr.contains("ExportServerLogs"), "{result}");
}

#[tokio::test]
async fn one_servers_answer_can_never_name_or_displace_another_servers_file() {
    // Every archive claims a name: another server's, a script, a dotfile.
    let server = Server::start(|request| {
        let path = &request.path;
        if !path.ends_with("/content") {
            return well_behaved(request);
        }
        let claimed = if path.contains("/srv-b/") {
            "srv-a-dump.tar.gz"
        } else if path.contains("/srv-c/") {
            "evil.sh"
        } else {
            ".bashrc"
        };
        let body = gzip(path.as_bytes());
        Reply::Raw(response(
            "200 OK",
            &[format!(
                "content-disposition: attachment; filename={claimed}"
            )],
            &body,
        ))
    })
    .await;
    let client = builder(&server.base_url).token(TOKEN).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        output_dir: dir.path().to_owned(),
        ..CollectOptions::default()
    };
    let servers = vec!["srv-a".to_string(), "srv-b".into(), "srv-c".into()];
    let outcomes: Vec<_> = client.collect(servers, options, None).collect().await;
    for outcome in &outcomes {
        let got = outcome.result.as_ref().unwrap();
        assert_eq!(
            got.path,
            dir.path().join(format!("{}-dump.tar.gz", outcome.server))
        );
        // Each file holds its own server's archive.
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&got.path).unwrap()),
            &mut text,
        )
        .unwrap();
        assert!(text.contains(&format!("/{}/", outcome.server)), "{text}");
    }
    let names = listing(dir.path());
    assert_eq!(
        names,
        [
            "srv-a-dump.tar.gz",
            "srv-b-dump.tar.gz",
            "srv-c-dump.tar.gz"
        ]
    );
}

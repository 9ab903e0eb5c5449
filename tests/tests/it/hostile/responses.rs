//! Hostile and broken server responses against the real client: each gets a
//! typed error or a documented tolerant result, never a panic, never a hang past
//! its deadline, and nothing written outside the chosen directory.
//!
//! The server here is raw TCP on 127.0.0.1, not axum: hyper refuses to send a
//! lying `Content-Length`, a non-UTF-8 header or a body that ends early, which
//! are exactly the answers to test. Each connection gets one response and is
//! closed; every connection task is bounded by [`CONNECTION_LIMIT`].
//!
//! Two cases need a process of their own, run by re-executing this test binary
//! with [`CHILD`] set: a full disk (a file-size limit, `RLIMIT_FSIZE`, set only in
//! the child: a tmpfs would need root, and `/dev/full` cannot stand in for a
//! directory) and a read-only directory (run as `nobody` when the tests run as
//! root, whom permissions do not stop).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::child;

use clouddc::{
    Client, DownloadOptions, Error, LowSpeed, RetryPolicy, StatusKind, TransportOptions,
    WaitOptions,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PROJECT: &str = "p-hostile";
/// Every connection of the hostile server ends within this.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);
/// Marks a child process run by [`in_child`], with the directory it works in.
const CHILD: &str = "CLOUDDC_HOSTILE_CHILD_DIR";

/// A request as the hostile server read it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    /// How many requests for this path came before this one.
    hit: usize,
}

/// What the hostile server answers.
enum Reply {
    /// These bytes, then the connection closes.
    Raw(Vec<u8>),
    /// A head, then `prefix`, then `fill` repeated up to `total` body bytes (or
    /// until the client goes away), counting into `sent`.
    Flood {
        head: Vec<u8>,
        prefix: Vec<u8>,
        fill: u8,
        total: u64,
        sent: Arc<AtomicU64>,
    },
    /// These bytes, then silence for this long, then the connection closes.
    Stall(Vec<u8>, Duration),
    /// A head, then the body one byte every so often, until the client goes
    /// away or [`CONNECTION_LIMIT`] passes.
    Trickle {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// The hostile server: answers each request with `handler`'s reply.
struct Hostile {
    base_url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Hostile {
    async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let accept_hits = hits.clone();
        // Ends with the test's runtime.
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, hits) = (handler.clone(), accept_hits.clone());
                tokio::spawn(tokio::time::timeout(
                    CONNECTION_LIMIT,
                    serve_one(stream, handler, hits),
                ));
            }
        });
        Self { base_url, hits }
    }

    /// How many requests came for `path`.
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Every path requested so far.
    fn paths(&self) -> Vec<String> {
        self.hits.lock().unwrap().keys().cloned().collect()
    }

    fn client(&self) -> Client {
        self.client_with(RetryPolicy::none())
    }

    fn client_with(&self, retry: RetryPolicy) -> Client {
        Client::builder()
            .endpoint(&self.base_url)
            .project_id(PROJECT)
            .token("hostile-token")
            .retry_policy(retry)
            .transport(TransportOptions {
                connect_timeout: Duration::from_secs(5),
                read_timeout: Duration::from_secs(10),
                ..TransportOptions::default()
            })
            .build()
            .expect("the client builds")
    }
}

async fn serve_one(
    mut stream: TcpStream,
    handler: Handler,
    hits: Arc<Mutex<HashMap<String, usize>>>,
) {
    let Some(path) = read_request(&mut stream).await else {
        return;
    };
    let hit = {
        let mut hits = hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    match handler(&Request { path, hit }) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Flood {
            head,
            prefix,
            fill,
            total,
            sent,
        } => {
            if stream.write_all(&head).await.is_err() || stream.write_all(&prefix).await.is_err() {
                return;
            }
            let block = vec![fill; 64 * 1024];
            let mut left = total.saturating_sub(prefix.len() as u64);
            sent.fetch_add(prefix.len() as u64, Ordering::Relaxed);
            // Bounded by `total`, and by the client going away.
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                if stream.write_all(&block[..n]).await.is_err() {
                    return;
                }
                sent.fetch_add(n as u64, Ordering::Relaxed);
                left -= n as u64;
            }
        }
        Reply::Stall(bytes, silence) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            tokio::time::sleep(silence).await;
        }
        Reply::Trickle { head, body, every } => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            for byte in body {
                tokio::time::sleep(every).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// Reads a request head and any `Content-Length` body; returns the path.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1)?.to_owned();
    let body_len: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    // Read the body too: closing with unread bytes would reset the connection
    // before the client reads the answer.
    let mut have = buf.len() - head_end;
    while have < body_len.min(1 << 20) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(path)
}

/// A whole HTTP/1.1 response: status line, the headers given (`Connection:
/// close` and the request id added), and the body; no `Content-Length` unless
/// the headers carry one.
fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\nx-request-id: hostile-1\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A JSON response with an exact `Content-Length`.
fn json(status: &str, body: &str) -> Reply {
    Reply::Raw(response(
        status,
        &[
            "content-type: application/json",
            &format!("content-length: {}", body.len()),
        ],
        body.as_bytes(),
    ))
}

fn task_json(status: &str, percentage: &str) -> String {
    format!(
        r#"{{"export_id":"e1","status":{status},"percentage":{percentage},"created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

fn status_path(export: &str) -> String {
    format!("/v1/{PROJECT}/physicalservers/srv-1/logs/exports/{export}")
}

fn content_path(export: &str) -> String {
    format!("{}/content", status_path(export))
}

/// The export id a request is about (`.../exports/{id}[/content]`).
fn export_of(path: &str) -> &str {
    let rest = path.split("/exports/").nth(1).unwrap_or("");
    rest.split('/').next().unwrap_or("")
}

fn quick_wait(deadline: Duration) -> WaitOptions {
    WaitOptions {
        deadline,
        min_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        first_interval: Duration::from_millis(10),
    }
}

fn download_options(max_resumes: u32) -> DownloadOptions {
    DownloadOptions {
        max_resumes,
        idle_timeout: Some(Duration::from_millis(500)),
        verify_gzip: true,
        ..DownloadOptions::default()
    }
}

/// A real gzip stream of `len` pseudo-random bytes (incompressible, so the
/// archive is about `len` long).
fn gzip_archive(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&data).unwrap();
    encoder.finish().unwrap()
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A fresh `root/a/b/out` layout: `..` escapes would land in `root/a` or `root`.
struct Nest {
    root: tempfile::TempDir,
}

impl Nest {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b/out")).unwrap();
        Self { root }
    }

    fn out(&self) -> PathBuf {
        self.root.path().join("a/b/out")
    }

    /// Nothing was written anywhere but `out`.
    fn assert_contained(&self) {
        assert_eq!(listing(self.root.path()), ["a"]);
        assert_eq!(listing(&self.root.path().join("a")), ["b"]);
        assert_eq!(listing(&self.root.path().join("a/b")), ["out"]);
    }
}

/// Runs `client.download` of export `export` into `dir`.
async fn download(
    client: &Client,
    export: &str,
    dir: &Path,
    options: &DownloadOptions,
) -> Result<clouddc::Downloaded, Error> {
    client
        .download("srv-1", export, dir, options, &|_| {})
        .await
}

// ---------------------------------------------------------------------------
// Status and export answers: JSON, content types, error pages.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_an_unexpected_response_keeping_status_and_request_id() {
    let bodies = [
        "{not json",
        r#"{"export_id":"#,
        "[]",
        "null",
        r#""completed""#,
        r#"{"status":"completed","percentage":100}"#,
        r#"{"export_id":7,"status":"completed"}"#,
        r#"{"export_id":"e1","status":{"nested":true}}"#,
        r#"{"export_id":"e1","status":"processing","percentage":[1]}"#,
        "\u{feff}{}",
        "",
    ];
    let server = Hostile::start(move |request| {
        let i: usize = export_of(&request.path)[1..].parse().unwrap();
        json("200 OK", bodies[i])
    })
    .await;
    let client = server.client();
    for (i, body) in bodies.iter().enumerate() {
        let error = client.status("srv-1", &format!("b{i}")).await.unwrap_err();
        assert!(
            matches!(error, Error::UnexpectedResponse { .. }),
            "{body:?}: {error:?}"
        );
        assert_eq!(error.status(), Some(200), "{body:?}");
        assert_eq!(error.request_id(), Some("hostile-1"), "{body:?}");
    }
}

#[tokio::test]
async fn deeply_nested_json_never_overflows_the_stack() {
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let server = Hostile::start(move |request| {
        let body = match export_of(&request.path) {
            // In a field the client does not read: skipped, the task decodes.
            "unread" => format!(
                r#"{{"export_id":"e1","status":"processing","extra":{}}}"#,
                deep(100_000)
            ),
            // In the fields it reads: refused at serde_json's depth limit.
            "status" => format!(r#"{{"export_id":"e1","status":{}}}"#, deep(100_000)),
            _ => format!(
                r#"{{"export_id":"e1","status":"processing","percentage":{}}}"#,
                deep(100_000)
            ),
        };
        json("200 OK", &body)
    })
    .await;
    let client = server.client();
    let task = client.status("srv-1", "unread").await.unwrap();
    assert_eq!(task.status.kind(), StatusKind::InProgress);
    for export in ["status", "percentage"] {
        let error = client.status("srv-1", export).await.unwrap_err();
        assert!(
            matches!(error, Error::UnexpectedResponse { ref reason, .. } if reason.contains("recursion limit")),
            "{export}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_huge_json_answer_is_not_read_without_bound() {
    // 256 MiB of one JSON string, sent as fast as the client reads it: the
    // client must give up long before the end rather than buffer it all.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let server = Hostile::start(move |_| Reply::Flood {
        head: response(
            "200 OK",
            &[
                "content-type: application/json",
                "transfer-encoding: identity",
            ],
            b"",
        ),
        prefix: br#"{"export_id":"e1","status":""#.to_vec(),
        fill: b'a',
        total: 256 << 20,
        sent: counter.clone(),
    })
    .await;
    let result = server.client().status("srv-1", "huge").await;
    let sent = sent.load(Ordering::Relaxed);
    assert!(
        result.is_err(),
        "a 256 MiB status decoded: {:?}",
        result.map(|t| t.status.as_str().len())
    );
    assert!(
        sent < 32 << 20,
        "the client read {} MiB of a JSON answer before giving up",
        sent >> 20
    );
}

#[tokio::test]
async fn a_huge_error_page_is_read_only_up_to_its_cap() {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let server = Hostile::start(move |_| Reply::Flood {
        head: response(
            "500 Internal Server Error",
            &["content-type: text/html"],
            b"",
        ),
        prefix: b"<html><body>".to_vec(),
        fill: b'x',
        total: 256 << 20,
        sent: counter.clone(),
    })
    .await;
    let error = server
        .client()
        .status("srv-1", "huge-error")
        .await
        .unwrap_err();
    match &error {
        Error::Api(api) => {
            assert_eq!(api.status, 500);
            let body = api.body.as_deref().unwrap();
            assert!(body.starts_with("<html><body>xxx"), "{body}");
            assert!(body.chars().count() <= clouddc::error::MAX_BODY_SNIPPET + 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(sent.load(Ordering::Relaxed) < 32 << 20);
}

#[tokio::test]
async fn the_content_type_is_not_trusted_the_body_decides() {
    let task = task_json(r#""completed""#, "100");
    let server = Hostile::start(move |request| match export_of(&request.path) {
        // JSON labelled as HTML: tolerated, the body is a task.
        "json-as-html" => Reply::Raw(response(
            "200 OK",
            &[
                "content-type: text/html",
                &format!("content-length: {}", task.len()),
            ],
            task.as_bytes(),
        )),
        // A captive portal's login page with 200: not a task.
        _ => Reply::Raw(response(
            "200 OK",
            &["content-type: text/html; charset=utf-8"],
            b"<!DOCTYPE html><html><body><form>Log in to the Wi-Fi</form></body></html>",
        )),
    })
    .await;
    let client = server.client();
    let task = client.status("srv-1", "json-as-html").await.unwrap();
    assert!(task.status.is_completed());
    match client.status("srv-1", "portal").await.unwrap_err() {
        Error::UnexpectedResponse { reason, meta, .. } => {
            assert!(reason.contains("<!DOCTYPE html>"), "{reason}");
            assert_eq!(meta.status, Some(200));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn html_error_pages_keep_status_and_text_and_5xx_is_retried() {
    let server = Hostile::start(|request| match export_of(&request.path) {
        "bad-gateway" => Reply::Raw(response(
            "502 Bad Gateway",
            &["content-type: text/html"],
            b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
        )),
        _ => Reply::Raw(response(
            "401 Unauthorized",
            &["content-type: text/html"],
            b"<html><body>Please sign in</body></html>",
        )),
    })
    .await;
    let client = server.client_with(RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        deadline: Duration::from_secs(10),
    });
    let error = client.status("srv-1", "bad-gateway").await.unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert!(error.to_string().contains("502 Bad Gateway"), "{error}");
    assert_eq!(
        server.hits(&status_path("bad-gateway")),
        3,
        "502 is retried"
    );
    let error = client.status("srv-1", "login").await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert!(error.to_string().contains("Please sign in"), "{error}");
    assert_eq!(server.hits(&status_path("login")), 1, "401 is not retried");
}

#[tokio::test]
async fn an_unparseable_status_line_or_header_is_a_transport_error() {
    let answers: Vec<Vec<u8>> = vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999999\r\n\r\n{}".to_vec(),
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}".to_vec(),
        b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
        b"HTTP/1.1 2000 OK\r\n\r\n".to_vec(),
        b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n{}".to_vec(),
        Vec::new(),
    ];
    let count = answers.len();
    let server = Hostile::start(move |request| {
        let i: usize = export_of(&request.path)[1..].parse().unwrap();
        Reply::Raw(answers[i].clone())
    })
    .await;
    let client = server.client();
    for i in 0..count {
        let error = client.status("srv-1", &format!("a{i}")).await.unwrap_err();
        assert!(
            matches!(error, Error::Transport { .. }),
            "answer {i}: {error:?}"
        );
    }
}

#[tokio::test]
async fn ids_that_would_change_the_request_path_are_refused_before_sending() {
    // URL parsers read `\` as `/` in http(s) URLs and then resolve `..`, and the
    // generated client does not percent-encode `\`: this server id would send
    // the request to another project's server.
    let server = Hostile::start(|_| json("202 Accepted", &task_json(r#""processing""#, "0"))).await;
    let client = server.client();
    let traversal = r"a\..\..\..\..\v1\other-project\physicalservers\victim";
    for id in [traversal, r"..\", r"srv\1", "..", "."] {
        match client.export(id).await {
            Err(Error::InvalidInput { argument, .. }) => assert_eq!(argument, "server", "{id}"),
            other => panic!(
                "{id:?} was not refused: {other:?}; requested {:?}",
                server.paths()
            ),
        }
        match client.status("srv-1", id).await {
            Err(Error::InvalidInput { argument, .. }) => assert_eq!(argument, "export_id", "{id}"),
            other => panic!(
                "{id:?} was not refused: {other:?}; requested {:?}",
                server.paths()
            ),
        }
    }
    assert!(server.paths().is_empty(), "requested {:?}", server.paths());
    // Everything else an id may hold stays inside its own path segment.
    for id in ["a/b", "%2e%2e", ".%2e", "a?b#c", "srv 1", "ü€", "a;b=c"] {
        client
            .export(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
    }
    for path in server.paths() {
        let rest = path
            .strip_prefix(&format!("/v1/{PROJECT}/physicalservers/"))
            .unwrap_or_else(|| panic!("{path}"));
        let (id, tail) = rest.split_once('/').unwrap_or_else(|| panic!("{path}"));
        assert_eq!(tail, "logs/exports", "{path}");
        assert!(
            !id.is_empty() && !id.contains(['/', '\\', '?', '#']),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------
// The waiter: percentages, statuses, exports that never end.
// ---------------------------------------------------------------------------

/// A server whose status answers for export `name` follow `script` (the last
/// one repeats).
async fn scripted(scripts: Vec<(&'static str, Vec<String>)>) -> Hostile {
    let scripts: HashMap<&str, Vec<String>> = scripts.into_iter().collect();
    Hostile::start(move |request| {
        let script = &scripts[export_of(&request.path)];
        json("200 OK", &script[request.hit.min(script.len() - 1)])
    })
    .await
}

/// Waits for `export` and returns the result and the percentages reported.
async fn wait(
    client: &Client,
    export: &str,
    deadline: Duration,
) -> (Result<clouddc::types::ExportTask, Error>, Vec<Option<f64>>) {
    let seen = Mutex::new(Vec::new());
    let result = client
        .wait_for_export("srv-1", export, None, &quick_wait(deadline), &|p| {
            seen.lock().unwrap().push(p.percentage)
        })
        .await;
    (result, seen.into_inner().unwrap())
}

#[tokio::test]
async fn percentages_out_of_range_or_not_numbers_are_unknown_progress_not_errors() {
    let garbage = [
        "-5",
        "150",
        r#""abc""#,
        r#""NaN""#,
        r#""""#,
        r#""1e400""#,
        "null",
        r#""-1%""#,
        "true",
        r#""100.0001""#,
        r#""∞""#,
    ];
    let mut script: Vec<String> = garbage
        .iter()
        .map(|p| task_json(r#""processing""#, p))
        .collect();
    script.push(task_json(r#""completed""#, r#""100%""#));
    let server = scripted(vec![("pct", script)]).await;
    let (result, seen) = wait(&server.client(), "pct", Duration::from_secs(20)).await;
    assert!(result.unwrap().status.is_completed());
    assert_eq!(seen.len(), garbage.len() + 1);
    assert!(
        seen[..garbage.len()].iter().all(Option::is_none),
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Some(100.0)));
}

#[tokio::test]
async fn a_percentage_number_beyond_f64_is_a_decode_error_not_a_panic() {
    // JSON allows 1e400; serde_json cannot hold it in an f64, so the whole answer
    // is refused with the body in the error (the tolerant types keep numbers
    // as serde_json numbers, which are f64 at most).
    let server = scripted(vec![("big", vec![task_json(r#""processing""#, "1e400")])]).await;
    let (result, seen) = wait(&server.client(), "big", Duration::from_secs(5)).await;
    match result {
        Err(Error::UnexpectedResponse { reason, .. }) => {
            assert!(reason.contains("1e400"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(seen.is_empty());
}

#[tokio::test]
async fn a_percentage_going_backwards_is_reported_and_the_wait_still_ends() {
    let script = ["80", "20", "50", "0", "100"]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let status = if i == 4 {
                r#""completed""#
            } else {
                r#""processing""#
            };
            task_json(status, p)
        })
        .collect();
    let server = scripted(vec![("back", script)]).await;
    let (result, seen) = wait(&server.client(), "back", Duration::from_secs(20)).await;
    assert!(result.unwrap().status.is_completed());
    assert_eq!(
        seen,
        [Some(80.0), Some(20.0), Some(50.0), Some(0.0), Some(100.0)]
    );
}

#[tokio::test]
async fn unknown_statuses_wait_and_count_as_done_only_at_100() {
    let server = scripted(vec![
        (
            "odd-done",
            vec![
                task_json(r#""Defragmenting""#, "40"),
                task_json(r#""Finalising""#, r#""100%""#),
            ],
        ),
        ("odd-forever", vec![task_json(r#""Defragmenting""#, "40")]),
        ("number", vec![task_json("3", "100")]),
    ])
    .await;
    let client = server.client();
    let (result, _) = wait(&client, "odd-done", Duration::from_secs(20)).await;
    assert_eq!(result.unwrap().status.as_str(), "Finalising");
    let (result, _) = wait(&client, "number", Duration::from_secs(20)).await;
    assert_eq!(result.unwrap().status.kind(), StatusKind::Unknown);
    let started = Instant::now();
    let (result, _) = wait(&client, "odd-forever", Duration::from_millis(500)).await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn failure_statuses_end_the_wait_with_export_failed() {
    let statuses = [
        "failed",
        "FAILED",
        "Error",
        "cancelled",
        "timed_out",
        "Rejected",
    ];
    let scripts = statuses
        .iter()
        .map(|s| {
            (
                *s,
                vec![
                    task_json(r#""processing""#, "10"),
                    task_json(&format!("{s:?}"), "10"),
                ],
            )
        })
        .collect();
    let server = scripted(scripts).await;
    let client = server.client();
    for status in statuses {
        let (result, _) = wait(&client, status, Duration::from_secs(20)).await;
        match result {
            Err(Error::ExportFailed {
                status: reported, ..
            }) => assert_eq!(reported, status),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_export_that_never_finishes_times_out_at_its_deadline() {
    let server = scripted(vec![("forever", vec![task_json(r#""processing""#, "10")])]).await;
    let started = Instant::now();
    let (result, seen) = wait(&server.client(), "forever", Duration::from_secs(1)).await;
    let elapsed = started.elapsed();
    match result {
        Err(Error::Timeout { after, .. }) => assert_eq!(after, Duration::from_secs(1)),
        other => panic!("{other:?}"),
    }
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // Polled at least every max_interval (50 ms), not in a busy loop.
    assert!(seen.len() >= 2 && seen.len() <= 110, "{} polls", seen.len());
}

#[tokio::test]
async fn a_status_call_that_never_answers_is_cut_at_the_wait_deadline() {
    // The server reads the request and stays silent for 20 s; the transport's
    // read timeout is 10 s and would be retried: only the wait deadline can end
    // the wait in time.
    let server = Hostile::start(|_| Reply::Stall(Vec::new(), Duration::from_secs(20))).await;
    let client = server.client_with(RetryPolicy::default());
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        wait(&client, "silent", Duration::from_secs(1)),
    )
    .await;
    let elapsed = started.elapsed();
    let (result, _) = result.unwrap_or_else(|_| panic!("still waiting after {elapsed:?}"));
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

// ---------------------------------------------------------------------------
// Downloads: lengths, content types, names.
// ---------------------------------------------------------------------------

fn archive_head(archive: &[u8], extra: &[&str]) -> Vec<String> {
    let mut headers = vec![
        "content-type: application/octet-stream".to_string(),
        format!("content-length: {}", archive.len()),
    ];
    headers.extend(extra.iter().map(|s| s.to_string()));
    headers
}

fn archive_reply(archive: &[u8], headers: &[String]) -> Reply {
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Reply::Raw(response("200 OK", &headers, archive))
}

#[tokio::test]
async fn a_missing_content_length_is_checked_by_the_gzip_trailer() {
    let archive = Arc::new(gzip_archive(300_000));
    let expected = hex::encode(Sha256::digest(&*archive));
    let body = archive.clone();
    let server = Hostile::start(move |request| {
        // Close-delimited bodies: no Content-Length, no chunking.
        let cut = match export_of(&request.path) {
            "whole" => body.len(),
            _ => body.len() / 2,
        };
        Reply::Raw(response(
            "200 OK",
            &["content-type: application/octet-stream"],
            &body[..cut],
        ))
    })
    .await;
    let client = server.client();
    let nest = Nest::new();
    let got = download(&client, "whole", &nest.out(), &download_options(0))
        .await
        .unwrap();
    assert_eq!(got.sha256, expected);
    assert_eq!(got.bytes, archive.len() as u64);
    let error = download(&client, "half", &nest.out(), &download_options(2))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Integrity { .. }), "{error:?}");
    assert_eq!(listing(&nest.out()), ["srv-1-dump.tar.gz"]);
    nest.assert_contained();
}

#[tokio::test]
async fn a_lying_content_length_fails_the_download_and_leaves_nothing() {
    let archive = Arc::new(gzip_archive(200_000));
    let body = archive.clone();
    let server = Hostile::start(move |request| {
        let (announced, sent) = match export_of(&request.path) {
            // Claims more than it sends, then closes.
            "longer" => (body.len() + 5000, body.len()),
            // Claims less than it sends: the client stops at the claim.
            "shorter" => (body.len() - 5000, body.len()),
            // Claims a terabyte.
            _ => (1 << 40, body.len()),
        };
        Reply::Raw(response(
            "200 OK",
            &[
                "content-type: application/octet-stream",
                &format!("content-length: {announced}"),
            ],
            &body[..sent],
        ))
    })
    .await;
    let client = server.client();
    for export in ["longer", "shorter", "terabyte"] {
        let nest = Nest::new();
        let started = Instant::now();
        let error = download(&client, export, &nest.out(), &download_options(2))
            .await
            .unwrap_err();
        if export == "terabyte" {
            // Over the archive size bound (64 GiB by default): refused before
            // its body, and not asked for again.
            assert!(
                matches!(&error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::FileTooLarge),
                "{export}: {error:?}"
            );
        } else {
            assert!(
                matches!(error, Error::Integrity { .. } | Error::Transport { .. }),
                "{export}: {error:?}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{export}");
        assert!(listing(&nest.out()).is_empty(), "{export}");
        nest.assert_contained();
    }
    // Three tries each (the first and two resumes), no more.
    assert_eq!(server.hits(&content_path("longer")), 3);
    assert_eq!(server.hits(&content_path("terabyte")), 1);
}

#[tokio::test]
async fn a_body_that_stalls_is_cut_by_the_idle_timeout_and_leaves_nothing() {
    let archive = gzip_archive(200_000);
    let mut head = response(
        "200 OK",
        &[&format!("content-length: {}", archive.len())],
        &archive[..50_000],
    );
    head.shrink_to_fit();
    let server = Hostile::start(move |_| Reply::Stall(head.clone(), Duration::from_secs(20))).await;
    let nest = Nest::new();
    let started = Instant::now();
    let error = download(&server.client(), "stall", &nest.out(), &download_options(1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    // Two idle timeouts of 500 ms, not the 20 s stall.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(listing(&nest.out()).is_empty());
    nest.assert_contained();
}

#[tokio::test]
async fn a_download_that_never_answers_is_bounded_by_the_read_timeout() {
    let server = Hostile::start(|_| Reply::Stall(Vec::new(), Duration::from_secs(20))).await;
    let client = Client::builder()
        .endpoint(&server.base_url)
        .project_id(PROJECT)
        .token("hostile-token")
        .retry_policy(RetryPolicy::none())
        .transport(TransportOptions {
            read_timeout: Duration::from_secs(1),
            ..TransportOptions::default()
        })
        .build()
        .unwrap();
    let nest = Nest::new();
    let started = Instant::now();
    let error = download(&client, "silent", &nest.out(), &download_options(0))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(listing(&nest.out()).is_empty());
}

#[tokio::test]
async fn a_web_page_instead_of_the_archive_is_an_integrity_error() {
    let page = b"<!DOCTYPE html><html><body>Session expired, please log in</body></html>".to_vec();
    let server = Hostile::start(move |request| match export_of(&request.path) {
        "portal" => Reply::Raw(response(
            "200 OK",
            &[
                "content-type: text/html",
                &format!("content-length: {}", page.len()),
            ],
            &page,
        )),
        _ => Reply::Raw(response(
            "502 Bad Gateway",
            &["content-type: text/html"],
            b"<html><body>502 Bad Gateway</body></html>",
        )),
    })
    .await;
    let client = server.client();
    let nest = Nest::new();
    let error = download(&client, "portal", &nest.out(), &download_options(0))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Integrity { .. }), "{error:?}");
    let error = download(&client, "gateway", &nest.out(), &download_options(0))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(502), "{error:?}");
    assert!(listing(&nest.out()).is_empty());
    nest.assert_contained();
}

#[tokio::test]
async fn hostile_content_disposition_names_never_name_the_file() {
    // (header value as raw bytes, the suggestion reported; `None`: none).
    // Whatever the header, the file is the server's: `srv-1-dump.tar.gz`.
    let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
        (
            b"attachment; filename=\"../../escape.tar.gz\"".to_vec(),
            Some("escape.tar.gz"),
        ),
        (
            b"attachment; filename=../../../../../../tmp/escape.tar.gz".to_vec(),
            Some("escape.tar.gz"),
        ),
        (
            b"attachment; filename=/etc/cron.d/evil".to_vec(),
            Some("evil"),
        ),
        (
            b"attachment; filename=\"..\\\\..\\\\win.tar.gz\"".to_vec(),
            Some("win.tar.gz"),
        ),
        (
            b"attachment; filename=\"..\\..\\bare-backslashes.tar.gz\"".to_vec(),
            Some("bare-backslashes.tar.gz"),
        ),
        (
            b"attachment; filename=\"C:\\Windows\\System32\\x.tar.gz\"".to_vec(),
            Some("x.tar.gz"),
        ),
        (
            b"attachment; filename*=UTF-8''..%2F..%2Fstar-escape.tar.gz".to_vec(),
            Some("star-escape.tar.gz"),
        ),
        (
            b"attachment; filename*=UTF-8''..%5C..%5Cstar-back.tar.gz".to_vec(),
            Some("star-back.tar.gz"),
        ),
        (b"attachment; filename*=UTF-8''%2E%2E".to_vec(), None),
        (
            b"attachment; filename*=UTF-8''%2E%2E%2F; filename=\"plain.tar.gz\"".to_vec(),
            Some("plain.tar.gz"),
        ),
        (
            b"attachment; filename*=UTF-8''a%00b%0A.tar.gz".to_vec(),
            Some("a_b_.tar.gz"),
        ),
        (
            b"attachment; filename*=UTF-8''x%E2%80%AEzg.rat.exe".to_vec(),
            Some("x_zg.rat.exe"),
        ),
        (
            b"attachment; filename*=utf-8'en'%E2%82%AC-logs.tar.gz".to_vec(),
            Some("\u{20ac}-logs.tar.gz"),
        ),
        (
            b"attachment; filename*=KOI8-R''%E1.tar.gz; filename=k.tar.gz".to_vec(),
            Some("k.tar.gz"),
        ),
        (b"attachment; filename=\".bashrc\"".to_vec(), Some("bashrc")),
        (
            b"attachment; filename=\"-rf --no-preserve-root\"".to_vec(),
            Some("_rf --no-preserve-root"),
        ),
        (b"attachment; filename=CON".to_vec(), Some("_CON")),
        (b"attachment; filename=\"\"".to_vec(), None),
        (b"attachment; filename=".to_vec(), None),
        (b"attachment".to_vec(), None),
        (
            b"attachment; filename=\"r\xffx.tar.gz\"".to_vec(),
            Some("r_x.tar.gz"),
        ),
        (
            format!("attachment; filename=\"{}.tar.gz\"", "n".repeat(5000)).into_bytes(),
            Some(""),
        ),
    ];
    let archive = Arc::new(gzip_archive(20_000));
    let headers: Arc<Vec<Vec<u8>>> = Arc::new(cases.iter().map(|(h, _)| h.clone()).collect());
    let (body, shared) = (archive.clone(), headers.clone());
    let server = Hostile::start(move |request| {
        let i: usize = export_of(&request.path)[1..].parse().unwrap();
        let mut head = format!(
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\ncontent-disposition: ",
            body.len()
        )
        .into_bytes();
        head.extend_from_slice(&shared[i]);
        head.extend_from_slice(b"\r\n\r\n");
        head.extend_from_slice(&body);
        Reply::Raw(head)
    })
    .await;
    let client = server.client();
    for (i, (header, expected)) in cases.iter().enumerate() {
        let shown = String::from_utf8_lossy(header);
        let nest = Nest::new();
        let export = format!("h{i}");
        let got = download(&client, &export, &nest.out(), &download_options(0))
            .await
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(got.path.parent(), Some(nest.out().as_path()), "{shown}");
        let name = got.path.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(name, "srv-1-dump.tar.gz", "{shown}");
        let suggested = got.suggested_name.as_deref();
        match expected {
            Some("") => {
                // The over-long suggestion is cut, keeping its extension.
                let suggested = suggested.unwrap();
                assert!(suggested.len() <= clouddc::content_disposition::MAX_FILE_NAME_BYTES);
                assert!(suggested.ends_with("n.tar.gz"), "{suggested}");
            }
            expected => assert_eq!(suggested, *expected, "{shown}"),
        }
        assert_eq!(std::fs::read(&got.path).unwrap(), *archive, "{shown}");
        assert_eq!(listing(&nest.out()), [name], "{shown}");
        nest.assert_contained();
    }
}

// ---------------------------------------------------------------------------
// The output directory.
// ---------------------------------------------------------------------------

/// A server that serves `archive` as `srv-1-dump.tar.gz` for every export.
async fn archive_server(archive: Arc<Vec<u8>>) -> Hostile {
    Hostile::start(move |_| {
        let headers = archive_head(
            &archive,
            &["content-disposition: attachment; filename=srv-1-dump.tar.gz"],
        );
        archive_reply(&archive, &headers)
    })
    .await
}

#[tokio::test]
async fn a_missing_output_directory_is_created_with_its_parents() {
    let archive = Arc::new(gzip_archive(10_000));
    let server = archive_server(archive.clone()).await;
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("new/deeper/out");
    let got = download(&server.client(), "e1", &out, &download_options(0))
        .await
        .unwrap();
    assert_eq!(got.path, out.join("srv-1-dump.tar.gz"));
    assert_eq!(std::fs::read(&got.path).unwrap(), *archive);
}

#[cfg(unix)]
#[tokio::test]
async fn whatever_holds_the_target_name_is_never_replaced_or_followed() {
    let archive = Arc::new(gzip_archive(10_000));
    let server = archive_server(archive.clone()).await;
    let nest = Nest::new();
    let out = nest.out();
    let outside = nest.root.path().join("a/b/precious");
    let target = out.join("srv-1-dump.tar.gz");
    let overwrite = DownloadOptions {
        overwrite: true,
        ..download_options(0)
    };
    // A file at the name: kept, and the download fails naming it (no `.1`).
    std::fs::write(&target, b"old").unwrap();
    let error = download(&server.client(), "e1", &out, &download_options(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Io { path, source, .. } if *path == target && source.kind() == std::io::ErrorKind::AlreadyExists),
        "{error:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(listing(&out), ["srv-1-dump.tar.gz"]);
    // A directory at the name: never replaced, even when overwriting.
    std::fs::remove_file(&target).unwrap();
    std::fs::create_dir(&target).unwrap();
    assert!(
        download(&server.client(), "e1", &out, &overwrite)
            .await
            .is_err()
    );
    assert!(target.is_dir());
    // A symlink pointing outside: replaced when overwriting, never followed.
    std::fs::remove_dir(&target).unwrap();
    std::os::unix::fs::symlink(&outside, &target).unwrap();
    let got = download(&server.client(), "e1", &out, &overwrite)
        .await
        .unwrap();
    assert_eq!(got.path, target);
    assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), *archive);
    assert!(!outside.exists(), "the symlink was followed");
    assert_eq!(listing(&out), ["srv-1-dump.tar.gz"]);
    nest.assert_contained();
}

/// Runs this test binary's test `name` again in a child process with [`CHILD`]
/// set to `dir`; returns its combined output after checking it succeeded.
fn in_child(name: &str, dir: &Path, as_nobody: bool) -> String {
    let mut command = child::command(module_path!(), name);
    command.env(CHILD, dir);
    #[cfg(unix)]
    if as_nobody {
        use std::os::unix::process::CommandExt;
        command.uid(65534).gid(65534);
    }
    child::output(command)
}

/// The directory a child works in, when this process is one.
fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD).map(PathBuf::from)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_an_io_error_and_leaves_no_partial_file() {
    const LIMIT: u64 = 1 << 20;
    if let Some(dir) = child_dir() {
        // The child: files may grow to 1 MiB; past it write() fails with EFBIG
        // instead of SIGXFSZ killing the process.
        // SAFETY: plain libc calls with valid arguments, before any thread of
        // this process writes a file.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
        runtime().block_on(async {
            let server = archive_server(Arc::new(gzip_archive(4 << 20))).await;
            let error = download(&server.client(), "e1", &dir, &download_options(0))
                .await
                .unwrap_err();
            match &error {
                Error::Io { source, .. } => {
                    assert_eq!(source.raw_os_error(), Some(libc::EFBIG), "{error:?}")
                }
                other => panic!("{other:?}"),
            }
            println!("child: {error}");
        });
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let text = in_child(
        "a_full_disk_is_an_io_error_and_leaves_no_partial_file",
        &out,
        false,
    );
    assert!(text.contains("child: "), "{text}");
    assert!(listing(&out).is_empty(), "{:?}", listing(&out));
    assert_eq!(listing(root.path()), ["out"]);
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_an_io_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = child_dir() {
        runtime().block_on(async {
            let server = archive_server(Arc::new(gzip_archive(10_000))).await;
            let error = download(&server.client(), "e1", &dir, &download_options(0))
                .await
                .unwrap_err();
            match &error {
                Error::Io { path, source, .. } => {
                    assert_eq!(path, &dir);
                    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
                }
                other => panic!("{other:?}"),
            }
            println!("child: {error}");
        });
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = root.path().join("read-only");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permissions: the child runs as nobody then.
    let as_root = unsafe { libc::geteuid() } == 0;
    let text = in_child(
        "a_read_only_directory_is_an_io_error_naming_it",
        &out,
        as_root,
    );
    assert!(
        text.contains("child: creating a temporary file in"),
        "{text}"
    );
    assert!(listing(&out).is_empty());
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------
// Downloads: deadlines and bounds (issue 18, items 4 and 5).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_download_trickling_a_byte_every_two_seconds_fails_in_bounded_time() {
    let archive = gzip_archive(100_000);
    let head = response(
        "200 OK",
        &[&format!("content-length: {}", archive.len())],
        &[],
    );
    let server = Hostile::start(move |_| Reply::Trickle {
        head: head.clone(),
        body: archive.clone(),
        every: Duration::from_secs(2),
    })
    .await;
    let nest = Nest::new();
    // The idle timeout never fires: a byte comes every 2 s. The floor does.
    let options = DownloadOptions {
        idle_timeout: Some(Duration::from_secs(10)),
        low_speed: Some(LowSpeed {
            bytes_per_second: 1024,
            time: Duration::from_secs(3),
        }),
        ..download_options(1)
    };
    let started = Instant::now();
    let error = download(&server.client(), "trickle", &nest.out(), &options)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    match &error {
        Error::Timeout { what, .. } => assert!(what.contains("1024 bytes/s"), "{what}"),
        other => panic!("{other:?}"),
    }
    // Two bodies (the first and one resume), each cut within two 3 s windows;
    // the server would have gone on for its 30 s connection limit.
    assert!(elapsed < Duration::from_secs(14), "{elapsed:?}");
    assert_eq!(server.hits(&content_path("trickle")), 2);
    assert!(listing(&nest.out()).is_empty());
    nest.assert_contained();
}

#[tokio::test]
async fn a_body_without_a_length_is_cut_at_the_size_bound_and_leaves_nothing() {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let server = Hostile::start(move |_| Reply::Flood {
        // No length: the body lasts as long as the server sends.
        head: response("200 OK", &["content-type: application/octet-stream"], &[]),
        prefix: gzip_archive(1000)[..10].to_vec(),
        fill: 0,
        total: 4 << 30,
        sent: counter.clone(),
    })
    .await;
    let nest = Nest::new();
    let limit: u64 = 1 << 20;
    // Zeros are no deflate data: with the gzip check on, it could fail the body
    // first. Off, as with --no-verify, the bound is all that stops it.
    let options = DownloadOptions {
        max_archive_bytes: Some(limit),
        verify_gzip: false,
        ..download_options(2)
    };
    let started = Instant::now();
    let error = download(&server.client(), "endless", &nest.out(), &options)
        .await
        .unwrap_err();
    match &error {
        Error::Io { source, path, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge);
            assert!(source.to_string().contains(&limit.to_string()), "{source}");
            assert_eq!(path, &nest.out());
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // Not asked for again; the server got no further than socket buffers allow.
    assert_eq!(server.hits(&content_path("endless")), 1);
    assert!(sent.load(Ordering::Relaxed) < 64 << 20);
    assert!(listing(&nest.out()).is_empty());
    nest.assert_contained();
}

#[tokio::test]
async fn an_announced_length_beyond_the_bound_or_the_free_space_fails_before_the_body() {
    // A petabyte: over the default bound, and over any disk this runs on.
    let announced: u64 = 1 << 50;
    let server = Hostile::start(move |_| {
        Reply::Raw(response(
            "200 OK",
            &[&format!("content-length: {announced}")],
            b"\x1f\x8b",
        ))
    })
    .await;
    let client = server.client();
    for (bound, kind) in [
        (
            DownloadOptions::default().max_archive_bytes,
            std::io::ErrorKind::FileTooLarge,
        ),
        (None, std::io::ErrorKind::StorageFull),
    ] {
        let nest = Nest::new();
        let options = DownloadOptions {
            max_archive_bytes: bound,
            ..download_options(2)
        };
        let error = download(&client, "huge", &nest.out(), &options)
            .await
            .unwrap_err();
        match &error {
            Error::Io { source, .. } => {
                assert_eq!(source.kind(), kind, "{source}");
                assert!(
                    source.to_string().contains(&announced.to_string()),
                    "{source}"
                );
            }
            other => panic!("{kind:?}: {other:?}"),
        }
        assert!(listing(&nest.out()).is_empty());
        nest.assert_contained();
    }
    assert_eq!(server.hits(&content_path("huge")), 2);
}

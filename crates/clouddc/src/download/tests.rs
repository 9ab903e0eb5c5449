//! The download loop end to end, against scripted responses: names, resumes,
//! restarts, integrity, cleanup.

use std::collections::VecDeque;
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::StreamExt;
use progenitor_client::{ByteStream, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::body::BodyStream;
use super::*;

/// A gzip archive of about `len` bytes of log-like text.
fn archive(len: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(len * 4);
    let mut x: u32 = 12345;
    while raw.len() < len * 4 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        raw.extend_from_slice(format!("line {} value {:x}\n", raw.len(), x).as_bytes());
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(&raw).unwrap();
    encoder.finish().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A reqwest body error, as a broken connection produces.
async fn transport_error() -> reqwest::Error {
    let body = reqwest::Body::wrap_stream(futures::stream::once(async {
        Err::<Bytes, _>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset",
        ))
    }));
    reqwest::Response::from(http::Response::new(body))
        .bytes()
        .await
        .unwrap_err()
}

fn chunks(data: &[u8], size: usize) -> Vec<reqwest::Result<Bytes>> {
    data.chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

fn response(
    status: u16,
    headers: &[(&str, String)],
    items: Vec<reqwest::Result<Bytes>>,
    hang: bool,
) -> ResponseValue<ByteStream> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let stream = futures::stream::iter(items);
    let stream: BodyStream = if hang {
        Box::pin(stream.chain(futures::stream::pending()))
    } else {
        Box::pin(stream)
    };
    ResponseValue::new(
        ByteStream::new(stream),
        StatusCode::from_u16(status).unwrap(),
        map,
    )
}

/// A 200 with the whole archive and its length.
fn full(data: &[u8], disposition: Option<&str>) -> ResponseValue<ByteStream> {
    let mut headers = vec![("content-length", data.len().to_string())];
    if let Some(d) = disposition {
        headers.push(("content-disposition", d.to_string()));
    }
    response(200, &headers, chunks(data, 4096), false)
}

/// A 206 with the archive from `from`.
fn partial(data: &[u8], from: usize) -> ResponseValue<ByteStream> {
    let headers = [
        ("content-length", (data.len() - from).to_string()),
        (
            "content-range",
            format!("bytes {from}-{}/{}", data.len() - 1, data.len()),
        ),
    ];
    response(206, &headers, chunks(&data[from..], 4096), false)
}

/// A 200 announcing the whole archive whose body breaks after `cut` bytes.
fn broken(data: &[u8], cut: usize, error: reqwest::Error) -> ResponseValue<ByteStream> {
    let mut items = chunks(&data[..cut], 4096);
    items.push(Err(error));
    response(
        200,
        &[("content-length", data.len().to_string())],
        items,
        false,
    )
}

/// Answers requests from a list, recording the offsets asked for.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Result<ResponseValue<ByteStream>, Error>>>,
    offsets: Mutex<Vec<Option<u64>>>,
}

impl Script {
    fn new(answers: Vec<ResponseValue<ByteStream>>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().map(Ok).collect()),
            offsets: Mutex::default(),
        }
    }

    fn fetch(
        &self,
    ) -> impl FnMut(Option<u64>) -> std::future::Ready<Result<ResponseValue<ByteStream>, Error>> + '_
    {
        |offset| {
            self.offsets.lock().unwrap().push(offset);
            let next = self.answers.lock().unwrap().pop_front();
            std::future::ready(
                next.unwrap_or_else(|| Err(Error::invalid("test", "no more answers"))),
            )
        }
    }

    fn offsets(&self) -> Vec<Option<u64>> {
        self.offsets.lock().unwrap().clone()
    }
}

#[derive(Default)]
struct Progress(Mutex<Vec<DownloadProgress>>);

impl Progress {
    fn callback(&self) -> impl Fn(DownloadProgress) + Send + Sync + '_ {
        |p| self.0.lock().unwrap().push(p)
    }

    fn last(&self) -> Option<DownloadProgress> {
        self.0.lock().unwrap().last().copied()
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(read) => read
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn options(max_resumes: u32) -> DownloadOptions {
    DownloadOptions {
        max_resumes,
        ..DownloadOptions::default()
    }
}

async fn run(script: &Script, dir: &Path, options: &DownloadOptions) -> Result<Downloaded, Error> {
    download_to_dir(
        script.fetch(),
        dir,
        "srv-9-42.tar.gz",
        options,
        &|_: DownloadProgress| {},
    )
    .await
}

#[tokio::test]
async fn happy_path_creates_the_directory_and_verifies_everything() {
    let data = archive(300_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs").join("incident");
    let script = Script::new(vec![full(
        &data,
        Some(r#"attachment; filename="srv-1.tar.gz""#),
    )]);
    let progress = Progress::default();
    let got = download_to_dir(
        script.fetch(),
        &dir,
        "srv-1-dump.tar.gz",
        &DownloadOptions {
            fsync: true,
            ..options(3)
        },
        &progress.callback(),
    )
    .await
    .unwrap();
    assert_eq!(got.path, dir.join("srv-1-dump.tar.gz"));
    assert_eq!(got.suggested_name.as_deref(), Some("srv-1.tar.gz"));
    assert_eq!(got.bytes, data.len() as u64);
    assert_eq!(got.sha256, sha256_hex(&data));
    assert_eq!(got.resumes, 0);
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    assert_eq!(entries(&dir), ["srv-1-dump.tar.gz"]);
    assert_eq!(script.offsets(), [None]);
    let total = Some(data.len() as u64);
    assert_eq!(
        progress.last(),
        Some(DownloadProgress {
            bytes: data.len() as u64,
            total
        })
    );
    for p in progress.0.lock().unwrap().iter() {
        assert_eq!(p.total, total);
        assert!(p.bytes <= data.len() as u64);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&got.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn the_download_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let script = Script::new(vec![]);
    let options = options(0);
    let download = run(&script, Path::new("unused"), &options);
    assert_send(&download);

    // The way `Client::download` calls it: a method future borrowing `self`.
    struct Source(Script);
    impl Source {
        async fn open(
            &self,
            _server: &str,
            offset: Option<u64>,
        ) -> Result<ResponseValue<ByteStream>, Error> {
            (self.0.fetch())(offset).await
        }
    }
    let source = Source(Script::new(vec![]));
    let server = String::from("srv");
    let download = download_to_dir(
        |offset| source.open(&server, offset),
        Path::new("unused"),
        "srv-1.tar.gz",
        &options,
        &|_: DownloadProgress| {},
    );
    assert_send(&download);
}

#[tokio::test]
async fn progress_is_rate_limited() {
    let data = archive(2_000_000);
    let tmp = tempfile::tempdir().unwrap();
    // Tiny chunks: one call per chunk would be tens of thousands.
    let items: Vec<_> = data
        .chunks(64)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let script = Script::new(vec![response(
        200,
        &[("content-length", data.len().to_string())],
        items,
        false,
    )]);
    let progress = Progress::default();
    let started = Instant::now();
    let got = download_to_dir(
        script.fetch(),
        tmp.path(),
        "x.tar.gz",
        &options(0),
        &progress.callback(),
    )
    .await
    .unwrap();
    let elapsed_ms = started.elapsed().as_millis() as usize;
    let calls = progress.0.lock().unwrap().len();
    assert!(
        calls <= 3 + elapsed_ms / 50,
        "{calls} calls in {elapsed_ms} ms"
    );
    assert_eq!(progress.last().unwrap().bytes, got.bytes);
}

#[tokio::test]
async fn the_service_never_names_the_file_its_suggestion_is_only_reported() {
    let data = archive(20_000);
    let tmp = tempfile::tempdir().unwrap();
    for (i, (header, expected)) in [
        ("attachment; filename=../../escape.tar.gz", "escape.tar.gz"),
        ("attachment; filename=/etc/cron.d/evil", "evil"),
        (r#"attachment; filename="..\..\x.tar.gz""#, "x.tar.gz"),
        (
            "attachment; filename*=UTF-8''..%2F..%2Fup.tar.gz",
            "up.tar.gz",
        ),
        ("attachment; filename=..", ""),
        ("attachment; filename=.hidden", "hidden"),
        (
            "attachment; filename*=UTF-8''a%00b%0A.tar.gz",
            "a_b_.tar.gz",
        ),
        ("attachment; filename=nul.tar.gz", "_nul.tar.gz"),
        ("attachment", ""),
        ("=;\"\\\t=\u{ff}", ""),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("d{i}"));
        let script = Script::new(vec![full(&data, Some(header))]);
        let got = run(&script, &dir, &options(0)).await.unwrap();
        // The caller's name, whatever the header says; the suggestion is
        // sanitised, and absent when nothing safe is left of it.
        assert_eq!(got.path, dir.join("srv-9-42.tar.gz"), "{header}");
        assert_eq!(entries(&dir), ["srv-9-42.tar.gz"], "{header}");
        let suggested = (!expected.is_empty()).then_some(expected);
        assert_eq!(got.suggested_name.as_deref(), suggested, "{header}");
    }
    // Nothing escaped into the parent.
    assert!(entries(tmp.path()).iter().all(|n| n.starts_with('d')));

    // Without the header, the same name and no suggestion.
    let dir = tmp.path().join("none");
    let script = Script::new(vec![full(&data, None)]);
    let got = run(&script, &dir, &options(0)).await.unwrap();
    assert_eq!(got.path, dir.join("srv-9-42.tar.gz"));
    assert_eq!(got.suggested_name, None);
}

#[tokio::test]
async fn an_unusable_file_name_is_rejected_before_any_request() {
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![]);
    let result = download_to_dir(
        script.fetch(),
        tmp.path(),
        "../..",
        &options(0),
        &|_: DownloadProgress| {},
    )
    .await;
    assert!(
        matches!(
            result,
            Err(Error::InvalidInput {
                argument: "file_name",
                ..
            })
        ),
        "{result:?}"
    );
    assert!(script.offsets().is_empty());
}

#[tokio::test]
async fn a_truncated_body_without_resumes_leaves_nothing() {
    let data = archive(200_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // The body ends early.
    let short = response(
        200,
        &[("content-length", data.len().to_string())],
        chunks(&data[..data.len() / 2], 4096),
        false,
    );
    let script = Script::new(vec![short]);
    let result = run(&script, dir, &options(0)).await;
    match result {
        Err(Error::Integrity { path, reason }) => {
            assert!(reason.contains("ended after"), "{reason}");
            assert_eq!(path.parent(), Some(dir));
        }
        other => panic!("{other:?}"),
    }
    assert!(entries(dir).is_empty(), "{:?}", entries(dir));

    // The connection breaks.
    let script = Script::new(vec![broken(&data, 65_536, transport_error().await)]);
    let result = run(&script, dir, &options(0)).await;
    assert!(matches!(result, Err(Error::Transport { .. })), "{result:?}");
    assert!(entries(dir).is_empty(), "{:?}", entries(dir));
    assert_eq!(script.offsets(), [None]);
}

#[tokio::test]
async fn resumes_with_a_range_after_a_mid_body_error() {
    let data = archive(400_000);
    let cut = 40 * 4096;
    assert!(cut < data.len());
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![
        broken(&data, cut, transport_error().await),
        partial(&data, cut),
    ]);
    let progress = Progress::default();
    let got = download_to_dir(
        script.fetch(),
        tmp.path(),
        "srv-9-42.tar.gz",
        &options(3),
        &progress.callback(),
    )
    .await
    .unwrap();
    assert_eq!(script.offsets(), [None, Some(cut as u64)]);
    assert_eq!(got.resumes, 1);
    assert_eq!(got.sha256, sha256_hex(&data));
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
    assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
    let seen = progress.0.lock().unwrap().clone();
    assert!(
        seen.windows(2).all(|w| w[0].bytes <= w[1].bytes),
        "{seen:?}"
    );
}

#[tokio::test]
async fn restarts_when_the_server_ignores_the_range() {
    let data = archive(300_000);
    let cut = 20 * 4096;
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![
        broken(&data, cut, transport_error().await),
        full(&data, None),
    ]);
    let got = run(&script, tmp.path(), &options(3)).await.unwrap();
    assert_eq!(script.offsets(), [None, Some(cut as u64)]);
    assert_eq!(got.resumes, 1);
    assert_eq!(got.bytes, data.len() as u64);
    assert_eq!(got.sha256, sha256_hex(&data));
    assert_eq!(std::fs::read(&got.path).unwrap(), data);
}

#[tokio::test]
async fn an_inconsistent_range_answer_restarts_from_zero() {
    let data = archive(300_000);
    let cut = 20 * 4096;
    let tmp = tempfile::tempdir().unwrap();
    // A 206 for another offset than asked.
    let wrong = partial(&data, cut + 10);
    let script = Script::new(vec![
        broken(&data, cut, transport_error().await),
        wrong,
        full(&data, None),
    ]);
    let got = run(&script, tmp.path(), &options(3)).await.unwrap();
    assert_eq!(script.offsets(), [None, Some(cut as u64), None]);
    assert_eq!(got.resumes, 2);
    assert_eq!(std::fs::read(&got.path).unwrap(), data);

    // Without resumes left, it is an error naming the problem.
    let script = Script::new(vec![
        broken(&data, cut, transport_error().await),
        partial(&data, cut + 10),
    ]);
    let result = run(&script, tmp.path(), &options(1)).await;
    match result {
        Err(Error::UnexpectedResponse { reason, meta, .. }) => {
            assert!(reason.contains("Content-Range"), "{reason}");
            assert_eq!(meta.status, Some(206));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
}

#[tokio::test]
async fn a_stalled_body_times_out_and_resumes() {
    let data = archive(200_000);
    let cut = 10 * 4096;
    let tmp = tempfile::tempdir().unwrap();
    let stalled = || {
        response(
            200,
            &[("content-length", data.len().to_string())],
            chunks(&data[..cut], 4096),
            true,
        )
    };
    let options = DownloadOptions {
        max_resumes: 1,
        idle_timeout: Some(Duration::from_millis(100)),
        verify_gzip: true,
        ..DownloadOptions::default()
    };
    let script = Script::new(vec![stalled(), partial(&data, cut)]);
    let got = run(&script, tmp.path(), &options).await.unwrap();
    assert_eq!(got.resumes, 1);
    assert_eq!(std::fs::read(&got.path).unwrap(), data);

    let dir = tmp.path().join("again");
    let script = Script::new(vec![stalled()]);
    let result = run(
        &script,
        &dir,
        &DownloadOptions {
            max_resumes: 0,
            ..options
        },
    )
    .await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(entries(&dir).is_empty());
}

#[tokio::test]
async fn a_lying_content_length_is_an_integrity_error() {
    let data = archive(100_000);
    let tmp = tempfile::tempdir().unwrap();
    // Announces more than it sends.
    let long = response(
        200,
        &[("content-length", (data.len() + 100).to_string())],
        chunks(&data, 4096),
        false,
    );
    let script = Script::new(vec![long]);
    let result = run(&script, tmp.path(), &options(0)).await;
    assert!(
        matches!(&result, Err(Error::Integrity { reason, .. }) if reason.contains("ended after")),
        "{result:?}"
    );
    assert!(entries(tmp.path()).is_empty());

    // Announces less than it sends: never resumed, it cannot be trusted.
    let short = response(
        200,
        &[("content-length", (data.len() - 100).to_string())],
        chunks(&data, 4096),
        false,
    );
    let script = Script::new(vec![short]);
    let result = run(&script, tmp.path(), &options(3)).await;
    assert!(
        matches!(&result, Err(Error::Integrity { reason, .. }) if reason.contains("more than")),
        "{result:?}"
    );
    assert_eq!(script.offsets(), [None]);
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn corrupt_or_incomplete_gzip_is_an_integrity_error() {
    let data = archive(200_000);
    let tmp = tempfile::tempdir().unwrap();
    let mut flipped = data.clone();
    flipped[data.len() / 2] ^= 0x55;
    let mut bad_crc = data.clone();
    let at = data.len() - 8;
    bad_crc[at] ^= 1;
    let truncated = data[..data.len() - 1000].to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("flipped byte", flipped, "gzip"),
        ("bad crc", bad_crc, "CRC-32"),
        ("truncated", truncated, "ends early"),
        ("not gzip", b"<html>oops</html>".to_vec(), "magic"),
        ("empty", Vec::new(), "empty"),
    ];
    for (what, body, expected) in cases {
        let script = Script::new(vec![full(&body, None)]);
        let result = run(&script, tmp.path(), &options(2)).await;
        match result {
            Err(Error::Integrity { reason, .. }) => {
                assert!(reason.contains(expected), "{what}: {reason}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(entries(tmp.path()).is_empty(), "{what}");
    }

    // Without a length, only the gzip check can tell the body was cut.
    let cut = response(200, &[], chunks(&data[..data.len() / 2], 4096), false);
    let script = Script::new(vec![cut]);
    let result = run(&script, tmp.path(), &options(2)).await;
    assert!(matches!(result, Err(Error::Integrity { .. })), "{result:?}");
    assert!(entries(tmp.path()).is_empty());

    // With the check off, anything goes.
    let script = Script::new(vec![full(b"plain bytes", None)]);
    let options = DownloadOptions {
        verify_gzip: false,
        ..options(0)
    };
    let got = run(&script, tmp.path(), &options).await.unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), b"plain bytes");
}

#[tokio::test]
async fn an_existing_file_is_replaced_only_when_overwriting() {
    let data = archive(20_000);
    let tmp = tempfile::tempdir().unwrap();
    let taken = tmp.path().join("srv-9-42.tar.gz");
    std::fs::write(&taken, b"old").unwrap();
    // Not overwriting: a typed error naming the file; no `.1`, nothing left.
    let script = Script::new(vec![full(&data, None)]);
    match run(&script, tmp.path(), &options(0)).await {
        Err(Error::Io { path, source, .. }) => {
            assert_eq!(path, taken);
            assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&taken).unwrap(), b"old");
    assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
    // Overwriting: the checked archive takes the name.
    let script = Script::new(vec![full(&data, None)]);
    let overwrite = DownloadOptions {
        overwrite: true,
        ..options(0)
    };
    let got = run(&script, tmp.path(), &overwrite).await.unwrap();
    assert_eq!(got.path, taken);
    assert_eq!(std::fs::read(&taken).unwrap(), data);
    assert_eq!(entries(tmp.path()), ["srv-9-42.tar.gz"]);
}

#[tokio::test]
async fn a_file_in_the_way_of_the_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    for dir in [file.clone(), file.join("sub")] {
        let script = Script::new(vec![]);
        let result = run(&script, &dir, &options(0)).await;
        match result {
            Err(e @ Error::Io { .. }) => {
                assert!(e.to_string().contains(&*dir.to_string_lossy()), "{e}");
            }
            other => panic!("{}: {other:?}", dir.display()),
        }
        assert!(script.offsets().is_empty());
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_directory_is_an_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"").is_ok() {
        // Running as root: permissions do not bite (the directory-under-a-file
        // case covers the error path).
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let script = Script::new(vec![]);
    let result = run(&script, &dir, &options(0)).await;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    match result {
        Err(Error::Io { path, source, .. }) => {
            assert_eq!(path, dir);
            assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_non_success_status_is_an_unexpected_response() {
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![response(
        404,
        &[("x-request-id", "r-9".into())],
        vec![],
        false,
    )]);
    let result = run(&script, tmp.path(), &options(3)).await;
    match result {
        Err(Error::UnexpectedResponse { meta, .. }) => {
            assert_eq!(meta.status, Some(404));
            assert_eq!(meta.request_id.as_deref(), Some("r-9"));
        }
        other => panic!("{other:?}"),
    }
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn a_fetch_error_on_resume_is_returned_and_cleans_up() {
    let data = archive(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![broken(&data, 8192, transport_error().await)]);
    let result = run(&script, tmp.path(), &options(3)).await;
    assert!(
        matches!(
            result,
            Err(Error::InvalidInput {
                argument: "test",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(script.offsets(), [None, Some(8192)]);
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn dropping_the_future_mid_download_removes_the_temporary_file() {
    let data = archive(200_000);
    let tmp = tempfile::tempdir().unwrap();
    let stalled = response(
        200,
        &[("content-length", data.len().to_string())],
        chunks(&data[..data.len() / 2], 4096),
        true,
    );
    let script = Script::new(vec![stalled]);
    let options = DownloadOptions {
        idle_timeout: None,
        ..options(0)
    };
    let mut download = Box::pin(run(&script, tmp.path(), &options));
    let started = Instant::now();
    loop {
        tokio::select! {
            result = &mut download => panic!("finished: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        let names = entries(tmp.path());
        if started.elapsed() > Duration::from_millis(100) {
            assert_eq!(names.len(), 1, "{names:?}");
            assert!(names[0].starts_with(".clouddc-") && names[0].ends_with(".part"));
            break;
        }
    }
    drop(download);
    assert!(entries(tmp.path()).is_empty(), "{:?}", entries(tmp.path()));
}

/// A 200 announcing `data` whose body delivers one byte every `every`.
fn trickle(data: &[u8], every: Duration) -> ResponseValue<ByteStream> {
    let bytes = Bytes::copy_from_slice(data);
    let stream = futures::stream::unfold(0, move |at| {
        let bytes = bytes.clone();
        async move {
            tokio::time::sleep(every).await;
            (at < bytes.len()).then(|| (Ok(bytes.slice(at..=at)), at + 1))
        }
    });
    let body: BodyStream = Box::pin(stream);
    let mut headers = HeaderMap::new();
    headers.insert("content-length", data.len().into());
    ResponseValue::new(ByteStream::new(body), StatusCode::OK, headers)
}

#[tokio::test]
async fn a_trickling_body_is_cut_by_the_speed_floor_resumed_then_failed() {
    let data = archive(50_000);
    let tmp = tempfile::tempdir().unwrap();
    let every = Duration::from_millis(20);
    let script = Script::new(vec![trickle(&data, every), trickle(&data, every)]);
    let options = DownloadOptions {
        low_speed: Some(LowSpeed {
            bytes_per_second: 1024,
            time: Duration::from_millis(300),
        }),
        ..options(1)
    };
    let started = Instant::now();
    let result = run(&script, tmp.path(), &options).await;
    let elapsed = started.elapsed();
    match &result {
        Err(Error::Timeout { what, .. }) => assert!(what.contains("1024 bytes/s"), "{what}"),
        other => panic!("{other:?}"),
    }
    // The idle timeout (120 s) never fired: data kept coming. Each body was cut
    // within two windows.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(script.offsets().len(), 2, "{:?}", script.offsets());
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn a_body_without_a_length_is_cut_at_the_size_bound_and_leaves_nothing() {
    let data = archive(200_000);
    let tmp = tempfile::tempdir().unwrap();
    let limit = 64 * 1024;
    assert!(data.len() > limit);
    let unbounded = response(200, &[], chunks(&data, 4096), true);
    let script = Script::new(vec![unbounded]);
    let options = DownloadOptions {
        max_archive_bytes: Some(limit as u64),
        ..options(3)
    };
    let progress = Progress::default();
    let result = download_to_dir(
        script.fetch(),
        tmp.path(),
        "x.tar.gz",
        &options,
        &progress.callback(),
    )
    .await;
    match &result {
        Err(Error::Io { source, path, .. }) => {
            assert_eq!(source.kind(), io::ErrorKind::FileTooLarge);
            assert!(source.to_string().contains(&limit.to_string()), "{source}");
            assert_eq!(path, tmp.path());
        }
        other => panic!("{other:?}"),
    }
    // Not resumed, never past the bound, nothing left.
    assert_eq!(script.offsets(), [None]);
    assert!(progress.last().unwrap().bytes <= limit as u64);
    assert!(entries(tmp.path()).is_empty());
}

#[tokio::test]
async fn an_archive_announced_over_the_bound_fails_before_its_body() {
    let data = archive(20_000);
    let tmp = tempfile::tempdir().unwrap();
    let script = Script::new(vec![full(&data, None)]);
    let options = DownloadOptions {
        max_archive_bytes: Some(data.len() as u64 - 1),
        ..options(3)
    };
    let result = run(&script, tmp.path(), &options).await;
    assert!(
        matches!(&result, Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::FileTooLarge),
        "{result:?}"
    );
    assert_eq!(script.offsets(), [None]);
    assert!(entries(tmp.path()).is_empty());

    // At the bound exactly, it is fine.
    let script = Script::new(vec![full(&data, None)]);
    let options = DownloadOptions {
        max_archive_bytes: Some(data.len() as u64),
        ..options
    };
    assert!(run(&script, tmp.path(), &options).await.is_ok());
}

#[cfg(unix)]
#[tokio::test]
async fn an_announced_length_over_the_free_space_fails_naming_both_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    // A petabyte: more than this machine's disk, announced, never sent.
    let huge: u64 = 1 << 50;
    let script = Script::new(vec![response(
        200,
        &[("content-length", huge.to_string())],
        vec![],
        true,
    )]);
    let options = DownloadOptions {
        max_archive_bytes: None,
        ..options(3)
    };
    let result = run(&script, tmp.path(), &options).await;
    match &result {
        Err(Error::Io { source, path, .. }) => {
            assert_eq!(source.kind(), io::ErrorKind::StorageFull);
            let text = source.to_string();
            assert!(
                text.contains(&huge.to_string()) && text.contains("bytes are free"),
                "{text}"
            );
            assert_eq!(path, tmp.path());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(script.offsets(), [None]);
    assert!(entries(tmp.path()).is_empty());
}

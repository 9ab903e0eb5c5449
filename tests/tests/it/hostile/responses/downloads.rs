//! Downloads: lengths, content types, names.

use super::*;

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

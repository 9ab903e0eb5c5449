//! Downloads: deadlines and bounds (issue 18, items 4 and 5).

use super::*;

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

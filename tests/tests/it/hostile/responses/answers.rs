//! Status and export answers: JSON, content types, error pages.

use super::*;

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

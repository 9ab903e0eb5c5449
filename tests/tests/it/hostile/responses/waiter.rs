//! The waiter: percentages, statuses, exports that never end.

use super::*;

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

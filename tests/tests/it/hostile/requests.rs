//! Hostile requests to the simulator, many as raw bytes over TCP so no client
//! library cleans them up first: garbage paths, huge and non-UTF-8 headers,
//! non-HTTP bytes, unicode ids, bad, tampered and replayed signatures, dates
//! out of the window, other projects, garbage `Range`s and bodies.
//!
//! Each must get a 4xx (in the gateway's `{error_code, error_msg}` shape when
//! the simulator, not hyper, answers) or a documented tolerant answer; never a
//! 5xx, never a hang; and the simulator must serve a normal request afterwards.

use crate::support::client;

use std::time::Duration;

use clouddc::signing::sign_request;
use clouddc::{DownloadOptions, Secret};
use clouddc_sim::{SimConfig, SimHandle, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "hostile-requests-token";
const AK: &str = "HOSTILEAK";
const SK: &str = "hostile-requests-sk";
/// A raw exchange ends within this or the test fails.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(10);

/// Quick exports and small archives, with the test's credentials.
fn config() -> SimConfig {
    SimConfig {
        tokens: vec![TOKEN.into()],
        ak_sk: vec![(AK.into(), SK.into())],
        export_duration: Duration::ZERO,
        archive_bytes: 16 * 1024,
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    Simulator::start(config)
        .await
        .expect("the simulator starts")
}

/// What came back on a raw connection: `None` for the status when the
/// connection closed without an answer.
#[derive(Debug)]
struct Raw {
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The simulator (not hyper) answered: request id and the gateway's JSON.
    fn assert_gateway_error(&self, status: u16, what: &str) {
        assert_eq!(self.status, Some(status), "{what}: {self:?}");
        assert!(
            self.header("x-request-id").is_some(),
            "{what}: {}",
            self.head
        );
        let body: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {self:?}"));
        assert!(body["error_code"].is_string(), "{what}: {body}");
        assert!(body["error_msg"].is_string(), "{what}: {body}");
    }
}

/// Sends `request` as is and reads until the server closes.
async fn raw(sim: &SimHandle, request: &[u8]) -> Raw {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
            .await
            .unwrap();
        // The server may close before reading everything (a refused head).
        let _ = stream.write_all(request).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        answer
    };
    let answer = tokio::time::timeout(EXCHANGE_LIMIT, exchange)
        .await
        .expect("the simulator answers or closes in time");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    Raw {
        status,
        head,
        body: answer[split..].to_vec(),
    }
}

/// A GET of `target` with the token, `Connection: close` and `extra` head lines.
fn get(target: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-auth-token: {TOKEN}\r\nconnection: close\r\n{extra}\r\n"
    )
    .into_bytes()
}

fn exports(sim: &SimHandle, server: &str) -> String {
    format!(
        "/v1/{}/physicalservers/{server}/logs/exports",
        sim.project_id()
    )
}

/// The simulator still serves: a token export answers 202.
async fn assert_still_serving(sim: &SimHandle) {
    let target = exports(sim, "srv-alive");
    let request = format!(
        "POST {target} HTTP/1.1\r\nhost: x\r\nx-auth-token: {TOKEN}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    let answer = raw(sim, request.as_bytes()).await;
    assert_eq!(answer.status, Some(202), "{answer:?}");
}

fn http() -> reqwest::Client {
    client::http(EXCHANGE_LIMIT)
}

#[tokio::test]
async fn garbage_paths_answer_4xx() {
    let sim = start(config()).await;
    let p = sim.project_id().to_owned();
    let long = format!(
        "/v1/{p}/physicalservers/{}/logs/exports",
        "x".repeat(64 * 1024)
    );
    // (target, expected status, whether the simulator itself answers)
    let cases: Vec<(String, u16, bool)> = vec![
        ("/v1/../../../etc/passwd".into(), 404, true),
        ("/../../../../etc/shadow".into(), 404, true),
        // Dot segments as ids name nothing (the client refuses to send them).
        (
            format!("/v1/{p}/physicalservers/%2e%2e/logs/exports/e1"),
            404,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers/./logs/exports/e1"),
            404,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers/%00/logs/exports/e1"),
            400,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers/a%0d%0aSet-Cookie:x/logs/exports/e1"),
            400,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers/%FF%FE/logs/exports/e1"),
            400,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers//logs/exports/e1"),
            400,
            true,
        ),
        (
            format!("/v1/{p}/physicalservers/srv/logs/exports/e1/content/extra"),
            404,
            true,
        ),
        (format!("//v1//{p}///physicalservers"), 404, true),
        (
            format!("/v1/{p}/physicalservers/srv/logs/exports/unknown?%zz=&&==&a=%"),
            404,
            true,
        ),
        ("/%".into(), 400, false),
        ("*".into(), 404, true),
        // hyper's own limit on the request target.
        (long, 414, false),
    ];
    for (target, expected, from_simulator) in cases {
        let answer = raw(&sim, &get(&target, "")).await;
        let shown = &target[..target.len().min(80)];
        if from_simulator {
            answer.assert_gateway_error(expected, shown);
        } else {
            // hyper refused the request line itself.
            assert!(
                answer.status.is_none_or(|s| (400..500).contains(&s)),
                "{shown}: {answer:?}"
            );
        }
    }
    assert_still_serving(&sim).await;
}

#[tokio::test]
async fn huge_many_or_broken_headers_are_refused_by_the_server() {
    let sim = start(config()).await;
    let target = exports(&sim, "srv") + "/e1";
    let huge = format!("x-padding: {}\r\n", "a".repeat(1 << 20));
    let many: String = (0..500).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a 1 MiB header", get(&target, &huge)),
        ("500 headers", get(&target, &many)),
        (
            "a header without a colon",
            get(&target, "this is not a header\r\n"),
        ),
        ("a NUL in a header", get(&target, "x-a: b\0c\r\n")),
        (
            "an obsolete folded header",
            get(&target, "x-a: b\r\n  folded\r\n"),
        ),
        (
            "TLS to a plain port",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage".to_vec(),
        ),
        ("an SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()),
        ("HTTP/9", b"GET / HTTP/9.9\r\n\r\n".to_vec()),
    ];
    for (what, request) in cases {
        let answer = raw(&sim, &request).await;
        assert!(
            answer.status.is_none_or(|s| (400..500).contains(&s)),
            "{what}: {:?}",
            answer.status
        );
    }
    assert_still_serving(&sim).await;
}

#[tokio::test]
async fn non_utf8_or_wrong_credentials_are_401_and_never_echoed() {
    let sim = start(config()).await;
    let target = exports(&sim, "srv") + "/e1";
    let request = |token: &[u8]| {
        let mut r =
            format!("GET {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-auth-token: ")
                .into_bytes();
        r.extend_from_slice(token);
        r.extend_from_slice(b"\r\n\r\n");
        r
    };
    let mut near_miss = TOKEN.as_bytes().to_vec();
    near_miss.pop();
    let mut with_suffix = TOKEN.as_bytes().to_vec();
    with_suffix.push(b'x');
    let long = vec![b'a'; 16 * 1024];
    for (what, token) in [
        ("non-UTF-8", b"\xff\xfe\xfd".to_vec()),
        ("a prefix of the token", near_miss),
        ("the token and more", with_suffix),
        ("16 KiB", long),
        ("empty", Vec::new()),
    ] {
        let answer = raw(&sim, &request(&token)).await;
        answer.assert_gateway_error(401, what);
        let body = String::from_utf8_lossy(&answer.body);
        assert!(!body.contains(TOKEN), "{what}: {body}");
    }
    assert_still_serving(&sim).await;
}

#[tokio::test]
async fn unicode_ids_work_end_to_end_with_a_safe_file_name() {
    let sim = start(config()).await;
    let client = client::without_retries(sim.base_url(), sim.project_id(), TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let emoji_128 = "😀".repeat(128);
    for (server, file) in [
        ("srv-ü€-日本", "srv-__-__-dump.tar.gz"),
        ("srv\u{202e}zg.rat", "srv_zg.rat-dump.tar.gz"),
        ("srv\u{200b}zero-width", "srv_zero-width-dump.tar.gz"),
        ("../srv", "_srv-dump.tar.gz"),
        ("a b/c", "a_b_c-dump.tar.gz"),
        (emoji_128.as_str(), ""),
    ] {
        let task = client
            .export(server)
            .await
            .unwrap_or_else(|e| panic!("{server}: {e}"));
        let status = client.status(server, &task.export_id).await.unwrap();
        assert!(status.status.is_completed(), "{server}");
        let got = client
            .download(
                server,
                &task.export_id,
                dir.path(),
                &DownloadOptions::default(),
                &|_| {},
            )
            .await
            .unwrap_or_else(|e| panic!("{server}: {e}"));
        let name = got.path.file_name().unwrap().to_str().unwrap();
        assert_eq!(got.path.parent(), Some(dir.path()), "{server}");
        // The file is named after the id, ASCII and reversible; the
        // simulator's own safe name is only the suggestion.
        assert_eq!(name, clouddc::download::archive_file_name(server));
        assert!(name.is_ascii() && name.ends_with("-dump.tar.gz"), "{name}");
        let suggested = got.suggested_name.as_deref().unwrap();
        if server == emoji_128 {
            assert_eq!(suggested, format!("{}-dump.tar.gz", "_".repeat(64)));
        } else {
            assert_eq!(suggested, file, "{server}");
        }
        let expected = sim.expected_sha256(server, &task.export_id).await.unwrap();
        assert_eq!(got.sha256, expected, "{server}");
    }
    // 129 characters is one too many: refused before sending and by the simulator.
    let too_long = "😀".repeat(129);
    assert!(client.export(&too_long).await.is_err());
    let answer = raw(
        &sim,
        format!(
            "POST {} HTTP/1.1\r\nhost: x\r\nx-auth-token: {TOKEN}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            exports(&sim, &progenitor_client::encode_path(&too_long))
        )
        .as_bytes(),
    )
    .await;
    answer.assert_gateway_error(400, "129 characters");
}

/// A POST export request to `server` of `project`, signed with `sk` at `date`.
fn signed_export(
    sim: &SimHandle,
    project: &str,
    server: &str,
    sk: &str,
    date: chrono::DateTime<chrono::Utc>,
) -> reqwest::Request {
    let url = format!(
        "{}/v1/{project}/physicalservers/{server}/logs/exports",
        sim.base_url()
    );
    let mut request = http()
        .post(url)
        .header("content-type", "application/json")
        .body("{}")
        .build()
        .unwrap();
    sign_request(
        &mut request,
        AK,
        &Secret::new(sk),
        None,
        Some(project),
        date,
    )
    .unwrap();
    request
}

async fn send(request: reqwest::Request) -> (u16, String) {
    let response = http().execute(request).await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn bad_tampered_and_out_of_window_signatures_are_401() {
    let sim = start(config()).await;
    let now = chrono::Utc::now();
    let p = sim.project_id().to_owned();
    let mut cases: Vec<(&str, reqwest::Request)> = Vec::new();
    cases.push((
        "wrong SK",
        signed_export(&sim, &p, "srv", "not-the-sk", now),
    ));
    cases.push((
        "dated 16 minutes ahead",
        signed_export(&sim, &p, "srv", SK, now + chrono::TimeDelta::minutes(16)),
    ));
    cases.push((
        "dated a year ago",
        signed_export(&sim, &p, "srv", SK, now - chrono::TimeDelta::days(365)),
    ));
    let mut tampered_body = signed_export(&sim, &p, "srv", SK, now);
    *tampered_body.body_mut() = Some("{ }".into());
    cases.push(("body changed after signing", tampered_body));
    let mut moved = signed_export(&sim, &p, "srv", SK, now);
    let mut url = moved.url().clone();
    url.set_path(&url.path().replace("/srv/", "/srv-other/"));
    *moved.url_mut() = url;
    cases.push(("replayed on another server's path", moved));
    let mut redated = signed_export(&sim, &p, "srv", SK, now);
    redated
        .headers_mut()
        .insert("x-sdk-date", "20990101T000000Z".parse().unwrap());
    cases.push(("date changed after signing", redated));
    let mut garbage_date = signed_export(&sim, &p, "srv", SK, now);
    garbage_date
        .headers_mut()
        .insert("x-sdk-date", "yesterday".parse().unwrap());
    cases.push(("a malformed X-Sdk-Date", garbage_date));
    let mut doubled = signed_export(&sim, &p, "srv", SK, now);
    doubled.headers_mut().append(
        "x-sdk-date",
        clouddc::signing::format_sdk_date(now).parse().unwrap(),
    );
    cases.push(("X-Sdk-Date sent twice", doubled));
    for authorization in [
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA1 Access=HOSTILEAK, SignedHeaders=host;x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=HOSTILEAK, SignedHeaders=host;x-sdk-date, Signature=zz",
        "SDK-HMAC-SHA256 Access=HOSTILEAK, SignedHeaders=x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=UNKNOWNAK, SignedHeaders=host;x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=HOSTILEAK, SignedHeaders=;;;, Signature=00",
    ] {
        let mut request = signed_export(&sim, &p, "srv", SK, now);
        request
            .headers_mut()
            .insert("authorization", authorization.parse().unwrap());
        cases.push(("a malformed Authorization", request));
    }
    let mut huge = signed_export(&sim, &p, "srv", SK, now);
    let padding = format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders=host;x-sdk-date, Signature=00",
        "A".repeat(8 * 1024)
    );
    huge.headers_mut()
        .insert("authorization", padding.parse().unwrap());
    cases.push(("an 8 KiB Authorization", huge));
    for (what, request) in cases {
        let (status, body) = send(request).await;
        assert_eq!(status, 401, "{what}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error_code"], "APIGW.0301", "{what}");
        let message = body["error_msg"].as_str().unwrap();
        assert!(!message.contains(SK), "{what}: {message}");
    }
    assert_eq!(sim.stats().tasks_created, 0, "no refused request acted");
    assert_still_serving(&sim).await;
}

#[tokio::test]
async fn a_replayed_signature_works_only_inside_the_date_window() {
    // Signatures carry no nonce, as the vendor's gateway: a byte-identical replay
    // inside the window is the same request again (an export answers with the
    // running task); outside the window it is refused.
    let sim = start(SimConfig {
        max_clock_skew: Duration::from_secs(2),
        export_duration: Duration::from_secs(60),
        ..config()
    })
    .await;
    let p = sim.project_id().to_owned();
    let request = signed_export(&sim, &p, "srv-replay", SK, chrono::Utc::now());
    let replay = request.try_clone().unwrap();
    let late_replay = request.try_clone().unwrap();
    let (status, first) = send(request).await;
    assert_eq!(status, 202, "{first}");
    let (status, again) = send(replay).await;
    assert_eq!(status, 202, "{again}");
    let id =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["export_id"].clone();
    assert_eq!(id(&first), id(&again), "the replay created nothing new");
    assert_eq!(sim.stats().tasks_created, 1);
    // Past the 2 s window: X-Sdk-Date and the check both count whole seconds, so
    // 3 s after signing the skew is at least 3 s whatever the sub-second phase. The
    // window is 2 s, not 1, so a loaded CI machine's first send still falls inside.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = send(late_replay).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("X-Sdk-Date"), "{body}");
}

#[tokio::test]
async fn another_project_is_403_whatever_the_credentials() {
    let sim = start(config()).await;
    let now = chrono::Utc::now();
    // Signed correctly, for another project's path.
    let (status, body) = send(signed_export(&sim, "another-project", "srv", SK, now)).await;
    assert_eq!(status, 403, "{body}");
    for project in ["another-project", "..", "%00", &"p".repeat(200), "😀"] {
        let target = format!("/v1/{project}/physicalservers/srv/logs/exports/e1");
        let answer = raw(&sim, &get(&target, "")).await;
        // The project is checked first: nothing about other projects leaks.
        answer.assert_gateway_error(403, project);
    }
    assert_eq!(sim.stats().tasks_created, 0);
}

#[tokio::test]
async fn garbage_ranges_and_bodies_get_documented_answers() {
    let sim = start(config()).await;
    let client = client::of_sim(&sim).token(TOKEN).build().unwrap();
    let task = client.export("srv-range").await.unwrap();
    let target = format!("{}/{}/content", exports(&sim, "srv-range"), task.export_id);
    let whole = raw(&sim, &get(&target, "")).await;
    assert_eq!(whole.status, Some(200));
    let len = whole.body.len();
    // Ranges the archive cannot satisfy are ignored: 200 with everything.
    for range in [
        "bytes=abc-",
        "bytes=-5",
        "bytes=5-2",
        "bytes=0-1,3-4",
        "items=0-1",
        "bytes=99999999999999999999999-",
        &format!("bytes={len}-"),
    ] {
        let answer = raw(&sim, &get(&target, &format!("range: {range}\r\n"))).await;
        assert_eq!(answer.status, Some(200), "{range}");
        assert_eq!(answer.body.len(), len, "{range}");
    }
    let mut non_utf8 = get(&target, "");
    non_utf8.truncate(non_utf8.len() - 2);
    non_utf8.extend_from_slice(b"range: bytes=\xff-\r\n\r\n");
    assert_eq!(raw(&sim, &non_utf8).await.status, Some(200));
    let one = raw(&sim, &get(&target, "range: bytes=0-0\r\n")).await;
    assert_eq!(one.status, Some(206));
    assert_eq!(one.body, whole.body[..1]);
    let long = format!("range: bytes=0-{}\r\n", "0".repeat(300));
    raw(&sim, &get(&target, &long))
        .await
        .assert_gateway_error(400, "a 300-byte Range");

    // Export bodies: only `{}` or nothing; a huge one is refused unread.
    let post = |body: &str, length: Option<u64>| {
        format!(
            "POST {} HTTP/1.1\r\nhost: x\r\nx-auth-token: {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            exports(&sim, "srv-body"),
            length.unwrap_or(body.len() as u64)
        )
    };
    for (what, request) in [
        ("not JSON", post("{", None)),
        ("an array", post("[]", None)),
        ("an unknown option", post(r#"{"all":true}"#, None)),
        (
            "17 KiB",
            post(&format!(r#"{{"x":"{}"}}"#, "a".repeat(17 * 1024)), None),
        ),
    ] {
        raw(&sim, request.as_bytes())
            .await
            .assert_gateway_error(400, what);
    }
    // A method the path does not declare: 405 with Allow.
    let answer = raw(
        &sim,
        format!("BREW {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(answer.status, Some(405), "{answer:?}");
    let allow = answer.header("allow").unwrap_or_default();
    assert!(allow.split(',').any(|m| m.trim() == "GET"), "{allow}");
    assert!(!allow.contains("BREW"), "{allow}");
    assert_still_serving(&sim).await;
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_without_waiting_for_it() {
    // 10 GB announced, nothing sent: the 16 KiB body limit can refuse it from
    // the header alone. Waiting for the bytes instead would let any caller,
    // before authentication, hold a connection and a handler open for as long
    // as it likes.
    let sim = start(config()).await;
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\nconnection: close\r\n\r\n",
        exports(&sim, "srv-body")
    );
    raw(&sim, request.as_bytes())
        .await
        .assert_gateway_error(400, "a 10 GB Content-Length");
}

//! Fuzz targets that run on stable Rust (no nightly, so no cargo-fuzz): each
//! target drives random and mutated inputs through one family of parsers of
//! untrusted text for a bounded time and checks that nothing panics and that
//! the parser's invariants hold for every input.
//!
//! The engine is small: a corpus of seeds (real and known-tricky inputs), and
//! per iteration one to four mutations of a corpus entry (bit flips, random
//! and "interesting" bytes, inserted dictionary tokens, deleted, duplicated or
//! spliced ranges), or now and then fresh random bytes. Without coverage
//! instrumentation on stable, an input joins the corpus when it makes an output
//! the target has not produced before (its "shape"), which steers mutation
//! toward new behaviour.
//!
//! `CLOUDDC_FUZZ_SECONDS` is the whole run's duration, split evenly between the
//! targets (20 s by default, the bounded run of `cargo test`; `cargo xtask fuzz
//! [--seconds N]` runs longer in release). `CLOUDDC_FUZZ_SEED` picks the random
//! stream (fixed by default, so a failure reproduces). A failing input is
//! printed in hex before the panic goes on.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use clouddc::content_disposition::{
    MAX_FILE_NAME_BYTES, safe_file_name, sanitize_file_name, split_extension,
};
use clouddc::endpoint::normalise_endpoint;
use clouddc::error::{ApiError, MAX_BODY_SNIPPET, request_id, retry_after};
use clouddc::signing::{
    canonical_headers, canonical_query, canonical_uri, format_sdk_date, parse_sdk_date,
    sign_request, verify,
};
use clouddc::validate::{MAX_ID_LEN, validate_id};
use clouddc::{CreatedAt, ExportStatus, Percentage, Secret};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// How many targets share the run's time.
const TARGETS: u32 = 5;
/// The corpus stops growing here, so memory stays bounded on long runs.
const MAX_CORPUS: usize = 4096;
/// The longest input made.
const MAX_INPUT: usize = 4096;

/// Bytes that tend to matter to these parsers.
const INTERESTING: &[u8] = b"\0\x01\x1b\x7f\xff/\\.%\"';=:*?<>|~- \t\r\n,&+#@[]{}";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|text| text.parse().unwrap_or_else(|_| panic!("{name}={text:?}")))
        .unwrap_or(default)
}

/// This target's share of the run.
fn budget() -> Duration {
    let total = env_number("CLOUDDC_FUZZ_SECONDS", 20);
    Duration::from_millis(total * 1000 / u64::from(TARGETS))
}

/// Runs `check` on mutated inputs for the target's budget; returns how many
/// inputs it ran. `check` returns the input's shape (any hashable summary of
/// the output) and panics when an invariant breaks.
fn fuzz<S: Hash>(
    name: &str,
    seeds: &[&[u8]],
    dictionary: &[&[u8]],
    check: impl Fn(&[u8]) -> S,
) -> u64 {
    let seed = env_number("CLOUDDC_FUZZ_SEED", 0x5EED_C10D) ^ hash_of(&name);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut corpus: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    corpus.push(Vec::new());
    let mut shapes = HashSet::new();
    let started = Instant::now();
    let deadline = started + budget();
    let mut iterations = 0u64;
    // Seeds first, then mutations until the deadline; checked every 64 inputs
    // so the clock costs nothing.
    let mut pending: Vec<Vec<u8>> = corpus.clone();
    loop {
        if pending.is_empty() {
            if iterations.is_multiple_of(64) && Instant::now() >= deadline {
                break;
            }
            pending.push(mutate(&mut rng, &corpus, dictionary));
        }
        let input = pending.pop().expect("an input");
        let shape = match catch_unwind(AssertUnwindSafe(|| hash_of(&check(&input)))) {
            Ok(shape) => shape,
            Err(panic) => {
                eprintln!(
                    "fuzz {name}: failing input (seed {seed:#x}, iteration {iterations}):\n  \
                     hex: {}\n  text: {:?}",
                    hex::encode(&input),
                    String::from_utf8_lossy(&input)
                );
                resume_unwind(panic);
            }
        };
        iterations += 1;
        if shapes.insert(shape) && corpus.len() < MAX_CORPUS {
            corpus.push(input);
        }
    }
    println!(
        "fuzz {name}: {iterations} inputs in {:.1} s, {} distinct shapes, corpus {}, seed {seed:#x}",
        started.elapsed().as_secs_f64(),
        shapes.len(),
        corpus.len()
    );
    assert!(
        iterations > corpus.len() as u64,
        "{name}: the budget ran no mutation"
    );
    iterations
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A new input from the corpus.
fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>], dictionary: &[&[u8]]) -> Vec<u8> {
    if rng.random_ratio(1, 32) {
        let len = rng.random_range(0..256);
        return (0..len).map(|_| rng.random()).collect();
    }
    let mut input = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let at = |rng: &mut StdRng, input: &Vec<u8>| rng.random_range(0..=input.len());
        match rng.random_range(0..9) {
            0 if !input.is_empty() => {
                let i = rng.random_range(0..input.len());
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !input.is_empty() => {
                let i = rng.random_range(0..input.len());
                input[i] = rng.random();
            }
            2 => {
                let i = at(rng, &input);
                let byte = INTERESTING[rng.random_range(0..INTERESTING.len())];
                input.insert(i, byte);
            }
            3 if !dictionary.is_empty() => {
                let i = at(rng, &input);
                let token = dictionary[rng.random_range(0..dictionary.len())];
                input.splice(i..i, token.iter().copied());
            }
            4 if !input.is_empty() => {
                let from = rng.random_range(0..input.len());
                let to = rng.random_range(from..=input.len().min(from + 16));
                input.drain(from..to);
            }
            5 if !input.is_empty() => {
                let from = rng.random_range(0..input.len());
                let to = rng.random_range(from..=input.len().min(from + 16));
                let copy = input[from..to].to_vec();
                let i = at(rng, &input);
                input.splice(i..i, copy);
            }
            6 => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let cut = rng.random_range(0..=other.len());
                let i = at(rng, &input);
                input.truncate(i);
                input.extend_from_slice(&other[cut..]);
            }
            7 => {
                // A multi-byte UTF-8 character, often a troublesome one.
                let c = [
                    '\u{202e}', '\u{200b}', '\u{feff}', '\u{ff0f}', '€', 'ß', '😀', '\u{fffd}', '¹',
                ][rng.random_range(0..9)];
                let i = at(rng, &input);
                let mut buf = [0u8; 4];
                input.splice(i..i, c.encode_utf8(&mut buf).bytes());
            }
            _ => {
                let i = at(rng, &input);
                input.insert(i, rng.random());
            }
        }
    }
    input.truncate(MAX_INPUT);
    input
}

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

// ---------------------------------------------------------------------------
// The targets.
// ---------------------------------------------------------------------------

#[test]
fn fuzz_tolerant_wire_types() {
    let seeds: &[&[u8]] = &[
        br#"{"export_id":"6e18","status":"processing","percentage":"30","created_at":"2026-11-23T09:42:13Z"}"#,
        br#"{"export_id":"6e18","status":"Running","percentage":"30%","created_at":"2025-03-20T02:48:06+00:00"}"#,
        br#"{"export_id":"6e18","status":"completed","percentage":100}"#,
        br#"{"export_id":"e","status":7,"percentage":-1.5e3,"created_at":true}"#,
        // Found by this target: a float serde_json's default parser rounds off.
        br#"{"export_id":"e","status":7,"percentage":-1.5e93,"created_at":true}"#,
        br#"{"export_id":"e","status":"FAILED","percentage":" 42.5 % "}"#,
        b"2025-03-20 02:48:06.123+0800",
        b"100%",
    ];
    let dictionary: &[&[u8]] = &[
        b"\"percentage\":",
        b"\"status\":",
        b"\"created_at\":",
        b"\"export_id\":",
        b"%",
        b"1e400",
        b"NaN",
        b"-",
        b"100",
        b"null",
        b"true",
        b"\\u0000",
        b"T",
        b"Z",
        b"+00:00",
        b"In_Progress",
    ];
    fuzz("tolerant", seeds, dictionary, |input| {
        // The whole task as JSON.
        let decoded = serde_json::from_slice::<clouddc::types::ExportTask>(input);
        if let Ok(task) = &decoded {
            let again: clouddc::types::ExportTask =
                serde_json::from_str(&serde_json::to_string(task).unwrap()).unwrap();
            assert_eq!(again.status, task.status, "the status keeps its wire form");
            assert_eq!(again.export_id, task.export_id);
            // A percentage sent as a number keeps its value, not always its
            // digits: serde_json's default float parser is not correctly
            // rounded, so an extreme float such as -1.5e93 reads back as
            // -1.5000000000000001e93, then as -1.5e93 again, and so on
            // (RELIABILITY.md, findings). A percentage sent as text keeps it.
            let value = |t: &clouddc::types::ExportTask| match t.percentage.as_ref()?.parse() {
                Ok(v) | Err(clouddc::PercentageError::OutOfRange(v)) => Some(v),
                Err(_) => None,
            };
            match (value(task), value(&again)) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} {b}")
                }
                (a, b) => assert_eq!(a, b),
            }
            check_percentage(task.percentage.as_ref());
        }
        // The same bytes as each field's text.
        let raw = text(input);
        let percentage = Percentage::from_text(raw.clone());
        check_percentage(Some(&percentage));
        let status = ExportStatus::new(raw.clone());
        let kind = status.kind();
        assert_eq!(kind, ExportStatus::new(raw.to_ascii_uppercase()).kind());
        assert_eq!(status.as_str(), raw);
        let created = CreatedAt::new(raw).parse();
        if let Some(at) = created {
            assert_eq!(CreatedAt::new(at.to_rfc3339()).parse(), Some(at));
        }
        (
            decoded.is_ok(),
            format!("{kind:?}"),
            percentage.value().is_some(),
            created.is_some(),
        )
    });
}

fn check_percentage(percentage: Option<&Percentage>) {
    let Some(percentage) = percentage else { return };
    if let Ok(value) = percentage.parse() {
        assert!(
            value.is_finite() && (0.0..=100.0).contains(&value),
            "{value}"
        );
    }
}

#[test]
fn fuzz_content_disposition() {
    let seeds: &[&[u8]] = &[
        b"attachment; filename=srv-0001-dump.tar.gz",
        b"attachment; filename=\"../../etc/passwd\"",
        b"attachment; filename*=UTF-8''%E2%82%AC.tar.gz; filename=\"fallback.tar.gz\"",
        b"inline; filename=\"C:\\\\temp\\\\x.tar.gz\"",
        b"attachment; filename*=iso-8859-1'de'%E4rger.log",
        b"attachment; filename=\"a\\\"b\\\\c.tar.gz\"",
        b"attachment; filename=CON.tar.gz",
    ];
    let dictionary: &[&[u8]] = &[
        b"filename=",
        b"filename*=",
        b"UTF-8''",
        b"iso-8859-1''",
        b"%2F",
        b"%5C",
        b"%2E",
        b"%00",
        b"%E2%80%AE",
        b"../",
        b"..\\",
        b"C:",
        b"\"",
        b";",
        b".tar.gz",
        b"CON",
        b"nul.",
        b"COM1",
        b"LPT",
        b"%C2%B9",
    ];
    fuzz("content_disposition", seeds, dictionary, |input| {
        let from_header = safe_file_name(input);
        if let Some(name) = &from_header {
            check_safe_name(name);
        }
        let from_name = sanitize_file_name(&text(input));
        if let Some(name) = &from_name {
            check_safe_name(name);
            let (stem, ext) = split_extension(name);
            assert_eq!(format!("{stem}{ext}"), *name);
        }
        (
            from_header.map(|n| n.len().min(8)),
            from_name.map(|n| n.len().min(8)),
        )
    });
}

/// Everything a name from the network must be, whatever the input was.
fn check_safe_name(name: &str) {
    assert!(!name.is_empty());
    assert!(name.len() <= MAX_FILE_NAME_BYTES, "{} bytes", name.len());
    assert!(!name.contains(['/', '\\', '\0', ':']), "{name:?}");
    assert!(!name.chars().any(char::is_control), "{name:?}");
    assert!(!name.starts_with(['.', '-', '~']), "{name:?}");
    assert!(!name.ends_with(['.', ' ']), "{name:?}");
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    let numbered = |prefix: &str| {
        upper.strip_prefix(prefix).is_some_and(|rest| {
            let mut chars = rest.chars();
            matches!((chars.next(), chars.next()), (Some(d), None) if d.is_ascii_digit() || "¹²³".contains(d))
        })
    };
    let device = matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) || numbered("COM")
        || numbered("LPT");
    assert!(!device, "{name:?} is a Windows device name");
    let mut components = Path::new(name).components();
    assert!(
        matches!(
            (components.next(), components.next()),
            (Some(Component::Normal(_)), None)
        ),
        "{name:?} is not one path component"
    );
    let dir = Path::new("/srv/logs");
    assert_eq!(dir.join(name).parent(), Some(dir));
    // Sanitising is idempotent: a safe name is kept as it is.
    assert_eq!(sanitize_file_name(name).as_deref(), Some(name));
}

#[test]
fn fuzz_endpoints_and_ids() {
    let seeds: &[&[u8]] = &[
        b"https://clouddc.cn-east-3.myhuaweicloud.com",
        b" http://127.0.0.1:8080//a//b/ ",
        b"https://h:443/",
        b"http://user:pass@h/?q#f",
        b"srv-0001",
        b"..",
        b"a/b",
        b"http://[::1]:8080/base",
    ];
    let dictionary: &[&[u8]] = &[
        b"http://",
        b"https://",
        b"ftp://",
        b"@",
        b":",
        b"//",
        b"?",
        b"#",
        b"[::1]",
        b"%2e",
        b"%2F",
        b"..",
        b"localhost",
        b":65535",
        b":99999",
        b"xn--",
        b"\\",
    ];
    fuzz("endpoint_and_id", seeds, dictionary, |input| {
        let raw = text(input);
        let endpoint = normalise_endpoint(&raw);
        if let Ok(base) = &endpoint {
            assert!(
                base.starts_with("http://") || base.starts_with("https://"),
                "{base}"
            );
            assert!(!base.ends_with('/'), "{base}");
            let after_scheme = base.split_once("://").unwrap().1;
            assert!(!after_scheme.contains("//"), "{base}");
            assert!(
                !base.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{base:?}"
            );
            let joined = url::Url::parse(&format!("{base}/v1/p")).expect("joins");
            assert!(joined.path().ends_with("/v1/p"), "{joined}");
            let again = normalise_endpoint(base).ok();
            assert_eq!(again.as_ref(), Some(base), "normalising is idempotent");
        }
        let id = validate_id("server", &raw);
        if id.is_ok() {
            assert!(!raw.is_empty() && raw != "." && raw != "..");
            assert!(raw.chars().count() <= MAX_ID_LEN);
            assert!(!raw.chars().any(char::is_control));
            // An accepted id is exactly one path segment of the request URL.
            let encoded = progenitor_client::encode_path(&raw);
            let url = url::Url::parse(&format!("http://h/v1/p/physicalservers/{encoded}/logs"))
                .expect("the URL parses");
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            assert_eq!(segments.len(), 5, "{raw:?} -> {url}");
            assert_eq!(percent_decode(segments[3]), raw.as_bytes(), "{url}");
        }
        (endpoint.is_ok(), id.is_ok())
    });
}

/// `%XX` to its byte; anything else as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn fuzz_signing_canonicalisation() {
    let seeds: &[&[u8]] = &[
        b"/v1/p/physicalservers/srv%201/logs/exports\nmarker=a%20b&limit=10\nHost:h\nX-Sdk-Date:20250320T024806Z\n{}",
        b"/a/b/c/\n\n\n",
        b"/%E2%82%AC/%2F/\nk=&=v&&\nX_Under:1\n",
        b"20250320T024806Z",
    ];
    let dictionary: &[&[u8]] = &[
        b"/",
        b"%2F",
        b"%",
        b"%ZZ",
        b"&",
        b"=",
        b"\n",
        b":",
        b"Host",
        b"X-Sdk-Date",
        b"Authorization",
        b"SDK-HMAC-SHA256 Access=",
        b", SignedHeaders=",
        b", Signature=",
        b";",
        b"host;x-sdk-date",
        b"20991231T235959Z",
    ];
    let sk = Secret::new("fuzz-sk");
    fuzz("signing", seeds, dictionary, |input| {
        let raw = text(input);
        let mut lines = raw.split('\n');
        let path = lines.next().unwrap_or_default();
        let query = lines.next().unwrap_or_default();
        let header_lines: Vec<&str> = lines.collect();

        let uri = canonical_uri(path);
        assert!(uri.ends_with('/'), "{uri}");
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%/".contains(&b)),
            "{uri}"
        );
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        let canonical = canonical_query(&pairs);
        let keys: Vec<&str> = canonical
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split('=').next().unwrap())
            .collect();
        assert_eq!(keys.len(), pairs.len(), "{canonical}");
        assert!(
            canonical
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%&=".contains(&b)),
            "{canonical}"
        );
        // Names a request can carry: HTTP tokens (the signer sees no others).
        let header_pairs: Vec<(&str, &str)> = header_lines
            .iter()
            .filter_map(|l| l.split_once(':'))
            .filter(|(name, _)| HeaderName::from_bytes(name.as_bytes()).is_ok())
            .collect();
        let headers = canonical_headers(&header_pairs);
        let names: Vec<&str> = headers
            .signed_headers
            .split(';')
            .filter(|n| !n.is_empty())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "signed headers are sorted");
        assert!(
            names
                .iter()
                .all(|n| !n.contains('_') && *n == n.to_lowercase())
        );
        assert!(headers.block.ends_with('\n'));

        let date = parse_sdk_date(&raw);
        if let Some(date) = date {
            assert_eq!(parse_sdk_date(&format_sdk_date(date)), Some(date));
        }

        // A request that claims anything and is signed by nobody never verifies,
        // and verifying it never panics.
        let mut map = HeaderMap::new();
        for (name, value) in &header_pairs {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                map.append(name, value);
            }
        }
        let forged = verify(
            "GET",
            &format!("{path}?{query}"),
            &map,
            input,
            chrono::Utc::now(),
            Duration::from_secs(u64::MAX / 4),
            |_| Some(sk.clone()),
        );
        assert!(forged.is_err(), "an unsigned request verified: {raw:?}");

        // What the client signs verifies; the same request with a changed body
        // or method does not.
        let signed = sign_and_verify(path, &pairs, input, &sk);
        (
            uri.len().min(16),
            keys.len(),
            names.len(),
            date.is_some(),
            signed,
        )
    });
}

/// Signs a request built from fuzzed segments, query and body, then verifies
/// it as the simulator would; returns whether the URL could be built.
fn sign_and_verify(path: &str, pairs: &[(&str, &str)], body: &[u8], sk: &Secret) -> bool {
    let mut url = url::Url::parse("http://127.0.0.1:8080/v1").unwrap();
    {
        let mut segments = url.path_segments_mut().unwrap();
        for segment in path.split('/').filter(|s| !s.is_empty()).take(8) {
            segments.push(segment);
        }
    }
    for (k, v) in pairs.iter().take(8) {
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
    request.headers_mut().insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *request.body_mut() = Some(body.to_vec().into());
    let now = chrono::Utc::now();
    if sign_request(&mut request, "FUZZAK", sk, None, Some("p"), now).is_err() {
        return false;
    }
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers() {
        headers.append(name.clone(), value.clone());
    }
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    let target = match request.url().query() {
        Some(q) => format!("{}?{q}", request.url().path()),
        None => request.url().path().to_owned(),
    };
    let skew = Duration::from_secs(900);
    let lookup = |ak: &str| (ak == "FUZZAK").then(|| sk.clone());
    let verified = verify("POST", &target, &headers, body, now, skew, lookup);
    assert!(verified.is_ok(), "{target}: {verified:?}");
    let mut other = body.to_vec();
    other.push(b'!');
    assert!(verify("POST", &target, &headers, &other, now, skew, lookup).is_err());
    assert!(verify("PUT", &target, &headers, body, now, skew, lookup).is_err());
    true
}

#[test]
fn fuzz_error_bodies_and_headers() {
    let seeds: &[&[u8]] = &[
        br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}"#,
        br#"{"error":{"code":"CLOUDDC.0500","message":"boom"}}"#,
        br#"{"errorCode":401,"errorMsg":null}"#,
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"Too Many Requests",
        b"3",
    ];
    let dictionary: &[&[u8]] = &[
        b"\"error_code\":",
        b"\"error_msg\":",
        b"\"message\":",
        b"\"code\":",
        b"{\"error\":",
        b"\\u001b[31m",
        b"\\n",
        b"\r\n",
        b"1e400",
        b"-1",
        b"3600",
        b"99999999999",
    ];
    fuzz("error_parsing", seeds, dictionary, |input| {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(input) {
            headers.insert("x-request-id", value.clone());
            headers.insert("retry-after", value);
        }
        let error = ApiError::parse(500, &headers, input);
        let shown = error.to_string();
        // What the server said reaches logs and terminals: no control
        // characters (no escape sequences, no forged log lines), bounded size.
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        for text in [
            &error.error_code,
            &error.error_msg,
            &error.body,
            &error.request_id,
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                text.chars().count() <= MAX_BODY_SNIPPET + 1,
                "{} chars",
                text.len()
            );
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        if let Some(id) = request_id(&headers) {
            assert!(!id.is_empty() && !id.chars().any(char::is_control));
        }
        let wait = retry_after(&headers);
        if let Some(wait) = wait {
            assert!(wait <= Duration::from_secs(3600), "{wait:?}");
        }
        (
            error.error_code.is_some(),
            error.error_msg.is_some(),
            error.body.as_ref().map(|b| b.len().min(8)),
            wait.is_some(),
        )
    });
}

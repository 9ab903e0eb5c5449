//! Property tests of everything that reads untrusted text: the tolerant wire
//! types, the `Content-Disposition` sanitiser, endpoint and id checks, and the
//! signing canonicalisation (sign, then verify, for arbitrary requests).

use std::path::Path;
use std::time::Duration;

use clouddc::content_disposition::{MAX_FILE_NAME_BYTES, safe_file_name};
use clouddc::endpoint::normalise_endpoint;
use clouddc::signing::{canonical_query, canonical_uri, sign_request, verify};
use clouddc::validate::{MAX_ID_LEN, validate_id};
use clouddc::{CreatedAt, ExportStatus, Percentage, PercentageError, Secret};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn percentage_never_fails_to_decode_and_reads_every_documented_form(n in 0u32..=100, junk in ".*") {
        for json in [n.to_string(), format!("\"{n}\""), format!("\"{n}%\"")] {
            let p: Percentage = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(p.value(), Some(f64::from(n)));
            prop_assert_eq!(serde_json::to_string(&p).unwrap(), json);
        }
        let text = serde_json::to_string(&junk).unwrap();
        let p: Percentage = serde_json::from_str(&text).unwrap();
        if let Ok(v) = p.parse() {
            prop_assert!((0.0..=100.0).contains(&v));
        }
    }

    #[test]
    fn percentage_over_100_is_out_of_range(n in 101u64..1_000_000) {
        let p: Percentage = serde_json::from_str(&n.to_string()).unwrap();
        prop_assert_eq!(p.parse(), Err(PercentageError::OutOfRange(n as f64)));
    }

    #[test]
    fn status_keeps_any_string_and_ignores_case(raw in "\\PC{0,40}") {
        let json = serde_json::to_string(&raw).unwrap();
        let status: ExportStatus = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(status.as_str(), raw.as_str());
        prop_assert_eq!(serde_json::to_string(&status).unwrap(), json);
        prop_assert_eq!(status.kind(), ExportStatus::new(raw.to_ascii_uppercase()).kind());
    }

    #[test]
    fn created_at_reads_both_documented_forms(secs in 0i64..4_000_000_000) {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        for text in [t.format("%Y-%m-%dT%H:%M:%SZ").to_string(), t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()] {
            prop_assert_eq!(CreatedAt::new(text).parse(), Some(t));
        }
    }

    #[test]
    fn created_at_never_panics(raw in ".*") {
        let _ = CreatedAt::new(raw).parse();
    }

    #[test]
    fn content_disposition_names_stay_inside_the_directory(header in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_safe_name(safe_file_name(&header))?;
    }

    #[test]
    fn hostile_filenames_stay_inside_the_directory(
        name in "(\\.\\./|/|\\\\|C:|\\.|[a-z]|\u{0}|\u{1b}|%2e|%2f|\u{202e}){0,30}",
        star in any::<bool>(),
    ) {
        let header = if star {
            format!("attachment; filename*=UTF-8''{name}")
        } else {
            format!("attachment; filename=\"{name}\"")
        };
        check_safe_name(safe_file_name(header.as_bytes()))?;
    }

    #[test]
    fn endpoints_normalise_to_joinable_bases(raw in ".{0,80}") {
        if let Ok(base) = normalise_endpoint(&raw) {
            prop_assert!(base.starts_with("http://") || base.starts_with("https://"));
            prop_assert!(!base.ends_with('/'));
            prop_assert!(!base.split_once("://").unwrap().1.contains("//"));
            let joined = format!("{base}/v1/p");
            prop_assert!(url::Url::parse(&joined).is_ok());
        }
    }

    #[test]
    fn ids_that_pass_cannot_change_the_url(id in "\\PC{0,140}|\\.{1,3}|[\u{0}-\u{1f}]{1,3}") {
        if validate_id("server", &id).is_ok() {
            prop_assert!(!id.is_empty() && id != "." && id != "..");
            prop_assert!(id.chars().count() <= MAX_ID_LEN);
            prop_assert!(!id.chars().any(char::is_control));
        }
    }

    #[test]
    fn canonical_forms_are_well_formed(path in "(/[a-zA-Z0-9%._~ -]{0,12}){0,6}", pairs in proptest::collection::vec(("[a-zA-Z]{0,4}", "\\PC{0,6}"), 0..6)) {
        let uri = canonical_uri(&path);
        prop_assert!(uri.ends_with('/'));
        prop_assert!(uri.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~%/".contains(c)), "{}", uri);
        let query = canonical_query(&pairs);
        let keys: Vec<&str> = query.split('&').filter(|s| !s.is_empty()).map(|kv| kv.split('=').next().unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }

    #[test]
    fn anything_we_sign_verifies_and_tampering_does_not(
        server in "[a-zA-Z0-9 %/._~-]{1,20}",
        query in proptest::collection::vec(("[a-z]{1,5}", "[a-zA-Z0-9 ]{0,8}"), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let sk = Secret::new("property-sk");
        let mut url = url::Url::parse("http://127.0.0.1:8080/v1/p/physicalservers/").unwrap();
        url.path_segments_mut().unwrap().push(&server);
        for (k, v) in &query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let mut request = reqwest::Request::new(reqwest::Method::POST, url);
        *request.body_mut() = Some(body.clone().into());
        let now = chrono::Utc::now();
        sign_request(&mut request, "PROPAK", &sk, None, Some("p"), now).unwrap();
        let mut headers = http::HeaderMap::new();
        for (name, value) in request.headers() {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        let path_and_query = match request.url().query() {
            Some(q) => format!("{}?{q}", request.url().path()),
            None => request.url().path().to_string(),
        };
        let lookup = |ak: &str| (ak == "PROPAK").then(|| sk.clone());
        let skew = Duration::from_secs(900);
        prop_assert!(verify("POST", &path_and_query, &headers, &body, now, skew, lookup).is_ok());
        let mut tampered = body.clone();
        tampered.push(b'!');
        prop_assert!(verify("POST", &path_and_query, &headers, &tampered, now, skew, lookup).is_err());
        prop_assert!(verify("GET", &path_and_query, &headers, &body, now, skew, lookup).is_err());
    }
}

fn check_safe_name(name: Option<String>) -> Result<(), TestCaseError> {
    let Some(name) = name else { return Ok(()) };
    prop_assert!(!name.is_empty());
    prop_assert!(name.len() <= MAX_FILE_NAME_BYTES, "{}", name);
    prop_assert!(!name.contains('/') && !name.contains('\\'), "{}", name);
    prop_assert!(!name.chars().any(char::is_control), "{:?}", name);
    prop_assert!(
        name != "." && name != ".." && !name.starts_with('.'),
        "{}",
        name
    );
    let dir = Path::new("/srv/logs");
    let joined = dir.join(&name);
    prop_assert_eq!(joined.parent(), Some(dir));
    Ok(())
}

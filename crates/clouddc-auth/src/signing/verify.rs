//! Checking the signature of a received request, as the service does: what the
//! simulator runs for AK/SK callers.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use hmac::Mac;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use url::form_urlencoded;

use super::canonical::{keyed_mac, py_strip};
use super::{
    ALGORITHM, CanonicalHeaders, EMPTY_PAYLOAD_HASH, UNSIGNED_PAYLOAD, X_SDK_CONTENT_SHA256,
    X_SDK_DATE, canonical_query, canonical_request, canonical_uri, parse_sdk_date, payload_hash,
    string_to_sign,
};
use crate::secret::Secret;

/// Who sent a request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCaller {
    /// The access key the request was signed with.
    pub ak: String,
}

/// Why a request's signature was refused. The text never holds the SK nor the
/// signature the server expected, so it can go back to the caller as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `Authorization` header.
    #[error("the request has no Authorization header")]
    MissingAuthorization,
    /// `Authorization` does not read `ALGORITHM Access=…, SignedHeaders=…, Signature=…`.
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(&'static str),
    /// `Authorization` names an algorithm other than `SDK-HMAC-SHA256`.
    #[error("unsupported signing algorithm; only {ALGORITHM} is accepted")]
    UnsupportedAlgorithm,
    /// No `X-Sdk-Date` header.
    #[error("the request has no X-Sdk-Date header")]
    MissingDate,
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ`.
    #[error("X-Sdk-Date is not a YYYYMMDDTHHMMSSZ UTC time")]
    MalformedDate,
    /// `X-Sdk-Date` is further from the server's clock than allowed.
    #[error(
        "X-Sdk-Date is {skew_seconds} s from the server's clock, beyond the {max_skew_seconds} s allowed"
    )]
    DateSkew {
        /// Request date minus server time, in seconds (positive: in the future).
        skew_seconds: i64,
        /// The tolerance, in seconds.
        max_skew_seconds: u64,
    },
    /// The access key is not known.
    #[error("unknown access key {ak}")]
    UnknownAccessKey {
        /// The access key the request named.
        ak: String,
    },
    /// `SignedHeaders` leaves out a header that must be signed.
    #[error("SignedHeaders must include {name}")]
    UnsignedRequiredHeader {
        /// `host` or `x-sdk-date`.
        name: &'static str,
    },
    /// A header named in `SignedHeaders` is not in the request.
    #[error("signed header {name} is missing from the request")]
    MissingSignedHeader {
        /// The header's name, as listed.
        name: String,
    },
    /// A signed header is sent more than once, so which value was signed is
    /// ambiguous.
    #[error("signed header {name} is sent more than once")]
    RepeatedSignedHeader {
        /// The header's name, as listed.
        name: String,
    },
    /// The signature is not the one the SK gives for this request.
    #[error("the signature does not match the request")]
    SignatureMismatch,
}

/// Checks the `SDK-HMAC-SHA256` signature of a received request.
///
/// `path_and_query` is the request target as received (path percent-encoded,
/// query read as `application/x-www-form-urlencoded`); `headers` must include
/// `host` (for HTTP/2, insert it from the URI's authority first). The canonical
/// headers are rebuilt in the order `SignedHeaders` lists them. A non-empty body
/// is hashed unless `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is set, as the
/// official SDK signs non-JSON bodies. The signature is compared in constant time.
/// `X-Sdk-Date` may differ from `now` by `max_skew`, counted in whole seconds as the
/// header is.
pub fn verify(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    max_skew: Duration,
    lookup_sk: impl Fn(&str) -> Option<Secret>,
) -> Result<VerifiedCaller, VerifyError> {
    let authorization = parse_authorization(headers)?;
    require_signed(authorization.signed_headers, "host")?;
    require_signed(authorization.signed_headers, X_SDK_DATE)?;
    let date = checked_date(headers, now, max_skew)?;
    let sk = lookup_sk(authorization.ak).ok_or_else(|| VerifyError::UnknownAccessKey {
        ak: authorization.ak.to_owned(),
    })?;
    let canonical_headers = headers_as_signed(headers, authorization.signed_headers)?;
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        form_urlencoded::parse(query.as_bytes()).collect();
    let canonical_request = canonical_request(
        method,
        &canonical_uri(path),
        &canonical_query(&pairs),
        &canonical_headers,
        &payload_hash_as_signed(headers, body),
    );
    let mut mac = keyed_mac(&sk);
    mac.update(string_to_sign(date, &canonical_request).as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&authorization.signature)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    Ok(VerifiedCaller {
        ak: authorization.ak.to_owned(),
    })
}

/// The fields of an `Authorization` header.
struct Authorization<'a> {
    ak: &'a str,
    signed_headers: &'a str,
    signature: [u8; 32],
}

/// Reads `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
fn parse_authorization(headers: &HeaderMap) -> Result<Authorization<'_>, VerifyError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(VerifyError::MissingAuthorization),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(malformed("sent more than once")),
    };
    let value = value
        .to_str()
        .map_err(|_| malformed("not visible ASCII"))?
        .trim();
    let (algorithm, parameters) = value.split_once(' ').ok_or(malformed(
        "expected `<algorithm> Access=…, SignedHeaders=…, Signature=…`",
    ))?;
    if algorithm != ALGORITHM {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    let (mut ak, mut signed_headers, mut signature) = (None, None, None);
    for parameter in parameters.split(',') {
        let (key, value) = parameter
            .trim()
            .split_once('=')
            .ok_or(malformed("a parameter has no `=`"))?;
        let slot = match key {
            "Access" => &mut ak,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed("unknown parameter")),
        };
        if slot.replace(value).is_some() {
            return Err(malformed("a parameter is repeated"));
        }
    }
    let ak = ak
        .filter(|ak| !ak.is_empty())
        .ok_or(malformed("no Access"))?;
    let signed_headers = signed_headers
        .filter(|list| !list.is_empty())
        .ok_or(malformed("no SignedHeaders"))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(signature.unwrap_or_default(), &mut bytes)
        .map_err(|_| malformed("Signature is not 64 hex digits"))?;
    Ok(Authorization {
        ak,
        signed_headers,
        signature: bytes,
    })
}

fn malformed(reason: &'static str) -> VerifyError {
    VerifyError::MalformedAuthorization(reason)
}

/// Fails unless `name` is in the `;`-separated list.
fn require_signed(signed_headers: &str, name: &'static str) -> Result<(), VerifyError> {
    if signed_headers.split(';').any(|listed| listed == name) {
        Ok(())
    } else {
        Err(VerifyError::UnsignedRequiredHeader { name })
    }
}

/// The request's `X-Sdk-Date`, refused when further than `max_skew` from `now`.
fn checked_date(
    headers: &HeaderMap,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<DateTime<Utc>, VerifyError> {
    let value = match single_value(headers, X_SDK_DATE) {
        Err(VerifyError::MissingSignedHeader { .. }) => return Err(VerifyError::MissingDate),
        other => other?,
    };
    let date = parse_sdk_date(&value).ok_or(VerifyError::MalformedDate)?;
    // X-Sdk-Date has whole seconds; comparing it with a sub-second clock would refuse
    // a request signed at .999 and checked 1.001 s later as "1 s" beyond a 1 s window.
    let skew = date - now.trunc_subsecs(0);
    // A tolerance too large for chrono means no limit at all.
    let allowed = TimeDelta::from_std(max_skew).unwrap_or(TimeDelta::MAX);
    if skew.abs() > allowed {
        return Err(VerifyError::DateSkew {
            skew_seconds: skew.num_seconds(),
            max_skew_seconds: max_skew.as_secs(),
        });
    }
    Ok(date)
}

/// The one value of a signed header, decoded as the SDK's UTF-8 text.
fn single_value<'a>(headers: &'a HeaderMap, name: &str) -> Result<Cow<'a, str>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(String::from_utf8_lossy(value.as_bytes())),
        (None, _) => Err(VerifyError::MissingSignedHeader {
            name: name.to_owned(),
        }),
        (Some(_), Some(_)) => Err(VerifyError::RepeatedSignedHeader {
            name: name.to_owned(),
        }),
    }
}

/// The canonical headers of the names `SignedHeaders` lists, in its order: the
/// list itself is part of what was signed, so it is taken as sent.
fn headers_as_signed(
    headers: &HeaderMap,
    signed_headers: &str,
) -> Result<CanonicalHeaders, VerifyError> {
    let mut lines = Vec::new();
    for name in signed_headers.split(';') {
        if name.is_empty() {
            return Err(malformed("SignedHeaders has an empty name"));
        }
        let value = single_value(headers, name)?;
        lines.push(format!("{name}:{}", py_strip(&value)));
    }
    let mut block = lines.join("\n");
    block.push('\n');
    Ok(CanonicalHeaders {
        block,
        signed_headers: signed_headers.to_owned(),
    })
}

/// The payload hash the client signed: only the exact `UNSIGNED-PAYLOAD` marker
/// replaces the body's hash (any other declared value must equal it anyway).
fn payload_hash_as_signed(headers: &HeaderMap, body: &[u8]) -> String {
    if body.is_empty() {
        return EMPTY_PAYLOAD_HASH.to_owned();
    }
    let unsigned = headers.get(X_SDK_CONTENT_SHA256).is_some_and(|value| {
        py_strip(&String::from_utf8_lossy(value.as_bytes())) == UNSIGNED_PAYLOAD
    });
    if unsigned {
        UNSIGNED_PAYLOAD.to_owned()
    } else {
        payload_hash(body)
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};

    use super::*;
    use crate::signing::{Payload, SigningRequest, sign};

    const AK: &str = "AKEXAMPLE";
    const SK: &str = "sk-sentinel-51aa";
    const DATE: &str = "20250320T024806Z";
    const PATH: &str = "/v1/p/physicalservers/srv%201/logs/exports";
    const QUERY: &str = "marker=a%20b&limit=10";
    const BODY: &[u8] = b"{\"reason\":\"x\"}";
    const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

    fn date() -> DateTime<Utc> {
        parse_sdk_date(DATE).expect("valid date")
    }

    /// The headers of a request signed with `AK`/`SK`, as the server receives them.
    fn signed_headers(extra: &[(&str, &str)], body: &[u8]) -> HeaderMap {
        let mut pairs = vec![
            ("Host", "127.0.0.1:8080"),
            ("Content-Type", "application/json"),
            ("X-Sdk-Date", DATE),
            ("X-Project-Id", "p"),
        ];
        pairs.extend_from_slice(extra);
        let request = SigningRequest {
            method: "POST",
            path: PATH,
            query: &[("limit", "10"), ("marker", "a b")],
            headers: &pairs,
            payload: Payload::Bytes(body),
        };
        let parts = sign(&request, AK, &Secret::new(SK)).expect("signs");
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&parts.authorization).expect("authorization"),
        );
        map
    }

    fn check(
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<VerifiedCaller, VerifyError> {
        check_at(target, headers, body, date(), SK)
    }

    fn check_at(
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
        sk: &str,
    ) -> Result<VerifiedCaller, VerifyError> {
        verify("POST", target, headers, body, now, MAX_SKEW, |ak| {
            (ak == AK).then(|| Secret::new(sk))
        })
    }

    fn target() -> String {
        format!("{PATH}?{QUERY}")
    }

    fn with_authorization(headers: &HeaderMap, edit: impl Fn(&str) -> String) -> HeaderMap {
        let mut headers = headers.clone();
        let value = headers[AUTHORIZATION].to_str().expect("ascii").to_owned();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&edit(&value)).expect("value"),
        );
        headers
    }

    #[test]
    fn signed_request_verifies() {
        let headers = signed_headers(&[], BODY);
        let expected = Ok(VerifiedCaller { ak: AK.to_owned() });
        assert_eq!(check(&target(), &headers, BODY), expected);
        // Query order and form encoding (`+`) do not matter, only the pairs.
        let reordered = format!("{PATH}?limit=10&marker=a+b");
        assert_eq!(check(&reordered, &headers, BODY), expected);
        let within = date() + TimeDelta::minutes(14);
        assert_eq!(check_at(&target(), &headers, BODY, within, SK), expected);
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let headers = signed_headers(&[], BODY);
        let mismatch = Err(VerifyError::SignatureMismatch);
        let other_path = target().replace("srv%201", "srv%202");
        assert_eq!(check(&other_path, &headers, BODY), mismatch);
        let other_query = target().replace("limit=10", "limit=11");
        assert_eq!(check(&other_query, &headers, BODY), mismatch);
        let mut other_header = headers.clone();
        other_header.insert("x-project-id", HeaderValue::from_static("q"));
        assert_eq!(check(&target(), &other_header, BODY), mismatch);
        assert_eq!(check(&target(), &headers, b"{\"reason\":\"y\"}"), mismatch);
        let wrong_sk = check_at(&target(), &headers, BODY, date(), "another-sk");
        assert_eq!(wrong_sk, mismatch);
        let other_method = verify("PUT", &target(), &headers, BODY, date(), MAX_SKEW, |_| {
            Some(Secret::new(SK))
        });
        assert_eq!(other_method, mismatch);
    }

    #[test]
    fn the_window_is_counted_in_the_header_s_whole_seconds() {
        let headers = signed_headers(&[], BODY);
        let one_second = Duration::from_secs(1);
        let check_after = |elapsed: TimeDelta| {
            verify(
                "POST",
                &target(),
                &headers,
                BODY,
                date() + elapsed,
                one_second,
                |_| Some(Secret::new(SK)),
            )
        };
        assert!(check_after(TimeDelta::milliseconds(1_999)).is_ok());
        assert_eq!(
            check_after(TimeDelta::milliseconds(2_000)).map(|_| ()),
            Err(VerifyError::DateSkew {
                skew_seconds: -2,
                max_skew_seconds: 1
            })
        );
    }

    #[test]
    fn dates_far_from_now_are_refused() {
        let headers = signed_headers(&[], BODY);
        for minutes in [16, -16] {
            let now = date() + TimeDelta::minutes(minutes);
            assert_eq!(
                check_at(&target(), &headers, BODY, now, SK),
                Err(VerifyError::DateSkew {
                    skew_seconds: -minutes * 60,
                    max_skew_seconds: 900
                })
            );
        }
        let mut no_date = headers.clone();
        no_date.remove(X_SDK_DATE);
        assert_eq!(
            check(&target(), &no_date, BODY),
            Err(VerifyError::MissingDate)
        );
        let mut bad_date = headers.clone();
        bad_date.insert(X_SDK_DATE, HeaderValue::from_static("2025-03-20T02:48:06Z"));
        assert_eq!(
            check(&target(), &bad_date, BODY),
            Err(VerifyError::MalformedDate)
        );
    }

    #[test]
    fn unknown_access_key_is_refused() {
        let headers = signed_headers(&[], BODY);
        let result = verify("POST", &target(), &headers, BODY, date(), MAX_SKEW, |_| {
            None
        });
        assert_eq!(
            result,
            Err(VerifyError::UnknownAccessKey { ak: AK.to_owned() })
        );
    }

    #[test]
    fn missing_or_repeated_headers_are_refused() {
        let headers = signed_headers(&[], BODY);
        let mut no_project = headers.clone();
        no_project.remove("x-project-id");
        assert_eq!(
            check(&target(), &no_project, BODY),
            Err(VerifyError::MissingSignedHeader {
                name: "x-project-id".to_owned()
            })
        );
        let mut no_authorization = headers.clone();
        no_authorization.remove(AUTHORIZATION);
        assert_eq!(
            check(&target(), &no_authorization, BODY),
            Err(VerifyError::MissingAuthorization)
        );
        for odd in ["bad name", "x:y", "x\ty"] {
            let edited = with_authorization(&headers, |v| v.replace("content-type", odd));
            assert_eq!(
                check(&target(), &edited, BODY),
                Err(VerifyError::MissingSignedHeader {
                    name: odd.to_owned()
                })
            );
        }
        let mut repeated = headers.clone();
        repeated.append("x-project-id", HeaderValue::from_static("q"));
        assert_eq!(
            check(&target(), &repeated, BODY),
            Err(VerifyError::RepeatedSignedHeader {
                name: "x-project-id".to_owned()
            })
        );
    }

    #[test]
    fn authorization_must_be_well_formed() {
        let headers = signed_headers(&[], BODY);
        type Edit = fn(&str) -> String;
        let cases: [(Edit, VerifyError); 7] = [
            (|_| "garbage".into(), malformed("")),
            (
                |v| v.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3"),
                VerifyError::UnsupportedAlgorithm,
            ),
            (|v| v.replace("Signature=", "Signature=zz"), malformed("")),
            (|v| v.replace("Access=", "Key="), malformed("")),
            (|v| format!("{v}, Access=again"), malformed("")),
            (
                |v| v.replace("host;", ""),
                VerifyError::UnsignedRequiredHeader { name: "host" },
            ),
            (
                |v| v.replace(";x-sdk-date", ""),
                VerifyError::UnsignedRequiredHeader { name: X_SDK_DATE },
            ),
        ];
        for (edit, expected) in cases {
            let result = check(&target(), &with_authorization(&headers, edit), BODY);
            match (&result, &expected) {
                (
                    Err(VerifyError::MalformedAuthorization(_)),
                    VerifyError::MalformedAuthorization(_),
                ) => {}
                _ => assert_eq!(result, Err(expected)),
            }
        }
    }

    #[test]
    fn unsigned_payload_marker_skips_the_body() {
        let marker = [("X-Sdk-Content-Sha256", UNSIGNED_PAYLOAD)];
        let headers = signed_headers(&marker, b"streamed");
        assert!(check(&target(), &headers, b"anything else").is_ok());
        // Without the marker, the body counts.
        let headers = signed_headers(&[], b"streamed");
        assert_eq!(
            check(&target(), &headers, b"anything else"),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn errors_never_print_the_sk_or_expected_signature() {
        let headers = signed_headers(&[], BODY);
        // The signature the server expects for the tampered body below.
        let tampered = b"{}";
        let expected_signature = {
            let authorization = signed_headers(&[], tampered)[AUTHORIZATION]
                .to_str()
                .expect("ascii")
                .to_owned();
            authorization
                .rsplit("Signature=")
                .next()
                .expect("has a signature")
                .to_owned()
        };
        let errors = [
            check(&target(), &headers, tampered).expect_err("tampered"),
            VerifyError::MissingAuthorization,
            malformed("x"),
            VerifyError::UnsupportedAlgorithm,
            VerifyError::MissingDate,
            VerifyError::MalformedDate,
            VerifyError::DateSkew {
                skew_seconds: 1,
                max_skew_seconds: 0,
            },
            VerifyError::UnknownAccessKey { ak: AK.to_owned() },
            VerifyError::UnsignedRequiredHeader { name: "host" },
            VerifyError::MissingSignedHeader { name: "x".into() },
            VerifyError::RepeatedSignedHeader { name: "x".into() },
        ];
        for error in errors {
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains(SK), "{text}");
                assert!(!text.contains(&expected_signature), "{text}");
            }
        }
    }
}

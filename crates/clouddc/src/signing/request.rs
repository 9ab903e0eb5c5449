//! Signing a `reqwest::Request` in place, as the client hooks do just before
//! each attempt is sent.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::canonical::py_strip;
use super::{
    Payload, SignError, SignedParts, SigningRequest, UNSIGNED_PAYLOAD, X_PROJECT_ID,
    X_SDK_CONTENT_SHA256, X_SDK_DATE, X_SECURITY_TOKEN, format_sdk_date, sends_unsigned_payload,
    sign,
};
use crate::credentials::Secret;

/// Signs `request` as the official SDK would and sets its `Authorization`.
///
/// In order: drops any earlier `Authorization`; sets `X-Sdk-Date` from `now`,
/// `X-Project-Id` and `X-Security-Token` (sensitive) when given; adds
/// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for a non-JSON `Content-Type`, as
/// the SDK does; signs every header present, plus the `Host` reqwest will send
/// (the URL's host, with `:port` only for a non-default port) unless one is set;
/// rewrites the query into its canonical (sorted) form, which is what the SDK
/// sends; and sets `Authorization`, marked sensitive.
///
/// The URL's query is read as `application/x-www-form-urlencoded` (`+` is a
/// space), which is how `reqwest`'s `query()` writes it. A buffered body is
/// hashed; a streamed one can only be signed with `X-Sdk-Content-Sha256` set.
/// A header set twice is refused ([`SignError::RepeatedHeader`]): the official
/// signer would sign only its last value while sending both.
pub fn sign_request(
    request: &mut reqwest::Request,
    ak: &str,
    sk: &Secret,
    security_token: Option<&Secret>,
    project_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SignedParts, SignError> {
    let headers = request.headers_mut();
    // A retry reuses nothing: the previous attempt's signature is neither signed
    // nor sent.
    headers.remove(AUTHORIZATION);
    set_header(headers, X_SDK_DATE, &format_sdk_date(now), false)?;
    if let Some(project_id) = project_id {
        set_header(headers, X_PROJECT_ID, project_id, false)?;
    }
    if let Some(token) = security_token {
        set_header(headers, X_SECURITY_TOKEN, token.expose(), true)?;
    }
    // The SDK tests `Content-Type` before it trims, so a padded JSON type counts
    // as non-JSON there too: mark first, then trim.
    mark_unsigned_payload(headers);
    trim_values(headers);
    let parts = sign_as_sent(request, ak, sk)?;
    let mut authorization =
        HeaderValue::from_str(&parts.authorization).map_err(|_| SignError::InvalidHeader {
            name: AUTHORIZATION.as_str().to_owned(),
        })?;
    authorization.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, authorization);
    send_canonical_query(request.url_mut(), &parts.canonical_query);
    Ok(parts)
}

/// Sets one header, replacing any value it had.
fn set_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
    sensitive: bool,
) -> Result<(), SignError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeader {
        name: name.to_owned(),
    })?;
    header.set_sensitive(sensitive);
    headers.insert(HeaderName::from_static(name), header);
    Ok(())
}

/// The SDK's rule: a non-JSON `Content-Type` means the body is not hashed, and
/// the request says so in a (signed) header. It overwrites any value set before.
fn mark_unsigned_payload(headers: &mut HeaderMap) {
    let non_json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| sends_unsigned_payload(&String::from_utf8_lossy(value.as_bytes())));
    if non_json {
        headers.insert(
            HeaderName::from_static(X_SDK_CONTENT_SHA256),
            HeaderValue::from_static(UNSIGNED_PAYLOAD),
        );
    }
}

/// The SDK sends every header value as it signs it: trimmed at both ends
/// (Python's `str.strip()`), so `"  padded value \t"` goes out as
/// `"padded value"` and a value of only white space as an empty one.
fn trim_values(headers: &mut HeaderMap) {
    for value in headers.values_mut() {
        let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
            // Refused by `header_pairs` with the header's name.
            continue;
        };
        let trimmed = py_strip(text);
        if trimmed.len() != text.len() {
            let sensitive = value.is_sensitive();
            // A part of a valid value is valid: it only loses white space at its ends.
            if let Ok(mut shorter) = HeaderValue::from_bytes(trimmed.as_bytes()) {
                shorter.set_sensitive(sensitive);
                *value = shorter;
            }
        }
    }
}

/// Signs the request as it stands, reading everything the signature covers.
fn sign_as_sent(
    request: &reqwest::Request,
    ak: &str,
    sk: &Secret,
) -> Result<SignedParts, SignError> {
    let url = request.url();
    let mut headers = header_pairs(request.headers())?;
    let url_host;
    if !headers.iter().any(|(name, _)| *name == HOST.as_str()) {
        url_host = host_as_sent(url)?;
        headers.push((HOST.as_str(), &url_host));
    }
    let decoded: Vec<(Cow<'_, str>, Cow<'_, str>)> = url.query_pairs().collect();
    let query: Vec<(&str, &str)> = decoded
        .iter()
        .map(|(key, value)| (key.as_ref(), value.as_ref()))
        .collect();
    let payload = match request.body() {
        None => Payload::Bytes(&[]),
        Some(body) => body.as_bytes().map_or(Payload::Streamed, Payload::Bytes),
    };
    let signing = SigningRequest {
        method: request.method().as_str(),
        path: url.path(),
        query: &query,
        headers: &headers,
        payload,
    };
    sign(&signing, ak, sk)
}

/// The headers as `(name, value)`, refusing a name set twice or a value that
/// is not UTF-8 (the SDK only ever sends UTF-8 text).
fn header_pairs(headers: &HeaderMap) -> Result<Vec<(&str, &str)>, SignError> {
    let mut pairs = Vec::with_capacity(headers.keys_len() + 1);
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(SignError::RepeatedHeader {
                name: name.as_str().to_owned(),
            });
        };
        let value =
            std::str::from_utf8(value.as_bytes()).map_err(|_| SignError::InvalidHeader {
                name: name.as_str().to_owned(),
            })?;
        pairs.push((name.as_str(), value));
    }
    Ok(pairs)
}

/// The `Host` hyper sends for `url`: the port only when it is not the scheme's
/// default (the `url` crate already drops a default port).
fn host_as_sent(url: &Url) -> Result<String, SignError> {
    let host = url.host_str().ok_or(SignError::MissingHost)?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Puts the canonical query on the wire, so that what is signed is what is sent.
fn send_canonical_query(url: &mut Url, canonical_query: &str) {
    url.set_query(Some(canonical_query).filter(|query| !query.is_empty()));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Method;

    use super::*;
    use crate::signing::{VerifyError, parse_sdk_date, verify};

    const AK: &str = "AKEXAMPLE";
    const SK: &str = "sk-sentinel-0d2e";

    fn now() -> DateTime<Utc> {
        parse_sdk_date("20250320T024806Z").expect("valid date")
    }

    fn request(method: Method, url: &str) -> reqwest::Request {
        reqwest::Request::new(method, Url::parse(url).expect("valid URL"))
    }

    /// Verifies `request` as the simulator would receive it.
    fn verify_sent(request: &reqwest::Request) -> Result<String, VerifyError> {
        let url = request.url();
        let mut headers = request.headers().clone();
        if !headers.contains_key(HOST) {
            let host = host_as_sent(url).expect("host");
            headers.insert(HOST, HeaderValue::from_str(&host).expect("host value"));
        }
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .unwrap_or_default();
        verify(
            request.method().as_str(),
            &path_and_query,
            &headers,
            body,
            now(),
            Duration::from_secs(15 * 60),
            |ak| (ak == AK).then(|| Secret::new(SK)),
        )
        .map(|caller| caller.ak)
    }

    #[test]
    fn signed_request_verifies_and_hides_secrets() {
        let mut req = request(
            Method::POST,
            "http://127.0.0.1:8080/v1/p/physicalservers/rack%2F7/logs/exports?b=2&a=x+y&a=",
        );
        *req.body_mut() = Some(reqwest::Body::from(b"{}".to_vec()));
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static("stale"));
        let token = Secret::new("token-sentinel");
        let parts = sign_request(
            &mut req,
            AK,
            &Secret::new(SK),
            Some(&token),
            Some("p"),
            now(),
        )
        .expect("signs");

        assert_eq!(req.url().query(), Some("a=&a=x%20y&b=2"));
        assert_eq!(
            parts.signed_headers,
            "content-type;host;x-project-id;x-sdk-date;x-security-token"
        );
        assert!(parts.canonical_request.contains("\nhost:127.0.0.1:8080\n"));
        assert!(parts.canonical_uri.contains("/rack/7/"));
        let headers = req.headers();
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert!(headers[X_SECURITY_TOKEN].is_sensitive());
        assert_eq!(headers[X_SDK_DATE], "20250320T024806Z");
        assert!(!format!("{req:?}").contains("token-sentinel"));
        assert!(!format!("{parts:?}").contains(SK));
        assert_eq!(verify_sent(&req).as_deref(), Ok(AK));
    }

    #[test]
    fn default_port_is_not_signed_and_explicit_host_wins() {
        let mut req = request(Method::GET, "https://clouddc.example.com:443/v1/p");
        let parts = sign_request(&mut req, AK, &Secret::new(SK), None, None, now()).expect("signs");
        assert!(
            parts
                .canonical_request
                .contains("\nhost:clouddc.example.com\n")
        );
        assert_eq!(verify_sent(&req).as_deref(), Ok(AK));

        let mut req = request(Method::GET, "http://127.0.0.1:8080/v1/p");
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static("proxy.example:8443"));
        let parts = sign_request(&mut req, AK, &Secret::new(SK), None, None, now()).expect("signs");
        assert!(
            parts
                .canonical_request
                .contains("\nhost:proxy.example:8443\n")
        );
    }

    #[test]
    fn header_values_are_sent_trimmed_as_the_sdk_sends_them() {
        let mut req = request(Method::POST, "http://127.0.0.1:8080/v1/p");
        *req.body_mut() = Some(reqwest::Body::from(b"{}".to_vec()));
        let headers = req.headers_mut();
        headers.insert("x-padded", HeaderValue::from_static("  padded value \t"));
        headers.insert("x-blank", HeaderValue::from_static(" \t "));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("  application/json"));
        let mut secret = HeaderValue::from_static(" hidden ");
        secret.set_sensitive(true);
        headers.insert("x-secret", secret);
        let parts = sign_request(&mut req, AK, &Secret::new(SK), None, None, now()).expect("signs");

        let sent = req.headers();
        assert_eq!(sent["x-padded"], "padded value");
        assert_eq!(sent["x-blank"], "");
        assert_eq!(sent["x-secret"], "hidden");
        assert!(sent["x-secret"].is_sensitive());
        assert_eq!(sent[CONTENT_TYPE], "application/json");
        // The SDK reads the untrimmed type: not a JSON prefix, so the body is unsigned.
        assert_eq!(sent[X_SDK_CONTENT_SHA256], UNSIGNED_PAYLOAD);
        assert_eq!(parts.payload_hash, UNSIGNED_PAYLOAD);
        assert!(parts.canonical_request.contains("\nx-blank:\n"));
        assert_eq!(verify_sent(&req).as_deref(), Ok(AK));
    }

    #[test]
    fn resigning_replaces_the_date_and_signature() {
        let mut req = request(Method::GET, "http://127.0.0.1:8080/v1/p");
        let sk = Secret::new(SK);
        let first = sign_request(&mut req, AK, &sk, None, None, now()).expect("signs");
        let later = now() + chrono::TimeDelta::seconds(3);
        let second = sign_request(&mut req, AK, &sk, None, None, later).expect("signs");
        assert_ne!(first.signature, second.signature);
        assert_eq!(req.headers()[X_SDK_DATE], "20250320T024809Z");
        assert_eq!(req.headers().get_all(AUTHORIZATION).iter().count(), 1);
        assert_eq!(req.headers()[AUTHORIZATION], second.authorization.as_str());
    }

    #[test]
    fn repeated_or_non_utf8_headers_are_refused() {
        let sk = Secret::new(SK);
        let mut req = request(Method::GET, "http://127.0.0.1:8080/v1/p");
        req.headers_mut()
            .append("x-dup", HeaderValue::from_static("first"));
        req.headers_mut()
            .append("x-dup", HeaderValue::from_static("second"));
        assert_eq!(
            sign_request(&mut req, AK, &sk, None, None, now()),
            Err(SignError::RepeatedHeader {
                name: "x-dup".into()
            })
        );

        let mut req = request(Method::GET, "http://127.0.0.1:8080/v1/p");
        let latin1 = HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is allowed");
        req.headers_mut().insert("x-name", latin1);
        assert_eq!(
            sign_request(&mut req, AK, &sk, None, None, now()),
            Err(SignError::InvalidHeader {
                name: "x-name".into()
            })
        );

        let mut req = request(Method::GET, "http://127.0.0.1:8080/v1/p");
        assert_eq!(
            sign_request(&mut req, AK, &sk, None, Some("bad\nid"), now()),
            Err(SignError::InvalidHeader {
                name: X_PROJECT_ID.into()
            })
        );
    }

    #[test]
    fn streamed_bodies_need_the_unsigned_marker() {
        let sk = Secret::new(SK);
        let stream = || {
            reqwest::Body::wrap_stream(futures::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(b"chunk"),
            )]))
        };
        let mut req = request(Method::PUT, "http://127.0.0.1:8080/v1/p/upload");
        *req.body_mut() = Some(stream());
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(
            sign_request(&mut req, AK, &sk, None, None, now()),
            Err(SignError::UnhashableBody)
        );

        let mut req = request(Method::PUT, "http://127.0.0.1:8080/v1/p/upload");
        *req.body_mut() = Some(stream());
        req.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let parts = sign_request(&mut req, AK, &sk, None, None, now()).expect("signs");
        assert_eq!(parts.payload_hash, UNSIGNED_PAYLOAD);
        assert_eq!(req.headers()[X_SDK_CONTENT_SHA256], UNSIGNED_PAYLOAD);
    }
}

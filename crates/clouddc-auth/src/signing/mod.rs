//! AK/SK request signing (`SDK-HMAC-SHA256`), byte for byte as the vendor's
//! official signer does it, and its verification for the simulator.
//!
//! - [`canonical`] holds the pure pieces (canonical URI, query, headers,
//!   payload hash, string to sign, signature);
//! - [`sign`] puts them together for a request described by a [`SigningRequest`];
//! - [`verify`] checks a received request (what the simulator calls).
//!
//! Signing a `reqwest::Request` in place is the client's (`clouddc::signing`).
//! The reference is the official Python SDK's own output; the client's
//! `tests/sign_vectors.rs` runs every case of it through both.

pub mod canonical;
mod verify;

pub use canonical::{
    ALGORITHM, CanonicalHeaders, DATE_FORMAT, EMPTY_PAYLOAD_HASH, UNSIGNED_PAYLOAD, authorization,
    canonical_headers, canonical_query, canonical_request, canonical_uri, format_sdk_date,
    parse_sdk_date, payload_hash, sends_unsigned_payload, signature, string_to_sign,
};
pub use verify::{VerifiedCaller, VerifyError, verify};

use canonical::{find_header, py_strip};

use crate::secret::Secret;

/// Header carrying the signing time.
pub const X_SDK_DATE: &str = "x-sdk-date";
/// Header that replaces the body's hash in the signature when set.
pub const X_SDK_CONTENT_SHA256: &str = "x-sdk-content-sha256";
/// Header carrying the project the request acts on.
pub const X_PROJECT_ID: &str = "x-project-id";
/// Header carrying the session token of temporary credentials.
pub const X_SECURITY_TOKEN: &str = "x-security-token";

/// The body of a request as the signer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The whole body; empty when the request has none.
    Bytes(&'a [u8]),
    /// A non-empty body that cannot be read before sending (a stream). Only
    /// signable when `X-Sdk-Content-Sha256` stands in for its hash.
    Streamed,
}

/// Everything the signature covers, as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    /// HTTP method, in any case (it is upper-cased).
    pub method: &'a str,
    /// The path as sent: path parameters already percent-encoded.
    pub path: &'a str,
    /// Raw (decoded) query pairs, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers in the order they were set, `Host` and `X-Sdk-Date` included.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: Payload<'a>,
}

/// Every intermediate result of signing one request. Nothing in it is secret:
/// the signature only proves knowledge of the SK for this one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts {
    /// Part 2 of the canonical request.
    pub canonical_uri: String,
    /// Part 3 of the canonical request; also the query the SDK sends.
    pub canonical_query: String,
    /// Part 6 of the canonical request.
    pub payload_hash: String,
    /// The canonical request whose hash is signed.
    pub canonical_request: String,
    /// The text the HMAC is computed over.
    pub string_to_sign: String,
    /// The signed header names joined with `;`.
    pub signed_headers: String,
    /// Lower-case hex HMAC-SHA256 of the string to sign.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

/// Why a request could not be signed. Never carries a header value or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The AK or the SK is empty (the official signer refuses these too).
    #[error("cannot sign without both an access key and a secret key")]
    MissingCredentials,
    /// No `X-Sdk-Date` header among the headers to sign.
    #[error("the request has no X-Sdk-Date header to sign")]
    MissingDate,
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ`.
    #[error("X-Sdk-Date is not a YYYYMMDDTHHMMSSZ UTC time")]
    MalformedDate,
    /// No `Host` header and no host in the URL.
    #[error("the request has no host to sign")]
    MissingHost,
    /// A streamed body with no `X-Sdk-Content-Sha256` to stand in for its hash.
    #[error("a streamed body can only be signed with X-Sdk-Content-Sha256 set")]
    UnhashableBody,
    /// A header that cannot be signed or sent: a value that is not UTF-8, or a
    /// value the hook cannot put in a header.
    #[error("header {name} has a value that cannot be signed")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// A header set more than once: the official signer would sign only its
    /// last value while sending every one, so the request is refused.
    #[error("header {name} is set more than once")]
    RepeatedHeader {
        /// The header's name.
        name: String,
    },
}

/// The payload hash the signer uses: the empty hash for no body, else a
/// non-empty `X-Sdk-Content-Sha256` value as it is, else the body's hash.
pub fn effective_payload_hash(
    payload: Payload<'_>,
    content_sha256: Option<&str>,
) -> Result<String, SignError> {
    if matches!(payload, Payload::Bytes([])) {
        return Ok(EMPTY_PAYLOAD_HASH.to_owned());
    }
    if let Some(declared) = content_sha256.map(py_strip).filter(|v| !v.is_empty()) {
        return Ok(declared.to_owned());
    }
    match payload {
        Payload::Bytes(body) => Ok(payload_hash(body)),
        Payload::Streamed => Err(SignError::UnhashableBody),
    }
}

/// Signs a request described in full (`Host` and `X-Sdk-Date` among its headers).
pub fn sign(request: &SigningRequest<'_>, ak: &str, sk: &Secret) -> Result<SignedParts, SignError> {
    if ak.is_empty() || sk.is_empty() {
        return Err(SignError::MissingCredentials);
    }
    let date = find_header(request.headers, X_SDK_DATE).ok_or(SignError::MissingDate)?;
    let date = parse_sdk_date(date).ok_or(SignError::MalformedDate)?;
    if find_header(request.headers, "host").is_none() {
        return Err(SignError::MissingHost);
    }
    let content_sha256 = find_header(request.headers, X_SDK_CONTENT_SHA256);
    let payload_hash = effective_payload_hash(request.payload, content_sha256)?;
    let canonical_uri = canonical_uri(request.path);
    let canonical_query = canonical_query(request.query);
    let headers = canonical_headers(request.headers);
    let canonical_request = canonical_request(
        request.method,
        &canonical_uri,
        &canonical_query,
        &headers,
        &payload_hash,
    );
    let string_to_sign = string_to_sign(date, &canonical_request);
    let signature = signature(sk, &string_to_sign);
    let authorization = authorization(ak, &headers.signed_headers, &signature);
    Ok(SignedParts {
        canonical_uri,
        canonical_query,
        payload_hash,
        canonical_request,
        string_to_sign,
        signed_headers: headers.signed_headers,
        signature,
        authorization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "sk-sentinel-9c41";

    fn request<'a>(headers: &'a [(&'a str, &'a str)], payload: Payload<'a>) -> SigningRequest<'a> {
        SigningRequest {
            method: "get",
            path: "/v1/p/x",
            query: &[],
            headers,
            payload,
        }
    }

    #[test]
    fn sign_needs_date_host_and_keys() {
        let sk = Secret::new(SENTINEL);
        let only_host = [("Host", "h")];
        let only_date = [("X-Sdk-Date", "20250320T024806Z")];
        let bad_date = [("Host", "h"), ("X-Sdk-Date", "2025-03-20")];
        let body = Payload::Bytes(b"");
        assert_eq!(
            sign(&request(&only_host, body), "ak", &sk),
            Err(SignError::MissingDate)
        );
        assert_eq!(
            sign(&request(&only_date, body), "ak", &sk),
            Err(SignError::MissingHost)
        );
        assert_eq!(
            sign(&request(&bad_date, body), "ak", &sk),
            Err(SignError::MalformedDate)
        );
        assert_eq!(
            sign(&request(&only_host, body), "", &sk),
            Err(SignError::MissingCredentials)
        );
    }

    #[test]
    fn streamed_body_needs_declared_hash() {
        assert_eq!(
            effective_payload_hash(Payload::Streamed, None),
            Err(SignError::UnhashableBody)
        );
        assert_eq!(
            effective_payload_hash(Payload::Streamed, Some(" UNSIGNED-PAYLOAD ")).as_deref(),
            Ok(UNSIGNED_PAYLOAD)
        );
        // The empty-body check wins over the declared value, as in the SDK.
        assert_eq!(
            effective_payload_hash(Payload::Bytes(b""), Some(UNSIGNED_PAYLOAD)).as_deref(),
            Ok(EMPTY_PAYLOAD_HASH)
        );
    }

    #[test]
    fn nothing_printed_holds_the_sk() {
        let sk = Secret::new(SENTINEL);
        let headers = [("Host", "h"), ("X-Sdk-Date", "20250320T024806Z")];
        let parts = sign(&request(&headers, Payload::Bytes(b"{}")), "ak", &sk).expect("signs");
        assert!(!format!("{parts:?}").contains(SENTINEL));
        let errors = [
            SignError::MissingCredentials,
            SignError::MissingDate,
            SignError::MalformedDate,
            SignError::MissingHost,
            SignError::UnhashableBody,
            SignError::InvalidHeader { name: "x".into() },
            SignError::RepeatedHeader { name: "x".into() },
        ];
        for error in errors {
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains(SENTINEL), "{text}");
            }
        }
    }
}

//! The pieces of the canonical request and of the string to sign, each built
//! exactly as the vendor's Python signer builds it (`huaweicloudsdkcore` 3.1.219),
//! down to its quirks: the vectors in `shared/vectors` are the reference.

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The only algorithm this module signs and verifies with.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The `strftime` form of `X-Sdk-Date` (UTC).
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// The payload hash of an empty or absent body: hex SHA-256 of no bytes.
pub const EMPTY_PAYLOAD_HASH: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The value of `X-Sdk-Content-Sha256` that makes the signature skip the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Python's `quote(s, safe='~')`: only `A-Z a-z 0-9 - _ . ~` stay as they are.
const SIGNER_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `text` the way the signer does (UTF-8 bytes, upper-case hex,
/// space as `%20`), appending to `out`.
fn push_encoded(out: &mut String, text: &str) {
    out.extend(utf8_percent_encode(text, SIGNER_ENCODE_SET));
}

/// The canonical URI of a path as sent (already percent-encoded).
///
/// The signer decodes the path once and splits it on `/` *after* decoding, so
/// an id `a/b` sent as `a%2Fb` is signed as two segments; servers verifying
/// with the same rule agree, which is why this is reproduced rather than fixed.
/// Invalid UTF-8 after decoding becomes U+FFFD, as Python's `unquote` does.
pub fn canonical_uri(path_as_sent: &str) -> String {
    let decoded = percent_decode_str(path_as_sent).decode_utf8_lossy();
    let mut uri = String::with_capacity(decoded.len() + 1);
    for (index, segment) in decoded.split('/').enumerate() {
        if index > 0 {
            uri.push('/');
        }
        push_encoded(&mut uri, segment);
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string of raw (decoded) pairs given in any order.
///
/// Pairs are sorted by key then value on the raw text (code-point order, which
/// is UTF-8 byte order) before encoding, and each becomes `enc(k)=enc(v)`; an
/// empty value still gives `k=`. The official SDK also *sends* this string as the
/// query, so it doubles as the query to put on the wire.
pub fn canonical_query<K: AsRef<str>, V: AsRef<str>>(raw_pairs: &[(K, V)]) -> String {
    let mut sorted: Vec<(&str, &str)> = raw_pairs
        .iter()
        .map(|(key, value)| (key.as_ref(), value.as_ref()))
        .collect();
    // Equal pairs are identical text, so an unstable sort loses nothing.
    sorted.sort_unstable();
    let mut query = String::new();
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            query.push('&');
        }
        push_encoded(&mut query, key);
        query.push('=');
        push_encoded(&mut query, value);
    }
    query
}

/// Python's `str.strip()`: Unicode white space plus the four separators
/// U+001C..U+001F, which Python counts as space and Rust's `trim` does not.
/// Public for the client's request adapter, which trims header values the
/// way the signer reads them.
pub fn py_strip(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Whether `name` lower-cases to `lower_target` (Python's `k.lower() == t`,
/// without allocating).
pub(crate) fn name_is(name: &str, lower_target: &str) -> bool {
    name.chars()
        .flat_map(char::to_lowercase)
        .eq(lower_target.chars())
}

/// The first value of the header `lower_name`, matched case-insensitively, as
/// the signer's `_get_header_ignore_case` finds it.
pub(crate) fn find_header<'a>(headers: &[(&str, &'a str)], lower_name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(name, _)| name_is(name, lower_name))
        .map(|(_, value)| *value)
}

/// The canonical headers block and the signed-headers list of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalHeaders {
    /// `name:value` lines, each ending in `\n`, sorted by lower-case name.
    pub block: String,
    /// The lower-case names joined with `;`, as in `SignedHeaders=`.
    pub signed_headers: String,
}

/// Canonicalises headers given as `(name, value)` in the order they were set,
/// `Host` and `X-Sdk-Date` included.
///
/// Every name without `_` is signed, lower-cased and sorted; values are
/// stripped. Two names that differ only in case are both listed and both take
/// the *last* value, which is the official signer's quirk (it keys a dict by the
/// lower-case name); the client's `sign_request` refuses such requests.
pub fn canonical_headers(headers: &[(&str, &str)]) -> CanonicalHeaders {
    let lowered: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_lowercase(), *value))
        .collect();
    let mut names: Vec<&str> = lowered
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.contains('_'))
        .collect();
    names.sort();
    let lines: Vec<String> = names
        .iter()
        .map(|name| {
            let value = lowered
                .iter()
                .rev()
                .find(|(candidate, _)| candidate == name)
                .map_or("", |(_, value)| py_strip(value));
            format!("{name}:{value}")
        })
        .collect();
    // `'\n'.join(lines) + '\n'`: the same as one `\n` per line, except that no
    // header at all still yields one `\n`.
    let mut block = lines.join("\n");
    block.push('\n');
    CanonicalHeaders {
        block,
        signed_headers: names.join(";"),
    }
}

/// Lower-case hex SHA-256 of `body`; [`EMPTY_PAYLOAD_HASH`] for no bytes.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Whether the official SDK marks a request with this `Content-Type` as
/// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`: any non-empty type that does not
/// start with `application/json` (case-sensitive, as the SDK compares it).
pub fn sends_unsigned_payload(content_type: &str) -> bool {
    !content_type.is_empty() && !content_type.starts_with("application/json")
}

/// The six lines of the canonical request, joined with `\n`.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &CanonicalHeaders,
    payload_hash: &str,
) -> String {
    format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{}\n{}\n{payload_hash}",
        method.to_uppercase(),
        headers.block,
        headers.signed_headers,
    )
}

/// Formats a time as `X-Sdk-Date` carries it.
pub fn format_sdk_date(date: DateTime<Utc>) -> String {
    date.format(DATE_FORMAT).to_string()
}

/// Reads an `X-Sdk-Date` value: exactly `YYYYMMDDTHHMMSSZ`, nothing around it.
pub fn parse_sdk_date(value: &str) -> Option<DateTime<Utc>> {
    let bytes = value.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        value.get(from..to)?.bytes().try_fold(0u32, |acc, byte| {
            byte.is_ascii_digit()
                .then(|| acc * 10 + u32::from(byte - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(4, 6)?, number(6, 8)?)?;
    let time = date.and_hms_opt(number(9, 11)?, number(11, 13)?, number(13, 15)?)?;
    Some(time.and_utc())
}

/// `SDK-HMAC-SHA256\n{date}\n{hex sha256(canonical request)}`.
pub fn string_to_sign(date: DateTime<Utc>, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}",
        format_sdk_date(date),
        payload_hash(canonical_request.as_bytes())
    )
}

/// The HMAC-SHA256 state keyed with the SK's UTF-8 bytes (no key derivation).
pub(crate) fn keyed_mac(sk: &Secret) -> Hmac<Sha256> {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail
    // whatever the SK is.
    <Hmac<Sha256> as Mac>::new_from_slice(sk.expose().as_bytes())
        .expect("HMAC accepts keys of any length")
}

/// Lower-case hex HMAC-SHA256 of the string to sign, keyed with the SK.
pub fn signature(sk: &Secret, string_to_sign: &str) -> String {
    let mut mac = keyed_mac(sk);
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn authorization(ak: &str, signed_headers: &str, signature: &str) -> String {
    format!("{ALGORITHM} Access={ak}, SignedHeaders={signed_headers}, Signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_splits_after_decoding_and_keeps_empty_segments() {
        assert_eq!(canonical_uri("/a%2Fb//c"), "/a/b//c/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/x%20y/%E2%9C%93"), "/x%20y/%E2%9C%93/");
        // Invalid UTF-8 becomes U+FFFD, as with Python's unquote.
        assert_eq!(canonical_uri("/%FF"), "/%EF%BF%BD/");
        // A lone `%` is kept and then encoded.
        assert_eq!(canonical_uri("/100%"), "/100%25/");
    }

    #[test]
    fn query_sorts_raw_pairs_before_encoding() {
        let pairs = [("b", "2"), ("a", " "), ("a", ""), ("Z", "~*")];
        assert_eq!(canonical_query(&pairs), "Z=~%2A&a=&a=%20&b=2");
        assert_eq!(canonical_query::<&str, &str>(&[]), "");
    }

    #[test]
    fn headers_skip_underscores_and_strip_values() {
        let headers = [("X-B", " 1 \u{1c}"), ("x_a", "no"), ("Host", "h")];
        let canonical = canonical_headers(&headers);
        assert_eq!(canonical.block, "host:h\nx-b:1\n");
        assert_eq!(canonical.signed_headers, "host;x-b");
        assert_eq!(canonical_headers(&[]).block, "\n");
    }

    #[test]
    fn dates_parse_strictly() {
        let date = parse_sdk_date("20250320T024806Z").expect("valid");
        assert_eq!(format_sdk_date(date), "20250320T024806Z");
        for bad in [
            "",
            "20250320T024806",
            " 20250320T024806Z",
            "20251320T024806Z",
            "2025032OT024806Z",
            "20250320T246006Z",
            "2025-03-20T02:48Z",
            "२०२५0320T024806Z",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn empty_hash_constant_matches() {
        assert_eq!(payload_hash(b""), EMPTY_PAYLOAD_HASH);
    }
}

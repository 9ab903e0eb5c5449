//! Who is calling: a token in `X-Auth-Token`, or an AK/SK signature checked
//! with the same canonicalisation code the client signs with.

use chrono::Utc;
use http::HeaderMap;

use crate::SimConfig;
use crate::identity::Issued;

/// An authenticated caller; its key names its rate-limit bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller(pub(crate) String);

/// Why a request is not authenticated. The text goes back to the caller and
/// never holds a token, an SK or an expected signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthFailure(pub(crate) String);

/// Authenticates a request. A token wins if both forms are present, as the
/// gateway checks `X-Auth-Token` first. A signature may also be made with
/// temporary credentials the metadata service issued and has not yet seen
/// expire; the request must then carry their `X-Security-Token`.
pub(crate) fn authenticate(
    config: &SimConfig,
    issued: &Issued,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, AuthFailure> {
    if let Some(token) = headers.get("x-auth-token") {
        let token = token.as_bytes();
        return config
            .tokens
            .iter()
            .position(|t| constant_time_eq(t.expose().as_bytes(), token))
            .map(|i| Caller(format!("token#{i}")))
            .ok_or_else(|| AuthFailure("the token is not valid".into()));
    }
    if headers.contains_key(http::header::AUTHORIZATION) {
        let temporary_token = std::cell::RefCell::new(None);
        let verified = clouddc_auth::signing::verify(
            method,
            path_and_query,
            headers,
            body,
            Utc::now(),
            config.max_clock_skew,
            |ak| {
                let permanent = config.ak_sk.iter().find(|(known, _)| known == ak);
                if let Some((_, sk)) = permanent {
                    return Some(sk.clone());
                }
                let (sk, token) = issued.lookup(ak)?;
                *temporary_token.borrow_mut() = Some(token);
                Some(sk)
            },
        )
        .map_err(|e| AuthFailure(e.to_string()))?;
        if let Some(expected) = temporary_token.into_inner() {
            let sent = headers.get("x-security-token").map(|v| v.as_bytes());
            if !sent.is_some_and(|sent| constant_time_eq(expected.expose().as_bytes(), sent)) {
                return Err(AuthFailure(
                    "temporary credentials need their X-Security-Token".into(),
                ));
            }
        }
        return Ok(Caller(format!("ak:{}", verified.ak)));
    }
    Err(AuthFailure(
        "no credentials: send X-Auth-Token or sign the request with AK/SK".into(),
    ))
}

/// Compares without stopping at the first difference, so timing does not
/// tell how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig {
            tokens: vec!["good-token".into()],
            ak_sk: vec![("AK1".into(), "SK1".into())],
            ..Default::default()
        }
    }

    #[test]
    fn tokens_are_checked_and_not_echoed() {
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", "good-token".parse().unwrap());
        assert_eq!(
            authenticate(&config(), &Issued::default(), "GET", "/", &headers, b""),
            Ok(Caller("token#0".into()))
        );
        headers.insert("x-auth-token", "guess-token".parse().unwrap());
        let failure =
            authenticate(&config(), &Issued::default(), "GET", "/", &headers, b"").unwrap_err();
        assert!(!failure.0.contains("guess"), "{failure:?}");
    }

    #[test]
    fn no_credentials_is_a_failure() {
        assert!(
            authenticate(
                &config(),
                &Issued::default(),
                "GET",
                "/",
                &HeaderMap::new(),
                b""
            )
            .is_err()
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

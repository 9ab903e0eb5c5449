//! Credentials and the secret type that keeps them out of every output.

use std::fmt;

/// A secret string (token, secret key). `Debug` and `Display` print `<redacted>`;
/// the value is only reachable through [`Secret::expose`], at the one place that
/// puts it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only to put it on the wire or to sign with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How requests prove who sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// An IAM token sent as `X-Auth-Token`.
    Token(Secret),
    /// An access key pair: every request is signed with `SDK-HMAC-SHA256`
    /// (see [`crate::signing`]).
    AkSk {
        /// The access key id; not secret, it names the key in `Authorization`.
        ak: String,
        /// The secret key the signature is computed with.
        sk: Secret,
        /// The session token of temporary credentials, sent (and signed) as
        /// `X-Security-Token`.
        security_token: Option<Secret>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("sentinel-7f3a");
        let creds = Credentials::Token(secret.clone());
        for text in [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{creds:?}"),
        ] {
            assert!(!text.contains("sentinel-7f3a"), "{text}");
        }
        assert_eq!(secret.expose(), "sentinel-7f3a");
    }

    #[test]
    fn ak_sk_never_prints_its_secrets() {
        let creds = Credentials::AkSk {
            ak: "AKEXAMPLE".into(),
            sk: Secret::new("sk-sentinel-44b1"),
            security_token: Some(Secret::new("token-sentinel-93c0")),
        };
        let text = format!("{creds:?}");
        assert!(text.contains("AKEXAMPLE"), "{text}");
        assert!(!text.contains("sk-sentinel-44b1"), "{text}");
        assert!(!text.contains("token-sentinel-93c0"), "{text}");
    }
}

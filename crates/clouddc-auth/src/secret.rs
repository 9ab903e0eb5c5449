//! The secret type that keeps tokens and secret keys out of every output.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("sentinel-7f3a");
        for text in [format!("{secret}"), format!("{secret:?}")] {
            assert!(!text.contains("sentinel-7f3a"), "{text}");
        }
        assert_eq!(secret.expose(), "sentinel-7f3a");
    }
}

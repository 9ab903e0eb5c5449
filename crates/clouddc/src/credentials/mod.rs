//! Credentials, kept out of every output by `Secret` (from `clouddc_auth`),
//! and where they come from when none is given: the official SDKs' default
//! chain, in their order and with their names.
//!
//! One concept a module: [`chain`] (the order, and which source answered),
//! [`file`](mod@file) (the INI credentials file), [`metadata`] (the ECS metadata
//! service's temporary credentials) and [`refresh`] (keeping temporary
//! credentials fresh while a long run uses them).

pub use clouddc_auth::Secret;

pub mod chain;
pub mod file;
pub mod metadata;
pub mod refresh;

pub use chain::{ChainOptions, Source};
pub use refresh::MetadataCredentials;

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
    /// The temporary AK/SK of the ECS instance's agency, from the metadata
    /// service, fetched before first use and again shortly before they expire;
    /// every request is signed with them and carries their `X-Security-Token`.
    Metadata(MetadataCredentials),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("sentinel-7f3a");
        let creds = Credentials::Token(secret.clone());
        let text = format!("{creds:?}");
        assert!(!text.contains("sentinel-7f3a"), "{text}");
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

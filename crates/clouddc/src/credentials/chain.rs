//! The default credential chain of the official SDKs
//! (`CredentialProviderChain.get_basic_credential_provider_chain`), in their
//! order: the explicit credentials (flags, the `HUAWEICLOUD_SDK_*` variables,
//! or code), then the credentials file, then the ECS metadata service.
//!
//! As in the SDKs, the metadata source is chosen without a request: it is the
//! last resort, and asking it happens when credentials are first needed
//! (`ClientBuilder::connect` asks at once, so a missing agency is reported
//! before anything else is sent). A credentials file that exists but does not
//! parse is an error rather than a reason to move on: falling through to
//! other credentials because of a typo would act as someone else.

use std::fmt;
use std::path::PathBuf;

use crate::Error;
use crate::credentials::file::{self, FileProfile};
use crate::credentials::metadata::{DEFAULT_METADATA_ENDPOINT, METADATA_ENDPOINT_ENV};
use crate::credentials::{Credentials, MetadataCredentials};

/// Which source gave the credentials: what `-v` reports, never what it held.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Given to the builder: by code, flags or the environment variables.
    Explicit,
    /// The credentials file at this path.
    File(PathBuf),
    /// The ECS metadata service at this base URL.
    Metadata(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => f.write_str("given explicitly (flags or environment)"),
            Source::File(path) => write!(
                f,
                "the credentials file {}",
                crate::printable::snippet(path.display().to_string().as_bytes())
            ),
            Source::Metadata(endpoint) => write!(f, "the ECS metadata service at {endpoint}"),
        }
    }
}

/// Where the chain looks when no credentials are given explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainOptions {
    /// The credentials file; `None` skips the file.
    pub file: Option<PathBuf>,
    /// The metadata service's base URL; `None` skips the metadata service.
    pub metadata_endpoint: Option<String>,
}

impl ChainOptions {
    /// The SDKs' chain: the file `HUAWEICLOUD_SDK_CREDENTIALS_FILE` names (else
    /// `~/.huaweicloud/credentials`), then the metadata service at
    /// `CLOUDDC_METADATA_ENDPOINT` (else `http://169.254.169.254`).
    pub fn from_env() -> Self {
        let metadata_endpoint = std::env::var(METADATA_ENDPOINT_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_ENDPOINT.to_owned());
        Self {
            file: file::default_path(),
            metadata_endpoint: Some(metadata_endpoint),
        }
    }

    /// A chain of exactly these sources.
    pub fn new(file: Option<PathBuf>, metadata_endpoint: Option<String>) -> Self {
        Self {
            file,
            metadata_endpoint,
        }
    }
}

/// What the chain found after the explicit credentials.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) credentials: Credentials,
    pub(crate) source: Source,
    /// The file's `project_id` and `iam_endpoint`, when the file answered.
    pub(crate) profile: Option<FileProfile>,
}

/// Asks the file, then the metadata service, as `options` say.
pub(crate) fn after_explicit(options: &ChainOptions) -> Result<Found, Error> {
    let mut asked = Vec::new();
    if let Some(path) = &options.file {
        match file::read_profile(path)? {
            Some(profile) => {
                return Ok(Found {
                    credentials: Credentials::AkSk {
                        ak: profile.ak.clone(),
                        sk: profile.sk.clone(),
                        security_token: profile.security_token.clone(),
                    },
                    source: Source::File(path.clone()),
                    profile: Some(profile),
                });
            }
            None => asked.push(format!(
                "{} has no [basic] section with ak and sk",
                crate::printable::snippet(path.display().to_string().as_bytes())
            )),
        }
    }
    if let Some(endpoint) = &options.metadata_endpoint {
        let credentials = MetadataCredentials::new(endpoint)?;
        return Ok(Found {
            source: Source::Metadata(credentials.endpoint().to_owned()),
            credentials: Credentials::Metadata(credentials),
            profile: None,
        });
    }
    asked.push("the metadata service is not asked".into());
    Err(Error::Credentials {
        source_name: "the credential chain",
        reason: asked.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_comes_before_the_metadata_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(
            &path,
            "[basic]\nak = FILEAK\nsk = sk-sentinel-7\nproject_id = p\n",
        )
        .unwrap();
        let options = ChainOptions::new(Some(path.clone()), Some("http://127.0.0.1:9".into()));
        let found = after_explicit(&options).unwrap();
        assert_eq!(found.source, Source::File(path.clone()));
        assert!(matches!(&found.credentials, Credentials::AkSk { ak, .. } if ak == "FILEAK"));
        assert_eq!(found.profile.unwrap().project_id.as_deref(), Some("p"));
        assert!(!found.source.to_string().contains("sentinel"));

        std::fs::remove_file(&path).unwrap();
        let found = after_explicit(&options).unwrap();
        assert_eq!(found.source, Source::Metadata("http://127.0.0.1:9".into()));
        assert!(matches!(found.credentials, Credentials::Metadata(_)));

        let error = after_explicit(&ChainOptions::new(Some(path), None)).unwrap_err();
        assert!(matches!(error, Error::Credentials { .. }), "{error}");
        assert!(error.to_string().contains("no [basic] section"), "{error}");
    }

    #[test]
    fn a_broken_file_stops_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "[basic]\nak = A\nsk-sentinel-8\n").unwrap();
        let options = ChainOptions::new(Some(path), Some("http://127.0.0.1:9".into()));
        let error = after_explicit(&options).unwrap_err().to_string();
        assert!(error.contains("line 3"), "{error}");
        assert!(!error.contains("sentinel"), "{error}");
    }
}

//! Building a [`Client`]: endpoint, project, credentials, retries, timeouts.
//!
//! Credentials given explicitly (by code, or by [`ClientBuilder::from_env`]'s
//! variables) come first; without them the credential chain, when enabled,
//! asks the credentials file and then the ECS metadata service (see
//! [`crate::credentials::chain`]). A missing project id is the credentials
//! file's, or is looked up with IAM by [`ClientBuilder::connect`] (see
//! [`crate::project`]).

use std::sync::Arc;

use crate::client::{Client, ClientInner};
use crate::credentials::chain::{self, ChainOptions, Source};
use crate::credentials::{Credentials, Secret};
use crate::endpoint::{normalise_endpoint, region_endpoint, region_of_endpoint};
use crate::hooks::ClientState;
use crate::retry::RetryPolicy;
use crate::transport::{TransportOptions, http_client};
use crate::{Error, generated};

/// The environment variables the builder reads in [`ClientBuilder::from_env`].
pub mod env {
    /// The access key, as the official SDKs name it.
    pub const AK: &str = "HUAWEICLOUD_SDK_AK";
    /// The secret key.
    pub const SK: &str = "HUAWEICLOUD_SDK_SK";
    /// The project id.
    pub const PROJECT_ID: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
    /// The security token of temporary AK/SK credentials.
    pub const SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
    /// An IAM token for `X-Auth-Token` (the official SDKs have no such variable).
    pub const AUTH_TOKEN: &str = "CLOUDDC_AUTH_TOKEN";
    /// An explicit endpoint URL.
    pub const ENDPOINT: &str = "CLOUDDC_ENDPOINT";
    /// A region, e.g. `cn-east-3`.
    pub const REGION: &str = "CLOUDDC_REGION";
    /// The credentials file (else `~/.huaweicloud/credentials`).
    pub const CREDENTIALS_FILE: &str = crate::credentials::file::CREDENTIALS_FILE_ENV;
    /// The ECS metadata service's base URL (else `http://169.254.169.254`).
    pub const METADATA_ENDPOINT: &str = crate::credentials::metadata::METADATA_ENDPOINT_ENV;
    /// The IAM endpoint of the project lookup.
    pub const IAM_ENDPOINT: &str = crate::project::IAM_ENDPOINT_ENV;
    /// The regions file (else `~/.huaweicloud/regions.yaml`).
    pub const REGIONS_FILE: &str = crate::endpoint::REGIONS_FILE_ENV;
}

/// Where the endpoint comes from.
#[derive(Debug, Clone)]
enum EndpointSource {
    Url(String),
    Region(String),
}

/// Configures and builds a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    endpoint: Option<EndpointSource>,
    project_id: Option<String>,
    token: Option<Secret>,
    ak: Option<String>,
    sk: Option<Secret>,
    security_token: Option<Secret>,
    /// Where to look when no credentials are given; `None`: nowhere.
    chain: Option<ChainOptions>,
    /// The IAM endpoint given by code or `HUAWEICLOUD_SDK_IAM_ENDPOINT`.
    iam_endpoint: Option<String>,
    retry: RetryPolicy,
    transport: TransportOptions,
}

/// Everything [`ClientBuilder::build`] and [`ClientBuilder::connect`] check
/// before the project is known.
struct Checked {
    base_url: String,
    credentials: Credentials,
    source: Source,
    project_id: Option<String>,
    /// Where the project lookup goes, in the SDKs' order.
    iam_endpoint: String,
    /// The region whose project is looked up, if one is known.
    region: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl ClientBuilder {
    /// An empty builder: set an endpoint or region, a project and credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the environment (see [`env`](mod@env)), with the
    /// SDKs' credential chain after it ([`ChainOptions::from_env`]); explicit
    /// setters called afterwards take precedence.
    pub fn from_env() -> Self {
        let mut builder = Self::new();
        if let Some(url) = non_empty_env(env::ENDPOINT) {
            builder = builder.endpoint(url);
        } else if let Some(region) = non_empty_env(env::REGION) {
            builder = builder.region(region);
        }
        builder.project_id = non_empty_env(env::PROJECT_ID);
        builder.token = non_empty_env(env::AUTH_TOKEN).map(Secret::new);
        builder.ak = non_empty_env(env::AK);
        builder.sk = non_empty_env(env::SK).map(Secret::new);
        builder.security_token = non_empty_env(env::SECURITY_TOKEN).map(Secret::new);
        builder.iam_endpoint = non_empty_env(env::IAM_ENDPOINT);
        builder.chain = Some(ChainOptions::from_env());
        builder
    }

    /// Without explicit credentials, asks these sources in the SDKs' order
    /// (the credentials file, then the metadata service).
    pub fn credential_chain(mut self, options: ChainOptions) -> Self {
        self.chain = Some(options);
        self
    }

    /// Where the project lookup goes; the credentials file's `iam_endpoint`
    /// comes before it, as in the SDKs (default `https://iam.myhuaweicloud.com`).
    pub fn iam_endpoint(mut self, url: impl Into<String>) -> Self {
        self.iam_endpoint = Some(url.into());
        self
    }

    /// Sends requests to this base URL (normalised when building).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(EndpointSource::Url(url.into()));
        self
    }

    /// Sends requests to this region's endpoint (see [`crate::endpoint`]).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.endpoint = Some(EndpointSource::Region(region.into()));
        self
    }

    /// The project every request is for.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Authenticates with an IAM token (`X-Auth-Token`).
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Authenticates by signing with an access key and secret key.
    pub fn ak_sk(mut self, ak: impl Into<String>, sk: impl Into<Secret>) -> Self {
        self.ak = Some(ak.into());
        self.sk = Some(sk.into());
        self
    }

    /// The security token that comes with temporary AK/SK credentials.
    pub fn security_token(mut self, token: impl Into<Secret>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// How requests are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Timeouts and user agent of the HTTP client.
    pub fn transport(mut self, options: TransportOptions) -> Self {
        self.transport = options;
        self
    }

    /// Which credentials to use and where they came from: the explicit ones,
    /// else the chain's.
    fn resolve_credentials(&self) -> Result<chain::Found, Error> {
        let none_explicit = self.ak.is_none()
            && self.sk.is_none()
            && self.token.as_ref().is_none_or(Secret::is_empty);
        if none_explicit && let Some(options) = &self.chain {
            return chain::after_explicit(options);
        }
        Ok(chain::Found {
            credentials: self.credentials()?,
            source: Source::Explicit,
            profile: None,
        })
    }

    /// Which explicit credentials to use: AK/SK when both halves are set, else the token.
    fn credentials(&self) -> Result<Credentials, Error> {
        match (&self.ak, &self.sk, &self.token) {
            (Some(ak), Some(sk), _) => {
                if ak.is_empty()
                    || ak
                        .chars()
                        .any(|c| c.is_control() || c == ',' || c.is_whitespace())
                {
                    return Err(Error::invalid(
                        "ak",
                        "must be a non-empty access key without spaces or commas",
                    ));
                }
                Ok(Credentials::AkSk {
                    ak: ak.clone(),
                    sk: sk.clone(),
                    security_token: self.security_token.clone(),
                })
            }
            (Some(_), None, _) => Err(Error::invalid(
                "sk",
                format!("an AK was given without its SK; set {}", env::SK),
            )),
            (None, Some(_), _) => Err(Error::invalid(
                "ak",
                format!("an SK was given without its AK; set {}", env::AK),
            )),
            (None, None, Some(token)) if !token.is_empty() => Ok(Credentials::Token(token.clone())),
            (None, None, _) => Err(Error::invalid(
                "credentials",
                format!(
                    "none given; set a token ({}) or an AK/SK pair ({}, {})",
                    env::AUTH_TOKEN,
                    env::AK,
                    env::SK
                ),
            )),
        }
    }

    /// Checks everything but the project.
    fn check(&self) -> Result<Checked, Error> {
        let (base_url, region) = match &self.endpoint {
            Some(EndpointSource::Url(url)) => {
                let url = normalise_endpoint(url)?;
                let region = region_of_endpoint(&url);
                (url, region)
            }
            Some(EndpointSource::Region(region)) => {
                (region_endpoint(region)?, Some(region.clone()))
            }
            None => {
                return Err(Error::invalid(
                    "endpoint",
                    format!(
                        "none given; set an endpoint URL ({}) or a region ({})",
                        env::ENDPOINT,
                        env::REGION
                    ),
                ));
            }
        };
        let found = self.resolve_credentials()?;
        let file_profile = found.profile.as_ref();
        let project_id = self
            .project_id
            .clone()
            .or_else(|| file_profile.and_then(|p| p.project_id.clone()));
        let iam_endpoint = file_profile
            .and_then(|p| p.iam_endpoint.clone())
            .or_else(|| self.iam_endpoint.clone())
            .unwrap_or_else(|| crate::project::DEFAULT_IAM_ENDPOINT.to_owned());
        Ok(Checked {
            base_url,
            credentials: found.credentials,
            source: found.source,
            project_id,
            iam_endpoint,
            region,
            http: http_client(&self.transport)?,
        })
    }

    /// Checks everything and builds the client. The project must be known
    /// (given, or in the credentials file); [`ClientBuilder::connect`] also
    /// looks it up with IAM.
    pub fn build(self) -> Result<Client, Error> {
        let checked = self.check()?;
        let project_id = checked.project_id.clone().ok_or_else(|| {
            Error::invalid(
                "project_id",
                format!(
                    "none given; set {} (or connect() to look it up with IAM by region)",
                    env::PROJECT_ID
                ),
            )
        })?;
        self.finish(checked, project_id)
    }

    /// [`ClientBuilder::build`], and what needs a request first: the
    /// metadata service's credentials are fetched (so a missing agency is
    /// reported now), and a missing project id is looked up with IAM for the
    /// region, as the official SDKs do.
    pub async fn connect(self) -> Result<Client, Error> {
        let checked = self.check()?;
        if let Credentials::Metadata(source) = &checked.credentials {
            source.ensure().await?;
        }
        let project_id = match (&checked.project_id, &checked.region) {
            (Some(id), _) => id.clone(),
            (None, Some(region)) => {
                let lookup = crate::project::Lookup {
                    iam_endpoint: &checked.iam_endpoint,
                    credentials: &checked.credentials,
                    http: checked.http.clone(),
                    retry: &self.retry,
                    request_timeout: self.transport.request_timeout,
                };
                crate::project::project_of_region(lookup, region).await?
            }
            (None, None) => {
                return Err(Error::invalid(
                    "project_id",
                    format!(
                        "none given, and the endpoint names no region to look it up by; set {} or a region ({})",
                        env::PROJECT_ID,
                        env::REGION
                    ),
                ));
            }
        };
        self.finish(checked, project_id)
    }

    fn finish(self, checked: Checked, project_id: String) -> Result<Client, Error> {
        let project = crate::validate::path_id("project_id", &project_id)?;
        tracing::info!(source = %checked.source, "credentials");
        let request_timeout = self.transport.request_timeout;
        let state = ClientState::new(Some(checked.credentials), Some(project_id));
        let generated = generated::Client::new_with_client(&checked.base_url, checked.http, state);
        Ok(Client::from_inner(Arc::new(ClientInner {
            generated,
            base_url: checked.base_url,
            project,
            retry: self.retry,
            request_timeout,
            credential_source: checked.source,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        ClientBuilder::new()
            .endpoint("http://127.0.0.1:1")
            .project_id("p1")
            .token("t")
    }

    #[test]
    fn builds_with_token_or_ak_sk() {
        assert!(builder().build().is_ok());
        assert!(builder().ak_sk("AK1", "SK1").build().is_ok());
    }

    #[test]
    fn says_what_is_missing() {
        let cases = [
            (ClientBuilder::new().project_id("p").token("t"), "endpoint"),
            (
                ClientBuilder::new().endpoint("http://h").token("t"),
                "project_id",
            ),
            (
                ClientBuilder::new().endpoint("http://h").project_id("p"),
                "credentials",
            ),
            (builder().endpoint("ftp://h"), "endpoint"),
            (builder().project_id(".."), "project_id"),
            (builder().region("nowhere-1"), "region"),
        ];
        for (builder, expected) in cases {
            match builder.build() {
                Err(Error::InvalidInput { argument, .. }) => assert_eq!(argument, expected),
                Err(other) => panic!("{expected}: {other}"),
                Ok(_) => panic!("{expected}: built"),
            }
        }
        let mut half = builder();
        half.ak = Some("AK".into());
        assert!(matches!(
            half.build(),
            Err(Error::InvalidInput { argument: "sk", .. })
        ));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let b = builder()
            .token("sentinel-token-1")
            .ak_sk("AK", "sentinel-sk-2");
        let text = format!("{b:?}");
        assert!(!text.contains("sentinel"), "{text}");
        let client = b.build().unwrap();
        assert!(!format!("{client:?}").contains("sentinel"));
    }
}

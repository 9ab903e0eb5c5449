//! Building a [`Client`]: endpoint, project, credentials, retries, timeouts.

use std::sync::Arc;

use crate::client::{Client, ClientInner};
use crate::credentials::{Credentials, Secret};
use crate::endpoint::{normalise_endpoint, region_endpoint};
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
    retry: RetryPolicy,
    transport: TransportOptions,
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

    /// A builder filled from the environment (see [`env`](mod@env)); explicit setters called
    /// afterwards take precedence.
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
        builder
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

    /// Which credentials to use: AK/SK when both halves are set, else the token.
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

    /// Checks everything and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = match &self.endpoint {
            Some(EndpointSource::Url(url)) => normalise_endpoint(url)?,
            Some(EndpointSource::Region(region)) => region_endpoint(region)?,
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
        let project_id = self.project_id.clone().ok_or_else(|| {
            Error::invalid("project_id", format!("none given; set {}", env::PROJECT_ID))
        })?;
        let project = crate::validate::path_id("project_id", &project_id)?;
        let credentials = self.credentials()?;
        let http = http_client(&self.transport)?;
        let request_timeout = self.transport.request_timeout;
        let state = ClientState::new(Some(credentials), Some(project_id));
        let generated = generated::Client::new_with_client(&base_url, http, state);
        Ok(Client::from_inner(Arc::new(ClientInner {
            generated,
            base_url,
            project,
            retry: self.retry,
            request_timeout,
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

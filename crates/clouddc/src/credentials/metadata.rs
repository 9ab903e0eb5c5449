//! The ECS metadata service's temporary credentials, fetched as the official
//! SDKs fetch them (`huaweicloudsdkcore` `MetadataAccessor`, the Go SDK's
//! metadata accessor): first a session token (`PUT
//! /meta-data/latest/api/token` with `X-Metadata-Token-Ttl-Seconds`), then the
//! agency's credentials (`GET /openstack/latest/securitykey` with
//! `X-Metadata-Token`). Both are operations of `openapi/metadata.yaml`.
//!
//! A service that predates session tokens answers the `PUT` with 404, 405 or
//! 503; the credentials are then asked for without one. A 401 to the `GET`
//! means the session token expired: a new one is fetched and the `GET` is
//! repeated once.
//!
//! The SDKs hard-code the address `http://169.254.169.254`; tests (and hosts
//! whose metadata service is elsewhere) set `CLOUDDC_METADATA_ENDPOINT`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::Error;
use crate::credentials::Secret;
use crate::generated::metadata as api;
use crate::hooks::ClientState;

/// The variable that moves the metadata service (the SDKs have none; this one
/// is clouddc's, for tests and unusual hosts).
pub const METADATA_ENDPOINT_ENV: &str = "CLOUDDC_METADATA_ENDPOINT";

/// Where the metadata service listens on every ECS instance.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://169.254.169.254";

/// The session token's lifetime the SDKs ask for: 6 hours.
const TOKEN_TTL_SECONDS: u64 = 6 * 60 * 60;

/// How long one metadata request may take in all (the SDKs allow 3 s to
/// connect and 3 s to read; the service is on the instance's own link).
pub const METADATA_REQUEST_TIMEOUT: Duration = Duration::from_secs(6);

/// What the agency's credentials are.
#[derive(Clone)]
pub(crate) struct Temporary {
    pub(crate) ak: String,
    pub(crate) sk: Secret,
    pub(crate) security_token: Secret,
    pub(crate) expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Temporary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Temporary")
            .field("ak", &self.ak)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The metadata service at one endpoint, with its session token.
pub(crate) struct MetadataService {
    endpoint: String,
    client: api::Client,
    token: Mutex<Option<api::types::ShowSecurityKeyXMetadataToken>>,
}

impl std::fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataService")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The failure of the metadata source, saying where it was asked.
fn failed(endpoint: &str, why: impl std::fmt::Display) -> Error {
    Error::Credentials {
        source_name: "the ECS metadata service",
        reason: format!(
            "{endpoint}: {why} (on an ECS instance, bind an agency to it; elsewhere give \
             credentials by flags, environment or credentials file)"
        ),
    }
}

impl MetadataService {
    /// The service at `endpoint` (normalised like any endpoint), asked through `http`.
    pub(crate) fn new(endpoint: &str, http: reqwest::Client) -> Result<Self, Error> {
        let endpoint =
            crate::endpoint::normalise_endpoint(endpoint).map_err(|e| failed(endpoint, e))?;
        let client = api::Client::new_with_client(&endpoint, http, ClientState::default());
        Ok(Self {
            endpoint,
            client,
            token: Mutex::new(None),
        })
    }

    /// The endpoint asked.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The agency's credentials now.
    pub(crate) async fn fetch(&self) -> Result<Temporary, Error> {
        let mut token = self.token.lock().await;
        if token.is_none() {
            *token = self.session_token().await?;
        }
        let first = self.security_key(token.as_ref()).await;
        let answer = match first {
            Err(Rejected::Unauthorized) => {
                // The session token expired (or was never needed and now is).
                *token = self.session_token().await?;
                self.security_key(token.as_ref()).await
            }
            other => other,
        };
        answer.map_err(|rejected| failed(&self.endpoint, rejected))
    }

    /// A new session token; `None` where the service has none (404, 405, 503).
    async fn session_token(
        &self,
    ) -> Result<Option<api::types::ShowSecurityKeyXMetadataToken>, Error> {
        let ttl = std::num::NonZeroU64::new(TOKEN_TTL_SECONDS).expect("not zero");
        let call = self.client.create_metadata_token(ttl);
        let response = match tokio::time::timeout(METADATA_REQUEST_TIMEOUT, call).await {
            Err(_) => {
                return Err(failed(
                    &self.endpoint,
                    "the session token request timed out",
                ));
            }
            Ok(Ok(response)) => response,
            Ok(Err(progenitor_client::Error::ErrorResponse(answer)))
                if matches!(answer.status().as_u16(), 404 | 405 | 503) =>
            {
                return Ok(None);
            }
            Ok(Err(error)) => return Err(failed(&self.endpoint, describe(error).await)),
        };
        let read = read_at_most(response.into_inner(), 4096);
        let bytes = tokio::time::timeout(METADATA_REQUEST_TIMEOUT, read)
            .await
            .map_err(|_| failed(&self.endpoint, "the session token did not arrive in time"))?
            .map_err(|why| failed(&self.endpoint, format!("the session token: {why}")))?;
        let text = String::from_utf8(bytes)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
            .ok_or_else(|| failed(&self.endpoint, "the session token is not a header value"))?;
        api::types::ShowSecurityKeyXMetadataToken::try_from(text)
            .map(Some)
            .map_err(|_| {
                failed(
                    &self.endpoint,
                    "the session token is longer than documented",
                )
            })
    }

    async fn security_key(
        &self,
        token: Option<&api::types::ShowSecurityKeyXMetadataToken>,
    ) -> Result<Temporary, Rejected> {
        let call = self.client.show_security_key(token);
        let answer = match tokio::time::timeout(METADATA_REQUEST_TIMEOUT, call).await {
            Err(_) => return Err(Rejected::Other("the credentials request timed out".into())),
            Ok(Ok(answer)) => answer.into_inner(),
            Ok(Err(progenitor_client::Error::ErrorResponse(answer)))
                if answer.status().as_u16() == 401 =>
            {
                return Err(Rejected::Unauthorized);
            }
            Ok(Err(error)) => return Err(Rejected::Other(describe(error).await)),
        };
        let credential = answer.credential;
        Ok(Temporary {
            ak: credential.access.to_string(),
            sk: Secret::new(credential.secret.to_string()),
            security_token: Secret::new(credential.securitytoken.to_string()),
            expires_at: credential.expires_at,
        })
    }
}

/// Why the credentials request failed.
enum Rejected {
    /// 401: the session token is missing or expired.
    Unauthorized,
    /// Anything else, described without the answer's body when it succeeded
    /// (a credential answer that fails to decode may still hold a secret).
    Other(String),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Unauthorized => f.write_str("HTTP 401 with a fresh session token"),
            Rejected::Other(why) => f.write_str(why),
        }
    }
}

/// A generated call's error as text with no secret in it: an error answer's
/// status and (printable) body, which holds no credential; a success that
/// failed to decode only by its status.
async fn describe(error: progenitor_client::Error<progenitor_client::ByteStream>) -> String {
    use progenitor_client::Error as E;
    match error {
        E::ErrorResponse(answer) => {
            let status = answer.status().as_u16();
            let body = read_at_most(answer.into_inner(), 1024)
                .await
                .unwrap_or_default();
            format!("HTTP {status}: {}", crate::printable::snippet(&body))
        }
        E::UnexpectedResponse(response) => format!("HTTP {}", response.status().as_u16()),
        E::InvalidResponsePayload(..) => {
            "the answer is not the documented credential JSON".to_owned()
        }
        E::CommunicationError(e) => format!("cannot reach it: {}", with_causes(&e)),
        other => format!(
            "the request failed ({})",
            match other {
                E::InvalidRequest(_) => "invalid request",
                E::ResponseBodyError(_) => "the answer broke off",
                _ => "unexpected",
            }
        ),
    }
}

/// An error and its causes on one line (reqwest's own text says only "error
/// sending request").
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The body, or why not: it broke off or is longer than `limit` bytes.
async fn read_at_most(
    mut stream: progenitor_client::ByteStream,
    limit: usize,
) -> Result<Vec<u8>, String> {
    use futures::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| "the answer broke off".to_owned())?;
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(format!("longer than {limit} bytes"));
        }
    }
    Ok(body)
}

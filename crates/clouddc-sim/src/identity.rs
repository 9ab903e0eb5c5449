//! The other services a client meets before CloudDC, as small as the client's
//! specs of them (`openapi/iam.yaml`, `openapi/metadata.yaml`): IAM's project
//! lookup by region, and the ECS metadata service's session tokens and
//! temporary credentials, which then authenticate CloudDC requests (signed
//! with the temporary AK/SK and carrying their `X-Security-Token`) until
//! [`crate::SimConfig::credential_ttl`] passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clouddc_auth::Secret;
use serde::Serialize;

use crate::auth::authenticate;
use crate::server::{Shared, error, path_and_query};

/// The longest session token lifetime the metadata service grants (6 h).
const MAX_TOKEN_TTL_SECONDS: u64 = 6 * 60 * 60;

/// Temporary credentials issued, and the metadata session tokens.
#[derive(Debug, Default)]
pub(crate) struct Issued {
    credentials: Mutex<HashMap<String, Temporary>>,
    session_tokens: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Clone)]
struct Temporary {
    sk: Secret,
    security_token: Secret,
    expires: Instant,
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl Issued {
    /// The SK of a temporary AK still valid, and the token it must come with.
    pub(crate) fn lookup(&self, ak: &str) -> Option<(Secret, Secret)> {
        let credentials = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        credentials
            .get(ak)
            .filter(|t| Instant::now() < t.expires)
            .map(|t| (t.sk.clone(), t.security_token.clone()))
    }

    fn issue(&self, ttl: Duration) -> (String, Temporary) {
        let now = Instant::now();
        let ak = format!("TMP{}", random_hex(10).to_uppercase());
        let temporary = Temporary {
            sk: Secret::new(random_hex(20)),
            security_token: Secret::new(format!("sts-{}", random_hex(48))),
            expires: now + ttl,
        };
        let mut credentials = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        credentials.retain(|_, t| t.expires > now);
        credentials.insert(ak.clone(), temporary.clone());
        (ak, temporary)
    }

    fn new_session_token(&self, ttl: Duration) -> String {
        let token = random_hex(24);
        let now = Instant::now();
        let mut tokens = self
            .session_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expires| *expires > now);
        tokens.insert(token.clone(), now + ttl);
        token
    }

    fn session_token_valid(&self, token: &str) -> bool {
        let tokens = self
            .session_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        tokens.get(token).is_some_and(|e| Instant::now() < *e)
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

/// `CreateMetadataToken`: a session token for the asked lifetime.
pub(crate) async fn create_metadata_token(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
) -> Response {
    let ttl = headers
        .get("x-metadata-token-ttl-seconds")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .filter(|s| (1..=MAX_TOKEN_TTL_SECONDS).contains(s));
    let Some(ttl) = ttl else {
        return plain(
            StatusCode::BAD_REQUEST,
            "X-Metadata-Token-Ttl-Seconds must be 1 to 21600",
        );
    };
    state
        .counters
        .metadata_tokens
        .fetch_add(1, Ordering::Relaxed);
    let token = state.issued.new_session_token(Duration::from_secs(ttl));
    plain(StatusCode::OK, &token)
}

#[derive(Serialize)]
struct SecurityKey {
    credential: Credential,
}

#[derive(Serialize)]
struct Credential {
    access: String,
    secret: String,
    securitytoken: String,
    expires_at: String,
}

/// `ShowSecurityKey`: new temporary credentials, for a valid session token.
pub(crate) async fn show_security_key(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get("x-metadata-token")
        .and_then(|v| v.to_str().ok());
    if !token.is_some_and(|t| state.issued.session_token_valid(t)) {
        return plain(
            StatusCode::UNAUTHORIZED,
            "a valid X-Metadata-Token is required",
        );
    }
    let ttl = state.config.credential_ttl;
    let (access, temporary) = state.issued.issue(ttl);
    state
        .counters
        .metadata_credentials
        .fetch_add(1, Ordering::Relaxed);
    let expires_at = chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let body = SecurityKey {
        credential: Credential {
            access,
            secret: temporary.sk.expose().to_owned(),
            securitytoken: temporary.security_token.expose().to_owned(),
            expires_at: expires_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        },
    };
    axum::Json(body).into_response()
}

#[derive(Serialize)]
struct ProjectList {
    projects: Vec<Project>,
}

#[derive(Serialize)]
struct Project {
    id: String,
    name: String,
}

/// `KeystoneListProjects`: the projects named `name` (a region), for a caller
/// authenticated as every CloudDC caller is.
pub(crate) async fn list_projects(
    Extract(state): Extract<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    state.counters.iam.fetch_add(1, Ordering::Relaxed);
    if let Err(failure) = authenticate(
        &state.config,
        &state.issued,
        method.as_str(),
        path_and_query(&uri),
        &headers,
        b"",
    ) {
        state
            .counters
            .unauthenticated
            .fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            format!("Incorrect IAM authentication information: {}", failure.0),
        );
    }
    let name = query.ok().and_then(|Query(params)| {
        params
            .into_iter()
            .rev()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v)
    });
    let Some(name) = name.filter(|n| (1..=64).contains(&n.chars().count())) else {
        return error(
            StatusCode::BAD_REQUEST,
            "IAM.0001",
            "name must be 1 to 64 characters",
        );
    };
    let projects = match &state.config.project_regions {
        None => vec![Project {
            id: state.config.project_id.clone(),
            name: name.clone(),
        }],
        Some(pairs) => pairs
            .iter()
            .filter(|(region, _)| *region == name)
            .map(|(region, id)| Project {
                id: id.clone(),
                name: region.clone(),
            })
            .collect(),
    };
    axum::Json(ProjectList { projects }).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_credentials_expire_and_session_tokens_are_checked() {
        let issued = Issued::default();
        let (ak, temporary) = issued.issue(Duration::from_secs(60));
        let (sk, token) = issued.lookup(&ak).expect("valid");
        assert_eq!(sk, temporary.sk);
        assert_eq!(token, temporary.security_token);
        let (gone, _) = issued.issue(Duration::ZERO);
        assert!(issued.lookup(&gone).is_none());
        assert!(issued.lookup("AKUNKNOWN").is_none());
        let session = issued.new_session_token(Duration::from_secs(60));
        assert!(issued.session_token_valid(&session));
        assert!(!issued.session_token_valid("guess"));
    }
}

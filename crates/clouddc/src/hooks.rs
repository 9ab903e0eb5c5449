//! What happens to every request the generated client sends: credentials go on
//! last, and the response's status and request id are remembered for errors that
//! would otherwise lose them.

use std::sync::{Arc, Mutex};

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};

use crate::credentials::Credentials;
use crate::generated::Client;

/// State the generated client carries for the hooks.
#[derive(Debug, Clone, Default)]
pub struct ClientState {
    credentials: Option<Arc<Credentials>>,
}

impl ClientState {
    /// State that authenticates every request with `credentials`.
    pub fn new(credentials: Option<Credentials>) -> Self {
        Self {
            credentials: credentials.map(Arc::new),
        }
    }
}

/// The status and request id of the last response an operation received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: Option<u16>,
    /// The `X-Request-Id` header, which support asks for.
    pub request_id: Option<String>,
}

tokio::task_local! {
    static LAST_RESPONSE: Arc<Mutex<ResponseMeta>>;
}

/// Runs one generated call and returns, beside its result, the status and request
/// id of the response it received. progenitor drops both when a 2xx body fails to
/// decode; this keeps them for the error.
pub async fn with_response_meta<F: Future>(call: F) -> (F::Output, ResponseMeta) {
    let slot = Arc::new(Mutex::new(ResponseMeta::default()));
    let output = LAST_RESPONSE.scope(slot.clone(), call).await;
    let meta = slot.lock().map(|m| m.clone()).unwrap_or_default();
    (output, meta)
}

/// The header name of the token.
const AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
/// progenitor sends `api-version: <info.version>`; the service knows no such header.
const API_VERSION: &str = "api-version";

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        use progenitor_client::ClientInfo;
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        match self.inner().credentials.as_deref() {
            None => {}
            Some(Credentials::Token(token)) => {
                let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                    progenitor_client::Error::InvalidRequest(
                        "the token contains characters not allowed in a header".into(),
                    )
                })?;
                value.set_sensitive(true);
                headers.insert(AUTH_TOKEN, value);
            }
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        let response = self.client().execute(request).await?;
        let _ = LAST_RESPONSE.try_with(|slot| {
            if let Ok(mut meta) = slot.lock() {
                meta.status = Some(response.status().as_u16());
                meta.request_id = crate::error::request_id(response.headers());
            }
        });
        Ok(response)
    }
}

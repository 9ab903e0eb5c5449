//! What happens to every request the generated client sends: credentials go on
//! last (an AK/SK signature covers everything else, so nothing may change the
//! request after it), and the response's status and request id are recorded
//! (`response_meta`) for errors that would otherwise lose them.

use std::sync::Arc;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};

use crate::credentials::{Credentials, Secret};
use crate::generated::Client;
use crate::signing;

/// Public here before it had a module of its own; kept so users' paths hold.
pub use crate::response_meta::ResponseMeta;

/// State the generated client carries for the hooks.
#[derive(Debug, Clone, Default)]
pub struct ClientState {
    credentials: Option<Arc<Credentials>>,
    project_id: Option<String>,
    /// The token as a header value, built once: a status poll is cheap enough
    /// that copying and checking the token at every call shows in benchmarks.
    /// `None` when the token cannot be a header value (each call then says so).
    token_header: Option<HeaderValue>,
}

impl ClientState {
    /// State that authenticates every request with `credentials`; AK/SK
    /// requests also carry (and sign) `project_id` as `X-Project-Id`.
    pub fn new(credentials: Option<Credentials>, project_id: Option<String>) -> Self {
        let token_header = match &credentials {
            Some(Credentials::Token(token)) => {
                HeaderValue::from_str(token.expose()).ok().map(|mut value| {
                    // Sensitive: `Debug` prints `Sensitive`, and HTTP/2 never
                    // indexes it.
                    value.set_sensitive(true);
                    value
                })
            }
            _ => None,
        };
        Self {
            credentials: credentials.map(Arc::new),
            project_id,
            token_header,
        }
    }
}

/// The header name of the token.
const AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
/// progenitor sends `api-version: <info.version>`; the service knows no such header.
const API_VERSION: &str = "api-version";

/// What JSON operations accept: their errors include the plain-text 429, and a
/// strict server (prism does this) will not send a `text/plain` answer to a
/// request that accepts only JSON.
const ACCEPT_JSON_OR_TEXT: &str = "application/json, text/plain;q=0.5";

/// Widens progenitor's `Accept: application/json` to include the documented
/// plain-text error body.
fn accept_documented_errors(request: &mut reqwest::Request) {
    let headers = request.headers_mut();
    if headers
        .get(reqwest::header::ACCEPT)
        .is_some_and(|v| v == "application/json")
    {
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static(ACCEPT_JSON_OR_TEXT),
        );
    }
}

/// Signs an AK/SK request, dated now: this runs at every call of a generated
/// method, so each retry carries a fresh date and signature.
fn sign(
    request: &mut reqwest::Request,
    ak: &str,
    sk: &Secret,
    security_token: Option<&Secret>,
    project_id: Option<&str>,
) -> Result<(), signing::SignError> {
    let now = chrono::Utc::now();
    signing::sign_request(request, ak, sk, security_token, project_id, now).map(drop)
}

/// Puts the credentials on `request`, last: the token header, or an AK/SK
/// signature (with the temporary credentials of the metadata source, refreshed
/// first when due). The error text names no secret.
async fn authorize(state: &ClientState, request: &mut reqwest::Request) -> Result<(), String> {
    match state.credentials.as_deref() {
        None => {}
        Some(Credentials::Token(_)) => {
            let value = state
                .token_header
                .clone()
                .ok_or("the token contains characters not allowed in a header")?;
            request.headers_mut().insert(AUTH_TOKEN, value);
        }
        Some(Credentials::AkSk {
            ak,
            sk,
            security_token,
        }) => {
            let project_id = state.project_id.as_deref();
            sign(request, ak, sk, security_token.as_ref(), project_id)
                .map_err(|e| format!("cannot sign the request: {e}"))?;
        }
        Some(Credentials::Metadata(source)) => {
            let current = source.current().await.map_err(|e| e.to_string())?;
            let project_id = state.project_id.as_deref();
            let token = Some(&current.security_token);
            sign(request, &current.ak, &current.sk, token, project_id)
                .map_err(|e| format!("cannot sign the request: {e}"))?;
        }
    }
    Ok(())
}

/// What every generated request of every spec goes through before it is sent.
async fn prepare<E>(
    state: &ClientState,
    request: &mut reqwest::Request,
) -> Result<(), progenitor_client::Error<E>> {
    request.headers_mut().remove(API_VERSION);
    accept_documented_errors(request);
    authorize(state, request)
        .await
        .map_err(progenitor_client::Error::InvalidRequest)
}

/// The metadata service's session token: as secret as a token.
const METADATA_TOKEN: &str = "x-metadata-token";

/// The IAM project lookup: signed like CloudDC's requests (without a project),
/// its small answer capped.
impl ClientHooks<ClientState> for crate::generated::iam::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        use progenitor_client::ClientInfo;
        prepare(self.inner(), request).await
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        let response = self.client().execute(request).await?;
        crate::response_meta::record(&response);
        Ok(capped(response, MAX_ANSWER_BYTES))
    }
}

/// The metadata service: no credentials (so not [`prepare`], whose signing
/// with metadata credentials would come back here), the session token marked
/// sensitive, answers capped.
impl ClientHooks<ClientState> for crate::generated::metadata::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        if let Some(value) = headers.get_mut(METADATA_TOKEN) {
            value.set_sensitive(true);
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
        Ok(capped(response, MAX_ANSWER_BYTES))
    }
}

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        use progenitor_client::ClientInfo;
        prepare(self.inner(), request).await
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        let exchange = Exchange::start(&request);
        let response = self.client().execute(request).await;
        if let Some(exchange) = exchange {
            exchange.log(&response);
        }
        let response = response?;
        crate::response_meta::record(&response);
        // The generated code reads JSON answers whole; only the archive is
        // streamed (by our own download code), so everything else is capped.
        if info.operation_id == crate::operation::DOWNLOAD.generated_id {
            Ok(response)
        } else {
            Ok(capped(response, MAX_ANSWER_BYTES))
        }
    }
}

/// One request as `-vv` shows it: method, path, status, request id and
/// duration, and at trace level the header names (never a value: the
/// token and the signature are headers). Nothing is collected unless debug
/// logging is on, so a status poll costs nothing more.
struct Exchange {
    method: reqwest::Method,
    path: String,
    header_names: Vec<String>,
    started: std::time::Instant,
}

impl Exchange {
    fn start(request: &reqwest::Request) -> Option<Self> {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return None;
        }
        let header_names = if tracing::enabled!(tracing::Level::TRACE) {
            request.headers().keys().map(|k| k.to_string()).collect()
        } else {
            Vec::new()
        };
        Some(Self {
            method: request.method().clone(),
            path: request.url().path().to_owned(),
            header_names,
            started: std::time::Instant::now(),
        })
    }

    fn log(self, response: &reqwest::Result<reqwest::Response>) {
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        let (method, path) = (self.method.as_str(), self.path.as_str());
        tracing::trace!(method, path, headers = ?self.header_names, "request headers");
        match response {
            Ok(response) => {
                let request_id = crate::response_meta::request_id(response.headers());
                tracing::debug!(
                    method,
                    path,
                    status = response.status().as_u16(),
                    request_id = request_id.as_deref().unwrap_or("-"),
                    elapsed_ms,
                    "response"
                );
            }
            Err(error) => {
                tracing::debug!(method, path, elapsed_ms, error = %error, "no response");
            }
        }
    }
}

/// The largest answer read from the JSON operations: the service's are under
/// a KiB, so this only stops a broken or hostile server from filling memory.
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// `response` with a body that fails once more than `limit` bytes arrive (at
/// once, if `Content-Length` already says so).
fn capped(response: reqwest::Response, limit: u64) -> reqwest::Response {
    use futures::StreamExt;
    // hyper never reads past a declared length, so a declared length within the
    // limit already bounds the body; rebuilding the response for it costs a
    // header copy and a boxed stream on every status call.
    if response.content_length().is_some_and(|n| n <= limit) {
        return response;
    }
    let too_long =
        move || std::io::Error::other(format!("the answer is longer than {limit} bytes"));
    use reqwest::ResponseBuilderExt;
    // The URL goes along, so an error reading the body names the request's
    // URL rather than reqwest's placeholder for a response built by hand.
    let mut builder = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = response.headers().clone();
    }
    let declared_too_long = response.content_length().is_some_and(|n| n > limit);
    let mut seen = 0u64;
    let body = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len() as u64;
        if declared_too_long || seen > limit {
            Err(too_long())
        } else {
            Ok(chunk)
        }
    });
    match builder.body(reqwest::Body::wrap_stream(body)) {
        Ok(rebuilt) => reqwest::Response::from(rebuilt),
        // Unreachable: status, version and headers came from a valid response.
        Err(_) => reqwest::Response::from(http::Response::new(reqwest::Body::from(Vec::new()))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use progenitor_client::{ClientHooks, ClientInfo};
    use reqwest::header::{AUTHORIZATION, HOST};

    use super::*;
    use crate::transport::{TransportOptions, http_client};

    #[tokio::test]
    async fn ak_sk_requests_are_signed_last() {
        let credentials = Credentials::AkSk {
            ak: "AKEXAMPLE".into(),
            sk: Secret::new("sk-sentinel-77d0"),
            security_token: Some(Secret::new("token-sentinel-2b9e")),
        };
        let state = ClientState::new(Some(credentials), Some("proj".into()));
        let http = http_client(&TransportOptions::default()).expect("client");
        let client = Client::new_with_client("http://127.0.0.1:8080", http, state);
        let url = "http://127.0.0.1:8080/v1/proj/physicalservers/s/logs/exports/e";
        let url = reqwest::Url::parse(url).expect("URL");
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        request
            .headers_mut()
            .insert(API_VERSION, HeaderValue::from_static("1"));
        let info = OperationInfo {
            operation_id: crate::operation::STATUS.generated_id,
        };
        client.pre::<()>(&mut request, &info).await.expect("signs");

        let headers = request.headers();
        assert!(!headers.contains_key(API_VERSION));
        assert_eq!(headers["x-project-id"], "proj");
        assert!(headers["x-security-token"].is_sensitive());
        assert!(headers[AUTHORIZATION].is_sensitive());
        let authorization = headers[AUTHORIZATION].to_str().expect("ascii");
        assert!(authorization.starts_with(
            "SDK-HMAC-SHA256 Access=AKEXAMPLE, \
             SignedHeaders=host;x-project-id;x-sdk-date;x-security-token, Signature="
        ));

        let mut received = headers.clone();
        received.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let date = headers["x-sdk-date"].to_str().expect("ascii");
        let now = signing::parse_sdk_date(date).expect("date");
        let caller = signing::verify(
            "GET",
            request.url().path(),
            &received,
            b"",
            now,
            Duration::from_secs(15 * 60),
            |_| Some(Secret::new("sk-sentinel-77d0")),
        );
        assert_eq!(caller.map(|c| c.ak).as_deref(), Ok("AKEXAMPLE"));
    }

    fn status_request() -> (reqwest::Request, OperationInfo) {
        let url = "http://127.0.0.1:8080/v1/proj/physicalservers/s/logs/exports/e";
        let url = reqwest::Url::parse(url).expect("URL");
        let info = OperationInfo {
            operation_id: crate::operation::STATUS.generated_id,
        };
        (reqwest::Request::new(reqwest::Method::GET, url), info)
    }

    fn token_client(token: &str) -> Client {
        let state = ClientState::new(Some(Credentials::Token(Secret::new(token))), None);
        let http = http_client(&TransportOptions::default()).expect("client");
        Client::new_with_client("http://127.0.0.1:8080", http, state)
    }

    #[tokio::test]
    async fn the_token_goes_out_as_a_sensitive_header_on_every_call() {
        let client = token_client("token-sentinel-5c1d");
        for _ in 0..2 {
            let (mut request, info) = status_request();
            client.pre::<()>(&mut request, &info).await.expect("sets");
            let value = &request.headers()[AUTH_TOKEN];
            assert_eq!(value, "token-sentinel-5c1d");
            assert!(value.is_sensitive());
        }
        assert!(!format!("{:?}", client.inner()).contains("token-sentinel-5c1d"));
    }

    #[tokio::test]
    async fn a_token_that_cannot_be_a_header_fails_each_call_without_showing_it() {
        let client = token_client("token-sentinel\n9e2a");
        for _ in 0..2 {
            let (mut request, info) = status_request();
            let error = client
                .pre::<()>(&mut request, &info)
                .await
                .expect_err("a newline cannot go into a header")
                .to_string();
            assert!(error.contains("not allowed in a header"), "{error}");
            assert!(!error.contains("9e2a"), "{error}");
            assert!(!request.headers().contains_key(AUTH_TOKEN));
        }
    }
}

//! The HTTP client every request goes through.
//!
//! progenitor's default client has a 15 s *total* timeout, which kills any large
//! download. This one bounds connecting and each read instead, so a multi-GiB
//! archive can take as long as it needs while a stalled connection still fails.

use std::time::Duration;

use crate::Error;

/// The default of [`TransportOptions::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Timeouts and identity of the HTTP client.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// How long establishing a connection (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long a single read may wait for data; a stalled body fails after this.
    pub read_timeout: Duration,
    /// How long one JSON request (export or status) may take in all, from
    /// sending to the last byte of its answer. Each attempt has its own; a
    /// timed-out status request is retried, a timed-out export is not (the
    /// task may exist). Downloads have no total deadline: an archive takes as
    /// long as the link needs, and a stalled one is cut by the read timeout.
    pub request_timeout: Duration,
    /// How long an idle pooled connection is kept for reuse.
    pub pool_idle_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for TransportOptions {
    /// The official SDKs' defaults: 60 s to connect, 120 s per read; and 60 s
    /// for a whole JSON request, whose answers are a few hundred bytes.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(120),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            pool_idle_timeout: Duration::from_secs(90),
            user_agent: format!("clouddc-rust/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Installs rustls' `ring` crypto provider for the process.
///
/// reqwest is built with `rustls-no-provider` (ring builds in seconds; the default
/// aws-lc takes minutes on a small machine), so every `reqwest::Client` in the
/// process, ours or a caller's, needs a provider installed first or its `build()`
/// panics. Idempotent.
pub fn install_crypto_provider() {
    // A second install reports that one is in place; that is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the reqwest client: rustls with the `ring` provider, connection reuse,
/// no total timeout (the JSON operations get theirs per request, see
/// [`TransportOptions::request_timeout`]), and no redirects followed: the API
/// documents none, and reqwest would carry `X-Auth-Token`, the signature
/// headers and `X-Project-Id` to whatever origin a 3xx names. A 3xx becomes
/// [`Error::Redirected`].
pub fn http_client(options: &TransportOptions) -> Result<reqwest::Client, Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .pool_idle_timeout(options.pool_idle_timeout)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(options.user_agent.clone())
        .build()
        .map_err(|source| Error::Transport {
            operation: "building the HTTP client",
            source,
        })
}

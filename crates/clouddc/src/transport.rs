//! The HTTP client every request goes through.
//!
//! progenitor's default client has a 15 s *total* timeout, which kills any large
//! download. This one bounds connecting and each read instead, so a multi-GiB
//! archive can take as long as it needs while a stalled connection still fails.

use std::time::Duration;

use crate::Error;

/// Timeouts and identity of the HTTP client.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// How long establishing a connection (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long a single read may wait for data; a stalled body fails after this.
    pub read_timeout: Duration,
    /// How long an idle pooled connection is kept for reuse.
    pub pool_idle_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for TransportOptions {
    /// The official SDKs' defaults: 60 s to connect, 120 s per read.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(120),
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
/// no total timeout.
pub fn http_client(options: &TransportOptions) -> Result<reqwest::Client, Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .pool_idle_timeout(options.pool_idle_timeout)
        .tcp_nodelay(true)
        .user_agent(options.user_agent.clone())
        .build()
        .map_err(|source| Error::Transport {
            operation: "building the HTTP client",
            source,
        })
}

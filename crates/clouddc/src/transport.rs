//! The HTTP client every request goes through.
//!
//! progenitor's default client has a 15 s *total* timeout, which kills any large
//! download. This one bounds connecting and each read instead, so a multi-GiB
//! archive can take as long as it needs while a stalled connection still fails.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::credentials::Secret;

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
    /// A forward proxy for every request (`http://[user:password@]host:port`),
    /// bypassed for the hosts `NO_PROXY` lists. `None` leaves reqwest's
    /// default: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and
    /// their lower-case forms) from the environment. A `Secret`: the URL may
    /// carry the proxy's password.
    pub proxy: Option<Secret>,
    /// A PEM file of CA certificates trusted besides the system's (a corporate
    /// TLS-inspecting proxy's, or a private endpoint's).
    pub ca_bundle: Option<PathBuf>,
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
            proxy: None,
            ca_bundle: None,
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
    let mut builder = reqwest::Client::builder();
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(proxy_of(proxy)?);
    }
    if let Some(path) = &options.ca_bundle {
        builder = builder.tls_certs_merge(ca_bundle(path)?);
    }
    builder
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

/// The proxy `url` names, with `NO_PROXY`'s exceptions. Errors show the URL
/// with its `user:password@` replaced.
fn proxy_of(url: &Secret) -> Result<reqwest::Proxy, Error> {
    let bad = |why: &str| {
        Error::invalid(
            "proxy",
            format!(
                "{:?}: {why}",
                crate::printable::snippet(crate::endpoint::redacted(url.expose()).as_bytes())
            ),
        )
    };
    let parsed = url::Url::parse(url.expose()).map_err(|_| bad("not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("must be http://host:port or https://host:port"));
    }
    reqwest::Proxy::all(url.expose())
        .map(|proxy| proxy.no_proxy(reqwest::NoProxy::from_env()))
        .map_err(|_| bad("not a proxy URL"))
}

/// The largest CA bundle read (a system bundle is about 200 KiB).
const MAX_CA_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

/// The certificates of a PEM bundle; an unreadable or certificate-free file
/// is an error naming it.
fn ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Error> {
    use std::io::Read;
    let bad = |why: String| {
        Error::invalid(
            "ca_bundle",
            format!(
                "{}: {why}",
                crate::printable::snippet(path.display().to_string().as_bytes())
            ),
        )
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CA_BUNDLE_BYTES + 1).read_to_end(&mut pem))
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if pem.len() as u64 > MAX_CA_BUNDLE_BYTES {
        return Err(bad(format!("longer than {MAX_CA_BUNDLE_BYTES} bytes")));
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| bad("not a PEM bundle of certificates".into()))?;
    if certificates.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_proxy_is_named_without_its_password() {
        for url in [
            "ftp://user:pw-sentinel-1@proxy:21",
            "http//user:pw-sentinel-1@proxy",
        ] {
            let options = TransportOptions {
                proxy: Some(Secret::new(url)),
                ..TransportOptions::default()
            };
            let error = http_client(&options).unwrap_err().to_string();
            assert!(error.contains("proxy"), "{error}");
            assert!(!error.contains("pw-sentinel"), "{error}");
            assert!(!format!("{options:?}").contains("pw-sentinel"));
        }
        let options = TransportOptions {
            proxy: Some(Secret::new("http://user:pw-sentinel-1@127.0.0.1:3128")),
            ..TransportOptions::default()
        };
        assert!(http_client(&options).is_ok());
    }

    #[test]
    fn a_ca_bundle_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        for path in [missing, empty] {
            let options = TransportOptions {
                ca_bundle: Some(path.clone()),
                ..TransportOptions::default()
            };
            let error = http_client(&options).unwrap_err().to_string();
            assert!(error.contains("ca_bundle"), "{error}");
            assert!(error.contains(&*path.display().to_string()), "{error}");
        }
    }
}

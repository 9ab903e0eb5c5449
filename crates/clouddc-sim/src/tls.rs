//! HTTPS for the simulator (`clouddc sim --tls`): a CA and a certificate for
//! `127.0.0.1` and `localhost` made at start, so a client's trust settings
//! (`--ca-bundle`, `SSL_CERT_FILE`) can be tested both ways: refused while
//! the CA is unknown, accepted once it is trusted.
//!
//! Handshakes run on tasks of their own and finished connections are handed
//! to axum through a channel, so a client that connects and never speaks TLS
//! holds only its own task (for at most [`HANDSHAKE_TIMEOUT`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::SimError;

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The CA a simulator's certificate is signed by, as PEM: what a client must
/// trust.
#[derive(Debug, Clone)]
pub struct TlsAuthority {
    /// The CA certificate.
    pub ca_pem: String,
}

fn failed(why: impl std::fmt::Display) -> SimError {
    SimError::Config {
        what: "tls",
        why: why.to_string(),
    }
}

/// A new CA, and the server configuration of a certificate it signed.
pub(crate) fn make_identity() -> Result<(TlsAuthority, Arc<rustls::ServerConfig>), SimError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "clouddc simulator test CA");
    let ca = ca_params.self_signed(&ca_key).map_err(failed)?;
    let key = KeyPair::generate().map_err(failed)?;
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(failed)?;
    let certificate = params.signed_by(&key, &ca, &ca_key).map_err(failed)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = vec![certificate.der().clone(), ca.der().clone()];
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(failed)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((TlsAuthority { ca_pem: ca.pem() }, Arc::new(config)))
}

/// A listener whose connections have finished their TLS handshake.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` and shakes hands with `config` until this
    /// listener is dropped.
    pub(crate) fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> Self {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (ready_tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = ready_tx.closed() => return,
                };
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let ready_tx = ready_tx.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => {
                            let _ = ready_tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Self { ready, local_addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The acceptor only stops once this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

//! Credentials, project and network as the official SDKs' users have them:
//! the credential chain (file, region, IAM, metadata refresh), secrets on
//! those paths, and TLS trust (`--ca-bundle`, `SSL_CERT_FILE`, `sim --tls`).
//! The forward-proxy test needs proxy.py and is contract suite 8.

mod chain;
mod secrets;
mod tls;

//! [`ObjectStoreDestination`]: each archive an object in an S3-compatible
//! bucket (AWS S3, Huawei OBS, MinIO...), through `object_store`'s S3 client:
//! its signing, its multipart uploads, its retries.
//!
//! An archive is streamed as a multipart upload of [`PART_BYTES`] parts, so
//! memory is bounded by one part per download and nothing touches the disk;
//! the upload is completed only once the archive was checked, and aborted
//! otherwise. S3 takes an object's metadata when an upload starts, before the
//! archive's SHA-256 is known, so the SHA-256 is recorded in an object beside
//! it, `NAME.sha256`, in `sha256sum`'s format (`sha256sum -c` checks a
//! downloaded copy), written after the archive: an archive whose `.sha256` is
//! missing, or names another length, is not taken as complete.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use super::upload::{ObjectArchive, Uploads};
use super::{ArchiveWriter, Destination, Stored, io_error};
use crate::download::DownloadOptions;
use crate::{Error, Secret};

/// The size of one uploaded part: S3's minimum is 5 MiB (but for the last).
pub const PART_BYTES: usize = 8 << 20;

/// The suffix of the object holding an archive's SHA-256.
pub const SHA256_SUFFIX: &str = ".sha256";

/// The largest `.sha256` object read back (a hash, two spaces and a name).
const MAX_SIDECAR_BYTES: usize = 4096;

/// A bucket and a key prefix: `s3://BUCKET/PREFIX/` or `obs://BUCKET/PREFIX/`
/// (OBS speaks the same protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    /// `s3` or `obs`, as written.
    pub scheme: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl ObjectUrl {
    /// Parses `s3://BUCKET[/PREFIX[/]]` or `obs://...`; `None` when `text` is
    /// no such URL (a local path), an error when it is one but malformed.
    pub fn parse(text: &str) -> Option<Result<Self, Error>> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "s3" && scheme != "obs" {
            return None;
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Some(Err(Error::invalid(
                "output",
                format!(
                    "{scheme}:// needs a bucket name of 3 to 63 lowercase letters, digits, '-' or '.', not {:?}",
                    crate::printable::snippet(bucket.as_bytes())
                ),
            )));
        }
        if prefix.split('/').any(|part| part == "." || part == "..")
            || prefix.chars().any(char::is_control)
            || prefix.contains("//")
        {
            return Some(Err(Error::invalid(
                "output",
                "the key prefix has an empty, '.' or '..' segment or a control character",
            )));
        }
        Some(Ok(Self {
            scheme,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}/{}", self.scheme, self.bucket, self.prefix)?;
        if !self.prefix.is_empty() {
            f.write_str("/")?;
        }
        Ok(())
    }
}

/// How to reach the bucket. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct ObjectStoreConfig {
    /// The bucket and prefix.
    pub url: ObjectUrl,
    /// The service's URL (`https://obs.REGION.myhuaweicloud.com`, a MinIO's);
    /// `None` for AWS S3's endpoint of `region`.
    pub endpoint: Option<String>,
    /// The region the requests are signed for.
    pub region: String,
    /// The access key.
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// Buckets in the path (`endpoint/bucket/key`) rather than the host name
    /// (`bucket.endpoint/key`).
    pub path_style: bool,
    /// The bound of each request to the store.
    pub request_timeout: Duration,
}

/// Archives as objects under a bucket's prefix.
pub struct ObjectStoreDestination {
    store: Arc<dyn ObjectStore>,
    url: ObjectUrl,
    uploads: Arc<Uploads>,
}

impl fmt::Debug for ObjectStoreDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreDestination")
            .field("url", &self.url.to_string())
            .finish_non_exhaustive()
    }
}

impl ObjectStoreDestination {
    /// A destination for `config`; nothing is sent yet.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the settings are refused (a malformed
    /// endpoint); the message names no secret.
    pub fn new(config: &ObjectStoreConfig) -> Result<Self, Error> {
        crate::transport::install_crypto_provider();
        let allow_http = config
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        let options = ClientOptions::new()
            .with_timeout(config.request_timeout)
            .with_allow_http(allow_http);
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.url.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose())
            .with_virtual_hosted_style_request(!config.path_style)
            .with_retry(RetryConfig::default());
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token.expose());
        }
        let store = builder
            .with_client_options(options)
            .with_http_connector(NoRedirects {
                timeout: config.request_timeout,
                allow_http,
            })
            .build()
            .map_err(|error| Error::invalid("object store", error.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            url: config.url.clone(),
            uploads: Arc::default(),
        })
    }

    /// A destination over any `object_store` store (`url` names it in
    /// messages): an in-memory one in tests, another protocol in a program.
    pub fn with_store(store: Arc<dyn ObjectStore>, url: ObjectUrl) -> Self {
        Self {
            store,
            url,
            uploads: Arc::default(),
        }
    }

    fn key(&self, name: &str) -> ObjectPath {
        if self.url.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.url.prefix))
        }
    }

    fn sidecar(&self, name: &str) -> ObjectPath {
        self.key(&format!("{name}{SHA256_SUFFIX}"))
    }

    fn store_error(
        &self,
        action: &'static str,
        name: &str,
    ) -> impl FnOnce(object_store::Error) -> Error {
        let path = self.location(name);
        move |error| Error::Io {
            action,
            path,
            source: io_error(error),
        }
    }
}

impl Destination for ObjectStoreDestination {
    fn location(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}{name}", self.url))
    }

    /// A HEAD of the archive and a GET of its `.sha256`: complete when both
    /// are there and the `.sha256` holds a well-formed hash of this name.
    fn stored<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Stored>, Error>> {
        Box::pin(async move {
            let meta = match self.store.head(&self.key(name)).await {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(error) => return Err(self.store_error("checking", name)(error)),
            };
            let sidecar = match self.store.get(&self.sidecar(name)).await {
                Ok(found) if found.meta.size <= MAX_SIDECAR_BYTES as u64 => found
                    .bytes()
                    .await
                    .map_err(self.store_error("reading the SHA-256 of", name))?,
                Ok(_) | Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(error) => return Err(self.store_error("reading the SHA-256 of", name)(error)),
            };
            Ok(parse_sidecar(&sidecar, name).map(|sha256| Stored {
                bytes: meta.size,
                sha256,
            }))
        })
    }

    /// Objects are replaced whole, so a name is never in the way: a complete
    /// archive is skipped through [`Destination::stored`] before this.
    fn check_free(&self, _name: &str, _options: &DownloadOptions) -> Result<(), Error> {
        Ok(())
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        _options: &'a DownloadOptions,
    ) -> BoxFuture<'a, Result<Box<dyn ArchiveWriter>, Error>> {
        Box::pin(async move {
            let archive = ObjectArchive::new(
                self.store.clone(),
                (self.key(name), self.sidecar(name)),
                self.location(name),
                PART_BYTES,
                self.uploads.clone(),
            );
            Ok(Box::new(archive) as Box<dyn ArchiveWriter>)
        })
    }

    /// Aborts the multipart uploads that cancelled writers left open, once
    /// they stopped.
    fn close(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.uploads.close().await.map_err(|error| Error::Io {
                action: "aborting the unfinished uploads in",
                path: PathBuf::from(self.url.to_string()),
                source: io_error(error),
            })
        })
    }
}

/// The SHA-256 of `sha256sum`'s line for `name`, when it is one.
fn parse_sidecar(bytes: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (hash, rest) = text.trim_end_matches('\n').split_once("  ")?;
    let well_formed =
        hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (well_formed && rest == name).then(|| hash.to_owned())
}

/// The object store's HTTP client, as every client of clouddc: it follows no
/// redirect. object_store's own client follows reqwest's default (ten), and a
/// cross-origin redirect would carry the session token, whose header
/// (`x-amz-security-token`) is not one reqwest strips, to whatever origin the
/// endpoint names. A 3xx is an error instead.
#[derive(Debug)]
struct NoRedirects {
    timeout: Duration,
    allow_http: bool,
}

impl HttpConnector for NoRedirects {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .https_only(!self.allow_http)
            .user_agent(concat!("clouddc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| object_store::Error::Generic {
                store: "S3",
                source: Box::new(error),
            })?;
        Ok(HttpClient::new(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket at `endpoint`, with credentials the tests look for in output.
    fn config_for(endpoint: String) -> ObjectStoreConfig {
        ObjectStoreConfig {
            url: ObjectUrl::parse("s3://bucket/p").unwrap().unwrap(),
            endpoint: Some(endpoint),
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret-key".into(),
            session_token: Some("very-secret-token".into()),
            path_style: true,
            request_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn object_urls() {
        let url = ObjectUrl::parse("s3://logs-bucket/fleet/2026/")
            .unwrap()
            .unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.prefix.as_str()),
            ("logs-bucket", "fleet/2026")
        );
        assert_eq!(url.to_string(), "s3://logs-bucket/fleet/2026/");
        let url = ObjectUrl::parse("OBS://b12").unwrap().unwrap();
        assert_eq!(
            (url.scheme.as_str(), url.to_string()),
            ("obs", "obs://b12/".to_owned())
        );
        assert!(ObjectUrl::parse("./logs").is_none());
        assert!(ObjectUrl::parse("https://x/y").is_none());
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Bucket/x",
            "s3://b_c/x",
            "s3://bkt/../x",
            "s3://bkt/a//b",
        ] {
            assert!(
                matches!(ObjectUrl::parse(bad), Some(Err(Error::InvalidInput { .. }))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_sidecar_counts_only_for_its_own_name_and_a_real_hash() {
        let hash = "ab".repeat(32);
        let line = format!("{hash}  srv-1-dump.tar.gz\n");
        assert_eq!(
            parse_sidecar(line.as_bytes(), "srv-1-dump.tar.gz"),
            Some(hash.clone())
        );
        assert_eq!(parse_sidecar(line.as_bytes(), "srv-2-dump.tar.gz"), None);
        assert_eq!(
            parse_sidecar(b"xyz  srv-1-dump.tar.gz\n", "srv-1-dump.tar.gz"),
            None
        );
        assert_eq!(parse_sidecar(&[0xff, 0xfe], "a"), None);
    }

    #[test]
    fn the_config_debug_shows_no_secret() {
        let config = config_for("http://127.0.0.1:9".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let destination = ObjectStoreDestination::new(&config).unwrap();
        let shown = format!("{destination:?}");
        assert!(
            !shown.contains("very-secret") && shown.contains("s3://bucket/p/"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_no_credential_reaches_its_target() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;

        // The redirect's target counts every connection it receives.
        let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target_url = format!("http://{}", target.local_addr().unwrap());
        let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = reached.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = target.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // The endpoint answers every request with a 307 to the target.
        let endpoint = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint_url = format!("http://{}", endpoint.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = endpoint.accept().await {
                let location = format!("{target_url}/bucket/stolen");
                tokio::spawn(async move {
                    let mut buffer = [0u8; 8192];
                    let _ = socket.read(&mut buffer).await;
                    let answer = format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        let config = config_for(endpoint_url);
        let destination = ObjectStoreDestination::new(&config).unwrap();
        let answer = destination
            .store
            .head(&ObjectPath::from("p/srv-1-dump.tar.gz"))
            .await;
        assert!(answer.is_err(), "a redirect is an error: {answer:?}");
        assert_eq!(
            reached.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the redirect's target was contacted"
        );
    }
}

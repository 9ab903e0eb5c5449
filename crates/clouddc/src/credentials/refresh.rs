//! Temporary credentials kept fresh for as long as a client uses them.
//!
//! The official SDKs fetch the agency's credentials again when less than 40
//! minutes of their life remain. Real credentials live hours; a test's (or a
//! short agency session's) may live seconds, and a fixed 40-minute margin would
//! then fetch before every request. So the margin is the SDKs' 40 minutes or a
//! third of the credentials' lifetime, whichever is shorter: a fleet run that
//! outlives several generations of credentials refreshes each a while before
//! it expires, one fetch at a time, and no request is signed with credentials
//! about to lapse. A failed refresh keeps the current credentials while they
//! are still valid (with a warning) rather than fail the requests of a fleet.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::Error;
use crate::credentials::metadata::{MetadataService, Temporary};

/// The SDKs' refresh margin: fetch again when less than this remains.
pub const SDK_REFRESH_MARGIN: Duration = Duration::from_secs(40 * 60);

/// The agency's temporary credentials from the ECS metadata service, fetched
/// on first use and again shortly before they expire. Cheap to clone: clones
/// share the credentials and their refresh.
#[derive(Clone)]
pub struct MetadataCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    service: MetadataService,
    current: Mutex<Option<Generation>>,
    fetches: AtomicU64,
}

/// One set of credentials and when it was fetched.
struct Generation {
    credentials: Arc<Temporary>,
    fetched_at: DateTime<Utc>,
}

impl Generation {
    /// When to fetch the next generation.
    fn refresh_at(&self) -> DateTime<Utc> {
        let lifetime = (self.credentials.expires_at - self.fetched_at)
            .to_std()
            .unwrap_or_default();
        let margin = SDK_REFRESH_MARGIN.min(lifetime / 3);
        self.credentials.expires_at
            - chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero())
    }
}

impl std::fmt::Debug for MetadataCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataCredentials")
            .field("endpoint", &self.inner.service.endpoint())
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl PartialEq for MetadataCredentials {
    /// The same source: clones of one value.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for MetadataCredentials {}

impl MetadataCredentials {
    /// Credentials from the metadata service at `endpoint` (see
    /// [`super::metadata::DEFAULT_METADATA_ENDPOINT`]). Nothing is fetched
    /// until a request needs them (or [`MetadataCredentials::ensure`] is called).
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        crate::transport::install_crypto_provider();
        // The service is link-local: no proxy can reach it for us.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Transport {
                operation: "building the metadata HTTP client",
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                service: MetadataService::new(endpoint, http)?,
                current: Mutex::new(None),
                fetches: AtomicU64::new(0),
            }),
        })
    }

    /// The metadata service's base URL.
    pub fn endpoint(&self) -> &str {
        self.inner.service.endpoint()
    }

    /// How many times credentials were fetched: the first time and every refresh.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the credentials now if none are held, so that a missing agency
    /// is reported before any other request is sent.
    pub async fn ensure(&self) -> Result<(), Error> {
        self.current().await.map(drop)
    }

    /// The credentials to sign the next request with, refreshed first when due.
    pub(crate) async fn current(&self) -> Result<Arc<Temporary>, Error> {
        let mut current = self.inner.current.lock().await;
        let now = Utc::now();
        if let Some(generation) = current.as_ref()
            && now < generation.refresh_at()
        {
            return Ok(generation.credentials.clone());
        }
        match self.inner.service.fetch().await {
            Ok(fresh) => {
                self.inner.fetches.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    expires_at = %fresh.expires_at,
                    "fetched temporary credentials from the metadata service"
                );
                let generation = Generation {
                    credentials: Arc::new(fresh),
                    fetched_at: now,
                };
                let credentials = generation.credentials.clone();
                *current = Some(generation);
                Ok(credentials)
            }
            Err(error) => match current.as_ref() {
                Some(generation) if now < generation.credentials.expires_at => {
                    tracing::warn!(
                        "refreshing the metadata credentials failed, the current ones stay in use until they expire: {error}"
                    );
                    Ok(generation.credentials.clone())
                }
                _ => Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    fn generation(lifetime: chrono::Duration) -> Generation {
        let fetched_at = Utc::now();
        Generation {
            credentials: Arc::new(Temporary {
                ak: "AK".into(),
                sk: Secret::new("sk-sentinel-5"),
                security_token: Secret::new("token-sentinel-6"),
                expires_at: fetched_at + lifetime,
            }),
            fetched_at,
        }
    }

    #[test]
    fn refreshes_40_minutes_or_a_third_of_the_lifetime_before_expiry() {
        let long = generation(chrono::Duration::hours(24));
        assert_eq!(
            long.credentials.expires_at - long.refresh_at(),
            chrono::Duration::minutes(40)
        );
        let short = generation(chrono::Duration::seconds(3));
        assert_eq!(
            short.credentials.expires_at - short.refresh_at(),
            chrono::Duration::seconds(1)
        );
        let expired = generation(chrono::Duration::seconds(-5));
        assert_eq!(expired.refresh_at(), expired.credentials.expires_at);
    }

    #[test]
    fn debug_names_the_endpoint_and_nothing_secret() {
        let credentials = MetadataCredentials::new("http://127.0.0.1:9").unwrap();
        let text = format!("{credentials:?}");
        assert!(text.contains("127.0.0.1:9"), "{text}");
        assert_eq!(credentials, credentials.clone());
        let temporary = generation(chrono::Duration::seconds(3)).credentials;
        let text = format!("{temporary:?}");
        assert!(!text.contains("sentinel"), "{text}");
    }
}

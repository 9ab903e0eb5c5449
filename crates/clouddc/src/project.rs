//! The project id of a region, looked up with IAM when none is configured, as
//! the official SDKs do (`BasicCredentials.process_auth_params`): a signed
//! `GET {iam}/v3/projects?name={region}` (the one operation of
//! `openapi/iam.yaml`), which must list exactly one project.
//!
//! The IAM endpoint is the credentials file's `iam_endpoint`, else
//! `HUAWEICLOUD_SDK_IAM_ENDPOINT`, else `https://iam.myhuaweicloud.com`. The
//! answer is cached per access key and region for the life of the process (in
//! memory only, as the SDKs cache it), so clients built again for the same
//! account and region ask once.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::Error;
use crate::credentials::Credentials;
use crate::error::from_generated;
use crate::generated::iam as api;
use crate::hooks::ClientState;
use crate::response_meta::with_received_meta;
use crate::retry::{Idempotency, RetryPolicy, with_retries};

/// The variable that moves IAM, as the SDKs name it.
pub const IAM_ENDPOINT_ENV: &str = "HUAWEICLOUD_SDK_IAM_ENDPOINT";

/// The SDKs' default IAM endpoint.
pub const DEFAULT_IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com";

/// The operation's name in errors and logs.
const OPERATION: &str = "KeystoneListProjects";

/// Project ids already found, by (access key, region).
static CACHE: Mutex<BTreeMap<(String, String), String>> = Mutex::new(BTreeMap::new());

/// What a lookup needs besides the region.
pub(crate) struct Lookup<'a> {
    pub(crate) iam_endpoint: &'a str,
    pub(crate) credentials: &'a Credentials,
    pub(crate) http: reqwest::Client,
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) request_timeout: Duration,
}

/// The one project named `region` that the credentials can see.
pub(crate) async fn project_of_region(lookup: Lookup<'_>, region: &str) -> Result<String, Error> {
    let fail = |reason: String| Error::ProjectLookup {
        region: region.to_owned(),
        reason,
    };
    let ak = match lookup.credentials {
        Credentials::Token(_) => {
            return Err(fail(
                "the lookup is signed with an AK/SK and a token was given".into(),
            ));
        }
        Credentials::AkSk { ak, .. } => ak.clone(),
        Credentials::Metadata(source) => source.current().await?.ak.clone(),
        #[allow(unreachable_patterns)]
        _ => return Err(fail("these credentials cannot sign the lookup".into())),
    };
    let key = (ak, region.to_owned());
    if let Some(found) = cache().get(&key) {
        return Ok(found.clone());
    }
    let iam = crate::endpoint::normalise_endpoint(lookup.iam_endpoint)
        .map_err(|e| fail(format!("the IAM endpoint: {e}")))?;
    let name = api::types::KeystoneListProjectsName::try_from(region.to_owned())
        .map_err(|_| fail("not a project name (1 to 64 characters)".into()))?;
    let state = ClientState::new(Some(lookup.credentials.clone()), None);
    let client = api::Client::new_with_client(&iam, lookup.http, state);
    tracing::info!(region, iam = %iam, "no project id configured; looking it up with IAM");
    let projects = with_retries(lookup.retry, Idempotency::Safe, OPERATION, || async {
        let call = with_received_meta(client.keystone_list_projects(&name));
        match tokio::time::timeout(lookup.request_timeout, call).await {
            Err(_) => Err(Error::Timeout {
                what: format!("the {OPERATION} request"),
                after: lookup.request_timeout,
            }),
            Ok((Ok(answer), _)) => Ok(answer.into_inner().projects),
            Ok((Err(error), meta)) => Err(from_generated(OPERATION, error, meta.into_meta()).await),
        }
    })
    .await
    .map_err(|e| fail(e.to_string()))?;
    let id = match projects.as_slice() {
        [] => return Err(fail("IAM lists no project of that name".into())),
        [one] => one.id.to_string(),
        several => {
            let ids: Vec<&str> = several.iter().map(|p| p.id.as_str()).collect();
            return Err(fail(format!(
                "IAM lists {} projects of that name ({}); choose one",
                several.len(),
                crate::printable::snippet(ids.join(", ").as_bytes())
            )));
        }
    };
    crate::validate::path_id("project_id", &id).map_err(|e| fail(e.to_string()))?;
    cache().insert(key, id.clone());
    Ok(id)
}

fn cache() -> std::sync::MutexGuard<'static, BTreeMap<(String, String), String>> {
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! Where requests go: the vendor's regions, their overrides (an environment
//! variable, then the regions file, as the official SDKs' region provider
//! chain reads them), and explicit URLs made safe to join paths onto.

use url::Url;

use crate::Error;

/// The regions the vendor serves CloudDC in.
pub const REGIONS: &[&str] = &[
    "cn-east-3",
    "cn-southwest-2",
    "cn-south-1",
    "ap-southeast-3",
];

/// The environment variable that overrides a region's endpoint, as the official
/// SDKs name it: `HUAWEICLOUD_SDK_REGION_CLOUDDC_CN_EAST_3` for `cn-east-3`.
pub fn region_override_variable(region: &str) -> String {
    format!(
        "HUAWEICLOUD_SDK_REGION_CLOUDDC_{}",
        region.to_ascii_uppercase().replace('-', "_")
    )
}

/// The variable that names the regions file, as the SDKs name it.
pub const REGIONS_FILE_ENV: &str = "HUAWEICLOUD_SDK_REGIONS_FILE";

/// The largest regions file read.
const MAX_REGIONS_FILE_BYTES: u64 = 1024 * 1024;

/// The endpoint of a region: the environment override when set (the first of
/// its comma-separated endpoints, as the SDKs take it), else the regions file's
/// `CLOUDDC` entry, else `https://clouddc.{region}.myhuaweicloud.com`.
pub fn region_endpoint(region: &str) -> Result<String, Error> {
    if let Ok(urls) = std::env::var(region_override_variable(region))
        && let Some(url) = urls.split(',').map(str::trim).find(|u| !u.is_empty())
    {
        return normalise_endpoint(url);
    }
    if let Some(path) = regions_file_path()
        && let Some(url) = regions_file_endpoint(&path, region)?
    {
        return normalise_endpoint(&url);
    }
    if !REGIONS.contains(&region) {
        return Err(Error::invalid(
            "region",
            format!("unknown region {region:?}; known: {}", REGIONS.join(", ")),
        ));
    }
    Ok(format!("https://clouddc.{region}.myhuaweicloud.com"))
}

/// Where the SDKs look for the regions file: `HUAWEICLOUD_SDK_REGIONS_FILE`
/// when set, else `~/.huaweicloud/regions.yaml`.
pub fn regions_file_path() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os(REGIONS_FILE_ENV).filter(|p| !p.is_empty()) {
        return Some(path.into());
    }
    crate::credentials::file::home_dir().map(|h| h.join(".huaweicloud").join("regions.yaml"))
}

/// The `CLOUDDC` endpoint of `region` in a regions file, read as the SDKs'
/// `ProfileRegionCache` reads it: a map from service names (any case) to lists
/// of `{id, endpoint}` or `{id, endpoints: [...]}`, the first endpoint used.
/// A missing file is no endpoint; one that does not parse is an error naming it.
pub fn regions_file_endpoint(
    path: &std::path::Path,
    region: &str,
) -> Result<Option<String>, Error> {
    use std::io::Read;
    #[derive(serde::Deserialize)]
    struct Entry {
        id: Option<String>,
        endpoint: Option<String>,
        endpoints: Option<Vec<String>>,
    }
    let bad = |why: String| {
        Error::invalid(
            "regions file",
            format!(
                "{}: {why}",
                crate::printable::snippet(path.display().to_string().as_bytes())
            ),
        )
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(format!("cannot be read: {e}"))),
    };
    let mut text = String::new();
    file.take(MAX_REGIONS_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if text.len() as u64 > MAX_REGIONS_FILE_BYTES {
        return Err(bad(format!("longer than {MAX_REGIONS_FILE_BYTES} bytes")));
    }
    let services: std::collections::BTreeMap<String, Vec<Entry>> =
        serde_yaml::from_str(&text).map_err(|e| bad(format!("not a regions file: {e}")))?;
    let endpoint = services
        .into_iter()
        .filter(|(service, _)| service.eq_ignore_ascii_case("clouddc"))
        .flat_map(|(_, entries)| entries)
        .filter(|entry| entry.id.as_deref() == Some(region))
        .find_map(|entry| {
            let mut all = entry.endpoints.unwrap_or_default();
            all.extend(entry.endpoint);
            all.into_iter().find(|e| !e.trim().is_empty())
        });
    Ok(endpoint)
}

/// The region an official endpoint URL names (`https://clouddc.{region}.…`),
/// for looking up its project when only the URL was given.
pub fn region_of_endpoint(url: &str) -> Option<String> {
    let host = Url::parse(url).ok()?.host_str()?.to_owned();
    let rest = host.strip_prefix("clouddc.")?;
    let (region, domain) = rest.split_once('.')?;
    (!region.is_empty() && domain.contains("myhuaweicloud")).then(|| region.to_owned())
}

/// An endpoint URL checked and normalised: `http` or `https`, a host, no user
/// info, query or fragment, no trailing or doubled slashes (progenitor appends
/// `/v1/...`, and a trailing slash would produce `//v1`).
pub fn normalise_endpoint(raw: &str) -> Result<String, Error> {
    let bad = |why: &str| {
        Error::invalid(
            "endpoint",
            format!(
                "{:?}: {why}",
                crate::printable::snippet(redacted(raw).as_bytes())
            ),
        )
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    if !trimmed.contains("://") {
        // `127.0.0.1:8080` or `h:80` would otherwise read as a relative URL
        // or a scheme named `h`; say what is missing instead.
        return Err(bad(
            "no scheme: start it with http:// or https://, e.g. http://127.0.0.1:8080",
        ));
    }
    let url = Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment cannot be a base URL"));
    }
    let path: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    for segment in path {
        base.push('/');
        base.push_str(segment);
    }
    Ok(base)
}

/// The endpoint as an error may show it: whatever precedes the last `@` of
/// the part before any query or fragment (`user:password@`, which may hold a
/// credential) becomes `***`.
pub(crate) fn redacted(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[start..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &rest[at..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_overrides() {
        assert_eq!(
            region_endpoint("cn-east-3").unwrap(),
            "https://clouddc.cn-east-3.myhuaweicloud.com"
        );
        assert_eq!(
            region_override_variable("ap-southeast-3"),
            "HUAWEICLOUD_SDK_REGION_CLOUDDC_AP_SOUTHEAST_3"
        );
        assert!(matches!(
            region_endpoint("mars-1"),
            Err(Error::InvalidInput {
                argument: "region",
                ..
            })
        ));
    }

    #[test]
    fn the_regions_file_as_the_sdks_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regions.yaml");
        assert_eq!(regions_file_endpoint(&path, "cn-east-3").unwrap(), None);
        std::fs::write(
            &path,
            "ECS:\n  - id: cn-east-3\n    endpoint: https://ecs.example\n\
             clouddc:\n  - id: cn-east-3\n    endpoint: https://a.example\n\
             \x20 - id: my-region-1\n    endpoints:\n      - https://b.example\n      - https://c.example\n",
        )
        .unwrap();
        let read = |region| regions_file_endpoint(&path, region).unwrap();
        assert_eq!(read("cn-east-3").as_deref(), Some("https://a.example"));
        assert_eq!(read("my-region-1").as_deref(), Some("https://b.example"));
        assert_eq!(read("cn-south-1"), None);
        std::fs::write(&path, "clouddc: [[[").unwrap();
        let error = regions_file_endpoint(&path, "cn-east-3").unwrap_err();
        assert!(error.to_string().contains("regions file"), "{error}");
    }

    #[test]
    fn an_official_endpoint_names_its_region() {
        let region = |url| region_of_endpoint(url);
        assert_eq!(
            region("https://clouddc.cn-east-3.myhuaweicloud.com").as_deref(),
            Some("cn-east-3")
        );
        assert_eq!(region("http://127.0.0.1:8080"), None);
        assert_eq!(region("https://clouddc.example.com"), None);
    }

    #[test]
    fn normalises_slashes_and_rejects_garbage() {
        assert_eq!(
            normalise_endpoint("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalise_endpoint(" https://h//a//b/ ").unwrap(),
            "https://h/a/b"
        );
        assert_eq!(normalise_endpoint("https://h:443").unwrap(), "https://h");
        for bad in [
            "",
            "ftp://h",
            "h:80",
            "http://",
            "http://u:p@h",
            "http://h?x=1",
            "http://h/a\u{1}b",
            "not a url",
        ] {
            assert!(normalise_endpoint(bad).is_err(), "{bad:?}");
        }
        for schemeless in ["127.0.0.1:8080", "h:80", "clouddc.example.com"] {
            let error = normalise_endpoint(schemeless).unwrap_err().to_string();
            assert!(error.contains("no scheme"), "{error}");
            assert!(error.contains("http://"), "{error}");
        }
    }

    #[test]
    fn errors_never_show_credentials_in_the_url() {
        for raw in [
            "http://user:s3cret-pw@h",
            "https://s3cret-pw@h:8443/base",
            "user:s3cret-pw@h",
            "ftp://u:s3cret-pw@h/x?q",
        ] {
            let error = normalise_endpoint(raw).unwrap_err().to_string();
            assert!(!error.contains("s3cret-pw"), "{error}");
            assert!(error.contains("***@h"), "{error}");
        }
    }
}

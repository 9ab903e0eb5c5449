//! Where requests go: the vendor's regions, their environment overrides, and
//! explicit URLs made safe to join paths onto.

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

/// The endpoint of a region: the environment override when set, else
/// `https://clouddc.{region}.myhuaweicloud.com`.
pub fn region_endpoint(region: &str) -> Result<String, Error> {
    if let Ok(url) = std::env::var(region_override_variable(region)) {
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

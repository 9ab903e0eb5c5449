//! The credentials file of the official SDKs and KooCLI users:
//! `~/.huaweicloud/credentials`, or the file `HUAWEICLOUD_SDK_CREDENTIALS_FILE`
//! names, read as `huaweicloudsdkcore`'s `ProfileCredentialProvider` reads it.
//!
//! It is an INI file as Python's `configparser` parses it: `[section]` headers
//! (case-sensitive), `key = value` or `key: value` lines whose keys are
//! lower-cased and whose values are trimmed, whole-line `#` and `;` comments,
//! indented continuation lines, `[DEFAULT]` values that every section inherits,
//! and a duplicate section or key an error. Project-scoped credentials, which
//! CloudDC's are, live in `[basic]` (`[global]` holds the domain-scoped ones
//! of global services and is not read).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::credentials::Secret;

/// The variable that names the credentials file, as the SDKs name it.
pub const CREDENTIALS_FILE_ENV: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";

/// The section of project-scoped credentials.
pub const BASIC_SECTION: &str = "basic";

/// The largest credentials file read: a few keys fit in far less.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// What the `[basic]` section of a credentials file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileProfile {
    /// The file it was read from.
    pub path: PathBuf,
    /// `ak`.
    pub ak: String,
    /// `sk`.
    pub sk: Secret,
    /// `security_token`, for temporary credentials.
    pub security_token: Option<Secret>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `iam_endpoint`: where the project lookup goes.
    pub iam_endpoint: Option<String>,
}

/// Where the SDKs look for the file: `HUAWEICLOUD_SDK_CREDENTIALS_FILE` when
/// set and not empty, else `~/.huaweicloud/credentials` (`None` without a home).
pub fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CREDENTIALS_FILE_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    home_dir().map(|home| home.join(".huaweicloud").join("credentials"))
}

/// The user's home directory, as Python's `os.path.expanduser("~")` finds it
/// on Unix: `HOME`.
pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Reads the `[basic]` profile of `path`.
///
/// `Ok(None)` when the file does not exist, or has no `[basic]` section, or
/// that section lacks `ak` or `sk`: the chain then asks the next source, as
/// the SDKs' chain does. A file that exists but cannot be read or parsed is an
/// error naming the file and the line, never a value.
pub fn read_profile(path: &Path) -> Result<Option<FileProfile>, Error> {
    let text = match read_bounded(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(invalid(path, format!("cannot be read: {e}")));
        }
    };
    let sections = parse_ini(&text).map_err(|why| invalid(path, why))?;
    let Some(basic) = sections.get(BASIC_SECTION) else {
        return Ok(None);
    };
    let value = |key: &str| basic.get(key).filter(|v| !v.is_empty()).cloned();
    let (Some(ak), Some(sk)) = (value("ak"), value("sk")) else {
        return Ok(None);
    };
    if ak
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == ',')
    {
        return Err(invalid(
            path,
            "[basic] ak must be an access key without spaces or commas".into(),
        ));
    }
    Ok(Some(FileProfile {
        path: path.to_owned(),
        ak,
        sk: Secret::new(sk),
        security_token: value("security_token").map(Secret::new),
        project_id: value("project_id"),
        iam_endpoint: value("iam_endpoint"),
    }))
}

fn invalid(path: &Path, why: String) -> Error {
    Error::invalid(
        "credentials file",
        format!(
            "{}: {why}",
            crate::printable::snippet(path.display().to_string().as_bytes())
        ),
    )
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "longer than {MAX_FILE_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not UTF-8"))
}

/// Sections and their (lower-cased) keys. The error names a line, never its
/// value: a malformed line may well hold a secret.
pub(crate) type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// Parses INI text as `configparser.ConfigParser` (strict, the SDKs' use) does.
pub(crate) fn parse_ini(text: &str) -> Result<Sections, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections = Sections::new();
    let mut defaults = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            // configparser ends a multi-line value at an empty line.
            if trimmed.is_empty() {
                last_key = None;
            }
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented && let (Some(key), Some(section)) = (&last_key, &current) {
            let target = if section == "DEFAULT" {
                &mut defaults
            } else {
                sections.entry(section.clone()).or_default()
            };
            if let Some(value) = target.get_mut(key) {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if name != "DEFAULT" && sections.contains_key(name) {
                return Err(format!("line {number}: section [{name}] appears twice"));
            }
            if name != "DEFAULT" {
                sections.insert(name.to_owned(), BTreeMap::new());
            }
            current = Some(name.to_owned());
            last_key = None;
            continue;
        }
        let Some(section) = &current else {
            return Err(format!("line {number}: a key before any [section]"));
        };
        let Some(at) = trimmed.find(['=', ':']) else {
            return Err(format!(
                "line {number}: neither `key = value` nor a [section]"
            ));
        };
        let key = trimmed[..at].trim().to_lowercase();
        if key.is_empty() {
            return Err(format!("line {number}: a value without a key"));
        }
        let value = trimmed[at + 1..].trim().to_owned();
        let target = if section == "DEFAULT" {
            &mut defaults
        } else {
            sections.entry(section.clone()).or_default()
        };
        if target.insert(key.clone(), value).is_some() {
            return Err(format!(
                "line {number}: key {key:?} appears twice in [{section}]"
            ));
        }
        last_key = Some(key);
    }
    for keys in sections.values_mut() {
        for (key, value) in &defaults {
            keys.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_configparser_does() {
        let text = "\u{feff}# comment\n[DEFAULT]\niam_endpoint = https://iam.example\n\n\
                    [basic]\nAK = AKEXAMPLE\nsk: sk-sentinel-1\n; another\nproject_id=p1\n\
                    security_token = part1\n  part2\n\n[global]\nak = G\n";
        let sections = parse_ini(text).unwrap();
        let basic = &sections["basic"];
        assert_eq!(basic["ak"], "AKEXAMPLE");
        assert_eq!(basic["sk"], "sk-sentinel-1");
        assert_eq!(basic["project_id"], "p1");
        assert_eq!(basic["security_token"], "part1\npart2");
        assert_eq!(basic["iam_endpoint"], "https://iam.example");
        assert_eq!(sections["global"]["ak"], "G");
    }

    #[test]
    fn malformed_files_name_the_line_never_the_value() {
        for (text, expected) in [
            ("ak = x\n", "line 1"),
            ("[basic]\nsk-sentinel-2\n", "line 2"),
            ("[basic]\nak=1\nAK=2\n", "twice"),
            ("[basic]\n[basic]\n", "twice"),
            ("[basic]\n= sk-sentinel-2\n", "without a key"),
        ] {
            let error = parse_ini(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains("sentinel"), "{error}");
        }
    }

    #[test]
    fn reads_the_basic_profile_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        assert_eq!(read_profile(&path).unwrap(), None, "a missing file");
        std::fs::write(&path, "[global]\nak = A\nsk = S\n").unwrap();
        assert_eq!(read_profile(&path).unwrap(), None, "no [basic]");
        std::fs::write(&path, "[basic]\nak = A\n").unwrap();
        assert_eq!(read_profile(&path).unwrap(), None, "no sk");
        std::fs::write(
            &path,
            "[basic]\nak = A\nsk = sk-sentinel-3\nproject_id = p\niam_endpoint = http://i\n",
        )
        .unwrap();
        let profile = read_profile(&path).unwrap().unwrap();
        assert_eq!(profile.ak, "A");
        assert_eq!(profile.sk.expose(), "sk-sentinel-3");
        assert_eq!(profile.project_id.as_deref(), Some("p"));
        assert_eq!(profile.iam_endpoint.as_deref(), Some("http://i"));
        assert!(profile.security_token.is_none());
        assert!(!format!("{profile:?}").contains("sentinel"));
        std::fs::write(&path, "[basic]\nak = A\nsk sk-sentinel-4\n").unwrap();
        let error = read_profile(&path).unwrap_err().to_string();
        assert!(
            error.contains("credentials file") && error.contains("line 3"),
            "{error}"
        );
        assert!(!error.contains("sentinel"), "{error}");
    }
}

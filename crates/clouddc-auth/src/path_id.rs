//! The client's rules for an id that goes into a URL path, stricter than the
//! spec's schema ([`ResourceId`]).
//!
//! progenitor percent-encodes path parameters, but the URL parser still resolves
//! `.` and `..` as dot segments, an empty id yields `//`, and a `\` (which
//! progenitor leaves as it is) reads as `/` in an http(s) URL, so `a\..\..\x`
//! climbs out of its segment: such a request reaches another URL. These ids are
//! refused here, by the client before sending and by the simulator on receipt.

use std::convert::Infallible;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::resource_id::{InvalidResourceId, ResourceId};

/// A project, server or export id that passed [`path_id`]: safe to put in a
/// URL path segment. Parsed once where it enters (a builder, the CLI, a list
/// of servers), it then travels typed, so a status poll or a resumed download
/// does not check it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PathId(ResourceId);

impl PathId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id as the generated client takes it.
    pub fn as_resource_id(&self) -> &ResourceId {
        &self.0
    }
}

/// Why a string cannot be a path id. The text is a reason to put after the
/// argument's name ("server is empty").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPathId {
    /// The empty string.
    #[error("is empty")]
    Empty,
    /// `.` or `..`, which a URL parser resolves instead of sending.
    #[error("{0:?} would be resolved as a path segment")]
    DotSegment(&'static str),
    /// Outside the spec's `ResourceId` schema.
    #[error(transparent)]
    Schema(#[from] InvalidResourceId),
    /// Contains `\`.
    #[error("contains a backslash, which URLs read as a path separator")]
    Backslash,
    /// Starts or ends with whitespace.
    #[error("has leading or trailing whitespace")]
    SurroundingWhitespace,
}

impl From<Infallible> for InvalidPathId {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

/// `value` as a path id once every check passed: the spec's rules are checked
/// once, by building the [`ResourceId`], then the client's own.
pub fn path_id(value: &str) -> Result<PathId, InvalidPathId> {
    match value {
        "" => return Err(InvalidPathId::Empty),
        "." => return Err(InvalidPathId::DotSegment(".")),
        ".." => return Err(InvalidPathId::DotSegment("..")),
        _ => {}
    }
    let id = ResourceId::try_from(value)?;
    if value.contains('\\') {
        Err(InvalidPathId::Backslash)
    } else if value.trim() != value {
        Err(InvalidPathId::SurroundingWhitespace)
    } else {
        Ok(PathId(id))
    }
}

impl FromStr for PathId {
    type Err = InvalidPathId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        path_id(value)
    }
}

impl TryFrom<&str> for PathId {
    type Error = InvalidPathId;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        path_id(value)
    }
}

impl TryFrom<&String> for PathId {
    type Error = InvalidPathId;

    fn try_from(value: &String) -> Result<Self, Self::Error> {
        path_id(value)
    }
}

impl TryFrom<String> for PathId {
    type Error = InvalidPathId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        path_id(&value)
    }
}

impl From<&PathId> for PathId {
    fn from(value: &PathId) -> Self {
        value.clone()
    }
}

impl TryFrom<ResourceId> for PathId {
    type Error = InvalidPathId;

    fn try_from(value: ResourceId) -> Result<Self, Self::Error> {
        path_id(&value)
    }
}

impl From<PathId> for ResourceId {
    fn from(value: PathId) -> Self {
        value.0
    }
}

impl From<PathId> for String {
    fn from(value: PathId) -> Self {
        value.0.into()
    }
}

impl Deref for PathId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for PathId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PathId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        path_id(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_id::MAX_ID_LEN;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["srv-0001", "0123456789abcdef", "a/b", "SN 12"] {
            assert_eq!(path_id(id).map(String::from).as_deref(), Ok(id));
        }
    }

    #[test]
    fn every_way_in_checks_the_rules() {
        assert!("..".parse::<PathId>().is_err());
        assert!(PathId::try_from(String::from(" srv")).is_err());
        let schema_only: ResourceId = "a\\b".parse().expect("the schema allows it");
        assert_eq!(PathId::try_from(schema_only), Err(InvalidPathId::Backslash));
        assert!(serde_json::from_str::<PathId>("\".\"").is_err());
        let id: PathId = serde_json::from_str("\"srv-1\"").expect("decodes");
        assert_eq!(serde_json::to_string(&id).expect("encodes"), "\"srv-1\"");
        assert_eq!(id.as_resource_id().as_str(), "srv-1");
    }

    #[test]
    fn names_each_reason() {
        let long = "x".repeat(MAX_ID_LEN + 1);
        let cases = [
            ("", "is empty"),
            (".", "\".\" would be resolved as a path segment"),
            ("..", "\"..\" would be resolved as a path segment"),
            ("a\nb", "contains the control character U+000A"),
            ("\u{7f}", "contains the control character U+007F"),
            (" srv", "has leading or trailing whitespace"),
            (
                "a\\..\\b",
                "contains a backslash, which URLs read as a path separator",
            ),
            (
                long.as_str(),
                "is 129 characters long; 1 to 128 are allowed",
            ),
        ];
        for (id, reason) in cases {
            assert_eq!(path_id(id).unwrap_err().to_string(), reason, "{id:?}");
        }
    }
}

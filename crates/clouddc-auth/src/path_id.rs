//! The client's rules for an id that goes into a URL path, stricter than the
//! spec's schema ([`ResourceId`]).
//!
//! progenitor percent-encodes path parameters, but the URL parser still resolves
//! `.` and `..` as dot segments, an empty id yields `//`, and a `\` (which
//! progenitor leaves as it is) reads as `/` in an http(s) URL, so `a\..\..\x`
//! climbs out of its segment: such a request reaches another URL. These ids are
//! refused here, by the client before sending and by the simulator on receipt.

use crate::resource_id::{InvalidResourceId, ResourceId};

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

/// `value` as a path id once every check passed: the spec's rules are checked
/// once, by building the [`ResourceId`], then the client's own.
pub fn path_id(value: &str) -> Result<ResourceId, InvalidPathId> {
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
        Ok(id)
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

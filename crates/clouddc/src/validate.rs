//! Checks of identifiers before anything is sent.
//!
//! progenitor percent-encodes path parameters, but the URL parser still resolves
//! `.` and `..` as dot segments, an empty id yields `//`, and a `\` (which
//! progenitor leaves as it is) reads as `/` in an http(s) URL, so `a\..\..\x`
//! climbs out of its segment: such a request reaches another URL. These ids are
//! rejected here instead.

use crate::{Error, ResourceId};

/// The longest id accepted, matching `ResourceId` in the spec.
pub const MAX_ID_LEN: usize = 128;

/// Accepts a project, server or export id, or says which argument is wrong and why.
pub fn validate_id(argument: &'static str, value: &str) -> Result<(), Error> {
    path_id(argument, value).map(drop)
}

/// `value` as a path id once every check passed, or an error naming `argument`:
/// the spec's rules are checked once, by building the [`ResourceId`].
pub(crate) fn path_id(argument: &'static str, value: &str) -> Result<ResourceId, Error> {
    let reason = if value.is_empty() {
        "is empty".to_string()
    } else if value == "." || value == ".." {
        format!("{value:?} would be resolved as a path segment")
    } else {
        match ResourceId::try_from(value) {
            Err(why) => why.to_string(),
            Ok(_) if value.contains('\\') => {
                "contains a backslash, which URLs read as a path separator".to_string()
            }
            Ok(_) if value.trim() != value => "has leading or trailing whitespace".to_string(),
            Ok(id) => return Ok(id),
        }
    };
    Err(Error::invalid(argument, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in ["srv-0001", "0123456789abcdef", "a/b", "SN 12"] {
            assert!(validate_id("server", id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_with_argument_and_reason() {
        let long = "x".repeat(MAX_ID_LEN + 1);
        for id in [
            "",
            ".",
            "..",
            "a\nb",
            "\u{7f}",
            " srv",
            "a\\..\\b",
            long.as_str(),
        ] {
            match validate_id("server", id) {
                Err(Error::InvalidInput {
                    argument: "server",
                    reason,
                }) => assert!(!reason.is_empty()),
                other => panic!("{id:?}: {other:?}"),
            }
        }
    }
}

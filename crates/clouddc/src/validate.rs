//! Checks of identifiers before anything is sent. The rules are
//! `clouddc_auth::path_id`'s (the simulator applies the same on receipt); this
//! names the argument they failed for.

use crate::{Error, ResourceId};

pub use clouddc_auth::MAX_ID_LEN;

/// Accepts a project, server or export id, or says which argument is wrong and why.
pub fn validate_id(argument: &'static str, value: &str) -> Result<(), Error> {
    path_id(argument, value).map(drop)
}

/// `value` as a path id once every check passed, or an error naming `argument`.
pub(crate) fn path_id(argument: &'static str, value: &str) -> Result<ResourceId, Error> {
    clouddc_auth::path_id(value).map_err(|why| Error::invalid(argument, why.to_string()))
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

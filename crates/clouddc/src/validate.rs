//! Checks of identifiers before anything is sent. The rules are
//! `clouddc_auth::path_id`'s (the simulator applies the same on receipt); this
//! names the argument they failed for. An id is checked once, where it enters
//! the client, and travels as a [`PathId`] from there.

use clouddc_auth::{InvalidPathId, PathId};

use crate::Error;

pub use clouddc_auth::MAX_ID_LEN;

/// What a public method takes for a server or export id: text, checked on
/// the way in, or a [`PathId`] already checked (passed on as it is).
pub trait IdArgument: TryInto<PathId, Error: Into<InvalidPathId>> {}

impl<T: TryInto<PathId, Error: Into<InvalidPathId>>> IdArgument for T {}

/// Accepts a project, server or export id, or says which argument is wrong and why.
pub fn validate_id(argument: &'static str, value: &str) -> Result<(), Error> {
    path_id(argument, value).map(drop)
}

/// `value` as a path id once every check passed, or an error naming `argument`.
pub(crate) fn path_id(argument: &'static str, value: &str) -> Result<PathId, Error> {
    id_argument(argument, value)
}

/// An id argument of a public method (text, or an id already checked) as a
/// [`PathId`], or an error naming `argument`.
pub(crate) fn id_argument(argument: &'static str, value: impl IdArgument) -> Result<PathId, Error> {
    value
        .try_into()
        .map_err(|why| Error::invalid(argument, why.into().to_string()))
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

    #[test]
    fn a_checked_id_passes_as_it_is() {
        let id: PathId = "srv-0001".parse().expect("valid");
        assert_eq!(id_argument("server", &id).expect("valid"), id);
        assert!(matches!(
            id_argument("export_id", String::from("..")),
            Err(Error::InvalidInput {
                argument: "export_id",
                ..
            })
        ));
    }
}

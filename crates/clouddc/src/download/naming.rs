//! The file name of a server's archive, derived from the server id alone.
//!
//! The service does not name files: a name from `Content-Disposition` could be
//! `evil.sh`, `.bashrc` or another server's name, and would push that server's
//! archive aside. Each server's archive is `<id>-dump.tar.gz` (the vendor's
//! own `${SN}-dump.tar.gz` form), with the id encoded so that two ids can
//! never share a name: bytes other than ASCII letters, digits, `-` and `_`
//! (and `.` after the first character) are percent-encoded, `%` included.
//! An id whose encoding would pass [`MAX_ENCODED_BYTES`] keeps a prefix and
//! a SHA-256 digest of the whole id, so the name stays within file-system
//! limits and still belongs to that id alone.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::Error;

/// What follows the encoded id.
pub const ARCHIVE_SUFFIX: &str = "-dump.tar.gz";
/// The longest encoded id kept whole, in bytes (the name stays well under the
/// usual 255-byte limit).
const MAX_ENCODED_BYTES: usize = 180;
/// How many hex digits of the digest stand for a long id's tail.
const DIGEST_HEX: usize = 32;

/// `server`'s archive file name: always the same for the same id, never the
/// same for two ids, one safe path component.
pub fn archive_file_name(server: &str) -> String {
    let mut encoded = String::with_capacity(server.len());
    for (i, byte) in server.bytes().enumerate() {
        let keep =
            byte.is_ascii_alphanumeric() || byte == b'_' || (i > 0 && matches!(byte, b'-' | b'.'));
        if keep {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.len() > MAX_ENCODED_BYTES {
        let digest = hex::encode(Sha256::digest(server.as_bytes()));
        let mut cut = MAX_ENCODED_BYTES - DIGEST_HEX - 1;
        // Never end inside a `%XX`.
        while encoded.as_bytes()[..cut]
            .iter()
            .rev()
            .take(2)
            .any(|&b| b == b'%')
        {
            cut -= 1;
        }
        encoded = format!("{}~{}", &encoded[..cut], &digest[..DIGEST_HEX]);
    }
    encoded + ARCHIVE_SUFFIX
}

/// Refuses early, before any export, when `server`'s archive already exists
/// in `dir` and overwriting is off: a re-run is predictable (the same name or
/// this error, never a `.1`), and no export is waited for in vain.
pub fn ensure_archive_free(dir: &Path, server: &str, overwrite: bool) -> Result<(), Error> {
    let path = dir.join(archive_file_name(server));
    if overwrite || std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    Err(exists_error(path))
}

/// The error for an archive name already taken.
pub(crate) fn exists_error(path: PathBuf) -> Error {
    Error::Io {
        action: "keeping the existing",
        path,
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it exists and overwriting is off (DownloadOptions::overwrite, --overwrite)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content_disposition::sanitize_file_name;

    #[test]
    fn the_name_is_the_id_and_the_vendors_suffix() {
        assert_eq!(archive_file_name("srv-0001"), "srv-0001-dump.tar.gz");
        assert_eq!(archive_file_name("rack4.u12"), "rack4.u12-dump.tar.gz");
    }

    #[test]
    fn two_ids_never_share_a_name_and_every_name_is_safe() {
        let ids = [
            "a/b",
            "a_b",
            "a%2Fb",
            "a\\b",
            "..",
            ".",
            ".bashrc",
            "-rf",
            "%2e%2e",
            "a b",
            "srv-ü€-日本",
            "srv\u{202e}x",
            "CON",
            "evil.sh",
            "x".repeat(128).as_str(),
            "x".repeat(127).as_str(),
            &"😀".repeat(128),
            &"😀".repeat(127),
        ]
        .map(str::to_owned);
        let mut seen = std::collections::HashSet::new();
        for id in &ids {
            let name = archive_file_name(id);
            assert!(seen.insert(name.clone()), "{id:?} shares {name}");
            assert!(
                name.len() <= MAX_ENCODED_BYTES + ARCHIVE_SUFFIX.len(),
                "{name}"
            );
            assert!(name.is_ascii() && !name.contains(['/', '\\']), "{name}");
            assert!(!name.starts_with(['.', '-']), "{name}");
            // The content-disposition sanitiser has nothing left to change.
            assert_eq!(
                sanitize_file_name(&name).as_deref(),
                Some(name.as_str()),
                "{id:?}"
            );
        }
    }

    #[test]
    fn an_existing_archive_is_refused_unless_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_archive_free(dir.path(), "srv-1", false).is_ok());
        std::fs::write(dir.path().join("srv-1-dump.tar.gz"), b"old").unwrap();
        match ensure_archive_free(dir.path(), "srv-1", false) {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, dir.path().join("srv-1-dump.tar.gz"));
                assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        assert!(ensure_archive_free(dir.path(), "srv-1", true).is_ok());
    }
}

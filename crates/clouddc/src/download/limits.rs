//! Bounds on what a download may put on disk: the archive's size (a server
//! sending a body with no length would otherwise fill the disk), and the free
//! space of the directory against what the server announced (so a download
//! that cannot fit fails at once, not after an hour, naming both numbers).

use std::io;
use std::path::Path;

use crate::Error;

/// The error for an archive past the size bound: `what` says how it showed.
fn over_limit(dir: &Path, limit: u64, what: String) -> Error {
    Error::Io {
        action: "downloading into",
        path: dir.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{what}, over the limit of {limit} bytes (the maximum archive size)"),
        ),
    }
}

/// Fails when the server announced an archive of more than `limit` bytes.
pub(super) fn check_announced(dir: &Path, announced: u64, limit: Option<u64>) -> Result<(), Error> {
    match limit {
        Some(limit) if announced > limit => Err(over_limit(
            dir,
            limit,
            format!("the server announced a {announced}-byte archive"),
        )),
        _ => Ok(()),
    }
}

/// The error for a body that went past the size bound without announcing it.
pub(super) fn received_too_much(dir: &Path, limit: u64) -> Error {
    over_limit(
        dir,
        limit,
        "the server sent more than the limit without announcing a length".to_string(),
    )
}

/// Fails when the file system of `dir` has fewer than `needed` bytes free for
/// an unprivileged user. When the free space cannot be told, it does not fail:
/// the write's own error then says so.
pub(super) fn check_free_space(dir: &Path, needed: u64) -> Result<(), Error> {
    match free_bytes(dir) {
        Some(free) if free < needed => Err(Error::Io {
            action: "checking the free space in",
            path: dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::StorageFull,
                format!("the archive needs {needed} more bytes but only {free} bytes are free"),
            ),
        }),
        _ => Ok(()),
    }
}

/// The bytes an unprivileged user may still write in the file system of `dir`.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    match rustix::fs::statvfs(dir) {
        Ok(stat) => Some(stat.f_bavail.saturating_mul(stat.f_frsize)),
        Err(error) => {
            tracing::debug!(dir = %dir.display(), %error, "cannot tell the free space");
            None
        }
    }
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_size_over_the_limit_names_both_numbers() {
        let dir = Path::new("logs");
        assert!(check_announced(dir, 100, Some(100)).is_ok());
        assert!(check_announced(dir, u64::MAX, None).is_ok());
        let error = check_announced(dir, 101, Some(100)).unwrap_err();
        match &error {
            Error::Io { path, source, .. } => {
                assert_eq!(path, dir);
                assert_eq!(source.kind(), io::ErrorKind::FileTooLarge);
                let text = source.to_string();
                assert!(text.contains("101") && text.contains("100"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let error = received_too_much(dir, 7);
        assert!(
            matches!(&error, Error::Io { source, .. } if source.kind() == io::ErrorKind::FileTooLarge && source.to_string().contains("limit of 7 bytes")),
            "{error:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn more_than_the_disk_holds_fails_naming_both_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        let free = free_bytes(tmp.path()).expect("statvfs works on a temporary directory");
        assert!(check_free_space(tmp.path(), 1).is_ok());
        let needed = free + (1 << 40);
        match check_free_space(tmp.path(), needed) {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, tmp.path());
                assert_eq!(source.kind(), io::ErrorKind::StorageFull);
                let text = source.to_string();
                assert!(text.contains(&needed.to_string()), "{text}");
                assert!(text.contains("bytes are free"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}

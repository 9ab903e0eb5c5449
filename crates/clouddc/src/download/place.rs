//! Placing the archive: a private `.clouddc-*.part` file in the target
//! directory while it downloads, then a rename to its final name that
//! replaces an existing file only when asked to, then an fsync of the
//! directory so the new name survives a crash.

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use tempfile::TempPath;

use super::naming::exists_error;
use crate::Error;

/// Makes sure `dir` is a directory (creating it when missing) and opens a new
/// temporary file in it. The file is removed when the returned path is dropped.
pub(crate) fn open_part(dir: &Path) -> Result<(File, TempPath), Error> {
    prepare_dir(dir)?;
    let temp = tempfile::Builder::new()
        .prefix(".clouddc-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|source| Error::Io {
            action: "creating a temporary file in",
            path: dir.to_path_buf(),
            source,
        })?;
    Ok(temp.into_parts())
}

/// Makes sure `dir` is a directory, creating it (and its parents) when missing.
pub(super) fn prepare_dir(dir: &Path) -> Result<(), Error> {
    let io_error = |action, source| Error::Io {
        action,
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io_error(
            "using as the download directory",
            io::Error::new(
                io::ErrorKind::NotADirectory,
                "it exists and is not a directory",
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|source| io_error("creating the download directory", source)),
        Err(source) => Err(io_error("checking the download directory", source)),
    }
}

/// `dir/name`, checked to be a direct child of `dir`.
fn final_path(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let mut components = Path::new(name).components();
    let single = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    );
    let path = dir.join(name);
    if single && path.parent() == Some(dir) {
        Ok(path)
    } else {
        Err(Error::invalid(
            "file name",
            format!("{name:?} is not a single path component"),
        ))
    }
}

/// Moves the temporary file to `dir/name`, then syncs the directory when
/// `durable`. An
/// existing entry at the name is kept and the move fails, unless `overwrite`:
/// then a file or a symlink there is replaced in one rename (a symlink is not
/// followed), and a directory still fails the move.
pub(crate) async fn persist(
    temp: TempPath,
    dir: &Path,
    name: &str,
    overwrite: bool,
    durable: bool,
) -> Result<PathBuf, Error> {
    let owned_dir = dir.to_path_buf();
    let owned_name = name.to_string();
    tokio::task::spawn_blocking(move || {
        persist_blocking(temp, &owned_dir, &owned_name, overwrite, durable)
    })
    .await
    .unwrap_or_else(|join_error| {
        Err(Error::Io {
            action: "moving the download into",
            path: dir.to_path_buf(),
            source: io::Error::other(join_error.to_string()),
        })
    })
}

fn persist_blocking(
    temp: TempPath,
    dir: &Path,
    name: &str,
    overwrite: bool,
    durable: bool,
) -> Result<PathBuf, Error> {
    let path = final_path(dir, name)?;
    let moved = if overwrite {
        temp.persist(&path)
    } else {
        temp.persist_noclobber(&path)
    };
    match moved {
        Ok(()) => {
            if durable {
                sync_dir(dir);
            }
            Ok(path)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(exists_error(path)),
        Err(e) => Err(Error::Io {
            action: "moving the download to",
            path,
            source: e.error,
        }),
    }
}

/// Makes the new directory entry durable. The file's data already is, so a
/// failure here is logged rather than failing a complete download.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), %error, "could not sync the download directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_in(dir: &Path, content: &[u8]) -> (TempPath, PathBuf) {
        let mut temp = tempfile::NamedTempFile::new_in(dir).unwrap();
        std::io::Write::write_all(&mut temp, content).unwrap();
        let name = temp.path().to_path_buf();
        (temp.into_temp_path(), name)
    }

    #[test]
    fn a_taken_name_is_a_typed_error_and_never_a_suffix() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x.tar.gz"), b"old").unwrap();
        let (temp, temp_name) = temp_in(tmp.path(), b"new");
        match persist_blocking(temp, tmp.path(), "x.tar.gz", false, false) {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, tmp.path().join("x.tar.gz"));
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        // The temporary file went with the error; the old file stays.
        assert!(!temp_name.exists());
        assert_eq!(std::fs::read(tmp.path().join("x.tar.gz")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn overwriting_replaces_a_file_or_a_symlink_never_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f.tar.gz"), b"old").unwrap();
        let (temp, _) = temp_in(tmp.path(), b"new");
        let path = persist_blocking(temp, tmp.path(), "f.tar.gz", true, false).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"new");

        let outside = tmp.path().join("outside");
        std::os::unix::fs::symlink(&outside, tmp.path().join("l.tar.gz")).unwrap();
        let (temp, _) = temp_in(tmp.path(), b"new");
        let path = persist_blocking(temp, tmp.path(), "l.tar.gz", true, false).unwrap();
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert!(!outside.exists(), "the symlink was followed");

        std::fs::create_dir(tmp.path().join("d.tar.gz")).unwrap();
        let (temp, temp_name) = temp_in(tmp.path(), b"new");
        assert!(persist_blocking(temp, tmp.path(), "d.tar.gz", true, false).is_err());
        assert!(tmp.path().join("d.tar.gz").is_dir());
        assert!(!temp_name.exists());
    }
}

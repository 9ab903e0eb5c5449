//! Placing the archive: a private `.clouddc-*.part` file in the target
//! directory while it downloads, then a rename to its final name that never
//! replaces an existing file, then an fsync of the directory so the new name
//! survives a crash.

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use tempfile::TempPath;

use crate::Error;
use crate::content_disposition::split_extension;

/// How many `<stem>.N<ext>` names are tried when the final name is taken.
pub(super) const MAX_SUFFIX: u32 = 999;

/// Makes sure `dir` is a directory (creating it when missing) and opens a new
/// temporary file in it. The file is removed when the returned path is dropped.
pub(super) fn open_part(dir: &Path) -> Result<(File, TempPath), Error> {
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

/// The first of `name`, `<stem>.1<ext>`, ... that does not exist in `dir`.
pub(super) fn free_name(dir: &Path, name: &str) -> Result<String, Error> {
    let (stem, ext) = split_extension(name);
    for n in 0..=MAX_SUFFIX {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}.{n}{ext}")
        };
        let path = final_path(dir, &candidate)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(candidate);
        }
    }
    Err(Error::Io {
        action: "finding a free name for",
        path: dir.join(name),
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("it and every name from {stem}.1{ext} to {stem}.{MAX_SUFFIX}{ext} exist"),
        ),
    })
}

/// Moves the temporary file to `dir/name`, or the first free `<stem>.N<ext>`,
/// never replacing an existing file, then syncs the directory.
pub(super) async fn persist(temp: TempPath, dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let owned_dir = dir.to_path_buf();
    let owned_name = name.to_string();
    tokio::task::spawn_blocking(move || persist_blocking(temp, &owned_dir, &owned_name))
        .await
        .unwrap_or_else(|join_error| {
            Err(Error::Io {
                action: "moving the download into",
                path: dir.to_path_buf(),
                source: io::Error::other(join_error.to_string()),
            })
        })
}

fn persist_blocking(mut temp: TempPath, dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let (stem, ext) = split_extension(name);
    for n in 0..=MAX_SUFFIX {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}.{n}{ext}")
        };
        let path = final_path(dir, &candidate)?;
        match temp.persist_noclobber(&path) {
            Ok(()) => {
                sync_dir(dir);
                return Ok(path);
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => temp = e.path,
            Err(e) => {
                return Err(Error::Io {
                    action: "moving the download to",
                    path,
                    source: e.error,
                });
            }
        }
    }
    Err(Error::Io {
        action: "finding a free name for",
        path: dir.join(name),
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("it and every name from {stem}.1{ext} to {stem}.{MAX_SUFFIX}{ext} exist"),
        ),
    })
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

    #[test]
    fn the_free_name_is_the_first_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(free_name(tmp.path(), "x.tar.gz").unwrap(), "x.tar.gz");
        std::fs::write(tmp.path().join("x.tar.gz"), b"").unwrap();
        std::fs::write(tmp.path().join("x.1.tar.gz"), b"").unwrap();
        assert_eq!(free_name(tmp.path(), "x.tar.gz").unwrap(), "x.2.tar.gz");
        assert!(free_name(tmp.path(), "../x").is_err());
    }

    #[test]
    fn every_free_name_taken_is_a_typed_error() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x.tar.gz"), b"").unwrap();
        for n in 1..=MAX_SUFFIX {
            std::fs::write(tmp.path().join(format!("x.{n}.tar.gz")), b"").unwrap();
        }
        let temp = tempfile::NamedTempFile::new_in(tmp.path()).unwrap();
        let temp_name = temp.path().to_path_buf();
        let result = persist_blocking(temp.into_temp_path(), tmp.path(), "x.tar.gz");
        match result {
            Err(Error::Io { path, source, .. }) => {
                assert_eq!(path, tmp.path().join("x.tar.gz"));
                assert_eq!(source.kind(), io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        // The temporary file went with the error.
        assert!(!temp_name.exists());
    }
}

//! A part file that outlives the process: a fixed name in the target directory
//! (recorded by the collect journal) instead of a random one, so the next run
//! finds what a killed one had written and asks only for the rest.
//!
//! Resuming never trusts memory: the prefix on disk is read again to rebuild
//! the SHA-256 and the gzip check's state, so the final checks cover every
//! byte, the old ones included.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use reqwest::header::{ETAG, HeaderMap, LAST_MODIFIED};
use sha2::{Digest, Sha256};
use tempfile::TempPath;

use super::gzip::GzipCheck;
use super::stage::Stage;
use super::writer::FileWriter;
use crate::Error;

/// How much of the prefix is read at a time when resuming.
const PRIME_CHUNK_BYTES: usize = 1 << 20;

/// Where a resumable download writes, and what a previous run left there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartFile {
    /// The part file's name in the target directory: one path component,
    /// hidden (it starts with `.clouddc-`) and ending in `.part`.
    pub name: String,
    /// What a previous run knew of the archive, when the bytes already in the
    /// file are to be kept. `None` starts from an empty file.
    pub resume: Option<Validators>,
}

/// What identifies one version of an archive: its length and the validators
/// the server sent. A resumed answer that disagrees restarts the download.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    /// The archive's size, when the server said.
    pub total: Option<u64>,
    /// The `ETag`, when sent.
    pub etag: Option<String>,
    /// The `Last-Modified`, when sent.
    pub last_modified: Option<String>,
}

impl Validators {
    /// The validators of a response (`total` is the planned archive size).
    pub(super) fn of(headers: &HeaderMap, total: Option<u64>) -> Self {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            total,
            etag: text(ETAG),
            last_modified: text(LAST_MODIFIED),
        }
    }

    /// Why a response is not the archive these validators describe, if it
    /// is not. A validator the server did not send either time proves nothing.
    pub(super) fn mismatch(&self, headers: &HeaderMap) -> Option<String> {
        let now = Self::of(headers, None);
        let differs = |before: &Option<String>, after: &Option<String>| matches!((before, after), (Some(b), Some(a)) if a != b);
        if differs(&self.etag, &now.etag) {
            return Some("the archive's ETag changed since the part was written".into());
        }
        if differs(&self.last_modified, &now.last_modified) {
            return Some("the archive's Last-Modified changed since the part was written".into());
        }
        None
    }
}

/// An opened part file, with the stages primed for what it holds.
pub(super) struct Opened {
    pub(super) writer: FileWriter,
    pub(super) gzip: Option<GzipCheck>,
    /// Bytes already in the file (and fed to the stages).
    pub(super) bytes: u64,
    /// Removes the file when dropped, like a temporary file.
    pub(super) path: TempPath,
}

/// Opens `dir/part.name`: truncated when there is nothing to resume, else kept,
/// with its bytes read back through the hash and the gzip check.
pub(super) fn open(
    dir: &Path,
    part: &PartFile,
    verify_gzip: bool,
    durable: bool,
) -> Result<Opened, Error> {
    let path = dir.join(&part.name);
    if path.parent() != Some(dir) || !part.name.starts_with(".clouddc-") {
        return Err(Error::invalid(
            "part file name",
            format!(
                "{:?} is not a hidden .clouddc- file in the directory",
                part.name
            ),
        ));
    }
    let io_error = |action| {
        let path = path.clone();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(io_error("opening the part file"))?;
    // Owned from here: any failure below removes it.
    let temp = TempPath::try_from_path(&path).map_err(io_error("opening the part file"))?;
    let mut gzip = verify_gzip.then(GzipCheck::new);
    let (hasher, bytes) = if part.resume.is_some() {
        prime(&mut file, gzip.as_mut()).map_err(io_error("reading back the part file"))?
    } else {
        // Only a part file that holds bytes is truncated: on ext4 a truncation
        // to zero makes the close flush the file to disk (auto_da_alloc), a
        // synchronous write per archive that a fleet of new files never needs.
        let held = file
            .metadata()
            .map_err(io_error("reading the part file's length"))?
            .len();
        if held > 0 {
            file.set_len(0)
                .map_err(io_error("truncating the part file"))?;
        }
        (Sha256::new(), 0)
    };
    Ok(Opened {
        writer: FileWriter::resumed(file, hasher, bytes, durable),
        gzip,
        bytes,
        path: temp,
    })
}

/// Reads the whole file, hashing it and feeding the gzip check; leaves the
/// cursor at its end. A prefix the gzip check rejects is not an error here:
/// the bytes are dropped (the file truncated) and the download starts over.
fn prime(file: &mut File, mut gzip: Option<&mut GzipCheck>) -> io::Result<(Sha256, u64)> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; PRIME_CHUNK_BYTES];
    let mut corrupt = false;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buffer[..n];
        if let Some(check) = gzip.as_deref_mut()
            && check.feed(chunk).is_err()
        {
            corrupt = true;
            break;
        }
        hasher.update(chunk);
        bytes += n as u64;
    }
    if corrupt {
        tracing::debug!("the part file is not the start of a gzip stream; starting over");
        if let Some(check) = gzip {
            let _ = check.restart();
        }
        file.set_len(0)?;
        std::io::Seek::seek(file, io::SeekFrom::Start(0))?;
        return Ok((Sha256::new(), 0));
    }
    Ok((hasher, bytes))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip_of(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_kept_prefix_is_hashed_again_and_a_fresh_part_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let archive = gzip_of(&vec![b'x'; 100_000]);
        let half = &archive[..archive.len() / 2];
        std::fs::write(dir.path().join(".clouddc-a.part"), half).unwrap();
        let resume = PartFile {
            name: ".clouddc-a.part".into(),
            resume: Some(Validators::default()),
        };
        let opened = open(dir.path(), &resume, true, false).unwrap();
        assert_eq!(opened.bytes, half.len() as u64);
        assert_eq!(
            opened.writer.sha256_so_far(),
            hex::encode(Sha256::digest(half))
        );
        drop(opened);
        // Dropped without finishing: the part goes, like a temporary file.
        assert!(!dir.path().join(".clouddc-a.part").exists());

        std::fs::write(dir.path().join(".clouddc-b.part"), half).unwrap();
        let fresh = PartFile {
            name: ".clouddc-b.part".into(),
            resume: None,
        };
        let opened = open(dir.path(), &fresh, true, false).unwrap();
        assert_eq!(opened.bytes, 0);
        assert_eq!(
            std::fs::metadata(dir.path().join(".clouddc-b.part"))
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn a_prefix_that_is_not_gzip_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".clouddc-c.part"),
            b"not a gzip stream at all",
        )
        .unwrap();
        let part = PartFile {
            name: ".clouddc-c.part".into(),
            resume: Some(Validators::default()),
        };
        let opened = open(dir.path(), &part, true, false).unwrap();
        assert_eq!(opened.bytes, 0);
    }

    #[test]
    fn a_name_that_is_not_a_hidden_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["../.clouddc-x.part", "x.part", ".clouddc-a/b"] {
            let part = PartFile {
                name: name.into(),
                resume: None,
            };
            assert!(
                matches!(
                    open(dir.path(), &part, true, false),
                    Err(Error::InvalidInput { .. })
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn changed_validators_are_a_mismatch_and_missing_ones_are_not() {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, "\"v2\"".parse().unwrap());
        let before = Validators {
            total: Some(10),
            etag: Some("\"v1\"".into()),
            last_modified: None,
        };
        assert!(before.mismatch(&headers).unwrap().contains("ETag"));
        assert_eq!(Validators::default().mismatch(&headers), None);
        assert_eq!(
            Validators::of(&headers, Some(3)).etag.as_deref(),
            Some("\"v2\"")
        );
    }
}

//! The writer stage: appends the archive to the temporary file, hashes it, and
//! makes it durable before it is reported complete.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use super::stage::{Stage, StageError};

/// The write buffer of the temporary file. Chunks at least this large are
/// written directly; smaller ones are gathered so that a write is never tiny.
/// Small, because every download in flight has one.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

/// What the writer reports.
pub(super) struct Written {
    /// How many bytes the file holds.
    pub(super) bytes: u64,
    /// Their SHA-256, lowercase hex.
    pub(super) sha256: String,
}

/// Writes the archive to the temporary file and hashes it.
pub(super) struct FileWriter {
    out: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    /// Up to where the disk was asked to start writing.
    writeback_from: u64,
    /// Whether the file is made durable (`fsync`) before it is reported.
    durable: bool,
}

/// How much is written between two requests to start writing it to disk.
const WRITEBACK_STEP_BYTES: u64 = 8 << 20;

impl FileWriter {
    /// A writer appending to `file`, which must be empty; `durable` fsyncs
    /// it at the end (and starts its write-back early to shorten that fsync).
    pub(super) fn new(file: File, durable: bool) -> Self {
        Self::resumed(file, Sha256::new(), 0, durable)
    }

    /// A writer appending to `file`, which already holds `bytes` bytes hashed
    /// into `hasher`, its cursor at their end.
    pub(super) fn resumed(file: File, hasher: Sha256, bytes: u64, durable: bool) -> Self {
        Self {
            out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            hasher,
            bytes,
            writeback_from: bytes,
            durable,
        }
    }

    /// The SHA-256 of what was fed so far, lowercase hex.
    #[cfg(test)]
    pub(super) fn sha256_so_far(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Asks the kernel to start writing what is written so far to disk, without
    /// waiting. The archive is fsynced before its rename; left alone, the kernel
    /// writes a large archive back only then, and the fsync waits for all of it
    /// after the last byte arrived. Started early, the disk works while the
    /// network does. A hint: when it fails, the fsync still does the work.
    fn start_writeback(&mut self) -> Result<(), StageError> {
        if !self.durable || self.bytes - self.writeback_from < WRITEBACK_STEP_BYTES {
            return Ok(());
        }
        self.out.flush().map_err(StageError::io("writing"))?;
        start_writeback(self.out.get_ref(), self.writeback_from, self.bytes);
        self.writeback_from = self.bytes;
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, to: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(from), i64::try_from(to - from)) else {
        return;
    };
    // SAFETY: a plain syscall on a descriptor `file` keeps open for the call;
    // it reads no memory of ours.
    let _ = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _from: u64, _to: u64) {}

impl Stage for FileWriter {
    type Output = Written;

    fn feed(&mut self, data: &[u8]) -> Result<(), StageError> {
        self.out
            .write_all(data)
            .map_err(StageError::io("writing"))?;
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.start_writeback()
    }

    fn restart(&mut self) -> Result<(), StageError> {
        self.out.flush().map_err(StageError::io("writing"))?;
        let file = self.out.get_mut();
        file.set_len(0).map_err(StageError::io("truncating"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(StageError::io("truncating"))?;
        self.hasher = Sha256::new();
        self.bytes = 0;
        self.writeback_from = 0;
        Ok(())
    }

    fn finish(self) -> Result<Written, StageError> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| StageError::io("writing")(e.into_error()))?;
        if self.durable {
            file.sync_all().map_err(StageError::io("syncing"))?;
        }
        Ok(Written {
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn writes_hashes_restarts_and_syncs() {
        let temp = tempfile::NamedTempFile::new().unwrap();
        let mut writer = FileWriter::new(temp.reopen().unwrap(), true);
        writer.feed(b"discarded").unwrap();
        writer.restart().unwrap();
        // Larger than the write buffer and the write-back step together.
        let big = vec![7u8; WRITE_BUFFER_BYTES + WRITEBACK_STEP_BYTES as usize];
        writer.feed(b"head").unwrap();
        writer.feed(&big).unwrap();
        let written = writer.finish().unwrap();
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&big);
        assert_eq!(written.bytes, expected.len() as u64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&expected)));
        let mut on_disk = Vec::new();
        temp.reopen().unwrap().read_to_end(&mut on_disk).unwrap();
        assert!(
            on_disk == expected,
            "the file holds what was fed after the restart"
        );
    }
}

//! One collector per directory: an advisory `flock` on a lock file in it.
//!
//! The kernel drops a `flock` when its holder dies, however it dies, so a lock
//! left by a killed process is simply free: no PID files, no staleness guess.
//! A clean exit removes the file too. Removing it while another process
//! waits on the same inode is the classic race; it is closed by checking,
//! once locked, that the path still names the inode that was locked.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// The lock file's name in the output directory.
pub const LOCK_FILE: &str = ".clouddc.lock";

/// How many times the lock file is opened again when it was replaced while
/// being locked.
const ATTEMPTS: u32 = 16;

/// Held while a collect writes to a directory.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    // Holds the lock until dropped.
    file: Option<File>,
}

/// Why a directory could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it.
    Busy(PathBuf),
    /// The lock file could not be opened or locked.
    Io(PathBuf, io::Error),
}

impl DirLock {
    /// Locks `dir` for this process, without waiting.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_error = |e| LockError::Io(path.clone(), e);
        for _ in 0..ATTEMPTS {
            let mut options = std::fs::OpenOptions::new();
            options.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(&path).map_err(io_error)?;
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Err(LockError::Busy(path)),
                Err(errno) => return Err(io_error(errno.into())),
            }
            if same_file(&file, &path) {
                return Ok(Self {
                    path,
                    file: Some(file),
                });
            }
            // The holder before us removed it as we locked: try the new one.
        }
        Err(io_error(io::Error::other(
            "the lock file kept being replaced while it was locked",
        )))
    }

    /// The lock file.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether `path` still names the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked, so nobody can lock this inode and then
        // find it gone: they see the path missing or a new inode.
        if let Err(error) = std::fs::remove_file(&self.path) {
            tracing::debug!(path = %self.path.display(), %error, "could not remove the lock file");
        }
        drop(self.file.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_busy_until_the_first_is_dropped_which_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert_eq!(first.path(), dir.path().join(LOCK_FILE));
        match DirLock::acquire(dir.path()) {
            Err(LockError::Busy(path)) => assert_eq!(path, dir.path().join(LOCK_FILE)),
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let again = DirLock::acquire(dir.path()).unwrap();
        drop(again);
    }

    #[test]
    fn a_left_over_lock_file_nobody_holds_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // What a killed collector leaves: the file, without a holder.
        std::fs::write(dir.path().join(LOCK_FILE), b"").unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
    }
}

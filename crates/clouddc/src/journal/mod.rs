//! A collect's journal: what each server had reached, kept in the output
//! directory so that a collect killed at any instant can be run again and
//! pick up where it stopped (see README, "If collect was interrupted").
//!
//! - `format`: the bytes, one self-checking record a line under a versioned
//!   header, so a record torn by a crash is detected and dropped;
//! - `replay`: the records folded into each server's state;
//! - `lock`: one collector per directory.
//!
//! [`FileJournal`] is the journal `clouddc logs collect` uses; [`Journal`] lets
//! an embedder keep the same records elsewhere.

mod format;
mod lock;
mod replay;
pub(crate) mod resume;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use self::format::{HEADER, Record};
pub use self::lock::LOCK_FILE;
use self::lock::{DirLock, LockError};
pub use self::replay::{SavedArchive, SavedDownload, SavedExport, ServerState};

/// The journal's name in the output directory.
pub const JOURNAL_FILE: &str = ".clouddc-journal";
/// Saved export tasks older than this are not polled but exported again: the
/// service does not say how long it keeps a task, and a re-run a day later
/// should not spend its time on 404s.
pub const MAX_EXPORT_AGE: Duration = Duration::from_secs(12 * 3600);
/// A journal larger than this is refused rather than read: it is ours, and a
/// million servers' records take a fraction of it.
const MAX_JOURNAL_BYTES: u64 = 1 << 30;
/// The prefix of a compacted journal before it is renamed into place.
const COMPACTION_PREFIX: &str = ".clouddc-journal-";
/// The prefix of the part files a journaled download writes.
const PART_PREFIX: &str = ".clouddc-resume-";

/// Where a collect records its progress and finds a previous run's.
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// What a previous run recorded of `server`.
    fn recall(&self, server: &str) -> Option<ServerState>;
    /// Records a step. A failure costs only the ability to resume that step,
    /// so the collect logs it and goes on.
    fn record(&self, record: Record) -> io::Result<()>;
}

/// The name of the part file a journaled download of `server` writes: fixed,
/// so a re-run finds it, and one path component whatever the id holds.
pub fn part_name(server: &str) -> String {
    let digest = hex::encode(Sha256::digest(server.as_bytes()));
    format!("{PART_PREFIX}{}.part", &digest[..16])
}

/// Why a journal could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another live collect uses the directory.
    #[error(
        "another collect is using this directory (lock {}); wait for it to finish",
        .lock.display()
    )]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// The journal is not one this version reads.
    #[error(
        "{} is not a journal this version of clouddc reads (it starts {header}); \
         run with --fresh to replace it",
        .path.display()
    )]
    Unreadable {
        /// The journal.
        path: PathBuf,
        /// Its first line, sanitised.
        header: String,
    },
    /// A file operation failed.
    #[error("{action} {}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// What opening a journal found, for the user to be told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// The last record was torn by a crash and dropped.
    pub torn_last: bool,
    /// Damaged records before the last, skipped.
    pub corrupt: usize,
    /// The servers the journal knew of.
    pub servers: Vec<String>,
    /// Left-over files removed: part files nobody will resume, and new
    /// journals a crash left before their rename.
    pub removed_parts: usize,
}

/// The journal file in an output directory, locked for this process.
#[derive(Debug)]
pub struct FileJournal {
    states: BTreeMap<String, ServerState>,
    file: Mutex<File>,
    path: PathBuf,
    // Dropped last: the lock outlives every write.
    _lock: DirLock,
}

impl FileJournal {
    /// Locks `dir` (created when missing) and opens its journal: read,
    /// compacted (written anew, synced, renamed over the old one) and
    /// reopened for appending. With `fresh`, what was there is ignored and
    /// replaced.
    ///
    /// # Errors
    /// [`JournalError::Locked`] when another live process holds the directory,
    /// [`JournalError::Unreadable`] for a journal of another version, and
    /// [`JournalError::Io`] naming the file when reading or writing fails.
    pub fn open(dir: &Path, fresh: bool) -> Result<(Self, Recovered), JournalError> {
        let io_error = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| JournalError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
        let lock = DirLock::acquire(dir).map_err(|error| match error {
            LockError::Busy(lock) => JournalError::Locked { lock },
            LockError::Io(path, source) => JournalError::Io {
                action: "locking",
                path,
                source,
            },
        })?;
        let path = dir.join(JOURNAL_FILE);
        let text = if fresh {
            String::new()
        } else {
            read_bounded(&path).map_err(io_error("reading the journal", &path))?
        };
        let parsed = format::parse(&text).map_err(|format::Unreadable::Header(header)| {
            JournalError::Unreadable {
                path: path.clone(),
                header,
            }
        })?;
        let states = replay::replay(&parsed.records);
        write_compacted(dir, &path, &states).map_err(io_error("writing the journal", &path))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_error("opening the journal", &path))?;
        let removed_parts = remove_stray_parts(dir, &states);
        let recovered = Recovered {
            torn_last: parsed.torn_last,
            corrupt: parsed.corrupt,
            servers: states.keys().cloned().collect(),
            removed_parts,
        };
        Ok((
            Self {
                states,
                file: Mutex::new(file),
                path,
                _lock: lock,
            },
            recovered,
        ))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Journal for FileJournal {
    fn recall(&self, server: &str) -> Option<ServerState> {
        self.states.get(server).cloned()
    }

    fn record(&self, record: Record) -> io::Result<()> {
        // One write of one whole line on an append-only file: a crash leaves
        // at most this line torn, which the next open drops.
        let line = format::encode(&record);
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
    }
}

/// The journal's text; an absent journal is an empty one.
fn read_bounded(path: &Path) -> io::Result<String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(io::Error::other(format!(
            "the journal is larger than {MAX_JOURNAL_BYTES} bytes"
        )));
    }
    // A torn record may end inside a UTF-8 sequence; it is dropped anyway.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes `states` as a new journal next to the old one, syncs it, renames it
/// over the old one and syncs the directory: a crash leaves one or the other.
fn write_compacted(
    dir: &Path,
    path: &Path,
    states: &BTreeMap<String, ServerState>,
) -> io::Result<()> {
    let mut text = format!("{HEADER}\n");
    for record in replay::records_of(states) {
        text.push_str(&format::encode(&record));
    }
    let mut temp = tempfile::Builder::new()
        .prefix(COMPACTION_PREFIX)
        .suffix(".new")
        .tempfile_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Removes part files of journaled downloads the journal no longer refers to
/// (a crash before their first record, or `--fresh`), and new journals a
/// crash left half-written. Only this module's
/// names: a `logs download` into the same directory keeps its own.
fn remove_stray_parts(dir: &Path, states: &BTreeMap<String, ServerState>) -> usize {
    let wanted: std::collections::HashSet<&str> = states
        .values()
        .filter_map(|state| state.download.as_ref().map(|d| d.part.as_str()))
        .collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stray_part =
            name.starts_with(PART_PREFIX) && name.ends_with(".part") && !wanted.contains(name);
        // A compaction killed before its rename; ours is renamed by now, and
        // the lock keeps any other collector out.
        let stray_journal = name.starts_with(COMPACTION_PREFIX) && name.ends_with(".new");
        if (stray_part || stray_journal) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests;

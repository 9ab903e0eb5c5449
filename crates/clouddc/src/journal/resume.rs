//! What a collect does with a journal: records each step of a server, and
//! decides from a previous run's records what can be skipped or reused. The
//! collect loop calls these; they hold no state of their own.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::{Journal, Record, SavedArchive, ServerState};
use crate::download::{Downloaded, PartWatch, Validators};
use crate::tolerant::StatusKind;
use crate::types::ExportTask;

/// Now, in Unix seconds; a clock before 1970 reads as 0.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Records one server's steps; a journal that cannot be written is logged
/// (once a step) and the collect goes on without it.
pub(crate) struct Recorder<'a> {
    journal: Option<&'a dyn Journal>,
    server: &'a str,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(journal: Option<&'a dyn Journal>, server: &'a str) -> Self {
        Self { journal, server }
    }

    fn record(&self, record: Record) {
        if let Some(journal) = self.journal
            && let Err(error) = journal.record(record)
        {
            tracing::warn!(server = self.server, %error, "could not write the journal; this step will not be resumed");
        }
    }

    pub(crate) fn exporting(&self) {
        self.record(Record::Exporting {
            server: self.server.to_owned(),
            at: unix_now(),
        });
    }

    pub(crate) fn exported(&self, export_id: &str) {
        self.record(Record::Exported {
            server: self.server.to_owned(),
            export_id: export_id.to_owned(),
            at: unix_now(),
        });
    }

    pub(crate) fn status(&self, task: &ExportTask) {
        self.record(Record::Status {
            server: self.server.to_owned(),
            export_id: task.export_id.clone(),
            status: task.status.as_str().to_owned(),
            failed: task.status.kind() == StatusKind::Failed,
        });
    }

    /// What records a download through the part file `part`.
    pub(crate) fn part<'b>(&'b self, export_id: &'b str, part: &'b str) -> PartRecorder<'b> {
        PartRecorder {
            recorder: self,
            export_id,
            part,
        }
    }

    fn complete(&self, export_id: &str, archive: &Downloaded) {
        let Some(file) = archive.path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        self.record(Record::Complete {
            server: self.server.to_owned(),
            export_id: export_id.to_owned(),
            file: file.to_owned(),
            bytes: archive.bytes,
            sha256: archive.sha256.clone(),
        });
    }
}

/// Records one download's steps.
pub(crate) struct PartRecorder<'a> {
    recorder: &'a Recorder<'a>,
    export_id: &'a str,
    part: &'a str,
}

impl PartWatch for PartRecorder<'_> {
    fn started(&self, validators: &Validators) {
        self.recorder.record(Record::Downloading {
            server: self.recorder.server.to_owned(),
            export_id: self.export_id.to_owned(),
            part: self.part.to_owned(),
            validators: validators.clone(),
        });
    }

    /// Recorded before the rename: a crash between the two leaves a record
    /// of a missing file, which the next run finds does not check out and
    /// collects again, rather than a file the journal does not know of.
    fn placing(&self, archive: &Downloaded) {
        self.recorder.complete(self.export_id, archive);
    }
}

/// The saved export to poll instead of exporting again, or why there is none
/// worth polling (for the log).
pub(crate) fn saved_export(
    state: &ServerState,
    max_age: Duration,
    now: i64,
) -> Result<String, String> {
    let export = state
        .export
        .as_ref()
        .ok_or_else(|| "no export task was saved".to_string())?;
    let age = u64::try_from(now.saturating_sub(export.at)).unwrap_or(0);
    if age > max_age.as_secs() {
        return Err(format!(
            "the saved export {} is {age} s old, older than the {} s a task is trusted to live",
            export.export_id,
            max_age.as_secs()
        ));
    }
    Ok(export.export_id.clone())
}

/// Checks a journaled archive against the file: same length, same SHA-256.
/// `Err` says what differs; the archive is then collected again.
pub(crate) async fn verify_archive(dir: &Path, saved: &SavedArchive) -> Result<Downloaded, String> {
    let path = dir.join(&saved.file);
    if path.parent() != Some(dir) {
        return Err(format!("{:?} is not a file name", saved.file));
    }
    let owned = path.clone();
    let hashed = tokio::task::spawn_blocking(move || hash_file(&owned))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if hashed.0 != saved.bytes {
        return Err(format!(
            "{} holds {} bytes, the journal says {}",
            path.display(),
            hashed.0,
            saved.bytes
        ));
    }
    if hashed.1 != saved.sha256 {
        return Err(format!(
            "{}'s sha256 is not the journaled one",
            path.display()
        ));
    }
    Ok(Downloaded {
        path,
        // The service's suggestion was not journaled: the file is named after
        // the server either way.
        suggested_name: None,
        bytes: hashed.0,
        sha256: hashed.1,
        resumes: 0,
    })
}

/// Length and SHA-256 of a file, read in large blocks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                bytes += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::SavedExport;

    #[test]
    fn a_saved_export_is_used_until_it_is_too_old() {
        let state = ServerState {
            export: Some(SavedExport {
                export_id: "e1".into(),
                at: 1_000,
                status: None,
            }),
            ..ServerState::default()
        };
        let hour = Duration::from_secs(3600);
        assert_eq!(saved_export(&state, hour, 1_000 + 3600).unwrap(), "e1");
        assert!(
            saved_export(&state, hour, 1_000 + 3601)
                .unwrap_err()
                .contains("older than")
        );
        assert!(saved_export(&ServerState::default(), hour, 0).is_err());
    }

    #[tokio::test]
    async fn an_archive_is_skipped_only_when_length_and_sha256_match() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.tar.gz"), b"abc").unwrap();
        let mut saved = SavedArchive {
            export_id: "e".into(),
            file: "a.tar.gz".into(),
            bytes: 3,
            sha256: hex::encode(Sha256::digest(b"abc")),
        };
        let ok = verify_archive(dir.path(), &saved).await.unwrap();
        assert_eq!(ok.bytes, 3);
        saved.sha256 = hex::encode(Sha256::digest(b"abd"));
        assert!(
            verify_archive(dir.path(), &saved)
                .await
                .unwrap_err()
                .contains("sha256")
        );
        saved.bytes = 4;
        assert!(
            verify_archive(dir.path(), &saved)
                .await
                .unwrap_err()
                .contains("bytes")
        );
        saved.file = "../a.tar.gz".into();
        assert!(verify_archive(dir.path(), &saved).await.is_err());
        saved.file = "missing.tar.gz".into();
        assert!(verify_archive(dir.path(), &saved).await.is_err());
    }
}

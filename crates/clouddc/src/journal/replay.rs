//! Folding records into what each server had reached: the state a re-run
//! starts from, and what compaction writes back.

use std::collections::BTreeMap;

use super::format::Record;
use crate::download::Validators;

/// What the journal knows of one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerState {
    /// The latest export task, unless it failed.
    pub export: Option<SavedExport>,
    /// A download in progress for that task.
    pub download: Option<SavedDownload>,
    /// The archive, once complete.
    pub complete: Option<SavedArchive>,
    /// When an export call was made whose answer was never recorded (Unix
    /// seconds): the process stopped during the call.
    pub export_cut: Option<i64>,
}

/// An export task a re-run may poll instead of exporting again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedExport {
    /// The task.
    pub export_id: String,
    /// When it was learned of, Unix seconds.
    pub at: i64,
    /// The last status seen, if any.
    pub status: Option<String>,
}

/// A part file a re-run may resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDownload {
    /// The part file's name in the output directory.
    pub part: String,
    /// The archive's size and validators when the part was started.
    pub validators: Validators,
}

/// A complete archive a re-run verifies and then skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedArchive {
    /// The task it came from.
    pub export_id: String,
    /// Its file name in the output directory.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// Applies records in order.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> BTreeMap<String, ServerState> {
    let mut states: BTreeMap<String, ServerState> = BTreeMap::new();
    for record in records {
        apply(
            states.entry(record.server().to_owned()).or_default(),
            record,
        );
    }
    states
}

/// Applies one record to its server's state.
pub fn apply(state: &mut ServerState, record: &Record) {
    let same_export =
        |state: &ServerState, id: &str| state.export.as_ref().is_some_and(|e| e.export_id == id);
    match record {
        Record::Exporting { at, .. } => state.export_cut = Some(*at),
        Record::Exported { export_id, at, .. } => {
            state.export_cut = None;
            state.export = Some(SavedExport {
                export_id: export_id.clone(),
                at: *at,
                status: None,
            });
            // A new task: a part of the old one is of no use.
            state.download = None;
        }
        Record::Status {
            export_id,
            status,
            failed,
            ..
        } if same_export(state, export_id) => {
            if *failed {
                state.export = None;
                state.download = None;
            } else if let Some(export) = &mut state.export {
                export.status = Some(status.clone());
            }
        }
        Record::Downloading {
            export_id,
            part,
            validators,
            ..
        } if same_export(state, export_id) => {
            state.download = Some(SavedDownload {
                part: part.clone(),
                validators: validators.clone(),
            });
        }
        Record::Complete {
            export_id,
            file,
            bytes,
            sha256,
            ..
        } => {
            state.download = None;
            state.complete = Some(SavedArchive {
                export_id: export_id.clone(),
                file: file.clone(),
                bytes: *bytes,
                sha256: sha256.clone(),
            });
        }
        // About a task that is no longer the latest: stale.
        Record::Status { .. } | Record::Downloading { .. } => {}
    }
}

/// The fewest records that replay to `states`, for compaction.
pub fn records_of(states: &BTreeMap<String, ServerState>) -> Vec<Record> {
    let mut records = Vec::new();
    for (server, state) in states {
        if let Some(export) = &state.export {
            records.push(Record::Exported {
                server: server.clone(),
                export_id: export.export_id.clone(),
                at: export.at,
            });
            if let Some(status) = &export.status {
                records.push(Record::Status {
                    server: server.clone(),
                    export_id: export.export_id.clone(),
                    status: status.clone(),
                    failed: false,
                });
            }
            if let Some(download) = &state.download {
                records.push(Record::Downloading {
                    server: server.clone(),
                    export_id: export.export_id.clone(),
                    part: download.part.clone(),
                    validators: download.validators.clone(),
                });
            }
        }
        if let Some(archive) = &state.complete {
            records.push(Record::Complete {
                server: server.clone(),
                export_id: archive.export_id.clone(),
                file: archive.file.clone(),
                bytes: archive.bytes,
                sha256: archive.sha256.clone(),
            });
        }
        // Last: an `Exported` record after it would clear it.
        if let Some(at) = state.export_cut {
            records.push(Record::Exporting {
                server: server.clone(),
                at,
            });
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(id: &str) -> Record {
        Record::Exported {
            server: "s".into(),
            export_id: id.into(),
            at: 5,
        }
    }

    fn downloading(id: &str) -> Record {
        Record::Downloading {
            server: "s".into(),
            export_id: id.into(),
            part: ".clouddc-s.part".into(),
            validators: Validators::default(),
        }
    }

    fn status(id: &str, failed: bool) -> Record {
        Record::Status {
            server: "s".into(),
            export_id: id.into(),
            status: if failed { "failed" } else { "completed" }.into(),
            failed,
        }
    }

    #[test]
    fn the_latest_task_wins_and_stale_records_are_ignored() {
        let states = replay(&[
            exported("a"),
            downloading("a"),
            exported("b"),
            status("a", false),
        ]);
        let state = &states["s"];
        assert_eq!(state.export.as_ref().unwrap().export_id, "b");
        assert_eq!(state.export.as_ref().unwrap().status, None);
        assert_eq!(state.download, None);
    }

    #[test]
    fn a_failed_task_is_forgotten() {
        let states = replay(&[exported("a"), status("a", true)]);
        assert_eq!(states["s"].export, None);
    }

    #[test]
    fn compaction_replays_to_the_same_state() {
        let complete = Record::Complete {
            server: "t".into(),
            export_id: "z".into(),
            file: "t.tar.gz".into(),
            bytes: 9,
            sha256: "00".into(),
        };
        let states = replay(&[
            exported("a"),
            status("a", false),
            downloading("a"),
            complete.clone(),
        ]);
        let compacted = records_of(&states);
        assert_eq!(replay(&compacted), states);
        assert_eq!(compacted.len(), 4);
    }

    #[test]
    fn an_export_call_without_its_answer_is_remembered_until_one_comes() {
        let exporting = |server: &str, at| Record::Exporting {
            server: server.into(),
            at,
        };
        // `c` cut during its first call; `s` cut again after a task was saved.
        let states = replay(&[exporting("c", 7), exported("e1"), exporting("s", 8)]);
        assert_eq!(states["c"].export_cut, Some(7));
        assert_eq!(states["s"].export_cut, Some(8));
        assert!(states["s"].export.is_some(), "the saved task is kept");
        let compacted = records_of(&states);
        assert_eq!(replay(&compacted), states);
        // The answer clears it.
        let answered = replay(&[exporting("s", 8), exported("e2")]);
        assert_eq!(answered["s"].export_cut, None);
    }
}

use super::*;

fn exported(server: &str, id: &str) -> Record {
    Record::Exported {
        server: server.into(),
        export_id: id.into(),
        at: 100,
    }
}

#[test]
fn records_survive_a_reopen_and_a_torn_last_record_is_dropped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (journal, recovered) = FileJournal::open(dir.path(), false).unwrap();
        assert_eq!(recovered, Recovered::default());
        journal.record(exported("a", "e1")).unwrap();
        journal.record(exported("b", "e2")).unwrap();
    }
    // A crash mid-write: half of a third record.
    let line = format::encode(&exported("c", "e3"));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join(JOURNAL_FILE))
        .unwrap();
    file.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(file);

    let (journal, recovered) = FileJournal::open(dir.path(), false).unwrap();
    assert!(recovered.torn_last);
    assert_eq!(recovered.servers, ["a", "b"]);
    assert_eq!(journal.recall("b").unwrap().export.unwrap().export_id, "e2");
    assert_eq!(journal.recall("c"), None);
    drop(journal);
    // Compaction wrote the journal anew: the torn bytes are gone for good.
    let (_, again) = FileJournal::open(dir.path(), false).unwrap();
    assert!(!again.torn_last);
    assert_eq!(again.servers, ["a", "b"]);
}

#[test]
fn fresh_ignores_and_replaces_the_journal_and_stray_parts_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (journal, _) = FileJournal::open(dir.path(), false).unwrap();
        journal.record(exported("a", "e1")).unwrap();
        journal
            .record(Record::Downloading {
                server: "a".into(),
                export_id: "e1".into(),
                part: part_name("a"),
                validators: Default::default(),
            })
            .unwrap();
    }
    std::fs::write(dir.path().join(part_name("a")), b"kept").unwrap();
    std::fs::write(dir.path().join(part_name("z")), b"stray").unwrap();
    std::fs::write(dir.path().join(".clouddc-other.part"), b"not ours").unwrap();
    // A compaction killed before its rename.
    std::fs::write(dir.path().join(".clouddc-journal-x1y2.new"), b"half").unwrap();
    let (journal, recovered) = FileJournal::open(dir.path(), false).unwrap();
    assert_eq!(recovered.removed_parts, 2);
    assert!(!dir.path().join(".clouddc-journal-x1y2.new").exists());
    assert!(dir.path().join(part_name("a")).exists());
    assert!(!dir.path().join(part_name("z")).exists());
    assert!(dir.path().join(".clouddc-other.part").exists());
    assert!(journal.recall("a").unwrap().download.is_some());
    drop(journal);

    let (journal, recovered) = FileJournal::open(dir.path(), true).unwrap();
    assert_eq!(journal.recall("a"), None);
    assert!(recovered.servers.is_empty());
    assert_eq!(recovered.removed_parts, 1);
    let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
    assert_eq!(text, format!("{HEADER}\n"));
}

#[test]
fn a_second_open_is_locked_out_naming_the_lock_and_nothing_is_left_after() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = FileJournal::open(dir.path(), false).unwrap();
    match FileJournal::open(dir.path(), false) {
        Err(error @ JournalError::Locked { .. }) => {
            assert!(error.to_string().contains(LOCK_FILE), "{error}");
        }
        other => panic!("{other:?}"),
    }
    drop(first);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [JOURNAL_FILE]);
}

#[test]
fn a_journal_of_another_version_is_refused_naming_fresh() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(JOURNAL_FILE), "clouddc-journal 9\n").unwrap();
    let error = FileJournal::open(dir.path(), false).unwrap_err();
    assert!(matches!(error, JournalError::Unreadable { .. }));
    assert!(error.to_string().contains("--fresh"), "{error}");
    // And --fresh replaces it.
    assert!(FileJournal::open(dir.path(), true).is_ok());
}

#[test]
fn part_names_are_hidden_fixed_and_one_component() {
    assert_eq!(part_name("a/b"), part_name("a/b"));
    assert_ne!(part_name("a/b"), part_name("a_b"));
    let name = part_name("../x");
    assert!(name.starts_with(".clouddc-") && name.ends_with(".part") && !name.contains('/'));
}

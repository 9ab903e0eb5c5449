//! The journal's bytes: a versioned header line, then one record a line, each
//! `<crc32 as 8 hex digits> <json>\n`. The CRC-32 covers the JSON, so a line
//! torn by a crash mid-write (no newline, or a prefix of one) never decodes.

use serde::{Deserialize, Serialize};

use crate::download::Validators;

/// The first line of every journal: a change of format changes the number.
pub const HEADER: &str = "clouddc-journal 1";

/// One step of one server's collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// An export call is about to be made. When no `Exported` record follows,
    /// the process stopped during the call: the service may hold a task that
    /// the journal cannot name, and the re-run's export may start a second.
    Exporting {
        /// The server.
        server: String,
        /// When the call was made, Unix seconds.
        at: i64,
    },
    /// An export task was created (or the running one returned).
    Exported {
        /// The server.
        server: String,
        /// The task.
        export_id: String,
        /// When this process learned of the task, Unix seconds (the local
        /// clock: the service's `created_at` comes in several forms).
        at: i64,
    },
    /// The export's status changed.
    Status {
        /// The server.
        server: String,
        /// The task.
        export_id: String,
        /// The status as the service worded it.
        status: String,
        /// Whether it is final and a failure: the task is not resumed.
        failed: bool,
    },
    /// The archive is being written to a part file.
    Downloading {
        /// The server.
        server: String,
        /// The task.
        export_id: String,
        /// The part file's name in the output directory.
        part: String,
        /// The archive's size and validators, as the service sent them.
        validators: Validators,
    },
    /// The archive is complete and checked.
    Complete {
        /// The server.
        server: String,
        /// The task.
        export_id: String,
        /// The archive's file name in the output directory.
        file: String,
        /// Its size.
        bytes: u64,
        /// Its SHA-256, lowercase hex.
        sha256: String,
    },
}

impl Record {
    /// The server the record is about.
    pub fn server(&self) -> &str {
        match self {
            Record::Exporting { server, .. }
            | Record::Exported { server, .. }
            | Record::Status { server, .. }
            | Record::Downloading { server, .. }
            | Record::Complete { server, .. } => server,
        }
    }
}

/// One line, newline included.
pub fn encode(record: &Record) -> String {
    // A record of strings and integers always serialises.
    let json = serde_json::to_string(record).unwrap_or_default();
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()))
}

/// A line (without its newline) back into a record; `None` when it does not
/// check out.
pub fn decode(line: &str) -> Option<Record> {
    let (crc, json) = line.split_once(' ')?;
    if crc.len() != 8 || u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(json.as_bytes()) {
        return None;
    }
    serde_json::from_str(json).ok()
}

/// What reading a journal found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The records that checked out, in order.
    pub records: Vec<Record>,
    /// The last record was torn (a crash mid-write) and was dropped.
    pub torn_last: bool,
    /// Records before the last that did not check out and were skipped.
    pub corrupt: usize,
}

/// Why a journal cannot be used at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// The header is another version or not a journal's.
    Header(String),
}

/// Reads a whole journal. An empty file is an empty journal.
pub fn parse(text: &str) -> Result<Parsed, Unreadable> {
    let mut parsed = Parsed::default();
    if text.is_empty() {
        return Ok(parsed);
    }
    let mut lines = text.split_inclusive('\n');
    let header = lines.next().unwrap_or_default();
    if header.trim_end_matches('\n') != HEADER {
        // A header torn by a crash while the journal was first written.
        if header.ends_with('\n') || !HEADER.starts_with(header) {
            return Err(Unreadable::Header(crate::error::snippet(header.as_bytes())));
        }
        parsed.torn_last = true;
        return Ok(parsed);
    }
    let lines: Vec<&str> = lines.collect();
    for (index, line) in lines.iter().enumerate() {
        let last = index + 1 == lines.len();
        match line.strip_suffix('\n').and_then(decode) {
            Some(record) => parsed.records.push(record),
            None if last => parsed.torn_last = true,
            None => parsed.corrupt += 1,
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(server: &str) -> Record {
        Record::Exported {
            server: server.into(),
            export_id: "e1".into(),
            at: 1,
        }
    }

    #[test]
    fn records_round_trip_and_a_flipped_byte_does_not_decode() {
        let record = Record::Complete {
            server: "srv-1".into(),
            export_id: "e1".into(),
            file: "a.tar.gz".into(),
            bytes: 3,
            sha256: "ab".into(),
        };
        let line = encode(&record);
        assert!(line.ends_with('\n'));
        assert_eq!(decode(line.trim_end()), Some(record));
        let flipped = line.trim_end().replace("srv-1", "srv-2");
        assert_eq!(decode(&flipped), None);
        assert_eq!(decode("zz"), None);
    }

    #[test]
    fn every_cut_of_the_last_record_is_detected_as_torn() {
        let head = format!("{HEADER}\n{}", encode(&exported("a")));
        let last = encode(&exported("b"));
        for cut in 0..last.len() {
            let text = format!("{head}{}", &last[..cut]);
            let parsed = parse(&text).unwrap();
            assert_eq!(parsed.records, vec![exported("a")], "cut at {cut}");
            assert_eq!(parsed.torn_last, cut > 0, "cut at {cut}");
            assert_eq!(parsed.corrupt, 0);
        }
        let whole = parse(&format!("{head}{last}")).unwrap();
        assert_eq!(whole.records.len(), 2);
        assert!(!whole.torn_last);
    }

    #[test]
    fn a_torn_header_is_an_empty_journal_and_another_version_is_refused() {
        assert_eq!(parse("").unwrap(), Parsed::default());
        assert!(parse("clouddc-jour").unwrap().torn_last);
        assert!(matches!(
            parse("clouddc-journal 2\n"),
            Err(Unreadable::Header(_))
        ));
        assert!(matches!(parse("hello"), Err(Unreadable::Header(_))));
    }

    #[test]
    fn a_bad_record_in_the_middle_is_skipped_and_counted() {
        let text = format!(
            "{HEADER}\n{}00000000 {{}}\n{}",
            encode(&exported("a")),
            encode(&exported("b"))
        );
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.corrupt, 1);
        assert!(!parsed.torn_last);
    }
}

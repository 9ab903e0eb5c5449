//! What a command reports on stdout: one record per server, as aligned text or
//! as one JSON document.

use std::io::{self, Write};
use std::path::Path;

use clouddc::{Downloaded, Error, ServerOutcome};
use indicatif::{BinaryBytes, HumanDuration};
use serde::Serialize;

use crate::args::Format;
use crate::exit::chain;
use crate::text::clean;

/// Whether a server's archive was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The archive is in the output directory, checked.
    Ok,
    /// There is no archive; `error` says why.
    Failed,
    /// The run was interrupted before this server finished; it left no file.
    Interrupted,
}

/// One server's result; absent fields are `null` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The server id.
    pub server: String,
    /// The export task, once one was created.
    pub export_id: Option<String>,
    /// Whether the archive was collected.
    pub status: Status,
    /// Where the archive is.
    pub path: Option<String>,
    /// The archive's size in bytes.
    pub bytes: Option<u64>,
    /// The archive's SHA-256, lowercase hex.
    pub sha256: Option<String>,
    /// Why there is no archive, with its causes.
    pub error: Option<String>,
    /// The `X-Request-Id` of the failed response, for a support case.
    pub request_id: Option<String>,
    /// The archive was complete from an interrupted earlier run (the journal
    /// said so and the file still matched its length and SHA-256).
    pub resumed: bool,
}

impl Record {
    /// The record of a finished download or of the error that prevented it.
    pub fn new(
        server: String,
        export_id: Option<String>,
        result: &Result<Downloaded, Error>,
    ) -> Self {
        match result {
            Ok(archive) => Self {
                server,
                export_id,
                status: Status::Ok,
                path: Some(display_path(&archive.path)),
                bytes: Some(archive.bytes),
                sha256: Some(archive.sha256.clone()),
                error: None,
                request_id: None,
                resumed: false,
            },
            Err(error) => Self {
                server,
                export_id,
                status: Status::Failed,
                path: None,
                bytes: None,
                sha256: None,
                error: Some(chain(error)),
                request_id: error.request_id().map(str::to_owned),
                resumed: false,
            },
        }
    }

    /// The record of a server the run was interrupted before finishing.
    pub fn interrupted(server: String) -> Self {
        Self {
            server,
            export_id: None,
            status: Status::Interrupted,
            path: None,
            bytes: None,
            sha256: None,
            error: Some("interrupted before it finished; no file was left".into()),
            request_id: None,
            resumed: false,
        }
    }

    /// The record of one server's outcome in `Client::collect`.
    pub fn from_outcome(outcome: &ServerOutcome) -> Self {
        Self {
            resumed: outcome.resumed,
            ..Self::new(
                outcome.server.clone(),
                outcome.export_id.clone(),
                &outcome.result,
            )
        }
    }

    /// Whether the archive was collected.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// One line for people, cleaned for the terminal: `path (size)` or the
    /// error.
    pub fn describe(&self) -> String {
        match (&self.path, self.bytes, &self.error) {
            (Some(path), Some(bytes), _) => format!("{} ({})", clean(path), BinaryBytes(bytes)),
            (_, _, Some(error)) => clean(error),
            _ => String::new(),
        }
    }
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

/// The JSON document of `logs collect`.
#[derive(Debug, Serialize)]
struct Document<'a> {
    results: &'a [Record],
}

/// What a whole run did, for the closing line.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Servers asked for.
    pub requested: usize,
    /// How long the run took.
    pub elapsed: std::time::Duration,
}

/// Prints the results in `format` on `out`: the JSON document alone, or one
/// aligned line per server and a closing count.
pub fn print(
    out: &mut dyn Write,
    format: Format,
    records: &[Record],
    totals: Totals,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &Document { results: records })?;
            writeln!(out)?;
        }
        Format::Text => print_text(out, records, totals)?,
    }
    out.flush()
}

/// One row a server, every value from the service or the user cleaned: a
/// server id or an export id with a newline cannot split a row.
fn print_text(out: &mut dyn Write, records: &[Record], totals: Totals) -> io::Result<()> {
    let servers: Vec<String> = records.iter().map(|r| clean(&r.server)).collect();
    let width = servers.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for (record, server) in records.iter().zip(&servers) {
        match record.status {
            Status::Ok => writeln!(
                out,
                "{server:<width$}  ok      {}  {}  sha256:{}{}",
                clean(record.path.as_deref().unwrap_or_default()),
                BinaryBytes(record.bytes.unwrap_or_default()),
                record.sha256.as_deref().unwrap_or_default(),
                if record.resumed { "  resumed" } else { "" },
            )?,
            Status::Failed | Status::Interrupted => {
                let word = match record.status {
                    Status::Failed => "failed ",
                    _ => "interrupted",
                };
                write!(out, "{server:<width$}  {word} ")?;
                if let Some(export_id) = &record.export_id {
                    write!(out, "(export {}) ", clean(export_id))?;
                }
                writeln!(
                    out,
                    "{}",
                    clean(record.error.as_deref().unwrap_or("unknown error"))
                )?;
            }
        }
    }
    let ok = records.iter().filter(|r| r.is_ok()).count();
    let interrupted = records
        .iter()
        .filter(|r| r.status == Status::Interrupted)
        .count();
    let failed = records.len() - ok - interrupted;
    write!(
        out,
        "{} of {} servers collected, {failed} failed, in {}",
        ok,
        totals.requested,
        HumanDuration(totals.elapsed)
    )?;
    let unfinished = totals.requested.saturating_sub(records.len()) + interrupted;
    if unfinished > 0 {
        write!(out, ", {unfinished} not finished")?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn records() -> Vec<Record> {
        let ok = Downloaded {
            path: "logs/srv-1.tar.gz".into(),
            suggested_name: None,
            bytes: 262_144,
            sha256: "ab".repeat(32),
            resumes: 0,
        };
        vec![
            Record::new("srv-1".into(), Some("7".into()), &Ok(ok)),
            Record::new(
                "..".into(),
                None,
                &Err(Error::invalid(
                    "server",
                    "\"..\" would be resolved as a path segment",
                )),
            ),
        ]
    }

    #[test]
    fn json_document_has_every_field_and_nulls() {
        let mut out = Vec::new();
        let totals = Totals {
            requested: 2,
            elapsed: Duration::from_secs(3),
        };
        print(&mut out, Format::Json, &records(), totals).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results[0]["status"], "ok");
        assert_eq!(results[0]["bytes"], 262_144);
        assert_eq!(results[0]["error"], serde_json::Value::Null);
        assert_eq!(results[1]["status"], "failed");
        assert_eq!(results[1]["path"], serde_json::Value::Null);
        assert_eq!(results[1]["request_id"], serde_json::Value::Null);
        for key in [
            "server",
            "export_id",
            "status",
            "path",
            "bytes",
            "sha256",
            "error",
            "request_id",
            "resumed",
        ] {
            assert!(results[1].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn a_resumed_archive_is_marked_in_text_and_json() {
        let mut records = records();
        records[0].resumed = true;
        let totals = Totals {
            requested: 2,
            elapsed: Duration::from_secs(1),
        };
        let mut text = Vec::new();
        print(&mut text, Format::Text, &records, totals).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.lines().next().unwrap().ends_with("  resumed"),
            "{text}"
        );
        let mut json = Vec::new();
        print(&mut json, Format::Json, &records, totals).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(doc["results"][0]["resumed"], true);
        assert_eq!(doc["results"][1]["resumed"], false);
    }

    #[test]
    fn text_summary() {
        let mut out = Vec::new();
        let totals = Totals {
            requested: 3,
            elapsed: Duration::from_secs(3),
        };
        print(&mut out, Format::Text, &records(), totals).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("srv-1  ok      logs/srv-1.tar.gz  256.00 KiB  sha256:abab"),
            "{text}"
        );
        assert!(text.contains("..     failed  invalid server"), "{text}");
        assert!(!text.contains("resumed"), "{text}");
        assert!(
            text.ends_with("1 of 3 servers collected, 1 failed, in 3 seconds, 1 not finished\n"),
            "{text}"
        );
    }
}

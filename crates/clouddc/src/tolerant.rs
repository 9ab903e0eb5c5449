//! Wire types that accept every form the vendor has shipped.
//!
//! The vendor documents `status` as `processing`/`completed` but shows `Running`,
//! and `percentage` as `"0-100"`, `"30%"` or an integer. The generated `ExportTask`
//! uses these types in place of the ones progenitor would derive (see
//! `clouddc_codegen`'s replacements), so no shipped form is a decode error: the raw
//! value is always kept and interpretation happens on demand.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What an export status string means, whatever its spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusKind {
    /// The export is still running (`processing`, `Running`, `pending`, ...).
    InProgress,
    /// The archive is ready to download (`completed`, `success`, ...).
    Completed,
    /// The export ended without an archive (`failed`, `error`, `cancelled`, ...).
    Failed,
    /// A value no known dialect uses; kept as sent.
    Unknown,
}

/// An export task's status as the service sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportStatus {
    raw: String,
}

impl ExportStatus {
    /// Wraps a status string as received.
    pub fn new(raw: impl Into<String>) -> Self {
        Self { raw: raw.into() }
    }

    /// The value exactly as the service sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The meaning of the value, compared case-insensitively and ignoring `-`, `_`
    /// and spaces.
    pub fn kind(&self) -> StatusKind {
        let folded: String = self
            .raw
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "completed" | "complete" | "success" | "succeeded" | "successful" | "finished"
            | "done" | "ok" => StatusKind::Completed,
            "processing" | "running" | "inprogress" | "pending" | "queued" | "waiting"
            | "exporting" | "creating" | "started" | "starting" | "init" | "initial"
            | "collecting" => StatusKind::InProgress,
            "failed" | "failure" | "fail" | "error" | "errored" | "cancelled" | "canceled"
            | "aborted" | "timeout" | "timedout" | "expired" | "rejected" => StatusKind::Failed,
            _ => StatusKind::Unknown,
        }
    }

    /// Whether the archive can be downloaded.
    pub fn is_completed(&self) -> bool {
        self.kind() == StatusKind::Completed
    }

    /// Whether the export ended without an archive.
    pub fn is_failed(&self) -> bool {
        self.kind() == StatusKind::Failed
    }
}

impl fmt::Display for ExportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl From<&str> for ExportStatus {
    fn from(raw: &str) -> Self {
        Self::new(raw)
    }
}

impl Serialize for ExportStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ExportStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Scalar::deserialize(deserializer).map(|s| Self::new(s.into_text()))
    }
}

/// Why a percentage could not be read as a number from 0 to 100.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PercentageError {
    /// The value is not a number, with or without a `%` sign.
    #[error("percentage {0:?} is not a number")]
    NotNumeric(String),
    /// The value is a number outside 0 to 100.
    #[error("percentage {0} is outside 0-100")]
    OutOfRange(f64),
}

/// An export's progress as the service sent it: `30`, `"30"` or `"30%"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentage {
    raw: RawPercentage,
}

/// The two JSON forms a percentage arrives in.
#[derive(Debug, Clone, PartialEq)]
enum RawPercentage {
    Number(serde_json::Number),
    Text(String),
}

impl Percentage {
    /// A percentage sent as a JSON number.
    pub fn from_number(value: impl Into<serde_json::Number>) -> Self {
        Self {
            raw: RawPercentage::Number(value.into()),
        }
    }

    /// A percentage sent as a JSON string (`"30"` or `"30%"`).
    pub fn from_text(value: impl Into<String>) -> Self {
        Self {
            raw: RawPercentage::Text(value.into()),
        }
    }

    /// The value read as a number from 0 to 100.
    pub fn parse(&self) -> Result<f64, PercentageError> {
        let value = match &self.raw {
            RawPercentage::Number(n) => n
                .as_f64()
                .ok_or_else(|| PercentageError::NotNumeric(n.to_string()))?,
            RawPercentage::Text(text) => {
                let trimmed = text.trim();
                let digits = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
                digits
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| PercentageError::NotNumeric(text.clone()))?
            }
        };
        if (0.0..=100.0).contains(&value) {
            Ok(value)
        } else {
            Err(PercentageError::OutOfRange(value))
        }
    }

    /// The value from 0 to 100, or `None` when it is not a number in range.
    pub fn value(&self) -> Option<f64> {
        self.parse().ok()
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            RawPercentage::Number(n) => write!(f, "{n}"),
            RawPercentage::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Percentage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            RawPercentage::Number(n) => n.serialize(serializer),
            RawPercentage::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Percentage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Scalar::deserialize(deserializer)? {
            Scalar::Number(n) => Self::from_number(n),
            other => Self::from_text(other.into_text()),
        })
    }
}

/// When the export started, as the service sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreatedAt {
    raw: String,
}

impl CreatedAt {
    /// Wraps a timestamp string as received.
    pub fn new(raw: impl Into<String>) -> Self {
        Self { raw: raw.into() }
    }

    /// The value exactly as the service sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant, from either documented form (`2024-07-01T11:32:49Z`,
    /// `2025-03-20T02:48:06+00:00`) or close relatives (fractional seconds, a space
    /// instead of `T`, `+0000`, no zone meaning UTC). `None` when it is none of them.
    pub fn parse(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::{DateTime, NaiveDateTime, Utc};
        let text = self.raw.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(t.with_timezone(&Utc));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
            if let Ok(t) = DateTime::parse_from_str(text, format) {
                return Some(t.with_timezone(&Utc));
            }
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Some(t.and_utc());
            }
        }
        None
    }
}

impl fmt::Display for CreatedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for CreatedAt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for CreatedAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Scalar::deserialize(deserializer).map(|s| Self::new(s.into_text()))
    }
}

/// Any JSON scalar: a field documented as a string may arrive as a number or a
/// boolean, and is kept as its text rather than failing the whole response.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(t) => t,
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> ExportStatus {
        serde_json::from_str(json).expect("every status form decodes")
    }

    fn percentage(json: &str) -> Percentage {
        serde_json::from_str(json).expect("every percentage form decodes")
    }

    #[test]
    fn documented_statuses() {
        assert_eq!(status(r#""processing""#).kind(), StatusKind::InProgress);
        assert_eq!(status(r#""completed""#).kind(), StatusKind::Completed);
    }

    #[test]
    fn example_status_and_any_case() {
        assert_eq!(status(r#""Running""#).kind(), StatusKind::InProgress);
        assert_eq!(status(r#""COMPLETED""#).kind(), StatusKind::Completed);
        assert_eq!(status(r#""In_Progress""#).kind(), StatusKind::InProgress);
        assert_eq!(status(r#""Failed""#).kind(), StatusKind::Failed);
    }

    #[test]
    fn unknown_status_is_kept_not_rejected() {
        let s = status(r#""Defragmenting""#);
        assert_eq!(s.kind(), StatusKind::Unknown);
        assert_eq!(s.as_str(), "Defragmenting");
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""Defragmenting""#);
        assert_eq!(status("7").as_str(), "7");
    }

    #[test]
    fn percentage_as_integer_string_and_percent_string() {
        assert_eq!(percentage("30").parse(), Ok(30.0));
        assert_eq!(percentage(r#""30""#).parse(), Ok(30.0));
        assert_eq!(percentage(r#""30%""#).parse(), Ok(30.0));
        assert_eq!(percentage(r#"" 42.5 % ""#).parse(), Ok(42.5));
        assert_eq!(percentage(r#""100%""#).value(), Some(100.0));
    }

    #[test]
    fn percentage_keeps_its_wire_form() {
        for form in ["30", r#""30""#, r#""30%""#] {
            assert_eq!(serde_json::to_string(&percentage(form)).unwrap(), form);
        }
        assert_eq!(percentage(r#""30%""#).to_string(), "30%");
    }

    #[test]
    fn percentage_range_and_garbage() {
        assert_eq!(
            percentage("101").parse(),
            Err(PercentageError::OutOfRange(101.0))
        );
        assert_eq!(
            percentage(r#""-1%""#).parse(),
            Err(PercentageError::OutOfRange(-1.0))
        );
        assert!(matches!(
            percentage(r#""about half""#).parse(),
            Err(PercentageError::NotNumeric(_))
        ));
        assert!(matches!(
            percentage(r#""NaN""#).parse(),
            Err(PercentageError::NotNumeric(_))
        ));
        assert_eq!(percentage(r#""""#).value(), None);
    }

    #[test]
    fn created_at_in_both_documented_forms() {
        let z = CreatedAt::new("2024-07-01T11:32:49Z").parse().unwrap();
        let offset = CreatedAt::new("2025-03-20T02:48:06+00:00").parse().unwrap();
        assert_eq!(z.to_rfc3339(), "2024-07-01T11:32:49+00:00");
        assert_eq!(offset.to_rfc3339(), "2025-03-20T02:48:06+00:00");
    }

    #[test]
    fn created_at_relatives_and_garbage() {
        assert!(CreatedAt::new("2025-03-20 02:48:06").parse().is_some());
        assert!(CreatedAt::new("2025-03-20T02:48:06+0800").parse().is_some());
        assert!(CreatedAt::new("2025-03-20T02:48:06.123Z").parse().is_some());
        let garbage = CreatedAt::new("yesterday");
        assert_eq!(garbage.parse(), None);
        assert_eq!(garbage.as_str(), "yesterday");
    }
}

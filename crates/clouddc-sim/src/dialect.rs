//! The forms of the status response the vendor has shipped. Clients are tested
//! against each, so the simulator speaks whichever one it is configured with.

use std::fmt;
use std::str::FromStr;

/// How the simulator words a task's status, percentage and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// The documented range: `processing`/`completed`/`failed`, percentage as a
    /// string of digits (`"30"`), `created_at` as `2024-07-01T11:32:49Z`.
    #[default]
    Documented,
    /// The vendor's example: `Running`/`Completed`/`Failed`, percentage `"30%"`,
    /// `created_at` as `2025-03-20T02:48:06+00:00`.
    Example,
    /// The revision that typed the percentage as an integer (`30`), with the
    /// documented statuses.
    Integer,
}

/// Which stage a task is in, before a dialect words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Still collecting logs.
    Processing,
    /// The archive is ready.
    Completed,
    /// The export failed; there is no archive.
    Failed,
}

impl Dialect {
    /// Every dialect, for tests that cover them all.
    pub const ALL: [Dialect; 3] = [Dialect::Documented, Dialect::Example, Dialect::Integer];

    /// The `status` string for `stage`.
    pub fn status(self, stage: Stage) -> &'static str {
        match (self, stage) {
            (Dialect::Example, Stage::Processing) => "Running",
            (Dialect::Example, Stage::Completed) => "Completed",
            (Dialect::Example, Stage::Failed) => "Failed",
            (_, Stage::Processing) => "processing",
            (_, Stage::Completed) => "completed",
            (_, Stage::Failed) => "failed",
        }
    }

    /// The `percentage` value for `percent` (0 to 100).
    pub fn percentage(self, percent: u8) -> crate::wire::WirePercentage {
        use crate::wire::WirePercentage;
        match self {
            Dialect::Documented => WirePercentage::Text(percent.to_string()),
            Dialect::Example => WirePercentage::Text(format!("{percent}%")),
            Dialect::Integer => WirePercentage::Integer(percent),
        }
    }

    /// `created_at` for a task started at `at`.
    pub fn created_at(self, at: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            Dialect::Example => at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            _ => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dialect::Documented => "documented",
            Dialect::Example => "example",
            Dialect::Integer => "integer",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dialect name that is not `documented`, `example` or `integer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect {0:?}: expected documented, example or integer")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for dialect in Dialect::ALL {
            assert_eq!(dialect.to_string().parse::<Dialect>(), Ok(dialect));
        }
        assert!("Running".parse::<Dialect>().is_err());
    }

    #[test]
    fn each_dialect_words_progress_its_own_way() {
        use crate::wire::WirePercentage;
        assert_eq!(
            Dialect::Documented.percentage(30),
            WirePercentage::Text("30".into())
        );
        assert_eq!(
            Dialect::Example.percentage(30),
            WirePercentage::Text("30%".into())
        );
        assert_eq!(Dialect::Integer.percentage(30), WirePercentage::Integer(30));
        assert_eq!(Dialect::Example.status(Stage::Processing), "Running");
        assert_eq!(Dialect::Integer.status(Stage::Completed), "completed");
    }
}

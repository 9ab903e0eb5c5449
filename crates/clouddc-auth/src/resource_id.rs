//! The spec's `ResourceId`: a project, server or export id in a URL path.
//!
//! The generated client takes path ids as this type (see `clouddc_codegen`'s
//! replacements) instead of the newtype progenitor would derive, whose check runs
//! the spec's `pattern` through a backtracking regex engine, which allocates, for
//! both ids of every status poll, when the check is one character class.
//! The rules below are the schema's, and a test reads the schema from
//! `openapi/clouddc.yaml` and compares them with its `pattern` run by the
//! same regex engine, so the two cannot drift apart.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest id accepted: the spec's `maxLength` for `ResourceId`.
pub const MAX_ID_LEN: usize = 128;

/// The spec's `minLength` and `maxLength`, counted in characters.
const LENGTH: std::ops::RangeInclusive<usize> = 1..=MAX_ID_LEN;

/// A project, server or export id that satisfies the spec's `ResourceId` schema:
/// 1 to 128 characters, none of them a C0 or C1 control character.
///
/// The client's own checks before sending (no `.`/`..`, no backslash, no
/// surrounding whitespace) are stricter; see [`crate::path_id()`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ResourceId(String);

/// Why a string is not a [`ResourceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidResourceId {
    /// Fewer than 1 or more than 128 characters.
    #[error("is {length} characters long; 1 to {MAX_ID_LEN} are allowed")]
    Length {
        /// The length in characters.
        length: usize,
    },
    /// Contains a character in U+0000–U+001F or U+007F–U+009F.
    #[error("contains the control character U+{code:04X}")]
    ControlCharacter {
        /// The first control character's code point.
        code: u32,
    },
}

impl ResourceId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks `value` against the schema without copying it (the simulator
    /// answers 400 with this reason).
    pub fn check(value: &str) -> Result<(), InvalidResourceId> {
        check(value)
    }
}

fn check(value: &str) -> Result<(), InvalidResourceId> {
    let mut length = 0usize;
    for c in value.chars() {
        // `char::is_control` is Unicode's Cc category: exactly these two ranges,
        // the pattern's `[\x00-\x1F\x7F-\x9F]`.
        if c.is_control() {
            return Err(InvalidResourceId::ControlCharacter { code: c.into() });
        }
        length += 1;
    }
    if LENGTH.contains(&length) {
        Ok(())
    } else {
        Err(InvalidResourceId::Length { length })
    }
}

impl FromStr for ResourceId {
    type Err = InvalidResourceId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        check(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<&str> for ResourceId {
    type Error = InvalidResourceId;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<&String> for ResourceId {
    type Error = InvalidResourceId;

    fn try_from(value: &String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<String> for ResourceId {
    type Error = InvalidResourceId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        check(&value)?;
        Ok(Self(value))
    }
}

impl From<ResourceId> for String {
    fn from(value: ResourceId) -> Self {
        value.0
    }
}

impl Deref for ResourceId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ResourceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .try_into()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `ResourceId` schema as the spec states it.
    struct Schema {
        pattern: regress::Regex,
        min_length: usize,
        max_length: usize,
    }

    fn schema() -> Schema {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/clouddc.yaml");
        let text = std::fs::read_to_string(path).expect("the spec is readable");
        let spec: serde_json::Value = serde_yaml::from_str(&text).expect("the spec is YAML");
        let schema = &spec["components"]["schemas"]["ResourceId"];
        let number = |key: &str| schema[key].as_u64().expect("a length") as usize;
        Schema {
            pattern: regress::Regex::new(schema["pattern"].as_str().expect("a pattern"))
                .expect("the pattern compiles"),
            min_length: number("minLength"),
            max_length: number("maxLength"),
        }
    }

    impl Schema {
        /// What the derived newtype accepted: typify's length and pattern checks.
        fn accepts(&self, value: &str) -> bool {
            let length = value.chars().count();
            (self.min_length..=self.max_length).contains(&length)
                && self.pattern.find(value).is_some()
        }
    }

    #[test]
    fn agrees_with_the_spec_schema_on_every_character_and_length() {
        let schema = schema();
        assert_eq!((schema.min_length, schema.max_length), (1, MAX_ID_LEN));
        let mut cases: Vec<String> = Vec::new();
        // Every code point of the first 1024 and some far beyond, alone and inside
        // an otherwise valid id (the pattern is anchored at both ends).
        let far = [0x2028, 0x200B, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF];
        for code in (0..0x400).chain(far) {
            let c = char::from_u32(code).expect("not a surrogate");
            cases.push(c.to_string());
            cases.push(format!("srv-{c}-1"));
            cases.push(format!("{c}srv"));
            cases.push(format!("srv{c}"));
        }
        for length in [0, 1, 2, 127, 128, 129, 300] {
            cases.push("a".repeat(length));
            cases.push("é".repeat(length));
            cases.push("😀".repeat(length));
        }
        for case in &cases {
            assert_eq!(
                case.parse::<ResourceId>().is_ok(),
                schema.accepts(case),
                "{case:?}"
            );
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(
            "".parse::<ResourceId>(),
            Err(InvalidResourceId::Length { length: 0 })
        );
        assert_eq!(
            "é".repeat(129).parse::<ResourceId>(),
            Err(InvalidResourceId::Length { length: 129 })
        );
        let error = "srv\u{85}1".parse::<ResourceId>().unwrap_err();
        assert_eq!(error, InvalidResourceId::ControlCharacter { code: 0x85 });
        assert_eq!(error.to_string(), "contains the control character U+0085");
    }

    #[test]
    fn serde_is_the_plain_string_and_decoding_checks_it() {
        let id: ResourceId = "srv-0001".parse().unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"srv-0001\"");
        assert_eq!(
            serde_json::from_str::<ResourceId>("\"srv-0001\"").unwrap(),
            id
        );
        assert!(serde_json::from_str::<ResourceId>("\"a\\u0000b\"").is_err());
        assert_eq!(id.to_string(), "srv-0001");
        assert_eq!(&*id, "srv-0001");
    }
}

//! Seeded, reproducible fault injection.
//!
//! A decision is a pure function of the seed, the operation, the resource it
//! acts on and how many times that resource has been asked for, so the same
//! seed gives the same faults to the same requests however concurrent requests
//! for *other* resources interleave.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A kind of injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `500` with the service's JSON error body, before anything is done.
    Internal,
    /// `429` with a plain-text body and `Retry-After`, before anything is done.
    Throttle,
    /// A download's connection is reset part way through the body.
    Reset,
    /// A download's body ends early, short of its `Content-Length`.
    Truncate,
    /// A download's body stops sending for a long time, then the connection drops.
    Stall,
    /// The response is held back before its first byte.
    Slow,
    /// An export task ends in the failed status instead of completing.
    Fail,
}

impl FaultKind {
    /// Every kind, in the order of [`FaultSpec`]'s text form.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Internal,
        FaultKind::Throttle,
        FaultKind::Reset,
        FaultKind::Truncate,
        FaultKind::Stall,
        FaultKind::Slow,
        FaultKind::Fail,
    ];

    /// The name used in a fault spec (`500`, `429`, `reset`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Internal => "500",
            FaultKind::Throttle => "429",
            FaultKind::Reset => "reset",
            FaultKind::Truncate => "truncate",
            FaultKind::Stall => "stall",
            FaultKind::Slow => "slow",
            FaultKind::Fail => "fail",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The probability of each fault, from text such as
/// `500=0.1,429=0.1,reset=0.05,truncate=0.05,stall=0.02,slow=0.01,fail=0.01`.
///
/// `500`, `429` and `slow` apply to every operation; `reset`, `truncate` and
/// `stall` to downloads; `fail` to new export tasks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    probabilities: [f64; 7],
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// The same spec with `kind` at probability `p` (clamped to 0..=1).
    pub fn with(mut self, kind: FaultKind, p: f64) -> Self {
        self.probabilities[kind.index()] = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// The probability of `kind`.
    pub fn probability(&self, kind: FaultKind) -> f64 {
        self.probabilities[kind.index()]
    }

    /// Whether any fault can happen.
    pub fn is_none(&self) -> bool {
        self.probabilities.iter().all(|p| *p == 0.0)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in FaultKind::ALL {
            let p = self.probability(kind);
            if p > 0.0 {
                if !first {
                    f.write_str(",")?;
                }
                write!(f, "{}={p}", kind.name())?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Why a fault spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultSpecError {
    /// An item is not `NAME=PROBABILITY`.
    #[error("fault {0:?} is not NAME=PROBABILITY")]
    NotAPair(String),
    /// The name is not a known fault.
    #[error("unknown fault {0:?}: expected one of 500, 429, reset, truncate, stall, slow, fail")]
    UnknownFault(String),
    /// The probability is not a number from 0 to 1.
    #[error("fault {name}: probability {value:?} is not a number from 0 to 1")]
    BadProbability {
        /// The fault's name.
        name: String,
        /// The text given.
        value: String,
    },
    /// The same fault is named twice.
    #[error("fault {0} is given twice")]
    Repeated(String),
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::none();
        let mut seen = [false; 7];
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(spec);
        }
        for item in s.split(',') {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotAPair(item.to_owned()))?;
            let (name, value) = (name.trim(), value.trim());
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| FaultSpecError::UnknownFault(name.to_owned()))?;
            let p: f64 = value
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| FaultSpecError::BadProbability {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })?;
            if std::mem::replace(&mut seen[kind.index()], true) {
                return Err(FaultSpecError::Repeated(kind.name().to_owned()));
            }
            spec = spec.with(kind, p);
        }
        Ok(spec)
    }
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    /// `500` answers.
    #[serde(rename = "500")]
    pub internal: u64,
    /// Injected `429` answers (not those of the rate limit).
    #[serde(rename = "429")]
    pub throttle: u64,
    /// Downloads reset part way.
    pub reset: u64,
    /// Downloads cut short.
    pub truncate: u64,
    /// Downloads stalled.
    pub stall: u64,
    /// Responses delayed.
    pub slow: u64,
    /// Export tasks failed.
    pub fail: u64,
}

impl FaultCounts {
    /// The sum over every kind.
    pub fn total(&self) -> u64 {
        self.internal
            + self.throttle
            + self.reset
            + self.truncate
            + self.stall
            + self.slow
            + self.fail
    }
}

/// Past this many remembered resources the attempt counters start over, so a
/// fuzzer inventing ids cannot grow them without bound. Reproducibility holds
/// for runs that touch fewer resources.
const MAX_TRACKED_RESOURCES: usize = 200_000;

/// Decides and counts faults.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    spec: FaultSpec,
    seed: u64,
    attempts: Mutex<HashMap<u64, u64>>,
    counts: [AtomicU64; 7],
}

impl FaultInjector {
    pub(crate) fn new(spec: FaultSpec, seed: u64) -> Self {
        Self {
            spec,
            seed,
            attempts: Mutex::new(HashMap::new()),
            counts: Default::default(),
        }
    }

    /// The dice for one request on `resource` (operation and path): a
    /// uniform `u64` stream that [`Roll::happens`] draws from.
    pub(crate) fn roll(&self, resource: &str) -> Roll<'_> {
        if self.spec.is_none() {
            return Roll {
                injector: self,
                state: 0,
            };
        }
        let key = mix(self.seed ^ hash_str(resource));
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
            if attempts.len() >= MAX_TRACKED_RESOURCES && !attempts.contains_key(&key) {
                attempts.clear();
            }
            let n = attempts.entry(key).or_insert(0);
            *n += 1;
            *n
        };
        Roll {
            injector: self,
            state: mix(key ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    /// What has been injected so far.
    pub(crate) fn counts(&self) -> FaultCounts {
        let c = |k: FaultKind| self.counts[k.index()].load(Ordering::Relaxed);
        FaultCounts {
            internal: c(FaultKind::Internal),
            throttle: c(FaultKind::Throttle),
            reset: c(FaultKind::Reset),
            truncate: c(FaultKind::Truncate),
            stall: c(FaultKind::Stall),
            slow: c(FaultKind::Slow),
            fail: c(FaultKind::Fail),
        }
    }
}

/// The fault dice of one request.
pub(crate) struct Roll<'a> {
    injector: &'a FaultInjector,
    state: u64,
}

impl Roll<'_> {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Whether `kind` strikes this request; counts it if so.
    pub(crate) fn happens(&mut self, kind: FaultKind) -> bool {
        let p = self.injector.spec.probability(kind);
        if p <= 0.0 {
            return false;
        }
        let draw = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let hit = draw < p;
        if hit {
            self.injector.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// A reproducible fraction in `[0.1, 0.9)`: where in a body a fault strikes.
    pub(crate) fn fraction(&mut self) -> f64 {
        0.1 + 0.8 * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed hash of a `u64`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, then mixed: stable across runs and platforms, unlike `DefaultHasher`.
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_form() {
        let spec: FaultSpec = "500=0.1,429=0.1,reset=0.05,truncate=0.05,stall=0.02"
            .parse()
            .unwrap();
        assert_eq!(spec.probability(FaultKind::Internal), 0.1);
        assert_eq!(spec.probability(FaultKind::Stall), 0.02);
        assert_eq!(spec.probability(FaultKind::Fail), 0.0);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert!("none".parse::<FaultSpec>().unwrap().is_none());
    }

    #[test]
    fn rejects_bad_specs_naming_the_item() {
        let cases = [
            ("500", FaultSpecError::NotAPair("500".into())),
            ("boom=0.1", FaultSpecError::UnknownFault("boom".into())),
            (
                "500=2",
                FaultSpecError::BadProbability {
                    name: "500".into(),
                    value: "2".into(),
                },
            ),
            (
                "500=NaN",
                FaultSpecError::BadProbability {
                    name: "500".into(),
                    value: "NaN".into(),
                },
            ),
            ("500=0.1,500=0.2", FaultSpecError::Repeated("500".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<FaultSpec>(), Err(expected), "{text}");
        }
    }

    #[test]
    fn decisions_are_reproducible_per_resource() {
        let spec = FaultSpec::none().with(FaultKind::Internal, 0.5);
        let draws = |injector: &FaultInjector, resource: &str| -> Vec<bool> {
            (0..64)
                .map(|_| injector.roll(resource).happens(FaultKind::Internal))
                .collect()
        };
        let a = FaultInjector::new(spec, 7);
        let b = FaultInjector::new(spec, 7);
        // Interleaving another resource's requests changes nothing.
        let _ = draws(&b, "GET /other");
        assert_eq!(draws(&a, "GET /x"), draws(&b, "GET /x"));
        let hits = a.counts().internal;
        assert!((20..=44).contains(&hits), "{hits} of 64 at p=0.5");
        let c = FaultInjector::new(spec, 8);
        assert_ne!(
            draws(&FaultInjector::new(spec, 7), "GET /y"),
            draws(&c, "GET /y")
        );
    }
}

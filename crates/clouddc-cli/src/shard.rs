//! `--shard K/N`: one collector's share of a fleet that N collectors split
//! between them with no overlap and no gap, and nothing to coordinate.
//!
//! A server belongs to shard `floor(fmix64(fnv1a64(id)) * N / 2^64) + 1`: the
//! 64-bit FNV-1a hash of the id's UTF-8 bytes, mixed by MurmurHash3's 64-bit
//! finaliser (FNV alone barely moves its high bits for ids that differ in the
//! last character, `srv-0001` and `srv-0002`), scaled to 1..=N by its high
//! bits. It is a function of the id alone, fixed here (not std's `RandomState`, which is
//! seeded per process), so every collector, on any machine and in any release,
//! computes the same split of the same list, whatever order it came in.
//!
//! Shards count from 1, as `--shard 1/3` does in the test runners that have the
//! flag; a Kubernetes Indexed Job numbers its pods from 0 in
//! `JOB_COMPLETION_INDEX`, which `--shard-count N` reads (pod `i` runs shard
//! `i + 1`), so one manifest runs unchanged in every pod.

use std::fmt;
use std::str::FromStr;

/// The variable a Kubernetes Indexed Job sets to the pod's index (from 0).
pub const JOB_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// The most shards a fleet may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// Shard `index` of `count` (1 ≤ index ≤ count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard cannot be taken from the flags or the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// The text is not `K/N`.
    #[error("expected K/N with whole numbers, e.g. 1/4 (shard 1 of 4), not {0:?}")]
    Form(String),
    /// N is 0 or too large.
    #[error("the shard count must be from 1 to {MAX_SHARDS}, not {0}")]
    Count(u64),
    /// K is not from 1 to N.
    #[error("the shard must be from 1 to {count} (shards count from 1), not {index}")]
    Index {
        /// The shard asked for.
        index: u64,
        /// How many there are.
        count: u32,
    },
    /// `--shard-count` without the index a Kubernetes Indexed Job sets.
    #[error(
        "--shard-count needs {JOB_INDEX_VAR} (set by a Kubernetes Indexed Job, from 0); or give --shard K/N"
    )]
    NoJobIndex,
    /// The job index is not a number below the count.
    #[error("{JOB_INDEX_VAR} must be a whole number from 0 to {max} for --shard-count {count}, not {value:?}", max = .count - 1)]
    JobIndex {
        /// The variable's value.
        value: String,
        /// The `--shard-count`.
        count: u32,
    },
}

impl Shard {
    /// Shard `index` (from 1) of `count`.
    pub fn new(index: u64, count: u64) -> Result<Self, ShardError> {
        let count = u32::try_from(count)
            .ok()
            .filter(|c| (1..=MAX_SHARDS).contains(c))
            .ok_or(ShardError::Count(count))?;
        let index = u32::try_from(index)
            .ok()
            .filter(|i| (1..=count).contains(i))
            .ok_or(ShardError::Index { index, count })?;
        Ok(Self { index, count })
    }

    /// The shard of a Kubernetes Indexed Job's pod: `--shard-count count` and
    /// the pod's `JOB_COMPLETION_INDEX` (from 0, surrounding spaces ignored).
    pub fn from_job_index(count: u64, job_index: Option<&str>) -> Result<Self, ShardError> {
        // The count is checked first, so its error is the one shown.
        let checked = Self::new(1, count)?;
        let value = job_index.ok_or(ShardError::NoJobIndex)?;
        let bad = || ShardError::JobIndex {
            value: value.to_owned(),
            count: checked.count,
        };
        let index: u64 = value.trim().parse().map_err(|_| bad())?;
        Self::new(index + 1, count).map_err(|_| bad())
    }

    /// The shard from `--shard` or `--shard-count` (clap keeps them apart),
    /// reading the job index from `job_index` only for the latter; none when
    /// neither was given.
    pub fn resolve(
        shard: Option<Shard>,
        shard_count: Option<u64>,
        job_index: impl FnOnce() -> Option<String>,
    ) -> Result<Option<Self>, ShardError> {
        match (shard, shard_count) {
            (Some(shard), _) => Ok(Some(shard)),
            (None, Some(count)) => Self::from_job_index(count, job_index().as_deref()).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Which shard `id` belongs to, from 1.
    pub fn of(id: &str, count: u32) -> u32 {
        let hash = fmix64(fnv1a64(id.as_bytes()));
        let scaled = (u128::from(hash) * u128::from(count)) >> 64;
        // Below `count`, which is a u32: the conversion cannot fail.
        u32::try_from(scaled).unwrap_or(count - 1) + 1
    }

    /// Whether `id` is in this shard.
    pub fn contains(&self, id: &str) -> bool {
        Self::of(id, self.count) == self.index
    }

    /// The servers of `servers` in this shard, in their order.
    pub fn select(&self, servers: Vec<String>) -> Vec<String> {
        servers.into_iter().filter(|id| self.contains(id)).collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = || ShardError::Form(text.to_owned());
        let (index, count) = text.trim().split_once('/').ok_or_else(form)?;
        let number = |part: &str| part.trim().parse::<u64>().map_err(|_| form());
        Self::new(number(index)?, number(count)?)
    }
}

/// The 64-bit FNV-1a hash (offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3): fixed by its definition, so the split never changes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_is_the_published_function() {
        // The FNV test suite's vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_split_is_fixed_and_covers_every_id_once() {
        // Pinned: a change would move servers between running collectors.
        let shards: Vec<u32> = ["srv-0001", "srv-0002", "srv-0003", "srv-0004", "srv-0005"]
            .iter()
            .map(|id| Shard::of(id, 4))
            .collect();
        assert_eq!(shards, [4, 4, 2, 1, 4]);
        let ids: Vec<String> = (0..2000).map(|i| format!("node-{i:05}")).collect();
        let shards: Vec<Vec<String>> = (1..=4)
            .map(|k| Shard::new(k, 4).unwrap().select(ids.clone()))
            .collect();
        let mut union: Vec<String> = shards.concat();
        union.sort();
        assert_eq!(union, ids, "no gap, no overlap");
        for shard in &shards {
            assert!((425..=575).contains(&shard.len()), "{}", shard.len());
        }
        assert!(ids.iter().all(|id| Shard::new(1, 1).unwrap().contains(id)));
    }

    #[test]
    fn k_of_n_parses_and_bad_values_are_named() {
        assert_eq!("2/4".parse(), Shard::new(2, 4));
        assert_eq!(" 1 / 1 ".parse::<Shard>().unwrap().to_string(), "1/1");
        assert_eq!(
            "0/4".parse::<Shard>(),
            Err(ShardError::Index { index: 0, count: 4 })
        );
        assert_eq!(
            "5/4".parse::<Shard>(),
            Err(ShardError::Index { index: 5, count: 4 })
        );
        assert_eq!("1/0".parse::<Shard>(), Err(ShardError::Count(0)));
        assert_eq!("1/100001".parse::<Shard>(), Err(ShardError::Count(100_001)));
        for bad in ["", "1", "1/", "/4", "a/4", "1/4/2", "-1/4", "1.5/4"] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::Form(bad.into())),
                "{bad}"
            );
        }
        let message = "0/4".parse::<Shard>().unwrap_err().to_string();
        assert!(message.contains("from 1 to 4"), "{message}");
    }

    #[test]
    fn an_indexed_jobs_pod_runs_the_shard_after_its_index() {
        let from_env = |value: Option<&str>| {
            let value = value.map(str::to_owned);
            Shard::resolve(None, Some(4), move || value)
        };
        assert_eq!(from_env(Some("0")), Ok(Some(Shard::new(1, 4).unwrap())));
        assert_eq!(from_env(Some("3\n")), Ok(Some(Shard::new(4, 4).unwrap())));
        assert_eq!(from_env(None), Err(ShardError::NoJobIndex));
        for bad in ["4", "-1", "x", ""] {
            assert_eq!(
                from_env(Some(bad)),
                Err(ShardError::JobIndex {
                    value: bad.into(),
                    count: 4
                })
            );
        }
        let message = from_env(Some("4")).unwrap_err().to_string();
        assert!(message.contains("from 0 to 3"), "{message}");
        assert_eq!(
            Shard::resolve(None, Some(0), || Some("0".into())),
            Err(ShardError::Count(0))
        );
        // --shard wins and the environment is not read.
        let given = Shard::new(2, 3).unwrap();
        assert_eq!(
            Shard::resolve(Some(given), None, || panic!("not read")),
            Ok(Some(given))
        );
        assert_eq!(Shard::resolve(None, None, || panic!("not read")), Ok(None));
    }
}

//! `cargo xtask soak [--servers N]` and `cargo xtask fuzz [--seconds N]`: the
//! long forms of two bounded tests that `cargo xtask ci` runs small.
//!
//! - soak: `tests/tests/it/soak.rs` in release with 500 servers (or N) against the
//!   simulator injecting `500=0.1,429=0.1,reset=0.05,truncate=0.05,stall=0.02`;
//!   it prints the faults injected next to the recoveries that survived them.
//! - fuzz: `tests/tests/it/fuzz.rs` in release for N seconds in all (120 by
//!   default), split between its targets; it prints the iterations each ran.
//!
//! Both pass their size through an environment variable the test reads, so the
//! test `cargo test` runs and the long run are the same code.

use crate::shell;

/// The fleet size of `cargo xtask soak`, the figure.
const SOAK_SERVERS: u64 = 500;
/// The duration of `cargo xtask fuzz`, in seconds.
const FUZZ_SECONDS: u64 = 120;

/// Reads `[--flag N]` into a positive number, or the default.
fn number(args: &[&str], flag: &str, default: u64) -> Result<u64, String> {
    match args {
        [] => Ok(default),
        [name, value] if *name == flag => match value.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "{flag} takes a positive whole number, not {value:?}"
            )),
        },
        _ => Err(format!("expected at most `{flag} N`, got {args:?}")),
    }
}

/// Runs the tests of `clouddc-tests`' one test binary whose names contain
/// `filter` (a module path), in release with output shown.
fn run_test(filter: &str, variable: &str, value: u64) -> Result<(), String> {
    let root = shell::workspace_root();
    eprintln!("==> cargo test --release -p clouddc-tests --test it {filter} ({variable}={value})");
    shell::run(
        shell::cargo(&root)
            .args(["test", "--release", "-p", "clouddc-tests", "--test", "it"])
            .args(["--", filter, "--nocapture", "--test-threads", "2"])
            .env(variable, value.to_string()),
    )
}

/// `cargo xtask soak [--servers N]`.
pub fn soak(args: &[&str]) -> Result<(), String> {
    let servers = number(args, "--servers", SOAK_SERVERS)?;
    run_test(
        "soak::every_archive_arrives_intact",
        "CLOUDDC_SOAK_SERVERS",
        servers,
    )
}

/// `cargo xtask fuzz [--seconds N]`.
pub fn fuzz(args: &[&str]) -> Result<(), String> {
    let seconds = number(args, "--seconds", FUZZ_SECONDS)?;
    run_test("fuzz::fuzz_", "CLOUDDC_FUZZ_SECONDS", seconds)
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn reads_the_optional_count() {
        assert_eq!(number(&[], "--servers", 500), Ok(500));
        assert_eq!(number(&["--servers", "20"], "--servers", 500), Ok(20));
        for bad in [
            &["--servers", "0"][..],
            &["--servers", "x"],
            &["--servers"],
            &["--seconds", "5"],
            &["--servers", "5", "extra"],
        ] {
            assert!(number(bad, "--servers", 500).is_err(), "{bad:?}");
        }
    }
}

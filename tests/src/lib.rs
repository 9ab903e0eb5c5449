//! End-to-end and contract tests live in `tests/tests/`; this library holds
//! what the driver programs in `src/bin` share.

pub mod bench_support;

/// The README's Rust example, compiled as a doctest (`cargo test --doc -p
/// clouddc-tests`), so the first code a user copies keeps building.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

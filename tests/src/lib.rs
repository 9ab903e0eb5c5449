//! The end-to-end tests live in one binary, `tests/it/main.rs`; this library
//! only carries the README's example.

/// The README's Rust example, compiled as a doctest (`cargo test --doc -p
/// clouddc-tests`), so the first code a user copies keeps building.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

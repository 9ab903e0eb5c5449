//! Every end-to-end test of the workspace, in one binary, as rust-analyzer's
//! `tests/slow-tests/main.rs`: one link instead of one per file, and one place
//! for what the tests share ([`support`]). Run one theme with its module path,
//! e.g. `cargo test -p clouddc-tests --test it hostile::`.
//!
//! The tests share a process. What is process-wide (the `tracing` subscriber,
//! the `log` logger, the environment, resource limits, peak RSS) is set or
//! measured only in a child process of its own ([`support::child`]); the tests
//! that measure time under load take [`support::heavy`] so they do not run
//! together.

mod support;

mod cli;
mod collect;
mod credentials;
mod fuzz;
mod generated_client;
mod hostile;
mod library_secrets;
mod object;
mod sim;
mod soak;
mod tidy;

//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! Commands:
//! - `ci`: everything CI checks, in order: fmt, clippy, the client-only CLI
//!   build, docs, tests, drift, vendor, packaging and the downstream consumer, contract
//!   suites (which begin with the spec lint).
//! - `drift [--accept]`: compares the generated client, the canonical spec and the
//!   public APIs of `clouddc` and `clouddc-auth` with their reviewed snapshots
//!   (insta assertions in `drift`'s tests, run in a child `cargo test`).
//! - `lint`: lints the spec with `@redocly/cli` (installed into `.tools/`).
//! - `contract`: the contract suites (prism, schemathesis, openapi-diff).
//! - `baseline`: makes the current spec the released baseline of the breaking-change check.
//! - `consumer`: `cargo package` of the publishable crates, then a crate outside
//!   the workspace built from those packages runs a collect against the simulator.
//! - `tools`: installs the pinned external tools into `.tools/`.
//! - `vectors`: regenerates the signing-vector fixture with the vendor's own
//!   signer (the pinned Python SDK, in `.tools/peer-venv`).
//! - `bench [NAME]`: the benchmarks (release builds, against curl, the official
//!   Python SDK, bare reqwest and bare axum); prints a table and writes
//!   `BENCHMARKS.md`. Not part of `ci`: nothing there depends on timing.
//! - `soak [--servers N]`: the fault soak in release with 500 servers (`ci` runs
//!   120 in `cargo test`); prints faults injected versus survived.
//! - `vendor [--latest] [--spec PATH]`: the spec against the official Python SDK
//!   (pinned, or the newest release), with the allow-list of intended differences.
//! - `fuzz [--seconds N]`: the stable-Rust fuzz targets for N seconds (120 by
//!   default; `ci` runs 20 in `cargo test`); prints the iterations.

mod bench;
mod consumer;
mod contract;
mod drift;
mod lint;
mod process;
#[cfg(test)]
mod public_api;
mod shell;
mod soak;
mod tidy;
mod tools;
mod vectors;
mod vendor;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(),
        ["drift"] => drift::run(drift::Mode::Check),
        ["drift", "--accept"] => drift::run(drift::Mode::Accept),
        ["lint"] => lint::run(),
        ["tools"] => tools::install_all(),
        ["consumer"] => consumer::run(),
        ["vectors"] => vectors::run(),
        ["contract"] => contract::run(None),
        ["contract", suite] => contract::run(Some(suite)),
        ["baseline"] => contract::update_baseline(),
        ["bench"] => bench::run(None),
        ["bench", name] => bench::run(Some(name)),
        ["soak", rest @ ..] => soak::soak(rest),
        ["fuzz", rest @ ..] => soak::fuzz(rest),
        ["vendor", rest @ ..] => vendor::run(rest),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <ci | drift [--accept] | lint | contract [SUITE] | baseline | tools | vectors | consumer | bench [download|memory|verify|status|fleet|fleet-all|rerun|object|sim|build] | soak [--servers N] | fuzz [--seconds N] | vendor [--latest] [--spec PATH]>";

/// Everything CI runs. `.ci/run` calls exactly this, and README.md names it.
fn ci() -> Result<(), String> {
    let root = shell::workspace_root();
    let step = |name: &str| eprintln!("\n==> {name}");
    step("cargo fmt --check");
    shell::run(shell::cargo(&root).args(["fmt", "--all", "--check"]))?;
    step("cargo clippy --workspace --all-targets -- -D warnings");
    shell::run(shell::cargo(&root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step(
        "cargo clippy -p clouddc-cli --no-default-features (the client-only build, warnings denied)",
    );
    shell::run(shell::cargo(&root).args([
        "clippy",
        "-p",
        "clouddc-cli",
        "--no-default-features",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("cargo doc --no-deps --workspace (rustdoc warnings denied)");
    shell::run(
        shell::cargo(&root)
            .args(["doc", "--no-deps", "--workspace"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    step("external tools");
    tools::install_all()?;
    step("cargo test --workspace");
    shell::run(shell::cargo(&root).args(["test", "--workspace", "--no-fail-fast"]))?;
    // Once more on its own, uncaptured: cargo test shows a passing test's
    // output to nobody, and the kill test's figures (kills, restarts, exports
    // per server, bytes fetched again) are what the CI log is read for.
    step("the collect kill test again, with its figures");
    shell::run(shell::cargo(&root).args([
        "test",
        "-p",
        "clouddc-tests",
        "--test",
        "it",
        "--",
        "collect::kill::",
        "--nocapture",
    ]))?;
    step("drift");
    drift::run(drift::Mode::Check)?;
    step("vendor (the spec against the official SDK)");
    vendor::run(&[])?;
    step("cargo package, and a consumer built from the packages");
    consumer::run()?;
    step("contract suites");
    contract::run(None)?;
    eprintln!("\nxtask ci: all steps passed");
    Ok(())
}

//! A test re-run alone in a child process of this test binary, for what is
//! process-wide: a `tracing` subscriber or `log` logger, the environment, a
//! resource limit or signal disposition, a peak-RSS figure. The parent builds
//! the child's command (its environment set there, never with `set_var`) and
//! checks how it ended; the child, seeing [`MARK`], runs the test's body.

use std::process::Command;

/// Set in a child's environment to the test it runs.
const MARK: &str = "CLOUDDC_IT_CHILD";

/// The name libtest gives the test `name` of the module `module` (its
/// `module_path!()`): the path without the crate's own name.
fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}

/// Whether this process is a child running the test `name` of `module`.
pub fn is_child(module: &str, name: &str) -> bool {
    std::env::var_os(MARK).is_some_and(|test| test == *test_name(module, name))
}

/// This test binary, set to run only the test `name` of `module`, uncaptured,
/// on one thread, marked as the child. The caller adds what the child needs.
pub fn command(module: &str, name: &str) -> Command {
    let test = test_name(module, name);
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new(exe);
    command
        .args(["--exact", &test, "--nocapture", "--test-threads", "1"])
        .env(MARK, &test);
    command
}

/// Runs a [`command`] to the end; fails unless it exited 0 having run its one
/// test. Returns what it printed, stdout then stderr.
pub fn output(mut command: Command) -> String {
    let output = command.output().expect("the child runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the child failed:\n{text}");
    assert!(
        text.contains("test result: ok. 1 passed"),
        "the child ran no test:\n{text}"
    );
    text
}

#[test]
fn a_test_is_named_by_its_path_below_the_crate() {
    assert_eq!(test_name("it::sim::load", "holds"), "sim::load::holds");
    assert_eq!(test_name("it", "top"), "top");
}

//! The repository stands alone: no tracked file refers to a path outside it
//! (a sibling folder of reference material, a home directory, this or another
//! machine's workspace), so a fresh clone builds, tests and packages by itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// References that can only point outside a clone: each is assembled from two
/// halves so this file does not match itself.
fn forbidden() -> Vec<String> {
    [
        ("../", "shared"),
        ("shared/", "vectors"),
        ("shared/", "peers"),
        ("/wo", "rk/"),
        ("/ho", "me/"),
        ("/ro", "ot/"),
        ("/Us", "ers/"),
    ]
    .iter()
    .map(|(a, b)| format!("{a}{b}"))
    .collect()
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

/// Every tracked file (`git ls-files`), relative to the root.
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git ls-files failed");
    output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .collect()
}

/// The offending `(file, line, pattern)` of one file's text.
fn outside_references(file: &Path, text: &str, patterns: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        for pattern in patterns {
            if line.contains(pattern.as_str()) {
                found.push(format!("{}:{}: {pattern}", file.display(), number + 1));
            }
        }
    }
    found
}

#[test]
fn no_tracked_file_refers_outside_the_repository() {
    let root = repository_root();
    let patterns = forbidden();
    let files = tracked_files(&root);
    assert!(files.len() > 50, "only {} tracked files?", files.len());
    let mut found = Vec::new();
    for file in &files {
        // Binary files hold no paths worth checking.
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        found.extend(outside_references(file, &text, &patterns));
    }
    assert!(
        found.is_empty(),
        "tracked files refer to paths outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_each_kind_of_outside_path() {
    let patterns = forbidden();
    let file = Path::new("x.rs");
    for text in [
        "let p = root.join(\"../sha\u{72}ed/vectors/sign_vectors.json\");",
        "see /wo\u{72}k/main/crates",
        "cache in /ho\u{6d}e/me/.cargo",
        "HOME=/ro\u{6f}t/.huaweicloud",
    ] {
        assert!(
            !outside_references(file, text, &patterns).is_empty(),
            "{text:?} passed"
        );
    }
    let inside = "crates/clouddc/tests/fixtures/sign_vectors.json and ../../etc/passwd";
    assert!(outside_references(file, inside, &patterns).is_empty());
}

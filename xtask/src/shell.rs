//! Running commands, with the workspace root as the anchor for every path.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root, found from this crate's manifest so `cargo xtask` works from
/// any directory.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Where cargo puts what it builds, as `cargo metadata` says: `<root>/target`
/// unless `CARGO_TARGET_DIR`, a config file or sccache-style setup moved it.
/// Asked once per run; every built binary is looked up under it.
pub fn target_dir() -> PathBuf {
    static TARGET: OnceLock<PathBuf> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let root = workspace_root();
            let output = cargo(&root)
                .args([
                    "metadata",
                    "--format-version",
                    "1",
                    "--no-deps",
                    "--offline",
                ])
                .output();
            output
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| target_directory(&String::from_utf8_lossy(&o.stdout)))
                .unwrap_or_else(|| root.join("target"))
        })
        .clone()
}

/// `target_directory` from `cargo metadata`'s JSON: a top-level string, with
/// `\\` and `\"` the only escapes a path can need.
fn target_directory(metadata: &str) -> Option<PathBuf> {
    let key = "\"target_directory\":\"";
    let rest = &metadata[metadata.find(key)? + key.len()..];
    let mut path = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(path)),
            '\\' => path.push(chars.next()?),
            other => path.push(other),
        }
    }
    None
}

/// `cargo` (the one running us, when known) in the workspace root.
pub fn cargo(root: &PathBuf) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root);
    command
}

/// Runs a command to completion; a non-zero exit is an error naming the command.
pub fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_target_directory_from_cargo_metadata() {
        let json =
            r#"{"packages":[],"target_directory":"/tmp/with \"quote\" and \\ slash","version":1}"#;
        assert_eq!(
            target_directory(json),
            Some(PathBuf::from(r#"/tmp/with "quote" and \ slash"#))
        );
        assert_eq!(target_directory(r#"{"version":1}"#), None);
    }

    #[test]
    fn the_target_directory_is_cargos() {
        // Whatever cargo reports, it is where this very test binary was built.
        let exe = std::env::current_exe().expect("test binary path");
        assert!(
            exe.starts_with(target_dir()),
            "{} is not under {}",
            exe.display(),
            target_dir().display()
        );
    }
}

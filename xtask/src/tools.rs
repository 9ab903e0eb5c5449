//! The pinned external tools, installed on first use into the git-ignored `.tools/`.

use std::path::PathBuf;
use std::process::Command;

use crate::shell;

/// npm packages and their exact versions.
pub const NPM_PACKAGES: &[(&str, &str)] = &[("@redocly/cli", "2.77.0")];

/// The folder npm tools are installed into.
pub fn npm_prefix() -> PathBuf {
    shell::workspace_root().join(".tools/npm")
}

/// The path of an installed npm binary.
pub fn npm_bin(name: &str) -> PathBuf {
    npm_prefix().join("node_modules/.bin").join(name)
}

/// Installs every pinned tool that is missing or at another version.
pub fn install_all() -> Result<(), String> {
    install_npm()
}

fn installed_npm_version(package: &str) -> Option<String> {
    let manifest = npm_prefix()
        .join("node_modules")
        .join(package)
        .join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let marker = "\"version\":";
    let start = text.find(marker)? + marker.len();
    let rest = text[start..].trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn install_npm() -> Result<(), String> {
    let missing: Vec<String> = NPM_PACKAGES
        .iter()
        .filter(|(name, version)| installed_npm_version(name).as_deref() != Some(*version))
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let prefix = npm_prefix();
    std::fs::create_dir_all(&prefix)
        .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    eprintln!("installing {} into {}", missing.join(" "), prefix.display());
    shell::run(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--save-exact"])
            .args(&missing),
    )
}

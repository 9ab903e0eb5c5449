//! The pinned external tools, installed on first use into the git-ignored `.tools/`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::shell;

/// npm packages and their exact versions.
/// prism 5.14.2 is the last release that runs on Node 20.
pub const NPM_PACKAGES: &[(&str, &str)] = &[
    ("@redocly/cli", "2.77.0"),
    ("@stoplight/prism-cli", "5.14.2"),
    ("openapi-diff", "0.24.1"),
];

/// PyPI packages for the contract suites, installed into `.tools/venv`.
pub const PIP_PACKAGES: &[(&str, &str)] = &[("schemathesis", "4.32.5")];

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
    install_npm()?;
    install_pip()
}

/// The Python virtual environment of the contract tools.
pub fn venv() -> PathBuf {
    shell::workspace_root().join(".tools/venv")
}

/// The path of a console script installed in the venv.
pub fn venv_bin(name: &str) -> PathBuf {
    venv().join("bin").join(name)
}

fn installed_pip_version(package: &str) -> Option<String> {
    let output = Command::new(venv_bin("python"))
        .args(["-m", "pip", "show", package])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("Version: "))
        .map(|v| v.trim().to_string())
}

/// Creates the venv at `venv` unless it exists; returns its Python.
pub(crate) fn ensure_venv(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("creating {}", venv.display());
        shell::run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    Ok(python)
}

/// `python -m pip install --quiet ARGS`, quietly, into `python`'s venv.
pub(crate) fn pip_install(python: &Path, args: &[&OsStr]) -> Result<(), String> {
    shell::run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(args),
    )
}

fn install_pip() -> Result<(), String> {
    let python = ensure_venv(&venv())?;
    let missing: Vec<String> = PIP_PACKAGES
        .iter()
        .filter(|(name, version)| installed_pip_version(name).as_deref() != Some(*version))
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {} into {}", missing.join(" "), venv().display());
    let args: Vec<&OsStr> = missing.iter().map(OsStr::new).collect();
    pip_install(&python, &args)
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

/// The official Python SDK peer (`../shared/peers/huaweicloud-python`), in its
/// own venv `.tools/peer-venv` so its pins never meet the contract tools'.
pub struct Peer {
    /// The venv's Python.
    pub python: PathBuf,
    /// `peer_client.py`.
    pub script: PathBuf,
}

/// Creates and fills the peer's venv on first use (reused once its packages import).
pub fn install_peer() -> Result<Peer, String> {
    let root = shell::workspace_root();
    let peers = root.join("../shared/peers/huaweicloud-python");
    let script = peers.join("peer_client.py");
    if !script.exists() {
        return Err(format!("the Python peer is missing: {}", script.display()));
    }
    let venv = root.join(".tools/peer-venv");
    let python = ensure_venv(&venv)?;
    let imports = Command::new(&python)
        .args(["-c", "import huaweicloudsdkcore, huaweicloudsdkclouddc"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !imports {
        eprintln!("installing the official Python SDK into {}", venv.display());
        let requirements = peers.join("requirements.txt");
        pip_install(&python, &[OsStr::new("-r"), requirements.as_os_str()])?;
    }
    Ok(Peer { python, script })
}

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

/// PyPI packages for the contract suites and the object-storage tests,
/// installed into `.tools/venv`: moto's S3 server (`moto_server`, bound to
/// 127.0.0.1 by `tests/tests/object_*.rs`) and boto3, the independent reader
/// that lists and reads the objects back (`tools/python/s3_peer.py`).
pub const PIP_PACKAGES: &[(&str, &str)] = &[
    ("schemathesis", "4.32.5"),
    ("moto[server]", "5.2.1"),
    ("boto3", "1.43.11"),
];

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
    // `moto[server]` is shown by pip as `moto`.
    let package = package.split('[').next().unwrap_or(package);
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

/// The project's Python scripts on the official SDK (`tools/python/`): the
/// peer client and the signing-vector generator, with their pinned
/// requirements.
pub fn python_dir() -> PathBuf {
    shell::workspace_root().join("tools/python")
}

/// The official Python SDK peer (`tools/python/peer_client.py`), in its own
/// venv `.tools/peer-venv` so its pins never meet the contract tools'.
pub struct Peer {
    /// The venv's Python.
    pub python: PathBuf,
    /// `peer_client.py`.
    pub script: PathBuf,
}

/// The venv of the official SDK, created and filled from
/// `tools/python/requirements.txt` on first use, reinstalled when the pins
/// there change; returns its Python.
pub fn sdk_python() -> Result<PathBuf, String> {
    let requirements = python_dir().join("requirements.txt");
    let pins = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let venv = shell::workspace_root().join(".tools/peer-venv");
    let python = ensure_venv(&venv)?;
    // The requirements installed last, so a changed pin installs again.
    let stamp = venv.join("clouddc-requirements.txt");
    let current = std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == pins);
    if !current {
        eprintln!("installing the official Python SDK into {}", venv.display());
        pip_install(&python, &[OsStr::new("-r"), requirements.as_os_str()])?;
        std::fs::write(&stamp, &pins)
            .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    Ok(python)
}

/// The peer client, with the SDK's venv ready.
pub fn install_peer() -> Result<Peer, String> {
    Ok(Peer {
        python: sdk_python()?,
        script: python_dir().join("peer_client.py"),
    })
}

//! `cargo xtask vendor [--latest] [--spec PATH]`: the vendor oracle.
//!
//! Compares every operation and schema of the spec with the official Python
//! SDK, read from the installed package (`xtask/vendor/compare_sdk.py`): method,
//! path, parameters, body, response headers and fields with their types. The
//! intended differences, each with its reason, are in `xtask/vendor/allowed.json`;
//! any other difference fails. The pinned SDK goes into the contract tools' venv;
//! `--latest` installs the newest release into its own venv instead, to see what
//! the vendor changed since (the first step of a spec update). `--spec` checks
//! another copy of the spec.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{shell, tools};

/// The official SDK and the release the spec was last reconciled with.
pub const SDK: (&str, &str) = ("huaweicloudsdkclouddc", "3.1.219");

/// What to compare against.
struct Options {
    latest: bool,
    spec: PathBuf,
}

fn parse(args: &[&str]) -> Result<Options, String> {
    let mut options = Options {
        latest: false,
        spec: shell::workspace_root().join(clouddc_codegen::SPEC_PATH),
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--latest" => options.latest = true,
            "--spec" => {
                let path = rest.next().ok_or("--spec needs a path")?;
                options.spec = PathBuf::from(path);
            }
            other => return Err(format!("vendor: unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// The installed version of the SDK in the venv of `python`, if any.
fn installed(python: &Path) -> Option<String> {
    let output = Command::new(python)
        .args([
            "-c",
            &format!(
                "import importlib.metadata as m; print(m.version({:?}))",
                SDK.0
            ),
        ])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The Python of the venv holding the pinned SDK, installed on first use.
pub fn pinned_python() -> Result<PathBuf, String> {
    install(false)
}

/// The Python of a venv holding the SDK: the pinned release, or the newest.
fn install(latest: bool) -> Result<PathBuf, String> {
    let root = shell::workspace_root();
    if latest {
        let python = tools::ensure_venv(&root.join(".tools/vendor-latest"))?;
        eprintln!("installing the newest {} release", SDK.0);
        tools::pip_install(&python, &["--upgrade".as_ref(), SDK.0.as_ref()])?;
        return Ok(python);
    }
    let python = tools::ensure_venv(&tools::venv())?;
    if installed(&python).as_deref() != Some(SDK.1) {
        let pin = format!("{}=={}", SDK.0, SDK.1);
        eprintln!("installing {pin} into {}", tools::venv().display());
        tools::pip_install(&python, &[pin.as_ref()])?;
    }
    Ok(python)
}

/// Runs the comparison; fails on any difference the allow-list does not give a
/// reason for.
pub fn run(args: &[&str]) -> Result<(), String> {
    let options = parse(args)?;
    let root = shell::workspace_root();
    let text = std::fs::read_to_string(&options.spec)
        .map_err(|e| format!("cannot read {}: {e}", options.spec.display()))?;
    let canonical = clouddc_codegen::canonical_spec(&text).map_err(|e| e.to_string())?;
    let python = install(options.latest)?;
    let mut child = Command::new(&python)
        .arg(root.join("xtask/vendor/compare_sdk.py"))
        .arg(root.join("xtask/vendor/allowed.json"))
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    child
        .stdin
        .take()
        .ok_or("the comparison's stdin is closed")?
        .write_all(canonical.as_bytes())
        .map_err(|e| format!("cannot send the spec to the comparison: {e}"))?;
    let status = child
        .wait()
        .map_err(|e| format!("the comparison did not finish: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the official SDK ({}) beyond xtask/vendor/allowed.json",
            options.spec.display(),
            if options.latest {
                "newest release"
            } else {
                SDK.1
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let o = parse(&["--latest", "--spec", "/tmp/copy.yaml"]).unwrap();
        assert!(o.latest);
        assert_eq!(o.spec, PathBuf::from("/tmp/copy.yaml"));
        assert!(!parse(&[]).unwrap().latest);
        assert!(parse(&["--spec"]).is_err());
        assert!(parse(&["--what"]).is_err());
    }
}

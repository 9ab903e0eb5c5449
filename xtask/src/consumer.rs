//! The downstream check: a crate outside the workspace builds from the
//! packaged `.crate` files (unpacked and wired in with `[patch.crates-io]`,
//! as a vendored copy would be, never a path into the workspace's sources)
//! and runs a collect against the packaged simulator.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::shell;

/// The packages the consumer needs, in dependency order.
const PACKAGES: [&str; 4] = ["clouddc-codegen", "clouddc-auth", "clouddc", "clouddc-sim"];

/// Every package `cargo package --workspace` makes here: the consumer's and the CLI.
const PACKAGED: [&str; 5] = [
    "clouddc-codegen",
    "clouddc-auth",
    "clouddc",
    "clouddc-sim",
    "clouddc-cli",
];

/// The consumer's manifest: its own workspace, registry versions only, each
/// patched to the unpacked package.
fn manifest(vendor: &Path, version: &str) -> String {
    let mut text = format!(
        "[package]\nname = \"clouddc-consumer\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Not a member of the clouddc workspace: it sees only the packages.\n[workspace]\n\n\
         [dependencies]\nclouddc = \"{version}\"\nclouddc-sim = \"{version}\"\n\
         tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\nfutures = \"0.3\"\n\n\
         [patch.crates-io]\n"
    );
    for name in PACKAGES {
        let dir = vendor.join(format!("{name}-{version}"));
        text.push_str(&format!(
            "{name} = {{ path = {:?} }}\n",
            dir.display().to_string()
        ));
    }
    text
}

/// What the consumer does: the builder, a generated type, and `collect`.
const MAIN_RS: &str = r#"use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = clouddc_sim::SimConfig::default();
    config.tokens = vec![clouddc::Secret::new("consumer-token")];
    config.export_duration = std::time::Duration::from_secs(1);
    let sim = clouddc_sim::Simulator::start(config).await?;
    let client = clouddc::Client::builder()
        .endpoint(sim.base_url())
        .project_id(clouddc_sim::DEFAULT_PROJECT_ID)
        .token("consumer-token")
        .build()?;
    let task: clouddc::types::ExportTask = client.export("srv-0001").await?;
    println!("export {} started", task.export_id);
    let dir = std::env::temp_dir().join(format!("clouddc-consumer-{}", std::process::id()));
    let options = clouddc::CollectOptions { output_dir: dir.clone(), ..Default::default() };
    let mut outcomes = client.collect(vec!["srv-0002".into()], options, None);
    let mut collected = 0;
    while let Some(outcome) = outcomes.next().await {
        let archive = outcome.result?;
        println!("{}: {} bytes, sha256 {}", outcome.server, archive.bytes, archive.sha256);
        collected += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
    if collected != 1 {
        return Err(format!("collected {collected} servers, expected 1").into());
    }
    println!("consumer: collect completed against the packaged simulator");
    Ok(())
}
"#;

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Removes cargo's unpacked copies of this workspace's packages from the
/// local registries `cargo package --workspace` verifies against.
///
/// Cargo unpacks that registry's `.crate` files under
/// `$CARGO_HOME/registry/src/-<hash>/`, the hash of the registry's path, and
/// never unpacks a name and version again once it is there. So a second
/// `cargo package` from the same checkout, after a change of the code but not
/// of the version, verified `clouddc` against the first run's
/// `clouddc-codegen` (a fresh machine has no such copy; this one failed on
/// it). Only directories of our own names, in registries named by a hash
/// (crates.io's are named after their host), are removed. Their compiled
/// artifacts in the target directory are stale in the same way (cargo never
/// rebuilds a registry crate whose version it has built), so `run` cleans
/// those too.
fn forget_unpacked_packages(version: &str) -> Result<(), String> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".cargo"),
            None => return Ok(()),
        },
    };
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in PACKAGED {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.exists() {
                std::fs::remove_dir_all(&unpacked)
                    .map_err(|e| format!("cannot remove {}: {e}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}

/// Packages the publishable crates (`cargo package --workspace`, each verified
/// by building from its own contents), then builds and runs the consumer.
pub fn run() -> Result<(), String> {
    let root = shell::workspace_root();
    forget_unpacked_packages(env!("CARGO_PKG_VERSION"))?;
    let mut clean = shell::cargo(&root);
    clean.arg("clean");
    for name in PACKAGED {
        clean.args(["-p", name]);
    }
    shell::run(&mut clean)?;
    shell::run(shell::cargo(&root).args([
        "package",
        "--workspace",
        "--exclude",
        "xtask",
        "--exclude",
        "clouddc-tests",
        "--exclude",
        "clouddc-drivers",
    ]))?;
    let target = shell::target_dir();
    let version = env!("CARGO_PKG_VERSION");
    let consumer: PathBuf = target.join("consumer");
    let vendor = consumer.join("vendor");
    let _ = std::fs::remove_dir_all(&consumer);
    std::fs::create_dir_all(consumer.join("src")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&vendor).map_err(|e| e.to_string())?;
    for name in PACKAGES {
        let file = target
            .join("package")
            .join(format!("{name}-{version}.crate"));
        shell::run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&file)
                .arg("-C")
                .arg(&vendor),
        )?;
    }
    write(&consumer.join("Cargo.toml"), &manifest(&vendor, version))?;
    write(&consumer.join("src/main.rs"), MAIN_RS)?;
    // The workspace's lock pins the same versions, so nothing new is fetched.
    std::fs::copy(root.join("Cargo.lock"), consumer.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    shell::run(
        shell::cargo(&consumer)
            .arg("run")
            .arg("--quiet")
            .arg("--manifest-path")
            .arg(consumer.join("Cargo.toml"))
            .arg("--target-dir")
            // The workspace's own target directory: the dependencies are built already.
            .arg(&target),
    )
}

//! `clouddc sim`: the simulator served on its own until SIGINT or SIGTERM.
//! (The one `--simulate` embeds is [`crate::embedded`].)

use std::collections::BTreeMap;
use std::io::Write;

use clouddc_sim::{Dialect, FaultSpec, ServerExports, SimConfig, SimStats, Simulator};

use crate::args::SimArgs;
use crate::context::Context;
use crate::embedded::DEFAULT_PROJECT;
use crate::exit::{CliError, Exit, chain};
use crate::interrupt;
use crate::settings::SimulatorSettings;

/// The simulator's settings from `clouddc sim`'s flags and the connection
/// flags it reads in the server's role; a bad value is a configuration error
/// naming the flag.
fn config(args: SimArgs, accepts: SimulatorSettings) -> Result<SimConfig, CliError> {
    let mut config = SimConfig {
        addr: args.addr,
        project_id: accepts
            .project_id
            .unwrap_or_else(|| DEFAULT_PROJECT.to_owned()),
        tokens: accepts.token.into_iter().collect(),
        ak_sk: accepts.ak_sk.into_iter().collect(),
        export_duration: args.export_seconds,
        archive_bytes: args.archive_bytes,
        ..SimConfig::default()
    };
    config.dialect = args
        .dialect
        .parse::<Dialect>()
        .map_err(|e| CliError::Config(format!("invalid --dialect: {e}")))?;
    config.faults = args
        .faults
        .parse::<FaultSpec>()
        .map_err(|e| CliError::Config(format!("invalid --faults: {e}")))?;
    config.seed = args.seed;
    config.rate_limit = args.rate_limit;
    config.latency = args.latency;
    if let Some(count) = args.servers {
        if count > SimConfig::MAX_INVENTORY {
            return Err(CliError::Config(format!(
                "invalid --servers {count}: at most {}",
                SimConfig::MAX_INVENTORY
            )));
        }
        config = config.with_inventory(count);
    }
    if let Some(ttl) = args.export_ttl {
        config.task_ttl = ttl;
    }
    if let Some(ttl) = args.credential_ttl {
        config.credential_ttl = ttl;
    }
    config.tls = args.tls;
    Ok(config)
}

/// Serves until SIGINT or SIGTERM. Stdout carries exactly two lines, for
/// scripts: `listening on URL` first, once the port is bound, and `stats
/// {JSON}` last, what the simulator served.
pub async fn run(
    args: SimArgs,
    accepts: SimulatorSettings,
    context: &Context,
) -> Result<Exit, CliError> {
    let config = config(args, accepts)?;
    let summary = format!(
        "simulator serving project {} ({} dialect, faults: {}, exports take {:?}, archives {} bytes); Ctrl-C stops it",
        crate::text::clean(&config.project_id),
        config.dialect,
        config.faults,
        config.export_duration,
        config.archive_bytes,
    );
    // Listen for signals before announcing the address: a harness that stops
    // us right after reading the line must not kill us before the stats line.
    let mut signals = interrupt::Listener::install();
    let handle = Simulator::start(config)
        .await
        .map_err(|e| CliError::Simulator(chain(&e)))?;
    // The CA's file lives as long as the simulator: removed when this returns.
    let ca_file = match handle.tls_authority() {
        Some(authority) => Some(write_ca(&authority.ca_pem)?),
        None => None,
    };
    print_line(&format!("listening on {}", handle.base_url()))?;
    context.inform(&summary);
    if let Some(file) = &ca_file {
        let path = crate::text::clean(&file.path().display().to_string());
        context.inform(&format!(
            "HTTPS with a certificate signed by the CA in {path}: clients trust it with --ca-bundle {path}"
        ));
    }
    let signal = signals.recv().await;
    tracing::info!(?signal, "stopping the simulator");
    // Read before shutting down, which consumes the handle; requests still in
    // flight when the signal came may be missing from the counts.
    let stats = handle.stats();
    let exports = handle.exports_by_server();
    handle.shutdown().await;
    print_line(&format!("stats {}", stats_json(&stats, &exports)))?;
    // Being stopped is how this command ends: a success.
    Ok(Exit::Success)
}

/// The CA's PEM in a new temporary file.
fn write_ca(pem: &str) -> Result<tempfile::NamedTempFile, CliError> {
    let mut file = tempfile::Builder::new()
        .prefix("clouddc-sim-ca-")
        .suffix(".pem")
        .tempfile()
        .map_err(CliError::Output)?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.flush())
        .map_err(CliError::Output)?;
    Ok(file)
}

/// The stats as one line of JSON, with the export calls per server under
/// `exports_by_server`.
fn stats_json(stats: &SimStats, exports: &BTreeMap<String, ServerExports>) -> String {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        #[serde(flatten)]
        stats: &'a SimStats,
        exports_by_server: &'a BTreeMap<String, ServerExports>,
    }
    // Serialising plain integers and strings cannot fail; an empty object keeps
    // the line parseable if it ever did.
    serde_json::to_string(&Line {
        stats,
        exports_by_server: exports,
    })
    .unwrap_or_else(|_| "{}".into())
}

/// Writes one line on stdout and flushes it: the reader may be a pipe that
/// waits for it.
fn print_line(line: &str) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::args::{Cli, Command};
    use crate::settings::Settings;

    /// `clouddc sim ARGS` as clap parses it and the settings resolve it.
    fn parsed(args: &[&str]) -> (SimArgs, SimulatorSettings) {
        let argv = [&["clouddc", "sim"][..], args].concat();
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let accepts = Settings::resolve(&cli.connection, &matches)
            .unwrap()
            .simulator()
            .unwrap();
        match cli.command {
            Command::Sim(args) => (args, accepts),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_flags_defaults_are_the_libraries() {
        let (args, accepts) = parsed(&["--token", "sentinel-sim-token"]);
        let config = config(args, accepts).unwrap();
        let default = SimConfig::default();
        assert_eq!(config.addr.ip(), default.addr.ip());
        assert_eq!(config.project_id, default.project_id);
        assert_eq!(config.export_duration, default.export_duration);
        assert_eq!(config.archive_bytes, default.archive_bytes);
        assert_eq!(config.dialect, default.dialect);
        assert_eq!(config.faults, default.faults);
        assert_eq!(config.seed, default.seed);
        assert_eq!(config.rate_limit, default.rate_limit);
        assert_eq!(config.task_ttl, default.task_ttl);
    }

    #[test]
    fn flags_map_onto_the_config() {
        let (args, accepts) = parsed(&[
            "--token",
            "sentinel-sim-token",
            "--ak",
            "AK1",
            "--sk",
            "sentinel-sim-sk",
            "--project-id",
            "p9",
            "--export-seconds",
            "1.5",
            "--archive-bytes",
            "4096",
            "--dialect",
            "example",
            "--faults",
            "500=0.5",
            "--seed",
            "7",
            "--rate-limit",
            "10",
            "--export-ttl",
            "2.5",
        ]);
        let config = config(args, accepts).unwrap();
        assert_eq!(config.tokens.len(), 1);
        assert_eq!(config.ak_sk[0].0, "AK1");
        assert_eq!(config.project_id, "p9");
        assert_eq!(config.export_duration, Duration::from_millis(1500));
        assert_eq!(config.archive_bytes, 4096);
        assert_eq!(config.dialect, Dialect::Example);
        assert_eq!(config.faults.to_string(), "500=0.5");
        assert_eq!(config.seed, 7);
        assert_eq!(config.rate_limit, Some(10.0));
        assert_eq!(config.task_ttl, Duration::from_millis(2500));
        let debug = format!("{config:?}");
        assert!(!debug.contains("sentinel"), "{debug}");
    }

    #[test]
    fn bad_values_are_configuration_errors_naming_the_flag() {
        for (extra, flag) in [
            (["--dialect", "klingon"], "--dialect"),
            (["--faults", "500=lots"], "--faults"),
        ] {
            let (args, accepts) = parsed(&[&["--token", "t"][..], &extra].concat());
            match config(args, accepts) {
                Err(CliError::Config(text)) => {
                    assert!(text.contains(flag), "{text}");
                    assert!(!text.contains('\n'), "{text}");
                }
                other => panic!("{flag}: {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn the_minimum_archive_size_is_served_exactly() {
        // The longest ids the service allows make the largest smallest archive.
        let layout = clouddc_sim::ArchiveLayout::new(
            u64::MAX,
            &"s".repeat(128),
            &"e".repeat(128),
            crate::args::MIN_ARCHIVE_BYTES,
        );
        assert_eq!(layout.len(), crate::args::MIN_ARCHIVE_BYTES);
    }
}

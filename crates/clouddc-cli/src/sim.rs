//! The simulator, two ways: served on its own by `clouddc sim`, or embedded in
//! the process by `--simulate` so that the README's first command needs no
//! account, no endpoint and no second terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use clouddc::{ClientBuilder, Secret};
use clouddc_sim::{Dialect, FaultSpec, ServerExports, SimConfig, SimHandle, SimStats, Simulator};

use crate::args::SimArgs;
use crate::commands::Context;
use crate::exit::{CliError, Exit, chain};
use crate::interrupt;

/// The project a simulator serves unless `--project-id` says otherwise.
pub const DEFAULT_PROJECT: &str = clouddc_sim::DEFAULT_PROJECT_ID;

/// How long an export takes on the embedded simulator: long enough to show the
/// waiting phase, short enough for a demo.
const EMBEDDED_EXPORT: Duration = Duration::from_secs(2);
/// How large the embedded simulator's archives are.
const EMBEDDED_ARCHIVE_BYTES: u64 = 256 * 1024;

/// A simulator running inside this process for `--simulate`; stopped when
/// dropped.
pub struct Embedded {
    handle: SimHandle,
    /// A token made up for this run: the simulator accepts it and the client
    /// sends it. It lives only in this process and is never printed.
    token: Secret,
}

impl Embedded {
    /// Starts the simulator on a free port of 127.0.0.1, serving `project` (or
    /// [`DEFAULT_PROJECT`]).
    pub async fn start(project: Option<&str>) -> Result<Self, CliError> {
        let token = random_token();
        let config = SimConfig {
            project_id: project.unwrap_or(DEFAULT_PROJECT).to_owned(),
            tokens: vec![token.clone()],
            export_duration: EMBEDDED_EXPORT,
            archive_bytes: EMBEDDED_ARCHIVE_BYTES,
            ..SimConfig::default()
        };
        let handle = Simulator::start(config)
            .await
            .map_err(|e| CliError::Simulator(chain(&e)))?;
        Ok(Self { handle, token })
    }

    /// The line telling the user that requests go to the embedded simulator.
    pub fn describe(&self) -> String {
        format!(
            "running against the embedded simulator at {} (project {}, exports take {} s, archives {} KiB)",
            self.handle.base_url(),
            self.handle.project_id(),
            EMBEDDED_EXPORT.as_secs(),
            EMBEDDED_ARCHIVE_BYTES / 1024,
        )
    }

    /// A client builder pointed at the simulator, with its project and token.
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::new()
            .endpoint(self.handle.base_url())
            .project_id(self.handle.project_id())
            .token(self.token.clone())
    }
}

/// A fresh 128-bit random token, as hex.
fn random_token() -> Secret {
    Secret::new(format!("{:032x}", rand::random::<u128>()))
}

/// The simulator's settings from `clouddc sim`'s flags; a bad value is a
/// configuration error naming the flag.
fn config(args: SimArgs) -> Result<SimConfig, CliError> {
    let mut config = SimConfig {
        addr: args.addr,
        project_id: args.project_id,
        tokens: args.tokens.into_iter().map(Secret::new).collect(),
        ..SimConfig::default()
    };
    // clap makes --ak and --sk require each other.
    if let (Some(ak), Some(sk)) = (args.ak, args.sk) {
        config.ak_sk.push((ak, Secret::new(sk)));
    }
    if config.tokens.is_empty() && config.ak_sk.is_empty() {
        // A simulator that accepts nothing is useless, and one that makes up a
        // credential would have to print it.
        return Err(CliError::Config(
            "the simulator needs a credential to accept: pass --token TOKEN or --ak AK --sk SK"
                .into(),
        ));
    }
    if config.tokens.iter().any(Secret::is_empty) {
        return Err(CliError::Config("--token must not be empty".into()));
    }
    config.export_duration = Duration::try_from_secs_f64(args.export_seconds).map_err(|_| {
        CliError::Config(format!(
            "invalid --export-seconds {}: expected a number of seconds, 0 or more",
            args.export_seconds
        ))
    })?;
    config.archive_bytes = args.archive_bytes;
    if let Some(ttl) = args.export_ttl {
        config.task_ttl = Duration::try_from_secs_f64(ttl).map_err(|_| {
            CliError::Config(format!(
                "invalid --export-ttl {ttl}: expected a number of seconds, 0 or more"
            ))
        })?;
    }
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
    Ok(config)
}

/// `clouddc sim`: serves until SIGINT or SIGTERM. Stdout carries exactly two
/// lines, for scripts: `listening on URL` first, once the port is bound, and
/// `stats {JSON}` last, what the simulator served.
pub async fn serve(args: SimArgs, context: &Context) -> Result<Exit, CliError> {
    let config = config(args)?;
    let summary = format!(
        "simulator serving project {} ({} dialect, faults: {}, exports take {:?}, archives {} bytes); Ctrl-C stops it",
        config.project_id,
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
    print_line(&format!("listening on {}", handle.base_url()))?;
    context.inform(&summary);
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
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    /// `clouddc sim --token sentinel-sim-token` with every default, as clap
    /// parses it.
    fn args() -> SimArgs {
        let cli = Cli::try_parse_from(["clouddc", "sim", "--token", "sentinel-sim-token"]).unwrap();
        match cli.command {
            Command::Sim(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_flags_defaults_are_the_libraries() {
        let config = config(args()).unwrap();
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
        let config = config(SimArgs {
            ak: Some("AK1".into()),
            sk: Some("sentinel-sim-sk".into()),
            export_seconds: 1.5,
            archive_bytes: 4096,
            dialect: "example".into(),
            faults: "500=0.5".into(),
            seed: 7,
            rate_limit: Some(10.0),
            export_ttl: Some(2.5),
            ..args()
        })
        .unwrap();
        assert_eq!(config.task_ttl, Duration::from_millis(2500));
        assert_eq!(config.tokens.len(), 1);
        assert_eq!(config.ak_sk[0].0, "AK1");
        assert_eq!(config.export_duration, Duration::from_millis(1500));
        assert_eq!(config.archive_bytes, 4096);
        assert_eq!(config.dialect, Dialect::Example);
        assert_eq!(config.faults.to_string(), "500=0.5");
        assert_eq!(config.seed, 7);
        assert_eq!(config.rate_limit, Some(10.0));
        let debug = format!("{config:?}");
        assert!(!debug.contains("sentinel"), "{debug}");
    }

    #[test]
    fn bad_values_are_configuration_errors_naming_the_flag() {
        let cases = [
            (
                SimArgs {
                    tokens: vec![],
                    ..args()
                },
                "--token",
            ),
            (
                SimArgs {
                    dialect: "klingon".into(),
                    ..args()
                },
                "--dialect",
            ),
            (
                SimArgs {
                    faults: "500=lots".into(),
                    ..args()
                },
                "--faults",
            ),
            (
                SimArgs {
                    export_seconds: -1.0,
                    ..args()
                },
                "--export-seconds",
            ),
        ];
        for (args, flag) in cases {
            match config(args) {
                Err(CliError::Config(text)) => {
                    assert!(text.contains(flag), "{text}");
                    assert!(!text.contains('\n'), "{text}");
                }
                other => panic!("{flag}: {:?}", other.map(|_| ())),
            }
        }
    }

    #[tokio::test]
    async fn embedded_simulator_serves_its_own_token() {
        let embedded = Embedded::start(None).await.unwrap();
        let line = embedded.describe();
        assert!(line.contains("http://127.0.0.1:"), "{line}");
        assert!(!line.contains(embedded.token.expose()), "{line}");
        let client = embedded.client_builder().build().unwrap();
        let task = client.export("srv-0001").await.unwrap();
        assert!(!task.export_id.is_empty());
    }
}

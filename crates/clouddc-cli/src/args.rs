//! The command line, as clap parses it.
//!
//! Connection flags belong to the top level only (`clouddc [GLOBAL] logs ...`):
//! `clouddc sim` has flags of the same names that configure the simulator, and
//! clap cannot have both be global. Output flags are global, so `-v` works
//! anywhere.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, Parser, Subcommand, ValueEnum};
use clouddc::config::env;

/// Pull BMC/OS log bundles off Huawei Cloud CloudDC physical servers: export,
/// wait and download, for one server or a fleet.
#[derive(Debug, Parser)]
#[command(name = "clouddc", version, max_term_width = 100)]
#[command(after_help = AFTER_HELP)]
pub struct Cli {
    /// Where requests go and who sends them.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How results and diagnostics are shown.
    #[command(flatten)]
    pub output: OutputArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_HELP: &str = "\
Exit status: 0 when everything succeeded, 1 when some server or request failed,
2 for usage or configuration errors, 130 (Ctrl-C) or 143 (SIGTERM) when interrupted.

Example:
  clouddc --simulate logs collect srv-0001 srv-0002 srv-0003 -o ./logs";

/// Endpoint, project and credentials. Each flag also reads the environment
/// variable the library reads (see `clouddc::config::env`); a flag given on the
/// command line wins over the environment. Help never shows the variables'
/// values: some are secrets, and the rest would make help depend on the shell.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The service's base URL, e.g. https://clouddc.cn-east-3.myhuaweicloud.com
    #[arg(long, value_name = "URL", env = env::ENDPOINT, hide_env_values = true)]
    pub endpoint: Option<String>,
    /// The region whose public endpoint to use, e.g. cn-east-3 (instead of --endpoint)
    #[arg(long, value_name = "REGION", env = env::REGION, hide_env_values = true)]
    pub region: Option<String>,
    /// The project the servers belong to
    #[arg(long, value_name = "ID", env = env::PROJECT_ID, hide_env_values = true)]
    pub project_id: Option<String>,
    /// An IAM token, sent as X-Auth-Token (used when no AK/SK pair is given)
    #[arg(long, value_name = "TOKEN", env = env::AUTH_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// The access key of an AK/SK pair; requests are signed with SDK-HMAC-SHA256
    #[arg(long, value_name = "AK", env = env::AK, hide_env_values = true)]
    pub ak: Option<String>,
    /// The secret key of the AK/SK pair
    #[arg(long, value_name = "SK", env = env::SK, hide_env_values = true)]
    pub sk: Option<String>,
    /// The security token of temporary AK/SK credentials
    #[arg(long, value_name = "TOKEN", env = env::SECURITY_TOKEN, hide_env_values = true)]
    pub security_token: Option<String>,
    /// Start the embedded simulator and run against it (ignores the flags above
    /// except --project-id)
    #[arg(long)]
    pub simulate: bool,
}

impl ConnectionArgs {
    /// Leaves at most one of `endpoint` and `region` set, the way a user expects:
    /// a flag on the command line beats an environment variable, and between two
    /// environment variables the endpoint wins (as in `ClientBuilder::from_env`).
    /// Both flags on the command line is a usage error.
    pub fn settle_endpoint(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        // Empty environment variables count as unset, as in the library.
        for value in [
            &mut self.endpoint,
            &mut self.region,
            &mut self.project_id,
            &mut self.token,
            &mut self.ak,
            &mut self.sk,
            &mut self.security_token,
        ] {
            if value.as_deref().is_some_and(str::is_empty) {
                *value = None;
            }
        }
        if self.endpoint.is_none() || self.region.is_none() {
            return Ok(());
        }
        let endpoint = matches.value_source("endpoint");
        let region = matches.value_source("region");
        if endpoint == Some(ValueSource::CommandLine) && region == Some(ValueSource::CommandLine) {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::ArgumentConflict,
                "--endpoint and --region both say where to send requests; give one\n",
            ));
        }
        if region > endpoint {
            self.endpoint = None;
        } else {
            self.region = None;
        }
        Ok(())
    }
}

/// How results and diagnostics are shown.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// How results are printed on stdout: text for people, json for programs
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// More diagnostics on stderr (-v: info, -vv: debug, -vvv: trace)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// No progress and no informational lines on stderr; errors only
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The format of results on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // Plain comments, not doc comments: documented values would turn every
    // `--help` into the long, spaced-out form.
    // Aligned lines for people.
    Text,
    // One JSON document, and nothing else on stdout.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export, watch and download server log bundles
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Run the CloudDC simulator until Ctrl-C
    Sim(SimArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// The `logs` commands.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Export, wait for and download the logs of every server (the main job)
    Collect(CollectArgs),
    /// Start a log export on one server and print the task
    Export(ExportArgs),
    /// Print an export task's status, or watch it until it ends
    Status(StatusArgs),
    /// Download a finished export's archive
    Download(DownloadArgs),
}

/// `logs collect`.
#[derive(Debug, Args)]
#[command(after_help = "\
Servers from the arguments and the file are combined; duplicates are dropped,
keeping the first. Each archive is written to DIR under the name the service
gives it, checked (length, and gzip unless --no-verify) before it appears there.")]
pub struct CollectArgs {
    /// Server ids
    #[arg(value_name = "SERVER", required_unless_present = "servers_file")]
    pub servers: Vec<String>,
    /// A file of server ids, one a line; '#' starts a comment; '-' reads stdin
    #[arg(long, value_name = "FILE")]
    pub servers_file: Option<PathBuf>,
    /// Where the archives go
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// How many export calls run at once (waiting holds no slot)
    #[arg(long, value_name = "N", default_value = "8", value_parser = parse_concurrency)]
    pub concurrency: usize,
    /// How many downloads run at once, at most --concurrency
    #[arg(long, value_name = "N", default_value = "16", value_parser = parse_concurrency)]
    pub max_downloads: usize,
    /// How long to wait for each server's export, e.g. 90s, 15m, 1h
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Ignore and replace the journal of an interrupted collect in DIR: export and
    /// download every server again
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub check: CheckArgs,
}

/// How a downloaded archive is checked before it appears in the output directory.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only each archive's length, not its gzip stream (no inflating: much
    /// faster for large, highly compressed bundles)
    #[arg(long)]
    pub no_verify: bool,
}

impl CheckArgs {
    /// The download options these flags ask for.
    pub fn download_options(&self) -> clouddc::DownloadOptions {
        clouddc::DownloadOptions {
            verify_gzip: !self.no_verify,
            ..clouddc::DownloadOptions::default()
        }
    }
}

/// `logs export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The server id
    #[arg(value_name = "SERVER")]
    pub server: String,
}

/// `logs status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The server id
    #[arg(value_name = "SERVER")]
    pub server: String,
    /// The export task id, as `logs export` printed it
    #[arg(value_name = "EXPORT_ID")]
    pub export_id: String,
    /// Keep polling until the export completes or fails
    #[arg(long)]
    pub watch: bool,
    /// How long --watch waits, e.g. 90s, 15m
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration, requires = "watch")]
    pub timeout: Duration,
}

/// `logs download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The server id
    #[arg(value_name = "SERVER")]
    pub server: String,
    /// The export task id
    #[arg(value_name = "EXPORT_ID")]
    pub export_id: String,
    /// Where the archive goes
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
}

/// `clouddc sim`. The defaults are the simulator library's
/// (`clouddc_sim::SimConfig::default()`); a unit test keeps them equal.
#[derive(Debug, Args)]
#[command(after_help = "\
At least one --token or an --ak/--sk pair is required: the simulator accepts only
those. Tokens and secret keys are never printed.

Stdout carries two lines for scripts: first `listening on http://ADDR` (the real
port when --addr ends in :0), and on Ctrl-C or SIGTERM, after it stops,
`stats {JSON}` with the counts of requests served and faults injected.

Example:
  clouddc sim --addr 127.0.0.1:0 --token t1 --faults 500=0.05,429=0.05 --export-seconds 2")]
pub struct SimArgs {
    /// The address to listen on; port 0 picks a free one
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The project the simulator serves
    #[arg(long, value_name = "ID", default_value = crate::sim::DEFAULT_PROJECT)]
    pub project_id: String,
    /// A token the simulator accepts (repeat for several)
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// The access key of an AK/SK pair the simulator accepts
    #[arg(long, value_name = "AK", requires = "sk")]
    pub ak: Option<String>,
    /// The secret key of that pair
    #[arg(long, value_name = "SK", requires = "ak")]
    pub sk: Option<String>,
    /// How long an export takes, in seconds
    #[arg(long, value_name = "S", default_value = "10")]
    pub export_seconds: f64,
    /// How large each archive is, in bytes
    #[arg(long, value_name = "N", default_value = "262144")]
    pub archive_bytes: u64,
    /// Which of the vendor's wire forms to answer in: documented, example or integer
    #[arg(long, value_name = "DIALECT", default_value = "documented")]
    pub dialect: String,
    /// Faults to inject and their probabilities, e.g. 500=0.05,429=0.05,reset=0.02; the others
    /// are truncate, stall, slow and fail
    #[arg(long, value_name = "SPEC", default_value = "none")]
    pub faults: String,
    /// Seed of the fault and archive randomness, for reproducible runs
    #[arg(long, value_name = "N", default_value = "0")]
    pub seed: u64,
    /// Requests per second allowed per credential before answering 429 [default: no limit]
    #[arg(long, value_name = "PER_SECOND")]
    pub rate_limit: Option<f64>,
    /// How long a finished export task is kept, in seconds; after it the task is gone
    /// (404), as real tasks expire [default: 3600]
    #[arg(long, value_name = "S")]
    pub export_ttl: Option<f64>,
}

/// `clouddc completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Parses `--concurrency` and `--max-downloads`: a whole number of at least 1.
fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// Parses a duration like `90s`, `15m`, `1h30m` or `500ms`. A bare number is
/// rejected rather than guessed at: seconds and minutes are both plausible.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (expected e.g. 90s, 15m or 1h)"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn archives_are_verified_unless_no_verify_is_given() {
        let options = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Logs(LogsCommand::Download(d)) => d.check.download_options(),
            Command::Logs(LogsCommand::Collect(c)) => c.check.download_options(),
            other => panic!("{other:?}"),
        };
        let download = ["clouddc", "logs", "download", "s", "e"];
        let collect = ["clouddc", "logs", "collect", "s"];
        assert!(options(&download).verify_gzip);
        assert!(options(&collect).verify_gzip);
        assert!(!options(&[&download[..], &["--no-verify"]].concat()).verify_gzip);
        assert!(!options(&[&collect[..], &["--no-verify"]].concat()).verify_gzip);
        // Everything else stays the library's default.
        let defaults = clouddc::DownloadOptions::default();
        let off = options(&[&download[..], &["--no-verify"]].concat());
        assert_eq!(off.max_resumes, defaults.max_resumes);
        assert_eq!(off.idle_timeout, defaults.idle_timeout);
    }

    #[test]
    fn durations_and_concurrency() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_concurrency("32"), Ok(32));
        assert_eq!(parse_concurrency("0"), Err("must be at least 1".into()));
        assert!(parse_concurrency("-1").is_err());
    }

    fn settled(args: &[&str]) -> Result<ConnectionArgs, clap::Error> {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.connection.settle_endpoint(&matches)?;
        Ok(cli.connection)
    }

    #[test]
    fn endpoint_or_region_on_the_command_line() {
        let c = settled(&["clouddc", "--region", "cn-east-3", "logs", "export", "s"]).unwrap();
        assert_eq!(c.region.as_deref(), Some("cn-east-3"));
        let both = [
            "clouddc",
            "--region",
            "r",
            "--endpoint",
            "http://h",
            "logs",
            "export",
            "s",
        ];
        assert!(settled(&both).is_err());
        let c = settled(&["clouddc", "--token", "", "logs", "export", "s"]).unwrap();
        assert_eq!(c.token, None);
    }
}

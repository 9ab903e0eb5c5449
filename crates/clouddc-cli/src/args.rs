//! The command line, as clap parses it.
//!
//! Connection flags are global (`global = true`): they work before or after
//! the subcommand, as in gh and aws, and every subcommand's `--help` lists
//! them. `clouddc sim` reads the same flags in the server's role (see
//! [`crate::settings`]), which is why it has no `--token` of its own.
//! `--format` is global below `logs` only: `sim` and `completions` print no
//! results. The rules on top of what clap parses (empty values, endpoint or
//! region, what is missing) live in [`crate::settings`], nowhere else.

#[cfg(feature = "simulate")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use clouddc::Secret;
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
    /// How diagnostics are shown.
    #[command(flatten)]
    pub output: OutputArgs,
    /// `--format` before the command, as in `clouddc --format json logs ...`;
    /// hidden, since `logs` lists it.
    #[arg(long = "format", id = "top_format", value_enum, hide = true)]
    pub format: Option<Format>,
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
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The service's base URL, e.g. https://clouddc.cn-east-3.myhuaweicloud.com
    #[arg(long, global = true, value_name = "URL", env = env::ENDPOINT, hide_env_values = true)]
    pub endpoint: Option<String>,
    /// The region whose public endpoint to use, e.g. cn-east-3 (instead of --endpoint)
    #[arg(long, global = true, value_name = "REGION", env = env::REGION, hide_env_values = true)]
    pub region: Option<String>,
    /// The project the servers belong to (for `sim`: the project it serves)
    #[arg(long, global = true, value_name = "ID", env = env::PROJECT_ID, hide_env_values = true)]
    pub project_id: Option<String>,
    /// An IAM token, sent as X-Auth-Token when no AK/SK pair is given (for `sim`: the token it
    /// accepts)
    #[arg(long, global = true, value_name = "TOKEN", env = env::AUTH_TOKEN, hide_env_values = true, value_parser = parse_secret)]
    pub token: Option<Secret>,
    /// The access key of an AK/SK pair; requests are signed with SDK-HMAC-SHA256 (for `sim`:
    /// the pair it accepts)
    #[arg(long, global = true, value_name = "AK", env = env::AK, hide_env_values = true)]
    pub ak: Option<String>,
    /// The secret key of the AK/SK pair
    #[arg(long, global = true, value_name = "SK", env = env::SK, hide_env_values = true, value_parser = parse_secret)]
    pub sk: Option<Secret>,
    /// The security token of temporary AK/SK credentials
    #[arg(long, global = true, value_name = "TOKEN", env = env::SECURITY_TOKEN, hide_env_values = true, value_parser = parse_secret)]
    pub security_token: Option<Secret>,
    /// Start the embedded simulator and run against it (ignores the flags above except
    /// --project-id); it starts empty, so only `logs collect` and `logs export` make sense
    #[arg(long, global = true)]
    pub simulate: bool,
    /// How long one export or status request may take in all, its answer included (a
    /// download has no total deadline: it is cut when it stalls)
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// A forward proxy for every request, e.g. http://user:password@proxy:3128 (without it,
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY apply); NO_PROXY's hosts bypass it either way
    #[arg(long, global = true, value_name = "URL", value_parser = parse_secret)]
    pub proxy: Option<Secret>,
    /// A PEM file of CA certificates to trust besides the system's (a TLS-inspecting
    /// proxy's, a private endpoint's)
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "SSL_CERT_FILE",
        hide_env_values = true
    )]
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// How diagnostics are shown.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
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
    Logs(LogsArgs),
    /// List or show the project's physical servers
    Servers(ServersArgs),
    /// Run the CloudDC simulator until Ctrl-C
    #[cfg(feature = "simulate")]
    Sim(SimArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// `logs` and what its commands share.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// How results are printed on stdout: text for people, json for programs [default: text]
    #[arg(long, global = true, value_enum, help_heading = "Output")]
    pub format: Option<Format>,
    /// Which `logs` command.
    #[command(subcommand)]
    pub command: LogsCommand,
}

/// `clouddc servers ...`: the output format (here, as for `logs`, where it
/// does something) and the command.
#[derive(Debug, Args)]
pub struct ServersArgs {
    /// How results are printed on stdout: text for people, json for programs [default: text]
    #[arg(long, global = true, value_enum, help_heading = "Output")]
    pub format: Option<Format>,
    /// Which `servers` command.
    #[command(subcommand)]
    pub command: crate::commands::servers::ServersCommand,
}

impl Cli {
    /// The format of results: `--format` after `logs` or `servers` wins over
    /// one before it.
    pub fn format(&self) -> Format {
        let after = match &self.command {
            Command::Logs(logs) => logs.format,
            Command::Servers(servers) => servers.format,
            _ => None,
        };
        after.or(self.format).unwrap_or(Format::Text)
    }
}

/// The `logs` commands.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Export, wait for and download the logs of every server (the main job)
    Collect(Box<CollectArgs>),
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
Servers from the arguments, the file and --all are combined; duplicates are
dropped, keeping the first. --manage-state is applied by the service; --health,
--tag, --dc and --rack by clouddc after paging; --alarmed asks ListAlarms.
Each archive is written to DIR as SERVER-dump.tar.gz (the id percent-encoded
where it is not a plain name; the service never names a file), checked (length,
and gzip unless --no-verify) before it appears there. A re-run writes the same
names: an archive already there fails its server before the export, unless
--overwrite.
Each phase has its own bound: --request-timeout each export and status request,
--timeout the wait for the export to finish, and a download ends when it stalls
for the read timeout (120 s) or breaks more often than it may resume.")]
pub struct CollectArgs {
    /// Server ids
    #[arg(value_name = "SERVER", required_unless_present_any = ["servers_file", "all"])]
    pub servers: Vec<String>,
    /// A file of server ids, one a line; '#' starts a comment; '-' reads stdin
    #[arg(long, value_name = "FILE")]
    pub servers_file: Option<PathBuf>,
    /// Where the archives go: a directory, or s3://BUCKET/PREFIX/ or
    /// obs://BUCKET/PREFIX/ (an object each, streamed; see Object storage)
    #[arg(short, long, value_name = "DIR|URL", default_value = ".")]
    pub output_dir: PathBuf,
    /// How many export and status requests are in flight at once (the wait between polls holds no slot)
    #[arg(long, value_name = "N", default_value = "8", value_parser = parse_concurrency)]
    pub concurrency: usize,
    /// How many downloads run at once; raise it on a high-latency link with small archives [default: 16, and never more than --concurrency]
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub max_downloads: Option<usize>,
    /// How long each server's export may take to finish on the server, e.g. 90s, 15m, 1h
    /// (the wait only: see --request-timeout for each request)
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Ignore and replace the journal of an interrupted collect in DIR: export and
    /// download every server again
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Also every server the inventory lists, narrowed by the filters below
    #[arg(long)]
    pub all: bool,
    /// Print the servers that would be collected and stop (no export is started)
    #[arg(long)]
    pub dry_run: bool,
    /// Collect only shard K of N (K from 1): the servers whose id hashes to K, so
    /// N collectors given the same list split it with no overlap and no gap
    #[arg(long, value_name = "K/N", conflicts_with = "shard_count")]
    pub shard: Option<crate::shard::Shard>,
    /// Split the list into N shards and collect the one JOB_COMPLETION_INDEX (from
    /// 0, as a Kubernetes Indexed Job sets it) names: pod i runs --shard i+1/N
    #[arg(long, value_name = "N")]
    pub shard_count: Option<u64>,
    #[command(flatten)]
    pub object: crate::object_output::ObjectArgs,
    // Last: a flattened group's help heading applies to the flags after it.
    #[command(flatten)]
    pub filters: crate::select::FilterArgs,
}

/// How a downloaded archive is checked and placed in the output directory.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only each archive's length, not its gzip stream (no inflating: much
    /// faster for large, highly compressed bundles)
    #[arg(long)]
    pub no_verify: bool,
    /// A transfer averaging below this many bytes a second over --speed-time is
    /// cut, resumed, then failed (as curl's); 0 turns it off
    #[arg(long, value_name = "BYTES", default_value = "1K", value_parser = crate::size::parse_size)]
    pub speed_limit: u64,
    /// How long --speed-limit averages over
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub speed_time: Duration,
    /// The largest archive accepted, e.g. 512M or 10G; past it the download
    /// fails and leaves nothing
    #[arg(long, value_name = "SIZE", default_value = "64G", value_parser = crate::size::parse_bound)]
    pub max_archive_size: u64,
    /// Make each archive durable (fsync) before reporting it; without it, a
    /// power loss soon after may cost a reported archive (see README)
    #[arg(long)]
    pub fsync: bool,
    /// Replace an archive already at SERVER-dump.tar.gz (without it, that server fails
    /// before its export is triggered, naming the file)
    #[arg(long)]
    pub overwrite: bool,
}

impl CheckArgs {
    /// The download options these flags ask for.
    pub fn download_options(&self) -> clouddc::DownloadOptions {
        clouddc::DownloadOptions {
            verify_gzip: !self.no_verify,
            low_speed: (self.speed_limit > 0).then_some(clouddc::LowSpeed {
                bytes_per_second: self.speed_limit,
                time: self.speed_time,
            }),
            max_archive_bytes: Some(self.max_archive_size),
            fsync: self.fsync,
            overwrite: self.overwrite,
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
    /// How long --watch waits for the export to finish, e.g. 90s, 15m (each status request
    /// is bounded by --request-timeout)
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

/// The smallest `--archive-bytes`: below it the simulator would serve its
/// smallest archive (about 3.5 KiB) instead of the size asked for.
#[cfg_attr(not(feature = "simulate"), allow(dead_code))] // only `clouddc sim` uses it
pub const MIN_ARCHIVE_BYTES: u64 = 4096;

/// `clouddc sim`. The defaults are the simulator library's
/// (`clouddc_sim::SimConfig::default()`); a unit test keeps them equal.
#[cfg(feature = "simulate")]
#[derive(Debug, Args)]
#[command(after_help = "\
The simulator accepts the credentials a client would send: --token and/or
--ak/--sk (or their variables, so one shell configures both sides), for the
project --project-id (default: the simulator's). At least one is required;
tokens and secret keys are never printed. --endpoint, --region,
--security-token, --simulate and --request-timeout configure a client and are
refused here.

Stdout carries two lines for scripts: first `listening on http://ADDR` (the real
port when --addr ends in :0), and on Ctrl-C or SIGTERM, after it stops,
`stats {JSON}` with the counts of requests served and faults injected.

Example:
  clouddc sim --addr 127.0.0.1:0 --token t1 --faults 500=0.05,429=0.05 --export-seconds 2")]
pub struct SimArgs {
    /// The address to listen on; port 0 picks a free one
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// How long an export takes, in seconds (0 or more; fractions allowed)
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    pub export_seconds: Duration,
    /// How large each archive is, in bytes: exact, from 4096 (the smallest complete
    /// archive fits in that)
    #[arg(long, value_name = "N", default_value = "262144", value_parser = clap::value_parser!(u64).range(MIN_ARCHIVE_BYTES..))]
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
    /// Serve a seeded inventory of N servers (srv-0001..); exports of other ids then
    /// answer 404 [default: 16 listed, any id exportable]
    #[arg(long, value_name = "N")]
    pub servers: Option<usize>,
    /// Hold every response back this long, standing in for a WAN, e.g. 50ms
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// How long a finished export task is kept, in seconds; after it the task is gone
    /// (404), as real tasks expire [default: 3600]
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub export_ttl: Option<Duration>,
    /// Serve HTTPS with a certificate made at start for 127.0.0.1 and localhost; the path of
    /// its CA (a PEM file for --ca-bundle) is printed on stderr
    #[arg(long)]
    pub tls: bool,
    /// How long the temporary credentials of its ECS metadata endpoints live, e.g. 3s
    /// (clients refresh them before they expire) [default: 1h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub credential_ttl: Option<Duration>,
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

/// Parses `--export-seconds`: a number of seconds, 0 or more.
#[cfg_attr(not(feature = "simulate"), allow(dead_code))] // only `clouddc sim` uses it
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?}: expected a number of seconds, 0 or more"))
}

/// Parses a secret flag into a [`Secret`], so that no `Debug` of the parsed
/// command line can show it.
pub(crate) fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
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
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn archives_are_verified_unless_no_verify_is_given() {
        let options = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Logs(LogsArgs {
                command: LogsCommand::Download(d),
                ..
            }) => d.check.download_options(),
            Command::Logs(LogsArgs {
                command: LogsCommand::Collect(c),
                ..
            }) => c.check.download_options(),
            other => panic!("{other:?}"),
        };
        let download = ["clouddc", "logs", "download", "s", "e"];
        let collect = ["clouddc", "logs", "collect", "s"];
        assert!(options(&download).verify_gzip);
        assert!(options(&collect).verify_gzip);
        assert!(!options(&[&download[..], &["--no-verify"]].concat()).verify_gzip);
        assert!(!options(&[&collect[..], &["--no-verify"]].concat()).verify_gzip);
        assert!(!options(&collect).overwrite);
        assert!(options(&[&collect[..], &["--overwrite"]].concat()).overwrite);
        assert!(options(&[&download[..], &["--overwrite"]].concat()).overwrite);
        // Everything else stays the library's default.
        let defaults = clouddc::DownloadOptions::default();
        let off = options(&[&download[..], &["--no-verify"]].concat());
        assert_eq!(off.max_resumes, defaults.max_resumes);
        assert_eq!(off.idle_timeout, defaults.idle_timeout);
        // The flags' documented defaults are the library's.
        let plain = options(&download);
        assert_eq!(plain.low_speed, defaults.low_speed);
        assert_eq!(plain.max_archive_bytes, defaults.max_archive_bytes);
        assert_eq!(plain.fsync, defaults.fsync);
        assert!(options(&[&collect[..], &["--fsync"]].concat()).fsync);
    }

    #[test]
    fn speed_floor_and_size_bound_flags() {
        let options = |extra: &[&str]| {
            let args = [&["clouddc", "logs", "collect", "s"], extra].concat();
            match Cli::try_parse_from(args).unwrap().command {
                Command::Logs(LogsArgs {
                    command: LogsCommand::Collect(c),
                    ..
                }) => c.check.download_options(),
                other => panic!("{other:?}"),
            }
        };
        let set = options(&["--speed-limit", "4K", "--speed-time", "10s"]);
        assert_eq!(
            set.low_speed,
            Some(clouddc::LowSpeed {
                bytes_per_second: 4096,
                time: Duration::from_secs(10)
            })
        );
        assert_eq!(options(&["--speed-limit", "0"]).low_speed, None);
        assert_eq!(
            options(&["--max-archive-size", "512M"]).max_archive_bytes,
            Some(512 << 20)
        );
        let parse = |extra: &[&str]| {
            Cli::try_parse_from([&["clouddc", "logs", "download", "s", "e"], extra].concat())
        };
        assert!(parse(&["--max-archive-size", "0"]).is_err());
        assert!(parse(&["--max-archive-size", "lots"]).is_err());
        assert!(parse(&["--speed-time", "0s"]).is_err());
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

    #[test]
    fn format_before_or_after_the_command_and_only_for_logs() {
        let format = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.format());
        let export = ["clouddc", "logs", "export", "s"];
        assert_eq!(format(&export).unwrap(), Format::Text);
        for args in [
            &["clouddc", "--format", "json", "logs", "export", "s"][..],
            &["clouddc", "logs", "--format", "json", "export", "s"],
            &["clouddc", "logs", "export", "s", "--format", "json"],
        ] {
            assert_eq!(format(args).unwrap(), Format::Json, "{args:?}");
        }
        let both = [
            "clouddc", "--format", "text", "logs", "export", "s", "--format", "json",
        ];
        assert_eq!(format(&both).unwrap(), Format::Json);
        assert!(format(&["clouddc", "sim", "--format", "json"]).is_err());
        assert!(format(&["clouddc", "completions", "bash", "--format", "json"]).is_err());
    }

    #[test]
    fn connection_flags_are_parsed_after_the_command_too() {
        let cli = Cli::try_parse_from([
            "clouddc",
            "logs",
            "collect",
            "--endpoint",
            "http://h",
            "srv-1",
            "--token",
            "t",
        ])
        .unwrap();
        assert_eq!(cli.connection.endpoint.as_deref(), Some("http://h"));
        assert_eq!(
            cli.connection.token.map(|t| t.expose().to_owned()),
            Some("t".into())
        );
    }

    #[test]
    fn max_downloads_defaults_to_none_and_sim_sizes_are_checked() {
        let collect = |extra: &[&str]| match Cli::try_parse_from(
            [&["clouddc", "logs", "collect", "s"][..], extra].concat(),
        )
        .map(|cli| cli.command)
        {
            Ok(Command::Logs(LogsArgs {
                command: LogsCommand::Collect(c),
                ..
            })) => c.max_downloads,
            other => panic!("{other:?}"),
        };
        assert_eq!(collect(&[]), None);
        assert_eq!(collect(&["--max-downloads", "3"]), Some(3));
        for bad in ["0", "100", "1025"] {
            let error =
                Cli::try_parse_from(["clouddc", "sim", "--archive-bytes", bad]).unwrap_err();
            assert!(error.to_string().contains("--archive-bytes"), "{error}");
        }
        let error = Cli::try_parse_from(["clouddc", "sim", "--export-seconds=-1"]).unwrap_err();
        assert!(error.to_string().contains("0 or more"), "{error}");
    }
}

//! The connection settings, resolved once, in one place, from the flags, the
//! environment and the defaults.
//!
//! clap reads each flag and its environment variable (the library's names,
//! `clouddc::config::env`); this module applies every rule on top:
//! - an empty value counts as unset, as in the library;
//! - between `--endpoint` and `--region`, a flag on the command line beats a
//!   variable, two variables prefer the endpoint, two flags are an error;
//! - a client needs an endpoint, a project and credentials, and each missing
//!   piece is named with its flag and its variable; credentials not given
//!   come from the official SDKs' chain (the credentials file, then the ECS
//!   metadata service), and a project not given from the file or IAM;
//! - `clouddc sim` reads the same flags in the server's role (`--project-id`
//!   the project served, `--token` and `--ak/--sk` the credentials accepted),
//!   so one environment configures both sides; flags only a client can use are
//!   refused there.
//!
//! Nothing else in the CLI reads the connection's environment variables or
//! calls `ClientBuilder::from_env`.

use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use clouddc::config::env;
use clouddc::credentials::ChainOptions;
use clouddc::{ClientBuilder, Secret, TransportOptions};

use crate::args::ConnectionArgs;
use crate::exit::CliError;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An explicit base URL.
    Url(String),
    /// A region's public endpoint.
    Region(String),
}

/// The connection settings after every rule.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where requests go, if said.
    pub endpoint: Option<Endpoint>,
    /// The project.
    pub project_id: Option<String>,
    /// An IAM token.
    pub token: Option<Secret>,
    /// The access key.
    pub ak: Option<String>,
    /// The secret key.
    pub sk: Option<Secret>,
    /// The security token of temporary AK/SK credentials.
    pub security_token: Option<Secret>,
    /// Run against the embedded simulator.
    pub simulate: bool,
    /// The total deadline of one JSON request.
    pub request_timeout: Duration,
    /// Where credentials come from when none is given: the SDKs' chain.
    pub chain: ChainOptions,
    /// The IAM endpoint of the project lookup (`HUAWEICLOUD_SDK_IAM_ENDPOINT`).
    pub iam_endpoint: Option<String>,
    /// `--proxy` (else reqwest reads the proxy variables).
    pub proxy: Option<Secret>,
    /// `--ca-bundle` or `SSL_CERT_FILE`.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The client-only flags given on the command line (`clouddc sim` refuses
    /// them rather than ignore them).
    #[cfg_attr(not(feature = "simulate"), allow(dead_code))] // only `clouddc sim` uses it
    client_only_flags: Vec<&'static str>,
}

/// What `clouddc sim` accepts, from the same flags.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "simulate"), allow(dead_code))] // only `clouddc sim` uses it
pub struct SimulatorSettings {
    /// The project served, if said.
    pub project_id: Option<String>,
    /// The token accepted.
    pub token: Option<Secret>,
    /// The AK/SK pair accepted.
    pub ak_sk: Option<(String, Secret)>,
}

impl Settings {
    /// Applies the rules to what clap parsed; `matches` says which values came
    /// from the command line and which from the environment.
    pub fn resolve(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Self, CliError> {
        let text = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let secret = |value: &Option<Secret>| value.clone().filter(|v| !v.is_empty());
        let on_command_line = |id: &str| source(matches, id) == Some(ValueSource::CommandLine);
        let endpoint = match (text(&args.endpoint), text(&args.region)) {
            (Some(_), Some(_)) if on_command_line("endpoint") && on_command_line("region") => {
                return Err(CliError::Config(
                    "--endpoint and --region both say where to send requests; give one".into(),
                ));
            }
            (Some(url), Some(region)) => {
                if source(matches, "region") > source(matches, "endpoint") {
                    Some(Endpoint::Region(region))
                } else {
                    Some(Endpoint::Url(url))
                }
            }
            (Some(url), None) => Some(Endpoint::Url(url)),
            (None, Some(region)) => Some(Endpoint::Region(region)),
            (None, None) => None,
        };
        let client_only_flags = [
            ("endpoint", "--endpoint"),
            ("region", "--region"),
            ("security_token", "--security-token"),
            ("simulate", "--simulate"),
            ("request_timeout", "--request-timeout"),
            ("proxy", "--proxy"),
            ("ca_bundle", "--ca-bundle"),
        ]
        .into_iter()
        .filter(|(id, _)| on_command_line(id))
        .map(|(_, flag)| flag)
        .collect();
        Ok(Self {
            endpoint,
            project_id: text(&args.project_id),
            token: secret(&args.token),
            ak: text(&args.ak),
            sk: secret(&args.sk),
            security_token: secret(&args.security_token),
            simulate: args.simulate,
            request_timeout: args.request_timeout,
            chain: ChainOptions::from_env(),
            iam_endpoint: std::env::var(env::IAM_ENDPOINT)
                .ok()
                .filter(|v| !v.is_empty()),
            proxy: secret(&args.proxy),
            ca_bundle: args.ca_bundle.clone().filter(|p| !p.as_os_str().is_empty()),
            client_only_flags,
        })
    }

    /// The transport options these settings ask for; the rest stays the
    /// library's default.
    pub fn transport(&self) -> TransportOptions {
        TransportOptions {
            request_timeout: self.request_timeout,
            proxy: self.proxy.clone(),
            ca_bundle: self.ca_bundle.clone(),
            ..TransportOptions::default()
        }
    }

    /// The client builder for the service, after saying what is missing,
    /// naming both the flag and the variable.
    pub fn client_builder(&self) -> Result<ClientBuilder, CliError> {
        let missing = |what: String| Err(CliError::Config(what));
        let mut builder = ClientBuilder::new().transport(self.transport());
        builder = match &self.endpoint {
            Some(Endpoint::Url(url)) => builder.endpoint(url),
            Some(Endpoint::Region(region)) => builder.region(region),
            None => {
                return missing(format!(
                    "no endpoint: pass --endpoint URL or --region REGION, or set {} or {} (or try --simulate)",
                    env::ENDPOINT,
                    env::REGION
                ));
            }
        };
        if let Some(project) = &self.project_id {
            builder = builder.project_id(project);
        }
        if let Some(iam) = &self.iam_endpoint {
            builder = builder.iam_endpoint(iam);
        }
        match (&self.ak, &self.sk, &self.token) {
            (Some(ak), Some(sk), _) => builder = builder.ak_sk(ak, sk.clone()),
            (Some(_), None, _) => {
                return missing(format!(
                    "an AK without its SK: pass --sk or set {}",
                    env::SK
                ));
            }
            (None, Some(_), _) => {
                return missing(format!(
                    "an SK without its AK: pass --ak or set {}",
                    env::AK
                ));
            }
            (None, None, Some(token)) => builder = builder.token(token.clone()),
            (None, None, None) => builder = builder.credential_chain(self.chain.clone()),
        }
        if let Some(token) = &self.security_token {
            builder = builder.security_token(token.clone());
        }
        Ok(builder)
    }

    /// What `clouddc sim` accepts. Flags that only say where a client sends
    /// requests are refused on the command line (their variables are
    /// ignored: a shell set up for the client must still run the simulator).
    #[cfg_attr(not(feature = "simulate"), allow(dead_code))] // only `clouddc sim` uses it
    pub fn simulator(&self) -> Result<SimulatorSettings, CliError> {
        if let Some(flag) = self.client_only_flags.first() {
            return Err(CliError::Config(format!(
                "{flag} configures a client, not the simulator; `clouddc sim` accepts --project-id, --token and --ak/--sk"
            )));
        }
        let ak_sk = match (&self.ak, &self.sk) {
            (Some(ak), Some(sk)) => Some((ak.clone(), sk.clone())),
            (Some(_), None) => {
                return Err(CliError::Config(format!(
                    "an AK without its SK: pass --sk or set {}",
                    env::SK
                )));
            }
            (None, Some(_)) => {
                return Err(CliError::Config(format!(
                    "an SK without its AK: pass --ak or set {}",
                    env::AK
                )));
            }
            (None, None) => None,
        };
        if self.token.is_none() && ak_sk.is_none() {
            // A simulator that accepts nothing is useless, and one that makes
            // up a credential would have to print it.
            return Err(CliError::Config(
                "the simulator needs a credential to accept: pass --token TOKEN or --ak AK --sk SK"
                    .into(),
            ));
        }
        Ok(SimulatorSettings {
            project_id: self.project_id.clone(),
            token: self.token.clone(),
            ak_sk,
        })
    }
}

/// Where a value came from; `None` when it was not given at all.
fn source(matches: &ArgMatches, id: &str) -> Option<ValueSource> {
    // clap copies a global argument to every level; take the most specific
    // source any level saw.
    let mut best = matches.value_source(id);
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if let Some(found) = sub.value_source(id) {
            best = best.max(Some(found));
        }
        current = sub;
    }
    best
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::args::Cli;

    fn settings(args: &[&str]) -> Result<Settings, CliError> {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .map_err(|e| CliError::Config(e.to_string()))?;
        let cli = Cli::from_arg_matches(&matches).unwrap();
        Settings::resolve(&cli.connection, &matches)
    }

    fn config_error(result: Result<impl std::fmt::Debug, CliError>) -> String {
        match result {
            Err(CliError::Config(text)) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endpoint_or_region_on_the_command_line_before_or_after_the_command() {
        for args in [
            &["clouddc", "--region", "cn-east-3", "logs", "export", "s"][..],
            &["clouddc", "logs", "export", "s", "--region", "cn-east-3"],
            &["clouddc", "logs", "export", "--region", "cn-east-3", "s"],
        ] {
            let s = settings(args).unwrap();
            assert_eq!(s.endpoint, Some(Endpoint::Region("cn-east-3".into())));
        }
        let both = [
            "clouddc",
            "--region",
            "r",
            "logs",
            "export",
            "s",
            "--endpoint",
            "http://h",
        ];
        assert!(config_error(settings(&both)).contains("give one"));
        let s = settings(&["clouddc", "--token", "", "logs", "export", "s"]).unwrap();
        assert!(s.token.is_none());
    }

    #[test]
    fn each_missing_piece_is_named_with_its_flag_and_variable() {
        let base = ["clouddc", "logs", "export", "s"];
        let with = |extra: &[&str]| settings(&[&base[..], extra].concat()).unwrap();
        let full = ["--endpoint", "http://127.0.0.1:1", "--project-id", "p1"];
        let cases: [(&[&str], &str); 2] = [
            (&["--project-id", "p", "--token", "t"], "--endpoint"),
            (&[&full[..], &["--ak", "AK"]].concat(), "--sk"),
        ];
        for (extra, flag) in cases {
            let text = config_error(with(extra).client_builder());
            assert!(text.contains(flag), "{text}");
        }
        // Without a project, build() names the variable (connect() would ask
        // IAM); without credentials, the SDKs' chain takes over.
        let no_project = with(&["--endpoint", "http://h", "--token", "t"]);
        let text = no_project
            .client_builder()
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(text.contains(env::PROJECT_ID), "{text}");
        let mut no_credentials = with(&full);
        no_credentials.chain = ChainOptions::new(None, Some("http://127.0.0.1:9".into()));
        let client = no_credentials.client_builder().unwrap().build().unwrap();
        assert_eq!(
            client.credential_source(),
            &clouddc::credentials::Source::Metadata("http://127.0.0.1:9".into())
        );
        let ok = with(&[&full[..], &["--token", "sentinel-token-91"]].concat());
        assert!(ok.client_builder().unwrap().build().is_ok());
    }

    #[test]
    fn secrets_are_secrets_and_errors_never_carry_them() {
        let s = settings(&[
            "clouddc",
            "logs",
            "export",
            "s",
            "--endpoint",
            "ftp://nowhere",
            "--project-id",
            "p",
            "--ak",
            "AK",
            "--sk",
            "sentinel-sk-42",
            "--token",
            "sentinel-token-91",
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("sentinel"));
        let error = s.client_builder().unwrap().build().unwrap_err().to_string();
        assert!(!error.contains("sentinel"), "{error}");
    }

    #[test]
    fn the_request_timeout_defaults_to_the_librarys_and_reaches_the_client() {
        let s = settings(&["clouddc", "logs", "export", "s"]).unwrap();
        assert_eq!(
            s.request_timeout,
            clouddc::transport::DEFAULT_REQUEST_TIMEOUT
        );
        let s = settings(&["clouddc", "logs", "export", "s", "--request-timeout", "5s"]).unwrap();
        assert_eq!(s.transport().request_timeout, Duration::from_secs(5));
    }

    #[test]
    fn the_simulator_takes_the_same_flags_in_the_servers_role() {
        let s = settings(&["clouddc", "sim", "--token", "t", "--project-id", "p"]).unwrap();
        let sim = s.simulator().unwrap();
        assert_eq!(sim.project_id.as_deref(), Some("p"));
        assert!(sim.token.is_some() && sim.ak_sk.is_none());
        let s = settings(&["clouddc", "--ak", "A", "sim", "--sk", "S"]).unwrap();
        assert_eq!(s.simulator().unwrap().ak_sk.unwrap().0, "A");
        for flag in [
            &["--endpoint", "http://h"][..],
            &["--region", "r"],
            &["--simulate"],
            &["--security-token", "x"],
        ] {
            let s = settings(&[&["clouddc", "sim", "--token", "t"][..], flag].concat()).unwrap();
            let text = config_error(s.simulator());
            assert!(text.contains(flag[0]), "{text}");
        }
        let none = settings(&["clouddc", "sim"]).unwrap();
        assert!(config_error(none.simulator()).contains("--token"));
        let half = settings(&["clouddc", "sim", "--ak", "A"]).unwrap();
        assert!(config_error(half.simulator()).contains("--sk"));
    }
}

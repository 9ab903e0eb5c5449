//! The client the `logs` commands use: from the environment and the flags, or
//! against the embedded simulator with `--simulate`.

use clouddc::config::env;
use clouddc::{Client, ClientBuilder};

use crate::args::ConnectionArgs;
use crate::exit::CliError;
#[cfg(feature = "simulate")]
use crate::sim::Embedded;

/// A client, and the simulator it talks to when `--simulate` started one (kept
/// alive as long as the client is used).
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The embedded simulator, stopped when dropped.
    #[cfg(feature = "simulate")]
    _simulator: Option<Embedded>,
}

/// Connects as `args` say. `announce` receives the one line telling the user
/// that the embedded simulator runs.
pub async fn connect(
    args: &ConnectionArgs,
    // Only the embedded simulator has something to announce.
    #[cfg_attr(not(feature = "simulate"), allow(unused_variables))] announce: impl FnOnce(&str),
) -> Result<Connection, CliError> {
    #[cfg(feature = "simulate")]
    if args.simulate {
        let simulator = Embedded::start(args.project_id.as_deref()).await?;
        announce(&simulator.describe());
        let client = simulator
            .client_builder()
            .build()
            .map_err(|e| CliError::Simulator(e.to_string()))?;
        return Ok(Connection {
            client,
            _simulator: Some(simulator),
        });
    }
    check_complete(args)?;
    let client = builder(args)
        .build()
        .map_err(|e| CliError::Config(format!("invalid configuration: {e}")))?;
    Ok(Connection {
        client,
        #[cfg(feature = "simulate")]
        _simulator: None,
    })
}

/// The library's builder filled from the environment, then the flags on top.
/// `args` already hold the environment's values (clap reads the same
/// variables); applying them again keeps one rule for both: a flag wins.
fn builder(args: &ConnectionArgs) -> ClientBuilder {
    let mut builder = ClientBuilder::from_env();
    if let Some(endpoint) = &args.endpoint {
        builder = builder.endpoint(endpoint);
    } else if let Some(region) = &args.region {
        builder = builder.region(region);
    }
    if let Some(project) = &args.project_id {
        builder = builder.project_id(project);
    }
    if let Some(token) = &args.token {
        builder = builder.token(token.as_str());
    }
    if let (Some(ak), Some(sk)) = (&args.ak, &args.sk) {
        builder = builder.ak_sk(ak, sk.as_str());
    }
    if let Some(token) = &args.security_token {
        builder = builder.security_token(token.as_str());
    }
    builder
}

/// Says what is missing, naming both the flag and the variable, before the
/// library would say it naming the variable only.
fn check_complete(args: &ConnectionArgs) -> Result<(), CliError> {
    let missing = |what: String| Err(CliError::Config(what));
    if args.endpoint.is_none() && args.region.is_none() {
        return missing(format!(
            "no endpoint: pass --endpoint URL or --region REGION, or set {} or {} (or try --simulate)",
            env::ENDPOINT,
            env::REGION
        ));
    }
    if args.project_id.is_none() {
        return missing(format!(
            "no project: pass --project-id ID or set {}",
            env::PROJECT_ID
        ));
    }
    match (&args.ak, &args.sk, &args.token) {
        (Some(_), None, _) => missing(format!(
            "an AK without its SK: pass --sk or set {}",
            env::SK
        )),
        (None, Some(_), _) => missing(format!(
            "an SK without its AK: pass --ak or set {}",
            env::AK
        )),
        (None, None, None) => missing(format!(
            "no credentials: pass --token or --ak and --sk, or set {} or {} and {}",
            env::AUTH_TOKEN,
            env::AK,
            env::SK
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ConnectionArgs {
        ConnectionArgs {
            endpoint: Some("http://127.0.0.1:1".into()),
            project_id: Some("p1".into()),
            token: Some("sentinel-token-91".into()),
            ..Default::default()
        }
    }

    #[test]
    fn each_missing_piece_is_named_with_its_flag_and_variable() {
        let cases = [
            (
                ConnectionArgs {
                    endpoint: None,
                    ..args()
                },
                "--endpoint",
            ),
            (
                ConnectionArgs {
                    project_id: None,
                    ..args()
                },
                "--project-id",
            ),
            (
                ConnectionArgs {
                    token: None,
                    ..args()
                },
                "--token",
            ),
            (
                ConnectionArgs {
                    ak: Some("AK".into()),
                    ..args()
                },
                "--sk",
            ),
        ];
        for (args, flag) in cases {
            match check_complete(&args) {
                Err(CliError::Config(text)) => assert!(text.contains(flag), "{text}"),
                other => panic!("{flag}: {other:?}"),
            }
        }
        assert!(check_complete(&args()).is_ok());
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let bad = ConnectionArgs {
            endpoint: Some("ftp://nowhere".into()),
            ..args()
        };
        let error = builder(&bad).build().unwrap_err().to_string();
        assert!(!error.contains("sentinel"), "{error}");
    }
}

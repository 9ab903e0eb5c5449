//! `logs collect -o s3://BUCKET/PREFIX/` (or `obs://`): the object store's
//! settings, resolved once from the flags and the usual variables.
//!
//! - endpoint: `--s3-endpoint`, else `AWS_ENDPOINT_URL_S3`, else
//!   `AWS_ENDPOINT_URL`; for `obs://` without one, OBS's endpoint of the region;
//! - region: `--s3-region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`; for
//!   `obs://` also the connection's `--region`;
//! - credentials: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//!   (`AWS_SESSION_TOKEN`) for `s3://`, `OBS_ACCESS_KEY_ID`/
//!   `OBS_SECRET_ACCESS_KEY` (`OBS_SECURITY_TOKEN`) for `obs://`, which also
//!   takes the connection's `--ak`/`--sk` (Huawei Cloud AK/SK sign OBS too);
//! - `--s3-path-style`: the bucket in the path, as MinIO and most local
//!   stores want.
//!
//! Secrets stay [`Secret`]s: never printed, not in `Debug`.

use std::time::Duration;

use clap::Args;
use clouddc::Secret;
use clouddc::destination::{ObjectStoreConfig, ObjectUrl};

use crate::exit::CliError;
use crate::settings::{Endpoint, Settings};

/// The object store's flags of `logs collect`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Object storage (-o s3://BUCKET/PREFIX/ or obs://...)")]
pub struct ObjectArgs {
    /// The object store's URL (a MinIO's, an OBS endpoint) [default: AWS's, or
    /// OBS's of the region for obs://]
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The region requests are signed for [default: AWS_REGION]
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Put the bucket in the path (endpoint/bucket/key), not the host name
    #[arg(long)]
    pub s3_path_style: bool,
}

/// Where the variables come from: the process's environment, or a test's map.
pub trait Environment {
    /// The variable's value, when set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process's environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// The store's settings when `output` is an `s3://` or `obs://` URL; `None`
/// for a directory.
pub fn resolve(
    output: &std::path::Path,
    args: &ObjectArgs,
    connection: &Settings,
    env: &dyn Environment,
) -> Result<Option<ObjectStoreConfig>, CliError> {
    let Some(url) = output.to_str().and_then(ObjectUrl::parse) else {
        return Ok(None);
    };
    let url = url.map_err(|error| CliError::Config(error.to_string()))?;
    let obs = url.scheme == "obs";
    let first = |names: &[&str]| names.iter().find_map(|name| env.var(name));
    let connection_region = match &connection.endpoint {
        Some(Endpoint::Region(region)) if obs => Some(region.clone()),
        _ => None,
    };
    let region = args
        .s3_region
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
        .or(connection_region);
    let endpoint = args
        .s3_endpoint
        .clone()
        .filter(|e| !e.is_empty())
        .or_else(|| first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]));
    let (endpoint, region) = match (endpoint, region, obs) {
        (Some(endpoint), region, _) => {
            (Some(endpoint), region.unwrap_or_else(|| "us-east-1".into()))
        }
        (None, Some(region), true) => (
            Some(format!("https://obs.{region}.myhuaweicloud.com")),
            region,
        ),
        (None, None, true) => {
            return Err(CliError::Config(
                "obs:// needs --s3-region, AWS_REGION or --region (OBS's endpoint is per region), or --s3-endpoint".into(),
            ));
        }
        (None, region, false) => (None, region.unwrap_or_else(|| "us-east-1".into())),
    };
    if let Some(endpoint) = &endpoint
        && !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
    {
        return Err(CliError::Config(format!(
            "the object store's endpoint must be an http:// or https:// URL, not {}",
            crate::text::clean(endpoint)
        )));
    }
    let (ak_vars, sk_vars, token_vars): (&[&str], &[&str], &[&str]) = if obs {
        (
            &["OBS_ACCESS_KEY_ID"],
            &["OBS_SECRET_ACCESS_KEY"],
            &["OBS_SECURITY_TOKEN"],
        )
    } else {
        (
            &["AWS_ACCESS_KEY_ID"],
            &["AWS_SECRET_ACCESS_KEY"],
            &["AWS_SESSION_TOKEN"],
        )
    };
    let from_env = first(ak_vars).zip(first(sk_vars).map(Secret::from));
    let (access_key_id, secret_access_key, session_token) = match from_env {
        Some((ak, sk)) => (ak, sk, first(token_vars).map(Secret::from)),
        None => match (obs, &connection.ak, &connection.sk) {
            (true, Some(ak), Some(sk)) => {
                (ak.clone(), sk.clone(), connection.security_token.clone())
            }
            _ => {
                return Err(CliError::Config(format!(
                    "{}:// needs credentials: set {} and {}{}",
                    url.scheme,
                    ak_vars[0],
                    sk_vars[0],
                    if obs { ", or give --ak and --sk" } else { "" }
                )));
            }
        },
    };
    Ok(Some(ObjectStoreConfig {
        url,
        endpoint,
        region,
        access_key_id,
        secret_access_key,
        session_token,
        path_style: args.s3_path_style,
        request_timeout: connection.request_timeout.max(Duration::from_secs(30)),
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    struct Vars(HashMap<&'static str, &'static str>);

    impl Environment for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    /// The connection settings of `clouddc ARGS logs collect s`.
    fn settings(endpoint: Option<Endpoint>, ak_sk: bool) -> Settings {
        use clap::{CommandFactory, FromArgMatches};
        let mut args = vec!["clouddc".to_owned()];
        if let Some(Endpoint::Region(region)) = endpoint {
            args.extend(["--region".to_owned(), region]);
        }
        if ak_sk {
            args.extend(["--ak", "HWAK", "--sk", "hw-secret-key"].map(str::to_owned));
        }
        args.extend(["logs", "collect", "s"].map(str::to_owned));
        let matches = crate::args::Cli::command().get_matches_from(args);
        let cli = crate::args::Cli::from_arg_matches(&matches).unwrap();
        Settings::resolve(&cli.connection, &matches).unwrap()
    }

    fn resolve_with(
        output: &str,
        args: &ObjectArgs,
        connection: &Settings,
        vars: &[(&'static str, &'static str)],
    ) -> Result<Option<ObjectStoreConfig>, CliError> {
        resolve(
            Path::new(output),
            args,
            connection,
            &Vars(vars.iter().copied().collect()),
        )
    }

    #[test]
    fn a_directory_is_no_object_store() {
        let none = resolve_with(
            "./logs",
            &ObjectArgs::default(),
            &settings(None, false),
            &[],
        );
        assert!(matches!(none, Ok(None)));
    }

    #[test]
    fn s3_takes_the_aws_variables_and_flags_win() {
        let vars = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let config = resolve_with(
            "s3://bkt/p/",
            &ObjectArgs::default(),
            &settings(None, false),
            &vars,
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            (config.region.as_str(), config.access_key_id.as_str()),
            ("eu-west-1", "AKID")
        );
        assert_eq!(config.secret_access_key.expose(), "aws-secret");
        let flags = ObjectArgs {
            s3_endpoint: Some("https://minio.example".into()),
            s3_region: Some("local".into()),
            s3_path_style: true,
        };
        let config = resolve_with("s3://bkt", &flags, &settings(None, false), &vars)
            .unwrap()
            .unwrap();
        assert_eq!(config.endpoint.as_deref(), Some("https://minio.example"));
        assert_eq!(config.region, "local");
        assert!(config.path_style);
        assert!(!format!("{config:?}").contains("aws-secret"));
    }

    #[test]
    fn obs_takes_the_connections_ak_sk_and_region() {
        let connection = settings(Some(Endpoint::Region("cn-north-4".into())), true);
        let config = resolve_with("obs://bkt/x", &ObjectArgs::default(), &connection, &[])
            .unwrap()
            .unwrap();
        assert_eq!(
            config.endpoint.as_deref(),
            Some("https://obs.cn-north-4.myhuaweicloud.com")
        );
        assert_eq!(config.access_key_id, "HWAK");
        // s3:// does not borrow the service's AK/SK.
        let error =
            resolve_with("s3://bkt/x", &ObjectArgs::default(), &connection, &[]).unwrap_err();
        assert!(error.to_string().contains("AWS_ACCESS_KEY_ID"), "{error}");
        let error = resolve_with(
            "obs://bkt",
            &ObjectArgs::default(),
            &settings(None, true),
            &[],
        )
        .unwrap_err();
        assert!(error.to_string().contains("--s3-region"), "{error}");
    }

    #[test]
    fn bad_urls_and_endpoints_are_named() {
        let vars = [("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s")];
        let error = resolve_with(
            "s3://B",
            &ObjectArgs::default(),
            &settings(None, false),
            &vars,
        )
        .unwrap_err();
        assert!(error.to_string().contains("bucket name"), "{error}");
        let flags = ObjectArgs {
            s3_endpoint: Some("ftp://x".into()),
            ..ObjectArgs::default()
        };
        let error = resolve_with("s3://bkt", &flags, &settings(None, false), &vars).unwrap_err();
        assert!(error.to_string().contains("http://"), "{error}");
    }
}

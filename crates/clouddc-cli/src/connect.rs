//! The client the `logs` commands use: for the service as the resolved
//! [`Settings`] say, or against the embedded simulator with `--simulate`.

use clouddc::Client;
use clouddc::config::env;

#[cfg(feature = "simulate")]
use crate::embedded::Embedded;
use crate::exit::CliError;
use crate::settings::Settings;

/// A client, and the simulator it talks to when `--simulate` started one (kept
/// alive as long as the client is used).
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The embedded simulator, stopped when dropped.
    #[cfg(feature = "simulate")]
    _simulator: Option<Embedded>,
}

/// Connects as `settings` say. `announce` receives the one line telling the
/// user that the embedded simulator runs.
pub async fn connect(
    settings: &Settings,
    announce: impl FnOnce(&str),
) -> Result<Connection, CliError> {
    #[cfg(not(feature = "simulate"))]
    if settings.simulate {
        let _ = announce;
        return Err(CliError::Config(
            "this clouddc was built without the simulator (the `simulate` feature): give --endpoint or --region instead of --simulate".into(),
        ));
    }
    #[cfg(feature = "simulate")]
    if settings.simulate {
        let simulator = Embedded::start(settings.project_id.as_deref()).await?;
        announce(&simulator.describe());
        let client = simulator
            .client_builder()
            .transport(settings.transport())
            .build()
            .map_err(|e| CliError::Simulator(e.to_string()))?;
        return Ok(Connection {
            client,
            _simulator: Some(simulator),
        });
    }
    let client = settings
        .client_builder()?
        .connect()
        .await
        .map_err(|e| match e {
            // Asking the metadata service or IAM failed: not a usage error.
            clouddc::Error::Transport { .. }
            | clouddc::Error::Timeout { .. }
            | clouddc::Error::Retried { .. } => CliError::Operation(e),
            e @ clouddc::Error::Credentials { .. } => CliError::Config(format!(
                "{e}; or pass --token, or --ak and --sk, or set {} or {} and {}, or write [basic] ak and sk in {} (default ~/.huaweicloud/credentials)",
                env::AUTH_TOKEN,
                env::AK,
                env::SK,
                env::CREDENTIALS_FILE
            )),
            e => CliError::Config(format!("invalid configuration: {e}")),
        })?;
    Ok(Connection {
        client,
        #[cfg(feature = "simulate")]
        _simulator: None,
    })
}

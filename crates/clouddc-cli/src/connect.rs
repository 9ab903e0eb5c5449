//! The client the `logs` commands use: for the service as the resolved
//! [`Settings`] say, or against the embedded simulator with `--simulate`.

use clouddc::Client;

use crate::embedded::Embedded;
use crate::exit::CliError;
use crate::settings::Settings;

/// A client, and the simulator it talks to when `--simulate` started one (kept
/// alive as long as the client is used).
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The embedded simulator, stopped when dropped.
    _simulator: Option<Embedded>,
}

/// Connects as `settings` say. `announce` receives the one line telling the
/// user that the embedded simulator runs.
pub async fn connect(
    settings: &Settings,
    announce: impl FnOnce(&str),
) -> Result<Connection, CliError> {
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
        .build()
        .map_err(|e| CliError::Config(format!("invalid configuration: {e}")))?;
    Ok(Connection {
        client,
        _simulator: None,
    })
}

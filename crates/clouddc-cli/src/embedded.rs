//! The simulator embedded in this process by `--simulate`, so that the
//! README's first command needs no account, no endpoint and no second
//! terminal. (`clouddc sim`, the simulator served on its own, is
//! [`crate::commands`]' `sim`.)

use std::time::Duration;

use clouddc::{ClientBuilder, Secret};
use clouddc_sim::{SimConfig, SimHandle, Simulator};

use crate::exit::{CliError, chain};

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

    /// The line telling the user that requests go to the embedded simulator,
    /// and that it starts empty: an export id from elsewhere is unknown to it.
    pub fn describe(&self) -> String {
        format!(
            "running against the embedded simulator at {} (project {}, exports take {} s, archives {} KiB; it starts empty and forgets everything when the command ends)",
            self.handle.base_url(),
            crate::text::clean(self.handle.project_id()),
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

#[cfg(test)]
mod tests {
    use super::*;

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

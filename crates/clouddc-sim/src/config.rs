//! What a simulator is started with.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clouddc_auth::Secret;

use crate::dialect::Dialect;
use crate::faults::FaultSpec;

/// The project id a simulator serves unless told otherwise.
pub const DEFAULT_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";

/// The settings of a simulator. `Default` gives a quiet, fault-free service on
/// `127.0.0.1:0` with no credentials: add a token or an AK/SK pair.
#[derive(Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The project every credential belongs to; other projects' paths get 403.
    pub project_id: String,
    /// Tokens accepted in `X-Auth-Token`.
    pub tokens: Vec<Secret>,
    /// AK/SK pairs accepted in signed requests.
    pub ak_sk: Vec<(String, Secret)>,
    /// How long an export takes from 0 to 100 %.
    pub export_duration: Duration,
    /// The size of each archive in bytes: exact, or the smallest archive
    /// (about 4 KiB) if that is larger.
    pub archive_bytes: u64,
    /// How statuses and percentages are worded.
    pub dialect: Dialect,
    /// Which faults to inject, how often.
    pub faults: FaultSpec,
    /// The seed of fault decisions and archive content.
    pub seed: u64,
    /// Requests per second allowed per credential (token bucket, burst of one
    /// second's worth); `None` for no limit.
    pub rate_limit: Option<f64>,
    /// How long a finished task stays answerable.
    pub task_ttl: Duration,
    /// How many tasks may exist at once; more exports answer 429.
    pub max_tasks: usize,
    /// How many downloads may stream at once; more answer 429.
    pub max_downloads: usize,
    /// The servers whose logs can be exported; `None` means every well-formed
    /// id can, whether or not the inventory lists it.
    pub servers: Option<Vec<String>>,
    /// How many servers the inventory operations list (`srv-0001`, ...).
    pub inventory: usize,
    /// How long every response is held back, standing in for a WAN.
    pub latency: Duration,
    /// How long a stalled download stays silent before its connection drops.
    pub stall_for: Duration,
    /// How long a slow response is held back.
    pub slow_for: Duration,
    /// How far `X-Sdk-Date` may be from the simulator's clock.
    pub max_clock_skew: Duration,
    /// How long the metadata service's temporary credentials live.
    pub credential_ttl: Duration,
    /// What IAM's project lookup answers: `(region, project id)` pairs, so a
    /// region may have no project or several; `None` answers every region
    /// with the one project served.
    pub project_regions: Option<Vec<(String, String)>>,
    /// Serve HTTPS with a certificate made at start for `127.0.0.1` and
    /// `localhost`, signed by a CA made with it
    /// ([`crate::SimHandle::tls_authority`]).
    pub tls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            project_id: DEFAULT_PROJECT_ID.to_owned(),
            tokens: Vec::new(),
            ak_sk: Vec::new(),
            export_duration: Duration::from_secs(10),
            archive_bytes: 256 * 1024,
            dialect: Dialect::default(),
            faults: FaultSpec::none(),
            seed: 0,
            rate_limit: None,
            task_ttl: Duration::from_secs(3600),
            max_tasks: 100_000,
            max_downloads: 512,
            servers: None,
            inventory: Self::DEFAULT_INVENTORY,
            latency: Duration::ZERO,
            stall_for: Duration::from_secs(30),
            slow_for: Duration::from_millis(1500),
            max_clock_skew: Duration::from_secs(15 * 60),
            credential_ttl: Duration::from_secs(3600),
            project_regions: None,
            tls: false,
        }
    }
}

impl SimConfig {
    /// The largest archive the simulator makes: tar's octal size field holds
    /// up to 8 GiB per member.
    pub const MAX_ARCHIVE_BYTES: u64 = 8 * 1024 * 1024 * 1024 - 64 * 1024 * 1024;

    /// The size of the default inventory: enough for every README example.
    pub const DEFAULT_INVENTORY: usize = 16;

    /// The largest inventory, which the simulator builds in memory at start.
    pub const MAX_INVENTORY: usize = 100_000;

    /// An inventory of `count` servers that is also the set of exportable
    /// servers: an export of an id the inventory does not list answers 404, as
    /// the service would.
    pub fn with_inventory(mut self, count: usize) -> Self {
        self.inventory = count;
        self.servers = Some(
            (1..=count)
                .map(|index| crate::inventory::server_id(index, count))
                .collect(),
        );
        self
    }

    /// Checks the settings before anything binds.
    pub(crate) fn validate(&self) -> Result<(), crate::SimError> {
        let bad = |what: &'static str, why: String| Err(crate::SimError::Config { what, why });
        if clouddc_auth::path_id(&self.project_id).is_err() {
            return bad(
                "project_id",
                "must be 1 to 128 characters, not . or ..".into(),
            );
        }
        if self.archive_bytes > Self::MAX_ARCHIVE_BYTES {
            return bad(
                "archive_bytes",
                format!("must be at most {} bytes", Self::MAX_ARCHIVE_BYTES),
            );
        }
        if let Some(rate) = self.rate_limit
            && !(rate.is_finite() && rate > 0.0)
        {
            return bad("rate_limit", "must be a positive number per second".into());
        }
        if self.max_tasks == 0 || self.max_downloads == 0 {
            return bad("max_tasks/max_downloads", "must be at least 1".into());
        }
        if self.inventory > Self::MAX_INVENTORY {
            return bad(
                "inventory",
                format!("must be at most {} servers", Self::MAX_INVENTORY),
            );
        }
        if self.credential_ttl < Duration::from_secs(1) {
            return bad("credential_ttl", "must be at least 1s".into());
        }
        if self.ak_sk.iter().any(|(ak, _)| ak.is_empty()) {
            return bad("ak_sk", "an access key must not be empty".into());
        }
        Ok(())
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens and SKs are `Secret`s and print redacted; the AKs are not secret.
        f.debug_struct("SimConfig")
            .field("addr", &self.addr)
            .field("project_id", &self.project_id)
            .field("tokens", &self.tokens)
            .field("ak_sk", &self.ak_sk)
            .field("export_duration", &self.export_duration)
            .field("archive_bytes", &self.archive_bytes)
            .field("dialect", &self.dialect)
            .field("faults", &self.faults.to_string())
            .field("seed", &self.seed)
            .field("rate_limit", &self.rate_limit)
            .field("task_ttl", &self.task_ttl)
            .field("max_tasks", &self.max_tasks)
            .field("max_downloads", &self.max_downloads)
            .field("servers", &self.servers.as_ref().map(Vec::len))
            .field("inventory", &self.inventory)
            .field("latency", &self.latency)
            .field("credential_ttl", &self.credential_ttl)
            .field("project_regions", &self.project_regions)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

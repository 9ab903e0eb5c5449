//! Choosing servers from the inventory: the filter flags shared by `servers
//! list` and `logs collect --all`, and the selection they make.
//!
//! `--manage-state` is sent to `ListServers` (the only filter the service
//! applies); the others are applied here as the pages arrive, and `--alarmed`
//! asks `ListAlarms` which servers raised an alarm in the window.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use clouddc::types::{AlarmHistory, PhysicalServer};
use clouddc::{AlarmQuery, Client, HealthState, ManageState, ServerQuery};
use futures::TryStreamExt;

use crate::exit::CliError;

/// Which servers of the inventory to keep.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Inventory filters")]
pub struct FilterArgs {
    /// Only servers in this management state: onboard, os-ready, ready, in-use,
    /// maintain, offboarding [applied by the service]
    #[arg(long, value_name = "STATE", value_parser = parse_manage_state)]
    pub manage_state: Option<ManageState>,
    /// Only servers in this health state: OK, Warning, Critical, Unknown; repeat
    /// for any of several [applied by clouddc after paging]
    #[arg(long, value_name = "STATE", value_parser = parse_health)]
    pub health: Vec<HealthState>,
    /// Only servers with this tag; repeat and all must match [applied by clouddc]
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Only servers in this data centre; repeat for any of several [applied by clouddc]
    #[arg(long, value_name = "DC")]
    pub dc: Vec<String>,
    /// Only servers in this rack; repeat for any of several [applied by clouddc]
    #[arg(long, value_name = "RACK")]
    pub rack: Vec<String>,
    /// Only servers that raised an alarm within --since [from ListAlarms]
    #[arg(long)]
    pub alarmed: bool,
    /// The alarm window of --alarmed, back from now, e.g. 90m, 24h, 7d
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_since, requires = "alarmed")]
    pub since: Duration,
    /// Only alarms of this level: critical, major, minor, info (or 1-4); repeat
    /// for any of several [with --alarmed]
    #[arg(long, value_name = "LEVEL", value_parser = parse_alarm_level, requires = "alarmed")]
    pub alarm_level: Vec<u32>,
}

impl FilterArgs {
    /// Whether any filter was given.
    pub fn any(&self) -> bool {
        self.manage_state.is_some()
            || !self.health.is_empty()
            || !self.tags.is_empty()
            || !self.dc.is_empty()
            || !self.rack.is_empty()
            || self.alarmed
    }

    /// Whether `server` passes the filters clouddc applies (all but
    /// `--manage-state`, which the service applied, and `--alarmed`).
    pub fn keeps(&self, server: &PhysicalServer) -> bool {
        let location = server.location.as_ref();
        let any_of = |wanted: &[String], have: Option<&String>| {
            wanted.is_empty() || have.is_some_and(|have| wanted.contains(have))
        };
        (self.health.is_empty()
            || server
                .health_state
                .as_ref()
                .is_some_and(|h| self.health.contains(h)))
            && any_of(&self.dc, location.and_then(|l| l.dc.as_ref()))
            && any_of(&self.rack, location.and_then(|l| l.rack.as_ref()))
            && self.tags.iter().all(|(key, value)| {
                server
                    .tags
                    .iter()
                    .any(|t| t.key == *key && t.value.as_deref().unwrap_or_default() == value)
            })
    }
}

/// The inventory's servers that pass `filters`, in the service's order.
pub async fn servers(
    client: &Client,
    filters: &FilterArgs,
) -> Result<Vec<PhysicalServer>, CliError> {
    selected(client, filters, |server| server).await
}

/// The ids of the inventory's servers that pass `filters`, in the service's
/// order. Only the ids are kept, page by page: a 10,000-server inventory is
/// tens of MiB as records and a few hundred KiB as ids.
pub async fn server_ids(client: &Client, filters: &FilterArgs) -> Result<Vec<String>, CliError> {
    selected(client, filters, |server| server.id).await
}

/// What `keep` makes of each server that passes `filters`.
async fn selected<T>(
    client: &Client,
    filters: &FilterArgs,
    keep: impl Fn(PhysicalServer) -> T,
) -> Result<Vec<T>, CliError> {
    let alarmed = if filters.alarmed {
        Some(alarmed_servers(client, filters).await?)
    } else {
        None
    };
    let query = ServerQuery {
        manage_state: filters.manage_state.clone(),
        ..ServerQuery::default()
    };
    let kept: Vec<T> = client
        .servers(query)
        .try_filter(|server| {
            let passes = filters.keeps(server)
                && alarmed.as_ref().is_none_or(|ids| ids.contains(&server.id));
            std::future::ready(passes)
        })
        .map_ok(keep)
        .try_collect()
        .await?;
    Ok(kept)
}

/// The ids named by alarms raised within `--since` (at the levels asked for).
/// An alarm names its server in its metric's dimensions; the dimension's name
/// is not documented, so every dimension value counts.
async fn alarmed_servers(
    client: &Client,
    filters: &FilterArgs,
) -> Result<HashSet<String>, CliError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let from = now.saturating_sub(filters.since);
    let levels: Vec<Option<u32>> = if filters.alarm_level.is_empty() {
        vec![None]
    } else {
        filters.alarm_level.iter().copied().map(Some).collect()
    };
    let mut ids = HashSet::new();
    for level in levels {
        let query = AlarmQuery {
            level,
            from_ms: Some(millis(from)),
            to_ms: Some(millis(now)),
            ..AlarmQuery::default()
        };
        let alarms: Vec<AlarmHistory> = client.alarms(query).try_collect().await?;
        ids.extend(alarms.into_iter().flat_map(|alarm| {
            alarm
                .metric
                .into_iter()
                .flat_map(|m| m.dimensions)
                .filter_map(|d| d.value)
        }));
    }
    Ok(ids)
}

fn millis(at: Duration) -> u64 {
    u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
}

fn parse_manage_state(text: &str) -> Result<ManageState, String> {
    match text.parse::<ManageState>() {
        Ok(ManageState::Unknown(_)) | Err(_) => {
            Err(format!("expected one of {}", ManageState::KNOWN.join(", ")))
        }
        Ok(state) => Ok(state),
    }
}

fn parse_health(text: &str) -> Result<HealthState, String> {
    match text.parse::<HealthState>() {
        Ok(HealthState::Unknown(_)) | Err(_) => {
            Err(format!("expected one of {}", HealthState::KNOWN.join(", ")))
        }
        Ok(state) => Ok(state),
    }
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected KEY=VALUE with a non-empty KEY".into()),
    }
}

fn parse_since(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (expected e.g. 90m, 24h or 7d)"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// An alarm level by name or number (the service's 1 critical .. 4 info).
fn parse_alarm_level(text: &str) -> Result<u32, String> {
    match text.to_ascii_lowercase().as_str() {
        "critical" | "1" => Ok(1),
        "major" | "2" => Ok(2),
        "minor" | "3" => Ok(3),
        "info" | "informational" | "4" => Ok(4),
        _ => Err("expected critical, major, minor, info or 1-4".into()),
    }
}

#[cfg(test)]
mod tests {
    use clouddc::types::{Location, Tag};

    use super::*;

    fn server(health: &str, rack: &str, tags: &[(&str, &str)]) -> PhysicalServer {
        PhysicalServer {
            id: "s".into(),
            name: None,
            project_id: None,
            domain_id: None,
            manage_state: None,
            frozen_state: None,
            power_state: None,
            operation_state: None,
            health_state: Some(HealthState::from_wire(health)),
            onboard_time: None,
            location: Some(Location {
                dc: Some("DC1".into()),
                rack: Some(rack.into()),
                unit: None,
            }),
            hardware_attributes: None,
            tags: tags
                .iter()
                .map(|(k, v)| Tag {
                    key: (*k).into(),
                    value: Some((*v).into()),
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn client_side_filters_combine() {
        let filters = FilterArgs {
            health: vec![HealthState::Critical],
            rack: vec!["B12".into()],
            tags: vec![("env".into(), "prod".into())],
            ..FilterArgs::default()
        };
        assert!(filters.keeps(&server("Critical", "B12", &[("env", "prod")])));
        assert!(!filters.keeps(&server("OK", "B12", &[("env", "prod")])));
        assert!(!filters.keeps(&server("Critical", "A01", &[("env", "prod")])));
        assert!(!filters.keeps(&server("Critical", "B12", &[("env", "dev")])));
        assert!(!filters.keeps(&server("Critical", "B12", &[])));
        assert!(FilterArgs::default().keeps(&server("OK", "A01", &[])));
    }

    #[test]
    fn flag_values() {
        assert_eq!(parse_health("critical"), Ok(HealthState::Critical));
        assert!(parse_health("dying").is_err());
        assert_eq!(parse_manage_state("in-use"), Ok(ManageState::InUse));
        assert!(parse_manage_state("gone").is_err());
        assert_eq!(parse_tag("env=prod"), Ok(("env".into(), "prod".into())));
        assert_eq!(parse_tag("note="), Ok(("note".into(), String::new())));
        assert!(parse_tag("=x").is_err() && parse_tag("env").is_err());
        assert_eq!(parse_alarm_level("Major"), Ok(2));
        assert!(parse_alarm_level("5").is_err());
        assert_eq!(parse_since("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_since("0s").is_err());
    }
}

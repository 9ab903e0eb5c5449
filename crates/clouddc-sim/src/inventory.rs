//! The seeded inventory: servers with states, locations and tags spread over the
//! fleet, and the alarms and events some of them raised over the last 30 days.
//!
//! Every attribute is a pure function of (seed, server index), so a test can
//! rebuild the fleet the simulator serves from its settings, and a fleet of any
//! size costs one pass at start.

use clouddc_auth::states::{HealthState, ManageState, OperationState, PowerState};

use crate::inventory_wire::{
    AlarmHistory, AlarmLevel, Dimension, EventInfo, FrozenState, HardwareSummary, Location, Metric,
    PhysicalServer, Tag,
};

/// Servers per rack; racks fill up in id order.
pub const SERVERS_PER_RACK: usize = 20;
/// Racks per data centre.
pub const RACKS_PER_DC: usize = 10;
/// How far back alarms and events go.
pub const HISTORY_MS: i64 = 30 * 24 * 3600 * 1000;

/// The id of the `index`th server (from 1) of a fleet of `count`: `srv-0001`, ...,
/// zero-padded to the width of the largest so that ids sort as the fleet is listed
/// (`srv-00001` in a fleet of 10,000).
pub fn server_id(index: usize, count: usize) -> String {
    let width = count.max(1).to_string().len().max(4);
    format!("srv-{index:0width$}")
}

/// The fleet, its alarms and its events, newest alarm and event first.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The servers, in listing order (their ids' numeric order).
    pub servers: Vec<PhysicalServer>,
    /// The alarm records, newest `begin_time` first.
    pub alarms: Vec<AlarmHistory>,
    /// The events, newest first.
    pub events: Vec<EventInfo>,
}

/// A small, well-mixed hash: splitmix64 of the inputs.
fn mix(seed: u64, index: usize, salt: u64) -> u64 {
    let mut z = seed
        ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Picks from `(weight, value)` pairs by `roll` (weights sum to 100).
fn pick<T: Clone>(roll: u64, choices: &[(u64, T)]) -> T {
    let mut at = roll % 100;
    for (weight, value) in choices {
        if at < *weight {
            return value.clone();
        }
        at -= weight;
    }
    choices[choices.len() - 1].1.clone()
}

impl Inventory {
    /// `count` servers of `project`, with history up to `now_ms` (epoch ms).
    pub fn build(count: usize, seed: u64, project: &str, now_ms: i64) -> Self {
        let servers: Vec<PhysicalServer> = (1..=count)
            .map(|index| server(index, count, seed, project))
            .collect();
        let mut alarms = Vec::new();
        let mut events = Vec::new();
        for (position, server) in servers.iter().enumerate() {
            let index = position + 1;
            alarms.extend(alarms_of(server, index, seed, now_ms));
            events.extend(events_of(server, index, seed, now_ms));
        }
        alarms.sort_by(|a, b| {
            b.begin_time
                .cmp(&a.begin_time)
                .then(a.alarm_record_id.cmp(&b.alarm_record_id))
        });
        events.sort_by(|a, b| b.time.cmp(&a.time).then(a.event_id.cmp(&b.event_id)));
        Self {
            servers,
            alarms,
            events,
        }
    }

    /// The position of server `id` in the listing.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.servers
            .binary_search_by(|server| server.id.as_str().cmp(id))
            .ok()
    }

    /// Where the page after `marker` starts: the first server whose id sorts
    /// after it. A marker need not name a server (one may have been removed
    /// since the previous page), as in keyset paging.
    pub fn after(&self, marker: &str) -> usize {
        self.servers
            .partition_point(|server| server.id.as_str() <= marker)
    }
}

fn server(index: usize, count: usize, seed: u64, project: &str) -> PhysicalServer {
    let id = server_id(index, count);
    let rack_number = (index - 1) / SERVERS_PER_RACK;
    let dc = rack_number / RACKS_PER_DC;
    // Racks are named like the issue's `B12`: a row letter and a number.
    let rack = format!(
        "{}{:02}",
        char::from(b'A' + (rack_number / 20 % 26) as u8),
        rack_number % 20 + 1
    );
    let unit = format!("U{:02}", ((index - 1) % SERVERS_PER_RACK) * 2 + 1);
    let health = pick(
        mix(seed, index, 1),
        &[
            (70, HealthState::Ok),
            (15, HealthState::Warning),
            (10, HealthState::Critical),
            (5, HealthState::NotKnown),
        ],
    );
    let manage = pick(
        mix(seed, index, 2),
        &[
            (60, ManageState::InUse),
            (15, ManageState::Ready),
            (10, ManageState::Maintain),
            (5, ManageState::OsReady),
            (5, ManageState::Onboard),
            (5, ManageState::Offboarding),
        ],
    );
    let power = pick(
        mix(seed, index, 3),
        &[(85, PowerState::On), (15, PowerState::Off)],
    );
    let operation = match power {
        PowerState::Off => OperationState::PowerOffSucceed,
        _ => OperationState::PowerOnSucceed,
    };
    let env = pick(
        mix(seed, index, 4),
        &[(50, "prod"), (30, "staging"), (20, "dev")],
    );
    let team = pick(
        mix(seed, index, 5),
        &[(40, "storage"), (40, "compute"), (20, "network")],
    );
    // One server in ten is untagged, as real fleets have stragglers.
    let tags = if mix(seed, index, 6).is_multiple_of(10) {
        Vec::new()
    } else {
        vec![
            Tag {
                key: "env".into(),
                value: Some(env.into()),
            },
            Tag {
                key: "team".into(),
                value: Some(team.into()),
            },
        ]
    };
    let onboard_days = 30 + mix(seed, index, 7) % 900;
    let onboard = chrono::DateTime::from_timestamp(1_700_000_000 + onboard_days as i64 * 86_400, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    PhysicalServer {
        id: id.clone(),
        name: Some(format!("node-{index:04}")),
        project_id: Some(project.to_owned()),
        domain_id: Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9".into()),
        manage_state: Some(manage),
        frozen_state: Some(FrozenState(0)),
        power_state: Some(power),
        operation_state: Some(operation),
        health_state: Some(health),
        onboard_time: Some(onboard),
        location: Some(Location {
            dc: Some(format!("DC{}", dc + 1)),
            rack: Some(rack),
            unit: Some(unit),
        }),
        hardware_attributes: Some(HardwareSummary {
            sn: Some(format!("SN{:012X}", mix(seed, index, 8) & 0xFFFF_FFFF_FFFF)),
            manufacturer: Some("Huawei".into()),
            model: Some(
                pick(
                    mix(seed, index, 9),
                    &[(50, "TaiShan 200"), (50, "FusionServer 2288H V6")],
                )
                .into(),
            ),
            main_board_manufacturer: Some("Huawei".into()),
            main_board_serial_number: Some(format!(
                "MB{:010X}",
                mix(seed, index, 10) & 0xFF_FFFF_FFFF
            )),
        }),
        tags,
        error: None,
    }
}

/// Unhealthy servers raise one to three alarms; one healthy server in ten has a
/// cleared one.
fn alarms_of(server: &PhysicalServer, index: usize, seed: u64, now_ms: i64) -> Vec<AlarmHistory> {
    let (count, level, status) = match server.health_state {
        Some(HealthState::Critical) => (1 + mix(seed, index, 20) % 3, 1, "alarm"),
        Some(HealthState::Warning) => (
            1 + mix(seed, index, 20) % 2,
            2 + mix(seed, index, 21) % 2,
            "alarm",
        ),
        Some(HealthState::NotKnown) => (1, 4, "alarm"),
        _ if mix(seed, index, 22).is_multiple_of(10) => (1, 3, "ok"),
        _ => (0, 0, ""),
    };
    (0..count)
        .map(|n| {
            let age = (mix(seed, index, 30 + n) % HISTORY_MS as u64) as i64;
            let begin = now_ms - age;
            AlarmHistory {
                alarm_record_id: format!("ah{:016x}{index:06}", mix(seed, index, 40 + n)),
                alarm_id: Some(format!("al{index:06}{n}")),
                alarm_name: Some(
                    pick(
                        mix(seed, index, 50 + n),
                        &[
                            (40, "FanFailure"),
                            (30, "DiskPredictiveFailure"),
                            (30, "PowerSupplyLost"),
                        ],
                    )
                    .into(),
                ),
                alarm_status: Some(status.into()),
                alarm_level: u32::try_from(level)
                    .ok()
                    .and_then(std::num::NonZeroU32::new)
                    .map(AlarmLevel),
                begin_time: Some(begin),
                end_time: (status == "ok").then_some(begin + 600_000),
                last_alarm_time: Some(begin),
                metric: Some(Metric {
                    metric_name: Some("hardware_health".into()),
                    dimensions: vec![Dimension {
                        name: Some("server_id".into()),
                        value: Some(server.id.clone()),
                    }],
                }),
            }
        })
        .collect()
}

/// One server in four has an event (a power or a hardware change).
fn events_of(server: &PhysicalServer, index: usize, seed: u64, now_ms: i64) -> Vec<EventInfo> {
    if !mix(seed, index, 60).is_multiple_of(4) {
        return Vec::new();
    }
    let age = (mix(seed, index, 61) % HISTORY_MS as u64) as i64;
    let level = pick(
        mix(seed, index, 62),
        &[(10, "critical"), (20, "major"), (30, "minor"), (40, "info")],
    );
    vec![EventInfo {
        event_id: format!("ev{index:08}"),
        message_id: Some(format!("msg-{}", mix(seed, index, 63) % 100)),
        event_message: Some(format!("{} reported a hardware change", server.id)),
        event_level: Some(level.into()),
        status: Some("active".into()),
        resource_id: Some(server.id.clone()),
        time: Some(now_ms - age),
        origin_event: Some("{}".into()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_is_seeded_and_spread() {
        let a = Inventory::build(400, 7, "p", 1_800_000_000_000);
        let b = Inventory::build(400, 7, "p", 1_800_000_000_000);
        assert_eq!(a.servers, b.servers);
        let critical = a
            .servers
            .iter()
            .filter(|s| s.health_state == Some(HealthState::Critical))
            .count();
        assert!((10..=80).contains(&critical), "{critical} critical of 400");
        let racks: std::collections::HashSet<_> = a
            .servers
            .iter()
            .filter_map(|s| s.location.as_ref()?.rack.clone())
            .collect();
        assert_eq!(racks.len(), 400 / SERVERS_PER_RACK);
        assert!(a.servers.iter().any(|s| s.tags.is_empty()));
        assert!(!a.alarms.is_empty() && !a.events.is_empty());
        assert!(
            a.alarms
                .windows(2)
                .all(|w| w[0].begin_time >= w[1].begin_time)
        );
        assert_eq!(a.position("srv-0400"), Some(399));
        assert_eq!(a.position("srv-0401"), None);
        assert_eq!(a.position("srv-01"), None);
        assert_eq!(a.after("srv-0010"), 10);
        assert_eq!(a.after("srv-0010a"), 10);
        assert_eq!(a.after(""), 0);
        assert_eq!(a.after("zzz"), 400);
        let big = Inventory::build(10_000, 7, "p", 0);
        assert_eq!(big.servers[0].id, "srv-00001");
        assert!(big.servers.windows(2).all(|w| w[0].id < w[1].id));
    }
}

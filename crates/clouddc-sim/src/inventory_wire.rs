//! The inventory's JSON as the simulator sends it: the spec's `PhysicalServer`,
//! `AlarmHistory`, `EventInfo` and their list answers, field for field.
//!
//! The simulator does not link the client (whose generated types these mirror),
//! so it spells them itself; `tests/tests/it/sim/schema.rs` and the contract suites
//! check what it sends against the spec.

// Each field is the spec's field of the same name, documented there; a copy of
// every description here would only drift from it.
#![allow(missing_docs)]

use clouddc_auth::states::{HealthState, ManageState, OperationState, PowerState};
use serde::Serialize;

/// `PhysicalServer`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PhysicalServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frozen_state: Option<FrozenState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_attributes: Option<HardwareSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_state: Option<HealthState>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_state: Option<ManageState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboard_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_state: Option<PowerState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// `Location`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `HardwareSummary`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct HardwareSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_board_manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_board_serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sn: Option<String>,
}

/// `Tag`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Tag {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `ErrorStatus`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ErrorStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `FrozenState`: an integer on the wire.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct FrozenState(pub i32);

/// `AlarmLevel`: 1 (critical) to 4 (info) on the wire.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct AlarmLevel(pub std::num::NonZeroU32);

/// `AlarmHistory`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct AlarmHistory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_level: Option<AlarmLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
    pub alarm_record_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_alarm_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
}

/// `Metric`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Metric {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
}

/// `Dimension`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct Dimension {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `EventInfo`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EventInfo {
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
}

/// `PageInfo`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct PageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_marker: Option<String>,
}

/// The answer of `ListServers`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ListServersResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
    pub servers: Vec<PhysicalServer>,
}

/// The answer of `ListAlarms`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ListAlarmsResponse {
    pub alarms: Vec<AlarmHistory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

/// The answer of `ListEvents`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ListEventsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    pub events: Vec<EventInfo>,
}

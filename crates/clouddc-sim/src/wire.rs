//! The JSON the simulator sends. Each type derives `JsonSchema`, and a test in
//! `tests/` compares it with the matching component of `openapi/clouddc.yaml`,
//! so the simulator cannot drift from the spec.

use schemars::JsonSchema;
use serde::Serialize;

/// A log export task: the body of the export and status responses
/// (`#/components/schemas/ExportTask`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(rename = "ExportTask")]
pub struct WireTask {
    /// The task's ID.
    pub export_id: String,
    /// The task's status, worded by the dialect.
    pub status: String,
    /// Progress, 0 to 100, in the dialect's form. Omitted when unknown, never
    /// `null` (hence the schema of the inner type).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schemars(with = "WirePercentage")]
    pub percentage: Option<WirePercentage>,
    /// When the task started, ISO 8601. Omitted when unknown, never `null`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schemars(with = "String")]
    pub created_at: Option<String>,
}

/// A percentage as a string (`"30"`, `"30%"`) or an integer (`30`)
/// (`#/components/schemas/Percentage`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
#[schemars(rename = "Percentage")]
pub enum WirePercentage {
    /// `"30"` or `"30%"`.
    Text(#[schemars(regex(pattern = r"^[0-9]{1,3}(\.[0-9]+)?%?$"))] String),
    /// `30`.
    Integer(#[schemars(range(min = 0, max = 100))] u8),
}

/// The error shape of the service and of the API gateway
/// (`#/components/schemas/ErrorResponse`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(rename = "ErrorResponse")]
pub struct WireError {
    /// Error code, e.g. `APIGW.0301`.
    pub error_code: String,
    /// Error description.
    pub error_msg: String,
}

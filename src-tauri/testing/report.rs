//! What a configuration test reports: the data it used, what would be sent (preview) or what
//! was sent (run), secrets masked, and the analysis of the outcome. The JSON shape is
//! documented in docs/testing.md; every key is always present (`null` when it does not apply).

use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::integrations::TargetKind;
use crate::targets::StoredColumn;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum TestMode {
    /// Render only: nothing is sent and nothing is written.
    Preview,
    /// Send to the real target (a database test rolls back unless it commits).
    Run,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TestReport {
    pub integration_id: IntegrationId,
    pub integration_name: String,
    pub kind: TargetKind,
    pub mode: TestMode,
    /// The seed of generated data (`None` for custom data).
    pub seed: Option<u64>,
    /// The test data after checking (normalised to the field types).
    pub data: Map<String, Value>,
    /// `{method, url, headers, body}` or `{sql, params: [{field, column, type, value}]}`,
    /// secrets masked; `null` when the request could not be built.
    pub request: Value,
    pub outcome: TestOutcome,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TestOutcome {
    /// A preview that could be built, or a run the target accepted.
    pub success: bool,
    pub category: Option<ErrorCategory>,
    pub message: String,
    pub total_ms: Option<u64>,
    /// Opening the connection (DNS, TCP, TLS): API tests use a new connection.
    pub connect_ms: Option<u64>,
    /// Until the response's status and headers arrived.
    pub first_byte_ms: Option<u64>,
    pub timing_note: Option<String>,
    pub status_code: Option<u16>,
    /// Response headers, credentials redacted.
    pub headers: Option<Map<String, Value>>,
    /// The response body: JSON when it parses, else text (bounded, credentials redacted).
    pub body: Option<Value>,
    pub expectations: Vec<Expectation>,
    /// The inserted row read back inside the transaction, as the database stored it.
    pub row: Option<Vec<StoredColumn>>,
    /// Why there is no row (e.g. it could not be identified).
    pub row_note: Option<String>,
    /// Database runs: whether the row was kept (`--commit`) or rolled back.
    pub committed: Option<bool>,
    /// Set when the test was recorded as an attempt (trigger `test`).
    pub attempt_id: Option<AttemptId>,
    pub handoff_id: Option<HandoffId>,
}

/// One check of the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Expectation {
    pub name: String,
    pub passed: bool,
    pub reason: String,
}

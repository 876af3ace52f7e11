//! The Test Panel's and the Health Dashboard's requests beyond the shared ones (`requests`):
//! test data without a run, the check of custom data, an integration's health trend, and the
//! Integrations list's delivery summaries. Plain
//! serde types with the UI's camelCase names, shared by the HTTP API and the Tauri commands;
//! each `App` method checks its request (errors name the field) and calls the capability.

use super::App;
use super::requests::MAX_SEED;
use crate::error::AppError;
use crate::health::{DeliverySummary, HealthSnapshot, MAX_HISTORY_RUNS};
use crate::testing::{GenerateOptions, GeneratedData};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How many runs the dashboard's trend shows when no limit is given.
const DEFAULT_HISTORY: u32 = 20;

/// `POST /api/v1/tests/data`: generate test data from the field schema, without running.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestDataRequest {
    pub integration: String,
    /// Reproduces earlier data; a random one is drawn (and reported) without it.
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub seed: Option<u64>,
    /// Every field, not only the required ones.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub all_fields: bool,
}

/// `POST /api/v1/tests/check`: check custom test data against the field schema.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestCheckRequest {
    pub integration: String,
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub data: Value,
}

/// The answer to a check that passed: the data as a test would use it (normalised to the field
/// types). Problems are an `invalid` error with one detail per field.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct CheckedData {
    pub data: Map<String, Value>,
}

/// `GET /api/v1/health/history`: an integration's kept health results, newest first.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthHistoryQuery {
    pub integration: String,
    /// 1 to 500 (default 20).
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
}

/// The window of the delivery summaries when none is given.
const DEFAULT_DELIVERY_WINDOW: &str = "24h";

/// `GET /api/v1/deliveries`: every integration's last delivery and its deliveries over a
/// window.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// An age back from now: `1h`, `24h`, `7d` (default 24h, at most 90 days).
    #[cfg_attr(test, ts(optional))]
    pub window: Option<String>,
}

impl App {
    pub async fn test_data_request(&self, r: TestDataRequest) -> Result<GeneratedData, AppError> {
        if r.seed.is_some_and(|s| s > MAX_SEED) {
            return Err(AppError::invalid(
                "seed",
                format!("must be at most {MAX_SEED}"),
            ));
        }
        // Drawn here (not by `generate`) so that the seed reported survives JSON exactly.
        let seed = r.seed.unwrap_or_else(|| rand::random::<u64>() & MAX_SEED);
        let options = GenerateOptions {
            seed: Some(seed),
            all_fields: r.all_fields,
        };
        self.generate_test_data(&r.integration, options).await
    }

    pub async fn test_check_request(&self, r: TestCheckRequest) -> Result<CheckedData, AppError> {
        if !r.data.is_object() {
            return Err(AppError::invalid(
                "data",
                "must be a JSON object of field values",
            ));
        }
        let data = self.check_test_data(&r.integration, &r.data).await?;
        Ok(CheckedData { data })
    }

    pub async fn health_history_query(
        &self,
        q: &HealthHistoryQuery,
    ) -> Result<Vec<HealthSnapshot>, AppError> {
        let limit = q.limit.unwrap_or(DEFAULT_HISTORY);
        if !(1..=MAX_HISTORY_RUNS).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_HISTORY_RUNS}"),
            ));
        }
        if q.integration.trim().is_empty() {
            return Err(AppError::invalid(
                "integration",
                "give an integration's id or name",
            ));
        }
        self.health_history(&q.integration, limit).await
    }

    pub async fn delivery_summaries_query(
        &self,
        q: &DeliveriesQuery,
    ) -> Result<Vec<DeliverySummary>, AppError> {
        let window = q
            .window
            .as_deref()
            .filter(|w| !w.trim().is_empty())
            .unwrap_or(DEFAULT_DELIVERY_WINDOW);
        let window = super::time_arg::parse_age(window, "window")?;
        self.delivery_summaries(window).await
    }
}

//! The seed's routes, accepted on a source (docs/intake.md, "The seed's routes"): its database
//! handoff (`{dbConfig, data}`), its database test (`{dbConfig, testOnly}`) and its push
//! (`{system, mapping, data}`). A body never chooses where data goes: `dbConfig` only names one
//! of the database integrations the source may name (its credentials are ignored, never used),
//! and `mapping` one of the source's mappings.

use super::App;
use crate::error::AppError;
use crate::health::HealthStatus;
use crate::intake::IntakeError;
use crate::intake::mappings::Mapping;
use crate::intake::sources::Source;
use crate::integrations::{DbType, Integration};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The seed's `dbConfig`: what names the table. Its `username` and `password` may be sent (the
/// seed sends them) and are ignored.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedDbConfig {
    #[serde(rename = "type")]
    db_type: DbType,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    database: String,
    table: String,
}

/// `POST …/api/data-handoff/database`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedDatabaseBody {
    pub db_config: SeedDbConfig,
    /// The collected field values.
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub data: Value,
    /// Not in the seed; a sender that has one should send it.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `POST …/api/data-handoff/test-database`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedTestBody {
    pub db_config: SeedDbConfig,
    #[serde(default)]
    #[allow(dead_code)] // The seed sends it; a test is all this route does.
    pub test_only: bool,
}

/// `POST …/api/integrations/push`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPushBody {
    /// The source's own name.
    pub system: String,
    /// One of the source's mappings, by name.
    pub mapping: String,
    /// What the mapping reads (its pointers start here).
    pub data: Value,
}

/// What the database test answers: the seed's `{success, message}`, and each check.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SeedTestAnswer {
    pub success: bool,
    pub message: String,
    pub integration: String,
    /// `name: status — message`, one per check (never a credential).
    pub checks: Vec<String>,
}

pub(super) fn read<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shape: &str,
) -> Result<T, AppError> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::invalid("body", format!("must be {shape}: {e}")))
}

impl SeedDbConfig {
    /// Whether `i` is the database table this names (type, host, port, database, table).
    fn names(&self, i: &Integration) -> bool {
        let Some(db) = &i.config.database else {
            return false;
        };
        let host = |h: &Option<String>| {
            h.as_deref()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .map(|h| {
                    if h == "127.0.0.1" || h == "::1" {
                        "localhost".to_string()
                    } else {
                        h
                    }
                })
                .unwrap_or_else(|| "localhost".to_string())
        };
        db.db_type == self.db_type
            && db.database == self.database
            && db.table.eq_ignore_ascii_case(&self.table)
            && (db.db_type == DbType::Sqlite
                || (host(&db.hostname) == host(&self.hostname)
                    && db.port.or(db.db_type.default_port())
                        == self.port.or(self.db_type.default_port())))
    }
}

impl App {
    /// The database integration of those `source` may name that `cfg` names.
    pub(super) async fn seed_integration(
        &self,
        source: &Source,
        cfg: &SeedDbConfig,
    ) -> Result<Integration, IntakeError> {
        for id in &source.integrations {
            match self.store.integration(*id).await {
                Ok(Some(i)) if cfg.names(&i) => return Ok(i),
                Ok(_) => {}
                Err(e) => return Err(IntakeError::Unavailable(e.into())),
            }
        }
        Err(IntakeError::NotAllowed(format!(
            "{} {}/{}",
            cfg.db_type.as_str(),
            cfg.database,
            cfg.table
        )))
    }

    /// The mapping of `source` named `name`.
    pub(super) async fn seed_mapping(
        &self,
        source: &Source,
        name: &str,
    ) -> Result<Mapping, IntakeError> {
        let mappings = self
            .store
            .mappings(Some(source.id))
            .await
            .map_err(|e| IntakeError::Unavailable(e.into()))?;
        mappings
            .into_iter()
            .find(|m| m.name == name.trim())
            .ok_or_else(|| {
                IntakeError::Invalid(AppError::invalid(
                    "mapping",
                    format!("the source has no mapping named '{name}'"),
                ))
            })
    }

    /// Tests the database integration a `test-database` body names, as the health check does
    /// (login, table, columns, privilege; a sample insert rolled back): nothing is written.
    pub(super) async fn seed_test(
        &self,
        integration: &Integration,
    ) -> Result<SeedTestAnswer, IntakeError> {
        let report = self
            .health(Some(&integration.id.to_string()), None)
            .await
            .map_err(IntakeError::Unavailable)?;
        let Some(result) = report.integrations.into_iter().next() else {
            return Err(IntakeError::Unavailable(AppError::internal(
                "the health check did not check the integration",
            )));
        };
        let success = result.status != HealthStatus::Error;
        let failed = result
            .checks
            .iter()
            .find(|c| c.status == HealthStatus::Error)
            .map(|c| format!("{}: {}", c.name, c.reason.clone().unwrap_or_default()));
        Ok(SeedTestAnswer {
            success,
            message: failed.unwrap_or_else(|| {
                "connected: the table exists and the console may insert into it".to_string()
            }),
            integration: result.name.clone(),
            checks: result
                .checks
                .iter()
                .map(|c| match &c.reason {
                    Some(r) => format!("{}: {} — {r}", c.name, c.status.as_str()),
                    None => format!("{}: {}", c.name, c.status.as_str()),
                })
                .collect(),
        })
    }
}

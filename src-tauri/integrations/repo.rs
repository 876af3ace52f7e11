//! Integration rows in the local store: reading them. Every write also writes its audit entry,
//! in the same transaction, so the writes sit beside the audit trail (`audit::integration_writes`).

use super::{Integration, IntegrationConfig, TargetKind};
use crate::ids::IntegrationId;
use crate::store::{Store, StoreError, from_ms};
use sqlx::Row;

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Integration, StoreError> {
    let id: String = row.try_get("id")?;
    let config: String = row.try_get("config")?;
    let config: IntegrationConfig = serde_json::from_str(&config)
        .map_err(|e| StoreError::Corrupt(format!("integration {id}: {e}")))?;
    Ok(Integration {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("integration id {id}")))?,
        name: row.try_get("name")?,
        kind: config.kind,
        config,
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

/// A config as its row stores it.
pub fn encode_config(config: &IntegrationConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Whether a write failed on the unique name.
pub fn is_name_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation())
}

impl Store {
    pub async fn integration(&self, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        let row = sqlx::query("SELECT * FROM integrations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// By id, or else by name (case-insensitive).
    pub async fn find_integration(
        &self,
        id_or_name: &str,
    ) -> Result<Option<Integration>, StoreError> {
        if let Ok(id) = id_or_name.parse::<IntegrationId>()
            && let Some(found) = self.integration(id).await?
        {
            return Ok(Some(found));
        }
        let row = sqlx::query("SELECT * FROM integrations WHERE name = ? COLLATE NOCASE")
            .bind(id_or_name.trim())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn integrations(
        &self,
        kind: Option<TargetKind>,
    ) -> Result<Vec<Integration>, StoreError> {
        let rows = sqlx::query("SELECT * FROM integrations WHERE (?1 IS NULL OR kind = ?1) ORDER BY name COLLATE NOCASE")
            .bind(kind.map(TargetKind::as_str))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }
}

//! Integration rows in the local store. Every write also writes its audit entry, in the same
//! transaction.

use super::{Integration, IntegrationConfig, TargetKind};
use crate::audit::{NewAuditEvent, insert_event};
use crate::ids::IntegrationId;
use crate::store::{Store, StoreError, from_ms, now_ms};
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

fn encode(config: &IntegrationConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Whether a write failed on the unique name.
pub fn is_name_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation())
}

impl Store {
    /// Saves a new integration and its audit entry in one transaction.
    pub async fn insert_integration(
        &self,
        id: IntegrationId,
        config: &IntegrationConfig,
        audit: &NewAuditEvent,
    ) -> Result<Integration, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        // The entry goes first: whatever fails after it takes it back with the transaction.
        insert_event(&mut tx, audit).await?;
        sqlx::query("INSERT INTO integrations (id, name, kind, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id.to_string())
            .bind(&config.name)
            .bind(config.kind.as_str())
            .bind(encode(config)?)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.integration(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted integration vanished".into()))
    }

    /// Replaces an integration's config and writes the audit entry `audit` makes from the
    /// config it replaces, in one transaction. `false` (nothing written) when it does not exist.
    pub async fn update_integration(
        &self,
        id: IntegrationId,
        config: &IntegrationConfig,
        audit: impl FnOnce(&IntegrationConfig) -> NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT config FROM integrations WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Ok(false);
        };
        let current: IntegrationConfig = serde_json::from_str(&current)
            .map_err(|e| StoreError::Corrupt(format!("integration {id}: {e}")))?;
        insert_event(&mut tx, &audit(&current)).await?;
        let done = sqlx::query(
            // `updated_at` only grows: it versions the cached secrets of other processes.
            "UPDATE integrations SET name = ?, kind = ?, config = ?, updated_at = max(updated_at + 1, ?) WHERE id = ?",
        )
        .bind(&config.name)
        .bind(config.kind.as_str())
        .bind(encode(config)?)
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Marks an integration changed (e.g. a secret was set) so cached state is rebuilt, and
    /// writes the change's audit entry in the same transaction.
    pub async fn touch_integration(
        &self,
        id: IntegrationId,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        insert_event(&mut tx, audit).await?;
        sqlx::query("UPDATE integrations SET updated_at = max(updated_at + 1, ?) WHERE id = ?")
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an integration and writes its audit entry in one transaction; `false` (nothing
    /// written) when it does not exist.
    pub async fn delete_integration(
        &self,
        id: IntegrationId,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        insert_event(&mut tx, audit).await?;
        let done = sqlx::query("DELETE FROM integrations WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

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

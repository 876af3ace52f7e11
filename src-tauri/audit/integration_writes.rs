//! Integration rows written with their audit entry, in one transaction: the audit trail sits
//! above the integrations (it diffs their configs), so the writes that must record an entry
//! live here rather than in `integrations`.

use super::{NewAuditEvent, insert_event};
use crate::ids::IntegrationId;
use crate::integrations::{Integration, IntegrationConfig, encode_config as encode};
use crate::store::{Store, StoreError, now_ms};

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
}

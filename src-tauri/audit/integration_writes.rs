//! Integration rows written with their audit entry, in one transaction: the audit trail sits
//! above the integrations (it diffs their configs), so the writes that must record an entry
//! live here rather than in `integrations`.

use super::NewAuditEvent;
use crate::ids::IntegrationId;
use crate::integrations::{Integration, IntegrationConfig, encode_config as encode};
use crate::store::{Store, StoreError, now_ms, on_backend};

impl Store {
    /// Saves a new integration and its audit entry in one transaction.
    pub async fn insert_integration(
        &self,
        id: IntegrationId,
        config: &IntegrationConfig,
        audit: &NewAuditEvent,
    ) -> Result<Integration, StoreError> {
        let now = now_ms();
        let config_text = encode(config)?;
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            // The entry goes first: whatever fails after it takes it back with the transaction.
            tx.insert_audit(audit).await?;
            sqlx::query(
                "INSERT INTO integrations (id, name, kind, config, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.to_string())
            .bind(&config.name)
            .bind(config.kind.as_str())
            .bind(&config_text)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
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
        let config_text = encode(config)?;
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            let current: Option<String> = sqlx::query_scalar(db.dialect().pick(
                "SELECT config FROM integrations WHERE id = $1",
                // Another instance's update waits for this one's commit.
                "SELECT config FROM integrations WHERE id = $1 FOR UPDATE",
            ))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(current) = current else {
                // At once, not when the dropped transaction's rollback gets to run: on the
                // shared store other instances wait for what it holds.
                tx.rollback().await?;
                return Ok(false);
            };
            let current: IntegrationConfig = serde_json::from_str(&current)
                .map_err(|e| StoreError::Corrupt(format!("integration {id}: {e}")))?;
            tx.insert_audit(&audit(&current)).await?;
            let done = sqlx::query(db.dialect().pick(
                // `updated_at` only grows: it versions the cached secrets of other processes.
                "UPDATE integrations SET name = $1, kind = $2, config = $3,
                     updated_at = max(updated_at + 1, $4) WHERE id = $5",
                "UPDATE integrations SET name = $1, kind = $2, config = $3,
                     updated_at = greatest(updated_at + 1, $4) WHERE id = $5",
            ))
            .bind(&config.name)
            .bind(config.kind.as_str())
            .bind(&config_text)
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Marks an integration changed (e.g. a secret was set) so cached state is rebuilt, and
    /// writes the change's audit entry in the same transaction.
    pub async fn touch_integration(
        &self,
        id: IntegrationId,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            sqlx::query(db.dialect().pick(
                "UPDATE integrations SET updated_at = max(updated_at + 1, $1) WHERE id = $2",
                "UPDATE integrations SET updated_at = greatest(updated_at + 1, $1) WHERE id = $2",
            ))
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    /// Deletes an integration and writes its audit entry in one transaction; `false` (nothing
    /// written) when it does not exist.
    pub async fn delete_integration(
        &self,
        id: IntegrationId,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            let done = sqlx::query("DELETE FROM integrations WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}

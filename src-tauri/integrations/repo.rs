//! Integration rows in the local store: reading them. Every write also writes its audit entry,
//! in the same transaction, so the writes sit beside the audit trail (`audit::integration_writes`).

use super::{Integration, IntegrationConfig, TargetKind};
use crate::ids::IntegrationId;
use crate::store::{Store, StoreError, from_ms, on_backend};
use sqlx::AssertSqlSafe;

/// An integration's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct IntegrationRow {
    id: String,
    name: String,
    config: String,
    created_at: i64,
    updated_at: i64,
}

impl IntegrationRow {
    fn into_integration(self) -> Result<Integration, StoreError> {
        let id = self.id;
        let config: IntegrationConfig = serde_json::from_str(&self.config)
            .map_err(|e| StoreError::Corrupt(format!("integration {id}: {e}")))?;
        Ok(Integration {
            id: id
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("integration id {id}")))?,
            name: self.name,
            kind: config.kind,
            config,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, config, created_at, updated_at";

/// A config as its row stores it.
pub fn encode_config(config: &IntegrationConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Whether a write failed on the unique name.
pub fn is_name_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation())
}

impl Store {
    /// By id. On the local store, from memory while the integrations are unchanged
    /// (`store::memo`).
    pub async fn integration(&self, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        let key = format!("id {id}");
        self.memoized(key, self.integration_row(id)).await
    }

    /// By id, or else by name (case-insensitive). On the local store, from memory while the
    /// integrations are unchanged (`store::memo`).
    pub async fn find_integration(
        &self,
        id_or_name: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let key = format!("find {id_or_name}");
        self.memoized(key, self.find_integration_row(id_or_name))
            .await
    }

    /// What `read` finds, kept under `key` at the version read before it (nothing is kept
    /// for an integration not found).
    async fn memoized(
        &self,
        key: String,
        read: impl Future<Output = Result<Option<Integration>, StoreError>>,
    ) -> Result<Option<Integration>, StoreError> {
        let memo = self.integrations_memo();
        if let Some((memo, version)) = memo
            && let Some(found) = memo.get::<Integration>(version, &key)
        {
            return Ok(Some(found));
        }
        let found = read.await?;
        if let (Some((memo, version)), Some(found)) = (memo, &found) {
            memo.put(version, key, found.clone());
        }
        Ok(found)
    }

    async fn integration_row(&self, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        let row: Option<IntegrationRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM integrations WHERE id = $1"
            )))
            .bind(id.to_string())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(IntegrationRow::into_integration).transpose()
    }

    async fn find_integration_row(
        &self,
        id_or_name: &str,
    ) -> Result<Option<Integration>, StoreError> {
        if let Ok(id) = id_or_name.parse::<IntegrationId>()
            && let Some(found) = self.integration_row(id).await?
        {
            return Ok(Some(found));
        }
        let row: Option<IntegrationRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM integrations WHERE {}",
                db.dialect().nocase_eq("name", "$1")
            )))
            .bind(id_or_name.trim())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(IntegrationRow::into_integration).transpose()
    }

    pub async fn integrations(
        &self,
        kind: Option<TargetKind>,
    ) -> Result<Vec<Integration>, StoreError> {
        let rows: Vec<IntegrationRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM integrations WHERE ($1 IS NULL OR kind = $1) \
                 ORDER BY {}",
                db.dialect().nocase_order("name")
            )))
            .bind(kind.map(TargetKind::as_str))
            .fetch_all(&db.read)
            .await
        })?;
        rows.into_iter()
            .map(IntegrationRow::into_integration)
            .collect()
    }
}

//! SQL over `audit_log`: one insert (inside the caller's transaction, or in one of its own) and
//! the filtered listing. Values are always bound; only fixed fragments are put together. There
//! is no update and no delete here, and the table's triggers refuse them anyway.

use super::{AuditAction, AuditEvent, AuditObject, ObjectType};
use crate::store::{Store, StoreError, from_ms};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// The most entries one listing returns.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    /// ms since the epoch.
    pub at: i64,
    pub actor: String,
    pub action: AuditAction,
    pub object: Option<AuditObject>,
    pub details: Value,
}

/// Entries about an integration: recorded under `id` (the live integration the filter named),
/// or under `id_or_name` as an id or a name (case-insensitive), which finds a removed or
/// renamed one's entries too.
#[derive(Debug, Clone)]
pub struct IntegrationMatch {
    pub id: Option<String>,
    pub id_or_name: String,
}

/// A listing as the store runs it (the service resolves names and checks the limit).
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub action: Option<AuditAction>,
    pub integration: Option<IntegrationMatch>,
    pub actor: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: u32,
}

/// Writes `e` on `conn` (in the caller's transaction); returns its id.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    e: &NewAuditEvent,
) -> Result<i64, StoreError> {
    let details =
        serde_json::to_string(&e.details).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let o = e.object.as_ref();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, object_type, object_id, object_name, details)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(e.at)
    .bind(&e.actor)
    .bind(e.action.as_str())
    .bind(o.map(|o| o.object_type.as_str()))
    .bind(o.map(|o| o.id.as_str()))
    .bind(o.and_then(|o| o.name.as_deref()))
    .bind(details)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

fn from_row(row: &SqliteRow) -> Result<AuditEvent, StoreError> {
    let id: i64 = row.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("audit entry {id}: {what}"));
    let action: String = row.try_get("action")?;
    let object_type: Option<String> = row.try_get("object_type")?;
    let object = match object_type {
        Some(t) => Some(AuditObject {
            object_type: ObjectType::parse(&t).ok_or_else(|| corrupt("object type"))?,
            id: row
                .try_get::<Option<String>, _>("object_id")?
                .unwrap_or_default(),
            name: row.try_get("object_name")?,
        }),
        None => None,
    };
    let details: Option<String> = row.try_get("details")?;
    Ok(AuditEvent {
        id,
        at: from_ms(row.try_get("at")?),
        actor: row.try_get("actor")?,
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("action"))?,
        object,
        details: match details {
            Some(d) => serde_json::from_str(&d).map_err(|_| corrupt("details"))?,
            None => Value::Null,
        },
    })
}

impl Store {
    /// Writes one entry in a transaction of its own; returns its id.
    pub async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert(&mut tx, e).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Entries matching `q`, newest first (by id: the order they were written in, whatever
    /// the clock did).
    pub async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, at, actor, action, object_type, object_id, object_name, details
             FROM audit_log WHERE 1 = 1",
        );
        if let Some(a) = q.action {
            qb.push(" AND action = ").push_bind(a.as_str());
        }
        if let Some(m) = &q.integration {
            qb.push(" AND object_type = 'integration' AND (object_id = ")
                .push_bind(m.id_or_name.clone())
                .push(" OR object_name = ")
                .push_bind(m.id_or_name.clone())
                .push(" COLLATE NOCASE");
            if let Some(id) = &m.id {
                qb.push(" OR object_id = ").push_bind(id.clone());
            }
            qb.push(")");
        }
        if let Some(actor) = &q.actor {
            qb.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(s) = q.since_ms {
            qb.push(" AND at >= ").push_bind(s);
        }
        if let Some(u) = q.until_ms {
            qb.push(" AND at < ").push_bind(u);
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&self.read).await?;
        rows.iter().map(from_row).collect()
    }
}

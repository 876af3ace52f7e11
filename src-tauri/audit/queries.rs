//! SQL over `audit_log`: one insert (inside the caller's transaction, or in one of its own) and
//! the filtered listing. Values are always bound; only fixed fragments are put together. There
//! is no update and no delete here, and the table's triggers refuse them anyway.

use super::{AuditAction, AuditEvent, AuditObject, ObjectType};
use crate::store::{Store, StoreError, from_ms, on_backend};
use serde_json::Value;
use sqlx::QueryBuilder;

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

/// `insert_audit(e)` on a write transaction of either back end: writes `e` in it (so it
/// commits or rolls back with the caller's other writes); returns its id.
macro_rules! insert_audit_in {
    ($($tx:ty),*) => {$(
        impl $tx {
            pub(crate) async fn insert_audit(&mut self, e: &NewAuditEvent) -> Result<i64, StoreError> {
                let details = serde_json::to_string(&e.details)
                    .map_err(|err| StoreError::Corrupt(err.to_string()))?;
                let o = e.object.as_ref();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO audit_log (at, actor, action, object_type, object_id, object_name, details)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(e.at)
                .bind(&e.actor)
                .bind(e.action.as_str())
                .bind(o.map(|o| o.object_type.as_str()))
                .bind(o.map(|o| o.id.as_str()))
                .bind(o.and_then(|o| o.name.as_deref()))
                .bind(details)
                .fetch_one(&mut **self)
                .await?;
                Ok(id)
            }
        }
    )*};
}
insert_audit_in!(crate::store::WriteTx, crate::store::postgres::SharedTx);

/// An entry's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    object_type: Option<String>,
    object_id: Option<String>,
    object_name: Option<String>,
    details: Option<String>,
}

impl AuditRow {
    fn into_event(self) -> Result<AuditEvent, StoreError> {
        let id = self.id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("audit entry {id}: {what}"));
        let object = match self.object_type {
            Some(t) => Some(AuditObject {
                object_type: ObjectType::parse(&t).ok_or_else(|| corrupt("object type"))?,
                id: self.object_id.unwrap_or_default(),
                name: self.object_name,
            }),
            None => None,
        };
        Ok(AuditEvent {
            id,
            at: from_ms(self.at),
            actor: self.actor,
            action: AuditAction::parse(&self.action).ok_or_else(|| corrupt("action"))?,
            object,
            details: match self.details {
                Some(d) => serde_json::from_str(&d).map_err(|_| corrupt("details"))?,
                None => Value::Null,
            },
        })
    }
}

impl Store {
    /// Writes one entry in a transaction of its own; returns its id.
    pub async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            let id = tx.insert_audit(e).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Entries matching `q`, newest first (by id: the order they were written in, whatever
    /// the clock did).
    pub async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(
                "SELECT id, at, actor, action, object_type, object_id, object_name, details
                 FROM audit_log WHERE 1 = 1",
            );
            if let Some(a) = q.action {
                qb.push(" AND action = ").push_bind(a.as_str());
            }
            if let Some(m) = &q.integration {
                qb.push(" AND object_type = 'integration' AND (object_id = ")
                    .push_bind(m.id_or_name.clone())
                    .push(" OR ");
                let (before, after) = db.dialect().nocase_eq_around("object_name");
                qb.push(before).push_bind(m.id_or_name.clone()).push(after);
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
            qb.build_query_as().fetch_all(&db.read).await?
        });
        rows.into_iter().map(AuditRow::into_event).collect()
    }
}

//! Intake sources (the registry of external systems): who may push messages in, how each proves
//! a message is its own ([`Verification`]), how many it may send, and which integrations it may
//! name. Their rows in the store, each write with its audit entry in one transaction. Secrets
//! are not here: the service keeps them in the secrets backend.

use super::verify::Verification;
use crate::audit::NewAuditEvent;
use crate::error::FieldProblem;
use crate::ids::{IntegrationId, SourceId};
use crate::store::{Store, StoreError, from_ms, now_ms, on_backend};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

/// The longest source name (its URL segment).
pub const MAX_SOURCE_NAME_LEN: usize = 64;
const MAX_DISPLAY_NAME_LEN: usize = 100;
/// Messages per minute a new source may send unless told otherwise.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 6_000;
/// The highest rate a source may be given (per minute).
pub const MAX_RATE_PER_MINUTE: u32 = 6_000_000;
/// The most integrations one source may name.
pub const MAX_SOURCE_INTEGRATIONS: usize = 200;

/// What kind of system a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A voice platform that reports what a call collected.
    Voice,
    /// An EHR or practice-management system pushing webhooks.
    Ehr,
    Other,
}

impl SourceKind {
    pub const ALL: [SourceKind; 3] = [Self::Voice, Self::Ehr, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Ehr => "ehr",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A source as stored (no secret).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub id: SourceId,
    /// The URL segment: `POST /intake/v1/<name>`.
    pub name: String,
    pub display_name: String,
    pub kind: SourceKind,
    pub verification: Verification,
    pub enabled: bool,
    pub rate_per_minute: u32,
    /// The integrations it may name, by id.
    pub integrations: Vec<IntegrationId>,
    /// Until when the secret the last rotation replaced is still accepted.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Source {
    /// Whether the secret a rotation replaced is still accepted at `now_ms`.
    pub fn previous_secret_accepted(&self, now_ms: i64) -> bool {
        self.previous_secret_until
            .is_some_and(|until| until.timestamp_millis() > now_ms)
    }
}

/// A source's settings as saved (checked by [`SourceSettings::check`]); integrations already
/// resolved to ids.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub name: String,
    pub display_name: String,
    pub kind: SourceKind,
    pub verification: Verification,
    pub enabled: bool,
    pub rate_per_minute: u32,
    pub integrations: Vec<IntegrationId>,
}

impl SourceSettings {
    /// Every problem of the settings, each naming its field.
    pub fn check(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut add = |field: &str, reason: String| {
            problems.push(FieldProblem {
                field: field.to_string(),
                reason,
            })
        };
        if let Err(reason) = check_source_name(&self.name) {
            add("name", reason);
        }
        let display = self.display_name.trim();
        if display.is_empty() {
            add("displayName", "must not be empty".into());
        } else if display.chars().count() > MAX_DISPLAY_NAME_LEN {
            add(
                "displayName",
                format!("is longer than {MAX_DISPLAY_NAME_LEN} characters"),
            );
        } else if display.chars().any(char::is_control) {
            add("displayName", "must not contain control characters".into());
        }
        if !(1..=MAX_RATE_PER_MINUTE).contains(&self.rate_per_minute) {
            add(
                "ratePerMinute",
                format!("must be 1 to {MAX_RATE_PER_MINUTE} messages a minute"),
            );
        }
        if self.integrations.len() > MAX_SOURCE_INTEGRATIONS {
            add(
                "integrations",
                format!("names more than {MAX_SOURCE_INTEGRATIONS} integrations"),
            );
        }
        if let Err(e) = self.verification.validate() {
            problems.push(FieldProblem {
                field: e.field.to_string(),
                reason: e.reason,
            });
        }
        problems
    }
}

/// A source name: the URL segment senders post to, so lowercase letters, digits, `-` and `_`,
/// starting with a letter or digit.
pub fn check_source_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() {
        Err("must not be empty".into())
    } else if name.len() > MAX_SOURCE_NAME_LEN {
        Err(format!("is longer than {MAX_SOURCE_NAME_LEN} characters"))
    } else if !name.chars().all(ok_char) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Err(
            "must be lowercase letters, digits, '-' and '_', starting with a letter or digit \
             (it is the URL path the sender posts to)"
                .into(),
        )
    } else {
        Ok(())
    }
}

/// Whether a write failed on the unique name.
pub fn is_source_name_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// A problem the store's row has: it was written by this code, so this is damage.
fn corrupt(id: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("intake source {id}: {what}"))
}

/// A source's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct SourceRow {
    id: String,
    name: String,
    display_name: String,
    kind: String,
    verification: String,
    enabled: bool,
    rate_per_minute: i64,
    integrations: String,
    previous_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl SourceRow {
    fn into_source(self) -> Result<Source, StoreError> {
        let id = self.id;
        Ok(Source {
            id: id.parse().map_err(|_| corrupt(&id, "id"))?,
            name: self.name,
            display_name: self.display_name,
            kind: SourceKind::parse(&self.kind).ok_or_else(|| corrupt(&id, "kind"))?,
            verification: serde_json::from_str(&self.verification).map_err(|e| corrupt(&id, e))?,
            enabled: self.enabled,
            rate_per_minute: u32::try_from(self.rate_per_minute)
                .map_err(|_| corrupt(&id, "rate"))?,
            integrations: serde_json::from_str(&self.integrations).map_err(|e| corrupt(&id, e))?,
            previous_secret_until: self.previous_until.map(from_ms),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

const COLUMNS: &str = "id, name, display_name, kind, verification, enabled, rate_per_minute, \
                       integrations, previous_until, created_at, updated_at";

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub async fn sources(&self) -> Result<Vec<Source>, StoreError> {
        let rows: Vec<SourceRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM intake_sources ORDER BY {}",
                // Byte order on both (PostgreSQL's default collation may differ from it).
                db.dialect().pick("name", "name COLLATE \"C\"")
            )))
            .fetch_all(&db.read)
            .await
        })?;
        rows.into_iter().map(SourceRow::into_source).collect()
    }

    pub async fn source(&self, id: SourceId) -> Result<Option<Source>, StoreError> {
        let row: Option<SourceRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM intake_sources WHERE id = $1"
            )))
            .bind(id.to_string())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(SourceRow::into_source).transpose()
    }

    /// By id, or else by name.
    pub async fn find_source(&self, id_or_name: &str) -> Result<Option<Source>, StoreError> {
        if let Ok(id) = id_or_name.parse::<SourceId>()
            && let Some(found) = self.source(id).await?
        {
            return Ok(Some(found));
        }
        let row: Option<SourceRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM intake_sources WHERE name = $1"
            )))
            .bind(id_or_name.trim())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(SourceRow::into_source).transpose()
    }

    /// Saves a new source and its audit entry in one transaction.
    pub async fn insert_source(
        &self,
        id: SourceId,
        s: &SourceSettings,
        audit: &NewAuditEvent,
    ) -> Result<Source, StoreError> {
        let now = now_ms();
        let (verification, integrations) = (encode(&s.verification)?, encode(&s.integrations)?);
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            sqlx::query(
                "INSERT INTO intake_sources (id, name, display_name, kind, verification, enabled,
                                             rate_per_minute, integrations, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id.to_string())
            .bind(&s.name)
            .bind(s.display_name.trim())
            .bind(s.kind.as_str())
            .bind(&verification)
            .bind(s.enabled)
            .bind(i64::from(s.rate_per_minute))
            .bind(&integrations)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        self.source(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted source vanished".into()))
    }

    /// Replaces a source's settings (and, when `previous_until` is given, when its previous
    /// secret stops being accepted) with its audit entry. `false` when it does not exist.
    pub async fn update_source(
        &self,
        id: SourceId,
        s: &SourceSettings,
        previous_until: Option<Option<i64>>,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let (verification, integrations) = (encode(&s.verification)?, encode(&s.integrations)?);
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            let done = sqlx::query(AssertSqlSafe(format!(
                "UPDATE intake_sources SET name = $1, display_name = $2, kind = $3,
                        verification = $4, enabled = $5, rate_per_minute = $6, integrations = $7,
                        previous_until = CASE WHEN $8 THEN $9 ELSE previous_until END,
                        updated_at = {}(updated_at + 1, $10)
                 WHERE id = $11",
                db.dialect().pick("max", "greatest")
            )))
            .bind(&s.name)
            .bind(s.display_name.trim())
            .bind(s.kind.as_str())
            .bind(&verification)
            .bind(s.enabled)
            .bind(i64::from(s.rate_per_minute))
            .bind(&integrations)
            .bind(previous_until.is_some())
            .bind(previous_until.flatten())
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Removes a source with its audit entry. `false` when it does not exist. Its inbox stays.
    pub async fn delete_source(
        &self,
        id: SourceId,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            let done = sqlx::query("DELETE FROM intake_sources WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_name_is_a_url_segment() {
        for ok in ["dentrix", "voice-1", "a", "ehr_bridge", "9lives"] {
            assert!(check_source_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Dentrix",
            "a b",
            "-x",
            "_x",
            "a/b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(check_source_name(bad).is_err(), "{bad:?}");
        }
    }
}

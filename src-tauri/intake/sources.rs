//! Intake sources (the registry of external systems): who may push messages in, how each proves
//! a message is its own ([`Verification`]), how many it may send, and which integrations it may
//! name. Their rows in the store, each write with its audit entry in one transaction. Secrets
//! are not here: the service keeps them in the secrets backend.

use super::verify::Verification;
use crate::audit::NewAuditEvent;
use crate::error::FieldProblem;
use crate::ids::{IntegrationId, SourceId};
use crate::store::{Store, StoreError, from_ms, now_ms};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

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

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Source, StoreError> {
    let id: String = row.try_get("id")?;
    let verification: String = row.try_get("verification")?;
    let integrations: String = row.try_get("integrations")?;
    let kind: String = row.try_get("kind")?;
    let rate: i64 = row.try_get("rate_per_minute")?;
    Ok(Source {
        id: id.parse().map_err(|_| corrupt(&id, "id"))?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        kind: SourceKind::parse(&kind).ok_or_else(|| corrupt(&id, "kind"))?,
        verification: serde_json::from_str(&verification).map_err(|e| corrupt(&id, e))?,
        enabled: row.try_get("enabled")?,
        rate_per_minute: u32::try_from(rate).map_err(|_| corrupt(&id, "rate"))?,
        integrations: serde_json::from_str(&integrations).map_err(|e| corrupt(&id, e))?,
        previous_secret_until: row
            .try_get::<Option<i64>, _>("previous_until")?
            .map(from_ms),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub async fn sources(&self) -> Result<Vec<Source>, StoreError> {
        let rows = sqlx::query("SELECT * FROM intake_sources ORDER BY name")
            .fetch_all(&self.local("intake sources")?.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn source(&self, id: SourceId) -> Result<Option<Source>, StoreError> {
        let row = sqlx::query("SELECT * FROM intake_sources WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.local("intake sources")?.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// By id, or else by name.
    pub async fn find_source(&self, id_or_name: &str) -> Result<Option<Source>, StoreError> {
        if let Ok(id) = id_or_name.parse::<SourceId>()
            && let Some(found) = self.source(id).await?
        {
            return Ok(Some(found));
        }
        let row = sqlx::query("SELECT * FROM intake_sources WHERE name = ?")
            .bind(id_or_name.trim())
            .fetch_optional(&self.local("intake sources")?.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Saves a new source and its audit entry in one transaction.
    pub async fn insert_source(
        &self,
        id: SourceId,
        s: &SourceSettings,
        audit: &NewAuditEvent,
    ) -> Result<Source, StoreError> {
        let now = now_ms();
        let mut tx = self
            .local("intake sources")?
            .write
            .begin_with("BEGIN IMMEDIATE")
            .await?;
        tx.insert_audit(audit).await?;
        sqlx::query(
            "INSERT INTO intake_sources (id, name, display_name, kind, verification, enabled,
                                         rate_per_minute, integrations, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&s.name)
        .bind(s.display_name.trim())
        .bind(s.kind.as_str())
        .bind(encode(&s.verification)?)
        .bind(s.enabled)
        .bind(i64::from(s.rate_per_minute))
        .bind(encode(&s.integrations)?)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let mut tx = self
            .local("intake sources")?
            .write
            .begin_with("BEGIN IMMEDIATE")
            .await?;
        tx.insert_audit(audit).await?;
        let mut q = sqlx::query(
            "UPDATE intake_sources SET name = ?, display_name = ?, kind = ?, verification = ?,
                    enabled = ?, rate_per_minute = ?, integrations = ?,
                    previous_until = CASE WHEN ? THEN ? ELSE previous_until END,
                    updated_at = max(updated_at + 1, ?)
             WHERE id = ?",
        )
        .bind(&s.name)
        .bind(s.display_name.trim())
        .bind(s.kind.as_str())
        .bind(encode(&s.verification)?)
        .bind(s.enabled)
        .bind(i64::from(s.rate_per_minute))
        .bind(encode(&s.integrations)?);
        q = q
            .bind(previous_until.is_some())
            .bind(previous_until.flatten())
            .bind(now_ms())
            .bind(id.to_string());
        let done = q.execute(&mut *tx).await?.rows_affected();
        if done == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a source with its audit entry. `false` when it does not exist. Its inbox stays.
    pub async fn delete_source(
        &self,
        id: SourceId,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self
            .local("intake sources")?
            .write
            .begin_with("BEGIN IMMEDIATE")
            .await?;
        tx.insert_audit(audit).await?;
        let done = sqlx::query("DELETE FROM intake_sources WHERE id = ?")
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

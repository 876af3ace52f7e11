//! The inbox: every message a source pushed in and the console accepted, with what became of
//! it. A message is written through the store's group commit before its sender is answered,
//! so an answered message survives a crash; its handoff id is chosen then too, so that taking
//! it again after a restart makes the same handoff, never a second one.
//!
//! A message's status is its own until it becomes a handoff (`received`, `ignored`, or
//! `failed` when it could not be mapped); from then on the handoff's state says `mapped`
//! (waiting or retrying), `delivered` or `failed` ([`SHOWN_STATUS`]).

use crate::ids::{HandoffId, InboxId, IntegrationId, SourceId};
use crate::store::postgres::numbered;
use crate::store::{Backend, Dialect, Store, StoreError, from_ms, on_backend};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Database, Encode, QueryBuilder, Type};
use std::sync::LazyLock;

/// The most messages one inbox page lists.
pub const MAX_INBOX_LIMIT: u32 = 1000;
pub const DEFAULT_INBOX_LIMIT: u32 = 50;

/// Which intake route took a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum IntakeEndpoint {
    /// `POST /intake/v1/<source>`: a webhook or push, mapped by the source's mappings.
    Webhook,
    /// `POST /intake/v1/<source>/handoffs`: names its integration, session and data.
    Handoff,
    /// The seed's `POST …/data-handoff/database`: `{dbConfig, data}`, for the source's database
    /// integration `dbConfig` names.
    Database,
    /// The seed's `POST …/integrations/push`: `{system, mapping, data}`, mapped by the mapping
    /// it names.
    Push,
}

impl IntakeEndpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Handoff => "handoff",
            Self::Database => "database",
            Self::Push => "push",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Webhook, Self::Handoff, Self::Database, Self::Push]
            .into_iter()
            .find(|e| e.as_str() == s)
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum InboxStatus {
    /// Accepted, not mapped yet.
    Received,
    /// A handoff was made from it, not delivered yet (or waiting to be released).
    Mapped,
    /// Its handoff was delivered.
    Delivered,
    /// It could not be mapped, or its handoff failed with no retry left.
    Failed,
    /// No mapping matched it.
    Ignored,
}

impl InboxStatus {
    pub const ALL: [InboxStatus; 5] = [
        Self::Received,
        Self::Mapped,
        Self::Delivered,
        Self::Failed,
        Self::Ignored,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Mapped => "mapped",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Ignored => "ignored",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A message's status as shown: its own until its handoff exists, then the handoff's state.
/// `m` is the message's row, `h` its handoff's (LEFT JOIN).
pub const SHOWN_STATUS: &str = "CASE WHEN h.id IS NULL THEN m.status
     WHEN h.status = 'succeeded' THEN 'delivered'
     WHEN h.status = 'failed' THEN 'failed'
     ELSE 'mapped' END";

/// A message to add to the inbox (its body already sealed).
#[derive(Debug, Clone)]
pub struct NewInboxMessage {
    pub id: InboxId,
    pub source_id: SourceId,
    pub source_name: String,
    pub endpoint: IntakeEndpoint,
    pub message_key: Option<String>,
    pub sealed_body: String,
    /// The headers kept ([`keepable_headers`]) as a JSON object, sealed; `None` when none were.
    pub sealed_headers: Option<String>,
    pub body_bytes: usize,
    pub handoff_id: Option<HandoffId>,
    pub integration_id: Option<IntegrationId>,
    pub session_id: Option<String>,
    /// The mapping a push names (id and name).
    pub mapping: Option<(crate::ids::MappingId, String)>,
    pub received_at: i64,
}

/// What the inbox answered for a message: the one just added, or, for a repeated message id,
/// the first message with that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxAnswer {
    pub id: InboxId,
    pub handoff_id: Option<HandoffId>,
    pub status: InboxStatus,
    /// The message id was seen before: nothing was added.
    pub repeat: bool,
}

/// One message as the inbox lists it (its body is not here).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct InboxItem {
    pub id: InboxId,
    pub source_id: SourceId,
    pub source_name: String,
    pub endpoint: IntakeEndpoint,
    /// The sender's message id (`webhook-id` or `Idempotency-Key`).
    pub message_key: Option<String>,
    pub status: InboxStatus,
    /// The handoff it became, once made (`None` before: received, held for release, ignored,
    /// failed to map).
    pub handoff_id: Option<HandoffId>,
    pub integration_id: Option<IntegrationId>,
    /// The integration's name as the handoff recorded it.
    pub integration_name: Option<String>,
    pub session_id: Option<String>,
    /// The mapping that took it (as it was named then).
    pub mapping_name: Option<String>,
    /// Why it could not be mapped.
    pub error: Option<String>,
    pub body_bytes: u64,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A message with its sealed body and headers, for the service to open.
#[derive(Debug, Clone)]
pub struct InboxRecord {
    pub item: InboxItem,
    /// The handoff it becomes, chosen when it was accepted (made or not yet).
    pub handoff_id: Option<HandoffId>,
    pub sealed_body: String,
    pub sealed_headers: Option<String>,
    pub mapping_id: Option<crate::ids::MappingId>,
}

/// The most headers an inbox message keeps, and the longest value kept.
/// Reserving unfinished messages (`Store::lease_unfinished_inbox`): $1 the lease's end, $2 its
/// owner, $3 accepted before, $4 now, $5 how many.
macro_rules! lease_unfinished {
    ($lock:literal) => {
        concat!(
            "UPDATE intake_messages SET reserved_until = $1, lease_owner = $2
             WHERE id IN (
               SELECT m.id FROM intake_messages m
               WHERE m.status = 'received' AND m.handoff_id IS NOT NULL AND m.received_at < $3
                 AND (m.reserved_until IS NULL OR m.reserved_until <= $4)
                 AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.id = m.handoff_id)
               ORDER BY m.received_at, m.id LIMIT $5",
            $lock,
            ")
             RETURNING id"
        )
    };
}
const LEASE_UNFINISHED_SQLITE: &str = lease_unfinished!("");
const LEASE_UNFINISHED_PG: &str = lease_unfinished!(" FOR UPDATE OF m SKIP LOCKED");

const MAX_KEPT_HEADERS: usize = 50;
const MAX_KEPT_HEADER_VALUE: usize = 1024;

/// A message's headers as the inbox keeps them: every one but credentials (the source's own
/// signature, secret or key header, `Authorization`, cookies), at most 50, long values left out.
/// Names are taken as given (lowercase from the listener).
pub fn keepable_headers(
    verification: &crate::intake::verify::Verification,
    headers: &[(String, String)],
) -> serde_json::Map<String, serde_json::Value> {
    use crate::intake::verify::Verification as V;
    let own = match verification {
        V::HmacHex { header, .. } | V::SharedSecret { header } => Some(header.to_ascii_lowercase()),
        V::StandardWebhooks | V::IntakeKey => None,
    };
    let credential = |name: &str| {
        matches!(
            name,
            "authorization" | "proxy-authorization" | "cookie" | "webhook-signature" | "x-api-key"
        ) || own.as_deref() == Some(name)
    };
    headers
        .iter()
        .filter(|(k, v)| !credential(&k.to_ascii_lowercase()) && v.len() <= MAX_KEPT_HEADER_VALUE)
        .take(MAX_KEPT_HEADERS)
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::String(v.clone())))
        .collect()
}

/// Which messages to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<InboxStatus>,
    pub source_id: Option<SourceId>,
    /// A message id, session id or handoff id (exact), or the start of one.
    pub search: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

const ITEM_COLUMNS: &str = "m.id, m.source_id, m.source_name, m.endpoint, m.message_key,
     h.id AS handoff_id, coalesce(h.integration_id, m.integration_id) AS integration_id,
     coalesce(h.session_id, m.session_id) AS session_id, m.mapping_name, m.error, m.body_bytes,
     m.received_at, m.updated_at, h.integration_name AS handoff_integration_name";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("inbox: {what}"))
}

fn parse_id<T: std::str::FromStr>(s: Option<String>, what: &str) -> Result<Option<T>, StoreError> {
    s.map(|s| s.parse().map_err(|_| corrupt(format!("{what} {s}"))))
        .transpose()
}

/// A listed message's row as both back ends return it (a record's columns too).
#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    source_id: String,
    source_name: String,
    endpoint: String,
    message_key: Option<String>,
    shown_status: String,
    handoff_id: Option<String>,
    integration_id: Option<String>,
    handoff_integration_name: Option<String>,
    session_id: Option<String>,
    mapping_name: Option<String>,
    error: Option<String>,
    body_bytes: i64,
    received_at: i64,
    updated_at: i64,
}

impl ItemRow {
    fn into_item(self) -> Result<InboxItem, StoreError> {
        Ok(InboxItem {
            id: self
                .id
                .parse()
                .map_err(|_| corrupt(format!("id {}", self.id)))?,
            source_id: parse_id(Some(self.source_id), "source id")?
                .ok_or_else(|| corrupt("source id"))?,
            source_name: self.source_name,
            endpoint: IntakeEndpoint::parse(&self.endpoint)
                .ok_or_else(|| corrupt(format!("endpoint {}", self.endpoint)))?,
            message_key: self.message_key,
            status: InboxStatus::parse(&self.shown_status)
                .ok_or_else(|| corrupt(format!("status {}", self.shown_status)))?,
            handoff_id: parse_id(self.handoff_id, "handoff id")?,
            integration_id: parse_id(self.integration_id, "integration id")?,
            integration_name: self.handoff_integration_name,
            session_id: self.session_id,
            mapping_name: self.mapping_name,
            error: self.error,
            body_bytes: u64::try_from(self.body_bytes).unwrap_or(0),
            received_at: from_ms(self.received_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

/// A message's record: its listed columns and what is sealed of it.
#[derive(sqlx::FromRow)]
struct RecordRow {
    #[sqlx(flatten)]
    item: ItemRow,
    body: String,
    headers: Option<String>,
    mapping_id: Option<String>,
    chosen_handoff_id: Option<String>,
}

const INSERT_MESSAGE: &str =
    "INSERT INTO intake_messages (id, source_id, source_name, endpoint, message_key, body,
                                  body_bytes, status, handoff_id, integration_id,
                                  session_id, received_at, updated_at, headers,
                                  mapping_id, mapping_name)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'received', ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14)
     ON CONFLICT (source_id, message_key) WHERE message_key IS NOT NULL DO NOTHING";

/// The first message with a message id, for a repeat.
static FIRST_BY_KEY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT m.id, m.handoff_id, {SHOWN_STATUS}
         FROM intake_messages m LEFT JOIN handoffs h ON h.id = m.handoff_id
         WHERE m.source_id = ?1 AND m.message_key = ?2"
    )
});

const SET_OUTCOME: &str = "UPDATE intake_messages SET status = ?1, error = ?2, mapping_id = ?3,
            mapping_name = ?4, integration_id = coalesce(?5, integration_id),
            session_id = coalesce(?6, session_id), updated_at = ?7
     WHERE id = ?8
       AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.id = intake_messages.handoff_id)";

const RENEW_HANDOFF: &str =
    "UPDATE intake_messages SET handoff_id = ?1, status = 'received', error = NULL,
            updated_at = ?2
     WHERE id = ?3 AND handoff_id = ?4";

/// The statements above as PostgreSQL numbers its parameters, made once (intake's hot path).
struct PgStatements {
    insert_message: String,
    first_by_key: String,
    mapping_versions: String,
    set_outcome: String,
    renew_handoff: String,
}

static PG: LazyLock<PgStatements> = LazyLock::new(|| PgStatements {
    insert_message: numbered(INSERT_MESSAGE),
    first_by_key: numbered(&FIRST_BY_KEY),
    mapping_versions: numbered(MAPPING_VERSIONS),
    set_outcome: numbered(SET_OUTCOME),
    renew_handoff: numbered(RENEW_HANDOFF),
});

/// The answer to a message whose id was seen before: the first one's.
fn repeat_answer(first: Option<(String, Option<String>, String)>) -> Result<InboxAnswer, String> {
    let (id, handoff_id, status) = first.ok_or("conflict without a row")?;
    Ok(InboxAnswer {
        id: id.parse().map_err(|_| "id")?,
        handoff_id: handoff_id
            .map(|h| h.parse().map_err(|_| "handoff id"))
            .transpose()?,
        status: InboxStatus::parse(&status).ok_or("status")?,
        repeat: true,
    })
}

/// Adds a message in the group commit's transaction, or finds the first one with its message
/// id. Runs on the writer's connection.
pub(crate) fn insert_message(
    conn: &rusqlite::Connection,
    m: &NewInboxMessage,
) -> Result<InboxAnswer, rusqlite::Error> {
    let added = conn.prepare_cached(INSERT_MESSAGE)?.execute(params![
        m.id.to_string(),
        m.source_id.to_string(),
        m.source_name,
        m.endpoint.as_str(),
        m.message_key,
        m.sealed_body,
        m.body_bytes as i64,
        m.handoff_id.map(|h| h.to_string()),
        m.integration_id.map(|i| i.to_string()),
        m.session_id,
        m.received_at,
        m.sealed_headers,
        m.mapping.as_ref().map(|(id, _)| id.to_string()),
        m.mapping.as_ref().map(|(_, name)| name.clone()),
    ])?;
    if added == 1 {
        return Ok(InboxAnswer::new(m));
    }
    let first: Option<(String, Option<String>, String)> = conn
        .prepare_cached(&FIRST_BY_KEY)?
        .query_row(params![m.source_id.to_string(), m.message_key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    repeat_answer(first).map_err(|what| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("inbox: malformed {what}").into(),
        )
    })
}

impl InboxAnswer {
    /// The answer to a message just added.
    fn new(m: &NewInboxMessage) -> Self {
        Self {
            id: m.id,
            handoff_id: m.handoff_id,
            status: InboxStatus::Received,
            repeat: false,
        }
    }
}

/// The shared store's [`insert_message`] and mapping versions: one transaction. Of two
/// instances given the same message id at once, the second waits for the first's commit, then
/// answers with the first's message (the unique key decides, not a read before).
async fn insert_message_shared(
    shared: &crate::store::postgres::Shared,
    m: &NewInboxMessage,
    versions: bool,
) -> Result<(InboxAnswer, Option<Vec<MappingVersion>>), StoreError> {
    let mut tx = shared.write.begin().await?;
    let added = sqlx::query(AssertSqlSafe(PG.insert_message.as_str()))
        .bind(m.id.to_string())
        .bind(m.source_id.to_string())
        .bind(&m.source_name)
        .bind(m.endpoint.as_str())
        .bind(&m.message_key)
        .bind(&m.sealed_body)
        .bind(m.body_bytes as i64)
        .bind(m.handoff_id.map(|h| h.to_string()))
        .bind(m.integration_id.map(|i| i.to_string()))
        .bind(&m.session_id)
        .bind(m.received_at)
        .bind(&m.sealed_headers)
        .bind(m.mapping.as_ref().map(|(id, _)| id.to_string()))
        .bind(m.mapping.as_ref().map(|(_, name)| name.clone()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if added != 1 {
        let first: Option<(String, Option<String>, String)> =
            sqlx::query_as(AssertSqlSafe(PG.first_by_key.as_str()))
                .bind(m.source_id.to_string())
                .bind(&m.message_key)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        let answer = repeat_answer(first).map_err(|what| corrupt(format!("malformed {what}")))?;
        return Ok((answer, None));
    }
    let versions = if versions {
        let rows: Vec<(String, i64, String, Option<i64>)> =
            sqlx::query_as(AssertSqlSafe(PG.mapping_versions.as_str()))
                .bind(m.source_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        Some(rows.into_iter().map(MappingVersion::from).collect())
    } else {
        None
    };
    tx.commit().await?;
    Ok((InboxAnswer::new(m), versions))
}

impl Store {
    /// Adds a message to the inbox (durable when this returns), or answers the first message
    /// with the same message id from the same source.
    pub async fn add_to_inbox(&self, message: NewInboxMessage) -> Result<InboxAnswer, StoreError> {
        match self.backend() {
            // No wait for the journal (`store::journal`): its entries never touch the inbox
            // (a repeat's answer shows its handoff's state as moved, at most a move behind).
            Backend::Sqlite(local) => {
                local
                    .group_commit
                    .write(move |conn| insert_message(conn, &message))
                    .await
            }
            Backend::Postgres(shared) => {
                Ok(insert_message_shared(shared, &message, false).await?.0)
            }
        }
    }

    /// Adds a message as [`Store::add_to_inbox`] does and, when it is new, reads its source's
    /// [`mapping versions`](Store::mapping_versions) in the same transaction, so that mapping
    /// it right after needs no read of its own.
    pub async fn add_to_inbox_with_versions(
        &self,
        message: NewInboxMessage,
    ) -> Result<(InboxAnswer, Option<Vec<MappingVersion>>), StoreError> {
        let local = match self.backend() {
            Backend::Sqlite(local) => local,
            Backend::Postgres(shared) => {
                return insert_message_shared(shared, &message, true).await;
            }
        };
        // No wait for the journal: as above.
        local
            .group_commit
            .write(move |conn| {
                let answer = insert_message(conn, &message)?;
                if answer.repeat {
                    return Ok((answer, None));
                }
                Ok((answer, Some(read_versions(conn, message.source_id)?)))
            })
            .await
    }

    /// Messages matching `f`, newest first, and how many match in all.
    pub async fn inbox(&self, f: &InboxFilter) -> Result<(Vec<InboxItem>, u64), StoreError> {
        let (rows, total): (Vec<ItemRow>, i64) = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {ITEM_COLUMNS}, {SHOWN_STATUS} AS shown_status
                 FROM intake_messages m LEFT JOIN handoffs h ON h.id = m.handoff_id WHERE 1 = 1"
            ));
            push_filter(&mut qb, f, db.dialect());
            qb.push(" ORDER BY m.received_at DESC, m.id DESC LIMIT ")
                .push_bind(i64::from(f.limit))
                .push(" OFFSET ")
                .push_bind(i64::from(f.offset));
            let rows = qb.build_query_as().fetch_all(&db.read).await?;
            let mut count = QueryBuilder::new(
                "SELECT count(*) FROM intake_messages m LEFT JOIN handoffs h ON h.id = m.handoff_id
                 WHERE 1 = 1",
            );
            push_filter(&mut count, f, db.dialect());
            let total = count.build_query_scalar().fetch_one(&db.read).await?;
            (rows, total)
        });
        let items = rows
            .into_iter()
            .map(ItemRow::into_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, u64::try_from(total).unwrap_or(0)))
    }

    /// One message with its sealed body.
    pub async fn inbox_record(&self, id: InboxId) -> Result<Option<InboxRecord>, StoreError> {
        // Only this module's constants are formatted in; the id is bound.
        let row: Option<RecordRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {ITEM_COLUMNS}, {SHOWN_STATUS} AS shown_status, m.body, m.headers,
                        m.mapping_id, m.handoff_id AS chosen_handoff_id
                 FROM intake_messages m LEFT JOIN handoffs h ON h.id = m.handoff_id
                 WHERE m.id = $1"
            )))
            .bind(id.to_string())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(|row| {
            Ok(InboxRecord {
                handoff_id: parse_id(row.chosen_handoff_id, "handoff id")?,
                sealed_body: row.body,
                sealed_headers: row.headers,
                mapping_id: parse_id(row.mapping_id, "mapping id")?,
                item: row.item.into_item()?,
            })
        })
        .transpose()
    }

    /// Reserves for `owner` until `until` up to `limit` messages accepted before `before_ms`
    /// whose handoff was chosen but never made (their process stopped in between), oldest
    /// first: the ones a worker takes up again. Messages another worker holds a live lease on
    /// are passed over (on PostgreSQL also those it is reserving right now, `SKIP LOCKED`).
    pub async fn lease_unfinished_inbox(
        &self,
        owner: &str,
        before_ms: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<InboxId>, StoreError> {
        let ids: Vec<String> = on_backend!(self, db => {
            let sql = db.dialect().pick(LEASE_UNFINISHED_SQLITE, LEASE_UNFINISHED_PG);
            sqlx::query_scalar(sql)
                .bind(until)
                .bind(owner)
                .bind(before_ms)
                .bind(crate::store::now_ms())
                .bind(i64::from(limit))
                .fetch_all(&mut *db.write.acquire().await?)
                .await
        })?;
        ids.into_iter()
            .map(|s| s.parse().map_err(|_| corrupt(format!("id {s}"))))
            .collect()
    }

    /// The source id messages were received under `name` (a source since removed).
    pub async fn inbox_source_named(&self, name: &str) -> Result<Option<SourceId>, StoreError> {
        let id: Option<String> = on_backend!(self, db => {
            sqlx::query_scalar(
                "SELECT source_id FROM intake_messages WHERE source_name = $1
                 ORDER BY received_at DESC LIMIT 1",
            )
            .bind(name)
            .fetch_optional(&db.read)
            .await
        })?;
        parse_id(id, "source id")
    }

    /// Records what processing made of a message that has no handoff yet: its own status, the
    /// mapping that took it and the integration and session it is for (`mapped`, waiting for
    /// release), or why it failed. `false` when the message has a handoff by now (nothing
    /// changed).
    pub async fn set_inbox_outcome(
        &self,
        id: InboxId,
        outcome: InboxOutcome,
    ) -> Result<bool, StoreError> {
        let now = crate::store::now_ms();
        let shared = match self.backend() {
            Backend::Postgres(shared) => shared,
            Backend::Sqlite(local) => {
                local.settle().await?;
                return local
                    .group_commit
                    .write(move |conn| {
                        let done = conn.prepare_cached(SET_OUTCOME)?.execute(params![
                            outcome.status.as_str(),
                            outcome.error,
                            outcome.mapping.as_ref().map(|(id, _)| id.to_string()),
                            outcome.mapping.as_ref().map(|(_, name)| name.clone()),
                            outcome.integration_id.map(|i| i.to_string()),
                            outcome.session_id,
                            now,
                            id.to_string(),
                        ])?;
                        Ok(done == 1)
                    })
                    .await;
            }
        };
        let done = sqlx::query(AssertSqlSafe(PG.set_outcome.as_str()))
            .bind(outcome.status.as_str())
            .bind(&outcome.error)
            .bind(outcome.mapping.as_ref().map(|(id, _)| id.to_string()))
            .bind(outcome.mapping.as_ref().map(|(_, name)| name.clone()))
            .bind(outcome.integration_id.map(|i| i.to_string()))
            .bind(&outcome.session_id)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *shared.write.acquire().await?)
            .await?
            .rows_affected();
        shared.write.changed().await;
        Ok(done == 1)
    }

    /// Gives a message a new handoff id (and `received` again), for a reprocess whose first
    /// handoff failed for good. `false` when its handoff is not `expected` any more.
    pub async fn renew_inbox_handoff(
        &self,
        id: InboxId,
        expected: HandoffId,
        new: HandoffId,
    ) -> Result<bool, StoreError> {
        let now = crate::store::now_ms();
        let shared = match self.backend() {
            Backend::Postgres(shared) => shared,
            Backend::Sqlite(local) => {
                local.settle().await?;
                return local
                    .group_commit
                    .write(move |conn| {
                        let done = conn.prepare_cached(RENEW_HANDOFF)?.execute(params![
                            new.to_string(),
                            now,
                            id.to_string(),
                            expected.to_string()
                        ])?;
                        Ok(done == 1)
                    })
                    .await;
            }
        };
        let done = sqlx::query(AssertSqlSafe(PG.renew_handoff.as_str()))
            .bind(new.to_string())
            .bind(now)
            .bind(id.to_string())
            .bind(expected.to_string())
            .execute(&mut *shared.write.acquire().await?)
            .await?
            .rows_affected();
        shared.write.changed().await;
        Ok(done == 1)
    }
}

/// Records the mapping that took a message (its status stays: its handoff says the rest). Run
/// by the attempts' writer in the commit that makes the message's handoff, so that a realtime
/// message's mapping and its handoff are recorded together (one commit, not two).
pub(crate) fn record_mapping(
    conn: &rusqlite::Connection,
    message: &str,
    mapping: &str,
    mapping_name: &str,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(RECORD_MAPPING)?
        .execute(params![mapping, mapping_name, message])?;
    Ok(())
}

/// `source`'s [mapping versions](Store::mapping_versions), read on the writer's connection.
pub(crate) fn read_versions(
    conn: &rusqlite::Connection,
    source: SourceId,
) -> Result<Vec<MappingVersion>, rusqlite::Error> {
    conn.prepare_cached(MAPPING_VERSIONS)?
        .query_map([source.to_string()], |r| {
            Ok(MappingVersion {
                mapping: r.get(0)?,
                mapping_updated: r.get(1)?,
                integration: r.get(2)?,
                integration_updated: r.get(3)?,
            })
        })?
        .collect()
}

/// [`record_mapping`]'s statement (the PostgreSQL store's writer runs it too).
pub(crate) const RECORD_MAPPING: &str =
    "UPDATE intake_messages SET mapping_id = ?1, mapping_name = ?2 WHERE id = ?3";

/// A source's mapping versions, for [`Store::mapping_versions`] (read pool) and
/// [`Store::add_to_inbox_with_versions`] (the writer's connection).
const MAPPING_VERSIONS: &str = "SELECT m.id, m.updated_at, m.integration_id, i.updated_at
     FROM intake_mappings m LEFT JOIN integrations i ON i.id = m.integration_id
     WHERE m.source_id = ?1 ORDER BY m.created_at, m.id";

/// One of a source's mappings as a version: the mapping's id and `updated_at`, and its
/// integration's id and `updated_at` (`None`: there is no such integration). Both `updated_at`s
/// grow on every change (`max(updated_at + 1, now)`) and ids are never reused, so while a
/// source's list of these is unchanged, so are its mappings and their integrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingVersion {
    pub mapping: String,
    pub mapping_updated: i64,
    pub integration: String,
    pub integration_updated: Option<i64>,
}

impl Store {
    /// The versions of `source`'s mappings, in the order [`Store::mappings`] lists them, and of
    /// the integrations they name: one small read that tells whether what a process keeps of
    /// them between messages is current (whichever process changed them).
    pub async fn mapping_versions(
        &self,
        source: SourceId,
    ) -> Result<Vec<MappingVersion>, StoreError> {
        let rows: Vec<(String, i64, String, Option<i64>)> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(
                db.dialect()
                    .pick(MAPPING_VERSIONS, PG.mapping_versions.as_str()),
            ))
                .bind(source.to_string())
                .fetch_all(&db.read)
                .await
        })?;
        Ok(rows.into_iter().map(MappingVersion::from).collect())
    }
}

/// What processing made of a message without a handoff ([`Store::set_inbox_outcome`]).
#[derive(Debug, Clone)]
pub struct InboxOutcome {
    pub status: InboxStatus,
    pub error: Option<String>,
    pub mapping: Option<(crate::ids::MappingId, String)>,
    pub integration_id: Option<IntegrationId>,
    pub session_id: Option<String>,
}

impl InboxOutcome {
    pub fn status(status: InboxStatus) -> Self {
        Self {
            status,
            error: None,
            mapping: None,
            integration_id: None,
            session_id: None,
        }
    }
}

impl From<(String, i64, String, Option<i64>)> for MappingVersion {
    fn from(
        (mapping, mapping_updated, integration, integration_updated): (
            String,
            i64,
            String,
            Option<i64>,
        ),
    ) -> Self {
        Self {
            mapping,
            mapping_updated,
            integration,
            integration_updated,
        }
    }
}

fn push_filter<DB: Database>(qb: &mut QueryBuilder<DB>, f: &InboxFilter, dialect: Dialect)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
{
    if let Some(s) = f.status {
        qb.push(format!(" AND ({SHOWN_STATUS}) = "))
            .push_bind(s.as_str());
    }
    if let Some(id) = f.source_id {
        qb.push(" AND m.source_id = ").push_bind(id.to_string());
    }
    if let Some(search) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        // A prefix of an id: the LIKE wildcards in it are matched as themselves.
        let escaped: String = search
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let prefix = format!("{escaped}%");
        let like = dialect.like();
        qb.push(format!(" AND (m.message_key {like} "))
            .push_bind(prefix.clone())
            .push(format!(" ESCAPE '\\' OR m.session_id {like} "))
            .push_bind(prefix.clone())
            .push(format!(" ESCAPE '\\' OR m.handoff_id {like} "))
            .push_bind(prefix.clone())
            .push(format!(" ESCAPE '\\' OR m.id {like} "))
            .push_bind(prefix)
            .push(" ESCAPE '\\')");
    }
}

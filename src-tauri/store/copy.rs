//! Copying a local (SQLite) store's history into a shared (PostgreSQL) store, for a clinic
//! moving from one console to several (`store copy`, issue 17).
//!
//! Every table that holds history or configuration is copied row for row, ids kept, in an order
//! that keeps references whole ([`COPIED_TABLES`]); the statistics rollups are not copied, as
//! the PostgreSQL store's triggers make them from the rows copied in. Each batch is one
//! `INSERT … SELECT … FROM jsonb_populate_recordset(…) ON CONFLICT DO NOTHING`: SQLite writes
//! the batch as JSON (`json_object` over the columns both stores have), PostgreSQL reads it into
//! its own types. A copy cut short is resumed by running it again: rows already there are
//! passed over. The target notes each copy in `store_copies` under a fingerprint of the source,
//! so a store holding anything else is refused rather than merged into. At the end the counts
//! of every table are compared, and the counts the statistics show.

use super::{Backend, Store, StoreError, now_ms};
use serde::Serialize;
use sqlx::AssertSqlSafe;

/// The copied tables, each after those it refers to.
pub const COPIED_TABLES: &[&str] = &[
    "data_keys",
    "integrations",
    "intake_sources",
    "intake_mappings",
    "handoffs",
    "attempts",
    "intake_messages",
    "audit_log",
    "health_results",
];
/// Rows per batch: one statement, one transaction on each side.
const BATCH: i64 = 1_000;

/// One table's rows: in the source, in the target at the end, and inserted by this run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableCopy {
    pub table: &'static str,
    pub source: u64,
    pub target: u64,
    /// Inserted by this run (a resumed copy passes over what an earlier run copied).
    pub copied: u64,
}

/// What a copy did, and whether its counts agree.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    /// The source store's file.
    pub from: String,
    /// The target store's URL (no password is ever in it).
    pub to: String,
    /// An earlier run of this copy was taken up again.
    pub resumed: bool,
    pub tables: Vec<TableCopy>,
    /// Every table holds as many rows in the target as in the source.
    pub counts_match: bool,
}

/// Where a copy is: `done` of `total` rows of `table`.
#[derive(Debug, Clone, Copy)]
pub struct CopyProgress<'a> {
    pub table: &'a str,
    pub done: u64,
    pub total: u64,
}

impl Store {
    /// Copies this (local) store's history into `target` (a shared store), reporting progress
    /// after every batch. Refused when this is not a local store, `target` not a shared one, or
    /// `target` holds rows that are not from an earlier run of this same copy.
    pub async fn copy_into(
        &self,
        target: &Store,
        mut progress: impl FnMut(CopyProgress<'_>),
    ) -> Result<CopyReport, StoreError> {
        let (Backend::Sqlite(local), Backend::Postgres(shared)) =
            (self.backend(), target.backend())
        else {
            return Err(StoreError::CopyRefused(
                "a copy goes from a local store (a data dir) to a PostgreSQL store".into(),
            ));
        };
        let source_id = fingerprint(&local.read).await?;
        let pg = &shared.read;
        let known: Option<Option<i64>> =
            sqlx::query_scalar("SELECT finished_at FROM store_copies WHERE source = $1")
                .bind(&source_id)
                .fetch_optional(pg)
                .await?;
        let resumed = known.is_some();
        if !resumed {
            let held = rows_held(pg).await?;
            if !held.is_empty() {
                return Err(StoreError::CopyRefused(format!(
                    "{} already holds a history ({}): copy into an empty store (a new database \
                     or schema), or run the copy that filled it again to resume it",
                    target.location(),
                    held.join(", ")
                )));
            }
            sqlx::query(
                "INSERT INTO store_copies (source, origin, started_at) VALUES ($1, $2, $3)",
            )
            .bind(&source_id)
            .bind(self.location())
            .bind(now_ms())
            .execute(pg)
            .await?;
        }
        let mut tables = Vec::with_capacity(COPIED_TABLES.len());
        for &table in COPIED_TABLES {
            let columns = shared_columns(&local.read, pg, table).await?;
            let total = count(&local.read, table).await?;
            progress(CopyProgress {
                table,
                done: 0,
                total,
            });
            let read = format!(
                "SELECT rowid, json_object({}) FROM {table} WHERE rowid > $1 ORDER BY rowid LIMIT {BATCH}",
                columns
                    .iter()
                    .map(|c| format!("'{c}', \"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let list = columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let write = format!(
                "INSERT INTO {table} ({list}) SELECT {list} \
                 FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb) ON CONFLICT DO NOTHING"
            );
            let (mut after, mut done, mut copied) = (0i64, 0u64, 0u64);
            loop {
                let rows: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(read.as_str()))
                    .bind(after)
                    .fetch_all(&local.read)
                    .await?;
                let Some(&(last, _)) = rows.last() else { break };
                let batch = format!(
                    "[{}]",
                    rows.iter()
                        .map(|(_, json)| json.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                );
                copied += sqlx::query(AssertSqlSafe(write.as_str()))
                    .bind(batch)
                    .execute(pg)
                    .await?
                    .rows_affected();
                done += rows.len() as u64;
                after = last;
                progress(CopyProgress { table, done, total });
            }
            tables.push(TableCopy {
                table,
                source: count(&local.read, table).await?,
                target: 0,
                copied,
            });
        }
        // Ids copied into identity columns: the next ones the store makes come after them.
        for table in ["audit_log", "health_results"] {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )))
            .execute(pg)
            .await?;
        }
        for t in &mut tables {
            t.target = count_pg(pg, t.table).await?;
        }
        let counts_match = tables.iter().all(|t| t.source == t.target);
        if counts_match {
            sqlx::query("UPDATE store_copies SET finished_at = $1 WHERE source = $2")
                .bind(now_ms())
                .bind(&source_id)
                .execute(pg)
                .await?;
        }
        shared.write.changed().await;
        Ok(CopyReport {
            from: self.location(),
            to: target.location(),
            resumed,
            tables,
            counts_match,
        })
    }
}

/// Names the source history: its first audit entry and its first handoff, which stay as they
/// are while the history grows (the audit trail is append-only, handoffs are never deleted).
async fn fingerprint(sqlite: &sqlx::SqlitePool) -> Result<String, StoreError> {
    let (audit, handoff): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT id || ':' || at || ':' || action FROM audit_log ORDER BY id LIMIT 1),
                (SELECT min(id) FROM handoffs)",
    )
    .fetch_one(sqlite)
    .await?;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!(
        "{}\n{}",
        audit.unwrap_or_default(),
        handoff.unwrap_or_default()
    ));
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// The copied tables that hold rows in the store, with their counts (`3 integrations`).
async fn rows_held(pg: &sqlx::PgPool) -> Result<Vec<String>, StoreError> {
    let mut held = Vec::new();
    for &table in COPIED_TABLES {
        let n = count_pg(pg, table).await?;
        if n > 0 {
            held.push(format!("{n} {}", table.replace('_', " ")));
        }
    }
    Ok(held)
}

/// `table`'s columns in the source, each checked to exist in the target: the copy writes what
/// both have, and a source column the target lacks (a store from a newer version) stops it.
async fn shared_columns(
    sqlite: &sqlx::SqlitePool,
    pg: &sqlx::PgPool,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    let source: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(sqlite)
            .await?;
    let target: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(pg)
    .await?;
    if let Some(missing) = source.iter().find(|c| !target.contains(c)) {
        return Err(StoreError::CopyRefused(format!(
            "the target's table {table} has no column {missing}: open the target with this \
             version of the console first (it applies the migrations it lacks)"
        )));
    }
    // Names from the live schema, letters, digits and underscores only (quoted where used).
    if let Some(odd) = source
        .iter()
        .find(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
    {
        return Err(StoreError::Corrupt(format!(
            "the table {table} has a column named {odd:?}"
        )));
    }
    Ok(source)
}

async fn count(sqlite: &sqlx::SqlitePool, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(sqlite)
        .await?;
    Ok(n.max(0) as u64)
}

async fn count_pg(pg: &sqlx::PgPool, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pg)
        .await?;
    Ok(n.max(0) as u64)
}

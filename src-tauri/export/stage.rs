//! The history export from a shared (PostgreSQL) store: the rows the export's filter takes are
//! first read into a private SQLite file with the local store's schema (the *stage*), which the
//! export then reads exactly as it reads a local store's file, so the masking and redaction are
//! the same code for both. The stage holds what the store holds (data sealed as it is sealed
//! there), is readable by its owner only, zeroes what it frees, and is deleted when the export
//! ends, however it ends.

use super::ExportFilter;
use crate::store::postgres::Shared;
use crate::store::{MIGRATOR, StoreError};
use sqlx::AssertSqlSafe;
use std::path::{Path, PathBuf};

/// Rows per batch read from PostgreSQL and written to the stage.
const BATCH: i64 = 1_000;

/// The stage file; deleted on drop.
pub(super) struct Stage(pub(super) PathBuf);

impl Drop for Stage {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
    }
}

/// The stage for `out`: `<out>.<random>.stage`, beside the export being written.
pub(super) fn stage_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{:08x}.stage", rand::random::<u32>()));
    out.with_file_name(name)
}

/// Reads what `filter` takes from the shared store into a new stage at `path`: the attempts it
/// matches, their handoffs, the integrations they name (and the filtered one), and the audit
/// entries of its window.
pub(super) async fn stage(
    shared: &Shared,
    path: &Path,
    filter: &ExportFilter,
) -> Result<Stage, String> {
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let stage = Stage(path.to_path_buf());
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
        .pragma("secure_delete", "ON");
    let sqlite = sqlx::SqlitePool::connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    let copied = async {
        MIGRATOR
            .run(&sqlite)
            .await
            .map_err(|e| StoreError::from(sqlx::Error::from(e)))?;
        let integration = filter.integration.map(|i| i.to_string());
        let window = "($1::bigint IS NULL OR a.started_at >= $1) \
                      AND ($2::bigint IS NULL OR a.started_at < $2) \
                      AND ($3::text IS NULL OR a.integration_id = $3)";
        let parts = [
            (
                "integrations",
                format!(
                    "SELECT * FROM integrations i WHERE (EXISTS (SELECT 1 FROM attempts a \
                     WHERE a.integration_id = i.id AND {window}) OR i.id = $3)"
                ),
            ),
            (
                "handoffs",
                format!(
                    "SELECT * FROM handoffs h WHERE h.id IN (SELECT a.handoff_id FROM attempts a \
                     WHERE {window})"
                ),
            ),
            (
                "attempts",
                format!("SELECT * FROM attempts a WHERE {window}"),
            ),
            (
                "audit_log",
                "SELECT * FROM audit_log l WHERE ($1::bigint IS NULL OR l.at >= $1) \
                 AND ($2::bigint IS NULL OR l.at < $2) AND ($3::text IS NULL OR l.object_id = $3)"
                    .to_string(),
            ),
        ];
        for (table, rows) in parts {
            copy_table(
                shared,
                &sqlite,
                table,
                &rows,
                filter,
                integration.as_deref(),
            )
            .await?;
        }
        Ok::<_, StoreError>(())
    }
    .await;
    sqlite.close().await;
    copied.map_err(|e| e.to_string())?;
    Ok(stage)
}

/// Copies the rows `rows` selects (over `$1` since, `$2` until, `$3` integration) into the
/// stage's `table`, a batch at a time in id order, as JSON: PostgreSQL writes each batch
/// (`row_to_json` over the columns the stage has), SQLite reads it (`json_each`).
async fn copy_table(
    shared: &Shared,
    sqlite: &sqlx::SqlitePool,
    table: &str,
    rows: &str,
    filter: &ExportFilter,
    integration: Option<&str>,
) -> Result<(), StoreError> {
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(sqlite)
            .await?;
    // Names from the stage's own schema (the store's migrations), quoted where used.
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let id_is_text = table != "audit_log";
    let key = if id_is_text {
        "($4::text IS NULL OR t.id::text > $4)"
    } else {
        "($4::text IS NULL OR t.id > $4::bigint)"
    };
    let read = format!(
        "SELECT t.id::text, row_to_json(t)::text FROM (SELECT {} FROM ({rows}) AS s) AS t \
         WHERE {key} ORDER BY t.id LIMIT {BATCH}",
        columns
            .iter()
            .map(|c| format!("s.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let write = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM json_each($1)",
        quoted.join(", "),
        columns
            .iter()
            .map(|c| format!("json_extract(value, '$.{c}')"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut after: Option<String> = None;
    loop {
        let batch: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(read.as_str()))
            .bind(filter.since_ms)
            .bind(filter.until_ms)
            .bind(integration)
            .bind(after.as_deref())
            .fetch_all(&shared.read)
            .await?;
        let Some((last, _)) = batch.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        let json = format!(
            "[{}]",
            batch
                .iter()
                .map(|(_, row)| row.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        sqlx::query(AssertSqlSafe(write.as_str()))
            .bind(json)
            .execute(sqlite)
            .await?;
    }
}

//! The local store: one SQLite file (`handoff.db`, WAL) in the data dir, migrated at open.
//!
//! The hot path's writes (a new handoff, a finished attempt) go through one group-commit writer;
//! the rarer writes through a one-connection pool; both take SQLite's write lock up front
//! (`BEGIN IMMEDIATE`) and wait on its busy timeout. Reads use a pool of read-only connections.

use crate::attempts::AttemptWriter;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const STORE_FILE: &str = "handoff.db";
/// The store's migrations, embedded at build time (the health check compares them with the
/// applied ones).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// How long a write waits for another connection's (or process's) write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// From the group-commit writer's connection.
    #[error(transparent)]
    Write(#[from] rusqlite::Error),
    #[error("the store holds a malformed value: {0}")]
    Corrupt(String),
    #[error("the store's writer has stopped")]
    WriterStopped,
    #[error("the store could not commit: {0}")]
    Batch(String),
}

#[derive(Clone, Debug)]
pub struct Store {
    /// Writes other than the hot path's (integrations, claims of existing handoffs).
    pub(crate) write: SqlitePool,
    pub(crate) read: SqlitePool,
    /// Group commit for new handoffs and finished attempts (see `attempts::writer`).
    pub(crate) attempts: AttemptWriter,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: data_dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| open_err(e.to_string()))?;
        let path = data_dir.join(STORE_FILE);
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed transaction on an application crash, only
            // (possibly) the last ones on a power loss; FULL would fsync every commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // No ping before each acquire: a local file connection does not go stale, and the ping
        // is a round trip to sqlx's worker thread on every handoff.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // What this connection deletes or replaces (re-sealed data, above all) is zeroed in
            // the file, not left in free pages.
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .pragma("secure_delete", "ON"),
            )
            .await
            .map_err(|e| open_err(e.to_string()))?;
        MIGRATOR
            .run(&write)
            .await
            .map_err(|e| open_err(format!("migration failed: {e}")))?;
        let writer_conn = open_writer(&path).map_err(|e| open_err(e.to_string()))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(base.read_only(true))
            .await
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Self {
            write,
            read,
            attempts: AttemptWriter::start(writer_conn)?,
            path,
        })
    }

    /// Opens a store file read-only, without migrating it: a history export (see `export`),
    /// which `history`, `handoffs`, `stats` and `show-attempt` read like a store. Any write
    /// fails. An export from before handoff origins (migration `..._handoff_origin.sql`) is
    /// read through [`LEGACY_HANDOFF_VIEWS`].
    pub async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(e.to_string()))?;
        let has_origin: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM pragma_table_info('handoffs') WHERE name = 'origin'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| open_err(e.to_string()))?;
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let pool = |max: u32| {
            let pool = SqlitePoolOptions::new().max_connections(max);
            if has_origin {
                return pool;
            }
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(LEGACY_HANDOFF_VIEWS).execute(conn).await?;
                    Ok(())
                })
            })
        };
        let read = pool(2)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let write = pool(1)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Self {
            write,
            read,
            attempts: AttemptWriter::start(conn)?,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits queued writes and closes every connection (so SQLite checkpoints the WAL).
    pub async fn close(&self) {
        self.attempts.close().await;
        self.read.close().await;
        self.write.close().await;
    }
}

/// Reads an export made before handoffs had an origin (and kept their integration's name) as if
/// it had them: temporary views, per connection, shadow `handoffs` and `stats_handoffs_daily`
/// (the file itself is read-only). The origin is the trigger of the handoff's attempt number 1
/// as the migration's backfill sets it; a handoff whose first attempt is not in the file (the
/// export's window left it out) counts as live. The state is `HandoffState::SQL` (a test checks).
pub(crate) const LEGACY_HANDOFF_VIEWS: &str = "
CREATE TEMP VIEW handoffs AS
SELECT h.rowid AS rowid, h.*,
    coalesce((SELECT CASE a.trigger WHEN 'test' THEN 'test' WHEN 'webhook' THEN 'webhook' ELSE 'live' END
              FROM main.attempts a WHERE a.handoff_id = h.id AND a.attempt_number = 1), 'live') AS origin,
    coalesce((SELECT a.integration_name FROM main.attempts a WHERE a.id = h.last_attempt_id),
             (SELECT i.name FROM main.integrations i WHERE i.id = h.integration_id), '') AS integration_name
FROM main.handoffs h;
CREATE TEMP VIEW stats_handoffs_daily AS
SELECT h.created_at / 86400000 AS day, h.integration_id, h.origin, h.attempts > 1 AS retried,
    CASE WHEN h.status = 'succeeded' THEN 'delivered' WHEN h.status = 'pending' AND h.in_flight_until IS NOT NULL THEN 'pending' ELSE 'undelivered' END AS state,
    count(*) AS n
FROM temp.handoffs h GROUP BY 1, 2, 3, 4, 5;
";

impl Store {
    /// The id of the data key that seals new handoff data, once one was made.
    pub async fn current_data_key(&self) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                .fetch_optional(&self.write)
                .await?,
        )
    }

    /// Makes `id` the current data key unless one is current already (another process made it
    /// first); returns the current key's id either way.
    pub async fn adopt_data_key(&self, id: &str) -> Result<String, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT OR IGNORE INTO data_keys (id, created_at) VALUES (?, ?)")
            .bind(id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let current: String =
            sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(current)
    }
}

/// A handoff whose data is not yet sealed under the current data key.
#[derive(Debug, Clone)]
pub struct Unsealed {
    pub handoff_id: String,
    pub integration_id: String,
    pub data: String,
    pub data_masked: Option<String>,
}

impl Store {
    /// Makes `id` the current data key and retires `expected`, the one the caller found
    /// current (none: there was none). Returns `false`, changing nothing, when the current key
    /// is no longer `expected` (another rotation got there first).
    pub async fn rotate_in_data_key(
        &self,
        expected: Option<&str>,
        id: &str,
        rotation: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let now = now_ms();
        let current: Option<String> =
            sqlx::query_scalar("SELECT id FROM data_keys WHERE retired_at IS NULL")
                .fetch_optional(&mut *tx)
                .await?;
        if current.as_deref() != expected {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE data_keys SET retired_at = ? WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO data_keys (id, created_at, rotation_pending) VALUES (?, ?, ?)")
            .bind(id)
            .bind(now)
            .bind(rotation)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether a rotation to the current key `id` is still to be finished.
    pub async fn rotation_pending(&self, id: &str) -> Result<bool, StoreError> {
        let pending: Option<bool> =
            sqlx::query_scalar("SELECT rotation_pending FROM data_keys WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.write)
                .await?;
        Ok(pending.unwrap_or(false))
    }

    /// Marks the rotation to `id` finished.
    pub async fn finish_rotation(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET rotation_pending = 0 WHERE id = ?")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Writes the WAL back into the file and empties it, so page images from before (e.g. data
    /// that was re-sealed) do not linger in it. Best effort: readers may hold it open.
    pub async fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The retired data keys, with when each was retired (ms).
    pub async fn retired_data_keys(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, retired_at FROM data_keys WHERE retired_at IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// Forgets a retired data key (to be deleted from the secrets backend) if nothing is sealed
    /// under it; returns whether it was forgotten.
    pub async fn forget_data_key(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        let used: i64 = sqlx::query_scalar("SELECT count(*) FROM handoffs WHERE data LIKE ?")
            .bind(format!("hc1:{id}:%"))
            .fetch_one(&mut *tx)
            .await?;
        if used > 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM data_keys WHERE id = ? AND retired_at IS NOT NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many handoffs are not sealed under the key `current` (sealed under another, or
    /// plain from before encryption), and up to `limit` of them with ids after `after`.
    pub async fn unsealed_handoffs(
        &self,
        current: &str,
        after: &str,
        limit: u32,
    ) -> Result<(u64, Vec<Unsealed>), StoreError> {
        // Key ids are hex: no LIKE wildcard can be in the pattern.
        let pattern = format!("hc1:{current}:%");
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM handoffs WHERE data NOT LIKE ?")
            .bind(&pattern)
            .fetch_one(&self.read)
            .await?;
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, integration_id, data, data_masked FROM handoffs
             WHERE data NOT LIKE ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(&pattern)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        Ok((
            total.max(0) as u64,
            rows.into_iter()
                .map(|(handoff_id, integration_id, data, data_masked)| Unsealed {
                    handoff_id,
                    integration_id,
                    data,
                    data_masked,
                })
                .collect(),
        ))
    }

    /// Replaces a handoff's data with `sealed` under `key` (and fills its masked copy if it had
    /// none), unless the data changed since it was read as `was` or `key` is no longer the
    /// current one. Returns whether it was replaced.
    pub async fn reseal_handoff(
        &self,
        id: &str,
        was: &str,
        sealed: &str,
        key: &str,
        masked: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE handoffs SET data = ?1, data_masked = coalesce(data_masked, ?2)
             WHERE id = ?3 AND data = ?4
               AND EXISTS (SELECT 1 FROM data_keys WHERE id = ?5 AND retired_at IS NULL)",
        )
        .bind(sealed)
        .bind(masked)
        .bind(id)
        .bind(was)
        .bind(key)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Rewrites what a handoff's attempts recorded (request, response excerpt, message) with
    /// `mask`: for attempts recorded before collected values were masked. Attempts recorded
    /// with structural masking (`masking` set) hold no collected value and are left alone.
    pub async fn remask_attempts(
        &self,
        handoff_id: &str,
        echo: &crate::masking::EchoMask,
    ) -> Result<(), StoreError> {
        // The request is JSON: only its string values are masked (keys, numbers and the
        // structure stay). The excerpt and message are text.
        let mask_request = |r: &str| match serde_json::from_str::<serde_json::Value>(r) {
            Ok(v) => echo.json(&v).to_string(),
            Err(_) => echo.text(r),
        };
        let mask = |t: &str| echo.text(t);
        let rows: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT id, request, response_excerpt, message FROM attempts
             WHERE handoff_id = ? AND masking IS NULL",
        )
        .bind(handoff_id)
        .fetch_all(&self.write)
        .await?;
        for (id, request, excerpt, message) in rows {
            let (r, e, m) = (
                request.as_deref().map(mask_request),
                excerpt.as_deref().map(mask),
                mask(&message),
            );
            if r != request || e != excerpt || m != message {
                sqlx::query(
                    "UPDATE attempts SET request = ?, response_excerpt = ?, message = ? WHERE id = ?",
                )
                .bind(r)
                .bind(e)
                .bind(m)
                .bind(id)
                .execute(&self.write)
                .await?;
            }
        }
        // The stats triggers moved those attempts' counts to the masked messages; the rows of
        // the old messages are left at zero and still hold their text.
        sqlx::query("DELETE FROM stats_errors WHERE n <= 0")
            .execute(&self.write)
            .await?;
        sqlx::query("DELETE FROM stats_errors_daily WHERE n <= 0")
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// The group-commit writer's connection, with the pools' settings (WAL, NORMAL sync, the busy
/// timeout, foreign keys); SQLite's automatic checkpoint stays on.
fn open_writer(path: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

/// Now, as the store keeps times.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

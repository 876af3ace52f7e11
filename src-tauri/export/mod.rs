//! Offline history export: one self-contained SQLite file that support staff can open on any
//! machine (no keyring, no network) to read the attempt history and its statistics.
//!
//! The file has the store's own schema (so `history`, `stats` and `show-attempt` run on it
//! unchanged, and the stats triggers rebuild the rollups as rows go in) plus an `export_meta`
//! table that marks it as an export. It holds the attempts (with masked copies of the collected
//! values in their recorded requests, responses and messages), each handoff's **masked** data,
//! the integrations' configs with anything credential-like redacted, and the audit trail. It never holds a
//! secret nor raw collected data: the raw values are read from the store and masked in memory;
//! only masked copies are written. It is built as `<out>.partial` and renamed when complete.
//! From a shared (PostgreSQL) store the rows it takes are first read into a private SQLite
//! stage ([`stage`]), which is then read as a local store's file is.

mod stage;

use crate::ids::IntegrationId;
use crate::integrations::{FieldSpec, IntegrationConfig};
use crate::masking::{EchoMask, mask_data};
use crate::secrets::redact::{REDACTED, is_secret_header, redact_url_credentials};
use crate::store::Store;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What `export_meta.format` says in every export.
pub const FORMAT: &str = "handoff-console-history";
/// The newest export layout this build writes and reads.
pub const FORMAT_VERSION: i64 = 1;
/// Handoffs per progress report.
const CHUNK: usize = 500;

/// Which attempts to export (by start time and integration); their handoffs come with them.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub integration: Option<IntegrationId>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    pub path: PathBuf,
    pub integrations: u64,
    pub handoffs: u64,
    pub attempts: u64,
    pub bytes: u64,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} exists already; choose another file or remove it first")]
    Exists(PathBuf),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{path} is not a Handoff Console history export: {reason}")]
    NotHistory { path: PathBuf, reason: String },
    #[error(
        "{path} is a history export of a newer console (format {version}); update the console to open it"
    )]
    TooNew { path: PathBuf, version: i64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn write_err(path: &Path) -> impl Fn(String) -> ExportError + '_ {
    move |reason| ExportError::Write {
        path: path.to_path_buf(),
        reason,
    }
}

impl Store {
    /// Writes the history matching `filter` to a new file at `out`, reporting progress as
    /// `(handoffs done, total)`.
    pub async fn export(
        &self,
        out: &Path,
        filter: &ExportFilter,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportSummary, ExportError> {
        if out.exists() {
            return Err(ExportError::Exists(out.to_path_buf()));
        }
        // The copy reads a SQLite file: the store's own, or (a shared store) a stage of the
        // rows the filter takes, deleted when this returns.
        let (store_file, _stage) = match self.backend() {
            crate::store::Backend::Sqlite(local) => {
                // The copy reads the file: the journal's entries so far go in first.
                local
                    .settle()
                    .await
                    .map_err(|e| write_err(out)(format!("cannot read the history: {e}")))?;
                match self.path() {
                    Some(path) => (path.to_path_buf(), None),
                    None => return Err(write_err(out)("the store has no file".into())),
                }
            }
            crate::store::Backend::Postgres(shared) => {
                let path = stage::stage_path(out);
                let staged = stage::stage(shared, &path, filter)
                    .await
                    .map_err(|e| write_err(out)(format!("cannot read the history: {e}")))?;
                (path, Some(staged))
            }
        };
        // A name of its own: another export to the same file (another process, a double
        // click) writes its own partial copy, and publishing never replaces a file (below).
        let partial = partial_path(out);
        // Readable by its owner only from the start (Unix): masked, but still patients'
        // history. SQLite gives its journal the same mode, and the rename keeps it.
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        create
            .open(&partial)
            .map_err(|e| write_err(out)(format!("cannot create it: {e}")))?;
        // The store's schema, from the store's own migrations.
        let schema = async {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&partial)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
            let pool = sqlx::SqlitePool::connect_with(options).await?;
            let run = crate::store::MIGRATOR.run(&pool).await;
            pool.close().await;
            run.map_err(sqlx::Error::from)
        };
        if let Err(e) = schema.await {
            let _ = std::fs::remove_file(&partial);
            return Err(write_err(out)(format!("cannot create it: {e}")));
        }
        let exported_at = chrono::Utc::now();
        // The copy is blocking SQLite work: on its own thread, with progress sent back here.
        let (sender, mut reports) = tokio::sync::mpsc::unbounded_channel();
        let job = {
            let (partial, store, filter) = (partial.clone(), store_file, filter.clone());
            tokio::task::spawn_blocking(move || {
                let report = move |done, total| {
                    let _ = sender.send((done, total));
                };
                copy_history(&partial, &store, &filter, exported_at, &report)
            })
        };
        tokio::pin!(job);
        let counts = loop {
            tokio::select! {
                Some((done, total)) = reports.recv() => progress(done, total),
                finished = &mut job => break finished,
            }
        };
        while let Ok((done, total)) = reports.try_recv() {
            progress(done, total);
        }
        let counts = match counts {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                let _ = std::fs::remove_file(&partial);
                return Err(write_err(out)(e.to_string()));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(write_err(out)(format!("the export stopped: {e}")));
            }
        };
        // Published without replacing: a hard link fails if `out` appeared meanwhile (another
        // export won the name), where a rename would silently replace it.
        let published = std::fs::hard_link(&partial, out);
        let _ = std::fs::remove_file(&partial);
        match published {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ExportError::Exists(out.to_path_buf()));
            }
            Err(e) => return Err(write_err(out)(e.to_string())),
        }
        let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        Ok(ExportSummary {
            path: out.to_path_buf(),
            integrations: counts.0,
            handoffs: counts.1,
            attempts: counts.2,
            bytes,
            exported_at,
        })
    }
}

/// `<out>.<random>.partial`: the copy being written, beside where it will be published.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{:08x}.partial", rand::random::<u32>()));
    out.with_file_name(name)
}

/// The attempts filter as SQL over `src.attempts` (values bound as ?1..?3).
const ATTEMPT_FILTER: &str = "(?1 IS NULL OR a.started_at >= ?1) AND (?2 IS NULL OR a.started_at < ?2) \
     AND (?3 IS NULL OR a.integration_id = ?3)";

/// Copies integrations, handoffs (masked) and attempts (echoes masked) from the store at
/// `store` into the export at `partial`. Returns (integrations, handoffs, attempts).
fn copy_history(
    partial: &Path,
    store: &Path,
    filter: &ExportFilter,
    exported_at: chrono::DateTime<chrono::Utc>,
    progress: &dyn Fn(u64, u64),
) -> Result<(u64, u64, u64), rusqlite::Error> {
    let mut conn = Connection::open(partial)?;
    // Freed pages are zeroed, so nothing written and replaced in the export lingers in it.
    conn.execute_batch("PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;")?;
    conn.execute("ATTACH DATABASE ?1 AS src", [store.to_string_lossy()])?;
    let integration = filter.integration.map(|i| i.to_string());
    let tx = conn.transaction()?;

    // Integrations: every one the exported attempts name (and the filtered one), configs
    // redacted; the field schemas drive the masking below.
    let mut fields: HashMap<String, Vec<FieldSpec>> = HashMap::new();
    let mut integrations = 0;
    {
        let mut read = tx.prepare(&format!(
            "SELECT id, name, kind, config, created_at, updated_at FROM src.integrations i
             WHERE EXISTS (SELECT 1 FROM src.attempts a WHERE a.integration_id = i.id AND \
             {ATTEMPT_FILTER}) OR i.id = ?3"
        ))?;
        let mut write = tx.prepare(
            "INSERT INTO integrations (id, name, kind, config, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut rows = read.query(params![filter.since_ms, filter.until_ms, integration])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let config: String = row.get(3)?;
            let (redacted, specs) = redact_config(&config);
            fields.insert(id.clone(), specs);
            write.execute(params![
                id,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                redacted,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?
            ])?;
            integrations += 1;
        }
    }

    let handoff_ids: Vec<String> = {
        let mut q = tx.prepare(&format!(
            "SELECT DISTINCT a.handoff_id FROM src.attempts a WHERE {ATTEMPT_FILTER} \
                 ORDER BY a.handoff_id"
        ))?;
        q.query_map(
            params![filter.since_ms, filter.until_ms, integration],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?
    };
    let total = handoff_ids.len() as u64;
    progress(0, total);
    let mut attempts = 0;
    {
        let mut read_handoff = tx.prepare(
            "SELECT integration_id, session_id, status, data, attempts, next_attempt_at,
                    in_flight_until, last_attempt_id, submission_id, created_at, updated_at,
                    data_masked, origin, integration_name
             FROM src.handoffs WHERE id = ?1",
        )?;
        let mut write_handoff = tx.prepare(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
                 next_attempt_at, in_flight_until, last_attempt_id, submission_id, created_at,
                 updated_at, data_masked, origin, integration_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?5, ?13, ?14)",
        )?;
        let mut read_attempts = tx.prepare(&format!(
            "SELECT a.* FROM src.attempts a WHERE a.handoff_id = ?4 AND {ATTEMPT_FILTER} \
                 ORDER BY a.attempt_number"
        ))?;
        let columns: Vec<String> = read_attempts
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let mut write_attempt = tx.prepare(&format!(
            "INSERT INTO attempts ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        ))?;
        let masked_columns = ["request", "response_excerpt", "message"];
        // Records written with structural masking are clean already; searching them again
        // could only garble the console's words (a collected "500" in "the limit is 500").
        let masking = columns.iter().position(|c| c == "masking");
        for (n, id) in handoff_ids.iter().enumerate() {
            let Some(h) = read_handoff
                .query_row([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        [
                            r.get::<_, Option<i64>>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, Option<i64>>(6)?,
                        ],
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        [r.get::<_, i64>(9)?, r.get::<_, i64>(10)?],
                        r.get::<_, Option<String>>(11)?,
                        [r.get::<_, String>(12)?, r.get::<_, String>(13)?],
                    ))
                })
                .optional()?
            else {
                continue;
            };
            let (
                integration_id,
                session,
                status,
                data,
                numbers,
                last,
                submission,
                times,
                kept,
                names,
            ) = h;
            let [origin, integration_name] = names;
            let specs = fields.get(&integration_id).map_or(&[][..], Vec::as_slice);
            // Sealed data stays sealed: its masked copy goes in (and its attempts were
            // recorded masked). Plain data from before encryption is masked here, and its
            // attempts recorded before structural masking are searched for its values.
            let (masked, echo) = if crate::crypto::is_sealed(&data) {
                let masked = kept
                    .and_then(|m| serde_json::from_str::<Value>(&m).ok())
                    .filter(Value::is_object)
                    .unwrap_or_else(|| Value::Object(Default::default()));
                (masked, EchoMask::default())
            } else {
                let raw: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                let masked = match &raw {
                    Value::Object(map) => Value::Object(mask_data(specs, map)),
                    _ => Value::Object(Default::default()),
                };
                (masked, EchoMask::new(specs, &raw))
            };
            write_handoff.execute(params![
                id,
                integration_id,
                session,
                status,
                masked.to_string(),
                numbers[0],
                numbers[1],
                numbers[2],
                last,
                submission,
                times[0],
                times[1],
                origin,
                integration_name
            ])?;
            let mut rows =
                read_attempts.query(params![filter.since_ms, filter.until_ms, integration, id])?;
            while let Some(row) = rows.next()? {
                let structural = match masking {
                    Some(i) => row.get::<_, Option<String>>(i)?.is_some(),
                    None => false,
                };
                let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(columns.len());
                for (i, column) in columns.iter().enumerate() {
                    let value: rusqlite::types::Value = row.get(i)?;
                    values.push(match value {
                        rusqlite::types::Value::Text(t)
                            if !structural && masked_columns.contains(&column.as_str()) =>
                        {
                            rusqlite::types::Value::Text(echo.text(&t))
                        }
                        other => other,
                    });
                }
                write_attempt.execute(rusqlite::params_from_iter(values))?;
                attempts += 1;
            }
            let done = n as u64 + 1;
            if done.is_multiple_of(CHUNK as u64) || done == total {
                progress(done, total);
            }
        }
    }
    // The audit trail of the same window (entries are redacted when written), and for one
    // integration the entries about it.
    tx.execute(
        "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, object_name, details)
         SELECT id, at, actor, action, object_type, object_id, object_name, details
         FROM src.audit_log
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2)
           AND (?3 IS NULL OR object_id = ?3)
         ORDER BY id",
        params![filter.since_ms, filter.until_ms, integration],
    )?;
    tx.execute_batch(
        "CREATE TABLE export_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
    )?;
    {
        let mut meta = tx.prepare("INSERT INTO export_meta (key, value) VALUES (?1, ?2)")?;
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        for (k, v) in [
            ("format", FORMAT.to_string()),
            ("version", FORMAT_VERSION.to_string()),
            ("exportedAt", exported_at.to_rfc3339()),
            ("console", env!("CARGO_PKG_VERSION").to_string()),
            ("sinceMs", opt(filter.since_ms)),
            ("untilMs", opt(filter.until_ms)),
            ("integration", integration.clone().unwrap_or_default()),
        ] {
            meta.execute(params![k, v])?;
        }
    }
    // The file is searched like a store: every attempt it holds indexed now (a store's worker
    // indexes in the background; a file has none).
    tx.execute_batch(
        "INSERT INTO history_search (rowid, text) SELECT attempt_rowid, text \
         FROM history_search_source \
         WHERE attempt_rowid IN (SELECT attempt_rowid FROM history_search_queue); \
         DELETE FROM history_search_queue;",
    )?;
    tx.commit()?;
    conn.execute_batch("DETACH DATABASE src; VACUUM;")?;
    Ok((integrations, total, attempts))
}

/// A config as the export keeps it: secrets were never in it (the store keeps a mask), and
/// anything else credential-like is redacted too: secret-looking headers, credentials in the
/// endpoint's user info or query string. Returns the JSON and the field schema.
fn redact_config(config: &str) -> (String, Vec<FieldSpec>) {
    let Ok(mut parsed) = serde_json::from_str::<IntegrationConfig>(config) else {
        // Unreadable: keep nothing of it.
        return ("{}".to_string(), Vec::new());
    };
    if let Some(api) = parsed.api.as_mut() {
        for (name, value) in api.headers.iter_mut() {
            if is_secret_header(name) {
                *value = REDACTED.to_string();
            }
        }
        api.endpoint = redact_url(&api.endpoint);
    }
    let fields = parsed.fields.clone();
    (
        serde_json::to_string(&parsed).unwrap_or_else(|_| "{}".into()),
        fields,
    )
}

/// The endpoint as the export keeps it (see [`redact_url_credentials`]).
fn redact_url(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            redact_url_credentials(&mut url);
            url.to_string()
        }
        Err(_) => endpoint.to_string(),
    }
}

/// Checks that `path` is a history export this build can read; returns its format version.
pub fn check_history_file(path: &Path) -> Result<i64, ExportError> {
    let not_history = |reason: &str| ExportError::NotHistory {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if !path.is_file() {
        return Err(not_history("there is no such file"));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| not_history("it cannot be opened as a SQLite database"))?;
    let format: Option<String> = conn
        .query_row(
            "SELECT value FROM export_meta WHERE key = 'format'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                not_history("it is not a SQLite database (or it is damaged)")
            }
            _ => {
                not_history("it has no export_meta table (a live store is opened with --data-dir)")
            }
        })?;
    if format.as_deref() != Some(FORMAT) {
        return Err(not_history("its export_meta does not name this format"));
    }
    let version: i64 = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM export_meta WHERE key = 'version'",
            [],
            |r| r.get(0),
        )
        .map_err(|_| not_history("its export_meta has no version"))?;
    if version > FORMAT_VERSION {
        return Err(ExportError::TooNew {
            path: path.to_path_buf(),
            version,
        });
    }
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|_| not_history("it is damaged"))?;
    if check != "ok" {
        return Err(not_history(
            "it is damaged (SQLite's integrity check failed)",
        ));
    }
    Ok(version)
}

impl From<ExportError> for crate::error::AppError {
    fn from(e: ExportError) -> Self {
        use ExportError as E;
        match e {
            E::Exists(_) => crate::error::AppError::invalid("out", e.to_string()),
            E::NotHistory { .. } | E::TooNew { .. } => {
                crate::error::AppError::invalid("historyFile", e.to_string())
            }
            E::Write { .. } => crate::error::AppError::unavailable(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_user_info_and_credential_query_values() {
        assert_eq!(
            redact_url("https://user:pw@emr.example.org/p?api_key=k1&page=2&token=t"),
            "https://emr.example.org/p?api_key=%5Bredacted%5D&page=2&token=%5Bredacted%5D"
        );
        assert_eq!(
            redact_url("https://emr.example.org/p"),
            "https://emr.example.org/p"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn configs_lose_secret_looking_headers() {
        let config = serde_json::json!({
            "name": "emr", "kind": "api",
            "api": {"endpoint": "https://h/p?sig=abc", "headers": {"X-Client-Secret": "s3", "Accept": "json"}}
        });
        let (redacted, _) = redact_config(&config.to_string());
        assert!(!redacted.contains("s3"), "{redacted}");
        assert!(redacted.contains("json"));
        assert!(redact_config("{not json").0 == "{}");
    }
}

//! Database targets: one row per handoff into the clinic's own table (PostgreSQL,
//! MySQL/MariaDB, SQLite).
//!
//! Each integration gets one pool, created on first use and reused; a change of connection
//! settings or password gets a new pool (the old one is closed). The table and mapped columns
//! are checked against the live schema (cached with the pool, reloaded once when the database
//! says they changed), identifiers are quoted for the dialect, and every value is converted to
//! its column's type and bound, never spliced. The insert runs in a transaction that is rolled
//! back on any error.
//!
//! When the built-in `handoffId` is mapped to a column that is unique on its own, the insert is
//! idempotent (see `insert`): a retry whose row the table already holds (the console died after
//! the target's commit, before recording it) inserts nothing and counts as delivered.

mod classify;
mod convert;
mod insert;
pub mod inspect;
mod kinds;
mod pool;
mod schema;

pub use pool::PoolStats;

use super::{Delivery, ErrorCategory, HandoffContext, ResolvedIntegration, Wording};
use crate::ids::IntegrationId;
use crate::integrations::{
    DatabaseConfig, DbType, FieldSpec, FieldType, IntegrationConfig, SECRET_MASK, SecretSlot,
    is_identifier,
};
use crate::masking;
use crate::templating::BUILTINS;
use classify::{Context, classify, is_unique_violation, suggests_schema_change};
use convert::{convert, describe};
use insert::{ReadBack, Resolved, RunError, Source, Stage};
use pool::TargetPool;
use schema::{TableRef, TableSchema};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The cached pools, one per database integration.
#[derive(Default)]
pub struct DatabasePools {
    entries: Mutex<HashMap<IntegrationId, Arc<Entry>>>,
    /// Keys the settings fingerprints, so that a fingerprint says nothing about the password.
    hasher: RandomState,
}

struct Entry {
    fingerprint: u64,
    pool: TargetPool,
    /// Live table descriptions by the configured table name.
    schemas: Mutex<HashMap<String, Arc<TableSchema>>>,
}

/// One column's value: a mapped field's (from the collected data, or a built-in), or a fixed
/// value from the config.
struct Mapped<'a> {
    source: Source<'a>,
    column: &'a str,
    value: Value,
    /// The type the field declares (built-ins included); `None` for fixed values and
    /// undeclared fields.
    field_type: Option<FieldType>,
}

impl Mapped<'_> {
    /// The setting that names this column, for messages.
    fn setting(&self) -> String {
        match self.source {
            Source::Field(field) => format!("database.fieldMapping.{field}"),
            Source::Fixed => format!("database.fixedValues.{}", self.column),
        }
    }
}

/// What a delivery does with the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A handoff: insert and commit.
    Insert,
    /// A preview: read the live schema and build the statement, but run nothing.
    Preview,
    /// A configuration test: insert, read the row back in the same transaction, and commit
    /// only when asked to (otherwise roll back).
    Test { commit: bool },
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DatabasePools {
    /// Inserts one row for the handoff. Never panics on input and never returns `Err`: a
    /// failure is a [`Delivery`] with its category.
    pub async fn deliver(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &Map<String, Value>,
    ) -> Delivery {
        self.deliver_as(integration, handoff, data, Mode::Insert)
            .await
    }

    /// As [`Self::deliver`], for a preview or a configuration test (see [`Mode`]). All three
    /// share the checks, the schema and the statement.
    #[tracing::instrument(skip_all, fields(integration = %integration.id, handoff_id = %handoff.handoff_id, mode = ?mode))]
    pub async fn deliver_as(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &Map<String, Value>,
        mode: Mode,
    ) -> Delivery {
        let Some(db) = integration.config.database.as_ref() else {
            return Delivery::refused(
                ErrorCategory::Configuration,
                "the integration has no database settings",
            );
        };
        // Everything that can be checked without the database is checked first, so a bad
        // identifier never reaches a connection.
        let table = match TableRef::parse(&db.table) {
            Ok(t) => t,
            Err(message) => return Delivery::refused(ErrorCategory::Configuration, message),
        };
        let mapped = match mapped_values(&integration.config, db, handoff, data) {
            Ok(m) => m,
            Err((category, message)) => return Delivery::refused(category, message),
        };
        if db.db_type == DbType::Sqlite && !std::path::Path::new(&db.database).is_file() {
            return Delivery::refused(
                ErrorCategory::Configuration,
                format!(
                    "the SQLite file '{}' does not exist (database.database); it is not created \
                     automatically",
                    db.database
                ),
            );
        }
        let password = password(integration, db);
        let entry = self.entry(integration.id, db, password);
        let cx = Context::of(db);
        let started = Instant::now();
        let mut delivery = entry.deliver(&cx, db, &table, &mapped, mode).await;
        // What is recorded: each collected field's mask in its parameter's place, and the forms
        // the values were bound in (for masking a database that echoes them).
        let masks = field_masks(&integration.config.fields, &mapped);
        delivery.recorded_request = recorded_request(&delivery.request, &masks);
        delivery.converted = converted_forms(&delivery.request, &masks);
        if let Mode::Test { commit } = mode {
            delivery.details.committed = Some(commit && delivery.succeeded());
        }
        // Categories and timings only: never values, never the password.
        let duration_ms = started.elapsed().as_millis() as u64;
        match delivery.failure {
            None => {
                let what = match mode {
                    _ if delivery.details.already_there => "row already there",
                    Mode::Insert | Mode::Test { commit: true } => "row inserted",
                    Mode::Test { commit: false } => "test row inserted and rolled back",
                    Mode::Preview => "insert previewed",
                };
                tracing::debug!(table = %db.table, duration_ms, "{what}");
            }
            Some(category) => tracing::info!(
                db = db.db_type.as_str(),
                table = %db.table,
                category = category.as_str(),
                duration_ms,
                "database delivery failed"
            ),
        }
        delivery
    }

    /// Drops the integration's pool and closes its connections.
    pub async fn forget(&self, id: IntegrationId) {
        let entry = lock(&self.entries).remove(&id);
        if let Some(entry) = entry {
            entry.pool.close().await;
        }
    }

    /// How many pools are cached.
    pub fn pool_count(&self) -> usize {
        lock(&self.entries).len()
    }

    /// The state of an integration's pool, if it has one.
    pub fn pool_stats(&self, id: IntegrationId) -> Option<PoolStats> {
        lock(&self.entries).get(&id).map(|e| e.pool.stats())
    }

    /// The cached entry, or a new one when there is none or the settings changed.
    fn entry(&self, id: IntegrationId, db: &DatabaseConfig, password: Option<&str>) -> Arc<Entry> {
        let fingerprint = self.fingerprint(db, password);
        let mut entries = lock(&self.entries);
        if let Some(e) = entries.get(&id)
            && e.fingerprint == fingerprint
        {
            return e.clone();
        }
        let entry = Arc::new(Entry {
            fingerprint,
            pool: TargetPool::new(id, db, password),
            schemas: Mutex::default(),
        });
        if let Some(old) = entries.insert(id, entry.clone()) {
            tracing::info!(integration = %id, "database settings changed; replacing the pool");
            // Closing waits for connections in use to come back; don't hold this delivery up.
            let pool = old.pool.clone();
            tokio::spawn(async move { pool.close().await });
        }
        entry
    }

    fn fingerprint(&self, db: &DatabaseConfig, password: Option<&str>) -> u64 {
        self.hasher.hash_one((
            db.db_type.as_str(),
            &db.hostname,
            db.port,
            &db.database,
            &db.username,
            password,
            db.tls_mode().as_str(),
            &db.ssl_root_cert,
            db.pool_size,
            db.connect_timeout_ms,
            db.statement_timeout_ms,
        ))
    }
}

/// The password from the secrets backend; a plain one left in the config (not the mask) is
/// used when there is none there.
fn password<'a>(integration: &'a ResolvedIntegration, db: &'a DatabaseConfig) -> Option<&'a str> {
    integration
        .secret(SecretSlot::DatabasePassword)
        .or_else(|| db.password.as_deref().filter(|p| *p != SECRET_MASK))
        .filter(|p| !p.is_empty())
}

/// Where the data goes, for messages (never with the password).
pub fn target_label(db: &DatabaseConfig) -> String {
    let host = db.hostname.as_deref().unwrap_or("localhost");
    let port = db.port.or(db.db_type.default_port()).unwrap_or_default();
    match db.db_type {
        DbType::Postgresql => format!("PostgreSQL at {host}:{port}/{}", db.database),
        DbType::Mysql => format!("MySQL at {host}:{port}/{}", db.database),
        DbType::Sqlite => format!("SQLite file '{}'", db.database),
    }
}

/// The mapped fields that have a value, in mapping order, then the fixed values. Checks the
/// column names.
fn mapped_values<'a>(
    config: &IntegrationConfig,
    db: &'a DatabaseConfig,
    handoff: &HandoffContext<'_>,
    data: &Map<String, Value>,
) -> Result<Vec<Mapped<'a>>, (ErrorCategory, String)> {
    if db.field_mapping.is_empty() {
        return Err((
            ErrorCategory::Configuration,
            "database.fieldMapping maps no field to a column".to_string(),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (field, column) in &db.field_mapping {
        if !is_identifier(column) {
            return Err((
                ErrorCategory::Configuration,
                format!(
                    "database.fieldMapping.{field}: column '{column}' is not a plain identifier \
                     (letters, digits, _)"
                ),
            ));
        }
        if !seen.insert(column.to_ascii_lowercase()) {
            return Err((
                ErrorCategory::Configuration,
                format!("database.fieldMapping.{field}: column '{column}' is mapped twice"),
            ));
        }
        let (value, field_type) = match field.as_str() {
            "timestamp" => (
                Some(Value::String(handoff.timestamp.clone())),
                Some(FieldType::Datetime),
            ),
            "sessionId" => (
                Some(Value::String(handoff.session_id.to_string())),
                Some(FieldType::Text),
            ),
            insert::HANDOFF_ID => (
                Some(Value::String(handoff.handoff_id.to_string())),
                Some(FieldType::Uuid),
            ),
            // Absent fields are left out, so the column's default applies.
            _ => (
                data.get(field).cloned(),
                config.field(field).map(|f| f.field_type),
            ),
        };
        if let Some(value) = value {
            out.push(Mapped {
                source: Source::Field(field),
                column,
                value,
                field_type,
            });
        }
    }
    if out.is_empty() {
        let fields: Vec<&str> = db.field_mapping.keys().map(String::as_str).collect();
        return Err((
            ErrorCategory::Validation,
            format!(
                "none of the mapped fields ({}) has a value in this handoff",
                fields.join(", ")
            ),
        ));
    }
    for (column, value) in &db.fixed_values {
        if !is_identifier(column) {
            return Err((
                ErrorCategory::Configuration,
                format!(
                    "database.fixedValues.{column}: column '{column}' is not a plain identifier \
                     (letters, digits, _)"
                ),
            ));
        }
        if !seen.insert(column.to_ascii_lowercase()) {
            return Err((
                ErrorCategory::Configuration,
                format!(
                    "database.fixedValues.{column}: column '{column}' is also filled by a field \
                     or given twice"
                ),
            ));
        }
        out.push(Mapped {
            source: Source::Fixed,
            column,
            value: value.clone(),
            field_type: None,
        });
    }
    Ok(out)
}

/// The mask of each collected field (by name) whose mask is not its value: a kept type (a
/// number, a choice, a time) keeps its value and is recorded as bound. Built-ins and fixed
/// values are the console's and the config's, recorded as bound.
fn field_masks(fields: &[FieldSpec], mapped: &[Mapped<'_>]) -> HashMap<String, Value> {
    mapped
        .iter()
        .filter_map(|m| match m.source {
            Source::Field(field) if !BUILTINS.contains(&field) => {
                let masked = masking::mask_field(fields, field, &m.value);
                (masked != m.value).then(|| (field.to_string(), masked))
            }
            _ => None,
        })
        .collect()
}

/// `request` (`{sql, params}`) with each masked field's parameter value replaced by its mask,
/// whatever it was bound as (the integer a phone number became is recorded as the phone's
/// mask). A parameter that names neither a field nor a fixed value is hidden.
fn recorded_request(request: &Value, masks: &HashMap<String, Value>) -> Value {
    let mut recorded = request.clone();
    if let Some(params) = recorded.get_mut("params").and_then(Value::as_array_mut) {
        for param in params {
            let field = param
                .get("field")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let fixed = param.get("fixed") == Some(&Value::Bool(true));
            match (field, fixed) {
                (Some(field), _) => {
                    if let Some(masked) = masks.get(&field) {
                        param["value"] = masked.clone();
                    }
                }
                (None, true) => {}
                (None, false) => param["value"] = Value::String("***".into()),
            }
        }
    }
    recorded
}

/// The masked fields' values as bound, in the forms a database may show them (a date-time
/// also with a space for the `T` and without the `Z`), each with the field's mask as text.
/// Booleans are left out: `true` says nothing and is in every other message.
fn converted_forms(request: &Value, masks: &HashMap<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let params = request.get("params").and_then(Value::as_array);
    for param in params.into_iter().flatten() {
        let Some(masked) = param
            .get("field")
            .and_then(Value::as_str)
            .and_then(|f| masks.get(f))
        else {
            continue;
        };
        let masked = masking::masked_text(masked);
        let forms = match &param["value"] {
            Value::String(s) => {
                let mut forms = vec![s.clone()];
                let bare = s.strip_suffix('Z').unwrap_or(s);
                if let Some((date, time)) = bare.split_once('T')
                    && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
                {
                    forms.push(bare.to_string());
                    forms.push(format!("{date} {time}"));
                }
                forms
            }
            Value::Number(n) => vec![n.to_string()],
            _ => Vec::new(),
        };
        out.extend(forms.into_iter().map(|f| (f, masked.clone())));
    }
    out
}

enum ResolveError {
    /// `what` says where the column is named (`mapped from field 'x'`, `given a fixed value`).
    MissingColumn {
        what: String,
        setting: String,
        column: String,
    },
    /// A collected value that does not fit its column: the data's problem.
    Mismatch(String),
    /// A fixed value that does not fit its column: the config's problem.
    FixedMismatch(String),
}

/// Matches every mapped field and fixed value to its live column, then converts the values.
fn resolve<'a>(
    db: DbType,
    schema: &'a TableSchema,
    mapped: &'a [Mapped<'a>],
) -> Result<Vec<Resolved<'a>>, ResolveError> {
    let mut columns = Vec::with_capacity(mapped.len());
    for m in mapped {
        match schema.column(m.column) {
            Some(c) => columns.push(c),
            None => {
                return Err(ResolveError::MissingColumn {
                    what: match m.source {
                        Source::Field(field) => format!("mapped from field '{field}'"),
                        Source::Fixed => "given a fixed value".to_string(),
                    },
                    setting: m.setting(),
                    column: m.column.to_string(),
                });
            }
        }
    }
    mapped
        .iter()
        .zip(columns)
        .map(
            |(m, column)| match (convert(db, column.kind, m.field_type, &m.value), m.source) {
                (Ok(bound), source) => Ok(Resolved {
                    source,
                    column,
                    bound,
                }),
                (Err(mismatch), Source::Field(field)) => Err(ResolveError::Mismatch(format!(
                    "field '{field}' cannot be stored in column {} ({}): expected {}, got {}",
                    column.name,
                    column.type_name,
                    mismatch.expected,
                    describe(&m.value)
                ))),
                // Config, not collected data: the value itself may be shown.
                (Err(mismatch), Source::Fixed) => Err(ResolveError::FixedMismatch(format!(
                    "the fixed value {} cannot be stored in column {} ({}): expected {} — change \
                 database.fixedValues.{}",
                    m.value, column.name, column.type_name, mismatch.expected, m.column
                ))),
            },
        )
        .collect()
}

/// Whether the built-in `handoffId` is one of the mapped values.
fn maps_handoff_id(mapped: &[Mapped<'_>]) -> bool {
    mapped
        .iter()
        .any(|m| m.source == Source::Field(insert::HANDOFF_ID))
}

fn failed(category: ErrorCategory, message: Wording, request: Value) -> Delivery {
    Delivery {
        failure: Some(category),
        status_code: None,
        message: message.text,
        quoted: message.quoted,
        submission_id: None,
        request,
        recorded_request: Value::Null,
        converted: Vec::new(),
        response_excerpt: None,
        retry_after: None,
        details: Default::default(),
    }
}

impl Entry {
    async fn deliver(
        &self,
        cx: &Context,
        db: &DatabaseConfig,
        table: &TableRef,
        mapped: &[Mapped<'_>],
        mode: Mode,
    ) -> Delivery {
        let limit = db.statement_timeout();
        let mut reload = false;
        loop {
            let (schema, fresh) = match self.schema(table, &db.table, reload, limit).await {
                Ok(Some(found)) => found,
                Ok(None) => {
                    return Delivery::refused(
                        ErrorCategory::Configuration,
                        format!(
                            "table '{}' was not found in {} (database.table); it must exist and \
                             be visible to user '{}'",
                            db.table,
                            cx.target,
                            cx.username.as_deref().unwrap_or("(default)")
                        ),
                    );
                }
                Err(e) => return self.failure(cx, db, e, Value::Null).await,
            };
            let values = match resolve(cx.db, &schema, mapped) {
                Ok(v) => v,
                // The cached columns may be stale: read them again before saying no.
                Err(ResolveError::MissingColumn { .. }) if !fresh => {
                    reload = true;
                    continue;
                }
                Err(ResolveError::MissingColumn {
                    what,
                    setting,
                    column,
                }) => {
                    let mut known: Vec<&str> =
                        schema.columns.iter().map(|c| c.name.as_str()).collect();
                    known.truncate(40);
                    return Delivery::refused(
                        ErrorCategory::Configuration,
                        format!(
                            "column '{column}' ({what}) does not exist in table {}; its columns \
                             are: {} ({setting})",
                            db.table,
                            known.join(", ")
                        ),
                    );
                }
                // So may a cached type: a value that does not fit gets one more look.
                Err(ResolveError::Mismatch(_) | ResolveError::FixedMismatch(_)) if !fresh => {
                    reload = true;
                    continue;
                }
                Err(ResolveError::Mismatch(message)) => {
                    return Delivery::refused(ErrorCategory::Validation, message);
                }
                Err(ResolveError::FixedMismatch(message)) => {
                    return Delivery::refused(ErrorCategory::Configuration, message);
                }
            };
            let test = match mode {
                Mode::Insert => None,
                Mode::Test { commit } => Some(ReadBack { commit }),
                Mode::Preview => {
                    return Delivery {
                        failure: None,
                        status_code: None,
                        message: "nothing was run".to_string(),
                        quoted: Vec::new(),
                        submission_id: None,
                        request: insert::statement(self.pool.db_type(), &schema, &values),
                        recorded_request: Value::Null,
                        converted: Vec::new(),
                        response_excerpt: None,
                        retry_after: None,
                        details: Default::default(),
                    };
                }
            };
            let key = insert::idempotency_key(&schema, &values).map(|r| r.column.name.clone());
            let (request, result) = self.pool.insert(&schema, &values, limit, test).await;
            match result {
                Ok(inserted) => {
                    let id = inserted.id;
                    // The id is the database's (a key may be a collected value): quoted, so
                    // that what is recorded masks it if it is one.
                    let found_by = key.as_deref().unwrap_or("handoff id");
                    let mut message = match (inserted.already_there, &id) {
                        (true, Some(id)) => Wording::new(format!(
                            "the row was already there: {} has this handoff's row (id ",
                            db.table
                        ))
                        .quote(id)
                        .own(&format!(", found by its {found_by}); nothing was inserted")),
                        (true, None) => Wording::new(format!(
                            "the row was already there: {} has this handoff's row (found by its \
                             {found_by}); nothing was inserted",
                            db.table
                        )),
                        (false, Some(id)) => {
                            Wording::new(format!("inserted 1 row into {} (id ", db.table))
                                .quote(id)
                                .own(")")
                        }
                        (false, None) => Wording::new(format!("inserted 1 row into {}", db.table)),
                    };
                    if test.is_some_and(|t| !t.commit) && !inserted.already_there {
                        message = message.own(", then rolled it back (test)");
                    }
                    let (row, row_note) = match inserted.read_back {
                        None => (None, None),
                        Some(Ok(row)) => (Some(row), None),
                        Some(Err(note)) => (None, Some(note)),
                    };
                    return Delivery {
                        failure: None,
                        status_code: None,
                        message: message.text,
                        quoted: message.quoted,
                        submission_id: id.clone(),
                        request,
                        recorded_request: Value::Null,
                        converted: Vec::new(),
                        response_excerpt: id,
                        retry_after: None,
                        details: super::DeliveryDetails {
                            row,
                            row_note,
                            already_there: inserted.already_there,
                            ..Default::default()
                        },
                    };
                }
                Err(RunError::Sql(e)) if !fresh && suggests_schema_change(cx.db, &e) => {
                    tracing::info!(table = %db.table, "the table seems to have changed; reading its columns again");
                    reload = true;
                }
                // The handoff's column may have been made unique since the columns were read:
                // a second look lets a retry find its row instead of failing on it.
                Err(RunError::Sql(e))
                    if !fresh
                        && key.is_none()
                        && maps_handoff_id(mapped)
                        && is_unique_violation(&e) =>
                {
                    tracing::info!(table = %db.table, "a unique value is taken; reading the table's unique columns again");
                    reload = true;
                }
                Err(e) => return self.failure(cx, db, e, request).await,
            }
        }
    }

    /// The table's live description: cached, or read now (`true` when read now).
    async fn schema(
        &self,
        table: &TableRef,
        key: &str,
        reload: bool,
        limit: Duration,
    ) -> Result<Option<(Arc<TableSchema>, bool)>, RunError> {
        if !reload && let Some(s) = lock(&self.schemas).get(key) {
            return Ok(Some((s.clone(), false)));
        }
        // Connecting has its own limit (the pool's acquire timeout); add it to the query's.
        let load = self.pool.read_table(table);
        let loaded = tokio::time::timeout(limit + self.pool.acquire_timeout(), load)
            .await
            .map_err(|_| RunError::TimedOut(Stage::Columns))?
            .map_err(RunError::Sql)?;
        let mut schemas = lock(&self.schemas);
        Ok(match loaded {
            Some(s) => {
                let s = Arc::new(s);
                schemas.insert(key.to_string(), s.clone());
                Some((s, true))
            }
            None => {
                schemas.remove(key);
                None
            }
        })
    }

    async fn failure(
        &self,
        cx: &Context,
        db: &DatabaseConfig,
        e: RunError,
        request: Value,
    ) -> Delivery {
        let ms = db.statement_timeout().as_millis();
        let target = &cx.target;
        let (category, message) = match e {
            RunError::TimedOut(stage) => (
                ErrorCategory::Timeout,
                Wording::new(match stage {
                    Stage::Columns => format!(
                        "reading the columns of {} from {target} took longer than {ms} ms \
                         (database.statementTimeoutMs)",
                        db.table
                    ),
                    Stage::Insert => format!(
                        "the insert into {} on {target} took longer than {ms} ms \
                         (database.statementTimeoutMs); it was rolled back",
                        db.table
                    ),
                    Stage::Commit => format!(
                        "{target} did not confirm the commit within {ms} ms \
                         (database.statementTimeoutMs); the row may or may not be in {}",
                        db.table
                    ),
                }),
            ),
            RunError::Sql(e) => {
                let e = self.pool.explain(e).await;
                let f = classify(&e, cx);
                (f.category, f.wording())
            }
            RunError::UniqueTaken => (
                ErrorCategory::Validation,
                Wording::new(format!(
                    "the database rejected the row: nothing was inserted, and no row of {} holds \
                     this handoff's id (another row already holds one of its unique values, or a \
                     trigger skipped it)",
                    db.table
                )),
            ),
            RunError::CannotRollBack(engine) => {
                let mut d = failed(
                    ErrorCategory::Configuration,
                    Wording::new(format!(
                        "table {} uses the {engine} engine, which cannot roll back: a test row \
                         would stay in the table, so nothing was inserted (a test with commit \
                         inserts one on purpose; a preview shows the statement)",
                        db.table
                    )),
                    request,
                );
                d.details.cannot_roll_back = Some(engine);
                return d;
            }
        };
        failed(category, message, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::HandoffId;
    use crate::integrations::IntegrationConfig;
    use crate::secrets::Secret;
    use serde_json::json;

    fn integration(database: Value) -> ResolvedIntegration {
        let config: IntegrationConfig = serde_json::from_value(json!({
            "name": "t", "kind": "database", "database": database
        }))
        .unwrap();
        ResolvedIntegration {
            id: IntegrationId::new(),
            config,
            secrets: Default::default(),
        }
    }

    fn handoff() -> HandoffContext<'static> {
        HandoffContext {
            handoff_id: HandoffId::new(),
            session_id: "sess-1",
            timestamp: "2024-05-31T14:30:00Z".into(),
        }
    }

    fn db(integration: &ResolvedIntegration) -> &DatabaseConfig {
        integration.config.database.as_ref().unwrap()
    }

    #[test]
    fn builtins_and_present_fields_are_mapped_absent_ones_left_out() {
        let i = integration(json!({
            "type": "sqlite", "database": "x.db", "table": "t",
            "fieldMapping": {"timestamp": "ts", "sessionId": "sid", "handoffId": "hid",
                             "fullName": "name", "notes": "notes"},
            "fixedValues": {"clinic": "C-42", "source_id": 7}
        }));
        let h = handoff();
        let data = json!({"fullName": "Jane", "unmapped": 1});
        let m = mapped_values(&i.config, db(&i), &h, data.as_object().unwrap())
            .unwrap_or_else(|(_, message)| panic!("{message}"));
        let got: Vec<(&str, &str, Value)> = m
            .iter()
            .map(|m| match m.source {
                Source::Field(field) => (field, m.column, m.value.clone()),
                Source::Fixed => ("(fixed)", m.column, m.value.clone()),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("fullName", "name", json!("Jane")),
                ("handoffId", "hid", json!(h.handoff_id.to_string())),
                ("sessionId", "sid", json!("sess-1")),
                ("timestamp", "ts", json!("2024-05-31T14:30:00Z")),
                ("(fixed)", "clinic", json!("C-42")),
                ("(fixed)", "source_id", json!(7)),
            ]
        );
        for builtin in crate::templating::BUILTINS {
            assert!(
                got.iter().any(|g| g.0 == builtin),
                "{builtin} is not mapped"
            );
        }
    }

    #[test]
    fn the_recorded_parameters_hold_each_fields_mask_whatever_it_was_bound_as() {
        let i = integration(json!({
            "type": "sqlite", "database": "x.db", "table": "t",
            "fieldMapping": {"phone": "phone", "seen": "seen", "age": "age", "sessionId": "sid"},
            "fixedValues": {"clinic": "C-42"}
        }));
        let mut i = i;
        i.config.fields = serde_json::from_value(json!([
            {"name": "phone", "type": "phone"}, {"name": "seen", "type": "datetime"},
            {"name": "age", "type": "integer"}
        ]))
        .unwrap();
        let h = handoff();
        let data = json!({"phone": "5550104477", "seen": "2031-07-19T09:41:27-05:00", "age": 42});
        let mapped = mapped_values(&i.config, db(&i), &h, data.as_object().unwrap())
            .unwrap_or_else(|(_, m)| panic!("{m}"));
        // As the statement binds them: an integer, a date-time in UTC.
        let request = json!({"sql": "INSERT …", "params": [
            {"field": "phone", "column": "phone", "type": "INTEGER", "value": 5550104477_i64},
            {"field": "seen", "column": "seen", "type": "TIMESTAMPTZ", "value": "2031-07-19T14:41:27Z"},
            {"field": "age", "column": "age", "type": "TEXT", "value": "42"},
            {"field": "sessionId", "column": "sid", "type": "TEXT", "value": "sess-1"},
            {"fixed": true, "column": "clinic", "type": "TEXT", "value": "C-42"},
            {"column": "mystery", "type": "TEXT", "value": "unknown"}
        ]});
        let masks = field_masks(&i.config.fields, &mapped);
        let values: Vec<Value> = recorded_request(&request, &masks)["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].clone())
            .collect();
        assert_eq!(
            values,
            [
                json!("***-***-4477"),
                json!("2031-**-**"),
                json!("42"),
                json!("sess-1"),
                json!("C-42"),
                json!("***")
            ]
        );
        let mut forms = converted_forms(&request, &masks);
        forms.sort();
        assert_eq!(
            forms,
            [
                ("2031-07-19 14:41:27".to_string(), "2031-**-**".to_string()),
                ("2031-07-19T14:41:27".to_string(), "2031-**-**".to_string()),
                ("2031-07-19T14:41:27Z".to_string(), "2031-**-**".to_string()),
                ("5550104477".to_string(), "***-***-4477".to_string()),
            ]
        );
    }

    #[test]
    fn bad_mappings_are_refused_before_any_connection() {
        let h = handoff();
        let data = json!({"a": 1});
        let data = data.as_object().unwrap();
        let cases = [
            (
                json!({"a": "x\"; DROP TABLE t; --"}),
                ErrorCategory::Configuration,
            ),
            (json!({"a": "x", "b": "X"}), ErrorCategory::Configuration),
            (json!({"b": "x"}), ErrorCategory::Validation),
            (json!({}), ErrorCategory::Configuration),
        ];
        for (mapping, category) in cases {
            let i = integration(json!({
                "type": "sqlite", "database": "x.db", "table": "t", "fieldMapping": mapping
            }));
            match mapped_values(&i.config, db(&i), &h, data) {
                Ok(_) => panic!("{mapping} was accepted"),
                Err((got, message)) => assert_eq!(got, category, "{mapping}: {message}"),
            }
        }
    }

    #[test]
    fn fixed_values_are_refused_on_a_bad_or_taken_column_and_never_alone() {
        let h = handoff();
        let with = |fixed: Value, data: Value| {
            let i = integration(json!({
                "type": "sqlite", "database": "x.db", "table": "t",
                "fieldMapping": {"a": "col_a"}, "fixedValues": fixed
            }));
            mapped_values(&i.config, db(&i), &h, data.as_object().unwrap()).map(|m| m.len())
        };
        let (category, message) = with(json!({"x\"y": 1}), json!({"a": 1})).unwrap_err();
        assert_eq!(category, ErrorCategory::Configuration);
        assert!(message.starts_with("database.fixedValues."), "{message}");
        let (category, message) = with(json!({"COL_A": 1}), json!({"a": 1})).unwrap_err();
        assert_eq!(category, ErrorCategory::Configuration);
        assert!(message.contains("also filled by a field"), "{message}");
        // A handoff with none of its fields is still refused: fixed values alone are no row.
        let (category, _) = with(json!({"clinic": "C"}), json!({"b": 1})).unwrap_err();
        assert_eq!(category, ErrorCategory::Validation);
        assert_eq!(with(json!({"clinic": "C"}), json!({"a": 1})).ok(), Some(2));
    }

    #[tokio::test]
    async fn deliver_refuses_bad_identifiers_without_opening_a_pool() {
        let pools = DatabasePools::default();
        let h = handoff();
        let data = json!({"a": 1});
        for (table, column) in [("patients; DROP TABLE x", "a"), ("patients", "a\"b")] {
            // Port 1 on localhost: were it tried, the failure would be `network`, not this.
            let i = integration(json!({
                "type": "postgresql", "hostname": "127.0.0.1", "port": 1, "database": "d",
                "username": "u", "table": table, "fieldMapping": {"a": column}
            }));
            let d = pools.deliver(&i, &h, data.as_object().unwrap()).await;
            assert_eq!(
                d.failure,
                Some(ErrorCategory::Configuration),
                "{}",
                d.message
            );
            assert!(d.message.contains("plain identifier"), "{}", d.message);
            assert_eq!(pools.pool_count(), 0);
        }
    }

    #[tokio::test]
    async fn a_missing_sqlite_file_is_configuration_and_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let i = integration(json!({
            "type": "sqlite", "database": path.to_str().unwrap(), "table": "t",
            "fieldMapping": {"a": "a"}
        }));
        let pools = DatabasePools::default();
        let data = json!({"a": 1});
        let d = pools
            .deliver(&i, &handoff(), data.as_object().unwrap())
            .await;
        assert_eq!(d.failure, Some(ErrorCategory::Configuration));
        assert!(d.message.contains("does not exist"), "{}", d.message);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn changed_settings_or_password_get_a_new_pool() {
        let pools = DatabasePools::default();
        let mut i = integration(json!({
            "type": "postgresql", "hostname": "127.0.0.1", "database": "d", "username": "u",
            "table": "t", "fieldMapping": {"a": "a"}
        }));
        let first = pools.entry(i.id, db(&i), None);
        assert!(Arc::ptr_eq(&first, &pools.entry(i.id, db(&i), None)));
        let with_password = pools.entry(i.id, db(&i), Some("s3cret"));
        assert!(!Arc::ptr_eq(&first, &with_password));
        i.config.database.as_mut().unwrap().pool_size = Some(2);
        let resized = pools.entry(i.id, db(&i), Some("s3cret"));
        assert!(!Arc::ptr_eq(&with_password, &resized));
        assert_eq!(pools.pool_count(), 1);
        assert_eq!(pools.pool_stats(i.id).unwrap().max_connections, 2);
        pools.forget(i.id).await;
        assert_eq!(pools.pool_count(), 0);
    }

    #[test]
    fn the_password_comes_from_the_secrets_and_never_the_mask() {
        let mut i = integration(json!({
            "type": "mysql", "hostname": "h", "database": "d", "username": "u",
            "password": SECRET_MASK, "table": "t", "fieldMapping": {"a": "a"}
        }));
        assert_eq!(password(&i, db(&i)), None);
        i.secrets.insert(
            SecretSlot::DatabasePassword,
            Secret::new("from-keyring".to_string()),
        );
        assert_eq!(password(&i, db(&i)), Some("from-keyring"));
        assert_eq!(target_label(db(&i)), "MySQL at h:3306/d");
    }

    #[test]
    fn deliver_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let pools = DatabasePools::default();
        let i = integration(json!({
            "type": "sqlite", "database": "x.db", "table": "t", "fieldMapping": {"a": "a"}
        }));
        let h = handoff();
        let data = Map::new();
        assert_send(&pools.deliver(&i, &h, &data));
    }
}

//! Building the INSERT for each dialect (quoted identifiers, bound values) and running it under
//! the statement timeout: in a transaction, except a PostgreSQL delivery, whose single INSERT
//! runs in autocommit (the server's `statement_timeout` bounds it; see [`postgres`]).
//!
//! **One row per handoff.** When the built-in `handoffId` goes to a column that is unique on its
//! own in the live schema ([`idempotency_key`]), the insert skips a row the table already holds
//! for that handoff: PostgreSQL and SQLite `ON CONFLICT (col) DO NOTHING`; MySQL/MariaDB
//! `ON DUPLICATE KEY UPDATE col = <col itself>` (never `INSERT IGNORE`, which would also turn
//! NOT NULL and truncation errors into warnings). A skipped insert counts as delivered only when
//! a row with this handoff's id is there, looked up by that column in the same transaction; a
//! conflict on another unique value stays a failure (`RunError::UniqueTaken`, or the database's
//! own unique violation).

use super::convert::Bound;
use super::kinds::mysql;
use super::schema::{Column, ColumnKind, Dialect, TableSchema, qualified, quote};
use crate::integrations::DbType;
use crate::targets::StoredColumn;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Value, json};
use sqlx::{
    Acquire, Database, MySql, MySqlPool, PgConnection, PgPool, Postgres, QueryBuilder, Row, Sqlite,
    SqlitePool, Transaction,
};
use std::time::Duration;
use uuid::Uuid;

/// The built-in field that carries the handoff's id.
pub(super) const HANDOFF_ID: &str = "handoffId";

/// Why a statement did not complete.
pub(super) enum RunError {
    Sql(sqlx::Error),
    /// The idempotent insert inserted nothing, and no row holds this handoff's id: another
    /// row holds one of its unique values (MySQL's ON DUPLICATE KEY UPDATE fires on any unique
    /// key), or a trigger skipped the row.
    UniqueTaken,
    /// The statement timeout ran out while this was running.
    TimedOut(Stage),
    /// A test that must roll back, on a table whose engine cannot (MySQL's MyISAM, MEMORY…):
    /// nothing was inserted. Holds the engine's name.
    CannotRollBack(String),
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> Self {
        RunError::Sql(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Reading the table's columns.
    Columns,
    Insert,
    /// The outcome is unknown: the database may have committed.
    Commit,
}

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source<'a> {
    /// A collected field (or a built-in such as `timestamp`).
    Field(&'a str),
    /// `database.fixedValues`: the same on every insert.
    Fixed,
}

/// A mapped field (or a fixed value) matched to its live column and converted to the column's
/// type.
pub(super) struct Resolved<'a> {
    pub source: Source<'a>,
    pub column: &'a Column,
    pub bound: Bound,
}

/// What an insert did: the new row's id and, for a test, the row read back (or why not).
pub(super) struct Inserted {
    /// The new row's id, or the existing row's when `already_there`.
    pub id: Option<String>,
    /// The idempotent insert found this handoff's row in the table and inserted nothing.
    pub already_there: bool,
    pub read_back: Option<Result<Vec<StoredColumn>, String>>,
}

impl Inserted {
    fn new(id: Option<String>, read_back: Option<Result<Vec<StoredColumn>, String>>) -> Self {
        Self {
            id,
            already_there: false,
            read_back,
        }
    }

    /// This handoff's row, found where the insert was skipped (`id`: that row's).
    fn found(id: Option<String>, test: Option<ReadBack>) -> Self {
        Self {
            id,
            already_there: true,
            read_back: test.map(|_| Err(ALREADY_THERE.to_string())),
        }
    }
}

const ALREADY_THERE: &str = "the row was already there: nothing was inserted to read back";

/// The value that makes the insert idempotent: the handoff's id, when the column it goes to
/// is unique on its own in the live schema.
pub(super) fn idempotency_key<'r, 'a>(
    t: &TableSchema,
    values: &'r [Resolved<'a>],
) -> Option<&'r Resolved<'a>> {
    values
        .iter()
        .find(|r| r.source == Source::Field(HANDOFF_ID) && t.is_unique(&r.column.name))
}

/// What follows the VALUES list to skip a row the table already has for this handoff.
fn conflict_clause<D: Dialect>(key: &Resolved<'_>) -> String {
    D::skip_existing(&quote::<D>(&key.column.name))
}

/// `SELECT <the row's id as text, or NULL> FROM <table> WHERE <the key column> = `: finds the
/// row an idempotent insert skipped (the caller binds the handoff's id). The id is the one an
/// insert reports ([`Dialect::row_id`]).
fn existing_row_head<D: Dialect>(t: &TableSchema, key: &Resolved<'_>) -> String {
    let id = format!(
        "CAST({} AS {})",
        D::row_id(t).as_deref().unwrap_or("NULL"),
        D::TEXT
    );
    format!(
        "SELECT {id} FROM {} WHERE {} = ",
        qualified::<D>(t.schema.as_deref(), &t.name),
        quote::<D>(&key.column.name)
    )
}

/// A test's wishes: read the row back, and commit or roll back.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadBack {
    pub commit: bool,
}

/// What was sent: the statement with placeholders and each bound value. A fixed value is marked
/// `"fixed": true` (and has no field): it is config, not collected data.
pub(super) fn request_json(sql: &str, values: &[Resolved<'_>]) -> Value {
    let params: Vec<Value> = values
        .iter()
        .map(|r| match r.source {
            Source::Field(field) => json!({
                "field": field,
                "column": r.column.name,
                "type": r.column.type_name,
                "value": r.bound.to_json(),
            }),
            Source::Fixed => json!({
                "fixed": true,
                "column": r.column.name,
                "type": r.column.type_name,
                "value": r.bound.to_json(),
            }),
        })
        .collect();
    json!({ "sql": sql, "params": params })
}

/// The statement a delivery would run and its parameters, built by the same code, for a
/// preview (nothing is executed).
pub(super) fn statement(db: DbType, t: &TableSchema, values: &[Resolved<'_>]) -> Value {
    let key = idempotency_key(t, values);
    let sql = match db {
        DbType::Postgresql => build_postgres(t, values, key).sql().as_str().to_string(),
        DbType::Mysql => build_mysql(t, values, key).sql().as_str().to_string(),
        DbType::Sqlite => build_sqlite(t, values, key).sql().as_str().to_string(),
    };
    request_json(&sql, values)
}

/// `INSERT INTO <table> (<columns>) VALUES (` with quoted identifiers.
fn insert_head<D: Dialect>(t: &TableSchema, values: &[Resolved<'_>]) -> String {
    let columns: Vec<String> = values.iter().map(|r| quote::<D>(&r.column.name)).collect();
    format!(
        "INSERT INTO {} ({}) VALUES (",
        qualified::<D>(t.schema.as_deref(), &t.name),
        columns.join(", ")
    )
}

/// Finishes the transaction: commits after a successful statement, rolls back otherwise
/// (dropping a transaction rolls it back too, which covers the timeout). A test that does not
/// commit rolls back a successful statement too.
async fn finish<DB: Database, T>(
    tx: Transaction<'static, DB>,
    outcome: Result<Result<T, RunError>, tokio::time::error::Elapsed>,
    limit: Duration,
    commit: bool,
) -> Result<T, RunError> {
    match outcome {
        Err(_) => Err(RunError::TimedOut(Stage::Insert)),
        Ok(Err(e)) => {
            let _ = tokio::time::timeout(limit, tx.rollback()).await;
            Err(e)
        }
        Ok(Ok(v)) if !commit => match tokio::time::timeout(limit, tx.rollback()).await {
            Err(_) => Err(RunError::TimedOut(Stage::Commit)),
            Ok(Err(e)) => Err(RunError::Sql(e)),
            Ok(Ok(())) => Ok(v),
        },
        Ok(Ok(v)) => match tokio::time::timeout(limit, tx.commit()).await {
            Err(_) => Err(RunError::TimedOut(Stage::Commit)),
            Ok(Err(e)) => Err(RunError::Sql(e)),
            Ok(Ok(())) => Ok(v),
        },
    }
}

/// The PostgreSQL statement: typed binds, casts where the column needs them, the idempotency
/// key's `ON CONFLICT`, and `RETURNING` the primary key when there is a single-column one.
fn build_postgres(
    t: &TableSchema,
    values: &[Resolved<'_>],
    key: Option<&Resolved<'_>>,
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(insert_head::<Postgres>(t, values));
    for (i, r) in values.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        push_pg(&mut qb, r.column, &r.bound);
    }
    qb.push(")");
    if let Some(key) = key {
        qb.push(conflict_clause::<Postgres>(key));
    }
    if let Some(pk) = &t.primary_key {
        qb.push(format!(
            " RETURNING CAST({} AS TEXT)",
            quote::<Postgres>(pk)
        ));
    }
    qb
}

fn kind_code(kind: ColumnKind) -> char {
    match kind {
        ColumnKind::Integer => 'i',
        ColumnKind::Float => 'f',
        ColumnKind::Decimal => 'n',
        ColumnKind::Boolean => 'b',
        ColumnKind::Date => 'd',
        ColumnKind::Time => 't',
        ColumnKind::Timestamp => 's',
        ColumnKind::TimestampTz => 'z',
        ColumnKind::Json => 'j',
        ColumnKind::Uuid => 'u',
        ColumnKind::Text => 'x',
        ColumnKind::Other => 'o',
    }
}

fn push_pg(qb: &mut QueryBuilder<Postgres>, c: &Column, b: &Bound) {
    if c.cast.is_some() {
        qb.push("CAST(");
    }
    // NULL is bound with the column's type: PostgreSQL will not put a text NULL in an integer.
    match b.clone() {
        Bound::Null => match c.kind {
            ColumnKind::Integer => qb.push_bind(None::<i64>),
            ColumnKind::Float => qb.push_bind(None::<f64>),
            ColumnKind::Boolean => qb.push_bind(None::<bool>),
            ColumnKind::Date => qb.push_bind(None::<NaiveDate>),
            ColumnKind::Time => qb.push_bind(None::<NaiveTime>),
            ColumnKind::Timestamp => qb.push_bind(None::<NaiveDateTime>),
            ColumnKind::TimestampTz => qb.push_bind(None::<DateTime<Utc>>),
            ColumnKind::Json => qb.push_bind(None::<sqlx::types::Json<Value>>),
            ColumnKind::Uuid => qb.push_bind(None::<Uuid>),
            ColumnKind::Decimal | ColumnKind::Text | ColumnKind::Other => {
                qb.push_bind(None::<String>)
            }
        },
        Bound::Int(v) => qb.push_bind(v),
        Bound::Float(v) => qb.push_bind(v),
        Bound::Decimal(s) | Bound::Text(s) => qb.push_bind(s),
        Bound::Bool(v) => qb.push_bind(v),
        Bound::Date(v) => qb.push_bind(v),
        Bound::Time(v) => qb.push_bind(v),
        Bound::Timestamp(v) => qb.push_bind(v),
        Bound::TimestampTz(v) => qb.push_bind(v),
        Bound::Json(v) => qb.push_bind(sqlx::types::Json(v)),
        Bound::Uuid(v) => qb.push_bind(v),
    };
    if let Some(cast) = &c.cast {
        qb.push(" AS ");
        qb.push(cast);
        qb.push(")");
    }
}

/// MySQL and SQLite take loosely typed parameters and convert them to the column themselves
/// (under MySQL's strict mode, or by SQLite's affinity); JSON and UUIDs go as text, dates as
/// the driver's ISO text.
macro_rules! push_loose {
    ($qb:expr, $bound:expr) => {
        match $bound.clone() {
            Bound::Null => $qb.push_bind(None::<String>),
            Bound::Int(v) => $qb.push_bind(v),
            Bound::Float(v) => $qb.push_bind(v),
            Bound::Decimal(s) | Bound::Text(s) => $qb.push_bind(s),
            Bound::Bool(v) => $qb.push_bind(v),
            Bound::Date(v) => $qb.push_bind(v),
            Bound::Time(v) => $qb.push_bind(v),
            Bound::Timestamp(v) => $qb.push_bind(v),
            Bound::TimestampTz(v) => $qb.push_bind(v),
            Bound::Json(v) => $qb.push_bind(v.to_string()),
            Bound::Uuid(v) => $qb.push_bind(v.hyphenated().to_string()),
        }
    };
}

macro_rules! build_loose {
    ($name:ident, $db:ty) => {
        fn $name(
            t: &TableSchema,
            values: &[Resolved<'_>],
            key: Option<&Resolved<'_>>,
        ) -> QueryBuilder<$db> {
            let mut qb = QueryBuilder::<$db>::new(insert_head::<$db>(t, values));
            for (i, r) in values.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                push_loose!(qb, r.bound);
            }
            qb.push(")");
            if let Some(key) = key {
                qb.push(conflict_clause::<$db>(key));
            }
            qb
        }
    };
}

build_loose!(build_mysql, MySql);
build_loose!(build_sqlite, Sqlite);

pub(super) async fn postgres(
    pool: &PgPool,
    t: &TableSchema,
    values: &[Resolved<'_>],
    limit: Duration,
    test: Option<ReadBack>,
) -> (Value, Result<Inserted, RunError>) {
    let key = idempotency_key(t, values);
    let mut qb = build_postgres(t, values, key);
    let request = request_json(qb.sql().as_str(), values);
    // sqlx keeps prepared statements by their text, with the parameter types of the first use.
    // The parameter types follow the live column kinds, so the kinds go into the text (after
    // the recorded request is taken): a column whose type changed gets a statement of its own
    // instead of a stale one.
    let kinds: String = values.iter().map(|r| kind_code(r.column.kind)).collect();
    qb.push(format!(" /* param kinds {kinds} */"));
    let result = match test {
        // A delivery: the INSERT alone, in autocommit, which saves BEGIN and COMMIT (two round
        // trips of three). One statement is atomic by itself, and the session's
        // `statement_timeout` (set when connecting, pool.rs) stops it on the server. The client
        // waits a moment longer, so that the server's cancel (which says for sure that nothing
        // was written) arrives first; silence past that leaves the outcome unknown.
        None => {
            async {
                let mut conn = pool.acquire().await.map_err(RunError::Sql)?;
                let work = pg_insert(&mut conn, &mut qb, t, key, None);
                match tokio::time::timeout(limit + SERVER_CANCEL_FIRST, work).await {
                    Ok(done) => done,
                    Err(_) => Err(RunError::TimedOut(Stage::Commit)),
                }
            }
            .await
        }
        // A test reads the row back and may roll it back: a transaction.
        Some(wishes) => {
            async {
                let mut tx = pool.begin().await.map_err(RunError::Sql)?;
                let work = pg_insert(&mut tx, &mut qb, t, key, test);
                let outcome = tokio::time::timeout(limit, work).await;
                finish(tx, outcome, limit, wishes.commit).await
            }
            .await
        }
    };
    (request, result)
}

/// How much longer than the statement timeout an autocommit insert waits for the server's own
/// cancel before calling the outcome unknown.
const SERVER_CANCEL_FIRST: Duration = Duration::from_millis(500);

/// The PostgreSQL insert on one connection (in autocommit, or inside the caller's transaction),
/// then, for an idempotent insert that inserted nothing, the lookup of this handoff's row, and
/// for a test, the row read back.
async fn pg_insert(
    conn: &mut PgConnection,
    qb: &mut QueryBuilder<Postgres>,
    t: &TableSchema,
    key: Option<&Resolved<'_>>,
    test: Option<ReadBack>,
) -> Result<Inserted, RunError> {
    // A skipped insert returns no row (with RETURNING) or affects none.
    let (inserted, id) = if t.primary_key.is_some() {
        let row = qb.build().fetch_optional(&mut *conn).await?;
        let id = row
            .as_ref()
            .map(|r| r.try_get::<Option<String>, _>(0))
            .transpose()?
            .flatten();
        (row.is_some(), id)
    } else {
        let done = qb.build().execute(&mut *conn).await?;
        (done.rows_affected() > 0, None)
    };
    if !inserted && let Some(key) = key {
        let mut q = QueryBuilder::<Postgres>::new(existing_row_head::<Postgres>(t, key));
        push_pg(&mut q, key.column, &key.bound);
        q.push(format!(
            " LIMIT 1 /* param kinds {} */",
            kind_code(key.column.kind)
        ));
        let found = q.build().fetch_optional(&mut *conn).await?;
        return match found {
            Some(row) => Ok(Inserted::found(row.try_get(0)?, test)),
            None => Err(RunError::UniqueTaken),
        };
    }
    let read_back = match test {
        None => None,
        Some(_) => Some(match (&t.primary_key, &id) {
            (Some(pk), Some(key)) => {
                let mut q = QueryBuilder::<Postgres>::new(select_head::<Postgres>(t));
                q.push(" WHERE ");
                push_pg_key(&mut q, t, pk, key);
                let mut sp = Acquire::begin(&mut *conn).await?;
                let row = q.build().fetch_optional(&mut *sp).await;
                let _ = sp.rollback().await;
                stored_row(t, row)
            }
            _ => Err(NO_KEY_PG.to_string()),
        }),
    };
    Ok(Inserted::new(id, read_back))
}

/// A table's engine and whether it supports transactions (`YES`, `NO`).
const MYSQL_ENGINE: &str = "\
SELECT CAST(t.ENGINE AS CHAR), CAST(e.TRANSACTIONS AS CHAR) \
FROM information_schema.TABLES t JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE \
WHERE t.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND t.TABLE_NAME = ?";

/// MySQL gives the new row's id as `LAST_INSERT_ID()` (0 when there is no AUTO_INCREMENT).
pub(super) async fn mysql(
    pool: &MySqlPool,
    t: &TableSchema,
    values: &[Resolved<'_>],
    limit: Duration,
    test: Option<ReadBack>,
) -> (Value, Result<Inserted, RunError>) {
    let key = idempotency_key(t, values);
    let mut qb = build_mysql(t, values, key);
    let request = request_json(qb.sql().as_str(), values);
    let result = async {
        let mut tx = pool.begin().await.map_err(RunError::Sql)?;
        if test.is_some_and(|r| !r.commit) {
            // MySQL "rolls back" a non-transactional table with only a warning: the test row
            // would stay. Ask the engine first, and insert nothing when it cannot roll back.
            let engine: Option<(String, String)> = sqlx::query_as(MYSQL_ENGINE)
                .bind(t.schema.clone())
                .bind(t.name.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(RunError::Sql)?;
            if let Some((engine, transactions)) = engine
                && !transactions.eq_ignore_ascii_case("YES")
            {
                let _ = tx.rollback().await;
                return Err(RunError::CannotRollBack(engine));
            }
        }
        let work = async {
            let done = qb.build().execute(&mut *tx).await?;
            if let Some(key) = key
                && done.last_insert_id() == mysql::ALREADY_THERE
            {
                let mut q = QueryBuilder::<MySql>::new(existing_row_head::<MySql>(t, key));
                push_loose!(q, key.bound);
                q.push(" LIMIT 1");
                let found = q.build().fetch_optional(&mut *tx).await?;
                return match found {
                    Some(row) => Ok(Inserted::found(row.try_get(0)?, test)),
                    None => Err(RunError::UniqueTaken),
                };
            }
            let new_id = Some(done.last_insert_id()).filter(|id| *id != 0);
            let read_back = match (test, new_id) {
                (None, _) => None,
                (Some(_), None) => Some(Err(NO_KEY_MYSQL.to_string())),
                (Some(_), Some(new_id)) => {
                    let mut sp = Acquire::begin(&mut *tx).await?;
                    let key: Result<Option<(String,)>, sqlx::Error> =
                        sqlx::query_as(MYSQL_AUTO_INCREMENT)
                            .bind(t.schema.clone())
                            .bind(t.name.clone())
                            .fetch_optional(&mut *sp)
                            .await;
                    let row = match key {
                        Ok(Some((column,))) => {
                            let mut q = QueryBuilder::<MySql>::new(select_head::<MySql>(t));
                            q.push(format!(" WHERE {} = ", quote::<MySql>(&column)));
                            q.push_bind(new_id);
                            stored_row(t, q.build().fetch_optional(&mut *sp).await)
                        }
                        Ok(None) => Err(NO_KEY_MYSQL.to_string()),
                        Err(e) => Err(format!("could not read the row back: {e}")),
                    };
                    let _ = sp.rollback().await;
                    Some(row)
                }
            };
            Ok(Inserted::new(new_id.map(|id| id.to_string()), read_back))
        };
        let outcome = tokio::time::timeout(limit, work).await;
        finish(tx, outcome, limit, test.is_none_or(|r| r.commit)).await
    }
    .await;
    (request, result)
}

/// SQLite gives the new row's id as `last_insert_rowid()`.
pub(super) async fn sqlite(
    pool: &SqlitePool,
    t: &TableSchema,
    values: &[Resolved<'_>],
    limit: Duration,
    test: Option<ReadBack>,
) -> (Value, Result<Inserted, RunError>) {
    let key = idempotency_key(t, values);
    let mut qb = build_sqlite(t, values, key);
    let request = request_json(qb.sql().as_str(), values);
    let result = async {
        // IMMEDIATE takes the write lock up front, so concurrent deliveries queue on the busy
        // timeout instead of failing to upgrade a read lock.
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(RunError::Sql)?;
        let work = async {
            let done = qb.build().execute(&mut *tx).await?;
            // A skipped insert affects no row (and leaves last_insert_rowid at an older row's).
            if done.rows_affected() == 0
                && let Some(key) = key
            {
                let mut q = QueryBuilder::<Sqlite>::new(existing_row_head::<Sqlite>(t, key));
                push_loose!(q, key.bound);
                q.push(" LIMIT 1");
                let found = q.build().fetch_optional(&mut *tx).await?;
                return match found {
                    Some(row) => Ok(Inserted::found(row.try_get(0)?, test)),
                    None => Err(RunError::UniqueTaken),
                };
            }
            // A table without rowid (or a view) leaves last_insert_rowid at another row's.
            let rowid = Some(done.last_insert_rowid()).filter(|id| *id != 0 && t.has_rowid);
            let read_back = match (test, rowid) {
                (None, _) => None,
                (Some(_), None) => Some(Err(NO_KEY_SQLITE.to_string())),
                (Some(_), Some(rowid)) => {
                    let mut q = QueryBuilder::<Sqlite>::new(select_head::<Sqlite>(t));
                    q.push(" WHERE rowid = ");
                    q.push_bind(rowid);
                    let mut sp = Acquire::begin(&mut *tx).await?;
                    let row = q.build().fetch_optional(&mut *sp).await;
                    let _ = sp.rollback().await;
                    Some(stored_row(t, row))
                }
            };
            Ok(Inserted::new(rowid.map(|id| id.to_string()), read_back))
        };
        let outcome = tokio::time::timeout(limit, work).await;
        finish(tx, outcome, limit, test.is_none_or(|r| r.commit)).await
    }
    .await;
    (request, result)
}

/// `"pk" = $n` with the key bound in its column's type where that is a usual key type (so the
/// primary key's index finds the row); other keys are compared as text.
fn push_pg_key(q: &mut QueryBuilder<Postgres>, t: &TableSchema, pk: &str, key: &str) {
    let column = quote::<Postgres>(pk);
    match (
        t.column(pk).map(|c| c.kind),
        key.parse::<i64>(),
        Uuid::parse_str(key),
    ) {
        (Some(ColumnKind::Integer), Ok(n), _) => {
            q.push(format!("{column} = ")).push_bind(n);
        }
        (Some(ColumnKind::Uuid), _, Ok(u)) => {
            q.push(format!("{column} = ")).push_bind(u);
        }
        (Some(ColumnKind::Text), _, _) => {
            q.push(format!("{column} = ")).push_bind(key.to_string());
        }
        _ => {
            q.push(format!("CAST({column} AS TEXT) = "))
                .push_bind(key.to_string());
        }
    }
}

const NO_KEY_PG: &str =
    "the new row cannot be told apart from the others: the table has no single-column primary key";
const NO_KEY_MYSQL: &str =
    "the new row cannot be told apart from the others: the table has no AUTO_INCREMENT column";
const NO_KEY_SQLITE: &str = "the new row cannot be told apart from the others: it has no rowid";

/// The AUTO_INCREMENT column, whose value `LAST_INSERT_ID()` gives.
const MYSQL_AUTO_INCREMENT: &str = "\
SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND EXTRA LIKE '%auto_increment%' \
LIMIT 1";

/// `SELECT <every column as text> FROM <table>`: each dialect renders its own values as text
/// (so every type reads back), and [`stored_value`] turns them into JSON by the column's kind.
fn select_head<D: Dialect>(t: &TableSchema) -> String {
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("CAST({} AS {})", quote::<D>(&c.name), D::TEXT))
        .collect();
    format!(
        "SELECT {} FROM {}",
        columns.join(", "),
        qualified::<D>(t.schema.as_deref(), &t.name)
    )
}

/// The row read back, column by column; an error or a missing row is a note, not a failure
/// of the insert.
fn stored_row<R: Row>(
    t: &TableSchema,
    row: Result<Option<R>, sqlx::Error>,
) -> Result<Vec<StoredColumn>, String>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let row = row
        .map_err(|e| format!("could not read the row back: {e}"))?
        .ok_or_else(|| "the new row was not found when read back".to_string())?;
    t.columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text: Option<String> = row
                .try_get(i)
                .map_err(|e| format!("could not read column {} back: {e}", c.name))?;
            Ok(StoredColumn {
                column: c.name.clone(),
                type_name: c.type_name.clone(),
                value: stored_value(c.kind, text),
            })
        })
        .collect()
}

/// A stored value (as the database's text) as JSON: numbers and booleans typed, JSON parsed,
/// everything else (dates, times, decimals, text) as the database wrote it.
fn stored_value(kind: ColumnKind, text: Option<String>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    let parsed = match kind {
        ColumnKind::Integer => text.trim().parse::<i64>().ok().map(Value::from),
        ColumnKind::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        ColumnKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => Some(Value::Bool(true)),
            "f" | "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        ColumnKind::Json => serde_json::from_str(&text).ok(),
        _ => None,
    };
    parsed.unwrap_or(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(name: &str, type_name: &str, kind: ColumnKind, cast: Option<&str>) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            kind,
            cast: cast.map(str::to_string),
            nullable: true,
            has_default: false,
            generated: false,
        }
    }

    #[test]
    fn postgres_statement_binds_every_value_and_returns_the_key() {
        let cols = [
            col("patient_name", "character varying", ColumnKind::Text, None),
            col("price", "numeric", ColumnKind::Decimal, Some("NUMERIC")),
            col("age", "integer", ColumnKind::Integer, None),
        ];
        let t = TableSchema {
            schema: Some("public".into()),
            name: "patient_data".into(),
            columns: cols.to_vec(),
            primary_key: Some("id".into()),
            auto_increment: None,
            has_rowid: false,
            unique: Vec::new(),
        };
        let values = [
            Resolved {
                source: Source::Field("fullName"),
                column: &cols[0],
                bound: Bound::Text("Robert'); DROP TABLE x; --".into()),
            },
            Resolved {
                source: Source::Field("price"),
                column: &cols[1],
                bound: Bound::Decimal("12.50".into()),
            },
            Resolved {
                source: Source::Fixed,
                column: &cols[2],
                bound: Bound::Null,
            },
        ];
        let qb = build_postgres(&t, &values, None);
        let sql = qb.sql();
        assert_eq!(
            sql.as_str(),
            "INSERT INTO \"public\".\"patient_data\" (\"patient_name\", \"price\", \"age\") \
             VALUES ($1, CAST($2 AS NUMERIC), $3) RETURNING CAST(\"id\" AS TEXT)"
        );
        let req = request_json(sql.as_str(), &values);
        assert_eq!(req["params"][0]["column"], "patient_name");
        assert_eq!(req["params"][0]["value"], "Robert'); DROP TABLE x; --");
        assert_eq!(req["params"][1]["type"], "numeric");
        assert_eq!(req["params"][2]["value"], Value::Null);
        assert_eq!(req["params"][1]["field"], json!("price"));
        // A fixed value is marked so, with no field.
        assert_eq!(req["params"][2]["fixed"], json!(true));
        assert_eq!(req["params"][2].get("field"), None);
        assert_eq!(req["params"][1].get("fixed"), None);
    }

    #[test]
    fn postgres_read_back_binds_usual_keys_in_their_type() {
        let t = TableSchema {
            schema: None,
            name: "t".into(),
            columns: vec![
                col("id", "integer", ColumnKind::Integer, None),
                col("ref", "uuid", ColumnKind::Uuid, None),
                col("code", "character varying", ColumnKind::Text, None),
                col("n", "numeric", ColumnKind::Decimal, Some("NUMERIC")),
            ],
            primary_key: None,
            auto_increment: None,
            has_rowid: false,
            unique: Vec::new(),
        };
        let sql = |pk: &str, key: &str| {
            let mut q = QueryBuilder::<Postgres>::new("");
            push_pg_key(&mut q, &t, pk, key);
            q.sql().as_str().to_string()
        };
        assert_eq!(sql("id", "7"), "\"id\" = $1");
        assert_eq!(
            sql("ref", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
            "\"ref\" = $1"
        );
        assert_eq!(sql("code", "A-1"), "\"code\" = $1");
        assert_eq!(sql("n", "1.5"), "CAST(\"n\" AS TEXT) = $1");
        assert_eq!(sql("id", "not a number"), "CAST(\"id\" AS TEXT) = $1");
        assert_eq!(
            select_head::<MySql>(&t),
            "SELECT CAST(`id` AS CHAR), CAST(`ref` AS CHAR), CAST(`code` AS CHAR), \
             CAST(`n` AS CHAR) FROM `t`"
        );
    }

    #[test]
    fn stored_values_are_typed_by_column_kind() {
        let v = |k, s: &str| stored_value(k, Some(s.to_string()));
        assert_eq!(v(ColumnKind::Integer, "42"), json!(42));
        assert_eq!(v(ColumnKind::Float, "0.25"), json!(0.25));
        assert_eq!(v(ColumnKind::Boolean, "t"), json!(true));
        assert_eq!(v(ColumnKind::Boolean, "0"), json!(false));
        assert_eq!(v(ColumnKind::Decimal, "12.50"), json!("12.50"));
        assert_eq!(v(ColumnKind::Json, "{\"a\": 1}"), json!({"a": 1}));
        assert_eq!(v(ColumnKind::Date, "2024-05-31"), json!("2024-05-31"));
        assert_eq!(stored_value(ColumnKind::Integer, None), Value::Null);
    }

    #[test]
    fn mysql_and_sqlite_statements_use_their_quoting_and_placeholders() {
        let cols = [col("a", "int", ColumnKind::Integer, None)];
        let values = [Resolved {
            source: Source::Field("a"),
            column: &cols[0],
            bound: Bound::Int(1),
        }];
        let t = TableSchema {
            schema: Some("clinic".into()),
            name: "t".into(),
            columns: cols.to_vec(),
            primary_key: None,
            auto_increment: None,
            has_rowid: false,
            unique: Vec::new(),
        };
        assert_eq!(
            build_mysql(&t, &values, None).sql().as_str(),
            "INSERT INTO `clinic`.`t` (`a`) VALUES (?)"
        );
        let t = TableSchema { schema: None, ..t };
        assert_eq!(
            build_sqlite(&t, &values, None).sql().as_str(),
            "INSERT INTO \"t\" (\"a\") VALUES (?)"
        );
    }

    #[test]
    fn a_unique_handoff_column_makes_each_dialects_insert_idempotent() {
        let cols = [
            col("patient_name", "text", ColumnKind::Text, None),
            col("handoff_id", "uuid", ColumnKind::Uuid, None),
        ];
        let id = Uuid::now_v7();
        let values = [
            Resolved {
                source: Source::Field("fullName"),
                column: &cols[0],
                bound: Bound::Text("Jane".into()),
            },
            Resolved {
                source: Source::Field(HANDOFF_ID),
                column: &cols[1],
                bound: Bound::Uuid(id),
            },
        ];
        let mut t = TableSchema {
            schema: None,
            name: "t".into(),
            columns: cols.to_vec(),
            primary_key: Some("id".into()),
            auto_increment: None,
            has_rowid: false,
            unique: vec!["id".into()],
        };
        // Not unique: a plain insert.
        assert!(idempotency_key(&t, &values).is_none());
        assert_eq!(
            statement(DbType::Sqlite, &t, &values)["sql"],
            "INSERT INTO \"t\" (\"patient_name\", \"handoff_id\") VALUES (?, ?)"
        );
        t.unique.push("handoff_id".into());
        let key = idempotency_key(&t, &values).expect("the handoff's column is unique");
        assert_eq!(key.bound, Bound::Uuid(id));
        assert_eq!(
            statement(DbType::Postgresql, &t, &values)["sql"],
            "INSERT INTO \"t\" (\"patient_name\", \"handoff_id\") VALUES ($1, $2) \
             ON CONFLICT (\"handoff_id\") DO NOTHING RETURNING CAST(\"id\" AS TEXT)"
        );
        assert_eq!(
            statement(DbType::Sqlite, &t, &values)["sql"],
            "INSERT INTO \"t\" (\"patient_name\", \"handoff_id\") VALUES (?, ?) \
             ON CONFLICT (\"handoff_id\") DO NOTHING"
        );
        assert_eq!(
            statement(DbType::Mysql, &t, &values)["sql"],
            "INSERT INTO `t` (`patient_name`, `handoff_id`) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE `handoff_id` = \
             IF(LAST_INSERT_ID(18446744073709551615) > 0, `handoff_id`, `handoff_id`)"
        );
        assert_eq!(
            existing_row_head::<Postgres>(&t, key),
            "SELECT CAST(\"id\" AS TEXT) FROM \"t\" WHERE \"handoff_id\" = "
        );
        t.primary_key = None;
        t.auto_increment = Some("n".into());
        assert_eq!(
            existing_row_head::<MySql>(&t, key),
            "SELECT CAST(`n` AS CHAR) FROM `t` WHERE `handoff_id` = "
        );
        assert_eq!(
            existing_row_head::<Sqlite>(&t, key),
            "SELECT CAST(NULL AS TEXT) FROM \"t\" WHERE \"handoff_id\" = "
        );
        t.has_rowid = true;
        assert_eq!(
            existing_row_head::<Sqlite>(&t, key),
            "SELECT CAST(rowid AS TEXT) FROM \"t\" WHERE \"handoff_id\" = "
        );
        // Only the built-in handoffId is a key: a collected field in a unique column is not.
        let other = [Resolved {
            source: Source::Field("handoffIdCopy"),
            column: &cols[1],
            bound: Bound::Uuid(id),
        }];
        assert!(idempotency_key(&t, &other).is_none());
    }
}

//! A direct look at a database target, for the health check: one connection outside the delivery
//! pool (so a stale or empty pool cannot hide a problem), opened with the same settings, and what
//! the live database says about the table: its columns with nullability and defaults, the columns
//! unique on their own, whether the user may insert, and whether the connection is encrypted.
//! Nothing here writes.
//!
//! Failures carry a message a clinic admin can act on; like delivery's, they never carry the
//! password (connect options are never formatted).

use super::classify::{Context, classify, tls_failure};
use super::convert::convert;
use super::pool::{mysql_options, pg_options, sqlite_options};
use super::schema::{
    kind_mysql, kind_pg, kind_sqlite, qualified, unique_mysql, unique_pg, unique_sqlite,
};
use crate::ids::IntegrationId;
use crate::integrations::{DatabaseConfig, DbType, FieldType};
use crate::targets::{ErrorCategory, ResolvedIntegration};
use serde_json::Value;
use sqlx::{ConnectOptions, Connection, MySqlConnection, PgConnection, Row, SqliteConnection};

pub use super::schema::{ColumnKind, TableRef};
pub use super::target_label;

/// One open connection to the target.
pub enum Inspector {
    Postgres(PgConnection),
    MySql(MySqlConnection),
    Sqlite(SqliteConnection),
}

/// Why the connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The server was not reached, or not over TLS as configured (refused, reset, TLS).
    Network(String),
    /// The server answered but did not let the user in (password, user, database name).
    Login(String),
}

/// A column as the health check needs it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the database names it.
    pub type_name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub has_default: bool,
    /// Filled in by the database (identity, auto-increment, generated, SQLite's rowid).
    pub generated: bool,
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    /// `schema.table` as the database spells it (or the table alone).
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// Columns unique on their own, as delivery reads them (what its idempotent insert can
    /// name).
    pub unique: Vec<String>,
    schema: Option<String>,
    table: String,
}

impl TableInfo {
    /// The column with this name: an exact match, else the only case-insensitive one (as
    /// delivery matches them).
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        super::schema::find_by_name(&self.columns, name, |c| &c.name)
    }

    /// Whether the column (by its exact name) is unique on its own.
    pub fn is_unique(&self, column: &str) -> bool {
        self.unique.iter().any(|u| u == column)
    }
}

/// Whether the user may insert the mapped columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertPrivilege {
    Granted,
    /// Denied for these columns (all of them when the table is denied).
    Denied(Vec<String>),
    /// The database cannot say (e.g. privileges come through a role); why.
    Unknown(String),
}

/// The password a connection uses: the one delivery uses.
pub fn password<'a>(
    integration: &'a ResolvedIntegration,
    db: &'a DatabaseConfig,
) -> Option<&'a str> {
    super::password(integration, db)
}

/// Whether a value of a field's type (`field`) fits a column of `kind` in a `db` database: what
/// delivery's conversion would do.
pub fn accepts(db: DbType, kind: ColumnKind, field: Option<FieldType>, value: &Value) -> bool {
    convert(db, kind, field, value).is_ok()
}

fn context(db: &DatabaseConfig) -> Context {
    Context::of(db)
}

/// A failure of a query on an open connection, as a message.
fn failure(db: &DatabaseConfig, e: &sqlx::Error) -> String {
    classify(e, &context(db)).message
}

impl Inspector {
    /// Opens one connection with the integration's settings. The caller bounds the time.
    pub async fn connect(
        id: IntegrationId,
        db: &DatabaseConfig,
        password: Option<&str>,
    ) -> Result<Self, ConnectError> {
        let result = match db.db_type {
            DbType::Postgresql => pg_options(id, db, password)
                .connect()
                .await
                .map(Inspector::Postgres),
            DbType::Mysql => mysql_options(db, password)
                .connect()
                .await
                .map(Inspector::MySql),
            // Only reads: a read-only open never rolls back a leftover journal or adds WAL files
            // beside a file someone named.
            DbType::Sqlite => sqlite_options(db)
                .read_only(true)
                .connect()
                .await
                .map(Inspector::Sqlite),
        };
        result.map_err(|e| connect_error(db, &e))
    }

    pub async fn close(self) {
        let _ = match self {
            Inspector::Postgres(c) => c.close().await,
            Inspector::MySql(c) => c.close().await,
            Inspector::Sqlite(c) => c.close().await,
        };
    }

    /// `SELECT 1`.
    pub async fn ping(&mut self, db: &DatabaseConfig) -> Result<(), String> {
        let done = match self {
            Inspector::Postgres(c) => sqlx::raw_sql("SELECT 1").execute(c).await.map(drop),
            Inspector::MySql(c) => sqlx::raw_sql("SELECT 1").execute(c).await.map(drop),
            Inspector::Sqlite(c) => sqlx::raw_sql("SELECT 1").execute(c).await.map(drop),
        };
        done.map_err(|e| failure(db, &e))
    }

    /// Whether this connection is encrypted, as the server sees it; `None` for SQLite (a local
    /// file). Behind a proxy that ends TLS the server sees the proxy's connection, so the
    /// health check asks only when the mode leaves it open (`prefer`).
    pub async fn tls_in_use(&mut self, db: &DatabaseConfig) -> Result<Option<bool>, String> {
        match self {
            Inspector::Postgres(c) => {
                let ssl: Option<bool> =
                    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .fetch_optional(c)
                        .await
                        .map_err(|e| failure(db, &e))?;
                Ok(Some(ssl.unwrap_or(false)))
            }
            Inspector::MySql(c) => {
                // SHOW is sent as text (not every server prepares it).
                let row = sqlx::raw_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                    .fetch_optional(c)
                    .await
                    .map_err(|e| failure(db, &e))?;
                let cipher: Option<String> = match row {
                    Some(r) => r.try_get(1).map_err(|e| failure(db, &e))?,
                    None => None,
                };
                Ok(Some(cipher.is_some_and(|c| !c.is_empty())))
            }
            Inspector::Sqlite(_) => Ok(None),
        }
    }

    /// The table's columns, or `None` when the table is not there (or not visible to the user).
    pub async fn table(
        &mut self,
        db: &DatabaseConfig,
        table: &TableRef,
    ) -> Result<Option<TableInfo>, String> {
        let found = match self {
            Inspector::Postgres(c) => table_pg(c, table).await,
            Inspector::MySql(c) => table_mysql(c, table).await,
            Inspector::Sqlite(c) => table_sqlite(c, table).await,
        };
        found.map_err(|e| failure(db, &e))
    }

    /// Whether the user may insert into `columns` of the table. SQLite has no users: the file
    /// must be writable by this process.
    pub async fn insert_privilege(
        &mut self,
        db: &DatabaseConfig,
        t: &TableInfo,
        columns: &[&str],
    ) -> Result<InsertPrivilege, String> {
        let result = match self {
            Inspector::Postgres(c) => privilege_pg(c, t, columns).await,
            Inspector::MySql(c) => privilege_mysql(c, t, columns).await,
            Inspector::Sqlite(_) => {
                return Ok(
                    match std::fs::OpenOptions::new().write(true).open(&db.database) {
                        Ok(_) => InsertPrivilege::Granted,
                        Err(e) => {
                            tracing::debug!("the SQLite file is not writable: {e}");
                            InsertPrivilege::Denied(Vec::new())
                        }
                    },
                );
            }
        };
        result.map_err(|e| failure(db, &e))
    }
}

/// A failed connect, told apart: not reached (network, TLS) or not let in.
fn connect_error(db: &DatabaseConfig, e: &sqlx::Error) -> ConnectError {
    let host = db.hostname.as_deref().unwrap_or("localhost");
    let port = db.port.or(db.db_type.default_port()).unwrap_or_default();
    if let Some(f) = tls_failure(e, &context(db)) {
        return ConnectError::Network(f.message);
    }
    if let sqlx::Error::Io(io) = e {
        let what = match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::ConnectionReset => "the connection was reset".to_string(),
            _ => io.to_string(),
        };
        return ConnectError::Network(format!(
            "could not connect to {host}:{port}: {what} — is the database running and reachable \
             from this machine?"
        ));
    }
    let f = classify(e, &context(db));
    match f.category {
        ErrorCategory::Network | ErrorCategory::Timeout => ConnectError::Network(f.message),
        _ if db.db_type == DbType::Sqlite => ConnectError::Network(f.message),
        _ => ConnectError::Login(f.message),
    }
}

const PG_TABLE: &str = "\
SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text, \
       c.udt_name::text, c.is_nullable = 'YES', c.column_default IS NOT NULL, \
       (c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') \
FROM information_schema.columns c \
WHERE lower(c.table_schema) = lower(COALESCE($1, current_schema())) \
  AND lower(c.table_name) = lower($2) \
ORDER BY (c.table_schema = COALESCE($1, current_schema())) DESC, (c.table_name = $2) DESC, \
         c.table_schema, c.table_name, c.ordinal_position";

type PgColumnRow = (String, String, String, String, String, bool, bool, bool);

async fn table_pg(c: &mut PgConnection, t: &TableRef) -> Result<Option<TableInfo>, sqlx::Error> {
    let rows: Vec<PgColumnRow> = sqlx::query_as(PG_TABLE)
        .bind(t.schema.clone())
        .bind(t.table.clone())
        .fetch_all(&mut *c)
        .await?;
    let Some((schema, name)) = rows.first().map(|r| (r.0.clone(), r.1.clone())) else {
        return Ok(None);
    };
    let columns = rows
        .into_iter()
        .filter(|r| r.0 == schema && r.1 == name)
        .map(
            |(_, _, column, data_type, udt, nullable, has_default, generated)| {
                let kind = kind_pg(&data_type);
                ColumnInfo {
                    name: column,
                    type_name: if kind == ColumnKind::Other {
                        udt
                    } else {
                        data_type
                    },
                    kind,
                    nullable,
                    has_default,
                    generated,
                }
            },
        )
        .collect();
    let unique = unique_pg(c, &schema, &name).await?;
    Ok(Some(TableInfo {
        name: format!("{schema}.{name}"),
        columns,
        unique,
        schema: Some(schema),
        table: name,
    }))
}

const MYSQL_TABLE: &str = "\
SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
       CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
       CAST(IS_NULLABLE = 'YES' AS SIGNED), CAST(COLUMN_DEFAULT IS NOT NULL AS SIGNED), \
       CAST(EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%' OR EXTRA LIKE '%VIRTUAL%' \
            OR EXTRA LIKE '%PERSISTENT%' AS SIGNED) \
FROM information_schema.COLUMNS \
WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND LOWER(TABLE_NAME) = LOWER(?) \
ORDER BY (CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)) DESC, TABLE_NAME, ORDINAL_POSITION";

type MySqlColumnRow = (String, String, String, String, String, i64, i64, i64);

async fn table_mysql(
    c: &mut MySqlConnection,
    t: &TableRef,
) -> Result<Option<TableInfo>, sqlx::Error> {
    let rows: Vec<MySqlColumnRow> = sqlx::query_as(MYSQL_TABLE)
        .bind(t.schema.clone())
        .bind(t.table.clone())
        .bind(t.table.clone())
        .fetch_all(&mut *c)
        .await?;
    let Some((schema, name)) = rows.first().map(|r| (r.0.clone(), r.1.clone())) else {
        return Ok(None);
    };
    let columns = rows
        .into_iter()
        .filter(|r| r.0 == schema && r.1 == name)
        .map(
            |(_, _, column, data_type, column_type, nullable, has_default, generated)| ColumnInfo {
                name: column,
                kind: kind_mysql(&data_type, &column_type),
                type_name: column_type,
                nullable: nullable != 0,
                has_default: has_default != 0,
                generated: generated != 0,
            },
        )
        .collect();
    let unique = unique_mysql(c, &schema, &name).await?;
    Ok(Some(TableInfo {
        name: format!("{schema}.{name}"),
        columns,
        unique,
        schema: Some(schema),
        table: name,
    }))
}

const SQLITE_TABLE: &str = "\
SELECT name FROM pragma_table_list \
WHERE schema = ?1 AND type IN ('table', 'view') AND name = ?2 COLLATE NOCASE \
ORDER BY name = ?2 DESC LIMIT 1";

const SQLITE_COLUMNS: &str = "\
SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk \
FROM pragma_table_info(?1, ?2) ORDER BY cid";

async fn table_sqlite(
    c: &mut SqliteConnection,
    t: &TableRef,
) -> Result<Option<TableInfo>, sqlx::Error> {
    let schema = t.schema.clone().unwrap_or_else(|| "main".to_string());
    let name: Option<(String,)> = sqlx::query_as(SQLITE_TABLE)
        .bind(schema.clone())
        .bind(t.table.clone())
        .fetch_optional(&mut *c)
        .await?;
    let Some((name,)) = name else {
        return Ok(None);
    };
    let rows: Vec<(String, String, bool, bool, i64)> = sqlx::query_as(SQLITE_COLUMNS)
        .bind(name.clone())
        .bind(schema.clone())
        .fetch_all(&mut *c)
        .await?;
    let pk_columns = rows.iter().filter(|r| r.4 > 0).count();
    let primary_key = match rows
        .iter()
        .filter(|r| r.4 > 0)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [one] => Some(one.0.clone()),
        _ => None,
    };
    let unique = unique_sqlite(c, &schema, &name, primary_key.as_deref()).await?;
    let columns = rows
        .into_iter()
        .map(|(column, declared, not_null, has_default, pk)| ColumnInfo {
            // A lone INTEGER PRIMARY KEY is the rowid: SQLite fills it in.
            generated: pk > 0 && pk_columns == 1 && declared.eq_ignore_ascii_case("INTEGER"),
            kind: kind_sqlite(&declared),
            name: column,
            type_name: declared,
            nullable: !not_null,
            has_default,
        })
        .collect();
    Ok(Some(TableInfo {
        name: match &t.schema {
            Some(s) => format!("{s}.{name}"),
            None => name.clone(),
        },
        columns,
        unique,
        schema: t.schema.clone(),
        table: name,
    }))
}

/// Per column, so that column-level grants count; the table's name is quoted for the
/// `regclass` input of `has_column_privilege`.
const PG_PRIVILEGE: &str = "\
SELECT c FROM unnest($2::text[]) AS c WHERE NOT has_column_privilege($1, c, 'INSERT')";

async fn privilege_pg(
    c: &mut PgConnection,
    t: &TableInfo,
    columns: &[&str],
) -> Result<InsertPrivilege, sqlx::Error> {
    let table = qualified(DbType::Postgresql, t.schema.as_deref(), &t.table);
    if columns.is_empty() {
        let ok: bool = sqlx::query_scalar("SELECT has_table_privilege($1, 'INSERT')")
            .bind(table)
            .fetch_one(c)
            .await?;
        return Ok(if ok {
            InsertPrivilege::Granted
        } else {
            InsertPrivilege::Denied(Vec::new())
        });
    }
    let names: Vec<String> = columns.iter().map(|s| s.to_string()).collect();
    let denied: Vec<String> = sqlx::query_scalar(PG_PRIVILEGE)
        .bind(table)
        .bind(names)
        .fetch_all(c)
        .await?;
    Ok(if denied.is_empty() {
        InsertPrivilege::Granted
    } else if denied.len() == columns.len() {
        InsertPrivilege::Denied(Vec::new())
    } else {
        InsertPrivilege::Denied(denied)
    })
}

/// INSERT granted globally, on the schema (grants may use wildcards) or on the table.
const MYSQL_TABLE_PRIVILEGE: &str = "\
SELECT CAST(COUNT(*) AS SIGNED) FROM ( \
  SELECT 1 AS x FROM information_schema.USER_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' \
  UNION ALL SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND ? LIKE TABLE_SCHEMA \
  UNION ALL SELECT 1 FROM information_schema.TABLE_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND TABLE_SCHEMA = ? AND TABLE_NAME = ? \
) AS grants";

const MYSQL_COLUMN_PRIVILEGE: &str = "\
SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMN_PRIVILEGES \
WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND TABLE_SCHEMA = ? AND TABLE_NAME = ?";

async fn privilege_mysql(
    c: &mut MySqlConnection,
    t: &TableInfo,
    columns: &[&str],
) -> Result<InsertPrivilege, sqlx::Error> {
    let user: String = sqlx::query_scalar("SELECT CAST(CURRENT_USER() AS CHAR)")
        .fetch_one(&mut *c)
        .await?;
    // information_schema names the grantee 'user'@'host'.
    let grantee = match user.rsplit_once('@') {
        Some((u, h)) => format!("'{u}'@'{h}'"),
        None => format!("'{user}'"),
    };
    let schema = t.schema.clone().unwrap_or_default();
    let grants: i64 = sqlx::query_scalar(MYSQL_TABLE_PRIVILEGE)
        .bind(&grantee)
        .bind(&grantee)
        .bind(&schema)
        .bind(&grantee)
        .bind(&schema)
        .bind(&t.table)
        .fetch_one(&mut *c)
        .await?;
    if grants > 0 {
        return Ok(InsertPrivilege::Granted);
    }
    let granted: Vec<String> = sqlx::query_scalar(MYSQL_COLUMN_PRIVILEGE)
        .bind(&grantee)
        .bind(&schema)
        .bind(&t.table)
        .fetch_all(&mut *c)
        .await?;
    let denied: Vec<String> = columns
        .iter()
        .filter(|col| !granted.iter().any(|g| g.eq_ignore_ascii_case(col)))
        .map(|col| col.to_string())
        .collect();
    if denied.is_empty() && !columns.is_empty() {
        return Ok(InsertPrivilege::Granted);
    }
    // Privileges that come through an active role are not listed for the user. (MySQL 5.7 has no
    // roles, nor CURRENT_ROLE().)
    let role: Option<String> = sqlx::query_scalar("SELECT CAST(CURRENT_ROLE() AS CHAR)")
        .fetch_one(&mut *c)
        .await
        .unwrap_or(None);
    if role
        .as_deref()
        .is_some_and(|r| !r.is_empty() && r != "NONE")
    {
        return Ok(InsertPrivilege::Unknown(
            "the user's privileges come through a role, which this check cannot read".into(),
        ));
    }
    Ok(if denied.len() == columns.len() {
        InsertPrivilege::Denied(Vec::new())
    } else {
        InsertPrivilege::Denied(denied)
    })
}

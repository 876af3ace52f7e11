//! The target table as the live database describes it: its exact name, its columns with their
//! types, and the primary key. Also the one place identifiers are checked and quoted.

use crate::integrations::{DbType, is_identifier};
use sqlx::{MySqlExecutor, MySqlPool, PgExecutor, PgPool, SqliteExecutor, SqlitePool};

/// How a value is converted for a column, decided from the column's live type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Float,
    /// numeric / decimal: checked to be a number, bound as text.
    Decimal,
    Boolean,
    Date,
    Time,
    /// A timestamp without a time zone; values are stored in UTC.
    Timestamp,
    TimestampTz,
    Json,
    Uuid,
    Text,
    /// Anything else (enums, arrays, intervals, ...): bound as text.
    Other,
}

#[derive(Debug, Clone)]
pub struct Column {
    /// The exact name in the database.
    pub name: String,
    /// The type as the database names it (shown in previews and messages).
    pub type_name: String,
    pub kind: ColumnKind,
    /// PostgreSQL only: the type a text parameter is cast to (quoted where it is an identifier).
    pub cast: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TableSchema {
    /// The exact schema name (PostgreSQL, MySQL) or the configured one (SQLite).
    pub schema: Option<String>,
    /// The exact table name in the database.
    pub name: String,
    pub columns: Vec<Column>,
    /// A single-column primary key, when there is one (PostgreSQL `RETURNING`; PostgreSQL and
    /// SQLite).
    pub primary_key: Option<String>,
    /// MySQL: the AUTO_INCREMENT column, whose value `LAST_INSERT_ID()` gives.
    pub auto_increment: Option<String>,
    /// SQLite: a table with a rowid (not a view, not `WITHOUT ROWID`), which
    /// `last_insert_rowid()` gives.
    pub has_rowid: bool,
    /// Columns that are unique on their own (see [`unique_pg`] and its siblings): an insert
    /// can skip a conflict on one of them by naming it alone.
    pub unique: Vec<String>,
}

impl TableSchema {
    /// The column with this name: an exact match, else the only case-insensitive one.
    pub fn column(&self, name: &str) -> Option<&Column> {
        find_by_name(&self.columns, name, |c| &c.name)
    }

    /// Whether the column (by its exact name) is unique on its own.
    pub fn is_unique(&self, column: &str) -> bool {
        self.unique.iter().any(|u| u == column)
    }
}

/// The item named `name`: an exact match, else the only case-insensitive one (two that differ
/// only in case are ambiguous).
pub fn find_by_name<'a, T>(
    items: &'a [T],
    name: &str,
    name_of: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    items.iter().find(|c| name_of(c) == name).or_else(|| {
        let mut it = items
            .iter()
            .filter(|c| name_of(c).eq_ignore_ascii_case(name));
        match (it.next(), it.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    })
}

/// The configured table: `table` or `schema.table`, both plain identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub schema: Option<String>,
    pub table: String,
}

impl TableRef {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "database.table '{s}' is not a plain identifier (letters, digits, _; optionally schema.table)"
            )
        };
        match s.split('.').collect::<Vec<_>>().as_slice() {
            [t] if is_identifier(t) => Ok(Self {
                schema: None,
                table: (*t).to_string(),
            }),
            [sc, t] if is_identifier(sc) && is_identifier(t) => Ok(Self {
                schema: Some((*sc).to_string()),
                table: (*t).to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

/// Quotes an identifier for the dialect, doubling any embedded quote character. Validation
/// already refuses such names; the doubling is a second line of defence, not the first.
pub fn quote(db: DbType, ident: &str) -> String {
    let q = match db {
        DbType::Mysql => '`',
        DbType::Postgresql | DbType::Sqlite => '"',
    };
    let mut out = String::with_capacity(ident.len() + 2);
    out.push(q);
    for c in ident.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// `"schema"."table"` or `"table"`.
pub fn qualified(db: DbType, schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote(db, s), quote(db, table)),
        None => quote(db, table),
    }
}

/// PostgreSQL: from `information_schema.columns.data_type`.
pub fn kind_pg(data_type: &str) -> ColumnKind {
    match data_type {
        "smallint" | "integer" | "bigint" => ColumnKind::Integer,
        "real" | "double precision" => ColumnKind::Float,
        "numeric" => ColumnKind::Decimal,
        "boolean" => ColumnKind::Boolean,
        "date" => ColumnKind::Date,
        "time without time zone" => ColumnKind::Time,
        "timestamp without time zone" => ColumnKind::Timestamp,
        "timestamp with time zone" => ColumnKind::TimestampTz,
        "json" | "jsonb" => ColumnKind::Json,
        "uuid" => ColumnKind::Uuid,
        "text" | "character varying" | "character" | "\"char\"" | "name" => ColumnKind::Text,
        _ => ColumnKind::Other,
    }
}

/// MySQL / MariaDB: from `DATA_TYPE` and `COLUMN_TYPE` (`tinyint(1)` is how booleans are kept).
pub fn kind_mysql(data_type: &str, column_type: &str) -> ColumnKind {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    match data_type.as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") => ColumnKind::Boolean,
        "bit" if column_type == "bit(1)" => ColumnKind::Boolean,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            ColumnKind::Integer
        }
        "float" | "double" | "real" => ColumnKind::Float,
        "decimal" | "numeric" => ColumnKind::Decimal,
        "date" => ColumnKind::Date,
        "time" => ColumnKind::Time,
        "datetime" => ColumnKind::Timestamp,
        // TIMESTAMP is an instant (converted from the session zone, which the driver sets to UTC).
        "timestamp" => ColumnKind::TimestampTz,
        "json" => ColumnKind::Json,
        "uuid" => ColumnKind::Uuid,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => {
            ColumnKind::Text
        }
        _ => ColumnKind::Other,
    }
}

/// SQLite: from the declared type, by name first, then by SQLite's affinity rules.
pub fn kind_sqlite(declared: &str) -> ColumnKind {
    let t = declared.trim().to_ascii_uppercase();
    let has = |s: &str| t.contains(s);
    if has("BOOL") {
        ColumnKind::Boolean
    } else if has("TIMESTAMPTZ") || has("WITH TIME ZONE") {
        ColumnKind::TimestampTz
    } else if has("DATETIME") || has("TIMESTAMP") {
        ColumnKind::Timestamp
    } else if t == "DATE" {
        ColumnKind::Date
    } else if t == "TIME" {
        ColumnKind::Time
    } else if has("JSON") {
        ColumnKind::Json
    } else if has("UUID") || has("GUID") {
        ColumnKind::Uuid
    } else if has("INT") {
        ColumnKind::Integer
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        ColumnKind::Text
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        ColumnKind::Float
    } else if has("DEC") || has("NUMERIC") {
        ColumnKind::Decimal
    } else {
        ColumnKind::Other
    }
}

const PG_COLUMNS: &str = "\
SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text, \
       c.udt_schema::text, c.udt_name::text \
FROM information_schema.columns c \
WHERE lower(c.table_schema) = lower(COALESCE($1, current_schema())) \
  AND lower(c.table_name) = lower($2) \
ORDER BY (c.table_schema = COALESCE($1, current_schema())) DESC, (c.table_name = $2) DESC, \
         c.table_schema, c.table_name, c.ordinal_position";

const PG_PRIMARY_KEY: &str = "\
SELECT a.attname::text \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2";

/// Single-column unique indexes an `ON CONFLICT (column)` can name: valid, not partial, on the
/// column itself (no expression), and checked at once (PostgreSQL refuses a deferrable
/// constraint as an ON CONFLICT arbiter). The primary key is one of them.
const PG_UNIQUE: &str = "\
SELECT DISTINCT a.attname::text \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indimmediate AND i.indisvalid \
  AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL";

/// The table's columns that are unique on their own (see [`PG_UNIQUE`]).
pub async fn unique_pg<'e>(
    e: impl PgExecutor<'e>,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(PG_UNIQUE)
        .bind(schema)
        .bind(table)
        .fetch_all(e)
        .await
}

pub async fn load_pg(pool: &PgPool, t: &TableRef) -> Result<Option<TableSchema>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(PG_COLUMNS)
        .bind(t.schema.clone())
        .bind(t.table.clone())
        .fetch_all(pool)
        .await?;
    let Some((schema, name)) = rows.first().map(|r| (r.0.clone(), r.1.clone())) else {
        return Ok(None);
    };
    let columns = rows
        .into_iter()
        .filter(|r| r.0 == schema && r.1 == name)
        .map(|(_, _, column, data_type, udt_schema, udt_name)| {
            let kind = kind_pg(&data_type);
            let cast = match kind {
                ColumnKind::Decimal => Some("NUMERIC".to_string()),
                ColumnKind::Other => {
                    Some(qualified(DbType::Postgresql, Some(&udt_schema), &udt_name))
                }
                _ => None,
            };
            let type_name = if kind == ColumnKind::Other {
                udt_name
            } else {
                data_type
            };
            Column {
                name: column,
                type_name,
                kind,
                cast,
            }
        })
        .collect();
    let pk: Vec<(String,)> = sqlx::query_as(PG_PRIMARY_KEY)
        .bind(schema.clone())
        .bind(name.clone())
        .fetch_all(pool)
        .await?;
    let primary_key = match pk.as_slice() {
        [(one,)] => Some(one.clone()),
        _ => None,
    };
    let unique = unique_pg(pool, &schema, &name).await?;
    Ok(Some(TableSchema {
        schema: Some(schema),
        name,
        columns,
        primary_key,
        auto_increment: None,
        has_rowid: false,
        unique,
    }))
}

const MYSQL_COLUMNS: &str = "\
SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
       CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
       CAST(EXTRA LIKE '%auto_increment%' AS SIGNED) \
FROM information_schema.COLUMNS \
WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND LOWER(TABLE_NAME) = LOWER(?) \
ORDER BY (CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)) DESC, TABLE_NAME, ORDINAL_POSITION";

/// Unique indexes of one column, whole (no prefix length, no expression): a duplicate on
/// such a column is a duplicate of the whole value. The primary key is one of them.
const MYSQL_UNIQUE: &str = "\
SELECT CAST(MIN(COLUMN_NAME) AS CHAR) FROM information_schema.STATISTICS \
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
GROUP BY INDEX_NAME \
HAVING COUNT(*) = 1 AND MAX(SUB_PART) IS NULL AND MIN(COLUMN_NAME) IS NOT NULL";

/// The table's columns that are unique on their own (see [`MYSQL_UNIQUE`]).
pub async fn unique_mysql<'e>(
    e: impl MySqlExecutor<'e>,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(MYSQL_UNIQUE)
        .bind(schema)
        .bind(table)
        .fetch_all(e)
        .await
}

type MySqlColumnRow = (String, String, String, String, String, i64);

pub async fn load_mysql(
    pool: &MySqlPool,
    t: &TableRef,
) -> Result<Option<TableSchema>, sqlx::Error> {
    let rows: Vec<MySqlColumnRow> = sqlx::query_as(MYSQL_COLUMNS)
        .bind(t.schema.clone())
        .bind(t.table.clone())
        .bind(t.table.clone())
        .fetch_all(pool)
        .await?;
    let Some((schema, name)) = rows.first().map(|r| (r.0.clone(), r.1.clone())) else {
        return Ok(None);
    };
    let rows: Vec<MySqlColumnRow> = rows
        .into_iter()
        .filter(|r| r.0 == schema && r.1 == name)
        .collect();
    let auto_increment = rows.iter().find(|r| r.5 != 0).map(|r| r.2.clone());
    let columns = rows
        .into_iter()
        .map(|(_, _, column, data_type, column_type, _)| Column {
            name: column,
            kind: kind_mysql(&data_type, &column_type),
            type_name: column_type,
            cast: None,
        })
        .collect();
    let unique = unique_mysql(pool, &schema, &name).await?;
    Ok(Some(TableSchema {
        schema: Some(schema),
        name,
        columns,
        primary_key: None,
        auto_increment,
        has_rowid: false,
        unique,
    }))
}

const SQLITE_TABLE: &str = "\
SELECT name, type = 'table' AND NOT wr FROM pragma_table_list \
WHERE schema = ?1 AND type IN ('table', 'view') AND name = ?2 COLLATE NOCASE \
ORDER BY name = ?2 DESC LIMIT 1";

const SQLITE_COLUMNS: &str = "SELECT name, type, pk FROM pragma_table_info(?1, ?2) ORDER BY cid";

/// Unique indexes of one column, not partial (a UNIQUE constraint, a unique index, or the
/// primary key of a table without rowid). A rowid's INTEGER PRIMARY KEY has no index: the
/// caller adds the table's single-column primary key.
const SQLITE_UNIQUE: &str = "\
SELECT max(ii.name) FROM pragma_index_list(?1, ?2) AS il \
JOIN pragma_index_info(il.name, ?2) AS ii \
WHERE il.\"unique\" = 1 AND il.partial = 0 \
GROUP BY il.name HAVING count(*) = 1 AND max(ii.cid) >= 0";

/// The table's columns that are unique on their own: [`SQLITE_UNIQUE`] and the single-column
/// primary key (`primary_key`).
pub async fn unique_sqlite<'e>(
    e: impl SqliteExecutor<'e>,
    schema: &str,
    table: &str,
    primary_key: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut unique: Vec<String> = sqlx::query_scalar(SQLITE_UNIQUE)
        .bind(table)
        .bind(schema)
        .fetch_all(e)
        .await?;
    if let Some(pk) = primary_key
        && !unique.iter().any(|u| u == pk)
    {
        unique.push(pk.to_string());
    }
    Ok(unique)
}

pub async fn load_sqlite(
    pool: &SqlitePool,
    t: &TableRef,
) -> Result<Option<TableSchema>, sqlx::Error> {
    let schema = t.schema.clone().unwrap_or_else(|| "main".to_string());
    let name: Option<(String, bool)> = sqlx::query_as(SQLITE_TABLE)
        .bind(schema.clone())
        .bind(t.table.clone())
        .fetch_optional(pool)
        .await?;
    let Some((name, has_rowid)) = name else {
        return Ok(None);
    };
    let rows: Vec<(String, String, i64)> = sqlx::query_as(SQLITE_COLUMNS)
        .bind(name.clone())
        .bind(schema.clone())
        .fetch_all(pool)
        .await?;
    let pk: Vec<&String> = rows.iter().filter(|r| r.2 > 0).map(|r| &r.0).collect();
    let primary_key = match pk.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    };
    let columns = rows
        .into_iter()
        .map(|(column, declared, _)| Column {
            name: column,
            kind: kind_sqlite(&declared),
            type_name: declared,
            cast: None,
        })
        .collect();
    let unique = unique_sqlite(pool, &schema, &name, primary_key.as_deref()).await?;
    Ok(Some(TableSchema {
        schema: t.schema.clone(),
        name,
        columns,
        primary_key,
        auto_increment: None,
        has_rowid,
        unique,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_per_dialect_and_doubles_embedded_quotes() {
        assert_eq!(
            quote(DbType::Postgresql, "patient_data"),
            "\"patient_data\""
        );
        assert_eq!(quote(DbType::Sqlite, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote(DbType::Mysql, "notes"), "`notes`");
        assert_eq!(quote(DbType::Mysql, "a`b"), "`a``b`");
        assert_eq!(
            qualified(DbType::Postgresql, Some("clinic"), "patients"),
            "\"clinic\".\"patients\""
        );
        assert_eq!(qualified(DbType::Mysql, None, "patients"), "`patients`");
    }

    #[test]
    fn table_names_must_be_identifiers() {
        assert_eq!(
            TableRef::parse("clinic.patients").unwrap(),
            TableRef {
                schema: Some("clinic".into()),
                table: "patients".into()
            }
        );
        assert_eq!(TableRef::parse("patients").unwrap().schema, None);
        for bad in [
            "patients; DROP TABLE x",
            "a\"b",
            "a.b.c",
            "",
            ".t",
            "t.",
            "1abc",
            "pa`tients",
        ] {
            let err = TableRef::parse(bad).unwrap_err();
            assert!(err.contains("database.table"), "{bad}: {err}");
        }
    }

    #[test]
    fn maps_postgres_types() {
        assert_eq!(kind_pg("integer"), ColumnKind::Integer);
        assert_eq!(kind_pg("bigint"), ColumnKind::Integer);
        assert_eq!(kind_pg("numeric"), ColumnKind::Decimal);
        assert_eq!(kind_pg("double precision"), ColumnKind::Float);
        assert_eq!(kind_pg("timestamp with time zone"), ColumnKind::TimestampTz);
        assert_eq!(
            kind_pg("timestamp without time zone"),
            ColumnKind::Timestamp
        );
        assert_eq!(kind_pg("jsonb"), ColumnKind::Json);
        assert_eq!(kind_pg("character varying"), ColumnKind::Text);
        assert_eq!(kind_pg("USER-DEFINED"), ColumnKind::Other);
        assert_eq!(kind_pg("ARRAY"), ColumnKind::Other);
    }

    #[test]
    fn maps_mysql_types() {
        assert_eq!(kind_mysql("tinyint", "tinyint(1)"), ColumnKind::Boolean);
        assert_eq!(kind_mysql("tinyint", "tinyint(4)"), ColumnKind::Integer);
        assert_eq!(kind_mysql("INT", "int(11)"), ColumnKind::Integer);
        assert_eq!(kind_mysql("decimal", "decimal(10,2)"), ColumnKind::Decimal);
        assert_eq!(kind_mysql("datetime", "datetime"), ColumnKind::Timestamp);
        assert_eq!(
            kind_mysql("timestamp", "timestamp"),
            ColumnKind::TimestampTz
        );
        assert_eq!(kind_mysql("varchar", "varchar(255)"), ColumnKind::Text);
        assert_eq!(kind_mysql("longtext", "longtext"), ColumnKind::Text);
        assert_eq!(kind_mysql("uuid", "uuid"), ColumnKind::Uuid);
        assert_eq!(kind_mysql("blob", "blob"), ColumnKind::Other);
    }

    #[test]
    fn maps_sqlite_declared_types() {
        assert_eq!(kind_sqlite("INTEGER"), ColumnKind::Integer);
        assert_eq!(kind_sqlite("bigint"), ColumnKind::Integer);
        assert_eq!(kind_sqlite("TEXT"), ColumnKind::Text);
        assert_eq!(kind_sqlite("VARCHAR(50)"), ColumnKind::Text);
        assert_eq!(kind_sqlite("DATETIME"), ColumnKind::Timestamp);
        assert_eq!(kind_sqlite("DATE"), ColumnKind::Date);
        assert_eq!(kind_sqlite("BOOLEAN"), ColumnKind::Boolean);
        assert_eq!(kind_sqlite("DECIMAL(10,2)"), ColumnKind::Decimal);
        assert_eq!(kind_sqlite("REAL"), ColumnKind::Float);
        assert_eq!(kind_sqlite("JSON"), ColumnKind::Json);
        assert_eq!(kind_sqlite(""), ColumnKind::Other);
        assert_eq!(kind_sqlite("BLOB"), ColumnKind::Other);
    }

    #[test]
    fn finds_columns_exactly_then_case_insensitively() {
        let col = |n: &str| Column {
            name: n.into(),
            type_name: "text".into(),
            kind: ColumnKind::Text,
            cast: None,
        };
        let t = TableSchema {
            schema: None,
            name: "t".into(),
            columns: vec![col("Email"), col("name"), col("Name")],
            primary_key: None,
            auto_increment: None,
            has_rowid: false,
            unique: Vec::new(),
        };
        assert_eq!(t.column("email").unwrap().name, "Email");
        assert_eq!(t.column("Name").unwrap().name, "Name");
        assert_eq!(t.column("name").unwrap().name, "name");
        assert!(t.column("NAME").is_none(), "ambiguous");
        assert!(t.column("phone").is_none());
    }
}

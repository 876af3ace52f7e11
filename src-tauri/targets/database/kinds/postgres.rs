//! PostgreSQL's catalog: `information_schema.columns` for the columns, `pg_index` for the
//! primary key and the unique indexes, `has_column_privilege` for INSERT, `pg_stat_ssl` for TLS.

use crate::integrations::DatabaseConfig;
use crate::targets::database::schema::{
    Column, ColumnKind, Dialect, InsertPrivilege, LiveSchema, TableRef, TableSchema, qualified,
    quote,
};
use futures_util::future::BoxFuture;
use sqlx::{Connection, PgConnection, Postgres};

/// From `information_schema.columns.data_type`.
fn column_kind(data_type: &str) -> ColumnKind {
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

/// The columns of every table whose schema and name match case-insensitively, the exact match
/// first (the caller keeps the first table's).
const COLUMNS: &str = "\
SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text, \
       c.udt_schema::text, c.udt_name::text, c.is_nullable = 'YES', \
       c.column_default IS NOT NULL, (c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') \
FROM information_schema.columns c \
WHERE lower(c.table_schema) = lower(COALESCE($1, current_schema())) \
  AND lower(c.table_name) = lower($2) \
ORDER BY (c.table_schema = COALESCE($1, current_schema())) DESC, (c.table_name = $2) DESC, \
         c.table_schema, c.table_name, c.ordinal_position";

type ColumnRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    bool,
);

const PRIMARY_KEY: &str = "\
SELECT a.attname::text \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2";

/// Single-column unique indexes an `ON CONFLICT (column)` can name: valid, not partial, on the
/// column itself (no expression), and checked at once (PostgreSQL refuses a deferrable
/// constraint as an ON CONFLICT arbiter). The primary key is one of them.
const UNIQUE: &str = "\
SELECT DISTINCT a.attname::text \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indimmediate AND i.indisvalid \
  AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL";

/// Per column, so that column-level grants count; the table's name is quoted for the
/// `regclass` input of `has_column_privilege`.
const COLUMN_PRIVILEGE: &str = "\
SELECT c FROM unnest($2::text[]) AS c WHERE NOT has_column_privilege($1, c, 'INSERT')";

async fn read_table(
    c: &mut PgConnection,
    t: &TableRef,
) -> Result<Option<TableSchema>, sqlx::Error> {
    let rows: Vec<ColumnRow> = sqlx::query_as(COLUMNS)
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
            |(_, _, column, data_type, udt_schema, udt_name, nullable, has_default, generated)| {
                let kind = column_kind(&data_type);
                let cast = match kind {
                    ColumnKind::Decimal => Some("NUMERIC".to_string()),
                    ColumnKind::Other => Some(qualified::<Postgres>(Some(&udt_schema), &udt_name)),
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
                    nullable,
                    has_default,
                    generated,
                }
            },
        )
        .collect();
    let pk: Vec<String> = sqlx::query_scalar(PRIMARY_KEY)
        .bind(&schema)
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
    let primary_key = match pk.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let unique: Vec<String> = sqlx::query_scalar(UNIQUE)
        .bind(&schema)
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
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

async fn insert_privilege(
    c: &mut PgConnection,
    t: &TableSchema,
    columns: &[&str],
) -> Result<InsertPrivilege, sqlx::Error> {
    let table = qualified::<Postgres>(t.schema.as_deref(), &t.name);
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
    let denied: Vec<String> = sqlx::query_scalar(COLUMN_PRIVILEGE)
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

impl Dialect for Postgres {
    const QUOTE: char = '"';
    const TEXT: &'static str = "TEXT";

    fn skip_existing(column: &str) -> String {
        format!(" ON CONFLICT ({column}) DO NOTHING")
    }

    fn row_id(t: &TableSchema) -> Option<String> {
        t.primary_key.as_deref().map(quote::<Self>)
    }
}

impl LiveSchema for PgConnection {
    fn read_table<'a>(
        &'a mut self,
        table: &'a TableRef,
    ) -> BoxFuture<'a, Result<Option<TableSchema>, sqlx::Error>> {
        Box::pin(read_table(self, table))
    }

    fn ping(&mut self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql("SELECT 1").execute(self).await.map(drop) })
    }

    fn tls_in_use(&mut self) -> BoxFuture<'_, Result<Option<bool>, sqlx::Error>> {
        Box::pin(async move {
            let ssl: Option<bool> =
                sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .fetch_optional(self)
                    .await?;
            Ok(Some(ssl.unwrap_or(false)))
        })
    }

    fn insert_privilege<'a>(
        &'a mut self,
        _db: &'a DatabaseConfig,
        table: &'a TableSchema,
        columns: &'a [&'a str],
    ) -> BoxFuture<'a, Result<InsertPrivilege, sqlx::Error>> {
        Box::pin(insert_privilege(self, table, columns))
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        Box::pin(Connection::close(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_postgres_types() {
        assert_eq!(column_kind("integer"), ColumnKind::Integer);
        assert_eq!(column_kind("bigint"), ColumnKind::Integer);
        assert_eq!(column_kind("numeric"), ColumnKind::Decimal);
        assert_eq!(column_kind("double precision"), ColumnKind::Float);
        assert_eq!(
            column_kind("timestamp with time zone"),
            ColumnKind::TimestampTz
        );
        assert_eq!(
            column_kind("timestamp without time zone"),
            ColumnKind::Timestamp
        );
        assert_eq!(column_kind("jsonb"), ColumnKind::Json);
        assert_eq!(column_kind("character varying"), ColumnKind::Text);
        assert_eq!(column_kind("USER-DEFINED"), ColumnKind::Other);
        assert_eq!(column_kind("ARRAY"), ColumnKind::Other);
    }
}

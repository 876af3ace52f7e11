//! SQLite's catalog: `pragma_table_list`, `pragma_table_info` and the index pragmas. SQLite has
//! no users and no network: the insert privilege is whether this process may write the file.

use crate::integrations::DatabaseConfig;
use crate::targets::database::schema::{
    Column, ColumnKind, Dialect, InsertPrivilege, LiveSchema, TableRef, TableSchema,
};
use futures_util::future::BoxFuture;
use sqlx::{Connection, Sqlite, SqliteConnection};

/// From the declared type, by name first, then by SQLite's affinity rules.
fn column_kind(declared: &str) -> ColumnKind {
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

/// The table (or view) by name, the exact match first; whether it has a rowid.
const TABLE: &str = "\
SELECT name, type = 'table' AND NOT wr FROM pragma_table_list \
WHERE schema = ?1 AND type IN ('table', 'view') AND name = ?2 COLLATE NOCASE \
ORDER BY name = ?2 DESC LIMIT 1";

const COLUMNS: &str = "\
SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk \
FROM pragma_table_info(?1, ?2) ORDER BY cid";

/// Unique indexes of one column, not partial (a UNIQUE constraint, a unique index, or the
/// primary key of a table without rowid). A rowid's INTEGER PRIMARY KEY has no index: the
/// table's single-column primary key is added to these.
const UNIQUE: &str = "\
SELECT max(ii.name) FROM pragma_index_list(?1, ?2) AS il \
JOIN pragma_index_info(il.name, ?2) AS ii \
WHERE il.\"unique\" = 1 AND il.partial = 0 \
GROUP BY il.name HAVING count(*) = 1 AND max(ii.cid) >= 0";

async fn read_table(
    c: &mut SqliteConnection,
    t: &TableRef,
) -> Result<Option<TableSchema>, sqlx::Error> {
    let schema = t.schema.clone().unwrap_or_else(|| "main".to_string());
    let found: Option<(String, bool)> = sqlx::query_as(TABLE)
        .bind(&schema)
        .bind(&t.table)
        .fetch_optional(&mut *c)
        .await?;
    let Some((name, has_rowid)) = found else {
        return Ok(None);
    };
    let rows: Vec<(String, String, bool, bool, i64)> = sqlx::query_as(COLUMNS)
        .bind(&name)
        .bind(&schema)
        .fetch_all(&mut *c)
        .await?;
    let pk: Vec<&String> = rows.iter().filter(|r| r.4 > 0).map(|r| &r.0).collect();
    let primary_key = match pk.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    };
    let pk_columns = pk.len();
    let mut unique: Vec<String> = sqlx::query_scalar(UNIQUE)
        .bind(&name)
        .bind(&schema)
        .fetch_all(&mut *c)
        .await?;
    if let Some(pk) = &primary_key
        && !unique.contains(pk)
    {
        unique.push(pk.clone());
    }
    let columns = rows
        .into_iter()
        .map(|(column, declared, not_null, has_default, pk)| Column {
            // A lone INTEGER PRIMARY KEY is the rowid: SQLite fills it in.
            generated: pk > 0 && pk_columns == 1 && declared.eq_ignore_ascii_case("INTEGER"),
            kind: column_kind(&declared),
            name: column,
            type_name: declared,
            cast: None,
            nullable: !not_null,
            has_default,
        })
        .collect();
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

impl Dialect for Sqlite {
    const QUOTE: char = '"';
    const TEXT: &'static str = "TEXT";

    fn skip_existing(column: &str) -> String {
        format!(" ON CONFLICT ({column}) DO NOTHING")
    }

    /// A table without rowid (or a view) has none.
    fn row_id(t: &TableSchema) -> Option<String> {
        t.has_rowid.then(|| "rowid".to_string())
    }
}

impl LiveSchema for SqliteConnection {
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
        Box::pin(async { Ok(None) })
    }

    /// The file must be writable by this process.
    fn insert_privilege<'a>(
        &'a mut self,
        db: &'a DatabaseConfig,
        _table: &'a TableSchema,
        _columns: &'a [&'a str],
    ) -> BoxFuture<'a, Result<InsertPrivilege, sqlx::Error>> {
        let writable = std::fs::OpenOptions::new().write(true).open(&db.database);
        Box::pin(async move {
            Ok(match writable {
                Ok(_) => InsertPrivilege::Granted,
                Err(e) => {
                    tracing::debug!("the SQLite file is not writable: {e}");
                    InsertPrivilege::Denied(Vec::new())
                }
            })
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), sqlx::Error>> {
        Box::pin(Connection::close(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_sqlite_declared_types() {
        assert_eq!(column_kind("INTEGER"), ColumnKind::Integer);
        assert_eq!(column_kind("bigint"), ColumnKind::Integer);
        assert_eq!(column_kind("TEXT"), ColumnKind::Text);
        assert_eq!(column_kind("VARCHAR(50)"), ColumnKind::Text);
        assert_eq!(column_kind("DATETIME"), ColumnKind::Timestamp);
        assert_eq!(column_kind("DATE"), ColumnKind::Date);
        assert_eq!(column_kind("BOOLEAN"), ColumnKind::Boolean);
        assert_eq!(column_kind("DECIMAL(10,2)"), ColumnKind::Decimal);
        assert_eq!(column_kind("REAL"), ColumnKind::Float);
        assert_eq!(column_kind("JSON"), ColumnKind::Json);
        assert_eq!(column_kind(""), ColumnKind::Other);
        assert_eq!(column_kind("BLOB"), ColumnKind::Other);
    }
}

//! MySQL's and MariaDB's catalog: `information_schema.COLUMNS` and `STATISTICS`, the privilege
//! tables of `information_schema`, `Ssl_cipher` for TLS.

use crate::integrations::DatabaseConfig;
use crate::targets::database::schema::{
    Column, ColumnKind, Dialect, InsertPrivilege, LiveSchema, TableRef, TableSchema, quote,
};
use futures_util::future::BoxFuture;
use sqlx::{Connection, MySql, MySqlConnection, Row};

/// From `DATA_TYPE` and `COLUMN_TYPE` (`tinyint(1)` is how booleans are kept).
fn column_kind(data_type: &str, column_type: &str) -> ColumnKind {
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

/// The columns of every table of the schema whose name matches case-insensitively, the exact
/// match first (the caller keeps the first table's).
const COLUMNS: &str = "\
SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
       CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
       CAST(IS_NULLABLE = 'YES' AS SIGNED), CAST(COLUMN_DEFAULT IS NOT NULL AS SIGNED), \
       CAST(EXTRA LIKE '%auto_increment%' AS SIGNED), \
       CAST(EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%' OR EXTRA LIKE '%VIRTUAL%' \
            OR EXTRA LIKE '%PERSISTENT%' AS SIGNED) \
FROM information_schema.COLUMNS \
WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND LOWER(TABLE_NAME) = LOWER(?) \
ORDER BY (CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)) DESC, TABLE_NAME, ORDINAL_POSITION";

type ColumnRow = (String, String, String, String, String, i64, i64, i64, i64);

/// Unique indexes of one column, whole (no prefix length, no expression): a duplicate on
/// such a column is a duplicate of the whole value. The primary key is one of them.
const UNIQUE: &str = "\
SELECT CAST(MIN(COLUMN_NAME) AS CHAR) FROM information_schema.STATISTICS \
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
GROUP BY INDEX_NAME \
HAVING COUNT(*) = 1 AND MAX(SUB_PART) IS NULL AND MIN(COLUMN_NAME) IS NOT NULL";

/// INSERT granted globally, on the schema (grants may use wildcards) or on the table.
const TABLE_PRIVILEGE: &str = "\
SELECT CAST(COUNT(*) AS SIGNED) FROM ( \
  SELECT 1 AS x FROM information_schema.USER_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' \
  UNION ALL SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND ? LIKE TABLE_SCHEMA \
  UNION ALL SELECT 1 FROM information_schema.TABLE_PRIVILEGES \
   WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND TABLE_SCHEMA = ? AND TABLE_NAME = ? \
) AS grants";

const COLUMN_PRIVILEGE: &str = "\
SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMN_PRIVILEGES \
WHERE GRANTEE = ? AND PRIVILEGE_TYPE = 'INSERT' AND TABLE_SCHEMA = ? AND TABLE_NAME = ?";

async fn read_table(
    c: &mut MySqlConnection,
    t: &TableRef,
) -> Result<Option<TableSchema>, sqlx::Error> {
    let rows: Vec<ColumnRow> = sqlx::query_as(COLUMNS)
        .bind(t.schema.clone())
        .bind(t.table.clone())
        .bind(t.table.clone())
        .fetch_all(&mut *c)
        .await?;
    let Some((schema, name)) = rows.first().map(|r| (r.0.clone(), r.1.clone())) else {
        return Ok(None);
    };
    let rows: Vec<ColumnRow> = rows
        .into_iter()
        .filter(|r| r.0 == schema && r.1 == name)
        .collect();
    let auto_increment = rows.iter().find(|r| r.7 != 0).map(|r| r.2.clone());
    let columns = rows
        .into_iter()
        .map(
            |(_, _, column, data_type, column_type, nullable, has_default, _, generated)| Column {
                name: column,
                kind: column_kind(&data_type, &column_type),
                type_name: column_type,
                cast: None,
                nullable: nullable != 0,
                has_default: has_default != 0,
                generated: generated != 0,
            },
        )
        .collect();
    let unique: Vec<String> = sqlx::query_scalar(UNIQUE)
        .bind(&schema)
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
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

async fn insert_privilege(
    c: &mut MySqlConnection,
    t: &TableSchema,
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
    let grants: i64 = sqlx::query_scalar(TABLE_PRIVILEGE)
        .bind(&grantee)
        .bind(&grantee)
        .bind(&schema)
        .bind(&grantee)
        .bind(&schema)
        .bind(&t.name)
        .fetch_one(&mut *c)
        .await?;
    if grants > 0 {
        return Ok(InsertPrivilege::Granted);
    }
    let granted: Vec<String> = sqlx::query_scalar(COLUMN_PRIVILEGE)
        .bind(&grantee)
        .bind(&schema)
        .bind(&t.name)
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

async fn tls_in_use(c: &mut MySqlConnection) -> Result<Option<bool>, sqlx::Error> {
    // SHOW is sent as text (not every server prepares it).
    let row = sqlx::raw_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .fetch_optional(c)
        .await?;
    let cipher: Option<String> = match row {
        Some(r) => r.try_get(1)?,
        None => None,
    };
    Ok(Some(cipher.is_some_and(|c| !c.is_empty())))
}

/// MySQL reports one affected row both for a new row and for a duplicate left as it was (the
/// driver asks for found rows), so the duplicate's update also sets `LAST_INSERT_ID` to this
/// value, which no AUTO_INCREMENT column reaches: the server returns it as the statement's
/// insert id only when the row was already there.
pub(in crate::targets::database) const ALREADY_THERE: u64 = u64::MAX;

impl Dialect for MySql {
    const QUOTE: char = '`';
    const TEXT: &'static str = "CHAR";

    /// The column is set to itself: the row is left as it was. Never `INSERT IGNORE`, which
    /// would also turn NOT NULL and truncation errors into warnings.
    fn skip_existing(column: &str) -> String {
        format!(
            " ON DUPLICATE KEY UPDATE {column} = \
             IF(LAST_INSERT_ID({ALREADY_THERE}) > 0, {column}, {column})"
        )
    }

    fn row_id(t: &TableSchema) -> Option<String> {
        t.auto_increment.as_deref().map(quote::<Self>)
    }
}

impl LiveSchema for MySqlConnection {
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
        Box::pin(tls_in_use(self))
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
    fn maps_mysql_types() {
        assert_eq!(column_kind("tinyint", "tinyint(1)"), ColumnKind::Boolean);
        assert_eq!(column_kind("tinyint", "tinyint(4)"), ColumnKind::Integer);
        assert_eq!(column_kind("INT", "int(11)"), ColumnKind::Integer);
        assert_eq!(column_kind("decimal", "decimal(10,2)"), ColumnKind::Decimal);
        assert_eq!(column_kind("datetime", "datetime"), ColumnKind::Timestamp);
        assert_eq!(
            column_kind("timestamp", "timestamp"),
            ColumnKind::TimestampTz
        );
        assert_eq!(column_kind("varchar", "varchar(255)"), ColumnKind::Text);
        assert_eq!(column_kind("longtext", "longtext"), ColumnKind::Text);
        assert_eq!(column_kind("uuid", "uuid"), ColumnKind::Uuid);
        assert_eq!(column_kind("blob", "blob"), ColumnKind::Other);
    }
}

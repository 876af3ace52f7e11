//! The target table as the live database describes it: its exact name, its columns with their
//! types, nullability and defaults, the primary key and the columns unique on their own. One
//! [`LiveSchema`] per database kind (in `kinds`) reads it, for delivery (over a pooled
//! connection) and for the health check and the column editor (over a direct one). Also the one
//! place identifiers are checked and quoted.

use crate::integrations::{DatabaseConfig, is_identifier};
use futures_util::future::BoxFuture;

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
    pub nullable: bool,
    pub has_default: bool,
    /// Filled in by the database (identity, auto-increment, generated, SQLite's rowid).
    pub generated: bool,
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
    /// Columns that are unique on their own (whole, not partial, checked at once): an insert
    /// can skip a conflict on one of them by naming it alone.
    pub unique: Vec<String>,
}

impl TableSchema {
    /// `schema.table` as the database spells it (the table alone when no schema is named), for
    /// messages.
    pub fn full_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

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

/// How one database kind writes the SQL delivery builds, implemented by sqlx's database types
/// (`sqlx::Postgres`, `sqlx::MySql`, `sqlx::Sqlite`) in `kinds`.
pub trait Dialect: sqlx::Database {
    /// The character identifiers are quoted with.
    const QUOTE: char;
    /// The type a value is cast to, to read it as text.
    const TEXT: &'static str;

    /// What follows an INSERT's VALUES list to skip a row the table already has with this
    /// value in `column` (quoted), a column unique on its own.
    fn skip_existing(column: &str) -> String;

    /// The expression whose value is the id an insert reports for its row (PostgreSQL's
    /// primary key, MySQL's AUTO_INCREMENT column, SQLite's rowid), when the table has one.
    fn row_id(t: &TableSchema) -> Option<String>;
}

/// Quotes an identifier for the dialect, doubling any embedded quote character. Validation
/// already refuses such names; the doubling is a second line of defence, not the first.
pub fn quote<D: Dialect>(ident: &str) -> String {
    let q = D::QUOTE;
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
pub fn qualified<D: Dialect>(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote::<D>(s), quote::<D>(table)),
        None => quote::<D>(table),
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

/// What one database kind's catalog says, read over one open connection. Delivery reads the
/// table through a pooled connection, the health check and the column editor through a direct
/// one: the same reader, so all three see the same columns and the same unique keys. Nothing
/// here writes.
pub trait LiveSchema: Send {
    /// The table's description, or `None` when the table is not there (or not visible to the
    /// user). A name that matches only case-insensitively is found (as the database would fold
    /// it); an exact match wins.
    fn read_table<'a>(
        &'a mut self,
        table: &'a TableRef,
    ) -> BoxFuture<'a, Result<Option<TableSchema>, sqlx::Error>>;

    /// `SELECT 1`.
    fn ping(&mut self) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// Whether this connection is encrypted, as the server sees it; `None` where there is no
    /// network (SQLite).
    fn tls_in_use(&mut self) -> BoxFuture<'_, Result<Option<bool>, sqlx::Error>>;

    /// Whether the user may insert into `columns` (exact names) of `table`.
    fn insert_privilege<'a>(
        &'a mut self,
        db: &'a DatabaseConfig,
        table: &'a TableSchema,
        columns: &'a [&'a str],
    ) -> BoxFuture<'a, Result<InsertPrivilege, sqlx::Error>>;

    /// Closes the connection politely.
    fn close(self: Box<Self>) -> BoxFuture<'static, Result<(), sqlx::Error>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_per_dialect_and_doubles_embedded_quotes() {
        assert_eq!(quote::<sqlx::Postgres>("patient_data"), "\"patient_data\"");
        assert_eq!(quote::<sqlx::Sqlite>("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote::<sqlx::MySql>("notes"), "`notes`");
        assert_eq!(quote::<sqlx::MySql>("a`b"), "`a``b`");
        assert_eq!(
            qualified::<sqlx::Postgres>(Some("clinic"), "patients"),
            "\"clinic\".\"patients\""
        );
        assert_eq!(qualified::<sqlx::MySql>(None, "patients"), "`patients`");
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
    fn finds_columns_exactly_then_case_insensitively() {
        let col = |n: &str| Column {
            name: n.into(),
            type_name: "text".into(),
            kind: ColumnKind::Text,
            cast: None,
            nullable: true,
            has_default: false,
            generated: false,
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

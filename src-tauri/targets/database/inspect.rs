//! A direct look at a database target, for the health check and the column editor: one
//! connection outside the delivery pool (so a stale or empty pool cannot hide a problem), opened
//! with the same settings, and what the live database says about the table, read by the same
//! [`LiveSchema`] as delivery's: its columns with nullability and defaults, the columns unique on
//! their own, whether the user may insert, and whether the connection is encrypted. Nothing here
//! writes.
//!
//! Failures carry a message a clinic admin can act on; like delivery's, they never carry the
//! password (connect options are never formatted).

use super::classify::{Context, classify, tls_failure};
use super::convert::convert;
use super::pool::{mysql_options, pg_options, sqlite_options};
use super::schema::LiveSchema;
use crate::ids::IntegrationId;
use crate::integrations::{DatabaseConfig, DbType, FieldType};
use crate::targets::{ErrorCategory, ResolvedIntegration};
use serde_json::Value;
use sqlx::ConnectOptions;

pub use super::schema::{Column, ColumnKind, InsertPrivilege, TableRef, TableSchema};
pub use super::target_label;

/// One open connection to the target, read through its kind's [`LiveSchema`].
pub struct Inspector {
    conn: Box<dyn LiveSchema>,
}

/// Why the connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The server was not reached, or not over TLS as configured (refused, reset, TLS).
    Network(String),
    /// The server answered but did not let the user in (password, user, database name).
    Login(String),
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
        fn boxed<C: LiveSchema + 'static>(c: C) -> Box<dyn LiveSchema> {
            Box::new(c)
        }
        let result = match db.db_type {
            DbType::Postgresql => pg_options(id, db, password).connect().await.map(boxed),
            DbType::Mysql => mysql_options(db, password).connect().await.map(boxed),
            // Only reads: a read-only open never rolls back a leftover journal or adds WAL files
            // beside a file someone named.
            DbType::Sqlite => sqlite_options(db)
                .read_only(true)
                .connect()
                .await
                .map(boxed),
        };
        result
            .map(|conn| Inspector { conn })
            .map_err(|e| connect_error(db, &e))
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }

    /// `SELECT 1`.
    pub async fn ping(&mut self, db: &DatabaseConfig) -> Result<(), String> {
        self.conn.ping().await.map_err(|e| failure(db, &e))
    }

    /// Whether this connection is encrypted, as the server sees it; `None` for SQLite (a local
    /// file). Behind a proxy that ends TLS the server sees the proxy's connection, so the
    /// health check asks only when the mode leaves it open (`prefer`).
    pub async fn tls_in_use(&mut self, db: &DatabaseConfig) -> Result<Option<bool>, String> {
        self.conn.tls_in_use().await.map_err(|e| failure(db, &e))
    }

    /// The table as delivery reads it, or `None` when the table is not there (or not visible
    /// to the user).
    pub async fn table(
        &mut self,
        db: &DatabaseConfig,
        table: &TableRef,
    ) -> Result<Option<TableSchema>, String> {
        self.conn
            .read_table(table)
            .await
            .map_err(|e| failure(db, &e))
    }

    /// Whether the user may insert into `columns` of the table. SQLite has no users: the file
    /// must be writable by this process.
    pub async fn insert_privilege(
        &mut self,
        db: &DatabaseConfig,
        t: &TableSchema,
        columns: &[&str],
    ) -> Result<InsertPrivilege, String> {
        self.conn
            .insert_privilege(db, t, columns)
            .await
            .map_err(|e| failure(db, &e))
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

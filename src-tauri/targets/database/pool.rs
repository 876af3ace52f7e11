//! The connection pool of one integration: how it is configured from the settings (size,
//! timeouts, TLS, PostgreSQL's statement timeout), and what it can say about itself.

use super::insert::{self, Inserted, ReadBack, Resolved, RunError};
use super::schema::{LiveSchema, TableRef, TableSchema};
use crate::ids::IntegrationId;
use crate::integrations::{DatabaseConfig, DbType, TlsProtection};
use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlSslMode};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, MySqlPool, PgPool, SqlitePool};
use std::time::Duration;

/// Connections idle this long are closed (the pool reopens them on demand).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// A connection back in the pool for less than this is used without a ping first: sqlx pings
/// every connection as it comes back (a dead one is closed then), so one taken again at once
/// was alive a moment ago. A ping before each delivery was a third round trip for every insert
/// in a burst (two pings and the insert); after a quiet second the ping comes back, where a
/// server restart or a firewall dropping idle connections would otherwise fail the delivery.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// The longest a failed pool's diagnostic connection attempt may take.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// A pool's state, for health views and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (idle or in use).
    pub size: u32,
    pub idle: usize,
    pub max_connections: u32,
}

#[derive(Clone)]
pub(super) enum TargetPool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// sqlx's MySQL modes by what they guarantee (PostgreSQL's: [`TlsProtection::pg_ssl_mode`]).
/// Only the verifying modes use `database.sslRootCert`; validation refuses it with the others.
fn mysql_ssl(protection: TlsProtection) -> MySqlSslMode {
    match protection {
        TlsProtection::Off => MySqlSslMode::Disabled,
        TlsProtection::Opportunistic => MySqlSslMode::Preferred,
        TlsProtection::Encrypted => MySqlSslMode::Required,
        TlsProtection::VerifiedCa => MySqlSslMode::VerifyCa,
        TlsProtection::Verified => MySqlSslMode::VerifyIdentity,
    }
}

/// PostgreSQL connect options from the settings (the pool's, and the health check's direct
/// connection's).
pub(super) fn pg_options(
    id: IntegrationId,
    db: &DatabaseConfig,
    password: Option<&str>,
) -> PgConnectOptions {
    let mut o = PgConnectOptions::new_without_pgpass()
        .host(db.host())
        .port(db.port.unwrap_or(5432))
        .database(&db.database)
        .ssl_mode(db.tls_mode().protection().pg_ssl_mode())
        // Lets a DBA see which integration a connection belongs to.
        .application_name(&format!("handoff-console:{id}"))
        .options([(
            "statement_timeout",
            db.statement_timeout().as_millis().to_string(),
        )]);
    if let Some(ca) = &db.ssl_root_cert {
        o = o.ssl_root_cert(ca);
    }
    if let Some(u) = &db.username {
        o = o.username(u);
    }
    if let Some(p) = password {
        o = o.password(p);
    }
    o
}

/// MySQL / MariaDB connect options from the settings.
pub(super) fn mysql_options(db: &DatabaseConfig, password: Option<&str>) -> MySqlConnectOptions {
    let mut o = MySqlConnectOptions::new()
        .host(db.host())
        .port(db.port.unwrap_or(3306))
        .database(&db.database)
        .ssl_mode(mysql_ssl(db.tls_mode().protection()));
    if let Some(ca) = &db.ssl_root_cert {
        o = o.ssl_ca(ca);
    }
    if let Some(u) = &db.username {
        o = o.username(u);
    }
    if let Some(p) = password {
        o = o.password(p);
    }
    o
}

/// SQLite connect options: the file must exist (it is never created).
pub(super) fn sqlite_options(db: &DatabaseConfig) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(&db.database)
        .create_if_missing(false)
        .busy_timeout(db.statement_timeout())
}

/// The pools' check before a delivery takes a connection: a ping when it has been idle for
/// [`PING_AFTER_IDLE`] or more (a failed ping closes it, and the pool opens another).
fn ping_if_idle<C: Connection>(
    conn: &mut C,
    meta: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if meta.idle_for >= PING_AFTER_IDLE {
            conn.ping().await?;
        }
        Ok(true)
    })
}

impl TargetPool {
    /// A lazy pool: nothing connects until the first delivery.
    pub(super) fn new(id: IntegrationId, db: &DatabaseConfig, password: Option<&str>) -> Self {
        let size = db
            .pool_size
            .unwrap_or(DatabaseConfig::DEFAULT_POOL_SIZE)
            .max(1);
        let acquire = db.connect_timeout();
        match db.db_type {
            DbType::Postgresql => {
                let o = pg_options(id, db, password);
                TargetPool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(size)
                        .min_connections(0)
                        .acquire_timeout(acquire)
                        .idle_timeout(IDLE_TIMEOUT)
                        .test_before_acquire(false)
                        .before_acquire(ping_if_idle)
                        .connect_lazy_with(o),
                )
            }
            DbType::Mysql => {
                let o = mysql_options(db, password);
                TargetPool::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(size)
                        .min_connections(0)
                        .acquire_timeout(acquire)
                        .idle_timeout(IDLE_TIMEOUT)
                        .test_before_acquire(false)
                        .before_acquire(ping_if_idle)
                        .connect_lazy_with(o),
                )
            }
            DbType::Sqlite => {
                let o = sqlite_options(db);
                TargetPool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(size)
                        .min_connections(0)
                        .acquire_timeout(acquire)
                        .idle_timeout(IDLE_TIMEOUT)
                        .test_before_acquire(false)
                        .before_acquire(ping_if_idle)
                        .connect_lazy_with(o),
                )
            }
        }
    }

    pub(super) fn stats(&self) -> PoolStats {
        let (size, idle, max_connections) = match self {
            TargetPool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            TargetPool::MySql(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            TargetPool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        PoolStats {
            size,
            idle,
            max_connections,
        }
    }

    pub(super) fn acquire_timeout(&self) -> Duration {
        match self {
            TargetPool::Postgres(p) => p.options().get_acquire_timeout(),
            TargetPool::MySql(p) => p.options().get_acquire_timeout(),
            TargetPool::Sqlite(p) => p.options().get_acquire_timeout(),
        }
    }

    pub(super) async fn close(&self) {
        match self {
            TargetPool::Postgres(p) => p.close().await,
            TargetPool::MySql(p) => p.close().await,
            TargetPool::Sqlite(p) => p.close().await,
        }
    }

    /// The pool retries a refused connection until its acquire timeout and then reports only
    /// that it timed out. When it has no connection at all, one direct attempt finds the real
    /// reason (refused, unknown host, bad password), so the category is right.
    pub(super) async fn explain(&self, err: sqlx::Error) -> sqlx::Error {
        if !matches!(err, sqlx::Error::PoolTimedOut) || self.stats().size > 0 {
            return err;
        }
        let limit = self.acquire_timeout().min(PROBE_LIMIT);
        let probe = match self {
            TargetPool::Postgres(p) => probe(&*p.connect_options(), limit).await,
            TargetPool::MySql(p) => probe(&*p.connect_options(), limit).await,
            TargetPool::Sqlite(p) => probe(&*p.connect_options(), limit).await,
        };
        probe.unwrap_or(err)
    }

    /// The table's live description, read over one of the pool's connections by its kind's
    /// [`LiveSchema`] (the reader the health check uses too). Boxed: inline, the acquire's
    /// future nested in every caller's overflows the compiler's layout depth limit.
    pub(super) fn read_table<'a>(
        &'a self,
        t: &'a TableRef,
    ) -> BoxFuture<'a, Result<Option<TableSchema>, sqlx::Error>> {
        Box::pin(async move {
            match self {
                TargetPool::Postgres(p) => p.acquire().await?.read_table(t).await,
                TargetPool::MySql(p) => p.acquire().await?.read_table(t).await,
                TargetPool::Sqlite(p) => p.acquire().await?.read_table(t).await,
            }
        })
    }

    /// Inserts the row in a transaction. Returns what was sent and the new row's id; a test
    /// also reads the row back and commits only when it asks to.
    pub(super) async fn insert(
        &self,
        t: &TableSchema,
        values: &[Resolved<'_>],
        limit: Duration,
        test: Option<ReadBack>,
    ) -> (Value, Result<Inserted, RunError>) {
        match self {
            TargetPool::Postgres(p) => insert::postgres(p, t, values, limit, test).await,
            TargetPool::MySql(p) => insert::mysql(p, t, values, limit, test).await,
            TargetPool::Sqlite(p) => insert::sqlite(p, t, values, limit, test).await,
        }
    }

    pub(super) fn db_type(&self) -> DbType {
        match self {
            TargetPool::Postgres(_) => DbType::Postgresql,
            TargetPool::MySql(_) => DbType::Mysql,
            TargetPool::Sqlite(_) => DbType::Sqlite,
        }
    }
}

/// One connection attempt outside the pool; the error, if it failed.
async fn probe<O>(options: &O, limit: Duration) -> Option<sqlx::Error>
where
    O: ConnectOptions,
    O::Connection: Sized,
{
    match tokio::time::timeout(limit, options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            None
        }
        Ok(Err(e)) => Some(e),
        Err(_) => None,
    }
}

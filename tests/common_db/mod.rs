//! Helpers for the database target tests: real PostgreSQL and MariaDB/MySQL servers (their URLs
//! in `HANDOFF_TEST_PG_URL` / `HANDOFF_TEST_MYSQL_URL`; a test needing one has `postgres`, or
//! `mysql`/`mariadb`, in its name) and SQLite files in a temp dir. Every test makes its own uniquely
//! named objects and drops them afterwards, so tests can run in parallel.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use chrono::Utc;
use futures_util::FutureExt;
use handoff_console::ids::{HandoffId, IntegrationId};
use handoff_console::integrations::{IntegrationConfig, SecretSlot};
use handoff_console::secrets::Secret;
use handoff_console::targets::{HandoffContext, ResolvedIntegration};
use serde_json::{Map, Value, json};
use sqlx::{AssertSqlSafe, MySqlPool, PgPool, SqlitePool};
use std::future::Future;
use std::panic::AssertUnwindSafe;

pub const PG_URL_VAR: &str = "HANDOFF_TEST_PG_URL";
pub const MYSQL_URL_VAR: &str = "HANDOFF_TEST_MYSQL_URL";

/// The test server's URL for a console store in `schema` (no password: the server trusts
/// loopback, and a password in a store URL is refused).
pub fn pg_store_url(schema: &str) -> String {
    let test = url::Url::parse(&std::env::var(PG_URL_VAR).expect(PG_URL_VAR)).unwrap();
    format!(
        "postgres://{}@{}:{}{}?schema={schema}",
        test.username(),
        test.host_str().unwrap(),
        test.port().unwrap_or(5432),
        test.path()
    )
}

/// A short random suffix for table, schema and user names.
pub fn suffix() -> String {
    let s = uuid::Uuid::now_v7().simple().to_string();
    // The tail of a v7 UUID is random; the head is the time.
    s[s.len() - 12..].to_string()
}

pub fn handoff() -> HandoffContext<'static> {
    HandoffContext {
        handoff_id: HandoffId::new(),
        session_id: "session-1",
        timestamp: Utc::now().to_rfc3339(),
    }
}

/// An integration around a `database` section, as the store would hand it to the target.
pub fn integration(database: Value, password: Option<&str>) -> ResolvedIntegration {
    let config: IntegrationConfig = serde_json::from_value(json!({
        "name": "database test",
        "kind": "database",
        "database": database,
    }))
    .expect("the test's database section is a valid config");
    let mut secrets = std::collections::BTreeMap::new();
    if let Some(p) = password {
        secrets.insert(SecretSlot::DatabasePassword, Secret::new(p.to_string()));
    }
    ResolvedIntegration {
        id: IntegrationId::new(),
        config,
        secrets,
    }
}

pub fn data(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("test data must be an object, got {other}"),
    }
}

/// Runs `body`, then `cleanup` whether or not `body` panicked.
pub async fn cleanly(body: impl Future<Output = ()>, cleanup: impl Future<Output = ()>) {
    let result = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A port on 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    port
}

/// A server to test against: its admin pool and how to point an integration at it.
pub struct Server<P> {
    pub pool: P,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    pub password: Option<String>,
}

impl<P> Server<P> {
    /// The `database` config section for a table and mapping on this server.
    pub fn config(&self, db_type: &str, table: &str, mapping: Value) -> Value {
        json!({
            "type": db_type,
            "hostname": self.host,
            "port": self.port,
            "database": self.database,
            "username": self.username,
            "table": table,
            "fieldMapping": mapping,
        })
    }
}

fn parse(url: &str) -> (String, u16, String, String, Option<String>) {
    let u = url::Url::parse(url).expect("the test database URL parses");
    (
        u.host_str().unwrap_or("127.0.0.1").to_string(),
        u.port().unwrap_or(0),
        u.path().trim_start_matches('/').to_string(),
        u.username().to_string(),
        u.password().map(str::to_string),
    )
}

/// The test's own name, as the test harness names its thread (`None` on the main thread).
fn test_name() -> Option<String> {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string)
}

/// A test that needs a database server: its name must say which (`make test` leaves such tests
/// out by name, and counts them as not run, when their server does not answer), and the
/// server's URL must be set. Never a silent pass: without the URL the test fails, saying so.
fn needs(words: &[&str], var: &str, what: &str) -> String {
    if let Some(name) = test_name() {
        assert!(
            words.iter().any(|w| name.contains(w)),
            "the test '{name}' needs {what}: its name must contain {} so that `make test` can \
             leave it out when no server answers",
            words.join(" or ")
        );
    }
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "this test needs {what}: set {var} (make test sets it when the machine's server \
             answers, and otherwise leaves this test out and counts it as not run)"
        )
    })
}

/// The PostgreSQL of `HANDOFF_TEST_PG_URL` (the test fails without it; see [`needs`]).
pub async fn postgres() -> Server<PgPool> {
    let url = needs(&["postgres"], PG_URL_VAR, "PostgreSQL");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect to HANDOFF_TEST_PG_URL");
    let (host, port, database, username, password) = parse(&url);
    Server {
        pool,
        host,
        port: if port == 0 { 5432 } else { port },
        database,
        username,
        password,
    }
}

/// The MariaDB/MySQL of `HANDOFF_TEST_MYSQL_URL` (the test fails without it; see [`needs`]).
pub async fn mysql() -> Server<MySqlPool> {
    let url = needs(&["mysql", "mariadb"], MYSQL_URL_VAR, "MariaDB or MySQL");
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect to HANDOFF_TEST_MYSQL_URL");
    let (host, port, database, username, password) = parse(&url);
    Server {
        pool,
        host,
        port: if port == 0 { 3306 } else { port },
        database,
        username,
        password,
    }
}

/// A fresh SQLite file (kept alive by the returned temp dir) and an admin pool on it.
pub async fn sqlite() -> (tempfile::TempDir, String, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clinic.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options)
        .await
        .expect("create the SQLite file");
    (dir, path.to_string_lossy().into_owned(), pool)
}

/// Runs one or more statements built at runtime (test DDL with unique names).
pub async fn exec<'e, E>(executor: E, sql: String)
where
    E: sqlx::Executor<'e>,
{
    let shown = sql.clone();
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(executor)
        .await
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
}

/// `SELECT count(*)` of a table.
pub async fn count_pg(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count rows")
}

pub async fn count_mysql(pool: &MySqlPool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count rows")
}

pub async fn count_sqlite(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count rows")
}

//! The PostgreSQL store's schema (issue 17, first step): `migrations/postgres/` twins the SQLite
//! migrations one for one, applies once however many instances start at once, ends with every
//! table and column the SQLite store has, and its triggers keep the statistics rollups exactly
//! as SQLite's do. Against the real PostgreSQL of `HANDOFF_TEST_PG_URL`, each test in a schema
//! of its own, dropped afterwards.

mod common_db;

use common_db::{cleanly, exec, postgres, suffix};
use handoff_console::store::postgres::{PG_MIGRATOR, migrate};
use handoff_console::store::{MIGRATOR, STORE_FILE, Store};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool, Row, SqlitePool};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A fresh schema on the test server and a pool whose `search_path` is it.
async fn schema() -> (String, PgPool, PgPool) {
    let server = postgres().await;
    let name = format!("hc_store_{}", suffix());
    exec(&server.pool, format!("CREATE SCHEMA {name}")).await;
    let pool = pool_in(&name).await;
    (name, server.pool, pool)
}

async fn pool_in(schema: &str) -> PgPool {
    let url = std::env::var(common_db::PG_URL_VAR).expect("HANDOFF_TEST_PG_URL");
    let options = PgConnectOptions::from_str(&url)
        .expect("the test URL parses")
        .options([("search_path", schema)]);
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("connect to the test schema")
}

async fn drop_schema(admin: &PgPool, name: &str) {
    exec(admin, format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await;
}

/// A migrated SQLite store in a temp dir, and a pool on its file.
async fn sqlite_store() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap().close().await;
    let pool = SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(STORE_FILE).display()
    ))
    .await
    .unwrap();
    (dir, pool)
}

/// The SQLite store's ordinary tables whose names are `LIKE` the pattern (not SQLite's or sqlx's
/// own, nor virtual tables and their shadow tables: see [`sqlite_virtual_tables`]).
async fn sqlite_tables(sqlite: &SqlitePool, like: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
           AND name LIKE ?1 AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations'
         ORDER BY name",
    )
    .bind(like)
    .fetch_all(sqlite)
    .await
    .unwrap()
}

/// The SQLite store's virtual tables (FTS5): PostgreSQL has a table of its own in their place.
async fn sqlite_virtual_tables(sqlite: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual' ORDER BY name",
    )
    .fetch_all(sqlite)
    .await
    .unwrap()
}

/// A SQLite table's primary key columns.
async fn sqlite_key(sqlite: &SqlitePool, table: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .bind(table)
        .fetch_all(sqlite)
        .await
        .unwrap()
}

/// The statistics rollups PostgreSQL spreads over several rows per key (a `spread` column in
/// their key, migrations/postgres/20261231120000_rollup_spread.sql and the hourly ones of
/// ..._stats_hourly.sql and ..._stats_durations_all.sql); SQLite keeps one.
const SPREAD: [&str; 12] = [
    "stats_daily",
    "stats_durations",
    "stats_durations_daily",
    "stats_errors",
    "stats_errors_daily",
    "stats_handoffs_daily",
    "stats_hourly",
    "stats_durations_hourly",
    "stats_errors_hourly",
    "stats_handoffs_hourly",
    "stats_durations_daily_all",
    "stats_durations_hourly_all",
];

/// A SQLite table's column names, in order.
async fn sqlite_columns(sqlite: &SqlitePool, table: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .bind(table)
        .fetch_all(sqlite)
        .await
        .unwrap()
}

#[test]
fn every_sqlite_migration_has_a_postgres_twin_of_the_same_name() {
    let names = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&MIGRATOR), names(&PG_MIGRATOR));
}

#[tokio::test]
async fn concurrent_starts_apply_the_postgres_schema_once() {
    let (name, admin, _) = schema().await;
    cleanly(
        async {
            let starts = (0..4).map(|_| {
                let name = name.clone();
                tokio::spawn(async move { migrate(&pool_in(&name).await).await })
            });
            for start in starts {
                start
                    .await
                    .unwrap()
                    .expect("every start migrates or finds it migrated");
            }
            let pool = pool_in(&name).await;
            let applied: Vec<(i64, bool)> =
                sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let expected: Vec<(i64, bool)> =
                PG_MIGRATOR.iter().map(|m| (m.version, true)).collect();
            assert_eq!(
                applied, expected,
                "each migration applied once, successfully"
            );
            // Starting again applies nothing.
            migrate(&pool).await.unwrap();
        },
        drop_schema(&admin, &name),
    )
    .await;
}

#[tokio::test]
async fn the_postgres_schema_has_every_sqlite_table_and_column_in_order() {
    let (name, admin, pool) = schema().await;
    cleanly(
        async {
            migrate(&pool).await.unwrap();
            let (_dir, sqlite) = sqlite_store().await;
            let mut in_sqlite: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for table in sqlite_tables(&sqlite, "%").await {
                let columns = sqlite_columns(&sqlite, &table).await;
                in_sqlite.insert(table, columns);
            }
            let rows = sqlx::query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name != '_sqlx_migrations'
                 ORDER BY table_name, ordinal_position",
            )
            .bind(&name)
            .fetch_all(&pool)
            .await
            .unwrap();
            let mut in_postgres: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for row in rows {
                in_postgres.entry(row.get(0)).or_default().push(row.get(1));
            }
            // The differences: the spread rollups' extra key column, last; the history search
            // index, an FTS5 table keyed by the attempt's rowid on SQLite, a table keyed by the
            // attempt's id on PostgreSQL (migrations/*/20270106120000_history_search.sql).
            for table in SPREAD {
                let columns = in_postgres.get_mut(table).unwrap();
                assert_eq!(columns.pop().as_deref(), Some("spread"), "{table}");
            }
            assert_eq!(sqlite_virtual_tables(&sqlite).await, ["history_search"]);
            assert_eq!(sqlite_columns(&sqlite, "history_search").await, ["text"]);
            assert_eq!(
                in_postgres.remove("history_search"),
                Some(vec!["attempt_id".to_string(), "text".to_string()])
            );
            // SQLite indexes off the hot path, from a queue; PostgreSQL's triggers at once.
            assert_eq!(
                in_sqlite.remove("history_search_queue"),
                Some(vec!["attempt_rowid".to_string()])
            );
            // SQLite keeps the attempts that are not a handoff's last, for its handoff counts;
            // PostgreSQL's planner needs no such table (..._history_not_last.sql).
            assert_eq!(
                in_sqlite.remove("history_not_last"),
                Some(vec!["attempt_rowid".to_string()])
            );
            assert!(in_sqlite.len() >= 16, "{in_sqlite:?}");
            assert_eq!(in_postgres, in_sqlite);
        },
        drop_schema(&admin, &name),
    )
    .await;
}

/// The same handoffs and attempts, written by the same statements (the attempts writer's), give
/// the same rows in every `stats_*` table on both back ends (PostgreSQL's spread rows summed per
/// key, as the reads sum them).
/// The integrations' version (what the local store's integration cache trusts) moves with every
/// insert, update and delete of an integration, on both stores, and with nothing else.
#[tokio::test]
async fn the_integrations_version_moves_with_every_change_on_postgres_as_on_sqlite() {
    let (name, admin, pool) = schema().await;
    cleanly(
        async {
            migrate(&pool).await.unwrap();
            let (_dir, sqlite) = sqlite_store().await;
            let changes = [
                "INSERT INTO integrations (id, name, kind, config, created_at, updated_at)
                 VALUES ('i-1', 'one', 'api', '{}', 1, 1), ('i-2', 'two', 'api', '{}', 1, 1)",
                "UPDATE integrations SET config = '{\"a\":1}', updated_at = 2 WHERE id = 'i-1'",
                "UPDATE integrations SET name = 'ONE' WHERE id = 'i-1'",
                "DELETE FROM integrations WHERE id = 'i-2'",
            ];
            let (mut pg_last, mut lite_last) = (0_i64, 0_i64);
            for change in changes {
                exec(&pool, change.to_string()).await;
                sqlx::query(AssertSqlSafe(change))
                    .execute(&sqlite)
                    .await
                    .unwrap();
                let pg: i64 = sqlx::query_scalar("SELECT version FROM integrations_version")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let lite: i64 = sqlx::query_scalar("SELECT version FROM integrations_version")
                    .fetch_one(&sqlite)
                    .await
                    .unwrap();
                assert!(pg > pg_last && lite > lite_last, "{change}: {pg}, {lite}");
                (pg_last, lite_last) = (pg, lite);
            }
            // Other tables leave it alone.
            exec(
                &pool,
                "INSERT INTO data_keys (id, created_at) VALUES ('k', 1)".to_string(),
            )
            .await;
            let pg: i64 = sqlx::query_scalar("SELECT version FROM integrations_version")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(pg, pg_last);
        },
        drop_schema(&admin, &name),
    )
    .await;
}

#[tokio::test]
async fn the_postgres_stats_triggers_roll_up_as_sqlite_s_do() {
    let (name, admin, pool) = schema().await;
    cleanly(
        async {
            migrate(&pool).await.unwrap();
            let (_dir, sqlite) = sqlite_store().await;
            let day = 86_400_000_i64;
            let t0 = 20_000 * day + 3_600_000;
            // (integration, trigger, automatic, started, outcome, category, duration ms)
            let attempts = [
                ("i-1", "live", false, t0, "succeeded", None, Some(42)),
                ("i-1", "live", false, t0 + 5, "failed", Some("network"), Some(250)),
                ("i-1", "retry", true, t0 + day, "failed", Some("timeout"), Some(1234)),
                ("i-1", "webhook", false, t0 + day, "succeeded", None, Some(99)),
                ("i-2", "live", false, t0 + day, "failed", Some("validation"), Some(0)),
                ("i-2", "test", false, t0 + 2 * day, "succeeded", None, Some(100)),
                ("i-2", "live", false, t0 + 2 * day, "pending", None, None),
                ("i-2", "retry", true, t0 - day, "failed", Some("server"), Some(99_999)),
            ];
            for (n, (integration, trigger, automatic, started, outcome, category, duration)) in
                attempts.into_iter().enumerate()
            {
                let origin = match trigger {
                    "test" => "test",
                    "webhook" => "webhook",
                    _ => "live",
                };
                let statements = |t: &str, f: &str| {
                    let flag = |b: bool| if b { t } else { f };
                    let mut s = vec![
                        format!(
                            "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked,
                                                   attempts, in_flight_until, last_attempt_id, created_at,
                                                   updated_at, origin, integration_name)
                             VALUES ('h-{n}', '{integration}', 's-{n}', 'pending', '{{}}', NULL, 1,
                                     {started} + 45000, 'a-{n}', {started}, {started}, '{origin}', 'name')"
                        ),
                        format!(
                            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id,
                                                   trigger, automatic, attempt_number, previous_attempt_id,
                                                   status, started_at)
                             VALUES ('a-{n}', 'h-{n}', '{integration}', 'name', 's-{n}', '{trigger}',
                                     {}, 1, NULL, 'pending', {started})",
                            flag(automatic)
                        ),
                    ];
                    if outcome != "pending" {
                        let category = category.map_or("NULL".into(), |c| format!("'{c}'"));
                        let duration = duration.unwrap_or(0);
                        s.push(format!(
                            "UPDATE handoffs SET status = '{outcome}', in_flight_until = NULL,
                                    updated_at = {started} + {duration}
                             WHERE id = 'h-{n}'"
                        ));
                        s.push(format!(
                            "UPDATE attempts SET status = '{outcome}', category = {category},
                                    retryable = {}, message = 'message {n} of a failure',
                                    finished_at = {started} + {duration}, duration_ms = {duration},
                                    masking = 'structural'
                             WHERE id = 'a-{n}'",
                            flag(category != "NULL")
                        ));
                    }
                    s
                };
                for sql in statements("1", "0") {
                    exec(&sqlite, sql).await;
                }
                for sql in statements("true", "false") {
                    exec(&pool, sql).await;
                }
            }
            // Updates that are not a finish in place (the general path of the update trigger):
            // a finished attempt changed, one moved to another hour, a pending one moved to
            // another integration.
            for sql in [
                "UPDATE attempts SET status = 'failed', category = 'server', message = 'changed'
                 WHERE id = 'a-0'",
                "UPDATE attempts SET started_at = started_at + 7200000 WHERE id = 'a-1'",
                "UPDATE attempts SET integration_id = 'i-1' WHERE id = 'a-6'",
            ] {
                exec(&sqlite, sql.to_string()).await;
                exec(&pool, sql.to_string()).await;
            }

            let tables = sqlite_tables(&sqlite, "stats_%").await;
            assert!(tables.len() >= 10, "{tables:?}");
            let mut spread = 0;
            for table in tables {
                let columns = sqlite_columns(&sqlite, &table).await;
                let key = sqlite_key(&sqlite, &table).await;
                let order = (1..=columns.len())
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let spread_table = SPREAD.contains(&table.as_str());
                if spread_table {
                    spread += 1;
                }
                let select = |cast: &dyn Fn(&str) -> String| {
                    let list = columns
                        .iter()
                        .map(|c| {
                            if spread_table && !key.contains(c) {
                                cast(&format!("CAST(sum({c}) AS BIGINT)"))
                            } else {
                                cast(c)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let group = if spread_table {
                        format!(" GROUP BY {}", key.join(", "))
                    } else {
                        String::new()
                    };
                    format!("SELECT {list} FROM {table}{group} ORDER BY {order}")
                };
                let lite: Vec<Vec<Option<String>>> =
                    sqlx::query(AssertSqlSafe(select(&|c| format!("CAST({c} AS TEXT)"))))
                        .fetch_all(&sqlite)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
                        .collect();
                let pg: Vec<Vec<Option<String>>> =
                    sqlx::query(AssertSqlSafe(select(&|c| {
                        // A boolean reads as SQLite's 0/1.
                        format!(
                            "CASE WHEN pg_typeof({c}) = 'boolean'::regtype \
                             THEN (CASE WHEN {c}::text = 'true' THEN '1' ELSE '0' END) \
                             ELSE {c}::text END"
                        )
                    })))
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
                    .collect();
                if table != "stats_buckets" {
                    assert!(!lite.is_empty(), "{table} has rows");
                }
                assert_eq!(pg, lite, "{table}");
            }
            assert_eq!(spread, SPREAD.len(), "every spread rollup compared");
        },
        drop_schema(&admin, &name),
    )
    .await;
}

/// A store URL without TLS settings reaches the loopback server (`prefer`), migrates it, and
/// refuses it when asked to verify a certificate the server cannot show, saying so.
#[tokio::test]
async fn a_postgres_store_url_opens_on_loopback_and_insists_on_tls_when_asked() {
    use handoff_console::store::postgres::{StoreUrl, open};
    let (name, admin, _) = schema().await;
    cleanly(
        async {
            let test = url::Url::parse(&std::env::var(common_db::PG_URL_VAR).unwrap()).unwrap();
            let base = format!(
                "postgres://{}@{}:{}{}",
                test.username(),
                test.host_str().unwrap(),
                test.port().unwrap_or(5432),
                test.path()
            );
            // A schema of the store's own, made by opening it (the test's, dropped afterwards).
            let store_schema = format!("{name}_store");
            let url = StoreUrl::parse(&format!("{base}?schema={store_schema}")).unwrap();
            let pool = open(&url, None)
                .await
                .expect("open on loopback with prefer");
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            )
            .bind(&store_schema)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert!(
                tables >= 16,
                "the store's tables are in its schema: {tables}"
            );
            pool.close().await;
            // Opened again: nothing to apply.
            open(&url, None).await.unwrap().close().await;

            let strict = StoreUrl::parse(&format!("{base}?sslmode=verify-full")).unwrap();
            let e = open(&strict, None)
                .await
                .expect_err("the loopback test server has no certificate to verify");
            let text = e.to_string();
            assert!(text.contains("sslmode=verify-full"), "{text}");
            assert!(text.contains("cannot connect"), "{text}");
        },
        async {
            drop_schema(&admin, &format!("{name}_store")).await;
            drop_schema(&admin, &name).await;
        },
    )
    .await;
}

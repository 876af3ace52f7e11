//! The store a test console opens: the local SQLite store in its temp data dir, or, when
//! `HANDOFF_TEST_STORE=postgres` (the second pass of `make test`), a fresh schema of its own on
//! the PostgreSQL of `HANDOFF_TEST_PG_URL`, dropped when the console's test is done. The same
//! tests run against both back ends: a matrix, not copies.

use handoff_console::App;
use handoff_console::secrets::SecretsBackend;
use handoff_console::store::StoreChoice;
use handoff_console::store::postgres::StoreUrl;
use std::path::Path;
use std::sync::Arc;

pub const STORE_VAR: &str = "HANDOFF_TEST_STORE";

/// Whether this pass runs the tests on the PostgreSQL store.
pub fn on_postgres() -> bool {
    match std::env::var(STORE_VAR).as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("{STORE_VAR}={other}: use sqlite or postgres"),
    }
}

/// A schema the test's console keeps its store in; dropped on drop.
pub struct Schema {
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        // Drop may run inside the test's runtime: a thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let Ok(pool) = sqlx::PgPool::connect(&pg_url()).await else {
                    return;
                };
                // A session of the test's console may still hold a lock in the schema: a
                // transaction dropped mid-way is rolled back by a task of the test's runtime,
                // which this drop blocks. Such sessions are ended first, so the drop never
                // waits on them.
                for _ in 0..3 {
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
                         JOIN pg_class c ON c.oid = l.relation
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
                    )
                    .bind(&name)
                    .execute(&pool)
                    .await;
                    let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&pool)
                    .await;
                    if dropped.is_ok() {
                        break;
                    }
                }
                pool.close().await;
            });
        })
        .join();
    }
}

fn pg_url() -> String {
    std::env::var("HANDOFF_TEST_PG_URL")
        .unwrap_or_else(|_| panic!("{STORE_VAR}=postgres needs HANDOFF_TEST_PG_URL"))
}

/// Opens the test console on `dir` with `secrets`, on the store this pass names.
pub async fn open(dir: &Path, secrets: Arc<dyn SecretsBackend>) -> (App, Option<Schema>) {
    if !on_postgres() {
        return (App::open_with(dir, secrets).await.expect("open app"), None);
    }
    let s = uuid::Uuid::now_v7().simple().to_string();
    let schema = Schema {
        name: format!("hc_matrix_{}", &s[s.len() - 12..]),
    };
    let app = App::open_on(dir, StoreChoice::Shared(schema.url()), secrets)
        .await
        .expect("open app on the PostgreSQL store");
    (app, Some(schema))
}

/// Another console on the store a test console opened in `dir` (the same SQLite file, or the
/// same schema): what another process on that store is.
pub async fn open_beside(
    dir: &Path,
    schema: Option<&Schema>,
    secrets: Arc<dyn SecretsBackend>,
) -> App {
    match schema {
        None => App::open_with(dir, secrets).await.expect("open app"),
        Some(schema) => App::open_on(dir, StoreChoice::Shared(schema.url()), secrets)
            .await
            .expect("open app on the PostgreSQL store"),
    }
}

impl Schema {
    fn url(&self) -> StoreUrl {
        let test = url::Url::parse(&pg_url()).expect("HANDOFF_TEST_PG_URL parses");
        StoreUrl::parse(&format!(
            "postgres://{}@{}:{}{}?schema={}",
            test.username(),
            test.host_str().expect("a host"),
            test.port().unwrap_or(5432),
            test.path(),
            self.name
        ))
        .expect("a store URL")
    }
}

//! The local store: created on first open, migrated at every open, and reopened with its data.

mod common;

use handoff_console::App;
use handoff_console::store::{STORE_FILE, Store};
use serde_json::json;

#[tokio::test]
async fn a_store_is_created_migrated_and_reopened_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert!(dir.path().join(STORE_FILE).exists());
    store.close().await;

    let app = App::open(dir.path()).await.unwrap();
    let config = serde_json::from_value(json!({
        "name": "db", "kind": "database",
        "database": {"type": "sqlite", "database": "/tmp/none.db", "table": "t", "fieldMapping": {"a": "a"}}
    }))
    .unwrap();
    let saved = app.add_integration(config).await.unwrap();
    app.close().await;

    // Reopening applies nothing new and keeps the data.
    let app = App::open(dir.path()).await.unwrap();
    assert_eq!(app.integration("db").await.unwrap().id, saved.id);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(
            &sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.path().join(STORE_FILE).display()
            ))
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        applied, migrations,
        "every migration in migrations/ is applied"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STORE_FILE), b"this is not a database").unwrap();
    let err = Store::open(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("cannot open the store"), "{err}");
    assert!(
        err.contains(&dir.path().display().to_string()),
        "names the place: {err}"
    );
}

#[tokio::test]
async fn a_store_from_a_newer_console_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap().close().await;
    // Pretend a newer version applied a migration this build does not know.
    let url = format!("sqlite://{}", dir.path().join(STORE_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (99990101000000, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let err = Store::open(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("migration"), "{err}");
}

//! Database targets against real databases: SQLite files (always), PostgreSQL
//! (`HANDOFF_TEST_PG_URL`) and MariaDB/MySQL (`HANDOFF_TEST_MYSQL_URL`) when their URLs are set.

mod common_db;
// One file per database, beside this one (a test crate's root looks for modules in `tests/`).
#[path = "handoff_database/mysql.rs"]
mod mysql;
#[path = "handoff_database/postgres.rs"]
mod postgres;
#[path = "handoff_database/sqlite.rs"]
mod sqlite;

use common_db::{
    Server, cleanly, closed_port, count_mysql, count_pg, count_sqlite, data, exec, handoff,
    integration, suffix,
};
use futures_util::future::join_all;
use handoff_console::integrations::{IntegrationConfig, validate};
use handoff_console::targets::database::DatabasePools;
use handoff_console::targets::{Delivery, ErrorCategory, ResolvedIntegration, Targets};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, MySqlPool, PgPool, Row, SqlitePool};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn assert_ok(d: &Delivery) {
    assert!(d.succeeded(), "{:?}: {}", d.failure, d.message);
}

fn assert_failed(d: &Delivery, category: ErrorCategory) {
    assert_eq!(d.failure, Some(category), "{}", d.message);
}

fn set_mapping(i: &mut ResolvedIntegration, mapping: Value) {
    i.config
        .database
        .as_mut()
        .expect("database config")
        .field_mapping = serde_json::from_value(mapping).expect("mapping");
}

fn set(i: &mut ResolvedIntegration, key: &str, value: Value) {
    let mut db = serde_json::to_value(i.config.database.as_ref().expect("database config"))
        .expect("serialise config");
    db[key] = value;
    i.config.database = Some(serde_json::from_value(db).expect("config"));
}

/// The seed's mapping onto its `patient_data` table (with `email` mapped to the table's
/// `email` column: the seed maps it to `email_address`, which its own table lacks).
fn seed_mapping() -> Value {
    json!({
        "fullName": "patient_name",
        "email": "email",
        "phoneNumber": "phone",
        "appointmentDate": "appointment_date",
        "additionalNotes": "notes",
    })
}

fn seed_data() -> Value {
    json!({
        "fullName": "Jane Doe",
        "email": "jane@example.com",
        "phoneNumber": "+1 555 0100",
        "appointmentDate": "2024-06-01",
        "additionalNotes": "prefers mornings",
    })
}

/// A config that validation must refuse and `deliver` must refuse without connecting.
async fn assert_injection_refused(pools: &DatabasePools, database: Value, what: &str) {
    let config: IntegrationConfig = serde_json::from_value(json!({
        "name": "injection", "kind": "database", "database": database.clone(),
    }))
    .expect("config shape");
    let err = validate(config).expect_err("validation must refuse the identifier");
    assert!(err.to_string().contains(what), "{err}");
    let i = integration(database, None);
    let before = pools.pool_count();
    let d = pools
        .deliver(&i, &handoff(), &data(json!({"a": "x"})))
        .await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(d.message.contains("plain identifier"), "{}", d.message);
    assert_eq!(pools.pool_count(), before, "no pool was opened");
}

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
use handoff_console::targets::database::{DatabasePools, Mode};
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

/// `database.fixedValues` of the fixed-value tests: a code (text), a number given as text (the
/// column converts it, as a field's value would be), a boolean and a decimal.
fn fixed_values() -> Value {
    json!({"clinic_code": "C-42", "site_no": "7", "urgent": true, "fee": 12.5})
}

/// The fixed values among a statement's parameters: marked fixed, with no field, the value in
/// clear as bound.
fn fixed_params(request: &Value) -> Vec<(String, Value)> {
    request["params"]
        .as_array()
        .expect("params")
        .iter()
        .filter(|p| p["fixed"] == true)
        .map(|p| {
            assert!(p.get("field").is_none(), "a fixed value has no field: {p}");
            (
                p["column"].as_str().expect("column").to_string(),
                p["value"].clone(),
            )
        })
        .collect()
}

/// A preview, a rolled-back test and a delivery of `i` (whose table has `patient_name`,
/// `clinic_code`, `site_no`, `urgent`, `fee`) all carry the fixed values; returns the delivery.
async fn deliver_with_fixed_values(pools: &DatabasePools, i: &ResolvedIntegration) -> Delivery {
    let want = vec![
        ("clinic_code".to_string(), json!("C-42")),
        ("fee".to_string(), json!("12.5")),
        ("site_no".to_string(), json!(7)),
        ("urgent".to_string(), json!(true)),
    ];
    let h = handoff();
    let collected = data(json!({"fullName": "Jane Doe"}));
    let preview = pools.deliver_as(i, &h, &collected, Mode::Preview).await;
    assert_ok(&preview);
    assert_eq!(fixed_params(&preview.request), want, "preview");
    let sql = preview.request["sql"].as_str().expect("sql");
    assert!(
        sql.contains("clinic_code") && sql.contains("urgent"),
        "{sql}"
    );

    let test = pools
        .deliver_as(i, &h, &collected, Mode::Test { commit: false })
        .await;
    assert_ok(&test);
    assert_eq!(fixed_params(&test.request), want, "test");
    let row = test.details.row.expect("the test row read back");
    let stored = |column: &str| {
        row.iter()
            .find(|c| c.column == column)
            .map(|c| c.value.clone())
            .unwrap_or_else(|| panic!("no column {column} in {row:?}"))
    };
    assert_eq!(stored("clinic_code"), json!("C-42"));
    assert_eq!(stored("site_no"), json!(7));

    let delivered = pools.deliver(i, &h, &collected).await;
    assert_ok(&delivered);
    assert_eq!(fixed_params(&delivered.request), want, "delivery");
    delivered
}

/// A fixed value its column cannot take is the config's problem, and nothing is inserted.
async fn assert_unfit_fixed_value_refused(pools: &DatabasePools, mut i: ResolvedIntegration) {
    let mut fixed = fixed_values();
    fixed["site_no"] = json!("seven");
    set(&mut i, "fixedValues", fixed);
    let d = pools
        .deliver(&i, &handoff(), &data(json!({"fullName": "Jane Doe"})))
        .await;
    assert_failed(&d, ErrorCategory::Configuration);
    assert!(
        d.message.contains("database.fixedValues.site_no"),
        "{}",
        d.message
    );
    assert!(d.message.contains("\"seven\""), "{}", d.message);
}

/// Delivers one handoff twice to `i`, whose table has `patient_name` and a unique column
/// `handoff_id` that `handoffId` is mapped to: the second delivery, as a retry after a crash
/// that left the first one's row committed but unrecorded, finds that row, inserts nothing and
/// counts as delivered. The preview and both deliveries show the idempotent statement
/// (`clause`). Returns the handoff's id.
async fn deliver_twice(pools: &DatabasePools, i: &ResolvedIntegration, clause: &str) -> String {
    let h = handoff();
    let collected = data(json!({"fullName": "Jane Doe"}));
    let preview = pools.deliver_as(i, &h, &collected, Mode::Preview).await;
    assert_ok(&preview);
    let sql = preview.request["sql"].as_str().expect("sql");
    assert!(sql.contains(clause), "the preview: {sql}");
    // A configuration test runs the same statement (with a handoff of its own), and rolls back.
    let test = pools
        .deliver_as(i, &handoff(), &collected, Mode::Test { commit: false })
        .await;
    assert_ok(&test);
    let sql = test.request["sql"].as_str().expect("sql");
    assert!(sql.contains(clause), "the configuration test: {sql}");
    assert_eq!(test.details.committed, Some(false));

    let first = pools.deliver(i, &h, &collected).await;
    assert_ok(&first);
    assert!(
        first.message.starts_with("inserted 1 row"),
        "{}",
        first.message
    );
    let sql = first.request["sql"].as_str().expect("sql");
    assert!(sql.contains(clause), "the delivery: {sql}");

    let again = pools.deliver(i, &h, &collected).await;
    assert_ok(&again);
    assert!(
        again.message.contains("already there") && again.message.contains("handoff_id"),
        "{}",
        again.message
    );
    assert_eq!(
        again.submission_id, first.submission_id,
        "the row found is the one inserted"
    );
    h.handoff_id.to_string()
}

/// With the insert made idempotent by `handoff_id`, a row whose *other* unique value (`email`)
/// is taken is still refused as `validation`: skipping it would lose the handoff.
async fn assert_another_unique_conflict_is_validation(
    pools: &DatabasePools,
    i: &ResolvedIntegration,
    clause: &str,
) {
    let first = json!({"fullName": "Jane Doe", "email": "jane@example.com"});
    assert_ok(&pools.deliver(i, &handoff(), &data(first)).await);
    let other = json!({"fullName": "Joe Doe", "email": "jane@example.com"});
    let d = pools.deliver(i, &handoff(), &data(other)).await;
    assert_failed(&d, ErrorCategory::Validation);
    let sql = d.request["sql"].as_str().expect("sql");
    assert!(
        sql.contains(clause),
        "the insert was the idempotent one: {sql}"
    );
    assert!(!d.message.contains("jane@example.com"), "{}", d.message);
}

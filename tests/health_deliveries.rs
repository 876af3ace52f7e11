//! Health includes what deliveries say: real handoffs to real targets (HTTP servers on loopback,
//! SQLite files, PostgreSQL and MariaDB when their URLs are set), then the `deliveries` check of
//! a health run and of the last-known state (recomputed without a new run), the end-to-end cap,
//! the `request` line of an API without a health request, and `GET /api/v1/deliveries`.

mod common;
mod common_db;

use common::{Reply, Served, Sink, TestApp};
use common_db::{cleanly, exec, suffix};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::health::{Check, HealthStatus, IntegrationHealth};
use handoff_console::service::{TestData, TestRequest};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Option<Duration> = Some(Duration::from_millis(3000));

fn api(name: &str, url: &str, extra: Value) -> Value {
    let mut api = json!({"endpoint": format!("{url}/patients"),
                         "payloadStructure": {"name": "{{fullName}}"}});
    if let (Some(a), Some(e)) = (api.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    json!({"name": name, "kind": "api", "fields": [{"name": "fullName", "type": "name"}],
           "api": api, "retry": {"maxAttempts": 1}})
}

fn check<'a>(i: &'a IntegrationHealth, name: &str) -> &'a Check {
    i.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check '{name}' in {:#?}", i.checks))
}

fn names(i: &IntegrationHealth) -> Vec<&str> {
    i.checks.iter().map(|c| c.name.as_str()).collect()
}

fn reason(c: &Check) -> &str {
    c.reason.as_deref().unwrap_or("")
}

/// Sends `n` live handoffs; returns whether each was delivered.
async fn send(app: &handoff_console::App, integration: &str, n: usize) -> Vec<bool> {
    let mut out = Vec::new();
    for k in 0..n {
        let r = app
            .send(
                integration,
                &format!("s-{k}"),
                json!({"fullName": "Jane Roe"}),
                Trigger::Live,
            )
            .await
            .expect("send");
        out.push(r.success);
    }
    out
}

/// Moves every attempt of `app`'s store in `data_dir` `hours` into the past (through SQLite
/// itself: the store is a file this test may open, once the store's journal is moved into it).
async fn age_attempts(app: &App, data_dir: &Path, hours: i64) {
    app.store().settle().await.unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data_dir.join("handoff.db"))
        .busy_timeout(Duration::from_secs(10));
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::query("UPDATE attempts SET started_at = started_at - ?")
        .bind(hours * 3_600_000)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// The one integration of the last-known state named `name`.
async fn last_known(app: &handoff_console::App, name: &str) -> IntegrationHealth {
    let last = app.last_health().await.unwrap();
    last.integrations
        .into_iter()
        .find(|s| s.integration.name == name)
        .unwrap_or_else(|| panic!("'{name}' is not in the last-known state"))
        .integration
}

#[tokio::test]
async fn an_api_answering_503_to_every_handoff_is_an_error_in_a_run_and_in_the_last_known_state() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(503, json!({"error": "down for maintenance"})));
    t.add(api("emr", &sink.url, json!({}))).await;

    // Never checked, yet listed: its deliveries alone, read from the store.
    let before = t.app.last_health().await.unwrap();
    assert_eq!(before.integrations.len(), 1);
    let never = &before.integrations[0];
    assert_eq!(names(&never.integration), ["deliveries"]);
    assert_eq!(never.integration.status, HealthStatus::Healthy);
    assert!(
        reason(check(&never.integration, "deliveries")).contains("(none yet)"),
        "{:?}",
        never.integration.checks
    );
    assert!((chrono::Utc::now() - never.checked_at).num_seconds().abs() < 60);

    assert_eq!(send(&t.app, "emr", 3).await, [false, false, false]);
    assert_eq!(sink.count(), 3);

    let report = t.app.health(Some("emr"), TIMEOUT).await.unwrap();
    assert_eq!(sink.count(), 3, "a health run sends no handoff");
    let i = &report.integrations[0];
    assert_eq!(
        names(i),
        ["dns", "connect", "request", "deliveries", "endToEnd"]
    );
    // Reachable: the probes pass.
    for probe in ["dns", "connect", "request"] {
        assert_eq!(check(i, probe).status, HealthStatus::Healthy, "{probe}");
    }
    let deliveries = check(i, "deliveries");
    assert_eq!(deliveries.status, HealthStatus::Error);
    let r = reason(deliveries);
    assert!(
        r.starts_with("3 of the last 3 deliveries failed; last failure "),
        "{r}"
    );
    assert!(
        r.contains("server: 503 Service Unavailable: down for maintenance"),
        "{r}"
    );
    let today = chrono::Utc::now().format("%Y-%m-%dT").to_string();
    assert!(r.contains(&format!("last failure {today}")), "{r}");
    assert_eq!(i.status, HealthStatus::Error);
    assert_eq!(report.status, HealthStatus::Error);
    // The preview says what it did and is no better than the deliveries.
    let e2e = check(i, "endToEnd");
    assert_eq!(e2e.status, HealthStatus::Error);
    assert!(
        reason(e2e).starts_with(&format!(
            "preview only: a sample request was rendered (POST {}/patients), nothing was sent",
            sink.url
        )),
        "{}",
        reason(e2e)
    );
    assert!(
        reason(e2e).ends_with("no better than the checks it builds on: deliveries error"),
        "{}",
        reason(e2e)
    );

    // Without a new run: the same verdict from the store.
    let known = last_known(&t.app, "emr").await;
    assert_eq!(known.status, HealthStatus::Error);
    assert_eq!(check(&known, "deliveries").status, HealthStatus::Error);
    assert_eq!(check(&known, "endToEnd").status, HealthStatus::Error);
    // The kept trend shows the run as it was shown.
    let history = t.app.health_history("emr", 5).await.unwrap();
    assert_eq!(history[0].integration.checks, i.checks);

    // The target recovers: three deliveries succeed. No new probe run, and the last-known
    // state is no longer an error (the latest deliveries decide), and the end-to-end cap
    // follows the fresh deliveries rather than the kept run.
    sink.always(Reply::json(201, json!({"id": "ok"})));
    assert_eq!(send(&t.app, "emr", 3).await, [true, true, true]);
    let known = last_known(&t.app, "emr").await;
    let deliveries = check(&known, "deliveries");
    assert_eq!(deliveries.status, HealthStatus::Warning);
    assert!(
        reason(deliveries)
            .starts_with("3 of the last 6 deliveries failed, but the latest succeeded"),
        "{}",
        reason(deliveries)
    );
    assert_eq!(known.status, HealthStatus::Warning);
    let e2e = check(&known, "endToEnd");
    assert_eq!(e2e.status, HealthStatus::Warning);
    assert!(
        reason(e2e).ends_with("builds on: deliveries warning"),
        "{}",
        reason(e2e)
    );
    let last = t.app.last_health().await.unwrap();
    assert_eq!(last.status, Some(HealthStatus::Warning));
}

#[tokio::test]
async fn failures_then_a_success_are_a_warning_and_retries_count_as_deliveries() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(422, json!({"message": "email is invalid"})));
    t.add(api("crm", &sink.url, json!({}))).await;
    assert_eq!(send(&t.app, "crm", 2).await, [false, false]);
    let report = t.app.health(Some("crm"), TIMEOUT).await.unwrap();
    // Two failures in a row: fewer than three, so a warning.
    let d = check(&report.integrations[0], "deliveries");
    assert_eq!(d.status, HealthStatus::Warning);
    assert!(
        reason(d).starts_with("2 of the last 2 deliveries failed (3 in a row would be an error)"),
        "{}",
        reason(d)
    );
    assert!(
        reason(d).contains("validation: 422 Unprocessable Entity: email is invalid"),
        "{}",
        reason(d)
    );

    // A person retries the last failure and it is delivered: a retry is a delivery too.
    sink.always(Reply::json(201, json!({"id": "ok"})));
    let failed = t
        .app
        .history(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|a| !matches!(a.status, handoff_console::attempts::Status::Succeeded))
        .unwrap();
    let retried = t.app.retry_attempt(failed.attempt_id).await.unwrap();
    assert!(retried.success, "{}", retried.message);
    let report = t.app.health(Some("crm"), TIMEOUT).await.unwrap();
    let i = &report.integrations[0];
    let d = check(i, "deliveries");
    assert_eq!(d.status, HealthStatus::Warning);
    assert!(
        reason(d).starts_with("2 of the last 3 deliveries failed, but the latest succeeded"),
        "{}",
        reason(d)
    );
    assert_eq!(i.status, HealthStatus::Warning);
}

#[tokio::test]
async fn recovery_after_three_failures_is_no_longer_an_error() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    t.add(api("lab", &sink.url, json!({}))).await;
    sink.then([Reply::status(503), Reply::status(503), Reply::status(503)]);
    assert_eq!(send(&t.app, "lab", 3).await, [false, false, false]);
    assert_eq!(send(&t.app, "lab", 3).await, [true, true, true]);
    let report = t.app.health(Some("lab"), TIMEOUT).await.unwrap();
    let d = check(&report.integrations[0], "deliveries");
    assert_ne!(d.status, HealthStatus::Error, "{}", reason(d));
    assert_eq!(d.status, HealthStatus::Warning);
    assert!(
        reason(d).contains("3 of the last 6 deliveries failed"),
        "{}",
        reason(d)
    );
}

#[tokio::test]
async fn without_recent_deliveries_the_probes_decide_and_the_check_says_so() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    t.add(api("quiet", &sink.url, json!({}))).await;
    let report = t.app.health(Some("quiet"), TIMEOUT).await.unwrap();
    let i = &report.integrations[0];
    let d = check(i, "deliveries");
    assert_eq!(d.status, HealthStatus::Healthy);
    assert_eq!(
        reason(d),
        "no deliveries in the last 24 h (none yet), so the probes decide alone"
    );
    assert_eq!(i.status, HealthStatus::Healthy);

    // Failures older than the window do not count; the last one is still named.
    sink.always(Reply::status(503));
    assert_eq!(send(&t.app, "quiet", 3).await, [false, false, false]);
    age_attempts(&t.app, t.dir.path(), 30).await;
    let report = t.app.health(Some("quiet"), TIMEOUT).await.unwrap();
    let i = &report.integrations[0];
    let d = check(i, "deliveries");
    assert_eq!(d.status, HealthStatus::Healthy);
    assert!(
        reason(d).starts_with(
            "no deliveries in the last 24 h, so the probes decide alone; the last one was "
        ),
        "{}",
        reason(d)
    );
    assert!(reason(d).ends_with(" and failed"), "{}", reason(d));
    assert_eq!(i.status, HealthStatus::Healthy);

    // A longer window takes them in again.
    let id = i.id.to_string();
    let mut config = t.app.integration(&id).await.unwrap().config;
    config.health = Some(handoff_console::integrations::HealthSettings {
        window_hours: Some(48),
        ..Default::default()
    });
    t.app.update_integration(&id, config).await.unwrap();
    let known = last_known(&t.app, "quiet").await;
    assert_eq!(check(&known, "deliveries").status, HealthStatus::Error);
}

#[tokio::test]
async fn configuration_tests_and_their_retries_are_not_deliveries() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    let i = t.add(api("tested", &sink.url, json!({}))).await;
    let id = i.id.to_string();
    let mut tests = Vec::new();
    for _ in 0..3 {
        let report = t
            .app
            .run_test(
                &id,
                TestRequest {
                    data: TestData::Custom(json!({"fullName": "Jane Roe"})),
                    preview: false,
                    commit: false,
                },
            )
            .await
            .unwrap();
        assert!(!report.outcome.success);
        tests.push(report.outcome.attempt_id.expect("a recorded test attempt"));
    }
    // Retrying a test's attempt is still that test (its first attempt's trigger is `test`).
    let retried = t.app.retry_attempt(tests[0]).await.unwrap();
    assert!(!retried.success);
    assert_eq!(sink.count(), 4);
    let report = t.app.health(Some("tested"), TIMEOUT).await.unwrap();
    let d = check(&report.integrations[0], "deliveries");
    assert_eq!(d.status, HealthStatus::Healthy);
    assert!(reason(d).contains("(none yet)"), "{}", reason(d));
    let summaries = t
        .app
        .delivery_summaries(chrono::Duration::hours(24))
        .await
        .unwrap();
    assert!(summaries[0].last_delivery.is_none());
    assert_eq!(summaries[0].window.deliveries, 0);

    // One live failure does count.
    assert_eq!(send(&t.app, "tested", 1).await, [false]);
    let known = last_known(&t.app, "tested").await;
    let d = check(&known, "deliveries");
    assert_eq!(d.status, HealthStatus::Warning);
    assert!(
        reason(d).starts_with("1 of the last 1 delivery failed"),
        "{}",
        reason(d)
    );
}

#[tokio::test]
async fn the_settings_change_the_threshold_and_the_sample() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    t.add(api("strict", &sink.url, json!({})).merge_health(json!({"failuresForError": 1})))
        .await;
    t.add(api("lenient", &sink.url, json!({})).merge_health(json!({"failuresForError": 5})))
        .await;
    t.add(
        api("short memory", &sink.url, json!({}))
            .merge_health(json!({"failuresForError": 2, "recentDeliveries": 2})),
    )
    .await;
    assert_eq!(send(&t.app, "strict", 1).await, [false]);
    assert_eq!(send(&t.app, "lenient", 4).await, [false; 4]);
    // Older failures beyond the two looked at do not count.
    assert_eq!(send(&t.app, "short memory", 2).await, [false, false]);
    sink.always(Reply::json(201, json!({"id": "ok"})));
    assert_eq!(send(&t.app, "short memory", 2).await, [true, true]);

    let report = t.app.health(None, TIMEOUT).await.unwrap();
    let find = |name: &str| report.integrations.iter().find(|i| i.name == name).unwrap();
    assert_eq!(
        check(find("strict"), "deliveries").status,
        HealthStatus::Error
    );
    let lenient = check(find("lenient"), "deliveries");
    assert_eq!(lenient.status, HealthStatus::Warning);
    assert!(
        reason(lenient).contains("(5 in a row would be an error)"),
        "{}",
        reason(lenient)
    );
    let short = check(find("short memory"), "deliveries");
    assert_eq!(short.status, HealthStatus::Healthy);
    assert!(
        reason(short).starts_with("the last 2 deliveries succeeded"),
        "{}",
        reason(short)
    );
}

trait MergeHealth {
    fn merge_health(self, health: Value) -> Value;
}

impl MergeHealth for Value {
    fn merge_health(mut self, health: Value) -> Value {
        self["health"] = health;
        self
    }
}

#[tokio::test]
async fn an_integration_whose_secrets_cannot_be_read_still_lists_its_deliveries() {
    // A vault without a passphrase: the credentials cannot be read.
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    {
        let vault = handoff_console::secrets::VaultBackend::new(
            dir.path().join(handoff_console::secrets::VAULT_FILE),
            Some(handoff_console::secrets::Secret::new(
                "pass-one".to_string(),
            )),
        );
        let app = handoff_console::App::open_with(dir.path(), std::sync::Arc::new(vault))
            .await
            .unwrap();
        let config = api(
            "locked",
            &sink.url,
            json!({"authentication": {"type": "bearer", "credentials": {"token": "tok-lock-7"}}}),
        );
        app.add_integration(serde_json::from_value(config).unwrap())
            .await
            .unwrap();
        assert_eq!(send(&app, "locked", 3).await, [false, false, false]);
        app.close().await;
    }
    let vault = handoff_console::secrets::VaultBackend::new(
        dir.path().join(handoff_console::secrets::VAULT_FILE),
        Some(handoff_console::secrets::Secret::new(
            "a wrong one".to_string(),
        )),
    );
    let app = handoff_console::App::open_with(dir.path(), std::sync::Arc::new(vault))
        .await
        .unwrap();
    let report = app.health(Some("locked"), TIMEOUT).await.unwrap();
    let i = &report.integrations[0];
    assert_eq!(names(i), ["secrets", "deliveries"]);
    assert_eq!(check(i, "deliveries").status, HealthStatus::Error);
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("tok-lock-7")
    );
    app.close().await;
}

// ---- databases: the deliveries decide even when the rolled-back insert passes ----

/// Three live handoffs a CHECK constraint refuses, then a health run: `deliveries` is an
/// error quoting the database's message, and `endToEnd` (its sample row inserted and rolled
/// back) is capped at it.
async fn refused_rows_are_an_error(t: &TestApp, name: &str) {
    for k in 0..3 {
        let r = t
            .app
            .send(
                name,
                &format!("s-{k}"),
                json!({"fullName": "Refused Name"}),
                Trigger::Live,
            )
            .await
            .unwrap();
        assert!(!r.success, "the constraint refuses the row");
    }
    let report = t.app.health(Some(name), TIMEOUT).await.unwrap();
    let i = &report.integrations[0];
    let d = check(i, "deliveries");
    assert_eq!(d.status, HealthStatus::Error, "{}", reason(d));
    assert!(
        reason(d).starts_with("3 of the last 3 deliveries failed; last failure "),
        "{}",
        reason(d)
    );
    assert!(reason(d).contains(": validation: "), "{}", reason(d));
    let e2e = check(i, "endToEnd");
    assert_eq!(e2e.status, HealthStatus::Error);
    assert!(
        reason(e2e).starts_with("a sample row was inserted and rolled back (nothing was kept)"),
        "{}",
        reason(e2e)
    );
    assert!(
        reason(e2e).ends_with("no better than the checks it builds on: deliveries error"),
        "{}",
        reason(e2e)
    );
    for probe in [
        "connect",
        "table",
        "columns",
        "requiredColumns",
        "insertPrivilege",
    ] {
        assert_eq!(check(i, probe).status, HealthStatus::Healthy, "{probe}");
    }
    let known = last_known(&t.app, name).await;
    assert_eq!(known.status, HealthStatus::Error);
}

fn db(name: &str, database: Value) -> Value {
    json!({"name": name, "kind": "database",
           "fields": [{"name": "fullName", "type": "name", "required": true}],
           "database": database, "retry": {"maxAttempts": 1}})
}

#[tokio::test]
async fn sqlite_deliveries_refused_by_a_constraint_are_an_error() {
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE patients (id INTEGER PRIMARY KEY, \
         full_name TEXT NOT NULL CHECK (full_name <> 'Refused Name'))"
            .into(),
    )
    .await;
    let t = TestApp::new().await;
    t.add(db(
        "sqlite clinic",
        json!({"type": "sqlite", "database": path, "table": "patients",
               "fieldMapping": {"fullName": "full_name"}}),
    ))
    .await;
    refused_rows_are_an_error(&t, "sqlite clinic").await;
}

#[tokio::test]
async fn postgres_deliveries_refused_by_a_constraint_are_an_error() {
    let pg = common_db::postgres().await;
    let table = format!("hd_pg_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {table} (id SERIAL PRIMARY KEY, \
             full_name TEXT NOT NULL CHECK (full_name <> 'Refused Name'))"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        t.add(db(
            "pg clinic",
            pg.config("postgresql", &table, json!({"fullName": "full_name"})),
        ))
        .await;
        refused_rows_are_an_error(&t, "pg clinic").await;
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn mariadb_deliveries_refused_by_a_constraint_are_an_error() {
    let my = common_db::mysql().await;
    let table = format!("hd_my_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, \
             full_name VARCHAR(100) NOT NULL, CHECK (full_name <> 'Refused Name'))"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let mut database = my.config("mysql", &table, json!({"fullName": "full_name"}));
        if let Some(p) = &my.password {
            database["password"] = json!(p);
        }
        t.add(db("mariadb clinic", database)).await;
        refused_rows_are_an_error(&t, "mariadb clinic").await;
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {table}"))).await;
}

// ---- GET /api/v1/deliveries, and the last-known state over HTTP ----

#[tokio::test]
async fn the_delivery_summaries_give_the_last_delivery_and_the_window() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    let busy = s.add(api("busy", &sink.url, json!({}))).await;
    let idle = s.add(api("idle", &sink.url, json!({}))).await;
    sink.then([Reply::status(503)]);
    assert_eq!(send(&s.app, "busy", 1).await, [false]);
    age_attempts(&s.app, s.dir.path(), 2).await;
    sink.then([Reply::json(422, json!({"message": "bad phone"}))]);
    assert_eq!(send(&s.app, "busy", 2).await, [false, true]);

    let (status, all) = s.get("/deliveries").await;
    assert_eq!(status, 200, "{all}");
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    let find = |id: &str| all.iter().find(|d| d["integrationId"] == id).unwrap();
    let b = find(&busy);
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["integrationId", "lastDelivery", "window"]);
    let last = &b["lastDelivery"];
    let mut keys: Vec<&str> = last
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "at",
            "attemptId",
            "category",
            "handoffId",
            "message",
            "status",
            "statusCode"
        ]
    );
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["category"], Value::Null);
    assert_eq!(last["statusCode"], 201);
    // The default window is 24 h: all three.
    let w = &b["window"];
    assert_eq!(w["deliveries"], 3);
    assert_eq!(w["failed"], 2);
    assert!(
        (w["failureRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9,
        "{w}"
    );
    let since: chrono::DateTime<chrono::Utc> = w["since"].as_str().unwrap().parse().unwrap();
    let hours = (chrono::Utc::now() - since).num_minutes() as f64 / 60.0;
    assert!((hours - 24.0).abs() < 0.1, "{since}");

    let i = find(&idle);
    assert_eq!(i["lastDelivery"], Value::Null);
    assert_eq!(i["window"]["deliveries"], 0);
    assert_eq!(i["window"]["failureRate"], Value::Null);

    // The last hour holds the two recent ones only.
    let (status, hour) = s.get("/deliveries?window=1h").await;
    assert_eq!(status, 200, "{hour}");
    let b = hour
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["integrationId"] == busy.as_str())
        .unwrap();
    assert_eq!(b["window"]["deliveries"], 2);
    assert_eq!(b["window"]["failed"], 1);
    assert_eq!(b["window"]["failureRate"], 0.5);
    let (_, week) = s.get("/deliveries?window=7d").await;
    assert_eq!(
        week[0]["window"]["deliveries"].as_u64().unwrap()
            + week[1]["window"]["deliveries"].as_u64().unwrap(),
        3
    );

    for bad in ["0h", "91d", "yesterday", "2026-01-01", "24"] {
        let (status, e) = s.get(&format!("/deliveries?window={bad}")).await;
        assert_eq!(status, 422, "{bad}: {e}");
        assert_eq!(e["error"]["field"], "window", "{bad}: {e}");
    }
    let (status, e) = s.get("/deliveries?since=1h").await;
    assert_eq!(status, 422, "{e}");

    // GET /health: never checked, yet listed with their deliveries.
    let (status, known) = s.get("/health").await;
    assert_eq!(status, 200, "{known}");
    let list = known["integrations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let busy_known = list.iter().find(|i| i["id"] == busy.as_str()).unwrap();
    assert_eq!(busy_known["checks"][0]["name"], "deliveries");
    assert_eq!(busy_known["status"], "warning");
    assert_eq!(known["status"], "warning");
}

// ---- the CLI ----

#[tokio::test]
async fn the_cli_lists_problems_first_and_the_integration_list_shows_deliveries() {
    let t = TestApp::new().await;
    let up = Sink::start().await;
    let down = Sink::start().await;
    down.always(Reply::status(503));
    t.add(api("alpha", &up.url, json!({}))).await;
    t.add(api("Mike", &down.url, json!({}))).await;
    t.add(api("zulu", &down.url, json!({}))).await;
    t.add(api("bravo", &up.url, json!({}))).await;
    assert_eq!(send(&t.app, "alpha", 1).await, [true]);
    assert_eq!(send(&t.app, "Mike", 2).await, [false, false]);
    assert_eq!(send(&t.app, "zulu", 3).await, [false, false, false]);
    let run = |args: &[&str]| {
        let out = common::cli()
            .arg("--data-dir")
            .arg(t.dir.path())
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("HANDOFF_DATA_DIR")
            .output()
            .expect("run the CLI");
        (
            out.status.code().expect("exit code"),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let headers = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(" [api] "))
            .map(|l| l.split(" [").next().unwrap().to_string())
            .collect()
    };
    let header_of = |text: &str, name: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} [api] ")))
            .unwrap_or_else(|| panic!("no header for {name} in {text}"))
            .to_string()
    };

    // Before any run: the last-known state is the deliveries alone. Those without a problem
    // are not checked, not healthy (nothing probed them); those with one say so.
    let (code, text) = run(&["health", "--last"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(headers(&text), ["zulu", "Mike", "alpha", "bravo"], "{text}");
    for name in ["alpha", "bravo"] {
        let header = header_of(&text, name);
        assert!(header.contains("] not checked (never probed"), "{header}");
    }
    assert!(
        header_of(&text, "zulu").contains("] error (never probed"),
        "{text}"
    );

    let (code, text) = run(&["health", "--timeout-ms", "2000"]);
    assert_eq!(code, 1, "{text}");
    // Errors, then warnings, then healthy ones, each by name.
    assert_eq!(headers(&text), ["zulu", "Mike", "alpha", "bravo"], "{text}");
    assert!(text.contains("3 of the last 3 deliveries failed"), "{text}");
    // The JSON keeps its order and shape.
    let (_, json_text) = run(&["health", "--json", "--timeout-ms", "2000"]);
    let doc: Value = serde_json::from_str(&json_text).unwrap();
    let order: Vec<&str> = doc["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["alpha", "bravo", "Mike", "zulu"]);
    let zulu = &doc["integrations"][3];
    let deliveries = zulu["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "deliveries")
        .unwrap();
    let mut keys: Vec<&str> = deliveries
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["latencyMs", "name", "reason", "status"]);
    assert_eq!(deliveries["status"], "error");

    // The last-known state, also problems first.
    let (code, text) = run(&["health", "--last"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(headers(&text), ["zulu", "Mike", "alpha", "bravo"], "{text}");

    let (code, text) = run(&["integration", "list"]);
    assert_eq!(code, 0, "{text}");
    let header = text.lines().next().unwrap();
    assert!(header.contains("LAST DELIVERY"), "{header}");
    assert!(header.contains("FAILED (24H)"), "{header}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("  {name}  ")))
            .unwrap_or_else(|| panic!("no line for {name} in {text}"))
            .to_string()
    };
    assert!(line("zulu").contains(" failed "), "{}", line("zulu"));
    assert!(line("zulu").contains("3/3 (100%)"), "{}", line("zulu"));
    assert!(line("alpha").contains(" succeeded "), "{}", line("alpha"));
    assert!(line("alpha").contains("0/1 (0%)"), "{}", line("alpha"));
    assert!(line("Mike").contains("2/2 (100%)"), "{}", line("Mike"));
    // Nothing delivered yet: dashes.
    let bravo = line("bravo");
    assert!(bravo.contains("  -  "), "{bravo}");
    // The JSON is the integrations, as before.
    let (_, json_text) = run(&["integration", "list", "--json"]);
    let list: Value = serde_json::from_str(&json_text).unwrap();
    assert!(list[0].get("lastDelivery").is_none());
    assert_eq!(list.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_credential_the_target_echoes_never_reaches_the_deliveries_reason() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(
        401,
        json!({"message": "invalid token tok-echo-9f2"}),
    ));
    t.add(api(
        "echo",
        &sink.url,
        json!({"authentication": {"type": "bearer", "credentials": {"token": "tok-echo-9f2"}}}),
    ))
    .await;
    assert_eq!(send(&t.app, "echo", 3).await, [false, false, false]);
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some("Bearer tok-echo-9f2")
    );
    let report = t.app.health(Some("echo"), TIMEOUT).await.unwrap();
    let d = check(&report.integrations[0], "deliveries");
    assert_eq!(d.status, HealthStatus::Error);
    assert!(
        reason(d).contains("authentication: 401 Unauthorized"),
        "{}",
        reason(d)
    );
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("tok-echo-9f2")
    );
    let last = t.app.last_health().await.unwrap();
    assert!(
        !serde_json::to_string(&last)
            .unwrap()
            .contains("tok-echo-9f2")
    );
    let summaries = t
        .app
        .delivery_summaries(chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(
        !serde_json::to_string(&summaries)
            .unwrap()
            .contains("tok-echo-9f2")
    );
}

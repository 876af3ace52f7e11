//! Configuration tests (the Test Panel) end to end: generated and custom test data, previews
//! that send nothing (secrets masked), API runs against a real loopback server (recorded with
//! trigger `test`, expectations analysed), database runs on SQLite, PostgreSQL and MariaDB
//! (rolled back or committed, the row read back), and the `test` command through the binary.

mod common;
mod common_db;

use common::{Reply, Sink, TestApp, cli};
use common_db::{cleanly, count_mysql, count_pg, count_sqlite, exec, suffix};
use handoff_console::attempts::{HistoryFilter, RetryFilter, Trigger};
use handoff_console::integrations::FieldType;
use handoff_console::service::{TestData, TestRequest};
use handoff_console::targets::ErrorCategory;
use handoff_console::testing::{GenerateOptions, TestMode, TestReport};
use handoff_console::{App, ErrorKind};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;

const TOKEN: &str = "tok-3f9a1c77e2";
const PASSWORD: &str = "pw-8d41bb09c3";
const API_KEY: &str = "key-5e72a0d4f1";

fn fields() -> Value {
    json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "email", "type": "email"},
        {"name": "visitType", "type": "enum", "values": ["new", "returning"], "required": true}
    ])
}

fn api_config(name: &str, api: Value) -> Value {
    json!({"name": name, "kind": "api", "fields": fields(), "api": api,
           "retry": {"maxAttempts": 3}})
}

fn post_to(sink: &Sink, extra: Value) -> Value {
    let mut api = json!({
        "endpoint": format!("{}/patients", sink.url),
        "payloadStructure": {"name": "{{fullName}}", "kind": "{{visitType}}", "session": "{{sessionId}}"}
    });
    if let (Value::Object(api), Value::Object(extra)) = (&mut api, extra) {
        api.extend(extra);
    }
    api
}

fn custom(data: Value) -> TestRequest {
    TestRequest {
        data: TestData::Custom(data),
        preview: false,
        commit: false,
    }
}

fn preview(data: Value) -> TestRequest {
    TestRequest {
        preview: true,
        ..custom(data)
    }
}

async fn test_attempts(app: &App) -> usize {
    app.history(&HistoryFilter {
        trigger: Some(Trigger::Test),
        ..HistoryFilter::default()
    })
    .await
    .expect("history")
    .len()
}

async fn all_attempts(app: &App) -> usize {
    app.history(&HistoryFilter::default())
        .await
        .expect("history")
        .len()
}

#[tokio::test]
async fn generated_data_for_every_type_passes_and_repeats_by_seed() {
    let t = TestApp::new().await;
    let fields: Vec<Value> = FieldType::ALL
        .iter()
        .map(|ty| {
            let mut f = json!({"name": format!("f_{}", ty.as_str()), "type": ty.as_str()});
            if *ty == FieldType::Enum {
                f["values"] = json!(["a", "b"]);
            }
            f
        })
        .collect();
    let sink = Sink::start().await;
    let i = t
        .add(json!({"name": "all types", "kind": "api", "fields": fields,
                    "api": {"endpoint": format!("{}/x", sink.url)}}))
        .await;
    let id = i.id.to_string();
    let options = GenerateOptions {
        seed: Some(99),
        all_fields: true,
    };
    let g = t.app.generate_test_data(&id, options).await.unwrap();
    assert_eq!(g.seed, 99);
    assert_eq!(g.data.len(), FieldType::ALL.len());
    let checked = t
        .app
        .check_test_data(&id, &Value::Object(g.data.clone()))
        .await
        .expect("generated data passes the schema");
    assert_eq!(checked, g.data);
    assert_eq!(t.app.generate_test_data(&id, options).await.unwrap(), g);
    // Optional fields only: nothing is required, so nothing is generated.
    let required = GenerateOptions {
        seed: Some(99),
        all_fields: false,
    };
    assert!(
        t.app
            .generate_test_data(&id, required)
            .await
            .unwrap()
            .data
            .is_empty()
    );
}

#[tokio::test]
async fn custom_data_is_refused_with_a_problem_per_field() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let i = t.add(api_config("custom", post_to(&sink, json!({})))).await;
    let err = t
        .app
        .run_test(
            &i.id.to_string(),
            custom(json!({"email": "not-an-email", "visitType": "old", "extra": 1})),
        )
        .await
        .expect_err("bad data is refused");
    assert_eq!(err.kind, ErrorKind::Invalid);
    let named: Vec<&str> = err.details.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(named, ["fullName", "email", "visitType", "extra"]);
    assert_eq!(sink.count(), 0);
    assert_eq!(all_attempts(&t.app).await, 0);
}

#[tokio::test]
async fn api_preview_sends_nothing_and_masks_every_credential() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let auths = [
        json!({"type": "bearer", "credentials": {"token": TOKEN}}),
        json!({"type": "basic", "credentials": {"username": "clinic", "password": PASSWORD}}),
        json!({"type": "api-key", "credentials": {"key": API_KEY, "header": "X-Clinic-Key"}}),
        json!({"type": "api-key", "credentials": {"key": API_KEY, "query": "api_key"}}),
    ];
    for (n, auth) in auths.into_iter().enumerate() {
        let api = post_to(
            &sink,
            json!({"authentication": auth, "headers": {"X-Client-Secret": TOKEN, "X-Version": "2"}}),
        );
        let i = t.add(api_config(&format!("preview {n}"), api)).await;
        let report = t
            .app
            .run_test(
                &i.id.to_string(),
                preview(json!({"fullName": "Ann Lee", "visitType": "new"})),
            )
            .await
            .expect("preview runs");
        assert_eq!(report.mode, TestMode::Preview);
        assert!(report.outcome.success, "{}", report.outcome.message);
        let shown = serde_json::to_string(&report).unwrap();
        for secret in [TOKEN, PASSWORD, API_KEY, "Y2xpbmlj"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let r = &report.request;
        assert_eq!(r["method"], "POST");
        assert_eq!(
            r["body"],
            json!({"name": "Ann Lee", "kind": "new", "session": "test-panel"})
        );
        assert_eq!(r["headers"]["X-Client-Secret"], "[redacted]");
        assert_eq!(r["headers"]["X-Version"], "2");
        match n {
            0 => assert_eq!(r["headers"]["Authorization"], "Bearer [redacted]"),
            1 => assert_eq!(
                r["headers"]["Authorization"],
                "Basic [redacted] (user clinic)"
            ),
            2 => assert_eq!(r["headers"]["X-Clinic-Key"], "[redacted]"),
            _ => assert!(
                r["url"]
                    .as_str()
                    .unwrap()
                    .ends_with("api_key=%5Bredacted%5D"),
                "{}",
                r["url"]
            ),
        }
    }
    assert_eq!(sink.count(), 0, "a preview sends nothing");
    assert_eq!(all_attempts(&t.app).await, 0, "a preview records nothing");
}

#[tokio::test]
async fn api_run_is_recorded_as_a_test_and_analysed() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    // An echoing target: the token comes back in a header and in the body.
    sink.always(
        Reply::json(
            201,
            json!({"id": "sub-77", "echo": format!("Bearer {TOKEN}")}),
        )
        .header("X-Echo", &format!("Bearer {TOKEN}"))
        .header("Set-Cookie", "session=abc")
        .header("X-Request-Id", "r-1"),
    );
    let api = post_to(
        &sink,
        json!({"authentication": {"type": "bearer", "credentials": {"token": TOKEN}}}),
    );
    let i = t.add(api_config("run", api)).await;
    let report = t
        .app
        .run_test(
            &i.id.to_string(),
            TestRequest {
                data: TestData::Generate(GenerateOptions {
                    seed: Some(5),
                    all_fields: true,
                }),
                preview: false,
                commit: false,
            },
        )
        .await
        .expect("test runs");
    let o = &report.outcome;
    assert!(o.success, "{}", o.message);
    assert_eq!(report.seed, Some(5));
    assert_eq!(o.status_code, Some(201));
    assert_eq!(sink.count(), 1);
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let names: Vec<(&str, bool)> = o
        .expectations
        .iter()
        .map(|e| (e.name.as_str(), e.passed))
        .collect();
    assert_eq!(names, [("status", true), ("submissionId", true)]);
    assert!(o.expectations[1].reason.contains("sub-77"));
    let headers = o.headers.as_ref().expect("headers");
    assert_eq!(headers["x-echo"], "Bearer [redacted]");
    assert_eq!(headers["set-cookie"], "[redacted]");
    assert_eq!(headers["x-request-id"], "r-1");
    assert_eq!(o.body.as_ref().unwrap()["echo"], "Bearer [redacted]");
    assert!(!serde_json::to_string(&report).unwrap().contains(TOKEN));
    // A test opens a connection of its own, so its opening is timed.
    let (connect, first_byte) = (o.connect_ms.unwrap(), o.first_byte_ms.unwrap());
    assert!(connect <= first_byte && first_byte <= o.total_ms.unwrap());
    assert!(o.timing_note.as_deref().unwrap().contains("new connection"));
    // Recorded as a test attempt of a handoff of its own.
    let attempt_id = o.attempt_id.expect("recorded");
    let (detail, _) = t.app.attempt(attempt_id).await.unwrap();
    assert_eq!(detail.summary.trigger, Trigger::Test);
    assert_eq!(detail.summary.session_id, "test-panel");
    assert_eq!(Some(detail.summary.handoff_id), o.handoff_id);
    assert_eq!(test_attempts(&t.app).await, 1);
}

#[tokio::test]
async fn expectations_are_judged_on_the_whole_response_not_the_kept_excerpt() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    // Larger than the 16 KiB excerpt the attempt keeps, with the pointer near the end.
    let padding = "x".repeat(20_000);
    sink.always(Reply::json(
        200,
        json!({"padding": padding, "data": {"ref": "r-7"}, "id": 7}),
    ));
    let api = post_to(
        &sink,
        json!({"expect": {"requirePointer": "/data/ref", "submissionIdPointer": "/id"}}),
    );
    let i = t.add(api_config("big", api)).await;
    let report = t
        .app
        .run_test(
            &i.id.to_string(),
            custom(json!({"fullName": "Ann Lee", "visitType": "new"})),
        )
        .await
        .unwrap();
    let o = &report.outcome;
    assert!(o.success, "{}", o.message);
    for e in &o.expectations {
        assert!(e.passed, "{}: {}", e.name, e.reason);
    }
    // A configured submission id pointer that finds nothing is a failure.
    sink.always(Reply::json(200, json!({"data": {"ref": "r-8"}})));
    let report = t
        .app
        .run_test(
            &i.id.to_string(),
            custom(json!({"fullName": "Ann Lee", "visitType": "new"})),
        )
        .await
        .unwrap();
    let missing = report
        .outcome
        .expectations
        .iter()
        .find(|e| e.name == "submissionId")
        .unwrap();
    assert!(!missing.passed, "{}", missing.reason);
}

#[tokio::test]
async fn failed_expectations_say_why_and_are_not_retried() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(200, json!({"ok": true})));
    let api = post_to(&sink, json!({"expect": {"requirePointer": "/data/ref"}}));
    let i = t.add(api_config("expect", api)).await;
    let data = json!({"fullName": "Ann Lee", "visitType": "new"});
    let report = t
        .app
        .run_test(&i.id.to_string(), custom(data.clone()))
        .await
        .unwrap();
    let o = &report.outcome;
    assert!(!o.success);
    let by_name = |n: &str| o.expectations.iter().find(|e| e.name == n).unwrap();
    assert!(by_name("status").passed);
    assert!(!by_name("requirePointer").passed);
    assert!(by_name("requirePointer").reason.contains("/data/ref"));
    // No submissionIdPointer is configured: a missing id is information, not a failure.
    assert!(by_name("submissionId").passed);

    // A server error is retryable, but a test is never rescheduled.
    sink.always(Reply::json(503, json!({"message": "down"})));
    let report = t
        .app
        .run_test(&i.id.to_string(), custom(data))
        .await
        .unwrap();
    assert!(!report.outcome.success);
    assert!(!report.outcome.expectations[0].passed);
    assert!(report.outcome.expectations[0].reason.contains("503"));
    let (detail, _) = t
        .app
        .attempt(report.outcome.attempt_id.unwrap())
        .await
        .unwrap();
    assert!(detail.summary.next_retry_at.is_none());
    assert_eq!(t.app.run_due_retries().await.unwrap().ran, 0);
    // Nor does a bulk retry pick a failed test up; an explicit retry of it still works.
    let no_progress = |_: usize, _: usize| {};
    let bulk = t
        .app
        .retry_failed(&RetryFilter::default(), true, &no_progress)
        .await
        .unwrap();
    assert_eq!(bulk.matched, 0);
    // A live handoff that fails for good (422 is not retryable) is in the failed list.
    sink.always(Reply::json(422, json!({"message": "bad"})));
    let live = t
        .app
        .send(
            &i.id.to_string(),
            "s-1",
            json!({"fullName": "Ann Lee", "visitType": "new"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(!live.success);
    let bulk = t
        .app
        .retry_failed(&RetryFilter::default(), true, &no_progress)
        .await
        .unwrap();
    assert_eq!(
        bulk.matched, 1,
        "the live failure is there, the tests are not"
    );
    let again = t
        .app
        .retry_attempt(report.outcome.attempt_id.unwrap())
        .await
        .unwrap();
    assert_eq!(Some(again.handoff_id), report.outcome.handoff_id);
}

#[tokio::test]
async fn an_unreachable_target_has_no_connect_time_and_says_so() {
    let t = TestApp::new().await;
    let api = json!({"endpoint": format!("http://127.0.0.1:{}/x", common::closed_port())});
    let i = t.add(api_config("unreachable", api)).await;
    let report = t
        .app
        .run_test(
            &i.id.to_string(),
            custom(json!({"fullName": "Ann Lee", "visitType": "new"})),
        )
        .await
        .unwrap();
    let o = &report.outcome;
    assert!(!o.success);
    assert_eq!(
        o.category,
        Some(handoff_console::targets::ErrorCategory::Network)
    );
    assert!(o.connect_ms.is_none() && o.first_byte_ms.is_none() && o.status_code.is_none());
    assert!(o.timing_note.as_deref().unwrap().contains("no connection"));
    assert_eq!(o.expectations.len(), 1);
    assert!(o.expectations[0].reason.starts_with("no response"));
}

#[tokio::test]
async fn commit_is_for_database_runs_only() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let i = t.add(api_config("commit", post_to(&sink, json!({})))).await;
    let data = json!({"fullName": "Ann Lee", "visitType": "new"});
    for preview in [false, true] {
        let err = t
            .app
            .run_test(
                &i.id.to_string(),
                TestRequest {
                    data: TestData::Custom(data.clone()),
                    preview,
                    commit: true,
                },
            )
            .await
            .expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(err.field.as_deref(), Some("commit"));
    }
    assert_eq!(sink.count(), 0);
}

// ---- databases ----

fn db_fields() -> Value {
    json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "dob", "type": "date"},
        {"name": "fee", "type": "number"},
        {"name": "consent", "type": "boolean"},
        {"name": "age", "type": "integer"}
    ])
}

fn db_mapping() -> Value {
    json!({"fullName": "patient_name", "dob": "dob", "fee": "fee", "consent": "consent",
           "age": "age", "sessionId": "session"})
}

fn db_data() -> Value {
    json!({"fullName": "Jane Roe", "dob": "1990-05-31", "fee": "12.50", "consent": "yes", "age": "42"})
}

fn db_config(name: &str, database: Value) -> Value {
    json!({"name": name, "kind": "database", "fields": db_fields(), "database": database})
}

/// The stored value of `column` in a report's row.
fn stored(report: &TestReport, column: &str) -> Value {
    report
        .outcome
        .row
        .as_ref()
        .unwrap_or_else(|| panic!("no row: {:?}", report.outcome.row_note))
        .iter()
        .find(|c| c.column == column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .value
        .clone()
}

/// Preview, rolled-back run and committed run against one table; `count` reads its row count.
/// Returns the rolled-back and committed reports.
async fn preview_run_commit<F, Fut>(t: &TestApp, id: &str, count: F) -> (TestReport, TestReport)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let p = t.app.run_test(id, preview(db_data())).await.unwrap();
    assert!(p.outcome.success, "{}", p.outcome.message);
    let sql = p.request["sql"].as_str().expect("sql");
    assert!(sql.starts_with("INSERT INTO"), "{sql}");
    let params = p.request["params"].as_array().unwrap();
    let fee = params.iter().find(|p| p["field"] == "fee").unwrap();
    assert_eq!(fee["column"], "fee");
    assert!(
        fee["type"].as_str().unwrap().to_lowercase().contains("dec") || fee["type"] == "numeric",
        "{fee}"
    );
    assert!(
        params
            .iter()
            .any(|p| p["field"] == "sessionId" && p["value"] == "test-panel")
    );
    assert_eq!(count().await, 0, "a preview writes nothing");

    let run = t.app.run_test(id, custom(db_data())).await.unwrap();
    assert!(run.outcome.success, "{}", run.outcome.message);
    assert_eq!(run.outcome.committed, Some(false));
    assert!(run.outcome.attempt_id.is_none());
    assert_eq!(stored(&run, "patient_name"), "Jane Roe");
    assert_eq!(stored(&run, "age"), 42);
    assert_eq!(stored(&run, "consent"), true);
    assert_eq!(stored(&run, "session"), "test-panel");
    assert_eq!(count().await, 0, "the test row was rolled back");
    assert_eq!(
        all_attempts(&t.app).await,
        0,
        "a rolled-back test is not recorded"
    );

    let kept = t
        .app
        .run_test(
            id,
            TestRequest {
                commit: true,
                ..custom(db_data())
            },
        )
        .await
        .unwrap();
    assert!(kept.outcome.success, "{}", kept.outcome.message);
    assert_eq!(kept.outcome.committed, Some(true));
    assert!(kept.outcome.row.is_some(), "{:?}", kept.outcome.row_note);
    assert_eq!(count().await, 1, "--commit keeps the row");
    assert_eq!(test_attempts(&t.app).await, 1);
    (run, kept)
}

#[tokio::test]
async fn sqlite_preview_rollback_and_commit() {
    let t = TestApp::new().await;
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE patients (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, dob DATE,
           fee DECIMAL(8,2), consent BOOLEAN, age INTEGER, session TEXT)"
            .to_string(),
    )
    .await;
    let i = t
        .add(db_config(
            "sqlite test",
            json!({"type": "sqlite", "database": path, "table": "patients",
                   "fieldMapping": db_mapping()}),
        ))
        .await;
    let (run, _) =
        preview_run_commit(&t, &i.id.to_string(), || count_sqlite(&pool, "patients")).await;
    assert_eq!(stored(&run, "dob"), "1990-05-31");
    assert_eq!(stored(&run, "id"), 1);
    assert_eq!(run.request["sql"].as_str().unwrap().matches('?').count(), 6);
}

#[tokio::test]
async fn postgres_preview_rollback_and_commit() {
    let pg = common_db::postgres().await;
    let table = format!("hc_test_{}", suffix());
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {table} (id serial PRIMARY KEY, patient_name varchar(100) NOT NULL,
               dob date, fee numeric(8,2), consent boolean, age integer, session text)"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let i = t
            .add(db_config(
                "pg test",
                pg.config("postgresql", &table, db_mapping()),
            ))
            .await;
        let (run, kept) =
            preview_run_commit(&t, &i.id.to_string(), || count_pg(&pg.pool, &table)).await;
        assert_eq!(stored(&run, "fee"), "12.50");
        assert_eq!(stored(&run, "dob"), "1990-05-31");
        assert!(run.request["sql"].as_str().unwrap().contains("$6"));
        // The rolled-back row's id was used up; the kept row has its own.
        assert_ne!(stored(&run, "id"), stored(&kept, "id"));
    };
    cleanly(body, exec(&pg.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn postgres_rows_are_found_by_uuid_and_text_keys_and_keyless_tables_say_so() {
    let pg = common_db::postgres().await;
    let s = suffix();
    let (by_uuid, by_text, keyless) = (
        format!("hc_uuid_{s}"),
        format!("hc_text_{s}"),
        format!("hc_nokey_{s}"),
    );
    exec(
        &pg.pool,
        format!(
            "CREATE TABLE {by_uuid} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
               patient_name text NOT NULL);
             CREATE TABLE {by_text} (ref varchar(64) PRIMARY KEY, patient_name text NOT NULL);
             CREATE TABLE {keyless} (patient_name text NOT NULL)"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let cases = [
            (&by_uuid, json!({"fullName": "patient_name"})),
            (
                &by_text,
                json!({"fullName": "patient_name", "handoffId": "ref"}),
            ),
            (&keyless, json!({"fullName": "patient_name"})),
        ];
        for (table, mapping) in cases {
            let i = t
                .add(db_config(table, pg.config("postgresql", table, mapping)))
                .await;
            let report = t
                .app
                .run_test(&i.id.to_string(), custom(db_data()))
                .await
                .unwrap();
            assert!(
                report.outcome.success,
                "{table}: {}",
                report.outcome.message
            );
            if table == &keyless {
                assert!(report.outcome.row.is_none());
                assert!(
                    report
                        .outcome
                        .row_note
                        .as_deref()
                        .unwrap()
                        .contains("primary key"),
                    "{:?}",
                    report.outcome.row_note
                );
            } else {
                assert_eq!(stored(&report, "patient_name"), "Jane Roe", "{table}");
            }
            assert_eq!(count_pg(&pg.pool, table).await, 0, "{table}");
        }
    };
    cleanly(
        body,
        exec(
            &pg.pool,
            format!("DROP TABLE {by_uuid}; DROP TABLE {by_text}; DROP TABLE {keyless}"),
        ),
    )
    .await;
}

#[tokio::test]
async fn mariadb_preview_rollback_and_commit() {
    let my = common_db::mysql().await;
    let table = format!("hc_test_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, dob DATE, fee DECIMAL(8,2),
               consent TINYINT(1), age INT, session VARCHAR(100))"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let i = t
            .add(db_config(
                "mysql test",
                my.config("mysql", &table, db_mapping()),
            ))
            .await;
        let (run, _) =
            preview_run_commit(&t, &i.id.to_string(), || count_mysql(&my.pool, &table)).await;
        assert_eq!(stored(&run, "fee"), "12.50");
        assert_eq!(stored(&run, "dob"), "1990-05-31");
        assert!(run.request["sql"].as_str().unwrap().contains('`'));
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn a_mariadb_table_that_cannot_roll_back_is_not_tested_without_commit() {
    let my = common_db::mysql().await;
    let table = format!("hc_myisam_{}", suffix());
    exec(
        &my.pool,
        format!(
            "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY,
               patient_name VARCHAR(100) NOT NULL, dob DATE, fee DECIMAL(8,2),
               consent TINYINT(1), age INT, session VARCHAR(100)) ENGINE=MyISAM"
        ),
    )
    .await;
    let body = async {
        let t = TestApp::new().await;
        let i = t
            .add(db_config(
                "mysql myisam",
                my.config("mysql", &table, db_mapping()),
            ))
            .await;
        let id = i.id.to_string();
        // MySQL would "roll back" with a warning and keep the row: the test refuses instead.
        let run = t.app.run_test(&id, custom(db_data())).await.unwrap();
        assert!(!run.outcome.success);
        assert_eq!(run.outcome.category, Some(ErrorCategory::Configuration));
        assert!(
            run.outcome
                .message
                .contains("MyISAM engine, which cannot roll back"),
            "{}",
            run.outcome.message
        );
        assert_eq!(count_mysql(&my.pool, &table).await, 0, "nothing was left");
        let kept = t
            .app
            .run_test(
                &id,
                TestRequest {
                    commit: true,
                    ..custom(db_data())
                },
            )
            .await
            .unwrap();
        assert!(kept.outcome.success, "{}", kept.outcome.message);
        assert_eq!(count_mysql(&my.pool, &table).await, 1, "--commit inserts");
        // The health check's sample insert is not run either: a warning, not a stray row.
        let health = t.app.health(Some("mysql myisam"), None).await.unwrap();
        let e2e = health.integrations[0]
            .checks
            .iter()
            .find(|c| c.name == "endToEnd")
            .unwrap();
        assert_eq!(e2e.status.as_str(), "warning", "{:?}", e2e.reason);
        assert_eq!(count_mysql(&my.pool, &table).await, 1);
    };
    cleanly(body, exec(&my.pool, format!("DROP TABLE {table}"))).await;
}

#[tokio::test]
async fn a_row_that_cannot_be_identified_is_said_so_and_a_missing_table_fails() {
    let t = TestApp::new().await;
    let (_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE visits (patient_name TEXT, age INTEGER, PRIMARY KEY (patient_name, age))
           WITHOUT ROWID"
            .to_string(),
    )
    .await;
    let config = |name: &str, table: &str| {
        db_config(
            name,
            json!({"type": "sqlite", "database": path, "table": table,
                   "fieldMapping": {"fullName": "patient_name", "age": "age"}}),
        )
    };
    let i = t.add(config("no rowid", "visits")).await;
    let report = t
        .app
        .run_test(&i.id.to_string(), custom(db_data()))
        .await
        .unwrap();
    assert!(report.outcome.success, "{}", report.outcome.message);
    assert!(report.outcome.row.is_none());
    let note = report.outcome.row_note.as_deref().expect("a note");
    assert!(note.contains("row"), "{note}");
    assert_eq!(count_sqlite(&pool, "visits").await, 0);

    let i = t.add(config("missing", "missing_table")).await;
    let report = t
        .app
        .run_test(&i.id.to_string(), custom(db_data()))
        .await
        .unwrap();
    assert!(!report.outcome.success);
    assert_eq!(
        report.outcome.category,
        Some(handoff_console::targets::ErrorCategory::Configuration)
    );
    assert!(report.outcome.message.contains("missing_table"));
}

// ---- the command line ----

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not one JSON document ({e}): {}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

async fn run_cli(data_dir: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::from(cli());
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HANDOFF_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the CLI finished within 60 s")
        .expect("run the CLI");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        stderr: String::from_utf8(out.stderr).expect("utf-8"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_test_command_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let sink = Sink::start().await;
    let config = dir.path().join("cfg.json");
    let api = post_to(
        &sink,
        json!({"authentication": {"type": "bearer", "credentials": {"token": TOKEN}}}),
    );
    std::fs::write(&config, api_config("cli test", api).to_string()).unwrap();
    let added = run_cli(
        &data_dir,
        &[
            "integration",
            "add",
            "--file",
            config.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(added.code, 0, "{}", added.stderr);

    let p = run_cli(
        &data_dir,
        &[
            "test",
            "--integration",
            "cli test",
            "--generate",
            "--seed",
            "3",
            "--preview",
            "--json",
        ],
    )
    .await;
    assert_eq!(p.code, 0, "{}{}", p.stdout, p.stderr);
    let report = p.json();
    assert_eq!(report["mode"], "preview");
    assert_eq!(report["seed"], 3);
    assert_eq!(
        report["request"]["headers"]["Authorization"],
        "Bearer [redacted]"
    );
    assert!(!p.stdout.contains(TOKEN));
    assert_eq!(sink.count(), 0);

    sink.always(Reply::json(500, json!({"message": "boom"})));
    let r = run_cli(
        &data_dir,
        &["test", "--integration", "cli test", "--generate", "--json"],
    )
    .await;
    assert_eq!(r.code, 1, "a failed test exits 1: {}{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["outcome"]["success"], false);
    assert_eq!(report["outcome"]["statusCode"], 500);
    assert_eq!(report["outcome"]["expectations"][0]["passed"], false);
    assert_eq!(sink.count(), 1);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, json!({"fullName": "", "visitType": "x"}).to_string()).unwrap();
    let v = run_cli(
        &data_dir,
        &[
            "test",
            "--integration",
            "cli test",
            "--data",
            bad.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(v.code, 2);
    let fields: Vec<Value> = v.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert_eq!(fields, [json!("fullName"), json!("visitType")]);

    for args in [
        vec!["test", "--integration", "cli test", "--json"],
        vec![
            "test",
            "--integration",
            "cli test",
            "--generate",
            "--data",
            "-",
            "--json",
        ],
        vec![
            "test",
            "--integration",
            "cli test",
            "--generate",
            "--commit",
            "--json",
        ],
    ] {
        let u = run_cli(&data_dir, &args).await;
        assert_eq!(u.code, 2, "{args:?}: {}", u.stdout);
        assert_eq!(u.json()["error"]["kind"], "invalid", "{args:?}");
    }
    assert_eq!(sink.count(), 1);

    // Human output: short, and the seed that repeats the data.
    let h = run_cli(
        &data_dir,
        &[
            "test",
            "--integration",
            "cli test",
            "--generate",
            "--seed",
            "3",
            "--preview",
        ],
    )
    .await;
    assert_eq!(h.code, 0);
    assert!(h.stdout.contains("--seed 3"), "{}", h.stdout);
    assert!(h.stdout.contains("Bearer [redacted]"), "{}", h.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_escapes_in_a_response_are_shown_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let sink = Sink::start().await;
    // A JSON string body is shown as text: the escape sequences are the target's.
    sink.always(Reply::json(200, json!("ok\u{1b}[2J\u{1b}]0;owned\u{7}")));
    let config = dir.path().join("cfg.json");
    std::fs::write(
        &config,
        api_config("escapes", post_to(&sink, json!({}))).to_string(),
    )
    .unwrap();
    let added = run_cli(
        &data_dir,
        &["integration", "add", "--file", config.to_str().unwrap()],
    )
    .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let run = run_cli(
        &data_dir,
        &["test", "--integration", "escapes", "--generate"],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'));
    assert!(run.stdout.contains("ok\\u{1b}[2J"), "{}", run.stdout);
}

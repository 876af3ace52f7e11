//! The Test Panel's and the Health Dashboard's routes through the real router (served on a
//! loopback port, called with reqwest): test data reproducible by seed, previews that send
//! nothing and mask secrets, runs against a real loopback target and a real SQLite file
//! (rolled back, or committed when asked), health runs as jobs with progress, the kept health
//! history, and bad input refused with 422 naming the field.

mod common;
mod common_db;

use common::{Reply, Served, Sink};
use common_db::{count_sqlite, exec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "bearer-secret-9c3e51aa";

fn fields() -> Value {
    json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "email", "type": "email"},
        {"name": "visitType", "type": "enum", "values": ["new", "returning"], "required": true},
        {"name": "age", "type": "integer"}
    ])
}

fn api(name: &str, url: &str, extra: Value) -> Value {
    let mut api = json!({
        "endpoint": format!("{url}/patients"),
        "authentication": {"type": "bearer", "credentials": {"token": SECRET}},
        "payloadStructure": {"name": "{{fullName}}", "kind": "{{visitType}}"}
    });
    if let (Value::Object(api), Value::Object(extra)) = (&mut api, extra) {
        api.extend(extra);
    }
    json!({"name": name, "kind": "api", "fields": fields(), "api": api,
           "retry": {"maxAttempts": 1}})
}

fn field_of(error: &Value) -> &str {
    error["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn generated_test_data_with_a_seed_is_reproducible() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    let id = s.add(api("gen", &sink.url, json!({}))).await;
    let ask = json!({"integration": id, "seed": 4242, "allFields": true});
    let (status, first) = s.post("/tests/data", ask.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["seed"], 4242);
    let data = first["data"].as_object().expect("data");
    assert_eq!(data.len(), 4, "every field with allFields: {first}");
    let (_, again) = s.post("/tests/data", ask).await;
    assert_eq!(again, first, "the same seed gives the same data");
    // Required fields only, and a random seed that the UI can send back exactly.
    let (status, random) = s.post("/tests/data", json!({"integration": "gen"})).await;
    assert_eq!(status, StatusCode::OK, "{random}");
    let seed = random["seed"].as_u64().expect("a seed");
    assert!(seed < 1 << 53);
    let mut keys: Vec<&String> = random["data"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["fullName", "visitType"]);
    let (_, repeated) = s
        .post("/tests/data", json!({"integration": id, "seed": seed}))
        .await;
    assert_eq!(repeated, random);
    // Generated data passes the check, which normalises nothing away.
    let (status, checked) = s
        .post(
            "/tests/check",
            json!({"integration": id, "data": first["data"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["data"], first["data"]);
    assert_eq!(sink.count(), 0, "generating and checking send nothing");
}

#[tokio::test]
async fn an_api_preview_shows_the_request_with_secrets_masked_and_sends_nothing() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    let id = s.add(api("preview", &sink.url, json!({}))).await;
    let (status, report) = s
        .post(
            "/tests",
            json!({"integration": id, "preview": true,
                   "data": {"fullName": "Ann Lee", "visitType": "new"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["mode"], "preview");
    assert_eq!(report["outcome"]["success"], true, "{report}");
    let request = &report["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], format!("{}/patients", sink.url));
    assert_eq!(request["headers"]["Authorization"], "Bearer [redacted]");
    assert_eq!(request["body"], json!({"name": "Ann Lee", "kind": "new"}));
    assert!(!report.to_string().contains(SECRET), "{report}");
    assert_eq!(sink.count(), 0, "a preview sends nothing");
    let (_, tests) = s
        .get(&format!("/attempts?trigger=test&integration={id}"))
        .await;
    assert_eq!(tests, json!([]), "a preview records nothing");
}

#[tokio::test]
async fn a_run_against_a_real_target_returns_the_analysis() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(201, json!({"id": "sub-9", "ok": true})));
    let id = s
        .add(api("run", &sink.url, json!({"expect": {"status": [201]}})))
        .await;
    let (status, report) = s
        .post("/tests", json!({"integration": id, "seed": 7}))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["mode"], "run");
    assert_eq!(report["seed"], 7);
    let o = &report["outcome"];
    assert_eq!(o["success"], true, "{report}");
    assert_eq!(o["statusCode"], 201);
    assert_eq!(o["body"], json!({"id": "sub-9", "ok": true}));
    let expectations: Vec<(&str, bool)> = o["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["passed"] == true))
        .collect();
    assert_eq!(expectations, [("status", true), ("submissionId", true)]);
    let (total, first_byte) = (
        o["totalMs"].as_u64().unwrap(),
        o["firstByteMs"].as_u64().unwrap(),
    );
    assert!(first_byte <= total);
    assert!(o["connectMs"].as_u64().is_some(), "{o}");
    // The target got exactly one request, with the real credential.
    assert_eq!(sink.count(), 1);
    let received = &sink.received()[0];
    assert_eq!(
        received.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(!report.to_string().contains(SECRET));
    // The run is in the test history the panel lists.
    let (_, tests) = s
        .get(&format!("/attempts?trigger=test&integration={id}&limit=20"))
        .await;
    let tests = tests.as_array().expect("a list");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["attemptId"], o["attemptId"]);
    assert_eq!(tests[0]["trigger"], "test");
}

#[tokio::test]
async fn a_sqlite_test_is_rolled_back_unless_it_commits() {
    let s = Served::start().await;
    let (_db_dir, path, pool) = common_db::sqlite().await;
    exec(
        &pool,
        "CREATE TABLE patients (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, kind TEXT)"
            .to_string(),
    )
    .await;
    let id = s
        .add(json!({"name": "clinic db", "kind": "database", "fields": fields(),
                    "database": {"type": "sqlite", "database": path, "table": "patients",
                                 "fieldMapping": {"fullName": "patient_name", "visitType": "kind"}}}))
        .await;
    let data = json!({"fullName": "Ann Lee", "visitType": "new"});
    let (status, preview) = s
        .post(
            "/tests",
            json!({"integration": id, "data": data, "preview": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["request"]["sql"]
            .as_str()
            .unwrap()
            .contains("INSERT"),
        "{preview}"
    );
    assert_eq!(preview["request"]["params"][0]["value"], "Ann Lee");

    let (status, run) = s
        .post("/tests", json!({"integration": id, "data": data}))
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let o = &run["outcome"];
    assert_eq!(o["success"], true, "{run}");
    assert_eq!(o["committed"], false);
    let row = o["row"].as_array().expect("the row read back");
    let name = row.iter().find(|c| c["column"] == "patient_name").unwrap();
    assert_eq!(name["value"], "Ann Lee");
    assert_eq!(count_sqlite(&pool, "patients").await, 0, "rolled back");

    let (status, kept) = s
        .post(
            "/tests",
            json!({"integration": id, "data": data, "commit": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["outcome"]["committed"], true, "{kept}");
    assert_eq!(count_sqlite(&pool, "patients").await, 1, "committed");
}

#[tokio::test]
async fn a_health_run_is_a_job_that_reports_progress_and_ends_with_the_report() {
    let s = Served::start().await;
    let fast = Sink::start().await;
    fast.always(Reply::json(200, json!({"status": "ok"})));
    let slow = Sink::start().await;
    slow.always(Reply::json(200, json!({"status": "ok"})).delay(Duration::from_millis(1500)));
    let health = json!({"healthCheck": {"method": "GET", "path": "/health"}});
    s.add(api("fast one", &fast.url, health.clone())).await;
    s.add(api("fast two", &fast.url, health.clone())).await;
    let slow_id = s.add(api("slow", &slow.url, health)).await;

    let (status, started) = s.post("/health", json!({"timeoutMs": 5000})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let job = started["jobId"].as_u64().expect("a job id");
    let seen = s.wait(job).await;
    // While the slow one was still being checked, the two fast ones were counted.
    assert!(
        seen.iter()
            .any(|j| j["finished"] == false && j["done"] == 2 && j["total"] == 3),
        "{seen:?}"
    );
    let last = seen.last().unwrap();
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(last["kind"], "health");
    let report = &last["result"];
    assert_eq!(report["status"], "healthy", "{report}");
    let names: Vec<&str> = report["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"slow"));
    assert!(!report["local"].as_array().unwrap().is_empty());
    // The last-known state now has them, without contacting anything.
    let before = (fast.count(), slow.count());
    let (_, known) = s.get("/health").await;
    assert_eq!(known["integrations"].as_array().unwrap().len(), 3);
    assert_eq!((fast.count(), slow.count()), before);
    // One integration alone.
    let (_, started) = s
        .post(
            "/health",
            json!({"integration": slow_id, "timeoutMs": 5000}),
        )
        .await;
    let seen = s.wait(started["jobId"].as_u64().unwrap()).await;
    let one = &seen.last().unwrap()["result"]["integrations"];
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], slow_id.as_str());
}

#[tokio::test]
async fn the_health_history_returns_the_kept_runs_newest_first() {
    let s = Served::start().await;
    let up = Sink::start().await;
    let id = s
        .add(api(
            "history",
            &up.url,
            json!({"healthCheck": {"method": "GET", "path": "/ok"}}),
        ))
        .await;
    up.always(Reply::json(200, json!({})));
    let run = || async {
        let (_, started) = s.post("/health", json!({"integration": id})).await;
        s.wait(started["jobId"].as_u64().unwrap()).await;
    };
    run().await;
    // The second run finds the health request failing.
    up.always(Reply::status(500));
    run().await;
    let (status, history) = s
        .get(&format!("/health/history?integration={id}&limit=10"))
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let runs = history.as_array().expect("a list");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["status"], "error", "newest first: {history}");
    assert_eq!(runs[1]["status"], "healthy");
    assert!(runs[0]["checkedAt"].as_str().unwrap() >= runs[1]["checkedAt"].as_str().unwrap());
    assert_eq!(runs[0]["id"], id.as_str());
    assert!(
        runs[0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "request")
    );
    // By name too, and the limit holds.
    let (_, one) = s.get("/health/history?integration=history&limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["status"], "error");
}

#[tokio::test]
async fn bad_input_is_refused_with_422_naming_the_field() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    let id = s.add(api("bad input", &sink.url, json!({}))).await;
    let cases = [
        (
            "/tests/data",
            json!({"integration": id, "seed": "soon"}),
            "seed",
        ),
        (
            "/tests/data",
            json!({"integration": id, "seed": 9_007_199_254_740_993_u64}),
            "seed",
        ),
        (
            "/tests/data",
            json!({"integration": id, "allFields": "yes"}),
            "allFields",
        ),
        (
            "/tests/data",
            json!({"integration": id, "colour": 1}),
            "colour",
        ),
        (
            "/tests/check",
            json!({"integration": id, "data": [1, 2]}),
            "data",
        ),
        (
            "/tests",
            json!({"integration": id, "preview": true, "commit": true}),
            "commit",
        ),
        ("/health", json!({"timeoutMs": 5}), "timeoutMs"),
    ];
    for (path, body, field) in cases {
        let (status, error) = s.post(path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {error}"
        );
        assert_eq!(error["error"]["kind"], "invalid");
        assert_eq!(field_of(&error), field, "{path} {body}: {error}");
    }
    // Custom data: one problem per field, each named.
    let (status, error) = s
        .post(
            "/tests/check",
            json!({"integration": id, "data": {"email": "nope", "visitType": "old", "extra": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<&str> = error["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["fullName", "email", "visitType", "extra"]);
    for (path, field) in [
        (format!("/health/history?integration={id}&limit=0"), "limit"),
        (
            format!("/health/history?integration={id}&limit=501"),
            "limit",
        ),
        ("/health/history?integration=%20".to_string(), "integration"),
    ] {
        let (status, error) = s.get(&path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {error}");
        assert_eq!(field_of(&error), field, "{path}: {error}");
    }
    // A limit that is not a number, and no integration at all, are query errors saying so.
    let (status, error) = s
        .get(&format!("/health/history?integration={id}&limit=ten"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{error}"
    );
    let (status, error) = s.get("/health/history").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("integration"),
        "{error}"
    );
    // An unknown integration is not found, not a crash.
    let (status, _) = s
        .post("/tests/data", json!({"integration": "nobody"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get("/health/history?integration=nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(sink.count(), 0);
}

//! The Integrations screen's API through the real router on a loopback listener: config errors
//! name their fields, secrets only ever come back masked (and the mask keeps them), the target
//! table's live columns (SQLite file, PostgreSQL), the demo's one-step removal, and browsing an
//! uploaded history file.

mod common;

use common::{Served, Sink};
use handoff_console::export::ExportFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

const API_SECRET: &str = "bearer-secret-9f8e7d";

use reqwest::Method;

/// Every field an error names: its `field` and its details' fields.
fn fields_of(body: &Value) -> Vec<String> {
    let e = &body["error"];
    let mut out: Vec<String> = e["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["field"].as_str().map(str::to_string))
        .collect();
    if let Some(f) = e["field"].as_str() {
        out.push(f.to_string());
    }
    out
}

fn api_config(endpoint: &str) -> Value {
    json!({
        "name": "EMR", "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {
            "endpoint": endpoint,
            "authentication": {"type": "bearer", "credentials": {"token": API_SECRET}},
            "payloadStructure": {"name": "{{fullName}}"}
        },
        "retry": {"maxAttempts": 1}
    })
}

#[tokio::test]
async fn an_invalid_config_is_422_naming_each_field_on_create_and_update() {
    let s = Served::start().await;
    let bad = json!({
        "name": "Bad", "kind": "api",
        "fields": [{"name": "ok", "type": "text"}, {"name": "9 bad", "type": "text"}],
        "api": {"endpoint": "ftp://nowhere", "timeoutMs": 5}
    });
    let (status, body) = s
        .call(Method::POST, "/integrations", Some(bad.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["kind"], "invalid");
    let fields = fields_of(&body);
    assert!(fields.iter().any(|f| f == "api.endpoint"), "{fields:?}");
    assert!(fields.iter().any(|f| f == "fields[1].name"), "{fields:?}");
    assert!(fields.iter().any(|f| f == "api.timeoutMs"), "{fields:?}");

    // An unknown key is refused with its path, too.
    let mut typo = api_config("http://127.0.0.1:9/x");
    typo["api"]["endpiont"] = json!("x");
    let (status, body) = s.call(Method::POST, "/integrations", Some(typo)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].to_string().contains("endpiont"), "{body}");

    let (status, saved) = s
        .call(
            Method::POST,
            "/integrations",
            Some(api_config("http://127.0.0.1:9/x")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = saved["id"].as_str().unwrap();
    let mut update = bad;
    update["name"] = json!("EMR");
    let (status, body) = s
        .call(Method::PUT, &format!("/integrations/{id}"), Some(update))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(fields_of(&body).iter().any(|f| f == "api.endpoint"));
}

#[tokio::test]
async fn every_problem_of_a_save_comes_in_one_error_on_create_and_update() {
    let s = Served::start().await;
    s.add(api_config("http://127.0.0.1:9/x")).await; // "EMR"
    let mut other = api_config("http://127.0.0.1:9/y");
    other["name"] = json!("Other");
    let other_id = s.add(other).await;
    // A timeout of the wrong type, a retry count out of range, a duplicate name and an
    // endpoint without a scheme: one answer names all four, in plain words.
    let mut bad = api_config("127.0.0.1:9/x");
    bad["api"]["timeoutMs"] = json!("abc");
    bad["retry"] = json!({"maxAttempts": 99});
    let expected = ["api.timeoutMs", "api.endpoint", "retry.maxAttempts", "name"];
    for (method, path) in [
        (Method::POST, "/integrations".to_string()),
        (Method::PUT, format!("/integrations/{other_id}")),
    ] {
        let (status, body) = s.call(method.clone(), &path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method}: {body}");
        assert_eq!(body["error"]["kind"], "invalid", "{body}");
        let details = body["error"]["details"].as_array().expect("details");
        let fields: Vec<&str> = details.iter().filter_map(|d| d["field"].as_str()).collect();
        assert_eq!(fields, expected, "{method}: {body}");
        let reasons: Vec<&str> = details
            .iter()
            .filter_map(|d| d["reason"].as_str())
            .collect();
        assert_eq!(
            reasons[0], "must be a whole number, 0 or more (got text \"abc\")",
            "{body}"
        );
        assert_eq!(
            reasons[1], "not a valid URL: it needs http:// or https://",
            "{body}"
        );
        assert!(reasons[3].contains("exists already"), "{body}");
    }
    // Its own name is no conflict on update.
    let mut renamed = api_config("http://127.0.0.1:9/y");
    renamed["name"] = json!("Other");
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/integrations/{other_id}"),
            Some(renamed),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Text that is not JSON is that one problem.
    let res = s
        .req(Method::POST, "/integrations")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["field"], "(config)", "{body}");
    assert_eq!(body["error"]["details"].as_array().map(Vec::len), Some(1));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("is not valid JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn checking_a_config_reports_every_problem_and_saves_nothing() {
    let s = Served::start().await;
    let emr = s.add(api_config("http://127.0.0.1:9/x")).await; // "EMR"
    let mut bad = api_config("127.0.0.1:9/x");
    bad["retry"] = json!({"maxAttempts": 99});
    let (status, body) = s.call(Method::POST, "/integrations/check", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["api.endpoint", "retry.maxAttempts", "name"],
        "{body}"
    );
    // A good config is {ok: true}, and nothing was saved by either check.
    let mut good = api_config("http://127.0.0.1:9/y");
    good["name"] = json!("Checked only");
    let (status, body) = s
        .call(Method::POST, "/integrations/check", Some(good.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ok": true}));
    let (_, list) = s.call(Method::GET, "/integrations", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    // Checking the one being edited: its own name is no conflict, its stored secret is kept.
    let mut edited = api_config("http://127.0.0.1:9/x");
    edited["api"]["authentication"]["credentials"]["token"] = json!("••••••••");
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/integrations/check?id={emr}"),
            Some(edited),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A bare seed config checked for the one being edited takes its name, as its update would.
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/integrations/check?id={emr}"),
            Some(json!({"endpoint": "http://127.0.0.1:9/x"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Names the API's own paths use cannot be taken (the integration could not be reached).
    let mut reserved = api_config("http://127.0.0.1:9/x");
    reserved["name"] = json!("check");
    let (status, body) = s
        .call(Method::POST, "/integrations/check", Some(reserved))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "name", "{body}");
}

#[tokio::test]
async fn secrets_come_back_only_masked_and_the_mask_keeps_the_stored_value() {
    let s = Served::start().await;
    let sink = Sink::start().await;
    let (status, saved) = s
        .call(
            Method::POST,
            "/integrations",
            Some(api_config(&format!("{}/p", sink.url))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert!(!saved.to_string().contains(API_SECRET), "{saved}");
    let credentials = &saved["config"]["api"]["authentication"]["credentials"];
    assert_eq!(credentials["token"], "••••••••");
    let id = saved["id"].as_str().unwrap().to_string();

    // Listed and shown: masked.
    let (_, list) = s.call(Method::GET, "/integrations", None).await;
    let (_, one) = s
        .call(Method::GET, &format!("/integrations/{id}"), None)
        .await;
    for v in [&list, &one] {
        assert!(!v.to_string().contains(API_SECRET), "{v}");
    }

    // The stored config sent back as it is (mask included), with another change: the token
    // stays the stored one.
    let mut config = one["config"].clone();
    config["description"] = json!("edited");
    let (status, updated) = s
        .call(Method::PUT, &format!("/integrations/{id}"), Some(config))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["config"]["description"], "edited");
    assert!(!updated.to_string().contains(API_SECRET));

    let (status, result) = s
        .call(
            Method::POST,
            "/handoffs",
            Some(json!({"integration": id, "sessionId": "s-1", "data": {"fullName": "Ann Lee"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {API_SECRET}").as_str())
    );
    assert!(!result.to_string().contains(API_SECRET), "{result}");

    // A new integration cannot take the mask: there is nothing stored to keep.
    let mut masked = api_config("http://127.0.0.1:9/x");
    masked["name"] = json!("Other");
    masked["api"]["authentication"]["credentials"]["token"] = json!("••••••••");
    let (status, body) = s.call(Method::POST, "/integrations", Some(masked)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["field"],
        "api.authentication.credentials.token"
    );
}

fn sqlite_config(path: &str, table: &str) -> Value {
    json!({
        "name": "Clinic DB", "kind": "database",
        "database": {"type": "sqlite", "database": path, "table": table,
                     "fieldMapping": {"fullName": "patient_name"}}
    })
}

#[tokio::test]
async fn target_columns_of_a_real_sqlite_file_and_clear_errors_for_a_missing_table_or_file() {
    let s = Served::start().await;
    let db = s.dir.path().join("target.db");
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE patients (id INTEGER PRIMARY KEY, patient_name TEXT NOT NULL, \
             email TEXT, visits INTEGER DEFAULT 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let path = db.display().to_string();
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": sqlite_config(&path, "patients")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["table"], "patients");
    let cols = body["columns"].as_array().unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "patient_name", "email", "visits"]);
    assert_eq!(cols[0]["generated"], true);
    assert_eq!(cols[1]["typeName"], "TEXT");
    assert_eq!(cols[1]["nullable"], false);
    assert_eq!(cols[2]["nullable"], true);
    assert_eq!(cols[3]["hasDefault"], true);

    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": sqlite_config(&path, "nope")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "database.table");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope"));

    let missing = s.dir.path().join("missing.db").display().to_string();
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": sqlite_config(&missing, "patients")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "database.database");
    assert!(
        !s.dir.path().join("missing.db").exists(),
        "nothing is created"
    );

    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": sqlite_config(&path, "bad name;")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "database.table");

    // A bad shape names its path inside the request.
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": {"name": "x", "kind": "database", "database": {"type": "oracle"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("config.database"),
        "{body}"
    );
}

#[tokio::test]
async fn target_columns_of_a_real_postgresql_table_with_the_stored_password_for_its_server_only() {
    // Never a silent pass: `make test` leaves this test out (by its name) when no PostgreSQL
    // answers, and counts it as not run.
    let url = std::env::var("HANDOFF_TEST_PG_URL")
        .expect("this test needs PostgreSQL: set HANDOFF_TEST_PG_URL");
    let table = format!("cols_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    // The table name is made here from the process id: nothing to inject.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, \
         patient_name TEXT NOT NULL, born DATE, created_at TIMESTAMPTZ DEFAULT now())"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let parsed = reqwest::Url::parse(&url).unwrap();
    let db = |host: &str, password: &str| {
        json!({
            "name": "PG", "kind": "database",
            "database": {"type": "postgresql", "hostname": host,
                         "port": parsed.port().unwrap_or(5432),
                         "database": parsed.path().trim_start_matches('/'),
                         "username": parsed.username(), "password": password, "ssl": false,
                         "table": table, "fieldMapping": {"fullName": "patient_name"}}
        })
    };
    let host = parsed.host_str().unwrap().to_string();
    let s = Served::start().await;
    // Unsaved, with a typed password.
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": db(&host, "typed-pw")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cols = body["columns"].as_array().unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "patient_name", "born", "created_at"]);
    assert_eq!(cols[0]["hasDefault"], true, "a serial's default is nextval");
    assert_eq!(cols[1]["nullable"], false);
    assert_eq!(cols[2]["typeName"], "date");
    assert_eq!(cols[3]["hasDefault"], true);

    // Saved; then edited with the mask: the stored password is used for the same server...
    let (status, saved) = s
        .call(Method::POST, "/integrations", Some(db(&host, "stored-pw")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = saved["id"].as_str().unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": db(&host, "••••••••"), "integration": id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ...and never sent to another host.
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": db("127.0.0.2", "••••••••"), "integration": id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "database.password");

    let mut missing = db(&host, "typed-pw");
    missing["database"]["table"] = json!("no_such_table_here");
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": missing})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "database.table");

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn target_columns_of_a_real_mysql_table() {
    let url = std::env::var("HANDOFF_TEST_MYSQL_URL")
        .expect("this test needs MariaDB or MySQL: set HANDOFF_TEST_MYSQL_URL");
    let table = format!("cols_{}", std::process::id());
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    // The table name is made here from the process id: nothing to inject.
    for sql in [
        format!("DROP TABLE IF EXISTS {table}"),
        format!(
            "CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             patient_name VARCHAR(200) NOT NULL, visits INT DEFAULT 0)"
        ),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
    }
    let parsed = reqwest::Url::parse(&url).unwrap();
    let s = Served::start().await;
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations/columns",
            Some(json!({"config": {
                "name": "My", "kind": "database",
                "database": {"type": "mysql", "hostname": parsed.host_str().unwrap(),
                             "port": parsed.port().unwrap_or(3306),
                             "database": parsed.path().trim_start_matches('/'),
                             "username": parsed.username(), "ssl": false,
                             "table": table, "fieldMapping": {}}
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cols = body["columns"].as_array().unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "patient_name", "visits"]);
    assert_eq!(cols[0]["generated"], true, "auto-increment");
    assert_eq!(cols[1]["nullable"], false);
    assert_eq!(cols[2]["hasDefault"], true);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn removing_the_demo_removes_exactly_the_demo_and_keeps_history() {
    let s = Served::start().await;
    let (status, demo) = s.call(Method::POST, "/demo", None).await;
    assert_eq!(status, StatusCode::OK, "{demo}");
    let demo_ids: Vec<&str> = demo
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(demo_ids.len(), 2);
    let demo_db = s.dir.path().join("demo").join("clinic.db");
    assert!(demo_db.is_file());

    // The user's own integration, one with a demo-like name but its own target.
    let (status, mine) = s
        .call(
            Method::POST,
            "/integrations",
            Some(api_config("http://127.0.0.1:9/x")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let mut lookalike = api_config("http://127.0.0.1:9/mine");
    lookalike["name"] = json!("Demo EMR API (offline) copy");
    let (status, _) = s.call(Method::POST, "/integrations", Some(lookalike)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, listed) = s.call(Method::GET, "/demo", None).await;
    let mut listed: Vec<&str> = listed["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    listed.sort();
    let mut expected = demo_ids.clone();
    expected.sort();
    assert_eq!(listed, expected);

    // A demo attempt, to see history outlive the removal.
    let (status, _) = s
        .call(
            Method::POST,
            "/handoffs",
            Some(json!({"integration": demo_ids[0], "sessionId": "demo-1",
                        "data": {"fullName": "Ann Lee"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, removed) = s.call(Method::DELETE, "/demo", None).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["removed"].as_array().unwrap().len(), 2);
    assert_eq!(removed["databaseDeleted"], true);
    assert!(!demo_db.exists());

    let (_, left) = s.call(Method::GET, "/integrations", None).await;
    let mut names: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Demo EMR API (offline) copy", "EMR"]);
    let (_, history) = s.call(Method::GET, "/attempts?session=demo-1", None).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");

    // Again: nothing left to remove, not an error.
    let (status, again) = s.call(Method::DELETE, "/demo", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["removed"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_demo_file_stays_while_another_integration_uses_it() {
    let s = Served::start().await;
    let (status, _) = s.call(Method::POST, "/demo", None).await;
    assert_eq!(status, StatusCode::OK);
    let demo_db = s.dir.path().join("demo").join("clinic.db");
    let mut mine = sqlite_config(&demo_db.display().to_string(), "patient_data");
    mine["name"] = json!("My copy of the demo table");
    let (status, body) = s.call(Method::POST, "/integrations", Some(mine)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, removed) = s.call(Method::DELETE, "/demo", None).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["removed"].as_array().unwrap().len(), 2);
    assert_eq!(removed["databaseDeleted"], false);
    assert!(
        demo_db.is_file(),
        "the file another integration uses is kept"
    );
    let (_, left) = s.call(Method::GET, "/integrations", None).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_uploaded_history_file_is_browsed_read_only_then_closed() {
    // The history to export: one delivered handoff on another console.
    let source = Served::start().await;
    let sink = Sink::start().await;
    let (_, saved) = source
        .call(
            Method::POST,
            "/integrations",
            Some(api_config(&format!("{}/p", sink.url))),
        )
        .await;
    let id = saved["id"].as_str().unwrap();
    let (status, _) = source
        .call(
            Method::POST,
            "/handoffs",
            Some(json!({"integration": id, "sessionId": "s-9", "data": {"fullName": "Ann Lee"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let file = source.dir.path().join("export.history");
    source
        .app
        .export_history(&file, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();

    let s = Served::start().await;
    let resp = s
        .req(Method::POST, "/history-files?name=export.history")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let opened: Value = resp.json().await.unwrap();
    assert_eq!(opened["name"], "export.history");
    let fid = opened["id"].as_str().unwrap().to_string();

    let (status, attempts) = s
        .call(Method::GET, &format!("/history-files/{fid}/attempts"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{attempts}");
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["sessionId"], "s-9");
    assert_eq!(attempts[0]["status"], "succeeded");
    let (status, stats) = s
        .call(Method::GET, &format!("/history-files/{fid}/stats"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["succeeded"], 1);
    let (status, audit) = s
        .call(Method::GET, &format!("/history-files/{fid}/audit"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "integration.created"),
        "{audit}"
    );
    // The live console's own history is not the file's.
    let (_, live) = s.call(Method::GET, "/attempts", None).await;
    assert_eq!(live.as_array().unwrap().len(), 0);

    let copies = || {
        std::fs::read_dir(s.dir.path().join("history-files"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(copies(), 1);
    let (status, _) = s
        .call(Method::DELETE, &format!("/history-files/{fid}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(copies(), 0, "the uploaded copy is deleted when closed");
    let (status, body) = s
        .call(Method::GET, &format!("/history-files/{fid}/attempts"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // At most four stay open: a fifth closes the oldest (and deletes its copy).
    let mut ids = Vec::new();
    for _ in 0..5 {
        let resp = s
            .req(Method::POST, "/history-files?name=again.history")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let v: Value = resp.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (_, listed) = s.call(Method::GET, "/history-files", None).await;
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ids[1..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/history-files/{}/stats", ids[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(copies(), 4);
}

#[tokio::test]
async fn a_damaged_or_foreign_or_empty_history_file_is_refused_clearly_and_not_kept() {
    let s = Served::start().await;
    let upload = |bytes: Vec<u8>| {
        s.req(Method::POST, "/history-files?name=x.history")
            .body(bytes)
            .send()
    };
    let resp = upload(b"this is not a database at all, just text".repeat(200))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "historyFile", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("'x.history'"), "{body}");
    assert!(
        !message.contains("upload-"),
        "the copy's path is not shown: {body}"
    );

    // A SQLite file that is not an export (the console's own store).
    let store = std::fs::read(s.dir.path().join("handoff.db")).ok();
    if let Some(store) = store {
        let resp = upload(store).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("export_meta"),
            "{body}"
        );
    }

    let resp = upload(Vec::new()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "file");

    let left: Vec<_> = std::fs::read_dir(s.dir.path().join("history-files"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "refused uploads leave no copy behind: {left:?}"
    );
}

#[tokio::test]
async fn demo_samples_need_the_demo_then_send_one_live_handoff_to_each() {
    let s = Served::start().await;
    let (status, body) = s.call(Method::POST, "/demo/samples", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["kind"], "notFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("create the demo first"),
        "{body}"
    );

    let (status, demo) = s.call(Method::POST, "/demo", None).await;
    assert_eq!(status, StatusCode::OK, "{demo}");
    let (status, samples) = s.call(Method::POST, "/demo/samples", None).await;
    assert_eq!(status, StatusCode::OK, "{samples}");
    let results = samples["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{samples}");
    for r in results {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["integrationId", "integrationName", "result", "error"],
            "{r}"
        );
        assert!(r["error"].is_null(), "{r}");
    }
    let find = |name: &str| {
        results
            .iter()
            .find(|r| r["integrationName"] == name)
            .unwrap_or_else(|| panic!("no {name} in {samples}"))
    };
    let db = &find("Demo clinic database")["result"];
    assert_eq!(db["success"], true, "{db}");
    assert_eq!(db["handoffStatus"], "succeeded", "{db}");
    let api = &find("Demo EMR API (offline)")["result"];
    assert_eq!(api["success"], false, "{api}");
    assert_eq!(api["category"], "network", "{api}");
    assert!(
        api["nextRetryAt"].is_string(),
        "a retry is scheduled: {api}"
    );
    assert_eq!(
        api["handoffStatus"], "pending",
        "waiting for its retry: {api}"
    );

    // The failure and the delivery are in the history, live, under one demo session.
    let (_, history) = s.call(Method::GET, "/attempts?trigger=live", None).await;
    let rows = history.as_array().expect("attempts");
    assert_eq!(rows.len(), 2, "{history}");
    let session = rows[0]["sessionId"].as_str().unwrap();
    assert!(session.starts_with("demo-"), "{session}");
    assert!(rows.iter().all(|r| r["sessionId"] == session), "{history}");
}

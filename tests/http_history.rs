//! The Stats panel's history over the real HTTP API (the router on a loopback listener, a real
//! store, a real loopback target): pages with offset and total, every sort both ways, text
//! search, bad input naming its field, the CSV export (quoting, formula protection, masked
//! data only) and the attempt detail's masked data.

mod common;

use common::{Reply, Sink};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

const NAME: &str = "Zelda Quux";
const EMAIL: &str = "zelda.quux@example.com";
const TOKEN: &str = "test-token-history";

struct Api {
    base: String,
    http: reqwest::Client,
    app: Arc<App>,
    _dir: tempfile::TempDir,
    _sink: Sink,
}

impl Api {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn page(&self, query: &str) -> Value {
        let (status, body) = self.get(&format!("/attempts/page?{query}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The field an `invalid` answer names.
    async fn invalid_field(&self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["error"]["kind"], "invalid", "{body}");
        body["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn config(name: &str, url: &str) -> Value {
    json!({
        "name": name, "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true},
                   {"name": "email", "type": "email"}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST",
                "payloadStructure": {"name": "{{fullName}}", "email": "{{email}}"}},
        "retry": {"maxAttempts": 1}
    })
}

/// A console served on loopback with `sessions` handoffs: the even ones to `emr` (every third
/// of all refused with 422), the odd ones to `lab`.
async fn served(sessions: &[String]) -> Api {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::open(dir.path()).await.unwrap());
    for name in ["emr", "lab"] {
        let config = serde_json::from_value(config(name, &sink.url)).unwrap();
        app.add_integration(config).await.unwrap();
    }
    let data = json!({"fullName": NAME, "email": EMAIL});
    for (i, session) in sessions.iter().enumerate() {
        let reply = if i % 3 == 0 {
            Reply::json(422, json!({"message": "rejected by the clinic"}))
        } else {
            Reply::json(201, json!({"id": format!("sub-{i}")}))
        };
        sink.then([reply]);
        let integration = if i % 2 == 0 { "emr" } else { "lab" };
        app.send(integration, session, data.clone(), Trigger::Live)
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = handoff_console::http::router(Arc::clone(&app), TOKEN.to_string());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        app,
        _dir: dir,
        _sink: sink,
    }
}

fn sessions(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sess-{i:02}")).collect()
}

fn rows(page: &Value) -> &Vec<Value> {
    page["rows"].as_array().unwrap()
}

#[tokio::test]
async fn pages_have_an_offset_and_the_total_and_neither_overlap_nor_skip() {
    let api = served(&sessions(30)).await;
    let mut seen = HashSet::new();
    let mut starts = Vec::new();
    for offset in [0, 10, 20, 30] {
        let page = api.page(&format!("limit=10&offset={offset}")).await;
        assert_eq!(page["total"], 30);
        assert_eq!(page["offset"], offset);
        let expected = if offset == 30 { 0 } else { 10 };
        assert_eq!(rows(&page).len(), expected, "offset {offset}");
        for r in rows(&page) {
            assert!(seen.insert(r["attemptId"].as_str().unwrap().to_string()));
            // As times: serialised RFC 3339 leaves out a zero fraction (`…:34Z` sorts after
            // `…:34.5Z` as text, and before it in time).
            starts.push(
                chrono::DateTime::parse_from_rfc3339(r["startedAt"].as_str().unwrap()).unwrap(),
            );
        }
    }
    assert_eq!(seen.len(), 30);
    let mut newest_first = starts.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, newest_first, "newest first by default");

    // Filters narrow the total too.
    let failed = api.page("status=failed&limit=100").await;
    assert_eq!(failed["total"], 10);
    assert!(rows(&failed).iter().all(|r| r["status"] == "failed"));
    let emr = api.page("integration=emr&limit=100").await;
    assert_eq!(emr["total"], 15);
    let one = api.page("session=sess-07").await;
    assert_eq!(one["total"], 1);
    assert_eq!(rows(&one)[0]["sessionId"], "sess-07");
}

#[tokio::test]
async fn every_sort_orders_its_column_both_ways() {
    let api = served(&sessions(12)).await;
    for (sort, field) in [
        ("startedAt", "startedAt"),
        ("durationMs", "durationMs"),
        ("status", "status"),
        ("integration", "integrationName"),
        ("sessionId", "sessionId"),
    ] {
        for order in ["asc", "desc"] {
            let page = api.page(&format!("sort={sort}&order={order}")).await;
            let values: Vec<Value> = rows(&page).iter().map(|r| r[field].clone()).collect();
            assert_eq!(values.len(), 12);
            let key = |v: &Value| match v {
                Value::Number(n) => format!("{:020}", n.as_u64().unwrap()),
                // Times compare as instants: RFC 3339 text leaves out a zero fraction, so
                // `…:38Z` sorts after `…:38.003Z` as text and before it in time.
                Value::String(s) if field == "startedAt" => format!(
                    "{:020}",
                    chrono::DateTime::parse_from_rfc3339(s)
                        .unwrap()
                        .timestamp_micros()
                ),
                Value::String(s) => s.clone(),
                other => panic!("{sort}: {other}"),
            };
            let mut sorted = values.clone();
            sorted.sort_by_key(key);
            if order == "desc" {
                sorted.reverse();
            }
            assert_eq!(
                values.iter().map(key).collect::<Vec<_>>(),
                sorted.iter().map(key).collect::<Vec<_>>(),
                "sort={sort}&order={order}"
            );
        }
    }
    // Pages of a sorted list continue each other.
    let whole = api.page("sort=sessionId&order=asc&limit=12").await;
    let first = api.page("sort=sessionId&order=asc&limit=5").await;
    let second = api.page("sort=sessionId&order=asc&limit=5&offset=5").await;
    let ids =
        |p: &Value| -> Vec<Value> { rows(p).iter().map(|r| r["attemptId"].clone()).collect() };
    assert_eq!(
        [ids(&first), ids(&second)].concat(),
        ids(&whole)[..10].to_vec()
    );
}

#[tokio::test]
async fn search_matches_session_message_integration_name_and_masked_values_literally() {
    let mut names = sessions(20);
    names.push("odd%_session".to_string());
    let api = served(&names).await;
    let by_session = api.page("q=sess-1&limit=100").await;
    assert_eq!(by_session["total"], 10, "sess-10 to sess-19");
    assert!(
        rows(&by_session)
            .iter()
            .all(|r| r["sessionId"].as_str().unwrap().starts_with("sess-1"))
    );
    let by_name = api.page("q=LAB&limit=100").await;
    assert_eq!(by_name["total"], 10, "case-insensitive integration name");
    let failed = api.page("status=failed&limit=1").await;
    let message = rows(&failed)[0]["message"].as_str().unwrap().to_string();
    assert!(!message.is_empty());
    let by_message = api
        .page(&format!("q={}&limit=100", urlencode(&message)))
        .await;
    assert!(by_message["total"].as_u64().unwrap() >= 1);
    assert!(
        rows(&by_message)
            .iter()
            .all(|r| r["message"].as_str().unwrap().contains(&message))
    );
    // % and _ are not wildcards.
    let literal = api.page("q=%25_&limit=100").await;
    assert_eq!(literal["total"], 1);
    assert_eq!(rows(&literal)[0]["sessionId"], "odd%_session");
    // The masked values are searched (the email's domain, the name's initials); the raw values
    // never are: they are sealed, and the index holds only masked copies.
    let by_domain = api.page("q=EXAMPLE.com&limit=100").await;
    assert_eq!(by_domain["total"], 21, "every handoff's masked email");
    let by_initials = api.page("q=Z***%20Q***&limit=100").await;
    assert_eq!(by_initials["total"], 21, "every handoff's masked name");
    for raw in ["Zelda", "Quux", "zelda.quux"] {
        assert_eq!(api.page(&format!("q={raw}")).await["total"], 0, "{raw}");
    }
    let none = api.page("q=nothing-like-this").await;
    assert_eq!(none["total"], 0);
    assert!(rows(&none).is_empty());
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn bad_paging_sorting_and_search_are_invalid_naming_the_field() {
    let api = served(&sessions(1)).await;
    assert_eq!(api.invalid_field("/attempts/page?sort=nope").await, "sort");
    assert_eq!(api.invalid_field("/attempts/page?order=up").await, "order");
    assert_eq!(api.invalid_field("/attempts/page?limit=0").await, "limit");
    assert_eq!(
        api.invalid_field("/attempts/page?limit=1001").await,
        "limit"
    );
    assert_eq!(
        api.invalid_field("/attempts/page?offset=100000001").await,
        "offset"
    );
    let long = "x".repeat(201);
    assert_eq!(
        api.invalid_field(&format!("/attempts/page?q={long}")).await,
        "q"
    );
    assert_eq!(
        api.invalid_field("/attempts/page?status=lost").await,
        "status"
    );
    assert_eq!(
        api.invalid_field("/attempts/page?since=yesterdayish").await,
        "since"
    );
    assert_eq!(api.invalid_field("/attempts.csv?sort=nope").await, "sort");
    assert_eq!(api.invalid_field("/attempts.csv?offset=10").await, "offset");
    // The list route takes the same sort and search.
    assert_eq!(api.invalid_field("/attempts?sort=nope").await, "sort");
    // Without the token, nothing.
    let r = api
        .http
        .get(format!("{}/api/v1/attempts/page", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = api
        .http
        .get(format!("{}/api/v1/attempts.csv", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// RFC 4180 reading, enough for the test: quoted cells with doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        row.is_empty() && cell.is_empty(),
        "the CSV ends with a line break"
    );
    rows
}

#[tokio::test]
async fn the_csv_export_quotes_defuses_formulas_and_holds_masked_data_only() {
    let tricky = [
        "=HYPERLINK(\"http://evil\")",
        "+41 22",
        "-3",
        "@SUM(A1)",
        "comma, \"quoted\"",
        "plain-session",
    ];
    let api = served(&tricky.map(str::to_string)).await;
    let r = api
        .http
        .get(format!("{}/api/v1/attempts.csv?sort=sessionId", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(r.headers()["x-total-count"], "6");
    assert_eq!(r.headers()["x-exported-rows"], "6");
    let text = r.text().await.unwrap();
    assert!(!text.contains(NAME), "no raw name in the export");
    assert!(!text.contains(EMAIL), "no raw email in the export");
    assert!(!text.contains("Quux"), "not even part of it");

    let table = parse_csv(&text);
    let header = &table[0];
    assert_eq!(header[0], "attemptId");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(table.len(), 7);
    let sessions: HashSet<&str> = table[1..]
        .iter()
        .map(|r| r[col("sessionId")].as_str())
        .collect();
    for expected in [
        "'=HYPERLINK(\"http://evil\")",
        "'+41 22",
        "'-3",
        "'@SUM(A1)",
        "comma, \"quoted\"",
        "plain-session",
    ] {
        assert!(sessions.contains(expected), "{expected} in {sessions:?}");
    }
    // The masked copy rides along, and it is the one the detail shows.
    let any = &table[1];
    assert_eq!(any.len(), header.len());
    let masked: Value = serde_json::from_str(&any[col("maskedData")]).unwrap();
    let (_, detail) = api
        .get(&format!("/attempts/{}", any[col("attemptId")]))
        .await;
    assert_eq!(masked, detail["maskedData"]);

    // A filter narrows the export.
    let r = api
        .http
        .get(format!("{}/api/v1/attempts.csv?status=failed", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "2");
    let table = parse_csv(&r.text().await.unwrap());
    assert_eq!(table.len(), 3);
    assert!(table[1..].iter().all(|r| r[col("status")] == "failed"));

    // The desktop's text export is the same CSV.
    let q = handoff_console::service::requests::HistoryQuery {
        sort: Some(handoff_console::attempts::SortKey::SessionId),
        ..Default::default()
    };
    let text_export = api.app.history_csv_query(&q).await.unwrap();
    assert_eq!(parse_csv(&text_export), parse_csv(&text));
}

#[tokio::test]
async fn the_attempt_detail_has_masked_data_and_no_raw_values() {
    let api = served(&sessions(2)).await;
    let page = api.page("").await;
    let id = rows(&page)[0]["attemptId"].as_str().unwrap().to_string();
    let r = api
        .http
        .get(format!("{}/api/v1/attempts/{id}", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(NAME), "{text}");
    assert!(!text.contains(EMAIL), "{text}");
    let detail: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(detail["attempt"]["attemptId"], id);
    assert_eq!(detail["retryChain"].as_array().unwrap().len(), 1);
    let masked = &detail["maskedData"];
    assert!(masked["fullName"].is_string(), "{masked}");
    assert_ne!(masked["fullName"], NAME);
    assert!(masked["email"].is_string(), "{masked}");
    assert_ne!(masked["email"], EMAIL);

    // The reveal shows the raw data (audited server-side).
    let handoff = detail["attempt"]["handoffId"].as_str().unwrap();
    let r = api
        .http
        .post(format!("{}/api/v1/handoffs/{handoff}/reveal", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let revealed: Value = r.json().await.unwrap();
    assert_eq!(revealed["data"]["fullName"], NAME);
}

// ---- exports ----

impl Api {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// Polls a job to its end; its last status.
    async fn finished(&self, job: &Value) -> Value {
        let id = job["jobId"].as_u64().expect("a job id");
        for _ in 0..1500 {
            let (status, s) = self.get(&format!("/jobs/{id}")).await;
            assert_eq!(status, 200, "{s}");
            if s["finished"] == true {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the export job never finished");
    }

    async fn download(&self, name: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/api/v1/exports/{name}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }
}

#[tokio::test]
async fn an_export_from_the_ui_writes_a_history_file_the_browser_downloads() {
    let api = served(&sessions(6)).await;
    let (status, job) = api.post("/exports", json!({})).await;
    assert_eq!(status, 200, "{job}");
    let done = api.finished(&job).await;
    assert!(done["error"].is_null(), "{done}");
    assert_eq!(done["kind"], "export");
    assert_eq!(
        (done["done"].as_u64(), done["total"].as_u64()),
        (Some(6), Some(6))
    );
    let result = &done["result"];
    let name = result["fileName"].as_str().expect("fileName");
    assert!(handoff_console::service::is_export_name(name), "{name}");
    assert!(name.ends_with(".sqlite"), "{name}");
    assert_eq!(result["rows"], 6, "{result}");
    assert_eq!(result["attempts"], 6, "{result}");
    assert_eq!(result["handoffs"], 6, "{result}");
    let path = std::path::PathBuf::from(result["path"].as_str().expect("path"));
    assert_eq!(path, api.app.exports_dir().join(name));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(result["bytes"], bytes.len() as u64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "the file is its owner's only");
        assert_eq!(mode(&api.app.exports_dir()), 0o700, "so is the folder");
    }

    // A real history file: it opens read-only and holds the attempts, masked.
    let file = App::open_history(&path).await.expect("the export opens");
    let attempts = file
        .history(&handoff_console::attempts::HistoryFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(attempts.len(), 6);
    assert!(
        !String::from_utf8_lossy(&bytes).contains(NAME),
        "raw data in the export"
    );
    file.close().await;

    // The download is the same bytes, as an attachment.
    let res = api.download(name, Some(TOKEN)).await;
    assert_eq!(res.status().as_u16(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(disposition, format!("attachment; filename=\"{name}\""));
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // Audited as the CLI's export is.
    let audit = api
        .app
        .audit_log(&handoff_console::audit::AuditFilter::default())
        .await
        .unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action.as_str() == "history.exported")
        .expect("a history.exported entry");
    assert_eq!(entry.details["rows"], 6);
    assert_eq!(entry.details["destination"], path.display().to_string());

    // A filter takes the CLI's syntax; a second export gets a name of its own.
    let (status, job) = api
        .post("/exports", json!({"integration": "lab", "since": "1h"}))
        .await;
    assert_eq!(status, 200, "{job}");
    let second = api.finished(&job).await;
    assert_eq!(second["result"]["rows"], 3, "{second}");
    assert_ne!(second["result"]["fileName"], name);
}

#[tokio::test]
async fn an_export_refuses_bad_filters_and_serves_only_its_own_files() {
    let api = served(&sessions(2)).await;
    assert_eq!(
        api.post("/exports", json!({"since": "last tuesday"}))
            .await
            .0,
        422
    );
    let (status, body) = api.post("/exports", json!({"integration": "nope"})).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api.post("/exports", json!({"out": "/tmp/x"})).await;
    assert_eq!(status, 422, "{body}");

    let (_, job) = api.post("/exports", json!({})).await;
    let name = api.finished(&job).await["result"]["fileName"]
        .as_str()
        .unwrap()
        .to_string();
    // Another file in the data dir, and one beside the exports that is not one.
    std::fs::write(api.app.exports_dir().join("notes.sqlite"), b"private").unwrap();
    for bad in [
        "notes.sqlite",
        "..%2Fstore.db",
        "%2E%2E%2Fstore.db",
        "handoff-history-20000101-000000.sqlite",
        "store.db",
    ] {
        let res = api.download(bad, Some(TOKEN)).await;
        assert_eq!(res.status().as_u16(), 404, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["kind"], "notFound", "{bad}: {body}");
    }
    // The token is needed, as on every route.
    assert_eq!(api.download(&name, None).await.status().as_u16(), 401);
    assert_eq!(
        api.download(&name, Some("wrong")).await.status().as_u16(),
        401
    );
}

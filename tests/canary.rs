//! The canary test: every capability is run through the real CLI, with logs at trace level,
//! on integrations holding canary credentials and handoffs carrying canary patient data. Then
//! every file in the data dir, the export, and everything the CLI printed (stdout and the trace
//! logs on stderr) is searched: no canary credential anywhere, and no raw canary value anywhere
//! (the data is stored sealed; `reveal`, which shows it on purpose, is not run).

mod common;

use common::{Reply, Sink, cli, closed_port};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const CREDENTIALS: [&str; 5] = [
    "CANARY-TOKEN-b7e1c0d4",
    "CANARY-PASSWORD-5f9a",
    "CANARY-APIKEY-2c8d",
    "CANARY-DBPASS-61aa",
    "CANARY-HEADER-93d0",
];
const PII: [&str; 3] = [
    "Canary Zyxwvut",
    "canary.zyx@example.com",
    "+1 555 010 9999",
];

struct Console {
    data_dir: PathBuf,
    /// Everything every command printed, stdout and stderr.
    printed: String,
    /// Commands that did not end with 0 (success) or 1 (a delivery or check failed).
    broken: Vec<String>,
}

impl Console {
    fn run(&mut self, args: &[&str], stdin: Option<&str>) -> (i32, String) {
        use std::io::Write;
        let mut child = cli()
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env("RUST_LOG", "trace")
            .env("HANDOFF_SECRETS", "vault")
            .env("HANDOFF_VAULT_PASSPHRASE", "canary test passphrase")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        self.printed.push_str(&stdout);
        self.printed.push_str(&stderr);
        let code = out.status.code().unwrap_or(-1);
        if !(0..=1).contains(&code) {
            // Only the tail of stdout: stderr holds trace logs.
            let tail: String = stdout
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            self.broken.push(format!("{args:?} exited {code}: {tail}"));
        }
        (code, stdout)
    }

    fn add(&mut self, config: Value) -> String {
        let file = self.data_dir.with_extension("cfg.json");
        std::fs::write(&file, config.to_string()).unwrap();
        let (code, out) = self.run(
            &[
                "integration",
                "add",
                "--file",
                file.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(code, 0, "{out}");
        serde_json::from_str::<Value>(&out).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_credential_or_raw_value_is_anywhere_after_every_capability() {
    let root = tempfile::tempdir().unwrap();
    let mut c = Console {
        data_dir: root.path().join("data"),
        printed: String::new(),
        broken: Vec::new(),
    };
    let sink = Sink::start().await;
    let fields = json!([{"name": "fullName", "type": "name", "required": true},
                        {"name": "email", "type": "email"}, {"name": "phone", "type": "phone"}]);
    let payload =
        json!({"patient": "{{fullName}}", "contact": {"email": "{{email}}", "phone": "{{phone}}"}});
    let bearer = c.add(json!({
        "name": "bearer api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/patients", sink.url), "method": "POST",
                "payloadStructure": payload,
                "headers": {"X-Client-Secret": CREDENTIALS[4]},
                "authentication": {"type": "bearer", "credentials": {"token": CREDENTIALS[0]}},
                "healthCheck": {"path": "/health"}},
        "retry": {"maxAttempts": 3, "baseDelayMs": 10}
    }));
    c.add(json!({
        "name": "basic api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/basic", sink.url), "method": "PUT",
                "authentication": {"type": "basic", "credentials": {"username": "clinic", "password": CREDENTIALS[1]}}},
        "retry": {"maxAttempts": 1}
    }));
    c.add(json!({
        "name": "key api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/key", sink.url), "method": "GET",
                "authentication": {"type": "api-key", "credentials": {"key": CREDENTIALS[2], "query": "api_key"}}},
        "retry": {"maxAttempts": 1}
    }));
    let db = root.path().join("clinic.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT)",
        )
        .unwrap();
    }
    c.add(json!({
        "name": "clinic db", "kind": "database", "fields": fields,
        "database": {"type": "sqlite", "database": db.to_str().unwrap(), "table": "patients",
                     "password": CREDENTIALS[3],
                     "fieldMapping": {"fullName": "name", "email": "email", "phone": "phone"}}
    }));
    // Each target echoes everything back: the data and the credential it was sent.
    let echo = |credential: &str| {
        json!({"message": format!("rejected {} {} {} (credential {credential})", PII[0], PII[1], PII[2]),
               "received": {"patient": PII[0], "credential": credential}})
    };
    sink.then([
        Reply::json(503, echo(CREDENTIALS[0])),
        Reply::json(422, echo(CREDENTIALS[1])),
        Reply::json(200, echo(CREDENTIALS[2])),
    ]);
    let data = json!({"fullName": PII[0], "email": PII[1], "phone": PII[2]}).to_string();
    for (integration, session) in [
        ("bearer api", "s-1"),
        ("basic api", "s-2"),
        ("key api", "s-3"),
        ("clinic db", "s-4"),
    ] {
        c.run(
            &[
                "send",
                "--integration",
                integration,
                "--session",
                session,
                "--data",
                "-",
                "--json",
            ],
            Some(&data),
        );
    }
    c.run(
        &["integration", "set-secret", "basic api", "api.password"],
        Some(CREDENTIALS[1]),
    );
    let (_, history) = c.run(&["history", "--json"], None);
    let attempts: Vec<Value> = serde_json::from_str(&history).unwrap();
    assert_eq!(attempts.len(), 4, "{history}");
    let failed = attempts.iter().find(|a| a["status"] == "failed").unwrap()["attemptId"]
        .as_str()
        .unwrap()
        .to_string();
    c.run(&["show-attempt", &failed, "--json"], None);
    c.run(&["show-attempt", &failed], None);
    c.run(&["retry", &failed, "--json"], None);
    c.run(&["retry", "--failed", "--json"], None);
    c.run(&["worker", "--once", "--json"], None);
    c.run(&["stats", "--json"], None);
    c.run(&["stats", "--exact"], None);
    c.run(&["health", "--json", "--timeout-ms", "2000"], None);
    c.run(
        &[
            "test",
            "--integration",
            "clinic db",
            "--generate",
            "--seed",
            "5",
        ],
        None,
    );
    c.run(
        &[
            "test",
            "--integration",
            "bearer api",
            "--generate",
            "--preview",
            "--json",
        ],
        None,
    );
    c.run(&["integration", "show", &bearer], None);
    c.run(&["integration", "list", "--json"], None);
    c.run(&["secrets", "status", "--json"], None);
    c.run(&["keys", "rotate", "--json"], None);
    let export = root.path().join("history.hcx");
    let (code, out) = c.run(
        &["export", "--out", export.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    c.run(
        &["--history-file", export.to_str().unwrap(), "history"],
        None,
    );
    c.run(
        &[
            "--history-file",
            export.to_str().unwrap(),
            "stats",
            "--json",
        ],
        None,
    );
    c.run(&["audit", "--json"], None);
    c.run(&["audit"], None);
    assert!(c.printed.contains("TRACE"), "the logs ran at trace level");
    assert!(
        c.broken.is_empty(),
        "commands that did not run: {:#?}",
        c.broken
    );

    let mut places: Vec<(String, Vec<u8>)> = files_under(&c.data_dir)
        .into_iter()
        .chain([export])
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    places.push((
        "what the CLI printed".into(),
        c.printed.clone().into_bytes(),
    ));
    let export_bytes = &places[places.len() - 2].1;
    assert!(
        !holds(export_bytes, "hc1:"),
        "a sealed payload is in the export"
    );
    for (place, bytes) in &places {
        for canary in CREDENTIALS.iter().chain(PII.iter()) {
            assert!(!holds(bytes, canary), "{canary} found in {place}");
        }
    }
    // The target did get the real values (so the run was not vacuous).
    let got = sink.received();
    assert!(
        got.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(PII[0]))
    );
    let db_bytes = std::fs::read(&db).unwrap();
    assert!(
        holds(&db_bytes, PII[0]),
        "the clinic's own table has the data"
    );
}

// ---------------------------------------------------------------------------------------------
// Structural masking: what an attempt records holds each collected value's mask in its place,
// whatever form the target needed; only what the target echoes back is masked by search.
// Each target kind runs the same canary data through a console served in-process (its logs
// captured at debug level), then the store file, the API, the CSV and history exports, and
// the logs are searched for every form of every canary value.
// ---------------------------------------------------------------------------------------------

mod common_db;

use common::Served;
use std::sync::{Arc, Mutex, OnceLock};

/// Numeric text and a phone an INTEGER column takes, date-times with an offset and with a space
/// separator, a two-character name, the same value in two fields, and a boolean.
fn canary_fields() -> Value {
    json!([
        {"name": "firstName", "type": "first_name", "required": true},
        {"name": "lastName", "type": "last_name"},
        {"name": "nickname", "type": "text"},
        {"name": "memberNo", "type": "text"},
        {"name": "phone", "type": "phone"},
        {"name": "seenAt", "type": "datetime"},
        {"name": "bookedAt", "type": "datetime"},
        {"name": "consent", "type": "boolean"}
    ])
}

/// A two-character name with a letter no base64, hex or id text has, so that searching the
/// store's bytes for it finds only what the console wrote.
const SHORT: &str = "Lü";
const REPEATED: &str = "Quillon";
const MEMBER_NO: &str = "73951846";
const PHONE: &str = "5550104477";
/// 14:41:27 UTC: converted for a TIMESTAMPTZ column.
const SEEN_AT: &str = "2031-07-19T09:41:27-05:00";
const BOOKED_AT: &str = "2031-07-18 08:16:52";

fn canary_data() -> Value {
    json!({"firstName": REPEATED, "lastName": SHORT, "nickname": REPEATED, "memberNo": MEMBER_NO,
           "phone": PHONE, "seenAt": SEEN_AT, "bookedAt": BOOKED_AT, "consent": "yes"})
}

/// Every form a canary value may be recorded in: as collected, JSON- and URL-encoded, and as the
/// console converts it (a date-time in UTC with `T` or a space: the date is in every form; the
/// masks keep only the year).
const CANARY_FORMS: [&str; 9] = [
    REPEATED,
    SHORT,
    "L\\u00fc",
    "L\\u00FC",
    "L%C3%BC",
    MEMBER_NO,
    PHONE,
    "2031-07-19",
    "2031-07-18",
];

/// What the console logs, at debug level, for the whole test process.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn captured_logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
}

/// A served console whose logs are captured.
async fn canary_console() -> Served {
    captured_logs();
    Served::start().await
}

async fn send(s: &Served, integration: &str, session: &str, data: Value) -> Value {
    let (status, result) = s
        .post(
            "/handoffs",
            json!({"integration": integration, "sessionId": session, "data": data}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    result
}

/// Each attempt as the API shows it (`GET /attempts/{id}`), by session id.
async fn attempts_by_session(s: &Served) -> Vec<(String, Value)> {
    let (status, list) = s.get("/attempts?limit=1000").await;
    assert_eq!(status, 200, "{list}");
    let mut out = Vec::new();
    for a in list.as_array().unwrap() {
        let id = a["attemptId"].as_str().unwrap();
        let (status, view) = s.get(&format!("/attempts/{id}")).await;
        assert_eq!(status, 200, "{view}");
        out.push((a["sessionId"].as_str().unwrap().to_string(), view));
    }
    out
}

/// The recorded request of the newest attempt of `session`.
fn recorded_request(attempts: &[(String, Value)], session: &str) -> Value {
    attempts
        .iter()
        .find(|(s, _)| s == session)
        .unwrap_or_else(|| panic!("no attempt of {session}"))
        .1["attempt"]["request"]
        .clone()
}

/// A database request's bound value for `field` (or for the fixed `column`).
fn param(request: &Value, key: &str, name: &str) -> Value {
    request["params"]
        .as_array()
        .unwrap_or_else(|| panic!("no params in {request}"))
        .iter()
        .find(|p| p[key] == name)
        .unwrap_or_else(|| panic!("no param with {key} {name} in {request}"))["value"]
        .clone()
}

/// Everything the console shows or keeps after the sends: the API's answers, the CSV and
/// history exports, every file in the data dir (the store, its WAL, the export), and the logs.
async fn every_place(s: &Served) -> Vec<(String, Vec<u8>)> {
    let mut places = Vec::new();
    for path in [
        "/attempts?limit=1000",
        "/attempts/page?limit=1000",
        "/handoffs/page?limit=1000",
        "/handoffs?limit=1000",
        "/stats",
    ] {
        let (status, body) = s.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        places.push((format!("GET {path}"), body.to_string().into_bytes()));
    }
    for (session, view) in attempts_by_session(s).await {
        places.push((
            format!("GET /attempts/<id> of {session}"),
            view.to_string().into_bytes(),
        ));
    }
    let csv = s
        .req(reqwest::Method::GET, "/attempts.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    places.push((
        "GET /attempts.csv".into(),
        csv.bytes().await.unwrap().to_vec(),
    ));
    let (status, job) = s.post("/exports", json!({})).await;
    assert_eq!(status, 200, "{job}");
    let done = s.wait(job["jobId"].as_u64().unwrap()).await;
    let result = &done.last().unwrap()["result"];
    let export = PathBuf::from(
        result["path"]
            .as_str()
            .unwrap_or_else(|| panic!("{done:?}")),
    );
    places.push(("the history export".into(), std::fs::read(&export).unwrap()));
    for file in files_under(s.dir.path()) {
        places.push((file.display().to_string(), std::fs::read(&file).unwrap()));
    }
    let logs = captured_logs().0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logs).contains("attempt finished"),
        "the logs were captured"
    );
    places.push(("the logs".into(), logs));
    places
}

/// Every (place, form) where a canary value was found.
fn leaks(places: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, bytes) in places {
        for form in CANARY_FORMS {
            if holds(bytes, form) {
                found.push(format!("{form} in {place}"));
            }
        }
    }
    found
}

/// What a canary test found wrong: every problem is reported together, so one run shows every
/// place a value leaked to.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn expect(&mut self, what: &str, got: &Value, want: &Value) {
        if got != want {
            self.0
                .push(format!("{what}: recorded {got}, expected {want}"));
        }
    }
    fn expect_that(&mut self, what: &str, ok: bool) {
        if !ok {
            self.0.push(what.to_string());
        }
    }
    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} problems:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// A target that echoes everything it got (and the values as a database would store them).
fn echo_reply(status: u16, id: Option<&str>) -> Reply {
    let mut body = json!({
        "message": format!(
            "rejected {REPEATED} {SHORT} ({MEMBER_NO}, {PHONE}) seen {SEEN_AT}, booked {BOOKED_AT}"
        ),
        "received": canary_data(),
    });
    if let Some(id) = id {
        body["id"] = json!(id);
    }
    Reply::json(status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_attempts_record_each_collected_value_masked_in_its_place() {
    let s = canary_console().await;
    let sink = Sink::start().await;
    s.add(json!({
        "name": "post api", "kind": "api", "fields": canary_fields(),
        "api": {"endpoint": format!("{}/patients/{{{{memberNo}}}}?last={{{{lastName}}}}", sink.url),
                "method": "POST",
                "payloadStructure": {
                    "patient": {"first": "{{firstName}}", "last": "{{lastName}}", "nick": "{{nickname}}"},
                    "member": "{{memberNo}}", "phone": "{{phone}}", "consent": "{{consent}}",
                    "note": "{{firstName}} {{lastName}} seen {{seenAt}}", "bookedAt": "{{bookedAt}}",
                    "session": "{{sessionId}}"}},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    s.add(json!({
        "name": "get api", "kind": "api", "fields": canary_fields(),
        "api": {"endpoint": format!("{}/lookup", sink.url), "method": "GET"},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    let down = closed_port();
    s.add(json!({
        "name": "down api", "kind": "api", "fields": canary_fields(),
        "api": {"endpoint": format!("http://127.0.0.1:{down}/p/{{{{lastName}}}}/{{{{memberNo}}}}?seen={{{{seenAt}}}}"),
                "method": "POST"},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    sink.then([
        echo_reply(422, None),
        echo_reply(200, Some("sub-echo")),
        echo_reply(200, None),
    ]);
    let rejected = send(&s, "post api", "canary-post", canary_data()).await;
    assert_eq!(rejected["success"], false, "{rejected}");
    let (status, retried) = s
        .post("/retries", json!({"attemptId": rejected["attemptId"]}))
        .await;
    assert_eq!(
        (status.as_u16(), &retried["success"]),
        (200, &json!(true)),
        "{retried}"
    );
    let got = send(&s, "get api", "canary-get", canary_data()).await;
    assert_eq!(got["success"], true, "{got}");
    let refused = send(&s, "down api", "canary-down", canary_data()).await;
    assert_eq!(refused["category"], "network", "{refused}");
    // The targets did get the real values.
    let received = sink.received();
    assert!(String::from_utf8_lossy(&received[0].body).contains(SHORT));
    assert!(received[2].query.as_deref().unwrap().contains(MEMBER_NO));

    // Each field's mask sits where the field went; built-ins and kept types stay as they are.
    let mut problems = Problems(leaks(&every_place(&s).await));
    let attempts = attempts_by_session(&s).await;
    let post = recorded_request(&attempts, "canary-post");
    problems.expect(
        "the POST body",
        &post["body"],
        &json!({"patient": {"first": "Q***", "last": "L***", "nick": "***"},
                "member": "***", "phone": "***-***-4477", "consent": true,
                "note": "Q*** L*** seen 2031-**-**", "bookedAt": "2031-**-**",
                "session": "canary-post"}),
    );
    let url = post["url"].as_str().unwrap_or_default();
    problems.expect_that(
        &format!("the POST url {url} ends with /patients/***?last=L***"),
        url.ends_with("/patients/***?last=L***"),
    );
    let get = recorded_request(&attempts, "canary-get");
    let url = get["url"].as_str().unwrap_or_default();
    for part in ["lastName=L***", "memberNo=***", "consent=true"] {
        problems.expect_that(&format!("the GET url {url} has {part}"), url.contains(part));
    }
    problems.assert_none();
}

fn canary_mapping() -> Value {
    json!({"firstName": "first_name", "lastName": "last_name", "nickname": "nickname",
           "memberNo": "member_no", "phone": "phone", "seenAt": "seen_at", "bookedAt": "booked_at",
           "consent": "consent", "sessionId": "session"})
}

/// Sends the canary data to a database target (its table rejects session `canary-echo` with an
/// error quoting the row as stored), then checks what was recorded.
async fn database_canary(s: &Served, mut database: Value) {
    database["fieldMapping"] = canary_mapping();
    database["fixedValues"] = json!({"clinic": "North"});
    s.add(json!({
        "name": "canary db", "kind": "database", "fields": canary_fields(),
        "database": database, "retry": {"maxAttempts": 1}
    }))
    .await;
    let stored = send(s, "canary db", "canary-ok", canary_data()).await;
    assert_eq!(stored["success"], true, "{stored}");
    let echoed = send(s, "canary db", "canary-echo", canary_data()).await;
    assert_eq!(echoed["success"], false, "{echoed}");
    // The target's own words are kept (masked where they quote the row).
    assert!(
        echoed["message"].as_str().unwrap().contains("rejected"),
        "{echoed}"
    );

    let mut problems = Problems(leaks(&every_place(s).await));
    let attempts = attempts_by_session(s).await;
    let request = recorded_request(&attempts, "canary-ok");
    for (field, masked) in [
        ("firstName", json!("Q***")),
        ("lastName", json!("L***")),
        ("nickname", json!("***")),
        // A text value and a phone bound to INTEGER columns: their masks, not the numbers.
        ("memberNo", json!("***")),
        ("phone", json!("***-***-4477")),
        // Date-times converted for their columns: the masks keep the year only.
        ("seenAt", json!("2031-**-**")),
        ("bookedAt", json!("2031-**-**")),
        // Kept types, built-ins and fixed values as bound.
        ("consent", json!(true)),
        ("sessionId", json!("canary-ok")),
    ] {
        problems.expect(field, &param(&request, "field", field), &masked);
    }
    problems.expect(
        "clinic",
        &param(&request, "column", "clinic"),
        &json!("North"),
    );
    problems.assert_none();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_canary_sqlite_records_masks_in_place_of_converted_values() {
    let s = canary_console().await;
    let target = tempfile::tempdir().unwrap();
    let file = target.path().join("clinic.db");
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(
            "CREATE TABLE patients (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
               nickname TEXT, member_no INTEGER, phone INTEGER, seen_at TIMESTAMPTZ,
               booked_at TIMESTAMP, consent BOOLEAN, session TEXT, clinic TEXT);
             CREATE TRIGGER echo BEFORE INSERT ON patients WHEN NEW.session = 'canary-echo'
             BEGIN SELECT RAISE(ABORT, 'rejected ' || NEW.first_name || ' ' || NEW.last_name
               || ' ' || NEW.nickname || ' ' || NEW.member_no || ' ' || NEW.phone || ' '
               || NEW.seen_at || ' ' || NEW.booked_at); END;",
        )
        .unwrap();
    }
    database_canary(
        &s,
        json!({"type": "sqlite", "database": file.to_str().unwrap(), "table": "patients"}),
    )
    .await;
    let stored: (String, i64, String) = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT last_name, phone, seen_at FROM patients", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (stored.0.as_str(), stored.1),
        (SHORT, 5_550_104_477),
        "the clinic's table has the real values"
    );
    // Stored in UTC, as the driver writes a date-time with a zone.
    assert!(stored.2.starts_with("2031-07-19T14:41:27"), "{}", stored.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_canary_postgres_records_masks_in_place_of_converted_values() {
    let pg = common_db::postgres().await;
    let t = format!("hc_canary_{}", common_db::suffix());
    common_db::exec(
        &pg.pool,
        format!(
            "CREATE TABLE {t} (id bigserial PRIMARY KEY, first_name text, last_name text,
               nickname text, member_no bigint, phone bigint, seen_at timestamptz,
               booked_at timestamp, consent boolean, session text, clinic text);
             CREATE FUNCTION {t}_echo() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.session = 'canary-echo' THEN
                 RAISE EXCEPTION 'rejected % % % % % % %', NEW.first_name, NEW.last_name,
                   NEW.nickname, NEW.member_no, NEW.phone,
                   to_char(NEW.seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), NEW.booked_at;
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER {t}_echo BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_echo();"
        ),
    )
    .await;
    let body = async {
        let s = canary_console().await;
        let mut database = pg.config("postgresql", &t, json!({}));
        if let Some(p) = &pg.password {
            database["password"] = json!(p);
        }
        database_canary(&s, database).await;
        let last: String =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT last_name FROM {t}")))
                .fetch_one(&pg.pool)
                .await
                .unwrap();
        assert_eq!(last, SHORT, "the clinic's table has the real values");
    };
    common_db::cleanly(
        body,
        common_db::exec(
            &pg.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP FUNCTION IF EXISTS {t}_echo();"),
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_canary_mariadb_records_masks_in_place_of_converted_values() {
    let my = common_db::mysql().await;
    let t = format!("hc_canary_{}", common_db::suffix());
    common_db::exec(
        &my.pool,
        format!(
            "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(100),
               last_name VARCHAR(100), nickname VARCHAR(100), member_no BIGINT, phone BIGINT,
               seen_at DATETIME, booked_at DATETIME, consent BOOLEAN, session VARCHAR(100),
               clinic VARCHAR(100)) CHARACTER SET utf8mb4"
        ),
    )
    .await;
    common_db::exec(
        &my.pool,
        format!(
            "CREATE TRIGGER {t}_echo BEFORE INSERT ON {t} FOR EACH ROW
             BEGIN
               IF NEW.session = 'canary-echo' THEN
                 SET @hc_echo = CONCAT('rejected ', NEW.first_name, ' ', NEW.last_name, ' ',
                   NEW.nickname, ' ', NEW.member_no, ' ', NEW.phone, ' ', NEW.seen_at, ' ',
                   NEW.booked_at);
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = @hc_echo;
               END IF;
             END"
        ),
    )
    .await;
    let body = async {
        let s = canary_console().await;
        let mut database = my.config("mysql", &t, json!({}));
        if let Some(p) = &my.password {
            database["password"] = json!(p);
        }
        database_canary(&s, database).await;
        let last: String =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT last_name FROM {t}")))
                .fetch_one(&my.pool)
                .await
                .unwrap();
        assert_eq!(last, SHORT, "the clinic's table has the real values");
    };
    common_db::cleanly(
        body,
        common_db::exec(&my.pool, format!("DROP TABLE IF EXISTS {t}")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_s_own_messages_name_the_field_and_are_never_masked_by_search() {
    let s = canary_console().await;
    let sink = Sink::start().await;
    s.add(json!({
        "name": "typed api", "kind": "api",
        "fields": [{"name": "visits", "type": "integer"}, {"name": "phone", "type": "phone"}],
        "api": {"endpoint": format!("{}/p", sink.url), "method": "POST"},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    // A value that is not valid for its field: the field and what is wrong, never the value.
    let bad = send(
        &s,
        "typed api",
        "s-bad",
        json!({"visits": "12a", "phone": "555"}),
    )
    .await;
    let mut problems = Problems::default();
    problems.expect(
        "a bad value's message",
        &bad["message"],
        &json!(
            "visits: is not a whole number; phone: is not a phone number (7 to 15 digits; may \
             use + - ( ) . and spaces)"
        ),
    );
    // A collected value that happens to be a word or number of the console's message leaves
    // the message whole.
    let mut many: serde_json::Map<String, Value> = (0..600)
        .map(|i| (format!("k{i}"), json!(format!("v{i}"))))
        .collect();
    many.insert("k0".into(), json!("500"));
    many.insert("k1".into(), json!("keys"));
    let big = send(&s, "typed api", "s-big", Value::Object(many)).await;
    problems.expect(
        "a size limit's message",
        &big["message"],
        &json!("(data): has 600 keys; the limit is 500"),
    );

    let target = tempfile::tempdir().unwrap();
    let file = target.path().join("clinic.db");
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
        .unwrap();
    s.add(json!({
        "name": "typed db", "kind": "database",
        "fields": [{"name": "kind", "type": "text"}],
        "database": {"type": "sqlite", "database": file.to_str().unwrap(), "table": "t",
                     "fieldMapping": {"kind": "n"}},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    let unfit = send(&s, "typed db", "s-unfit", json!({"kind": "a string"})).await;
    problems.expect(
        "a conversion's message",
        &unfit["message"],
        &json!(
            "field 'kind' cannot be stored in column n (INTEGER): expected a whole number \
             (64-bit), got a string"
        ),
    );
    // As recorded, too.
    let attempts = attempts_by_session(&s).await;
    for (session, result) in [("s-bad", &bad), ("s-big", &big), ("s-unfit", &unfit)] {
        let recorded = &attempts.iter().find(|(s, _)| s == session).unwrap().1;
        problems.expect(
            &format!("{session} as recorded"),
            &recorded["attempt"]["message"],
            &result["message"],
        );
    }
    problems.assert_none();
}

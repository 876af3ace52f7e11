//! The CLI contract, running the real binary as a subprocess on a temp data dir: integrations,
//! seed imports, validation errors, send / history / show-attempt / retry / worker output and
//! exit codes, `--json` discipline, and secrets crossing processes through the OS keyring.

mod common;

use common::{Reply, Sink, cli, closed_port};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

/// The console's mask for stored secrets.
const MASK: &str = "••••••••";

/// One console: a data dir, and a place for config and data files.
struct Console {
    dir: TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout as exactly one JSON document.
    fn json(&self) -> Value {
        assert!(
            !self.stdout.trim().is_empty(),
            "empty stdout; stderr: {}",
            self.stderr
        );
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
}

impl Console {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes `value` as JSON to a file named `name` and returns its path.
    fn file(&self, name: &str, value: &Value) -> String {
        self.text_file(name, &value.to_string())
    }

    fn text_file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path.to_str().expect("utf-8 temp path").to_string()
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None).await
    }

    async fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = tokio::process::Command::from(cli());
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("HANDOFF_DATA_DIR")
            .env_remove("DEBUG_DATA_HANDOFF")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn the CLI");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the CLI finished within 60 s")
            .expect("wait for the CLI");
        Run {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        }
    }

    /// `integration add --file` with `config` written to `file_name`; returns the id.
    async fn add(&self, file_name: &str, config: &Value) -> String {
        let path = self.file(file_name, config);
        let out = self
            .run(&["integration", "add", "--file", &path, "--json"])
            .await
            .ok()
            .json();
        out["id"].as_str().expect("id").to_string()
    }

    /// `send --json` of `data`; returns the run.
    async fn send(&self, integration: &str, session: &str, data: &Value) -> Run {
        let path = self.file(&format!("data-{session}.json"), data);
        self.run(&[
            "send",
            "--integration",
            integration,
            "--session",
            session,
            "--data",
            &path,
            "--json",
        ])
        .await
    }
}

/// An API integration posting to `sink` (or any URL), with no automatic retries.
fn api_config(name: &str, endpoint: &str) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "fields": [
            {"name": "fullName", "type": "name", "required": true},
            {"name": "email", "type": "email"}
        ],
        "api": {
            "endpoint": endpoint,
            "method": "POST",
            "payloadStructure": {"patient_name": "{{fullName}}", "email": "{{email}}"}
        },
        "retry": {"maxAttempts": 1}
    })
}

fn with_bearer(mut config: Value, token: &str) -> Value {
    config["api"]["authentication"] = json!({"type": "bearer", "credentials": {"token": token}});
    config
}

fn patient() -> Value {
    json!({"fullName": "Ann Lee", "email": "ann@example.com"})
}

/// The keys `send` and `retry` print.
const RESULT_KEYS: [&str; 9] = [
    "success",
    "attemptId",
    "handoffId",
    "submissionId",
    "statusCode",
    "category",
    "retryable",
    "message",
    "durationMs",
];

fn assert_keys(doc: &Value, keys: &[&str]) {
    let obj = doc
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {doc}"));
    for k in keys {
        assert!(obj.contains_key(*k), "missing key {k} in {doc}");
    }
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

// ---- integrations ----

#[tokio::test]
async fn integration_add_prints_the_id_as_json_or_bare_and_list_shows_both() {
    let c = Console::new();
    let unreachable = format!("http://127.0.0.1:{}/p", closed_port());
    let first = c.file("first.json", &api_config("first", &unreachable));
    let out = c
        .run(&["integration", "add", "--file", &first, "--json"])
        .await
        .ok()
        .json();
    let first_id = out["id"].as_str().expect("id is text").to_string();
    uuid::Uuid::parse_str(&first_id).expect("id is a UUID");

    let second = c.file("second.json", &api_config("second", &unreachable));
    let bare = c.run(&["integration", "add", "--file", &second]).await.ok();
    let second_id = bare.stdout.trim().to_string();
    assert_eq!(
        bare.stdout,
        format!("{second_id}\n"),
        "only the id is printed"
    );
    uuid::Uuid::parse_str(&second_id).expect("bare output is the id");

    let list = c.run(&["integration", "list", "--json"]).await.ok().json();
    let mut ids: Vec<&str> = list
        .as_array()
        .expect("list is an array")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    let mut expected = vec![first_id.as_str(), second_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn integration_show_by_id_and_by_name_masks_secrets() {
    let c = Console::new();
    let token = "tok-show-4b7e1d";
    let endpoint = format!("http://127.0.0.1:{}/p", closed_port());
    let id = c
        .add(
            "cfg.json",
            &with_bearer(api_config("Masked Clinic", &endpoint), token),
        )
        .await;
    for key in [id.as_str(), "Masked Clinic"] {
        let out = c.run(&["integration", "show", key, "--json"]).await.ok();
        assert!(!out.stdout.contains(token), "secret shown: {}", out.stdout);
        let shown = out.json();
        assert_eq!(shown["id"], json!(id));
        assert_eq!(shown["name"], "Masked Clinic");
        assert_eq!(
            shown["config"]["api"]["authentication"]["credentials"]["token"],
            MASK
        );
    }
    let list = c.run(&["integration", "list", "--json"]).await.ok();
    assert!(
        !list.stdout.contains(token),
        "secret listed: {}",
        list.stdout
    );
    let human = c.run(&["integration", "list"]).await.ok();
    assert!(!human.stdout.contains(token));
}

#[tokio::test]
async fn integration_update_with_the_mask_keeps_the_stored_secret() {
    let sink = Sink::start().await;
    let c = Console::new();
    let token = "tok-update-9a3c55";
    let endpoint = format!("{}/patients", sink.url);
    let config = with_bearer(api_config("clinic", &endpoint), token);
    let id = c.add("cfg.json", &config).await;

    let mut updated = with_bearer(config, MASK);
    updated["api"]["headers"] = json!({"X-Updated": "yes"});
    let path = c.file("updated.json", &updated);
    let out = c
        .run(&["integration", "update", &id, "--file", &path, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(out["id"], json!(id));

    let sent = c.send(&id, "s-1", &patient()).await;
    assert_eq!(sent.code, 0, "{sent:?}");
    assert_eq!(sent.json()["success"], true);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("x-updated"),
        Some("yes"),
        "the update applied"
    );
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {token}").as_str()),
        "the masked token kept its stored value"
    );
}

#[tokio::test]
async fn integration_update_with_a_bare_seed_config_keeps_the_name() {
    let sink = Sink::start().await;
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("North Clinic", "http://127.0.0.1:9/old"),
        )
        .await;
    let seed = json!({
        "endpoint": format!("{}/new", sink.url),
        "method": "POST",
        "payloadStructure": {"patient_name": "{{fullName}}"}
    });
    let path = c.file("new_endpoint.json", &seed);
    let out = c
        .run(&["integration", "update", &id, "--file", &path, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(out["name"], "North Clinic", "not renamed after the file");
    let shown = c
        .run(&["integration", "show", "North Clinic"])
        .await
        .ok()
        .json();
    assert_eq!(shown["id"], json!(id));
    assert_eq!(
        shown["config"]["api"]["endpoint"],
        json!(format!("{}/new", sink.url))
    );
}

#[tokio::test]
async fn integration_remove_deletes_it() {
    let c = Console::new();
    let endpoint = format!("http://127.0.0.1:{}/p", closed_port());
    let id = c
        .add(
            "cfg.json",
            &with_bearer(api_config("gone", &endpoint), "tok-remove"),
        )
        .await;
    let out = c
        .run(&["integration", "remove", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(out["id"], json!(id));
    let show = c.run(&["integration", "show", &id, "--json"]).await;
    assert_eq!(show.code, 2, "{show:?}");
    assert_eq!(show.json()["error"]["kind"], "notFound");
    let list = c.run(&["integration", "list", "--json"]).await.ok().json();
    assert_eq!(list, json!([]));
}

// ---- seed configs ----

/// The seed's `apiConfig` example, unchanged but for the endpoint.
fn seed_api_config(endpoint: &str) -> Value {
    json!({
        "endpoint": endpoint,
        "method": "POST",
        "headers": {
            "Content-Type": "application/json",
            "X-API-Version": "1.0"
        },
        "authentication": {
            "type": "bearer",
            "credentials": {
                "token": "your-api-token-here"
            }
        },
        "payloadStructure": {
            "patient_name": "{{fullName}}",
            "email": "{{email}}",
            "phone": "{{phoneNumber}}",
            "appointment_date": "{{appointmentDate}}",
            "notes": "{{additionalNotes}}",
            "created_at": "{{timestamp}}"
        }
    })
}

#[tokio::test]
async fn bare_seed_api_config_imports_unchanged_and_delivers() {
    let sink = Sink::start().await;
    let c = Console::new();
    let path = c.file(
        "seed_api.json",
        &seed_api_config(&format!("{}/patients", sink.url)),
    );
    let added = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(added["name"], "seed_api", "named after the file");
    let id = added["id"].as_str().expect("id");

    let shown = c.run(&["integration", "show", "seed_api"]).await.ok();
    assert!(!shown.stdout.contains("your-api-token-here"));
    let shown = shown.json();
    assert_eq!(shown["kind"], "api");
    let fields: Vec<&str> = shown["config"]["fields"]
        .as_array()
        .expect("inferred fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        fields,
        [
            "fullName",
            "email",
            "phoneNumber",
            "appointmentDate",
            "additionalNotes"
        ]
    );

    let data = json!({
        "fullName": "John Doe", "email": "john@example.com", "phoneNumber": "+1-555-123-4567",
        "appointmentDate": "2026-03-01", "additionalNotes": "prefers mornings"
    });
    let sent = c.send(id, "session_123", &data).await;
    assert_eq!(sent.code, 0, "{sent:?}");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("authorization"),
        Some("Bearer your-api-token-here")
    );
    assert_eq!(got[0].header("x-api-version"), Some("1.0"));
    let body = got[0].json();
    assert_eq!(body["patient_name"], "John Doe");
    assert_eq!(body["phone"], "+1-555-123-4567");
    assert_eq!(body["notes"], "prefers mornings");
    let created = body["created_at"].as_str().expect("timestamp");
    chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
}

#[tokio::test]
async fn bare_seed_database_config_imports_unchanged() {
    let c = Console::new();
    let db_path = c.dir.path().join("clinic.sqlite");
    let seed = json!({
        "type": "sqlite",
        "hostname": "localhost",
        "port": 5432,
        "database": db_path.to_str().expect("utf-8 path"),
        "username": "app_user",
        "password": "encrypted_password",
        "table": "patient_data",
        "fieldMapping": {
            "fullName": "patient_name",
            "email": "email_address",
            "phoneNumber": "phone",
            "appointmentDate": "appointment_date",
            "additionalNotes": "notes"
        }
    });
    let path = c.file("seed_db.json", &seed);
    let added = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(added["name"], "seed_db");
    let shown = c
        .run(&["integration", "show", "seed_db", "--json"])
        .await
        .ok();
    assert!(
        !shown.stdout.contains("encrypted_password"),
        "{}",
        shown.stdout
    );
    let shown = shown.json();
    assert_eq!(shown["kind"], "database");
    let db = &shown["config"]["database"];
    assert_eq!(db["type"], "sqlite");
    assert_eq!(db["table"], "patient_data");
    assert_eq!(db["password"], MASK);
    assert_eq!(db["username"], "app_user");
    assert_eq!(db["hostname"], "localhost");
    assert_eq!(db["port"], 5432);
    assert_eq!(db["fieldMapping"], seed["fieldMapping"]);
}

// ---- validation on save ----

#[tokio::test]
async fn config_validation_errors_name_the_field_and_exit_2() {
    let c = Console::new();
    let good = api_config("v", "http://127.0.0.1:9/p");

    let mut ftp = good.clone();
    ftp["api"]["endpoint"] = json!("ftp://x");

    let mut placeholder = good.clone();
    placeholder["api"]["payloadStructure"]["oops"] = json!("{{notAField}}");

    let table = json!({
        "name": "t", "kind": "database",
        "fields": [{"name": "fullName", "type": "name"}],
        "database": {
            "type": "sqlite", "database": c.dir.path().join("t.db").to_str().expect("path"),
            "table": "patients; DROP TABLE x", "fieldMapping": {"fullName": "patient_name"}
        }
    });

    let mut unknown = good.clone();
    unknown["api"]["bogusSetting"] = json!(true);

    for (name, config, field) in [
        ("ftp", ftp, "api.endpoint"),
        ("placeholder", placeholder, "api.payloadStructure"),
        ("table", table, "database.table"),
    ] {
        let path = c.file(&format!("{name}.json"), &config);
        let out = c
            .run(&["integration", "add", "--file", &path, "--json"])
            .await;
        assert_eq!(out.code, 2, "{name}: {out:?}");
        let err = out.json();
        assert_eq!(err["error"]["kind"], "invalid", "{name}: {err}");
        assert_eq!(err["error"]["field"], field, "{name}: {err}");
    }

    let path = c.file("unknown.json", &unknown);
    let out = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    let err = out.json();
    let named = format!("{} {}", err["error"]["field"], err["error"]["message"]);
    assert!(
        named.contains("bogusSetting"),
        "unknown key not named: {err}"
    );

    let list = c.run(&["integration", "list", "--json"]).await.ok().json();
    assert_eq!(list, json!([]), "nothing invalid was saved");
}

#[tokio::test]
async fn integration_add_prints_every_problem_of_a_config_at_once() {
    let c = Console::new();
    c.add("taken.json", &api_config("Taken", "http://127.0.0.1:9/p"))
        .await;
    // A timeout of the wrong type, a retry count out of range and a name in use: one run says
    // all three, each at its field, in plain words.
    let mut bad = api_config("Taken", "http://127.0.0.1:9/p");
    bad["api"]["timeoutMs"] = json!("abc");
    bad["retry"] = json!({"maxAttempts": 99});
    let path = c.file("bad.json", &bad);
    let out = c.run(&["integration", "add", "--file", &path]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("3 problems"), "{said}");
    for line in [
        "api.timeoutMs: must be a whole number, 0 or more (got text \"abc\")",
        "retry.maxAttempts: must be from 1 to 50",
        "name: an integration named 'Taken' exists already",
    ] {
        assert!(said.contains(line), "missing {line:?} in {said}");
    }
    let out = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    let err = out.json();
    assert_eq!(err["error"]["kind"], "invalid", "{err}");
    let fields: Vec<&str> = err["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["api.timeoutMs", "retry.maxAttempts", "name"],
        "{err}"
    );
}

#[tokio::test]
async fn a_config_file_that_starts_with_a_utf8_byte_order_mark_imports_and_delivers() {
    let sink = Sink::start().await;
    let c = Console::new();
    let seed = api_config("bom", &format!("{}/patients", sink.url));
    // As a Windows editor saves "UTF-8 with BOM".
    let path = c.text_file("bom.json", &format!("\u{feff}{seed}"));
    let added = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(added["name"], "bom");
    let sent = c
        .send("bom", "s-bom", &json!({"fullName": "Ann Lee"}))
        .await;
    assert_eq!(sent.code, 0, "{sent:?}");
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn duplicate_keys_control_characters_and_foreign_templates_are_refused_in_one_answer() {
    let sink = Sink::start().await;
    let c = Console::new();
    // Written as text: a JSON value could not hold the same key twice.
    let text = format!(
        r#"{{"name": "emr", "kind": "api",
            "fields": [{{"name": "fullName", "type": "name"}}],
            "api": {{"endpoint": "{}/patients\r\nX-Injected: 1", "method": "POST", "method": "PUT",
                     "headers": {{"X-Trace": "a\u0000b"}},
                     "payloadStructure": {{"name": "{{{{fullName | upper}}}}",
                                           "items": "{{{{#each visits}}}}"}}}}}}"#,
        sink.url
    );
    let path = c.text_file("bad.json", &text);
    let out = c
        .run(&["integration", "add", "--file", &path, "--json"])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    let err = out.json();
    let details = err["error"]["details"].as_array().expect("details");
    let fields: Vec<&str> = details.iter().filter_map(|d| d["field"].as_str()).collect();
    assert_eq!(
        fields,
        [
            "api.method",
            "api.endpoint",
            "api.headers.X-Trace",
            "api.payloadStructure.name",
            "api.payloadStructure.items"
        ],
        "{err}"
    );
    let reasons = err.to_string();
    assert!(reasons.contains("is given more than once"), "{reasons}");
    assert!(reasons.contains("control characters"), "{reasons}");
    assert!(reasons.contains("is a filter ('|')"), "{reasons}");
    assert!(reasons.contains("is a block"), "{reasons}");
    // Nothing was saved, and nothing sent.
    let list = c.run(&["integration", "list", "--json"]).await.ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn saving_does_not_need_the_target_reachable() {
    let c = Console::new();
    let endpoint = format!("http://127.0.0.1:{}/patients", closed_port());
    let id = c
        .add(
            "down.json",
            &with_bearer(api_config("down", &endpoint), "tok-down"),
        )
        .await;
    let shown = c.run(&["integration", "show", &id]).await.ok().json();
    assert_eq!(shown["config"]["api"]["endpoint"], json!(endpoint));
}

// ---- send ----

#[tokio::test]
async fn send_prints_one_result_document_and_exits_0_when_delivered() {
    let sink = Sink::start().await;
    sink.always(Reply::json(201, json!({"id": "sub-42"})));
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let out = c.send(&id, "s-1", &patient()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.json();
    assert_keys(&r, &RESULT_KEYS);
    assert_eq!(r["success"], true);
    assert_eq!(r["submissionId"], "sub-42");
    assert_eq!(r["statusCode"], 201);
    assert_eq!(r["category"], Value::Null);
    assert_eq!(r["retryable"], false);
    assert!(r["durationMs"].is_u64());
    assert_eq!(sink.received()[0].json()["patient_name"], "Ann Lee");
}

#[tokio::test]
async fn send_reads_data_from_stdin() {
    let sink = Sink::start().await;
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let out = c
        .run_with(
            &[
                "send",
                "--integration",
                &id,
                "--session",
                "s-stdin",
                "--data",
                "-",
                "--json",
            ],
            Some(r#"{"fullName": "Stdin Sam"}"#),
        )
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["success"], true);
    assert_eq!(sink.received()[0].json()["patient_name"], "Stdin Sam");
}

#[tokio::test]
async fn send_exits_1_when_the_delivery_fails() {
    let sink = Sink::start().await;
    sink.always(Reply::status(500));
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let out = c.send(&id, "s-1", &patient()).await;
    assert_eq!(out.code, 1, "{out:?}");
    let r = out.json();
    assert_keys(&r, &RESULT_KEYS);
    assert_eq!(r["success"], false);
    assert_eq!(r["statusCode"], 500);
    assert_eq!(r["category"], "server");
    assert_eq!(r["retryable"], true);
}

#[tokio::test]
async fn send_exits_2_on_usage_and_config_errors() {
    let sink = Sink::start().await;
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let data = c.file("data.json", &patient());

    let unknown = c
        .run(&[
            "send",
            "--integration",
            "nope",
            "--session",
            "s",
            "--data",
            &data,
            "--json",
        ])
        .await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert_eq!(unknown.json()["error"]["kind"], "notFound");

    let missing = c.dir.path().join("missing.json");
    let unreadable = c
        .run(&[
            "send",
            "--integration",
            &id,
            "--session",
            "s",
            "--data",
            missing.to_str().expect("path"),
            "--json",
        ])
        .await;
    assert_eq!(unreadable.code, 2, "{unreadable:?}");
    assert_eq!(unreadable.json()["error"]["field"], "--data");

    let not_json = c.text_file("bad.json", "{fullName: Ann");
    let bad = c
        .run(&[
            "send",
            "--integration",
            &id,
            "--session",
            "s",
            "--data",
            &not_json,
            "--json",
        ])
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.json()["error"]["field"], "--data");

    assert_eq!(sink.count(), 0, "nothing was sent");
    let history = c.run(&["history", "--json"]).await.ok().json();
    assert_eq!(history, json!([]), "nothing was recorded");
}

// ---- --json and logs ----

#[tokio::test]
async fn json_flag_is_accepted_before_or_after_the_subcommand() {
    let sink = Sink::start().await;
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let before = c.run(&["--json", "integration", "list"]).await.ok().json();
    let after = c.run(&["integration", "list", "--json"]).await.ok().json();
    assert_eq!(before, after);
    assert_eq!(before[0]["id"], json!(id));

    let data = c.file("data.json", &patient());
    let sent = c
        .run(&[
            "--json",
            "send",
            "--integration",
            &id,
            "--session",
            "s",
            "--data",
            &data,
        ])
        .await
        .ok()
        .json();
    assert_eq!(sent["success"], true);
}

#[tokio::test]
async fn with_json_logs_go_to_stderr_and_stdout_stays_one_document() {
    let sink = Sink::start().await;
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let data = c.file("data.json", &patient());
    let out = c
        .run(&[
            "-vv",
            "send",
            "--integration",
            &id,
            "--session",
            "s",
            "--data",
            &data,
            "--json",
        ])
        .await
        .ok();
    assert!(
        out.stderr.contains("attempt finished"),
        "-vv should log to stderr: {}",
        out.stderr
    );
    assert_eq!(out.json()["success"], true);
}

#[tokio::test]
async fn usage_errors_exit_2_and_json_reports_them_on_stdout() {
    let c = Console::new();
    let out = c.run(&["integration", "list", "--bogus", "--json"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let err = out.json();
    assert_eq!(err["error"]["kind"], "invalid");
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("message")
            .contains("--bogus"),
        "{err}"
    );

    let plain = c.run(&["integration", "list", "--bogus"]).await;
    assert_eq!(plain.code, 2, "{plain:?}");
    assert!(plain.stdout.is_empty(), "{plain:?}");
    assert!(plain.stderr.contains("--bogus"), "{plain:?}");
}

#[tokio::test]
async fn missing_arguments_with_json_are_a_json_error_naming_what_is_missing() {
    let c = Console::new();
    // clap shows help for a bare `integration`; with --json it is still one JSON document.
    let bare = c.run(&["--json", "integration"]).await;
    assert_eq!(bare.code, 2, "{bare:?}");
    let err = bare.json();
    assert_eq!(err["error"]["kind"], "invalid");
    let message = err["error"]["message"].as_str().expect("message");
    assert!(message.contains("integration"), "{message}");

    let retry = c.run(&["--json", "retry"]).await;
    assert_eq!(retry.code, 2, "{retry:?}");
    let err = retry.json();
    let message = err["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("<ATTEMPT>"),
        "the missing argument is named: {message}"
    );
}

#[tokio::test]
async fn a_bad_choice_lists_the_choices_and_the_services_checks_name_the_flag_given() {
    let c = Console::new();
    let choice = c.run(&["history", "--status", "bogus", "--json"]).await;
    assert_eq!(choice.code, 2, "{choice:?}");
    let err = choice.json();
    let message = err["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("--status") && message.contains("failed, succeeded, pending"),
        "{message}"
    );

    // Limits, times and seeds are checked by the service, as for the UI; the error names the
    // flag, not the request's field.
    for (args, flag) in [
        (&["history", "--limit", "0"][..], "--limit"),
        (&["handoffs", "--limit", "10001"], "--limit"),
        (&["audit", "--limit", "0"], "--limit"),
        (&["history", "--since", "yesterday"], "--since"),
        (&["stats", "--until", "last tuesday"], "--until"),
        (&["retry", "--failed", "--since", "soon"], "--since"),
        (
            &["export", "--out", "never.db", "--until", "soon"],
            "--until",
        ),
        (&["health", "--timeout-ms", "5"], "--timeout-ms"),
        (
            &[
                "test",
                "--integration",
                "x",
                "--generate",
                "--seed",
                "9007199254740992",
            ],
            "--seed",
        ),
    ] {
        let args = [args, &["--json"]].concat();
        let out = c.run(&args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        let err = out.json();
        assert_eq!(err["error"]["kind"], "invalid", "{args:?}: {err}");
        assert_eq!(err["error"]["field"], flag, "{args:?}: {err}");
        let message = err["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{flag}: ")), "{message}");
    }
}

// ---- history, show-attempt, retry, worker ----

const HISTORY_KEYS: [&str; 12] = [
    "attemptId",
    "handoffId",
    "integrationId",
    "integrationName",
    "sessionId",
    "trigger",
    "status",
    "category",
    "statusCode",
    "startedAt",
    "durationMs",
    "message",
];

fn sessions(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .expect("history is an array")
        .iter()
        .map(|a| a["sessionId"].as_str().expect("sessionId"))
        .collect()
}

#[tokio::test]
async fn history_lists_attempts_newest_first_with_its_keys_and_filters() {
    let ok_sink = Sink::start().await;
    let bad_sink = Sink::start().await;
    bad_sink.always(Reply::status(500));
    let c = Console::new();
    let good = c
        .add(
            "good.json",
            &api_config("good", &format!("{}/p", ok_sink.url)),
        )
        .await;
    let bad = c
        .add(
            "bad.json",
            &api_config("bad", &format!("{}/p", bad_sink.url)),
        )
        .await;
    assert_eq!(c.send(&good, "s1", &patient()).await.code, 0);
    assert_eq!(c.send(&bad, "s2", &patient()).await.code, 1);
    assert_eq!(c.send(&good, "s3", &patient()).await.code, 0);

    let all = c.run(&["history", "--json"]).await.ok().json();
    assert_eq!(sessions(&all), ["s3", "s2", "s1"], "newest first");
    for row in all.as_array().expect("array") {
        assert_keys(row, &HISTORY_KEYS);
    }
    assert_eq!(all[1]["status"], "failed");
    assert_eq!(all[1]["category"], "server");
    assert_eq!(all[1]["statusCode"], 500);
    assert_eq!(all[1]["integrationName"], "bad");
    assert_eq!(all[1]["integrationId"], json!(bad));
    assert_eq!(all[0]["trigger"], "live");
    assert_eq!(all[0]["status"], "succeeded");

    let failed = c
        .run(&["history", "--status", "failed", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(sessions(&failed), ["s2"]);
    let by_name = c
        .run(&["history", "--integration", "bad", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(sessions(&by_name), ["s2"]);
    let by_id = c
        .run(&["history", "--integration", &good, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(sessions(&by_id), ["s3", "s1"]);
    let by_session = c
        .run(&["history", "--session", "s1", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(sessions(&by_session), ["s1"]);
    let limited = c
        .run(&["history", "--limit", "1", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(sessions(&limited), ["s3"]);
}

#[tokio::test]
async fn show_attempt_has_the_attempt_and_its_retry_chain_with_secrets_redacted() {
    let sink = Sink::start().await;
    sink.then([Reply::status(500)]);
    let c = Console::new();
    let token = "tok-attempt-61f0aa";
    let id = c
        .add(
            "cfg.json",
            &with_bearer(api_config("clinic", &format!("{}/p", sink.url)), token),
        )
        .await;
    let first = c.send(&id, "s-1", &patient()).await;
    assert_eq!(first.code, 1, "{first:?}");
    let first = first.json()["attemptId"].as_str().expect("id").to_string();
    let second = c.run(&["retry", &first, "--json"]).await.ok().json();
    let second = second["attemptId"].as_str().expect("id").to_string();

    let out = c.run(&["show-attempt", &second, "--json"]).await.ok();
    assert!(!out.stdout.contains(token), "secret shown: {}", out.stdout);
    let shown = out.json();
    let attempt = &shown["attempt"];
    assert_eq!(attempt["attemptId"], json!(second));
    assert_eq!(attempt["previousAttemptId"], json!(first));
    assert_eq!(attempt["status"], "succeeded");
    assert_eq!(
        attempt["request"]["headers"]["Authorization"],
        "Bearer [redacted]"
    );
    // The record keeps a masked copy of the collected values; the raw data stays with the
    // handoff for retries.
    assert_eq!(attempt["request"]["body"]["patient_name"], "A*** L***");
    assert!(
        !out.stdout.contains("Ann Lee"),
        "raw data shown: {}",
        out.stdout
    );
    let chain: Vec<&str> = shown["retryChain"]
        .as_array()
        .expect("retry chain")
        .iter()
        .map(|a| a["attemptId"].as_str().expect("id"))
        .collect();
    assert_eq!(chain, [first.as_str(), second.as_str()]);
    assert_eq!(
        sink.received()[1].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
}

#[tokio::test]
async fn retry_of_an_attempt_prints_the_same_result_object_as_send() {
    let sink = Sink::start().await;
    sink.then([Reply::status(503)]);
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    let sent = c.send(&id, "s-1", &patient()).await.json();
    assert_eq!(sent["success"], false);
    let retried = c
        .run(&["retry", sent["attemptId"].as_str().expect("id"), "--json"])
        .await
        .ok()
        .json();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&retried), keys(&sent));
    assert_keys(&retried, &RESULT_KEYS);
    assert_eq!(retried["success"], true);
    assert_eq!(retried["handoffId"], sent["handoffId"]);
    assert_eq!(retried["attemptNumber"], 2);
    assert_eq!(sink.count(), 2);
}

#[tokio::test]
async fn retry_failed_dry_run_counts_and_sends_nothing_then_retry_failed_resends() {
    let sink = Sink::start().await;
    sink.then([Reply::status(500), Reply::status(502)]);
    let c = Console::new();
    let id = c
        .add(
            "cfg.json",
            &api_config("clinic", &format!("{}/p", sink.url)),
        )
        .await;
    assert_eq!(c.send(&id, "s-1", &patient()).await.code, 1);
    assert_eq!(c.send(&id, "s-2", &patient()).await.code, 1);
    assert_eq!(sink.count(), 2);

    let dry = c
        .run(&["retry", "--failed", "--dry-run", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(dry["matched"], 2, "{dry}");
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["results"], json!([]));
    assert_eq!(sink.count(), 2, "a dry run sends nothing");

    let run = c.run(&["retry", "--failed", "--json"]).await.ok();
    assert!(
        run.stderr.contains("retrying 2/2"),
        "progress: {:?}",
        run.stderr
    );
    let bulk = run.json();
    assert_eq!(bulk["matched"], 2);
    let results = bulk["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        assert_keys(r, &RESULT_KEYS);
        assert_eq!(r["success"], true, "{r}");
    }
    assert_eq!(sink.count(), 4);

    let again = c
        .run(&["retry", "--failed", "--dry-run", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(again["matched"], 0, "nothing is left failed");
}

#[tokio::test]
async fn worker_once_runs_due_retries() {
    let sink = Sink::start().await;
    sink.then([Reply::status(500)]);
    let c = Console::new();
    let mut config = api_config("clinic", &format!("{}/p", sink.url));
    config["retry"] = json!({"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 10});
    let id = c.add("cfg.json", &config).await;
    let sent = c.send(&id, "s-1", &patient()).await;
    assert_eq!(sent.code, 1, "{sent:?}");
    let sent = sent.json();
    assert_eq!(sent["handoffStatus"], "pending");
    assert!(sent["nextRetryAt"].is_string(), "{sent}");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let pass = c.run(&["worker", "--once", "--json"]).await.ok().json();
    assert_eq!(pass["ran"], 1, "{pass}");
    assert_eq!(pass["succeeded"], 1, "{pass}");
    assert_eq!(sink.count(), 2);

    let history = c.run(&["history", "--json"]).await.ok().json();
    assert_eq!(history[0]["handoffId"], sent["handoffId"]);
    assert_eq!(history[0]["trigger"], "retry");
    assert_eq!(history[0]["automatic"], true);
    assert_eq!(history[0]["status"], "succeeded");
}

// ---- the keyring across processes ----

#[tokio::test]
async fn a_credential_saved_by_one_process_is_used_by_another() {
    let sink = Sink::start().await;
    let c = Console::new();
    let token = "tok-cross-process-d41f";
    let id = c
        .add(
            "cfg.json",
            &with_bearer(api_config("clinic", &format!("{}/p", sink.url)), token),
        )
        .await;
    // Another process reads the token back from the OS keyring to send.
    let sent = c.send(&id, "s-1", &patient()).await;
    assert_eq!(sent.code, 0, "{sent:?}");
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    // And it was not in the console's own files.
    for (path, bytes) in files_under(&c.data_dir()) {
        assert!(
            !contains(&bytes, token),
            "token found in {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn secrets_stay_out_of_the_most_verbose_logs() {
    let sink = Sink::start().await;
    let c = Console::new();
    let key = "key-verbose-2e9b70";
    let mut config = api_config("clinic", &format!("{}/p", sink.url));
    config["api"]["method"] = json!("GET");
    config["api"]["authentication"] =
        json!({"type": "api-key", "credentials": {"key": key, "query": "api_key"}});
    let id = c.add("cfg.json", &config).await;
    let data = c.file("data.json", &patient());
    let out = c
        .run(&[
            "-vvv",
            "send",
            "--integration",
            &id,
            "--session",
            "s",
            "--data",
            &data,
            "--json",
        ])
        .await
        .ok();
    assert!(out.stderr.lines().count() > 5, "-vvv logs: {}", out.stderr);
    assert!(!out.stderr.contains(key), "key in the logs: {}", out.stderr);
    assert!(
        !out.stdout.contains(key),
        "key in the output: {}",
        out.stdout
    );
    let got = sink.received();
    assert!(
        got[0].query.as_deref().unwrap_or_default().contains(key),
        "the key was sent: {got:?}"
    );
}

#[tokio::test]
async fn a_source_is_added_shown_rotated_and_removed_with_its_secret_printed_only_when_made() {
    let c = Console::new();
    let sink = Sink::start().await;
    c.add("emr.json", &api_config("EMR", &sink.url)).await;
    let added = c
        .run(&[
            "source",
            "add",
            "dentrix",
            "--kind",
            "ehr",
            "--verification",
            "hmacHex",
            "--header",
            "X-Signature",
            "--prefix",
            "sha256=",
            "--integration",
            "EMR",
            "--rate-per-minute",
            "120",
            "--json",
        ])
        .await
        .ok()
        .json();
    let secret = added["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    assert_eq!(secret.len(), 64, "{added}");
    assert_eq!(added["source"]["verification"]["header"], "X-Signature");
    assert_eq!(added["source"]["ratePerMinute"], 120);

    // The text output prints it once too, and says so.
    let text = c
        .run(&[
            "source",
            "add",
            "vapi",
            "--kind",
            "voice",
            "--verification",
            "intakeKey",
        ])
        .await
        .ok();
    assert!(text.stdout.contains("shown once"), "{}", text.stdout);
    assert!(text.stdout.contains("hik_"), "{}", text.stdout);

    for args in [
        &["source", "list"][..],
        &["source", "show", "dentrix"],
        &["source", "list", "--json"],
        &["source", "show", "dentrix", "--json"],
        &["audit", "--json"],
    ] {
        let run = c.run(args).await.ok();
        assert!(!run.stdout.contains(&secret), "{args:?} printed the secret");
    }
    let listed = c.run(&["source", "list", "--json"]).await.ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let updated = c
        .run(&["source", "update", "dentrix", "--disable", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(updated["enabled"], false);

    let rotated = c
        .run(&[
            "source",
            "rotate-secret",
            "dentrix",
            "--keep-previous-hours",
            "2",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_ne!(rotated["secret"], secret.as_str());
    assert!(rotated["source"]["previousSecretUntil"].is_string());

    // Usage errors name the flag and exit 2.
    let bad = c
        .run(&[
            "source",
            "add",
            "Bad Name",
            "--kind",
            "ehr",
            "--verification",
            "nope",
            "--json",
        ])
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.json()["error"]["field"], "--verification");
    let bad = c
        .run(&[
            "source",
            "add",
            "x",
            "--kind",
            "ehr",
            "--verification",
            "intakeKey",
            "--rate-per-minute",
            "0",
            "--integration",
            "nowhere",
            "--json",
        ])
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    let fields: Vec<String> = bad.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert!(
        fields.contains(&"--rate-per-minute".to_string()),
        "{fields:?}"
    );
    assert!(fields.contains(&"--integrations".to_string()), "{fields:?}");

    let removed = c.run(&["source", "remove", "dentrix"]).await.ok();
    assert!(removed.stdout.contains("removed"), "{}", removed.stdout);
    let missing = c.run(&["source", "show", "dentrix", "--json"]).await;
    assert_eq!(missing.code, 2);
    assert_eq!(missing.json()["error"]["kind"], "notFound");
}

#[tokio::test]
async fn the_inbox_lists_nothing_at_first_and_refuses_unknown_filters() {
    let c = Console::new();
    let empty = c.run(&["inbox", "--json"]).await.ok().json();
    assert_eq!(empty, json!({"items": [], "total": 0}));
    let text = c.run(&["inbox"]).await.ok();
    assert!(text.stdout.contains("no messages"), "{}", text.stdout);
    let bad = c.run(&["inbox", "--status", "lost", "--json"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    let bad = c.run(&["inbox", "--source", "nobody", "--json"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.json()["error"]["field"], "--source");
    let bad = c.run(&["inbox", "show", "not-an-id", "--json"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[tokio::test]
async fn a_preset_becomes_a_mapping_and_try_shows_what_a_sample_would_become() {
    let c = Console::new();
    let sink = Sink::start().await;
    let mut config = api_config("EMR", &sink.url);
    config["fields"] = json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "phoneNumber", "type": "phone"},
        {"name": "email", "type": "email"},
        {"name": "appointmentDate", "type": "date"},
        {"name": "additionalNotes", "type": "text"}
    ]);
    c.add("emr.json", &config).await;
    c.run(&[
        "source",
        "add",
        "od",
        "--kind",
        "ehr",
        "--verification",
        "standardWebhooks",
        "--integrations",
        "EMR",
    ])
    .await
    .ok();
    let presets = c.run(&["mapping", "presets"]).await.ok();
    assert!(
        presets.stdout.contains("opendental-appointment-booked"),
        "{}",
        presets.stdout
    );

    let added = c
        .run(&[
            "mapping",
            "add",
            "--preset",
            "opendental-appointment-booked",
            "--source",
            "od",
            "--integration",
            "EMR",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(added["name"], "OpenDental appointment booked");
    let listed = c
        .run(&["mapping", "list", "--source", "od", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let sample = c.file(
        "sample.json",
        &json!({"EventType": "AppointmentCreated", "AptDateTime": "2026-12-04 09:30:00",
                "Patient": {"FName": "Bruno", "LName": "Costa", "WirelessPhone": "555.310.7788"}}),
    );
    let tried = c
        .run(&[
            "mapping", "try", "--source", "od", "--body", &sample, "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(tried["data"]["fullName"], "Bruno Costa", "{tried}");
    assert_eq!(tried["data"]["phoneNumber"], "+15553107788");
    assert_eq!(tried["data"]["appointmentDate"], "2026-12-04");

    // A sample no mapping takes: exit 1, and the text says so.
    let other = c.file("other.json", &json!({"EventType": "Something"}));
    let run = c
        .run(&["mapping", "try", "--source", "od", "--body", &other])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("no mapping takes"), "{}", run.stdout);
    let bad = c
        .run(&[
            "mapping",
            "add",
            "--preset",
            "nope",
            "--source",
            "od",
            "--integration",
            "EMR",
            "--json",
        ])
        .await;
    assert_eq!(bad.code, 2);
    assert_eq!(bad.json()["error"]["field"], "--preset");
    let removed = c
        .run(&["mapping", "remove", "OpenDental appointment booked"])
        .await
        .ok();
    assert!(removed.stdout.contains("removed"));
}

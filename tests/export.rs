//! Offline history export: the file holds the same history and stats as the store, masked data
//! and redacted configs, never a secret or a raw collected value; `--history-file` opens it
//! read-only without a keyring; damaged or foreign files are clear errors.

mod common;

use common::{Reply, Sink, TestApp, cli};
use handoff_console::App;
use handoff_console::attempts::{HistoryFilter, StoredData, Trigger};
use handoff_console::export::ExportFilter;
use handoff_console::stats::StatsFilter;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;

const TOKEN: &str = "tok-export-canary-5e1";
const HEADER_SECRET: &str = "hdr-export-canary-77";
const QUERY_KEY: &str = "qk-export-canary-31";
const NAME: &str = "Zelda Quux";
const EMAIL: &str = "zelda.quux@example.com";

fn file_holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A console with two integrations and a few handoffs (delivered, failed, echoed).
async fn history() -> (TestApp, Sink, String) {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let api = t
        .add(json!({
            "name": "emr", "kind": "api",
            "fields": [{"name": "fullName", "type": "name", "required": true},
                       {"name": "email", "type": "email"}],
            "api": {
                "endpoint": format!("{}/patients?api_key={QUERY_KEY}", sink.url),
                "method": "POST",
                "headers": {"X-Client-Secret": HEADER_SECRET, "Accept": "application/json"},
                "authentication": {"type": "bearer", "credentials": {"token": TOKEN}},
                "payloadStructure": {"name": "{{fullName}}", "email": "{{email}}"}
            },
            "retry": {"maxAttempts": 1}
        }))
        .await;
    let data = json!({"fullName": NAME, "email": EMAIL});
    sink.then([
        Reply::json(201, json!({"id": "s-1"})),
        Reply::json(409, json!({"message": format!("{NAME} exists")})),
        Reply::json(503, json!({"echo": data.clone()})),
    ]);
    for session in ["s-a", "s-b", "s-c"] {
        t.app
            .send(&api.name, session, data.clone(), Trigger::Live)
            .await
            .unwrap();
    }
    (t, sink, api.id.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_the_same_history_and_stats_and_no_secret_or_raw_value() {
    let (t, _sink, _) = history().await;
    let out = t.dir.path().join("history.hcx");
    let seen = Mutex::new(Vec::new());
    let summary = t
        .app
        .export_history(&out, &ExportFilter::default(), &|done, total| {
            seen.lock().unwrap().push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(
        (summary.handoffs, summary.attempts, summary.integrations),
        (3, 3, 1)
    );
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(3, 3)),
        "progress reached the end"
    );
    assert!(!out.with_file_name("history.hcx.partial").exists());
    // Nothing is left beside it: no partial copy, no stage (a shared store's rows, staged).
    let left: Vec<String> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial") || n.contains(".stage"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    for secret in [TOKEN, HEADER_SECRET, QUERY_KEY, NAME, EMAIL] {
        assert!(!file_holds(&out, secret), "{secret} is in the export");
    }
    assert!(file_holds(&out, "Z*** Q***") && file_holds(&out, "z***@example.com"));

    let file = App::open_history(&out).await.unwrap();
    let all = HistoryFilter::default();
    let ours: Vec<Value> = t
        .app
        .history(&all)
        .await
        .unwrap()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    let theirs: Vec<Value> = file
        .history(&all)
        .await
        .unwrap()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    assert_eq!(ours, theirs);
    let f = StatsFilter::default();
    assert_eq!(
        t.app.stats(&f, false).await.unwrap(),
        file.stats(&f, false).await.unwrap()
    );
    // An attempt in full, and its handoff's data as the file keeps it: masked.
    let (detail, chain) = file.attempt(ours_id(&ours, 1)).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert!(
        detail.summary.message.contains("Z*** Q*** exists"),
        "{}",
        detail.summary.message
    );
    let handoff = file
        .store()
        .handoff(detail.summary.handoff_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        handoff.data,
        StoredData::Plain(json!({"fullName": "Z*** Q***", "email": "z***@example.com"}))
    );
    // Nothing can be sent from it.
    let e = file
        .send("emr", "s-x", json!({"fullName": "A B"}), Trigger::Live)
        .await
        .unwrap_err();
    assert!(!e.message.is_empty());
    file.close().await;
}

fn ours_id(list: &[Value], n: usize) -> handoff_console::ids::AttemptId {
    list[n]["attemptId"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_takes_only_what_the_filter_matches() {
    let (t, sink, api) = history().await;
    let other = t
        .add(json!({
            "name": "crm", "kind": "api",
            "fields": [{"name": "fullName", "type": "name"}],
            "api": {"endpoint": format!("{}/leads", sink.url), "method": "POST"},
            "retry": {"maxAttempts": 1}
        }))
        .await;
    sink.always(Reply::json(201, json!({"id": "x"})));
    t.app
        .send(
            &other.name,
            "s-d",
            json!({"fullName": "Al Bo"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    let out = t.dir.path().join("emr-only.hcx");
    let filter = ExportFilter {
        integration: Some(api.parse().unwrap()),
        ..ExportFilter::default()
    };
    let summary = t
        .app
        .export_history(&out, &filter, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((summary.attempts, summary.integrations), (3, 1));
    // The export is in the audit trail, with what it took.
    let trail = t
        .app
        .audit_log(&handoff_console::audit::AuditFilter {
            action: Some(handoff_console::audit::AuditAction::HistoryExported),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        trail[0].object.as_ref().unwrap().name.as_deref(),
        Some("emr")
    );
    assert_eq!(trail[0].details["rows"], 3, "{}", trail[0].details);
    let file = App::open_history(&out).await.unwrap();
    let f = StatsFilter {
        integration: filter.integration,
        ..StatsFilter::default()
    };
    assert_eq!(
        t.app.stats(&f, false).await.unwrap(),
        file.stats(&f, false).await.unwrap()
    );
    assert_eq!(
        file.stats(&StatsFilter::default(), false)
            .await
            .unwrap()
            .total,
        3
    );
    file.close().await;
    // An existing file is never overwritten.
    let e = t
        .app
        .export_history(&out, &filter, &|_, _| {})
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("out"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reads_a_history_file_without_a_keyring_and_refuses_foreign_files() {
    let (t, _sink, _) = history().await;
    let out = t.dir.path().join("h.hcx");
    t.app
        .export_history(&out, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    let run = |args: &[&str]| {
        let o = cli()
            .args(args)
            // No Secret Service and no store: everything comes from the file.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .env("HANDOFF_DATA_DIR", "/nonexistent/handoff")
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (o.status.code(), json)
    };
    let file = out.to_str().unwrap();
    let (code, h) = run(&["--history-file", file, "history", "--json"]);
    assert_eq!(code, Some(0), "{h}");
    assert_eq!(h.as_array().unwrap().len(), 3);
    let (code, s) = run(&["--history-file", file, "stats", "--json"]);
    assert_eq!((code, s["total"].as_u64()), (Some(0), Some(3)), "{s}");
    let id = h[0]["attemptId"].as_str().unwrap();
    let (code, a) = run(&["--history-file", file, "show-attempt", id, "--json"]);
    assert_eq!(code, Some(0), "{a}");
    assert!(!a.to_string().contains(NAME));

    // The audit trail came along (the integration was created in the source).
    let (code, trail) = run(&["--history-file", file, "audit", "--json"]);
    assert_eq!(code, Some(0), "{trail}");
    assert!(trail.to_string().contains("integration.created"), "{trail}");
    let (code, e) = run(&["--history-file", file, "retry", id, "--json"]);
    assert_eq!(code, Some(2), "{e}");
    assert_eq!(e["error"]["field"], "--history-file");

    let junk = t.dir.path().join("junk.hcx");
    std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
    let store = t.dir.path().join(handoff_console::store::STORE_FILE);
    for (path, says) in [
        (junk.as_path(), "not a SQLite database"),
        (store.as_path(), "no export_meta table"),
        (Path::new("/nonexistent/x.hcx"), "no such file"),
    ] {
        let (code, e) = run(&[
            "--history-file",
            path.to_str().unwrap(),
            "history",
            "--json",
        ]);
        assert_eq!(code, Some(2), "{e}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_exports_to_one_file_never_spoil_each_other() {
    let (t, _sink, _) = history().await;
    let out = t.dir.path().join("same.hcx");
    let none = |_: u64, _: u64| {};
    let all = ExportFilter::default();
    let (a, b) = tokio::join!(
        t.app.export_history(&out, &all, &none),
        t.app.export_history(&out, &all, &none),
    );
    // One wins the name; the other says the file exists, and the winner's file is whole.
    let lost = match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        other => panic!("exactly one export must win the name: {other:?}"),
    };
    assert_eq!(lost.field.as_deref(), Some("out"), "{lost:?}");
    let opened = App::open_history(&out).await.expect("the file opens");
    assert_eq!(
        opened
            .history(&HistoryFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
    // Nothing half-written is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A handoff recorded before encryption (plain data) whose first attempt was recorded before
/// structural masking (raw values, no mark), then retried by this console: an export, and the
/// key rotation that seals the data, search the older record and leave the new one whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_records_are_searched_for_raw_values_and_structural_ones_left_whole() {
    use handoff_console::attempts::{BeginAttempt, Claim, FinishAttempt, Status};
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let api = t
        .add(json!({
            "name": "emr", "kind": "api",
            "fields": [{"name": "fullName", "type": "name"}, {"name": "stage", "type": "text"}],
            "api": {"endpoint": format!("{}/patients", sink.url), "method": "POST"},
            "retry": {"maxAttempts": 1}
        }))
        .await;
    // "Created" is a collected value and a word of the console's "201 Created".
    let data = json!({"fullName": NAME, "stage": "Created"});
    let (handoff, legacy) = (
        handoff_console::ids::HandoffId::new(),
        handoff_console::ids::AttemptId::new(),
    );
    let now = chrono::Utc::now().timestamp_millis();
    let store = t.app.store();
    store
        .begin_attempt(&BeginAttempt {
            attempt_id: legacy,
            handoff_id: handoff,
            integration_id: api.id,
            integration_name: "emr",
            session_id: "s-old",
            trigger: Trigger::Live,
            automatic: false,
            previous_attempt_id: None,
            claim: Claim::New,
            data: Some(&data.to_string()),
            data_masked: None,
            started_at: now,
            lease_until: now,
            owner: "test",
            taken_by: None,
        })
        .await
        .unwrap();
    let message = format!("409 Conflict: {NAME} exists");
    let request = json!({"method": "POST", "body": data}).to_string();
    store
        .finish_attempt(&FinishAttempt {
            attempt_id: legacy,
            handoff_id: handoff,
            trigger: Trigger::Live,
            status: Status::Failed,
            category: Some(handoff_console::targets::ErrorCategory::Validation),
            status_code: Some(409),
            message: &message,
            submission_id: None,
            request: &request,
            response_excerpt: None,
            finished_at: now,
            duration_ms: 5,
            next_attempt_at: None,
            handoff_status: Status::Failed,
        })
        .await
        .unwrap();
    // Written behind the store's back below: the journal's entries go in first.
    t.app.store().settle().await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        t.dir
            .path()
            .join(handoff_console::store::STORE_FILE)
            .display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE attempts SET masking = NULL WHERE id = ?")
        .bind(legacy.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    sink.then([Reply::json(201, json!({"id": "s-1"}))]);
    let retried = t.app.retry_attempt(legacy).await.unwrap();
    assert!(retried.success, "{}", retried.message);
    assert_eq!(retried.message, "201 Created: submission s-1");

    let out = t.dir.path().join("history.hcx");
    t.app
        .export_history(&out, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    assert!(!file_holds(&out, NAME), "the older record's raw value");
    let file = App::open_history(&out).await.unwrap();
    let (old, _) = file.attempt(legacy).await.unwrap();
    assert_eq!(old.summary.message, "409 Conflict: Z*** Q*** exists");
    let (new, _) = file.attempt(retried.attempt_id).await.unwrap();
    assert_eq!(
        new.summary.message, "201 Created: submission s-1",
        "a structurally masked record is never searched again"
    );
    file.close().await;

    // Sealing the plain data masks its older records in the store too, and only those.
    t.app
        .rotate_data_key(Default::default(), &|_, _| {})
        .await
        .unwrap();
    let (old, _) = t.app.attempt(legacy).await.unwrap();
    assert_eq!(old.summary.message, "409 Conflict: Z*** Q*** exists");
    let (new, _) = t.app.attempt(retried.attempt_id).await.unwrap();
    assert_eq!(new.summary.message, "201 Created: submission s-1");
}

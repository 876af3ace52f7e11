//! `store copy` (issue 17): a console's local history copied into a PostgreSQL store by the
//! real binary — cut short by SIGKILL and resumed, every table's count and the statistics
//! verified, the history readable (and its sealed data revealed) by a console on the copy —
//! and refused where it would merge into another history or has nothing to copy. Against the
//! PostgreSQL of `HANDOFF_TEST_PG_URL`, in a schema of its own.

mod common;
mod common_db;

use common::{Reply, Sink, cli};
use common_db::{cleanly, exec, pg_store_url, postgres, suffix};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::secrets::{Secret, VAULT_FILE, VaultBackend};
use handoff_console::store::StoreChoice;
use handoff_console::store::postgres::StoreUrl;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

const PASSPHRASE: &str = "copy test passphrase";
/// Enough attempts that copying them takes several batches (a kill lands mid-table).
const HANDOFFS: usize = 6_000;

fn vault(dir: &std::path::Path) -> Arc<VaultBackend> {
    Arc::new(VaultBackend::new(
        dir.join(VAULT_FILE),
        Some(Secret::new(PASSPHRASE.to_string())),
    ))
}

/// `store copy --from FROM --to URL` as the CLI runs it, with the vault of `from` as secrets.
fn copy_command(from: &std::path::Path, url: &str) -> std::process::Command {
    let mut cmd = cli();
    cmd.args([
        "--data-dir",
        from.to_str().unwrap(),
        "--secrets",
        "vault",
        "--json",
    ])
    .args([
        "store",
        "copy",
        "--from",
        from.to_str().unwrap(),
        "--to",
        url,
    ])
    .env("HANDOFF_VAULT_PASSPHRASE", PASSPHRASE)
    .env_remove("HANDOFF_STORE_URL")
    .env("RUST_LOG", "warn");
    cmd
}

/// A local history with something in every copied table: integrations (one removed since),
/// handoffs delivered, failed and waiting for a retry, an intake source, its mapping and an
/// inbox message, audit entries, health results, a data key.
async fn seed(dir: &std::path::Path, sink: &Sink, flaky: &Sink) -> App {
    let mut app = Arc::new(App::open_with(dir, vault(dir)).await.unwrap());
    let api =
        |name: &str, url: &str, retry: Value| -> handoff_console::integrations::IntegrationConfig {
            serde_json::from_value(json!({
                "name": name, "kind": "api",
                "fields": [{"name": "fullName", "type": "name", "required": true}],
                "api": {"endpoint": format!("{url}/patients"), "method": "POST",
                        "payloadStructure": {"name": "{{fullName}}"},
                        "timeoutMs": 2000, "connectTimeoutMs": 500},
                "retry": retry
            }))
            .unwrap()
        };
    app.add_integration(api("emr", &sink.url, json!({"maxAttempts": 1})))
        .await
        .unwrap();
    app.add_integration(api(
        "flaky",
        &flaky.url,
        json!({"maxAttempts": 3, "baseDelayMs": 3_600_000}),
    ))
    .await
    .unwrap();
    let gone = app
        .add_integration(api("gone", &sink.url, json!({"maxAttempts": 1})))
        .await
        .unwrap();
    app.send(
        "gone",
        "gone-1",
        json!({"fullName": "Old Timer"}),
        Trigger::Live,
    )
    .await
    .unwrap();
    app.remove_integration(&gone.id.to_string()).await.unwrap();
    {
        use futures_util::StreamExt;
        let app = &app;
        let mut sends = futures_util::stream::iter(0..HANDOFFS)
            .map(|i| async move {
                app.send(
                    "emr",
                    &format!("call-{i}"),
                    json!({"fullName": format!("Patient {i}")}),
                    Trigger::Live,
                )
                .await
            })
            .buffer_unordered(8);
        while let Some(r) = sends.next().await {
            assert!(r.unwrap().success);
        }
    }
    // The flaky API refuses: failed attempts, a retry scheduled.
    for i in 0..5 {
        let r = app
            .send(
                "flaky",
                &format!("flaky-{i}"),
                json!({"fullName": "Flo Flaky"}),
                Trigger::Live,
            )
            .await
            .unwrap();
        assert!(!r.success);
    }
    let source: handoff_console::service::SourceRequest = serde_json::from_value(json!({
        "name": "bridge", "kind": "ehr", "verification": {"mode": "standardWebhooks"},
        "integrations": ["emr"]
    }))
    .unwrap();
    app.add_source(source).await.unwrap();
    let mapping: handoff_console::service::MappingRequest = serde_json::from_value(json!({
        "source": "bridge", "name": "new patients", "integration": "emr",
        "event": {"pointer": "/type", "equals": "patient.created"},
        "fields": [{"field": "fullName", "value": {"pointer": "/patient/name"}}]
    }))
    .unwrap();
    app.add_mapping(mapping).await.unwrap();
    let event: handoff_console::service::TestEventRequest = serde_json::from_value(json!({
        "body": {"type": "patient.created", "patient": {"name": "Ina Take"}}
    }))
    .unwrap();
    app.send_test_event("bridge", event).await.unwrap();
    app.health(None, Some(std::time::Duration::from_secs(5)))
        .await
        .unwrap();
    // The test event's handoff is delivered in the background (a task holding the app):
    // the history is complete once it is done.
    let started = std::time::Instant::now();
    loop {
        match Arc::try_unwrap(app) {
            Ok(app) => return app,
            Err(shared) => {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(30),
                    "the test event's delivery never finished"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                app = shared;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_history_copied_into_postgres_is_resumed_after_a_kill_and_verified() {
    let server = postgres().await;
    let schema = format!("hc_copy_{}", suffix());
    let url = pg_store_url(&schema);
    let sink = Sink::start().await;
    sink.always(Reply::status(201));
    // The flaky API refuses every delivery.
    let flaky = Sink::start().await;
    flaky.always(Reply::status(503));
    let src = tempfile::tempdir().unwrap();
    cleanly(
        async {
            let app = seed(src.path(), &sink, &flaky).await;
            let handoff = app
                .handoffs_query(&serde_json::from_value(json!({"session": "call-7"})).unwrap())
                .await
                .unwrap()
                .remove(0);
            app.close().await;

            // Cut short mid-way through the attempts, then run again: it resumes.
            let mut first = copy_command(src.path(), &url)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let progress = BufReader::new(first.stderr.take().unwrap());
            let mut seen = Vec::new();
            for line in progress.lines() {
                let line = line.unwrap();
                seen.push(line.clone());
                if line.starts_with("attempts: ") && !line.starts_with("attempts: 0 ") {
                    first.kill().unwrap(); // SIGKILL
                    break;
                }
            }
            let _ = first.wait();
            let copied: i64 = count(
                &server.pool,
                &format!("SELECT count(*) FROM {schema}.attempts"),
            )
            .await;
            assert!(
                copied > 0 && copied < HANDOFFS as i64,
                "killed mid-way through the attempts: {copied} copied; progress: {seen:?}"
            );

            let out = copy_command(src.path(), &url).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["resumed"], true, "{report}");
            assert_eq!(report["countsMatch"], true, "{report}");
            assert_eq!(report["statsMatch"], true, "{report}");
            let tables = report["tables"].as_array().unwrap();
            for t in tables {
                assert!(t["source"].as_u64().unwrap() > 0, "nothing to copy in {t}");
                assert_eq!(t["source"], t["target"], "{t}");
            }
            let attempts = tables.iter().find(|t| t["table"] == "attempts").unwrap();
            assert!(
                attempts["copied"].as_u64().unwrap() < attempts["source"].as_u64().unwrap(),
                "the second run passed over what the first copied: {attempts}"
            );
            assert!(
                stderr.contains("attempts: "),
                "progress on stderr: {stderr}"
            );

            // A console on the copy: the history, a removed integration's handoff, the sealed
            // data (the same key, from the same vault), and new entries after the copied ones.
            let copy = App::open_on(
                src.path(),
                StoreChoice::Shared(StoreUrl::parse(&url).unwrap()),
                vault(src.path()),
            )
            .await
            .unwrap();
            let revealed = copy.reveal(handoff.handoff_id).await.unwrap();
            assert_eq!(revealed["fullName"], "Patient 7");
            let gone = copy
                .handoffs_query(&serde_json::from_value(json!({"session": "gone-1"})).unwrap())
                .await
                .unwrap();
            assert_eq!(gone.len(), 1, "the removed integration's handoff is there");
            let names: Vec<String> = copy
                .integrations(None)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect();
            assert_eq!(names.len(), 2, "{names:?}");
            copy.add_integration(bare_api("after copy"))
                .await
                .expect("the audit trail's next id comes after the copied ones");
            copy.close().await;

            // Run again when done: nothing more to copy, still verified.
            let again = copy_command(src.path(), &url).output().unwrap();
            assert_eq!(
                again.status.code(),
                Some(1),
                "the target has a row the source lacks now"
            );
            let again: Value = serde_json::from_slice(&again.stdout).unwrap();
            assert_eq!(again["countsMatch"], false, "{again}");
        },
        exec(
            &server.pool,
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_copy_into_a_postgres_store_holding_another_history_or_from_no_store_is_refused() {
    let server = postgres().await;
    let schema = format!("hc_copy_{}", suffix());
    let url = pg_store_url(&schema);
    let (src, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    cleanly(
        async {
            // No store in --from: refused, naming the flag, and nothing made there.
            let out = copy_command(other.path(), &url).output().unwrap();
            assert_eq!(out.status.code(), Some(2));
            let error: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(error["error"]["field"], "--from", "{error}");
            assert!(!other.path().join("handoff.db").exists());

            // The target already holds another console's history.
            let there = App::open_on(
                other.path(),
                StoreChoice::Shared(StoreUrl::parse(&url).unwrap()),
                vault(other.path()),
            )
            .await
            .unwrap();
            there.add_integration(bare_api("theirs")).await.unwrap();
            there.close().await;
            let mine = App::open_with(src.path(), vault(src.path())).await.unwrap();
            mine.add_integration(bare_api("mine")).await.unwrap();
            mine.close().await;
            let out = copy_command(src.path(), &url).output().unwrap();
            assert_eq!(out.status.code(), Some(2));
            let error: Value = serde_json::from_slice(&out.stdout).unwrap();
            let message = error["error"]["message"].as_str().unwrap();
            assert_eq!(error["error"]["kind"], "conflict", "{error}");
            assert!(message.contains("already holds a history"), "{message}");
            assert!(message.contains("1 integrations"), "{message}");
            let names: i64 = count(
                &server.pool,
                &format!("SELECT count(*) FROM {schema}.integrations WHERE name = 'mine'"),
            )
            .await;
            assert_eq!(names, 0, "nothing was copied");

            // The target must be a PostgreSQL store.
            let out = copy_command(src.path(), "local").output().unwrap();
            assert_eq!(out.status.code(), Some(2));
            let error: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(error["error"]["field"], "--to", "{error}");
        },
        exec(
            &server.pool,
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ),
    )
    .await;
}

/// An API integration with nothing to deliver to: a row in the store.
fn bare_api(name: &str) -> handoff_console::integrations::IntegrationConfig {
    serde_json::from_value(json!({
        "name": name, "kind": "api",
        "fields": [{"name": "n", "type": "integer"}],
        "api": {"endpoint": "http://127.0.0.1:9/p", "method": "POST"}
    }))
    .unwrap()
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

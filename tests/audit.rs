//! The audit trail: every integration change, secret write, manual retry, reveal, export and key
//! rotation is recorded with its actor, time and object; an update's diff never carries a
//! secret (checked in the raw table too); the store itself refuses to change or delete an
//! entry; a change that fails leaves no entry; filters; and `audit --json` through the binary.

mod common;

use common::{Reply, Sink, TestApp, cli};
use handoff_console::ErrorKind;
use handoff_console::attempts::{RetryFilter, Trigger};
use handoff_console::audit::{
    AuditAction, AuditEvent, AuditFilter, AuditObject, AuditRecord, NewAuditEvent, ObjectType,
};
use handoff_console::ids::{AttemptId, HandoffId};
use handoff_console::integrations::{IntegrationConfig, SecretSlot};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN_1: &str = "tok-AUDIT-first-7c1d";
const TOKEN_2: &str = "tok-AUDIT-second-91ab";
const HEADER_1: &str = "hdr-AUDIT-one-44f0";
const HEADER_2: &str = "hdr-AUDIT-two-3e2a";
const QUERY_KEY: &str = "qk-AUDIT-5d6e";

fn api_config(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "fields": [{"name": "n", "type": "integer"}],
        "api": {"endpoint": format!("{url}/p"), "method": "POST",
                "headers": {"X-Trace": "1", "X-Api-Token": HEADER_1},
                "authentication": {"type": "bearer", "credentials": {"token": TOKEN_1}},
                "payloadStructure": {"n": "{{n}}"}},
        "retry": {"maxAttempts": 1}
    })
}

fn plain_config(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "api": {"endpoint": format!("{url}/p"), "method": "POST"},
        "retry": {"maxAttempts": 1}
    })
}

fn config(v: Value) -> IntegrationConfig {
    serde_json::from_value(v).expect("config shape")
}

async fn all(t: &TestApp) -> Vec<AuditEvent> {
    t.app.audit_log(&AuditFilter::default()).await.unwrap()
}

fn actions(events: &[AuditEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

/// Every row of the raw table as text, read past the service.
fn raw_rows(t: &TestApp) -> Vec<String> {
    let conn = rusqlite::Connection::open(t.dir.path().join("handoff.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, at, actor, action, object_type, object_id, object_name, details FROM audit_log")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((0..8)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Null => "NULL".into(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" | "))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn integration_changes_are_recorded_with_actor_time_and_object() {
    let t = TestApp::new().await;
    let before = now_ms();
    let saved = t.add(api_config("emr", "http://127.0.0.1:1")).await;
    let mut changed = api_config("emr", "http://127.0.0.1:1");
    changed["description"] = json!("front desk");
    changed["api"]["authentication"]["credentials"]["token"] = json!("••••••••");
    t.app
        .update_integration("emr", config(changed))
        .await
        .unwrap();
    t.app
        .set_integration_secret("emr", SecretSlot::ApiToken, TOKEN_2.into())
        .await
        .unwrap();
    t.app.remove_integration("emr").await.unwrap();
    let after = now_ms();

    let events = all(&t).await;
    assert_eq!(
        actions(&events),
        [
            "integration.removed",
            "secret.rotated",
            "integration.updated",
            "integration.created"
        ],
        "newest first"
    );
    for e in &events {
        assert_eq!(e.actor, t.app.actor());
        assert!(!e.actor.is_empty());
        let at = e.at.timestamp_millis();
        assert!(
            (before..=after).contains(&at),
            "{at} not in [{before}, {after}]"
        );
        assert_eq!(
            e.object,
            Some(AuditObject::integration(saved.id, "emr")),
            "{}",
            e.action.as_str()
        );
    }
    assert!(events.windows(2).all(|w| w[0].id > w[1].id));
    let created = &events[3].details;
    assert_eq!(created["target"]["kind"], "api");
    // The bearer token, and the credential header's value (kept in the secrets backend too).
    assert_eq!(created["secrets"], json!(["api.token", "api.headers"]));
    assert_eq!(
        events[2].details["changes"],
        json!([{"path": "description", "change": "added", "after": "front desk"}])
    );
    assert_eq!(
        events[1].details,
        json!({"secret": "api.token", "path": "api.authentication.credentials.token"})
    );
    assert_eq!(
        events[0].details["target"]["endpoint"],
        "http://127.0.0.1:1/p"
    );
}

#[tokio::test]
async fn an_update_diff_lists_changed_paths_and_never_a_secret() {
    let t = TestApp::new().await;
    t.add(api_config("emr", "http://127.0.0.1:1")).await;
    let mut changed = api_config("emr", "http://127.0.0.1:1");
    changed["api"]["endpoint"] = json!(format!("http://127.0.0.1:1/p?api_key={QUERY_KEY}&v=2"));
    changed["api"]["headers"] = json!({
        "X-Trace": "2",
        "X-Api-Token": HEADER_2,
        // A secret pasted where no rule expects one is still scrubbed.
        "X-Client": format!("client {TOKEN_2}"),
    });
    changed["api"]["authentication"]["credentials"]["token"] = json!(TOKEN_2);
    t.app
        .update_integration("emr", config(changed))
        .await
        .unwrap();

    let events = t
        .app
        .audit_log(&AuditFilter {
            action: Some(AuditAction::IntegrationUpdated),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let changes = events[0].details["changes"].as_array().unwrap().clone();
    let find = |p: &str| {
        changes
            .iter()
            .find(|c| c["path"] == p)
            .unwrap_or_else(|| panic!("no change at {p}: {changes:?}"))
            .clone()
    };
    assert_eq!(
        find("api.endpoint")["after"],
        "http://127.0.0.1:1/p?api_key=[redacted]&v=2"
    );
    assert_eq!(find("api.endpoint")["before"], "http://127.0.0.1:1/p");
    assert_eq!(find("api.headers.X-Trace")["before"], "1");
    assert_eq!(find("api.headers.X-Trace")["after"], "2");
    // The credential header's value lives in the secrets backend: its change is the
    // `api.headers` secret's, shown without values.
    let header = find("api.headers");
    assert_eq!(header["redacted"], true);
    assert_eq!(header["change"], "changed");
    assert!(header.get("before").is_none() && header.get("after").is_none());
    assert_eq!(find("api.headers.X-Client")["after"], "client [redacted]");
    let token = find("api.authentication.credentials.token");
    assert_eq!(
        (token["change"].clone(), token["redacted"].clone()),
        (json!("changed"), json!(true))
    );
    assert_eq!(changes.len(), 5, "{changes:?}");

    let rows = raw_rows(&t);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for secret in [TOKEN_1, TOKEN_2, HEADER_1, HEADER_2, QUERY_KEY] {
            assert!(!row.contains(secret), "the audit row holds a secret: {row}");
        }
    }
}

#[tokio::test]
async fn a_secret_is_set_where_none_was_stored_and_rotated_where_it_replaced_one() {
    let t = TestApp::new().await;
    let saved = t.add(api_config("emr", "http://127.0.0.1:1")).await;
    // The keyring lost the token (e.g. a new machine): setting it is a "set".
    keyring::Entry::new("handoff-console", &format!("{}/api.token", saved.id))
        .unwrap()
        .delete_credential()
        .unwrap();
    t.app
        .set_integration_secret("emr", SecretSlot::ApiToken, TOKEN_1.into())
        .await
        .unwrap();
    t.app
        .set_integration_secret("emr", SecretSlot::ApiToken, TOKEN_2.into())
        .await
        .unwrap();
    let events = all(&t).await;
    assert_eq!(
        actions(&events),
        ["secret.rotated", "secret.set", "integration.created"]
    );
    // A refused write (no such credential in the config) is no change and no entry.
    let err = t
        .app
        .set_integration_secret("emr", SecretSlot::DatabasePassword, "x".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(all(&t).await.len(), 3);
    for row in raw_rows(&t) {
        assert!(!row.contains(TOKEN_1) && !row.contains(TOKEN_2), "{row}");
    }
}

#[tokio::test]
async fn the_store_refuses_to_change_or_delete_an_entry() {
    let t = TestApp::new().await;
    t.add(plain_config("emr", "http://127.0.0.1:1")).await;
    let conn = rusqlite::Connection::open(t.dir.path().join("handoff.db")).unwrap();
    let update = conn
        .execute("UPDATE audit_log SET actor = 'mallory'", [])
        .unwrap_err();
    assert!(
        update.to_string().contains("the audit log is append-only"),
        "{update}"
    );
    let delete = conn.execute("DELETE FROM audit_log", []).unwrap_err();
    assert!(
        delete.to_string().contains("the audit log is append-only"),
        "{delete}"
    );
    let events = all(&t).await;
    assert_eq!(events.len(), 1);
    assert_ne!(events[0].actor, "mallory");
}

#[tokio::test]
async fn a_change_that_fails_leaves_no_entry() {
    let t = TestApp::new().await;
    t.add(plain_config("a", "http://127.0.0.1:1")).await;
    let b = t.add(plain_config("b", "http://127.0.0.1:1")).await;
    assert_eq!(all(&t).await.len(), 2);

    // Refused by the service: a name taken, an invalid config, an unknown integration.
    let err = t
        .app
        .add_integration(config(plain_config("A", "http://127.0.0.1:1")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.field.as_deref(), Some("name"));
    let err = t
        .app
        .update_integration("b", config(plain_config("b", "ftp://nowhere")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(t.app.remove_integration("nope").await.is_err());
    assert_eq!(all(&t).await.len(), 2);

    // Refused by the store inside the transaction (the unique name, as when two processes
    // rename at once): the entry, written first, goes with it.
    let entry = |_: &IntegrationConfig| NewAuditEvent {
        at: now_ms(),
        actor: "test".into(),
        action: AuditAction::IntegrationUpdated,
        object: Some(AuditObject::of(&b)),
        details: json!({}),
    };
    let renamed = config(plain_config("a", "http://127.0.0.1:1"));
    assert!(
        t.app
            .store()
            .update_integration(b.id, &renamed, entry)
            .await
            .is_err()
    );
    let removed_meanwhile = handoff_console::ids::IntegrationId::new();
    assert!(
        !t.app
            .store()
            .update_integration(removed_meanwhile, &renamed, entry)
            .await
            .unwrap()
    );
    assert_eq!(all(&t).await.len(), 2);
    assert_eq!(t.app.integration("b").await.unwrap().name, "b");
}

#[tokio::test]
async fn manual_retries_are_recorded_but_dry_runs_and_the_worker_are_not() {
    let sink = Sink::start().await;
    sink.always(Reply::status(500));
    let t = TestApp::new().await;
    let saved = t.add(plain_config("emr", &sink.url)).await;
    let mut scheduled = plain_config("auto", &sink.url);
    scheduled["retry"] = json!({"maxAttempts": 2, "baseDelayMs": 10, "maxDelayMs": 10});
    t.add(scheduled).await;

    let first = t
        .app
        .send("emr", "s-1", json!({}), Trigger::Live)
        .await
        .unwrap();
    assert!(!first.success);
    let retried = t.app.retry_attempt(first.attempt_id).await.unwrap();
    let dry = t
        .app
        .retry_failed(&RetryFilter::default(), true, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(dry.matched, 1);
    assert_eq!(
        actions(&all(&t).await)[0],
        "retry.single",
        "a dry run is not recorded"
    );

    sink.always(Reply::json(201, json!({"id": "sub-1"})));
    let bulk = t
        .app
        .retry_failed(
            &RetryFilter {
                integration: Some(saved.id),
                ..Default::default()
            },
            false,
            &|_, _| {},
        )
        .await
        .unwrap();
    assert_eq!((bulk.matched, bulk.results.len()), (1, 1));

    // The worker's automatic retry is not a person's action.
    sink.then([Reply::status(500)]);
    let auto = t
        .app
        .send("auto", "s-2", json!({}), Trigger::Live)
        .await
        .unwrap();
    assert!(auto.next_retry_at.is_some());
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(t.app.run_due_retries().await.unwrap().ran, 1);

    let events = all(&t).await;
    assert_eq!(
        actions(&events),
        [
            "retry.bulk",
            "retry.single",
            "integration.created",
            "integration.created"
        ]
    );
    let single = &events[1];
    assert_eq!(single.object, Some(AuditObject::of(&saved)));
    assert_eq!(single.details["retriedAttemptId"], json!(first.attempt_id));
    assert_eq!(single.details["attemptId"], json!(retried.attempt_id));
    assert_eq!(single.details["handoffId"], json!(first.handoff_id));
    assert_eq!(single.details["success"], false);
    assert_eq!(single.details["outcome"], "failed");
    assert_eq!(single.details["category"], "server");
    let bulk_entry = &events[0];
    assert_eq!(bulk_entry.object, Some(AuditObject::of(&saved)));
    assert_eq!(
        bulk_entry.details["filter"]["integrationId"],
        json!(saved.id)
    );
    assert_eq!(
        (
            bulk_entry.details["matched"].clone(),
            bulk_entry.details["retried"].clone(),
            bulk_entry.details["succeeded"].clone(),
            bulk_entry.details["skipped"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(0))
    );
}

#[tokio::test]
async fn reveal_export_and_key_rotation_are_recorded_through_the_service() {
    let t = TestApp::new().await;
    let saved = t.add(plain_config("emr", "http://127.0.0.1:1")).await;
    let handoff = HandoffId::new();
    let attempt = AttemptId::new();
    t.app
        .record_audit(AuditRecord::DataRevealed {
            integration: Some(AuditObject::of(&saved)),
            handoff_id: handoff,
            attempt_id: Some(attempt),
            fields: vec!["fullName".into(), "phone".into()],
        })
        .await
        .unwrap();
    t.app
        .record_audit(AuditRecord::HistoryExported {
            integration: None,
            filter: json!({"since": "2026-11-01T00:00:00Z"}),
            destination: Some(format!("https://files.example/upload?token={TOKEN_1}")),
            rows: 42,
        })
        .await
        .unwrap();
    t.app
        .record_audit(AuditRecord::KeysRotated {
            key: "vault".into(),
            reencrypted: 3,
        })
        .await
        .unwrap();

    let events = all(&t).await;
    assert_eq!(
        actions(&events),
        [
            "keys.rotated",
            "history.exported",
            "data.revealed",
            "integration.created"
        ]
    );
    assert!(events.iter().all(|e| e.actor == t.app.actor()));
    let keys = &events[0];
    assert_eq!(keys.object.as_ref().unwrap().object_type, ObjectType::Keys);
    assert_eq!(keys.details, json!({"key": "vault", "reencrypted": 3}));
    let export = &events[1];
    assert_eq!(export.object, None);
    assert_eq!(export.details["rows"], 42);
    assert_eq!(
        export.details["destination"],
        "https://files.example/upload?token=[redacted]"
    );
    let reveal = &events[2];
    assert_eq!(reveal.object, Some(AuditObject::of(&saved)));
    assert_eq!(reveal.details["handoffId"], json!(handoff));
    assert_eq!(reveal.details["attemptId"], json!(attempt));
    assert_eq!(reveal.details["fields"], json!(["fullName", "phone"]));
    for row in raw_rows(&t) {
        assert!(!row.contains(TOKEN_1), "{row}");
    }
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let mut t = TestApp::new().await;
    let os_actor = t.app.actor().to_string();
    let a = t.add(plain_config("alpha", "http://127.0.0.1:1")).await;
    t.add(plain_config("beta", "http://127.0.0.1:1")).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    t.app.set_actor("bob (api)").unwrap();
    t.app.remove_integration("alpha").await.unwrap();
    assert_eq!(t.app.set_actor(" \n").unwrap_err().kind, ErrorKind::Invalid);

    let list = |f: AuditFilter| {
        let app = &t.app;
        async move { actions(&app.audit_log(&f).await.unwrap()) }
    };
    assert_eq!(
        list(AuditFilter {
            action: Some(AuditAction::IntegrationCreated),
            ..Default::default()
        })
        .await,
        ["integration.created", "integration.created"]
    );
    // A removed integration is found by the name it had, and by its id.
    let by_name = list(AuditFilter {
        integration: Some("ALPHA".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_name, ["integration.removed", "integration.created"]);
    let by_id = list(AuditFilter {
        integration: Some(a.id.to_string()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_id, by_name);
    assert_eq!(
        list(AuditFilter {
            actor: Some("bob (api)".into()),
            ..Default::default()
        })
        .await,
        ["integration.removed"]
    );
    assert_eq!(
        list(AuditFilter {
            actor: Some(os_actor),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        list(AuditFilter {
            since_ms: Some(middle),
            ..Default::default()
        })
        .await,
        ["integration.removed"]
    );
    assert_eq!(
        list(AuditFilter {
            until_ms: Some(middle),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    let limited = t
        .app
        .audit_log(&AuditFilter {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(actions(&limited), ["integration.removed"]);
    for bad in [0, 10_001] {
        let err = t
            .app
            .audit_log(&AuditFilter {
                limit: Some(bad),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("limit"));
    }
}

#[test]
fn the_cli_lists_the_trail_as_json_and_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cfg = dir.path().join("emr.json");
    std::fs::write(&cfg, plain_config("emr", "http://127.0.0.1:1").to_string()).unwrap();
    let run = |args: &[&str]| {
        cli()
            .env("USER", "carol")
            .arg("--data-dir")
            .arg(&store)
            .args(args)
            .output()
            .unwrap()
    };
    let add = run(&["integration", "add", "--file", cfg.to_str().unwrap()]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let remove = run(&["integration", "remove", "emr"]);
    assert!(remove.status.success());

    let out = run(&["audit", "--json", "--integration", "emr", "--since", "1h"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["action"], "integration.removed");
    assert_eq!(list[1]["action"], "integration.created");
    assert!(
        list[0]["actor"].as_str().unwrap().starts_with("carol"),
        "{}",
        list[0]
    );
    assert_eq!(list[0]["object"]["type"], "integration");
    assert_eq!(list[0]["object"]["name"], "emr");
    assert!(list[0]["at"].as_str().is_some() && list[0]["id"].as_i64().is_some());

    let one = run(&[
        "audit",
        "--json",
        "--action",
        "integration.created",
        "--limit",
        "1",
    ]);
    let one: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);

    let table = run(&["audit"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("AT "), "{text}");
    assert!(
        text.contains("integration.removed") && text.contains("carol"),
        "{text}"
    );

    for bad in [
        &["audit", "--json", "--limit", "0"][..],
        &["audit", "--json", "--action", "integration.deleted"][..],
        &["audit", "--json", "--since", "yesterday"][..],
    ] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(err["error"]["message"].is_string(), "{err}");
    }
}

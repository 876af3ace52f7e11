//! Credentials live in the OS keyring (a real Secret Service in CI), never in the store:
//! saved by one process and used by another, rotated without a restart, removed with their
//! integration, and an unreachable keyring is a clear error that leaves nothing half-saved.

mod common;

use common::{Reply, Sink, TestApp, cli};
use handoff_console::attempts::Trigger;
use handoff_console::integrations::SecretSlot;
use serde_json::{Value, json};

const TOKEN: &str = "tok-CANARY-5f1e2d";

fn bearer_config(name: &str, url: &str, token: &str) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "api": {"endpoint": format!("{url}/p"), "method": "POST",
                "authentication": {"type": "bearer", "credentials": {"token": token}},
                "payloadStructure": {"n": "{{n}}"}},
        "retry": {"maxAttempts": 1}
    })
}

fn keyring_value(key: &str) -> Option<String> {
    match keyring::Entry::new("handoff-console", key).and_then(|e| e.get_password()) {
        Ok(v) => Some(v),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("keyring not reachable: {e}"),
    }
}

#[tokio::test]
async fn credentials_go_to_the_keyring_and_never_to_the_store() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let saved = t.add(bearer_config("emr", &sink.url, TOKEN)).await;
    assert_eq!(
        keyring_value(&format!("{}/api.token", saved.id)).as_deref(),
        Some(TOKEN)
    );
    let shown = serde_json::to_string(&t.app.integration("emr").await.unwrap()).unwrap();
    assert!(
        !shown.contains(TOKEN),
        "the config as shown holds no secret"
    );
    assert!(shown.contains("••••••••"));

    let r = t
        .app
        .send("emr", "s-1", json!({"n": 1}), Trigger::Live)
        .await
        .unwrap();
    assert!(r.success, "{}", r.message);
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    t.app.close().await;
    for entry in std::fs::read_dir(t.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
}

// Multi-threaded: the sink must keep answering while this thread waits on a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_saved_by_one_process_is_used_by_another() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("emr.json");
    std::fs::write(&cfg, bearer_config("emr", &sink.url, TOKEN).to_string()).unwrap();
    let store = dir.path().join("store");
    let add = cli()
        .arg("--data-dir")
        .arg(&store)
        .args(["integration", "add", "--file"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // A second, separate process: an in-memory keyring would have forgotten the token.
    let data = dir.path().join("d.json");
    std::fs::write(&data, r#"{"n": 2}"#).unwrap();
    let send = cli()
        .arg("--data-dir")
        .arg(&store)
        .args(["send", "--integration", "emr", "--session", "s", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        send.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&send.stdout)
    );
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn a_rotated_secret_is_used_by_the_next_attempt_without_a_restart() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(bearer_config("emr", &sink.url, "old-token")).await;
    assert!(
        t.app
            .send("emr", "s", json!({"n": 1}), Trigger::Live)
            .await
            .unwrap()
            .success
    );
    t.app
        .set_integration_secret("emr", SecretSlot::ApiToken, "new-token".into())
        .await
        .unwrap();
    assert!(
        t.app
            .send("emr", "s", json!({"n": 2}), Trigger::Live)
            .await
            .unwrap()
            .success
    );
    let auth: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(auth, ["Bearer old-token", "Bearer new-token"]);
}

#[tokio::test]
async fn update_keeps_masked_secrets_and_removal_deletes_them() {
    let sink = Sink::start().await;
    sink.always(Reply::json(200, json!({"ok": true})));
    let t = TestApp::new().await;
    let saved = t.add(bearer_config("emr", &sink.url, TOKEN)).await;
    // Sending back what `show` gives (the mask) keeps the stored token.
    let mut shown = serde_json::to_value(&t.app.integration("emr").await.unwrap().config).unwrap();
    shown["description"] = json!("changed");
    t.app
        .update_integration("emr", serde_json::from_value(shown).unwrap())
        .await
        .unwrap();
    assert_eq!(
        keyring_value(&format!("{}/api.token", saved.id)).as_deref(),
        Some(TOKEN)
    );
    assert!(
        t.app
            .send("emr", "s", json!({"n": 1}), Trigger::Live)
            .await
            .unwrap()
            .success
    );
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    t.app.remove_integration("emr").await.unwrap();
    assert_eq!(keyring_value(&format!("{}/api.token", saved.id)), None);
}

/// A connection to the console's store file, beside the console's own (as another process
/// would have), to make its next write fail.
async fn store_pool(t: &TestApp) -> sqlx::SqlitePool {
    let path = t.dir.path().join(handoff_console::store::STORE_FILE);
    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// Sends one handoff and answers the Authorization header the sink received for it.
async fn authorization_sent(t: &TestApp, sink: &Sink) -> String {
    let before = sink.count();
    let r = t
        .app
        .send("emr", "s", json!({"n": 1}), Trigger::Live)
        .await
        .unwrap();
    assert!(r.success, "{r:?}");
    sink.received()[before]
        .header("authorization")
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_failed_update_keeps_the_previous_secret() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let saved = t.add(bearer_config("emr", &sink.url, "tok-old")).await;
    assert_eq!(authorization_sent(&t, &sink).await, "Bearer tok-old");
    // The store refuses the update after the new token was written to the keyring.
    let store = store_pool(&t).await;
    sqlx::query(
        "CREATE TRIGGER refuse_update BEFORE UPDATE ON integrations          BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&store)
    .await
    .unwrap();
    let mut config = bearer_config("emr", &sink.url, "tok-new");
    config["description"] = json!("new token");
    let err = t
        .app
        .update_integration("emr", serde_json::from_value(config).unwrap())
        .await
        .unwrap_err();
    assert_ne!(err.kind, handoff_console::ErrorKind::Invalid, "{err:?}");
    sqlx::query("DROP TRIGGER refuse_update")
        .execute(&store)
        .await
        .unwrap();
    // The stored config is the old one, and so is the secret it goes with.
    assert_eq!(
        keyring_value(&format!("{}/api.token", saved.id)).as_deref(),
        Some("tok-old")
    );
    assert!(
        t.app
            .integration("emr")
            .await
            .unwrap()
            .config
            .description
            .is_none()
    );
    assert_eq!(authorization_sent(&t, &sink).await, "Bearer tok-old");
}

#[tokio::test]
async fn a_set_secret_the_store_cannot_record_keeps_the_previous_secret() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let saved = t.add(bearer_config("emr", &sink.url, "tok-old")).await;
    let store = store_pool(&t).await;
    sqlx::query(
        "CREATE TRIGGER refuse_update BEFORE UPDATE ON integrations \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&store)
    .await
    .unwrap();
    t.app
        .set_integration_secret("emr", SecretSlot::ApiToken, "tok-new".into())
        .await
        .unwrap_err();
    sqlx::query("DROP TRIGGER refuse_update")
        .execute(&store)
        .await
        .unwrap();
    assert_eq!(
        keyring_value(&format!("{}/api.token", saved.id)).as_deref(),
        Some("tok-old")
    );
    assert_eq!(authorization_sent(&t, &sink).await, "Bearer tok-old");
}

#[tokio::test]
async fn a_credential_with_a_line_break_is_refused_by_set_secret_as_by_a_save() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(bearer_config("emr", &sink.url, "tok-old")).await;
    let err = t
        .app
        .set_integration_secret("emr", SecretSlot::ApiToken, "tok-new\r\nX-Admin: 1".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind, handoff_console::ErrorKind::Invalid, "{err:?}");
    assert_eq!(
        err.field.as_deref(),
        Some("api.authentication.credentials.token")
    );
    assert!(!err.message.contains("tok-new"), "{err:?}");
    assert_eq!(authorization_sent(&t, &sink).await, "Bearer tok-old");
}

#[tokio::test]
async fn a_name_taken_while_updating_is_a_name_problem_and_keeps_the_previous_secrets() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let saved = t.add(bearer_config("emr", &sink.url, "tok-old")).await;
    // Another console takes the new name between this one's check and its write: a trigger
    // inserts it just before the rename (and goes with it when the rename fails).
    let store = store_pool(&t).await;
    sqlx::query(
        "CREATE TRIGGER race BEFORE UPDATE ON integrations WHEN NEW.name = 'emr-renamed'          BEGIN INSERT INTO integrations (id, name, kind, config, created_at, updated_at)                VALUES ('00000000-0000-7000-8000-000000000001', 'emr-renamed', 'api', '{}', 0, 0);          END",
    )
    .execute(&store)
    .await
    .unwrap();
    let mut config = bearer_config("emr-renamed", &sink.url, "tok-new");
    config["api"]["headers"] = json!({"X-Client-Secret": "hdr-new"});
    let err = t
        .app
        .update_integration("emr", serde_json::from_value(config).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, handoff_console::ErrorKind::Invalid, "{err:?}");
    assert_eq!(err.field.as_deref(), Some("name"), "{err:?}");
    assert!(
        err.message.contains("'emr-renamed' exists already"),
        "{err:?}"
    );
    sqlx::query("DROP TRIGGER race")
        .execute(&store)
        .await
        .unwrap();
    assert_eq!(
        keyring_value(&format!("{}/api.token", saved.id)).as_deref(),
        Some("tok-old")
    );
    // A secret the old config did not have is not left behind either.
    assert_eq!(keyring_value(&format!("{}/api.headers", saved.id)), None);
    assert_eq!(authorization_sent(&t, &sink).await, "Bearer tok-old");
}

#[tokio::test]
async fn a_mask_without_a_stored_secret_is_refused() {
    let t = TestApp::new().await;
    let config =
        serde_json::from_value(bearer_config("emr", "http://127.0.0.1:1", "••••••••")).unwrap();
    let err = t.app.add_integration(config).await.unwrap_err();
    assert_eq!(
        err.field.as_deref(),
        Some("api.authentication.credentials.token")
    );
}

#[test]
fn an_unreachable_keyring_is_a_clear_error_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("emr.json");
    std::fs::write(
        &cfg,
        bearer_config("emr", "http://127.0.0.1:1", TOKEN).to_string(),
    )
    .unwrap();
    let store = dir.path().join("store");
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let add = cli()
        .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
        .arg("--data-dir")
        .arg(&store)
        .args(["--json", "integration", "add", "--file"])
        .arg(&cfg)
        .output()
        .unwrap();
    // 1, not 2: nothing is wrong with the input; the keyring may be reachable later.
    assert_eq!(add.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&add.stdout).unwrap();
    assert_eq!(out["error"]["kind"], "unavailable", "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keyring"),
        "{out}"
    );
    assert!(!String::from_utf8_lossy(&add.stdout).contains(TOKEN));
    let list = cli()
        .arg("--data-dir")
        .arg(&store)
        .args(["--json", "integration", "list"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&list.stdout).unwrap(),
        json!([]),
        "nothing half-saved"
    );
}

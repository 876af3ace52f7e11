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

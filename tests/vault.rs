//! The encrypted-file vault on disk, and the explicit choice of secrets backend: secrets saved
//! by one process are used by another; a wrong passphrase, a damaged or tampered file, an
//! unset passphrase and a missing entry are each their own error; concurrent writers lose no
//! update; `secrets status` says which backend is in use and why; the vault works where no
//! keyring is reachable, and the keyring is never swapped for it silently.

mod common;
mod common_db;

use common::{Sink, cli};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::integrations::SecretSlot;
use handoff_console::secrets::{
    PASSPHRASE_ENV, SECRETS_ENV, Secret, SecretsBackend, SecretsError, VAULT_FILE, VaultBackend,
};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

const TOKEN: &str = "tok-VAULT-CANARY-8c41";
const PASSPHRASE: &str = "correct horse battery staple";

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

fn vault(dir: &Path, passphrase: &str) -> VaultBackend {
    VaultBackend::new(
        dir.join(VAULT_FILE),
        Some(Secret::new(passphrase.to_string())),
    )
}

/// The CLI on `data_dir` with the choice and passphrase given here and nothing inherited.
fn console(data_dir: &Path, passphrase: Option<&str>) -> std::process::Command {
    let mut cmd = cli();
    cmd.env_remove(SECRETS_ENV)
        .env_remove(PASSPHRASE_ENV)
        .arg("--data-dir")
        .arg(data_dir);
    if let Some(p) = passphrase {
        cmd.env(PASSPHRASE_ENV, p);
    }
    cmd
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_no_token(out: &Output) {
    let all = [&out.stdout[..], &out.stderr[..]].concat();
    assert!(
        !String::from_utf8_lossy(&all).contains(TOKEN),
        "output holds the token"
    );
}

fn add_with_cli(data_dir: &Path, name: &str, url: &str, passphrase: Option<&str>) -> Output {
    let cfg = data_dir.with_extension(format!("{name}.json"));
    std::fs::write(&cfg, bearer_config(name, url, TOKEN).to_string()).unwrap();
    console(data_dir, passphrase)
        .args([
            "--secrets",
            "vault",
            "--json",
            "integration",
            "add",
            "--file",
        ])
        .arg(&cfg)
        .output()
        .unwrap()
}

// Multi-threaded: the sink must keep answering while this thread waits on a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_saved_in_the_vault_by_one_process_is_used_by_another() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let add = add_with_cli(&store, "emr", &sink.url, Some(PASSPHRASE));
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stdout)
    );
    assert_no_token(&add);

    let show = console(&store, Some(PASSPHRASE))
        .args(["--secrets", "vault", "integration", "show", "emr"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).contains("••••••••"));
    assert_no_token(&show);

    let data = dir.path().join("d.json");
    std::fs::write(&data, r#"{"n": 2}"#).unwrap();
    let send = console(&store, Some(PASSPHRASE))
        .args([
            "--secrets",
            "vault",
            "send",
            "--integration",
            "emr",
            "--session",
            "s",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        send.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&send.stderr)
    );
    assert_no_token(&send);
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    // Rotated from another process through stdin; an oversized value is refused.
    let set_secret = |value: Vec<u8>| {
        use std::io::Write;
        let mut child = console(&store, Some(PASSPHRASE))
            .args([
                "--secrets",
                "vault",
                "integration",
                "set-secret",
                "emr",
                "api.token",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A refused value may be left unread: the pipe closing early is fine.
        let _ = child.stdin.take().unwrap().write_all(&value);
        child.wait_with_output().unwrap()
    };
    assert_eq!(set_secret(vec![b'x'; 100_000]).status.code(), Some(2));
    let set = set_secret(b"rotated-token\n".to_vec());
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let send = console(&store, Some(PASSPHRASE))
        .args([
            "--secrets",
            "vault",
            "send",
            "--integration",
            "emr",
            "--session",
            "s",
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(send.status.code(), Some(0));
    assert_eq!(
        sink.received()[1].header("authorization"),
        Some("Bearer rotated-token")
    );
    // Neither token is in any file of the data dir in the clear: not the store, not the vault.
    for entry in std::fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for token in [TOKEN, "rotated-token"] {
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{} holds {token}",
                path.display()
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.join(VAULT_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the vault");
    }
}

#[test]
fn a_wrong_passphrase_is_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    vault(dir.path(), PASSPHRASE)
        .set("a/api.token", &Secret::new(TOKEN.into()))
        .unwrap();
    let err = vault(dir.path(), "not the passphrase")
        .get("a/api.token")
        .unwrap_err();
    assert!(matches!(err, SecretsError::WrongPassphrase { .. }), "{err}");
    assert!(!err.to_string().contains(TOKEN));
    // Writing with the wrong passphrase is refused too: it must not re-key or drop entries.
    let err = vault(dir.path(), "not the passphrase")
        .set("b/api.token", &Secret::new("other".into()))
        .unwrap_err();
    assert!(matches!(err, SecretsError::WrongPassphrase { .. }), "{err}");
    assert_eq!(
        vault(dir.path(), PASSPHRASE)
            .get("a/api.token")
            .unwrap()
            .expose(),
        TOKEN
    );
}

#[test]
fn a_wrong_or_unset_passphrase_is_a_configuration_error_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let add = add_with_cli(&store, "emr", "http://127.0.0.1:1", Some(PASSPHRASE));
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stdout)
    );

    for (passphrase, says) in [
        (Some("wrong"), "does not open with this passphrase"),
        (None, "set HANDOFF_VAULT_PASSPHRASE"),
        (Some(""), "set HANDOFF_VAULT_PASSPHRASE"),
    ] {
        let data = dir.path().join("d.json");
        std::fs::write(&data, r#"{"n": 1}"#).unwrap();
        let send = console(&store, passphrase)
            .args([
                "--secrets",
                "vault",
                "--json",
                "send",
                "--integration",
                "emr",
            ])
            .args(["--session", "s", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        // 2: the caller fixes it (the variable); trying again as is cannot help.
        assert_eq!(send.status.code(), Some(2), "{passphrase:?}");
        let out = json_out(&send);
        assert_eq!(out["error"]["kind"], "invalid", "{out}");
        assert_eq!(out["error"]["field"], PASSPHRASE_ENV, "{out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{passphrase:?}: {message}");
        assert_no_token(&send);
    }
    // No attempt was recorded: the console's problem, not the target's.
    let history = console(&store, Some(PASSPHRASE))
        .args(["--secrets", "vault", "--json", "history"])
        .output()
        .unwrap();
    assert_eq!(json_out(&history), json!([]));
}

#[test]
fn any_changed_byte_is_reported_as_damage_not_as_a_wrong_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let v = vault(dir.path(), PASSPHRASE);
    v.set("a/api.token", &Secret::new(TOKEN.into())).unwrap();
    let path = dir.path().join(VAULT_FILE);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        match vault(dir.path(), PASSPHRASE).get("a/api.token") {
            Err(SecretsError::VaultDamaged { .. }) => {}
            other => panic!("byte {i} changed: {:?}", other.map(|_| "a secret")),
        }
    }
    // Cut short, and empty.
    for len in [good.len() / 2, 0] {
        std::fs::write(&path, &good[..len]).unwrap();
        let err = vault(dir.path(), PASSPHRASE)
            .get("a/api.token")
            .unwrap_err();
        assert!(matches!(err, SecretsError::VaultDamaged { .. }), "{err}");
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(
        vault(dir.path(), PASSPHRASE)
            .get("a/api.token")
            .unwrap()
            .expose(),
        TOKEN
    );
}

/// Someone who changes the ciphertext and recomputes the checksum is caught by GCM.
#[test]
fn tampered_entries_with_a_recomputed_checksum_fail_authentication() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    vault(dir.path(), PASSPHRASE)
        .set("a/api.token", &Secret::new(TOKEN.into()))
        .unwrap();
    let path = dir.path().join(VAULT_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut file: Value = serde_json::from_str(body.trim_end()).unwrap();
    let mut ciphertext = B64
        .decode(file["entries"]["ciphertext"].as_str().unwrap())
        .unwrap();
    ciphertext[3] ^= 0x40;
    file["entries"]["ciphertext"] = json!(B64.encode(&ciphertext));
    let body = file.to_string();
    let sum: String = sha2::Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let magic = header.rsplit_once(' ').unwrap().0;
    std::fs::write(&path, format!("{magic} sha256:{sum}\n{body}\n")).unwrap();
    match vault(dir.path(), PASSPHRASE).get("a/api.token") {
        Err(SecretsError::VaultDamaged { reason, .. }) => {
            assert!(reason.contains("authentication"), "{reason}")
        }
        other => panic!("{:?}", other.map(|_| "a secret")),
    }
}

#[test]
fn a_damaged_vault_is_unavailable_in_the_cli_and_in_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let add = add_with_cli(&store, "emr", "http://127.0.0.1:1", Some(PASSPHRASE));
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stdout)
    );
    let path = store.join(VAULT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let status = console(&store, Some(PASSPHRASE))
        .args(["--secrets", "vault", "--json", "secrets", "status"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let out = json_out(&status);
    assert_eq!(out["available"], false);
    assert!(out["detail"].as_str().unwrap().contains("damaged"), "{out}");
    let data = dir.path().join("d.json");
    std::fs::write(&data, r#"{"n": 1}"#).unwrap();
    let send = console(&store, Some(PASSPHRASE))
        .args([
            "--secrets",
            "vault",
            "--json",
            "send",
            "--integration",
            "emr",
        ])
        .args(["--session", "s", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(send.status.code(), Some(1));
    assert_eq!(json_out(&send)["error"]["kind"], "unavailable");
}

#[test]
fn a_missing_entry_is_not_found_with_or_without_a_vault() {
    let dir = tempfile::tempdir().unwrap();
    let v = vault(dir.path(), PASSPHRASE);
    assert!(matches!(
        v.get("a/api.token"),
        Err(SecretsError::Missing { .. })
    ));
    // Deleting from a vault that does not exist creates nothing.
    v.delete("a/api.token").unwrap();
    assert!(!dir.path().join(VAULT_FILE).exists());
    v.set("a/api.token", &Secret::new(TOKEN.into())).unwrap();
    match v.get("b/api.token") {
        Err(SecretsError::Missing { what }) => assert_eq!(what, "b/api.token"),
        other => panic!("{:?}", other.map(|_| "a secret")),
    }
    v.delete("a/api.token").unwrap();
    assert!(matches!(
        v.get("a/api.token"),
        Err(SecretsError::Missing { .. })
    ));
    assert_eq!(v.count().unwrap(), 0);
}

#[test]
fn concurrent_writers_in_threads_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let dir = Arc::new(dir.path().to_path_buf());
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let dir = Arc::clone(&dir);
            std::thread::spawn(move || {
                // Each writer its own backend (own key cache), as separate processes would be.
                let v = vault(&dir, PASSPHRASE);
                for k in 0..5 {
                    v.set(&format!("t{t}/k{k}"), &Secret::new(format!("v{t}-{k}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let v = vault(&dir, PASSPHRASE);
    assert_eq!(v.count().unwrap(), 30);
    for t in 0..6 {
        for k in 0..5 {
            assert_eq!(
                v.get(&format!("t{t}/k{k}")).unwrap().expose(),
                &format!("v{t}-{k}")
            );
        }
    }
}

#[test]
fn concurrent_writer_processes_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // The store exists first, so the processes race on the vault, not on creating the store.
    let first = add_with_cli(&store, "emr0", "http://127.0.0.1:1", Some(PASSPHRASE));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let children: Vec<_> = (1..=4)
        .map(|i| {
            let name = format!("emr{i}");
            let cfg = store.with_extension(format!("{name}.json"));
            std::fs::write(
                &cfg,
                bearer_config(&name, "http://127.0.0.1:1", TOKEN).to_string(),
            )
            .unwrap();
            console(&store, Some(PASSPHRASE))
                .args([
                    "--secrets",
                    "vault",
                    "--json",
                    "integration",
                    "add",
                    "--file",
                ])
                .arg(&cfg)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(vault(&store, PASSPHRASE).count().unwrap(), 5);
    let status = console(&store, Some(PASSPHRASE))
        .args(["--secrets", "vault", "--json", "secrets", "status"])
        .output()
        .unwrap();
    assert_eq!(json_out(&status)["entries"], 5);
}

#[tokio::test]
async fn a_rotated_secret_in_the_vault_is_used_by_the_next_attempt_without_a_restart() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = App::open_with(dir.path(), Arc::new(vault(dir.path(), PASSPHRASE)))
        .await
        .unwrap();
    let config = serde_json::from_value(bearer_config("emr", &sink.url, "old-token")).unwrap();
    app.add_integration(config).await.unwrap();
    let send = |n: i64| app.send("emr", "s", json!({ "n": n }), Trigger::Live);
    assert!(send(1).await.unwrap().success);
    app.set_integration_secret("emr", SecretSlot::ApiToken, "new-token".into())
        .await
        .unwrap();
    assert!(send(2).await.unwrap().success);
    let auth: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(auth, ["Bearer old-token", "Bearer new-token"]);
    app.close().await;
}

/// A rotated database password is used by the next attempt: the pool made with the old one
/// (whose connections are still logged in) is replaced. Rotating to a wrong password and
/// seeing the next attempt fail is what shows it; a kept pool would still succeed.
#[tokio::test]
async fn a_rotated_mariadb_password_replaces_the_pool_without_a_restart() {
    use common_db::{cleanly, count_mysql, exec, suffix};
    let my = common_db::mysql().await;
    let t = format!("hc_rot_{}", suffix());
    let user = format!("hc_rot_{}", suffix());
    exec(
        &my.pool,
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, n INT)"),
    )
    .await;
    exec(
        &my.pool,
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'old-pass'"),
    )
    .await;
    exec(
        &my.pool,
        format!(
            "GRANT SELECT, INSERT ON `{}`.`{t}` TO '{user}'@'%'",
            my.database
        ),
    )
    .await;
    let body = async {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open_with(dir.path(), Arc::new(vault(dir.path(), PASSPHRASE)))
            .await
            .unwrap();
        let mut database = my.config("mysql", &t, json!({"n": "n"}));
        database["username"] = json!(user);
        database["password"] = json!("old-pass");
        let config = serde_json::from_value(json!({
            "name": "clinic-db", "kind": "database", "database": database,
            "retry": {"maxAttempts": 1}
        }))
        .unwrap();
        app.add_integration(config).await.unwrap();
        let send = |n: i64| app.send("clinic-db", "s", json!({ "n": n }), Trigger::Live);
        let rotate = |p: &str| {
            app.set_integration_secret("clinic-db", SecretSlot::DatabasePassword, p.into())
        };
        let first = send(1).await.unwrap();
        assert!(first.success, "{}", first.message);

        rotate("wrong-pass").await.unwrap();
        let refused = send(2).await.unwrap();
        assert!(!refused.success, "the old pool was kept");
        assert!(
            !refused.message.contains("wrong-pass"),
            "{}",
            refused.message
        );

        exec(
            &my.pool,
            format!("ALTER USER '{user}'@'%' IDENTIFIED BY 'new-pass'"),
        )
        .await;
        rotate("new-pass").await.unwrap();
        let third = send(3).await.unwrap();
        assert!(third.success, "{}", third.message);
        assert_eq!(count_mysql(&my.pool, &t).await, 2);
        app.close().await;
    };
    cleanly(
        body,
        exec(
            &my.pool,
            format!("DROP TABLE IF EXISTS {t}; DROP USER IF EXISTS '{user}'@'%'"),
        ),
    )
    .await;
}

/// `secrets status` under every way of choosing; the keyring is the real Secret Service that
/// `scripts/with-keyring.sh` starts.
#[test]
fn status_says_which_backend_and_what_chose_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let status = |cmd: &mut std::process::Command| {
        let out = cmd.args(["--json", "secrets", "status"]).output().unwrap();
        (out.status.code(), json_out(&out))
    };

    let (code, out) = status(&mut console(&store, None));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        (
            out["backend"].as_str(),
            out["chosenBy"].as_str(),
            &out["available"]
        ),
        (Some("keyring"), Some("default"), &json!(true)),
        "{out}"
    );

    let (code, out) = status(console(&store, Some(PASSPHRASE)).env(SECRETS_ENV, "vault"));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out["backend"], "vault");
    assert_eq!(out["chosenBy"], "env");
    assert_eq!(out["entries"], 0);
    assert_eq!(out["path"], json!(store.join(VAULT_FILE)));

    let chose = console(&store, None)
        .args(["secrets", "use", "vault"])
        .output()
        .unwrap();
    assert!(
        chose.status.success(),
        "{}",
        String::from_utf8_lossy(&chose.stderr)
    );
    let (code, out) = status(&mut console(&store, Some(PASSPHRASE)));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        (&out["backend"], &out["chosenBy"]),
        (&json!("vault"), &json!("setting"))
    );

    // The flag beats the environment, which beats the setting.
    let (_, out) = status(
        console(&store, None)
            .env(SECRETS_ENV, "vault")
            .args(["--secrets", "keyring"]),
    );
    assert_eq!(
        (&out["backend"], &out["chosenBy"]),
        (&json!("keyring"), &json!("flag"))
    );
    let (_, out) = status(console(&store, None).env(SECRETS_ENV, "keyring"));
    assert_eq!(
        (&out["backend"], &out["chosenBy"]),
        (&json!("keyring"), &json!("env"))
    );

    // The vault chosen without a passphrase: not usable, exit 1, and it says what to set.
    let (code, out) = status(&mut console(&store, None));
    assert_eq!(code, Some(1));
    assert_eq!(out["available"], false);
    assert!(
        out["detail"].as_str().unwrap().contains(PASSPHRASE_ENV),
        "{out}"
    );
}

/// The health check's `secrets` row checks the chosen backend, here the vault.
#[test]
fn health_checks_the_chosen_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let add = add_with_cli(&store, "emr", "http://127.0.0.1:1", Some(PASSPHRASE));
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stdout)
    );
    let secrets_row = |passphrase: &str| {
        let out = console(&store, Some(passphrase))
            .args([
                "--secrets",
                "vault",
                "--json",
                "health",
                "--timeout-ms",
                "2000",
            ])
            .output()
            .unwrap();
        let report = json_out(&out);
        let row = report["local"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "secrets")
            .cloned()
            .unwrap_or_else(|| panic!("no secrets row: {report}"));
        (out.status.code(), row)
    };
    let (_, row) = secrets_row(PASSPHRASE);
    assert_eq!(row["status"], "healthy", "{row}");
    assert!(row["reason"].as_str().unwrap().contains("vault"), "{row}");
    let (code, row) = secrets_row("wrong");
    assert_eq!(code, Some(1));
    assert_eq!(row["status"], "error", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("does not open with this passphrase"),
        "{row}"
    );
}

#[test]
fn a_choice_that_names_no_backend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = console(&store, None)
        .env(SECRETS_ENV, "vualt")
        .args(["--json", "secrets", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = json_out(&out);
    assert_eq!(out["error"]["field"], SECRETS_ENV, "{out}");

    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("settings.json"), r#"{"secrets": "file"}"#).unwrap();
    let out = console(&store, None)
        .args(["--json", "integration", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = json_out(&out)["error"]["message"].to_string();
    assert!(message.contains("settings.json"), "{message}");

    let out = console(&store, None)
        .args(["--json", "--secrets", "file", "secrets", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// No D-Bus at all: the vault, chosen, works; the keyring, chosen (or by default), fails and
/// says so — the console never falls back from one to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vault_works_where_no_keyring_is_reachable_and_nothing_falls_back() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let cfg = dir.path().join("emr.json");
    std::fs::write(&cfg, bearer_config("emr", &sink.url, TOKEN).to_string()).unwrap();
    let data = dir.path().join("d.json");
    std::fs::write(&data, r#"{"n": 1}"#).unwrap();
    let run = |secrets: Option<&str>, args: &[&str]| {
        let mut cmd = console(&store, Some(PASSPHRASE));
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &no_bus);
        if let Some(s) = secrets {
            cmd.args(["--secrets", s]);
        }
        cmd.arg("--json").args(args).output().unwrap()
    };

    let add = run(
        Some("vault"),
        &["integration", "add", "--file", cfg.to_str().unwrap()],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stdout)
    );
    let send = run(
        Some("vault"),
        &[
            "send",
            "--integration",
            "emr",
            "--session",
            "s",
            "--data",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(
        send.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&send.stdout)
    );
    assert_eq!(sink.received().len(), 1);

    // The default is the keyring: it is down, and that is what the console says.
    let status = run(None, &["secrets", "status"]);
    assert_eq!(status.status.code(), Some(1));
    let out = json_out(&status);
    assert_eq!(
        (&out["backend"], &out["available"]),
        (&json!("keyring"), &json!(false))
    );
    assert!(
        out["detail"].as_str().unwrap().contains("--secrets vault"),
        "{out}"
    );
    let send = run(
        None,
        &[
            "send",
            "--integration",
            "emr",
            "--session",
            "s",
            "--data",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(send.status.code(), Some(1));
    assert_eq!(json_out(&send)["error"]["kind"], "unavailable");
    assert_eq!(
        sink.received().len(),
        1,
        "nothing was sent without the keyring"
    );
}

//! `keys export` / `keys import` through the binary: a store copied to a second data dir, whose
//! secrets backend lacks the data key, cannot reveal its handoffs until the key is imported from
//! a passphrase-sealed bundle; the bundle holds no key in the clear, a wrong passphrase imports
//! nothing, a repeat adds nothing, a different key with the same id is never replaced, and both
//! moves are in the audit trail (without key material). Secrets in encrypted-file vaults, one
//! per data dir, with different passphrases.

mod common;

use common::{Sink, cli};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::secrets::{Secret, SecretsBackend, VaultBackend};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

const BUNDLE_PASSPHRASE: &str = "moving-day passphrase 42";

fn vault(dir: &Path, passphrase: &str) -> VaultBackend {
    VaultBackend::new(
        dir.join("secrets.vault"),
        Some(Secret::new(passphrase.to_string())),
    )
}

/// The binary on `dir` with its own vault, `stdin` written to its standard input.
fn run(dir: &Path, passphrase: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = cli()
        .env("HANDOFF_DATA_DIR", dir)
        .env("HANDOFF_SECRETS", "vault")
        .env("HANDOFF_VAULT_PASSPHRASE", passphrase)
        .env_remove("HANDOFF_STORE_URL")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Multi-threaded: the sink must keep answering while this thread waits on a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_store_reveals_its_data_once_its_keys_are_imported_from_a_bundle() {
    let sink = Sink::start().await;
    let root = tempfile::tempdir().unwrap();
    let (first, second) = (root.path().join("first"), root.path().join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();

    // A handoff sealed under the first data dir's key.
    let app = App::open_with(&first, Arc::new(vault(&first, "first-vault-pass")))
        .await
        .unwrap();
    app.add_integration(
        serde_json::from_value(json!({
            "name": "emr", "kind": "api",
            "fields": [{"name": "fullName", "type": "name", "required": true}],
            "api": {"endpoint": format!("{}/patients", sink.url), "method": "POST",
                    "payloadStructure": {"name": "{{fullName}}"}}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let sent = app
        .send(
            "emr",
            "call-1",
            json!({"fullName": "Ann Lee"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(sent.success);
    let key = app.store().current_data_key().await.unwrap().unwrap();
    app.close().await;
    let handoff = sent.handoff_id.to_string();

    // The store copied to a second data dir, whose vault has never held that key.
    std::fs::copy(first.join("handoff.db"), second.join("handoff.db")).unwrap();
    let (code, _, err) = run(&second, "second-vault-pass", &["reveal", &handoff], "");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&key), "names the key it lacks: {err}");

    // Export: the bundle is private and shows no key.
    let bundle = root.path().join("keys.hck");
    let bundle_arg = bundle.to_str().unwrap();
    let (code, _, err) = run(
        &first,
        "first-vault-pass",
        &["keys", "export", "--to", bundle_arg],
        "short\n",
    );
    assert_eq!(code, 2, "a short passphrase is refused: {err}");
    assert!(err.contains("12 characters"), "{err}");
    assert!(!bundle.exists(), "nothing written");
    let (code, out, err) = run(
        &first,
        "first-vault-pass",
        &["keys", "export", "--to", bundle_arg, "--json"],
        &format!("{BUNDLE_PASSPHRASE}\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    let exported: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(exported["keys"], json!([key]));
    let text = std::fs::read_to_string(&bundle).unwrap();
    let held = vault(&first, "first-vault-pass")
        .get(&format!("data-key/{key}"))
        .unwrap();
    assert!(
        !text.contains(held.expose().as_str()),
        "no key in the clear"
    );
    assert!(!text.contains(&key), "no key id in the clear");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let (code, _, err) = run(
        &first,
        "first-vault-pass",
        &["keys", "export", "--to", bundle_arg],
        &format!("{BUNDLE_PASSPHRASE}\n"),
    );
    assert_eq!(code, 2, "an existing file is never replaced: {err}");

    // Import: a wrong passphrase adds nothing; the right one adds the key; again, nothing.
    let (code, _, err) = run(
        &second,
        "second-vault-pass",
        &["keys", "import", bundle_arg],
        "not the passphrase\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("passphrase"), "{err}");
    assert!(
        vault(&second, "second-vault-pass")
            .get(&format!("data-key/{key}"))
            .is_err()
    );
    let (code, out, err) = run(
        &second,
        "second-vault-pass",
        &["keys", "import", bundle_arg, "--json"],
        &format!("{BUNDLE_PASSPHRASE}\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    let imported: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(imported, json!({"added": [key], "already": []}));
    let (code, out, err) = run(&second, "second-vault-pass", &["reveal", &handoff], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Ann Lee"), "{out}");
    let (code, out, _) = run(
        &second,
        "second-vault-pass",
        &["keys", "import", bundle_arg, "--json"],
        &format!("{BUNDLE_PASSPHRASE}\n"),
    );
    assert_eq!(code, 0);
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again, json!({"added": [], "already": [key]}));

    // A third data dir holding a different key under that id: never replaced.
    let third = root.path().join("third");
    std::fs::create_dir_all(&third).unwrap();
    let other = vault(&third, "third-vault-pass");
    let impostor = Secret::new("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=".to_string());
    other.set(&format!("data-key/{key}"), &impostor).unwrap();
    let (code, _, err) = run(
        &third,
        "third-vault-pass",
        &["keys", "import", bundle_arg],
        &format!("{BUNDLE_PASSPHRASE}\n"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("different data key"), "{err}");
    assert_eq!(
        other.get(&format!("data-key/{key}")).unwrap().expose(),
        impostor.expose(),
        "kept as it was"
    );

    // Both moves are audited, with key ids and no key material.
    for (dir, pass, action) in [
        (&first, "first-vault-pass", "keys.exported"),
        (&second, "second-vault-pass", "keys.imported"),
    ] {
        let (code, out, err) = run(dir, pass, &["audit", "--action", action, "--json"], "");
        assert_eq!(code, 0, "{err}");
        let entries: Value = serde_json::from_str(&out).unwrap();
        assert!(!entries.as_array().unwrap().is_empty(), "{action}: {out}");
        assert!(out.contains(&key), "{out}");
        assert!(!out.contains(held.expose().as_str()), "{out}");
    }
}

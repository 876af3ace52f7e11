//! A long-running console recovers when the Secret Service comes back: `serve` (the real binary)
//! on a private D-Bus session of the test's own with no Secret Service, then a gnome-keyring
//! started on it, then that keyring restarted. Each time the next request that needs a secret
//! works, without restarting `serve`. (The window uses the same secrets backend.)

mod common;

use common::{Sink, cli};
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process stopped (by its own id) however the test ends.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A D-Bus session bus of the test's own, with no services to start on demand (so no Secret
/// Service appears unless the test starts one).
struct PrivateBus {
    address: String,
    _daemon: Stopped,
}

impl PrivateBus {
    fn start(dir: &std::path::Path) -> Self {
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
                dir.join("bus.socket").display()
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--print-address=1", "--nofork"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus) starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut BufReader::new(daemon.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(line.starts_with("unix:"), "dbus-daemon printed {line:?}");
        Self {
            address: line.trim().to_string(),
            _daemon: Stopped(daemon),
        }
    }

    /// A gnome-keyring Secret Service on this bus, its login keyring (in `dir`) unlocked.
    fn start_keyring(&self, dir: &std::path::Path) -> Stopped {
        let control = dir.join("control");
        std::fs::create_dir_all(&control).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&control, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .arg(format!("--control-directory={}", control.display()))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // --unlock reads the login keyring's password from stdin.
        let mut stdin = daemon.stdin.take().unwrap();
        stdin.write_all(b"handoff-test").unwrap();
        drop(stdin);
        let daemon = Stopped(daemon);
        self.wait_for_name("org.freedesktop.secrets");
        daemon
    }

    /// Waits (at most 15 s) until `name` has an owner on this bus.
    fn wait_for_name(&self, name: &str) {
        let started = Instant::now();
        loop {
            let out = Command::new("dbus-send")
                .arg(format!("--bus={}", self.address))
                .args([
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                ])
                .arg("org.freedesktop.DBus.NameHasOwner")
                .arg(format!("string:{name}"))
                .output()
                .expect("dbus-send (package dbus) runs");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{name} never appeared on the test's bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `serve` on the private bus (its keyring is the default backend), and its API.
struct Serve {
    base: String,
    token: String,
    http: reqwest::Client,
    _child: Stopped,
}

impl Serve {
    fn start(data_dir: &std::path::Path, bus: &PrivateBus) -> Self {
        let mut child = cli()
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "serve", "--bind", "127.0.0.1:0", "--no-worker"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env_remove("HANDOFF_SECRETS")
            .env_remove("GNOME_KEYRING_CONTROL")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let printed: Value =
            serde_json::Deserializer::from_reader(BufReader::new(child.stdout.take().unwrap()))
                .into_iter()
                .next()
                .expect("serve prints where it listens")
                .unwrap();
        let url = printed["url"].as_str().expect("url").to_string();
        let (root, token) = url.split_once("/#token=").expect("a sign-in url");
        handoff_console::targets::api::install_crypto_provider();
        Self {
            base: format!("{root}/api/v1"),
            token: token.to_string(),
            http: reqwest::Client::new(),
            _child: Stopped(child),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("serve answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, session: &str) -> Value {
        let (status, answer) = self
            .call(
                reqwest::Method::POST,
                "/handoffs",
                json!({"integration": "emr", "sessionId": session, "data": {"n": 1}}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["success"], true, "{answer}");
        answer
    }
}

#[tokio::test]
async fn serve_reaches_the_secret_service_once_it_starts_and_again_after_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let bus = PrivateBus::start(dir.path());
    let serve = Serve::start(&dir.path().join("console"), &bus);
    let sink = Sink::start().await;
    let config = json!({
        "name": "emr", "kind": "api",
        "api": {"endpoint": format!("{}/p", sink.url),
                "authentication": {"type": "bearer", "credentials": {"token": "tok-1"}},
                "payloadStructure": {"n": "{{n}}"}},
        "retry": {"maxAttempts": 1}
    });

    // No Secret Service yet: saving a credential is refused as unavailable, nothing is saved.
    let (status, answer) = serve
        .call(reqwest::Method::POST, "/integrations", config.clone())
        .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer.to_string().contains("keyring is not reachable"),
        "{answer}"
    );

    // The Secret Service starts: the next request reaches it, without restarting serve.
    let keyring = bus.start_keyring(&dir.path().join("keyring"));
    let (status, answer) = serve
        .call(reqwest::Method::POST, "/integrations", config)
        .await;
    assert_eq!(
        status, 201,
        "serve did not reach the new Secret Service: {answer}"
    );
    let id = answer["id"].as_str().expect("id").to_string();
    serve.send("s-1").await;
    assert_eq!(
        sink.received()[0].header("authorization"),
        Some("Bearer tok-1")
    );

    // The Secret Service restarts (the session serve had is gone): the next secret read and
    // write (set-secret reads the value it replaces first) work.
    drop(keyring);
    let _keyring = bus.start_keyring(&dir.path().join("keyring"));
    let (status, answer) = serve
        .call(
            reqwest::Method::PUT,
            &format!("/integrations/{id}/secrets/api.token"),
            json!({"value": "tok-2"}),
        )
        .await;
    assert_eq!(
        status, 200,
        "serve did not reach the restarted Secret Service: {answer}"
    );
    serve.send("s-2").await;
    assert_eq!(
        sink.received()[1].header("authorization"),
        Some("Bearer tok-2")
    );
}

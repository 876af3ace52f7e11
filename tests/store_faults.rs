//! The store under faults: its file deleted or replaced under a running console, a read-only
//! store, a full disk during a delivery; and the modes of every file the console writes.
//!
//! Tests named `as_root` need root (to mount a small tmpfs, or to run the console as a user
//! without a home folder); `scripts/test.sh` leaves them out, counted, on other accounts.

mod common;

use common::Sink;
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::secrets::{Secret, VAULT_FILE, VaultBackend};
use handoff_console::store::STORE_FILE;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const PASSPHRASE: &str = "store faults passphrase";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn api_config(name: &str, sink: &str) -> Value {
    json!({"name": name, "kind": "api",
           "fields": [{"name": "fullName", "type": "name", "required": true}],
           "api": {"endpoint": format!("{sink}/patients")},
           "retry": {"maxAttempts": 1}})
}

/// A console on `data_dir` with its secrets in the vault (no keyring needed).
async fn open_app(data_dir: &Path) -> App {
    let vault = VaultBackend::new(
        data_dir.join(VAULT_FILE),
        Some(Secret::new(PASSPHRASE.to_string())),
    );
    App::open_with(data_dir, Arc::new(vault))
        .await
        .expect("open app")
}

/// The CLI, bound by file permissions: as root (which writes any file), the console runs
/// without the capabilities that let it override them, as any other user would.
fn cli_bound_by_permissions() -> Command {
    let mut cmd = common::cli();
    cmd.env("HANDOFF_SECRETS", "vault")
        .env("HANDOFF_VAULT_PASSPHRASE", PASSPHRASE);
    if is_root() {
        const CAP_DAC_OVERRIDE: libc::c_ulong = 1;
        const CAP_DAC_READ_SEARCH: libc::c_ulong = 2;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                for cap in [CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH] {
                    if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    cmd
}

/// `serve` as a process of its own, stopped however the test ends.
struct ServeProcess {
    child: Child,
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ServeProcess {
    fn start(data_dir: &Path) -> Self {
        let mut child = common::cli()
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--secrets", "vault", "--json"])
            .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
            .env("HANDOFF_VAULT_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let printed: Value = serde_json::Deserializer::from_reader(stdout)
            .into_iter()
            .next()
            .expect("serve prints where it listens")
            .expect("JSON");
        let url = printed["url"].as_str().expect("a url");
        let (root, token) = url.split_once("/#token=").expect("a token");
        handoff_console::targets::api::install_crypto_provider();
        Self {
            child,
            base: format!("{root}/api/v1"),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("serve answers");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Runs the health checks as a job and returns the report.
    async fn health(&self) -> Value {
        let (status, started) = self.post("/health", json!({"timeoutMs": 5000})).await;
        assert_eq!(status, 200, "{started}");
        let job = started["jobId"].as_u64().expect("a job id");
        for _ in 0..600 {
            let (_, s) = self
                .call(reqwest::Method::GET, &format!("/jobs/{job}"), None)
                .await;
            if s["finished"] == true {
                return s["result"].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the health run never finished");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn local_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["local"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_data_dir_under_a_running_serve_fails_sends_with_503_and_health_says_why() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let serve = ServeProcess::start(&data);
    let sink = Sink::start().await;
    let (status, saved) = serve
        .post("/integrations", api_config("emr", &sink.url))
        .await;
    assert_eq!(status, 201, "{saved}");
    let send =
        json!({"integration": "emr", "sessionId": "s-1", "data": {"fullName": "Ada Lovelace"}});
    let (status, first) = serve.post("/handoffs", send.clone()).await;
    assert_eq!((status, &first["success"]), (200, &json!(true)), "{first}");

    std::fs::remove_dir_all(&data).unwrap();

    let (status, refused) = serve.post("/handoffs", send.clone()).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(refused["error"]["kind"], "unavailable", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("deleted or replaced") && message.contains(STORE_FILE),
        "says why: {message}"
    );
    assert_eq!(
        sink.count(),
        1,
        "nothing is delivered that cannot be recorded"
    );
    // The other writers (integrations, through the other connection) refuse too.
    let (status, refused) = serve
        .post("/integrations", api_config("billing", &sink.url))
        .await;
    assert_eq!(status, 503, "{refused}");

    let report = serve.health().await;
    let store = local_check(&report, "store");
    assert_eq!(store["status"], "error", "{report}");
    assert!(
        store["reason"]
            .as_str()
            .is_some_and(|r| r.contains("deleted or replaced")),
        "{store}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_the_store_file_under_an_open_console_fails_every_write_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let sink = Sink::start().await;
    let app = open_app(&data).await;
    app.add_integration(serde_json::from_value(api_config("emr", &sink.url)).unwrap())
        .await
        .unwrap();
    let first = app
        .send(
            "emr",
            "s-1",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(first.success);

    // Another store moved over this one's path (a restored backup, say).
    let other = root.path().join("other");
    open_app(&other).await.close().await;
    std::fs::rename(other.join(STORE_FILE), data.join(STORE_FILE)).unwrap();

    let err = app
        .send(
            "emr",
            "s-2",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, handoff_console::ErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("deleted or replaced"), "{err}");
    assert_eq!(sink.count(), 1);
    let err = app
        .add_integration(serde_json::from_value(api_config("billing", &sink.url)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, handoff_console::ErrorKind::Unavailable, "{err}");

    let report = serde_json::to_value(app.health(None, None).await.unwrap()).unwrap();
    let store = local_check(&report, "store");
    assert_eq!(store["status"], "error", "{report}");
    assert!(
        store["reason"]
            .as_str()
            .is_some_and(|r| r.contains("deleted or replaced")),
        "{store}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_on_an_empty_data_dir_makes_a_store_whose_writes_and_health_are_normal() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let sink = Sink::start().await;
    let app = open_app(&data).await;
    app.add_integration(serde_json::from_value(api_config("emr", &sink.url)).unwrap())
        .await
        .unwrap();
    let r = app
        .send(
            "emr",
            "s-1",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(r.success, "{r:?}");
    assert!(
        serde_json::to_value(&r)
            .unwrap()
            .get("recordError")
            .is_none()
    );
    let report = serde_json::to_value(app.health(None, None).await.unwrap()).unwrap();
    assert_eq!(
        local_check(&report, "store")["status"],
        "healthy",
        "{report}"
    );
}

#[test]
fn a_read_only_store_is_unavailable_with_a_reason_leaves_no_read_only_files_and_opens_once_writable()
 {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let add = |name: &str| {
        let file = root.path().join(format!("{name}.json"));
        std::fs::write(&file, api_config(name, "http://127.0.0.1:9").to_string()).unwrap();
        cli_bound_by_permissions()
            .arg("--data-dir")
            .arg(&data)
            .args(["integration", "add", "--file"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = add("emr");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wal = data.join(format!("{STORE_FILE}-wal"));
    assert!(!wal.exists(), "a clean close leaves no WAL");

    chmod(&data.join(STORE_FILE), 0o444);
    let out = add("billing");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "unavailable: {stderr}");
    assert!(stderr.contains("read-only"), "says why: {stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != STORE_FILE {
            assert_ne!(
                mode(&entry.path()) & 0o200,
                0,
                "{name} is left unwritable by the failed open"
            );
        }
    }

    // Permissions fixed the way a person would: the store works again.
    chmod(&data.join(STORE_FILE), 0o644);
    let out = add("billing");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = cli_bound_by_permissions()
        .arg("--data-dir")
        .arg(&data)
        .args(["integration", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("emr") && listed.contains("billing"),
        "{listed}"
    );
    assert_eq!(mode(&data.join(STORE_FILE)), 0o600, "tightened at open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_busy_timeout_is_unavailable_with_a_reason() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let sink = Sink::start().await;
    let app = open_app(&data).await;
    app.add_integration(serde_json::from_value(api_config("emr", &sink.url)).unwrap())
        .await
        .unwrap();
    app.send(
        "emr",
        "s-1",
        json!({"fullName": "Ada Lovelace"}),
        Trigger::Live,
    )
    .await
    .unwrap();

    // Another process's long write transaction (a connection of its own is the same to SQLite).
    let other = rusqlite::Connection::open(data.join(STORE_FILE)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (sent, added) = tokio::join!(
        app.send(
            "emr",
            "s-2",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live
        ),
        app.add_integration(serde_json::from_value(api_config("billing", &sink.url)).unwrap()),
    );
    // A handoff is recorded in the store's journal, which the lock does not hold: it is
    // delivered, and waits there for the store.
    let sent = sent.expect("a handoff is recorded in the journal");
    assert!(sent.success, "{sent:?}");
    assert_eq!(sink.count(), 2);
    // What writes the store's tables waits for the journal, and fails with the reason.
    let err = added.unwrap_err();
    assert_eq!(err.kind, handoff_console::ErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("lock"), "says why: {err}");
    other.execute_batch("ROLLBACK").unwrap();
    // The journal's mover tries again at once when the lock goes (within a tenth of a second
    // after it failed): a read a little later finds the handoff delivered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let recorded = app.store().handoff(sent.handoff_id).await.unwrap();
        if recorded
            .is_some_and(|h| h.summary.status == handoff_console::attempts::Status::Succeeded)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "moved into the store once the lock is let go"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = app
        .send(
            "emr",
            "s-3",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(r.success, "{r:?}");
}

/// A small tmpfs (a real file system that fills), unmounted however the test ends.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        assert!(
            is_root(),
            "this test mounts a tmpfs and needs root (scripts/test.sh leaves it out otherwise)"
        );
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount -t tmpfs failed");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: a console that failed the test may still hold files open.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A handoff's status in the store once its journal's entries are moved (the mover tries
/// again a tenth of a second after a failure: a full disk just freed), waiting up to 10 s.
async fn stored_status(
    app: &App,
    id: handoff_console::ids::HandoffId,
) -> Option<handoff_console::attempts::Status> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let settled = app.store().settle().await.is_ok();
        let status = app
            .store()
            .handoff(id)
            .await
            .unwrap()
            .map(|h| h.summary.status);
        if settled || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_unavailable_and_a_delivery_it_interrupts_keeps_its_handoff_id_as_root() {
    let disk = SmallDisk::mount("16m");
    let data = disk.path().join("data");
    let sink = Sink::start().await;
    let app = Arc::new(open_app(&data).await);
    app.add_integration(serde_json::from_value(api_config("emr", &sink.url)).unwrap())
        .await
        .unwrap();
    // The first handoff makes the data key (in the vault) while there is room.
    let first = app
        .send(
            "emr",
            "s-1",
            json!({"fullName": "Ada Lovelace"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(first.success, "{first:?}");
    assert!(
        serde_json::to_value(&first)
            .unwrap()
            .get("recordError")
            .is_none()
    );

    // Full before a delivery: handoffs are still recorded while the store's journal has room
    // (pages its moved entries left, if any: none can be moved now), then refused with the
    // reason, and nothing refused is delivered; or a handoff begun while there was room is
    // delivered and the caller learns its outcome could not be recorded.
    let filler = disk.fill();
    let mut recorded = Vec::new();
    let (err, unrecorded) = loop {
        let session = format!("s-full-{}", recorded.len());
        match app
            .send(
                "emr",
                &session,
                json!({"fullName": "Ada Lovelace"}),
                Trigger::Live,
            )
            .await
        {
            Ok(r) => {
                assert!(r.success, "{r:?}");
                if let Some(e) = r.record_error {
                    break (e, Some(r.handoff_id));
                }
                recorded.push(r.handoff_id);
                assert!(recorded.len() < 2000, "the journal never filled");
            }
            Err(e) => break (e, None),
        }
    };
    assert_eq!(err.kind, handoff_console::ErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("full"), "{err}");
    assert_eq!(
        sink.count(),
        1 + recorded.len() + usize::from(unrecorded.is_some()),
        "nothing is delivered that cannot be recorded as begun"
    );
    std::fs::remove_file(&filler).unwrap();
    // Once there is room, what the journal held is moved into the store: the recorded
    // handoffs delivered, the one whose outcome was not recorded pending (the worker sends it
    // again once its lease runs out).
    for id in &recorded {
        assert_eq!(
            stored_status(&app, *id).await,
            Some(handoff_console::attempts::Status::Succeeded),
            "handoff {id} recorded while the disk was full"
        );
    }
    if let Some(id) = unrecorded {
        assert_eq!(
            stored_status(&app, id).await,
            Some(handoff_console::attempts::Status::Pending),
            "handoff {id}, its outcome not recorded"
        );
    }

    // Full while the target is answering: the delivery happened; its outcome is recorded when
    // the journal still has room, and otherwise the caller learns why it is not. Either way
    // the handoff is not lost.
    sink.always(
        common::Reply::json(201, json!({"id": "sub-late"}))
            .delay(std::time::Duration::from_millis(1500)),
    );
    let delivered_before = sink.count();
    let sending = {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            app.send(
                "emr",
                "s-3",
                json!({"fullName": "Ada Lovelace"}),
                Trigger::Live,
            )
            .await
        })
    };
    while sink.count() <= delivered_before {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let filler = disk.fill();
    let result = sending.await.unwrap().expect("the outcome, not an error");
    assert!(result.success, "{result:?}");
    assert_eq!(result.submission_id.as_deref(), Some("sub-late"));
    let shown = serde_json::to_value(&result).unwrap();
    let expected = match shown.get("recordError") {
        Some(record_error) => {
            assert_eq!(record_error["kind"], "unavailable", "{shown}");
            let message = record_error["message"].as_str().unwrap();
            assert!(message.contains("full"), "{message}");
            // The store holds the handoff as begun: it waits, pending.
            handoff_console::attempts::Status::Pending
        }
        None => handoff_console::attempts::Status::Succeeded,
    };
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        stored_status(&app, result.handoff_id).await,
        Some(expected),
        "the handoff {} is in the store",
        result.handoff_id
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_the_console_writes_is_its_owners_alone() {
    // A permissive umask, as on most desktops: the modes must come from the console itself,
    // not from a runner's strict umask.
    // SAFETY: umask only sets this process's file-creation mask; the old one is put back below.
    let before = unsafe { libc::umask(0o022) };
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let sink = Sink::start().await;
    let app = Arc::new(open_app(&data).await);
    let mut config = api_config("emr", &sink.url);
    config["api"]["authentication"] =
        json!({"type": "bearer", "credentials": {"token": "tok-modes"}});
    app.add_integration(serde_json::from_value(config).unwrap())
        .await
        .unwrap();
    app.send(
        "emr",
        "s-1",
        json!({"fullName": "Ada Lovelace"}),
        Trigger::Live,
    )
    .await
    .unwrap();
    app.choose_secrets_backend(handoff_console::secrets::BackendKind::Vault)
        .unwrap();
    app.create_demo().await.unwrap();
    app.send(
        "Demo clinic database",
        "s-2",
        json!({"fullName": "Ada Lovelace"}),
        Trigger::Live,
    )
    .await
    .unwrap();

    // Over HTTP: an export into the data dir, then that file uploaded as a history copy.
    let token = handoff_console::http::token::load_or_create(&data).unwrap();
    let router = handoff_console::http::router(Arc::clone(&app), token.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    handoff_console::targets::api::install_crypto_provider();
    let http = reqwest::Client::new();
    let started: Value = http
        .post(format!("{base}/exports"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = started["jobId"].as_u64().expect("a job");
    let mut export = None;
    for _ in 0..600 {
        let s: Value = http
            .get(format!("{base}/jobs/{job}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["finished"] == true {
            export = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let export = export.expect("the export finished");
    let name = export["result"]["fileName"].as_str().expect("a file name");
    let bytes = std::fs::read(data.join("exports").join(name)).unwrap();
    let uploaded = http
        .post(format!("{base}/history-files?name=h.sqlite"))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);

    let mut seen = Vec::new();
    let mut dirs = vec![data.clone()];
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                seen.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    // The parts this test means to cover were all there.
    for expected in [
        STORE_FILE.to_string(),
        format!("{STORE_FILE}-wal"),
        format!("{STORE_FILE}-shm"),
        "settings.json".into(),
        VAULT_FILE.into(),
        "clinic.db".into(),
        "api-token".into(),
        name.to_string(),
    ] {
        assert!(seen.contains(&expected), "{expected} not among {seen:?}");
    }
    assert!(
        seen.iter().any(|n| n.starts_with("upload-")),
        "an uploaded copy among {seen:?}"
    );
    // SAFETY: as above.
    unsafe { libc::umask(before) };
}

#[tokio::test]
async fn an_existing_data_dir_and_store_open_to_others_are_tightened_at_open() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    open_app(&data).await.close().await;
    chmod(&data, 0o755);
    chmod(&data.join(STORE_FILE), 0o644);
    std::fs::write(data.join("settings.json"), "{\"secrets\": \"vault\"}\n").unwrap();
    chmod(&data.join("settings.json"), 0o644);
    let app = open_app(&data).await;
    assert_eq!(mode(&data), 0o700);
    for file in [STORE_FILE, "settings.json"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    app.close().await;
}

#[tokio::test]
async fn a_data_dir_holding_other_things_is_not_tightened_under_its_owner() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("home");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o755);
    std::fs::write(data.join("notes.txt"), "mine").unwrap();
    for _ in 0..2 {
        open_app(&data).await.close().await;
        assert_eq!(mode(&data), 0o755, "someone else's folder keeps its mode");
        assert_eq!(
            mode(&data.join(STORE_FILE)),
            0o600,
            "the store is private all the same"
        );
    }
}

#[test]
fn with_no_home_folder_the_console_asks_for_a_data_dir_instead_of_using_the_temp_dir_as_root() {
    assert!(
        is_root(),
        "this test runs the console as a user with no home folder and needs root"
    );
    // A user the system does not know (no passwd entry, so no home folder) and no HOME: the
    // binary is linked into a folder that user can reach.
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let bin = dir.path().join("handoff-console");
    let built = Path::new(env!("CARGO_BIN_EXE_handoff-console"));
    if std::fs::hard_link(built, &bin).is_err() {
        std::fs::copy(built, &bin).unwrap();
    }
    const NO_SUCH_USER: u32 = 54_321;
    let out = Command::new(&bin)
        .args(["integration", "list"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(dir.path())
        .uid(NO_SUCH_USER)
        .gid(NO_SUCH_USER)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "fix the input: {stderr}");
    assert!(
        stderr.contains("--data-dir") && stderr.contains("HANDOFF_DATA_DIR"),
        "says what to give: {stderr}"
    );
    let temp_store = std::env::temp_dir().join("handoff-console");
    assert!(
        !std::fs::read_dir(&temp_store)
            .map(|d| d.flatten().any(|e| e
                .metadata()
                .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == NO_SUCH_USER)))
            .unwrap_or(false),
        "nothing was made in the shared temp dir"
    );
}

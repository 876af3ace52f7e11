//! The canary test: every capability is run through the real CLI, with logs at trace level,
//! on integrations holding canary credentials and handoffs carrying canary patient data. Then
//! every file in the data dir, the export, and everything the CLI printed (stdout and the trace
//! logs on stderr) is searched: no canary credential anywhere, and no raw canary value anywhere
//! (the data is stored sealed; `reveal`, which shows it on purpose, is not run).

mod common;

use common::{Reply, Sink, cli};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const CREDENTIALS: [&str; 5] = [
    "CANARY-TOKEN-b7e1c0d4",
    "CANARY-PASSWORD-5f9a",
    "CANARY-APIKEY-2c8d",
    "CANARY-DBPASS-61aa",
    "CANARY-HEADER-93d0",
];
const PII: [&str; 3] = [
    "Canary Zyxwvut",
    "canary.zyx@example.com",
    "+1 555 010 9999",
];

struct Console {
    data_dir: PathBuf,
    /// Everything every command printed, stdout and stderr.
    printed: String,
    /// Commands that did not end with 0 (success) or 1 (a delivery or check failed).
    broken: Vec<String>,
}

impl Console {
    fn run(&mut self, args: &[&str], stdin: Option<&str>) -> (i32, String) {
        use std::io::Write;
        let mut child = cli()
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env("RUST_LOG", "trace")
            .env("HANDOFF_SECRETS", "vault")
            .env("HANDOFF_VAULT_PASSPHRASE", "canary test passphrase")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        self.printed.push_str(&stdout);
        self.printed.push_str(&stderr);
        let code = out.status.code().unwrap_or(-1);
        if !(0..=1).contains(&code) {
            // Only the tail of stdout: stderr holds trace logs.
            let tail: String = stdout
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            self.broken.push(format!("{args:?} exited {code}: {tail}"));
        }
        (code, stdout)
    }

    fn add(&mut self, config: Value) -> String {
        let file = self.data_dir.with_extension("cfg.json");
        std::fs::write(&file, config.to_string()).unwrap();
        let (code, out) = self.run(
            &[
                "integration",
                "add",
                "--file",
                file.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(code, 0, "{out}");
        serde_json::from_str::<Value>(&out).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_credential_or_raw_value_is_anywhere_after_every_capability() {
    let root = tempfile::tempdir().unwrap();
    let mut c = Console {
        data_dir: root.path().join("data"),
        printed: String::new(),
        broken: Vec::new(),
    };
    let sink = Sink::start().await;
    let fields = json!([{"name": "fullName", "type": "name", "required": true},
                        {"name": "email", "type": "email"}, {"name": "phone", "type": "phone"}]);
    let payload =
        json!({"patient": "{{fullName}}", "contact": {"email": "{{email}}", "phone": "{{phone}}"}});
    let bearer = c.add(json!({
        "name": "bearer api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/patients", sink.url), "method": "POST",
                "payloadStructure": payload,
                "headers": {"X-Client-Secret": CREDENTIALS[4]},
                "authentication": {"type": "bearer", "credentials": {"token": CREDENTIALS[0]}},
                "healthCheck": {"path": "/health"}},
        "retry": {"maxAttempts": 3, "baseDelayMs": 10}
    }));
    c.add(json!({
        "name": "basic api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/basic", sink.url), "method": "PUT",
                "authentication": {"type": "basic", "credentials": {"username": "clinic", "password": CREDENTIALS[1]}}},
        "retry": {"maxAttempts": 1}
    }));
    c.add(json!({
        "name": "key api", "kind": "api", "fields": fields,
        "api": {"endpoint": format!("{}/key", sink.url), "method": "GET",
                "authentication": {"type": "api-key", "credentials": {"key": CREDENTIALS[2], "query": "api_key"}}},
        "retry": {"maxAttempts": 1}
    }));
    let db = root.path().join("clinic.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT)",
        )
        .unwrap();
    }
    c.add(json!({
        "name": "clinic db", "kind": "database", "fields": fields,
        "database": {"type": "sqlite", "database": db.to_str().unwrap(), "table": "patients",
                     "password": CREDENTIALS[3],
                     "fieldMapping": {"fullName": "name", "email": "email", "phone": "phone"}}
    }));
    // Each target echoes everything back: the data and the credential it was sent.
    let echo = |credential: &str| {
        json!({"message": format!("rejected {} {} {} (credential {credential})", PII[0], PII[1], PII[2]),
               "received": {"patient": PII[0], "credential": credential}})
    };
    sink.then([
        Reply::json(503, echo(CREDENTIALS[0])),
        Reply::json(422, echo(CREDENTIALS[1])),
        Reply::json(200, echo(CREDENTIALS[2])),
    ]);
    let data = json!({"fullName": PII[0], "email": PII[1], "phone": PII[2]}).to_string();
    for (integration, session) in [
        ("bearer api", "s-1"),
        ("basic api", "s-2"),
        ("key api", "s-3"),
        ("clinic db", "s-4"),
    ] {
        c.run(
            &[
                "send",
                "--integration",
                integration,
                "--session",
                session,
                "--data",
                "-",
                "--json",
            ],
            Some(&data),
        );
    }
    c.run(
        &["integration", "set-secret", "basic api", "api.password"],
        Some(CREDENTIALS[1]),
    );
    let (_, history) = c.run(&["history", "--json"], None);
    let attempts: Vec<Value> = serde_json::from_str(&history).unwrap();
    assert_eq!(attempts.len(), 4, "{history}");
    let failed = attempts.iter().find(|a| a["status"] == "failed").unwrap()["attemptId"]
        .as_str()
        .unwrap()
        .to_string();
    c.run(&["show-attempt", &failed, "--json"], None);
    c.run(&["show-attempt", &failed], None);
    c.run(&["retry", &failed, "--json"], None);
    c.run(&["retry", "--failed", "--json"], None);
    c.run(&["worker", "--once", "--json"], None);
    c.run(&["stats", "--json"], None);
    c.run(&["stats", "--exact"], None);
    c.run(&["health", "--json", "--timeout-ms", "2000"], None);
    c.run(
        &[
            "test",
            "--integration",
            "clinic db",
            "--generate",
            "--seed",
            "5",
        ],
        None,
    );
    c.run(
        &[
            "test",
            "--integration",
            "bearer api",
            "--generate",
            "--preview",
            "--json",
        ],
        None,
    );
    c.run(&["integration", "show", &bearer], None);
    c.run(&["integration", "list", "--json"], None);
    c.run(&["secrets", "status", "--json"], None);
    c.run(&["keys", "rotate", "--json"], None);
    let export = root.path().join("history.hcx");
    let (code, out) = c.run(
        &["export", "--out", export.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    c.run(
        &["--history-file", export.to_str().unwrap(), "history"],
        None,
    );
    c.run(
        &[
            "--history-file",
            export.to_str().unwrap(),
            "stats",
            "--json",
        ],
        None,
    );
    c.run(&["audit", "--json"], None);
    c.run(&["audit"], None);
    assert!(c.printed.contains("TRACE"), "the logs ran at trace level");
    assert!(
        c.broken.is_empty(),
        "commands that did not run: {:#?}",
        c.broken
    );

    let mut places: Vec<(String, Vec<u8>)> = files_under(&c.data_dir)
        .into_iter()
        .chain([export])
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    places.push((
        "what the CLI printed".into(),
        c.printed.clone().into_bytes(),
    ));
    let export_bytes = &places[places.len() - 2].1;
    assert!(
        !holds(export_bytes, "hc1:"),
        "a sealed payload is in the export"
    );
    for (place, bytes) in &places {
        for canary in CREDENTIALS.iter().chain(PII.iter()) {
            assert!(!holds(bytes, canary), "{canary} found in {place}");
        }
    }
    // The target did get the real values (so the run was not vacuous).
    let got = sink.received();
    assert!(
        got.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(PII[0]))
    );
    let db_bytes = std::fs::read(&db).unwrap();
    assert!(
        holds(&db_bytes, PII[0]),
        "the clinic's own table has the data"
    );
}

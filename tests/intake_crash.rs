//! Accepted means durable, through a `kill -9`: signed webhooks stream in from several clients
//! to the real `serve` binary, which is killed mid-stream and started again on the same data
//! dir. Every message that got a 2xx must be in the inbox and end delivered, to a target that
//! deduplicates by `Idempotency-Key`: each handoff's key seen there, and a key seen twice only
//! where a kill fell between sending and recording (counted).

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use handoff_console::intake::verify::Verification;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The target: records each delivery's Idempotency-Key, answers after a short delay so that
/// deliveries are in flight when the kill comes.
#[derive(Default)]
struct Target {
    keys: Mutex<Vec<String>>,
}

async fn receive(State(t): State<Arc<Target>>, headers: HeaderMap) -> (StatusCode, &'static str) {
    tokio::time::sleep(Duration::from_millis(15)).await;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    t.keys.lock().unwrap().push(key);
    (StatusCode::CREATED, "{\"id\":\"ok\"}")
}

struct Console {
    dir: tempfile::TempDir,
}

impl Console {
    fn command(&self) -> std::process::Command {
        let mut c = common::cli();
        c.args([
            "--data-dir",
            self.dir.path().to_str().unwrap(),
            "--secrets",
            "vault",
        ])
        .env("HANDOFF_VAULT_PASSPHRASE", "crash test passphrase")
        .env_remove("RUST_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> Value {
        let out = self.command().arg("--json").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `serve` with the intake listener; answers the child and (intake URL, admin address).
    async fn serve(&self) -> (common::ChildGuard, String, String) {
        let mut serve = self.command();
        serve.args([
            "--json",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--intake-bind",
            "127.0.0.1:0",
        ]);
        let (child, printed) = common::spawn_serve(serve).await;
        (
            child,
            printed["intake"].as_str().unwrap().to_string(),
            printed["url"].as_str().unwrap().to_string(),
        )
    }
}

/// Sends signed webhooks with ids `c<client>-<n>` until `stop` or an error; answers the
/// accepted ones (id → the handoff id of the 202).
async fn stream(
    client: usize,
    url: String,
    secret: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> HashMap<String, String> {
    let http = reqwest::Client::new();
    let v = Verification::StandardWebhooks;
    let mut accepted = HashMap::new();
    for n in 0.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let id = format!("c{client}-{n}");
        let body = serde_json::to_vec(&json!({"name": format!("Patient {client} {n}")})).unwrap();
        let headers = v
            .sign(&secret, &id, chrono::Utc::now().timestamp(), &body)
            .unwrap();
        let mut req = http.post(&url).body(body).timeout(Duration::from_secs(5));
        for (k, val) in headers {
            req = req.header(k, val);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                let answer: Value = r.json().await.unwrap_or(Value::Null);
                if let Some(h) = answer["handoffId"].as_str() {
                    accepted.insert(id, h.to_string());
                }
            }
            // Killed: the messages from here on were never answered.
            _ => break,
        }
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_message_answered_2xx_survives_a_kill_9_and_ends_delivered_once() {
    handoff_console::targets::api::install_crypto_provider();
    let target = Arc::new(Target::default());
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(Arc::clone(&target));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/patients", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let c = Console {
        dir: tempfile::tempdir().unwrap(),
    };
    let config = c.dir.path().join("emr.json");
    std::fs::write(
        &config,
        json!({
            "name": "EMR", "kind": "api",
            "fields": [{"name": "fullName", "type": "text", "required": true}],
            // Short timeouts: an attempt the kill cut short is taken over after its lease.
            "api": {"endpoint": target_url, "timeoutMs": 2000, "connectTimeoutMs": 1000,
                    "payloadStructure": {"name": "{{fullName}}"}}
        })
        .to_string(),
    )
    .unwrap();
    c.run(&["integration", "add", "--file", config.to_str().unwrap()]);
    let secret = c.run(&[
        "source",
        "add",
        "ehr",
        "--kind",
        "ehr",
        "--verification",
        "standardWebhooks",
        "--integrations",
        "EMR",
        "--rate-per-minute",
        "1000000",
    ])["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let mapping = c.dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        json!({"source": "ehr", "name": "all", "integration": "EMR",
               "fields": [{"field": "fullName", "value": {"pointer": "/name"}}]})
        .to_string(),
    )
    .unwrap();
    c.run(&["mapping", "add", "--file", mapping.to_str().unwrap()]);

    // Stream from four clients; kill -9 once messages are flowing.
    let (mut server, intake, _) = c.serve().await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            tokio::spawn(stream(
                i,
                format!("{intake}ehr"),
                secret.clone(),
                Arc::clone(&stop),
            ))
        })
        .collect();
    let started = Instant::now();
    while target.keys.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut accepted: HashMap<String, String> = HashMap::new();
    for client in clients {
        accepted.extend(client.await.unwrap());
    }
    let delivered_before_restart = target.keys.lock().unwrap().len();
    assert!(
        accepted.len() >= 40,
        "too few messages before the kill: {}",
        accepted.len()
    );

    // Start again on the same data dir: the worker takes up what the kill left.
    let (_server, _, sign_in) = c.serve().await;
    let (base, token) = sign_in.split_once("/#token=").unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut delivered: HashMap<String, String> = HashMap::new();
    loop {
        delivered.clear();
        let mut offset = 0;
        loop {
            let page: Value = http
                .get(format!(
                    "{base}/api/v1/inbox?status=delivered&limit=1000&offset={offset}"
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let items = page["items"].as_array().unwrap();
            for m in items {
                delivered.insert(
                    m["messageKey"].as_str().unwrap().to_string(),
                    m["handoffId"].as_str().unwrap().to_string(),
                );
            }
            offset += items.len();
            if items.is_empty() || offset as u64 >= page["total"].as_u64().unwrap() {
                break;
            }
        }
        if accepted.keys().all(|k| delivered.contains_key(k)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let lost: Vec<&String> = accepted
        .keys()
        .filter(|k| !delivered.contains_key(*k))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} messages answered 2xx did not end delivered, e.g. {:?}",
        lost.len(),
        accepted.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    for (id, handoff) in &accepted {
        assert_eq!(
            &delivered[id], handoff,
            "{id} became another handoff than its 202 said"
        );
    }

    // The target saw every accepted message's handoff key; a key twice only where the kill fell
    // between sending and recording.
    let keys = target.keys.lock().unwrap().clone();
    let seen: HashSet<&String> = keys.iter().collect();
    for handoff in accepted.values() {
        assert!(
            seen.contains(handoff),
            "handoff {handoff} never reached the target"
        );
    }
    let repeats = keys.len() - seen.len();
    eprintln!(
        "accepted {}, delivered before the kill {delivered_before_restart}, deliveries {}, \
         repeated keys {repeats}",
        accepted.len(),
        keys.len()
    );
    assert!(
        repeats <= 64,
        "{repeats} deliveries repeated a key: more than the attempts in flight at the kill"
    );
    assert!(
        keys.iter().all(|k| !k.is_empty()),
        "a delivery without its key"
    );
}

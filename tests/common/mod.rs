//! Shared test parts: a console on a temp data dir, and `Sink`, a real HTTP server on
//! 127.0.0.1:0 that records what it receives and answers as the test says.
#![allow(dead_code)]

pub mod matrix;
mod served;
#[allow(unused_imports)] // only the HTTP tests serve a console
pub use served::Served;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use handoff_console::App;
use handoff_console::integrations::{Integration, IntegrationConfig};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

/// A console with its own store (in a temp dir, or a schema of its own on PostgreSQL: see
/// [`matrix`]) and the real OS keyring for secrets.
pub struct TestApp {
    pub app: App,
    pub dir: TempDir,
    /// The PostgreSQL schema of its store, on the matrix's PostgreSQL pass.
    pub schema: Option<matrix::Schema>,
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (app, schema) = matrix::open(
            dir.path(),
            std::sync::Arc::new(handoff_console::secrets::KeyringBackend),
        )
        .await;
        Self { app, dir, schema }
    }

    pub async fn add(&self, config: Value) -> Integration {
        let config: IntegrationConfig = serde_json::from_value(config).expect("config shape");
        self.app
            .add_integration(config)
            .await
            .expect("add integration")
    }
}

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// How the sink answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: Value::Null,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            body,
            ..Self::status(status)
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Default)]
struct SinkState {
    received: Mutex<Vec<Received>>,
    /// Replies used in order; when empty, `default` answers.
    queued: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
}

/// A real HTTP server on loopback that records requests.
pub struct Sink {
    pub url: String,
    state: Arc<SinkState>,
    _server: tokio::task::JoinHandle<()>,
}

impl Sink {
    /// Starts a sink answering `201 {"id": "sub-<n>"}` unless told otherwise.
    pub async fn start() -> Self {
        let state = Arc::new(SinkState::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            state,
            _server: server,
        }
    }

    /// Answers every request with `reply` from now on.
    pub fn always(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = Some(reply);
    }

    /// Answers the next requests with these, in order, then with the default.
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.queued.lock().unwrap().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }
}

async fn handle(State(state): State<Arc<SinkState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = header_map(&parts.headers);
    let n = {
        let mut received = state.received.lock().unwrap();
        received.push(Received {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body,
        });
        received.len()
    };
    let reply = state
        .queued
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| state.default.lock().unwrap().clone());
    let reply =
        reply.unwrap_or_else(|| Reply::json(201, serde_json::json!({"id": format!("sub-{n}")})));
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = if reply.body.is_null() {
        StatusCode::from_u16(reply.status).unwrap().into_response()
    } else {
        (
            StatusCode::from_u16(reply.status).unwrap(),
            axum::Json(reply.body),
        )
            .into_response()
    };
    for (k, v) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(&v).unwrap(),
        );
    }
    response
}

fn header_map(h: &HeaderMap) -> BTreeMap<String, String> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// Starts `cmd` (a `--json … serve …` command) with its stdout piped, its stderr dropped, and
/// answers the child and the JSON document `serve` prints once it listens (it keeps running).
pub async fn spawn_serve(mut cmd: std::process::Command) -> (ChildGuard, Value) {
    let mut child = ChildGuard(
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start serve"),
    );
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let printed = tokio::task::spawn_blocking(move || {
        serde_json::Deserializer::from_reader(stdout)
            .into_iter::<Value>()
            .next()
            .expect("serve prints where it listens")
            .expect("serve's first output is JSON")
    })
    .await
    .unwrap();
    (child, printed)
}

/// A child process that is killed (and reaped) when the guard goes: also when the test panics
/// before its end, so a failed test leaves nothing running.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for ChildGuard {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// The CLI binary under test.
pub fn cli() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_handoff-console"))
}

/// A new SQLite store in `dir` as an older console left it: every migration before `from`
/// applied (and none from it on); a pool on its file.
pub async fn store_migrated_before(dir: &std::path::Path, from: &str) -> sqlx::SqlitePool {
    let old = migrations_before(from);
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join(handoff_console::store::STORE_FILE))
            .create_if_missing(true),
    )
    .await
    .expect("open the store's file");
    sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("the older migrations")
        .run(&pool)
        .await
        .expect("apply the older migrations");
    pool
}

/// A temp dir holding the store's (SQLite) migrations whose file names sort before `from`: what
/// an older console applied. Files only: `migrations/postgres/` holds PostgreSQL's twins.
pub fn migrations_before(from: &str) -> TempDir {
    let old = tempfile::tempdir().expect("temp dir");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    for entry in std::fs::read_dir(dir).expect("migrations/") {
        let path = entry.expect("a migrations/ entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_file() && name < from {
            std::fs::copy(&path, old.path().join(name)).expect("copy a migration");
        }
    }
    old
}

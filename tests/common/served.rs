//! `Served`: a console (its own temp data dir, secrets in the encrypted-file vault) behind the
//! real `serve` router on 127.0.0.1:0, and a client that sends its token.

use handoff_console::App;
use handoff_console::secrets::{Secret, VAULT_FILE, VaultBackend};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use tempfile::TempDir;

pub struct Served {
    /// `http://127.0.0.1:<port>`: the UI's pages.
    pub root: String,
    /// `<root>/api/v1`.
    pub base: String,
    /// The console's token (made in the data dir on first use, as `serve` does).
    pub token: String,
    pub http: reqwest::Client,
    pub app: Arc<App>,
    pub dir: TempDir,
    /// The PostgreSQL schema of its store, on the matrix's PostgreSQL pass.
    pub schema: Option<super::matrix::Schema>,
    _server: tokio::task::JoinHandle<()>,
}

impl Served {
    /// A new console with vault secrets.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let vault = VaultBackend::new(
            dir.path().join(VAULT_FILE),
            Some(Secret::new("a test passphrase".to_string())),
        );
        let (app, schema) = super::matrix::open(dir.path(), Arc::new(vault)).await;
        let mut served = Self::start_with(app, dir).await;
        served.schema = schema;
        served
    }

    /// Serves `app`, whose data dir is `dir`.
    pub async fn start_with(app: App, dir: TempDir) -> Self {
        let token = handoff_console::http::token::load_or_create(dir.path()).expect("token");
        let app = Arc::new(app);
        let router = handoff_console::http::router(Arc::clone(&app), token.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        // reqwest is built without a default TLS provider; the console installs its own.
        handoff_console::targets::api::install_crypto_provider();
        Self {
            root: format!("http://{addr}"),
            base: format!("http://{addr}/api/v1"),
            token,
            http: reqwest::Client::new(),
            app,
            dir,
            schema: None,
            _server: server,
        }
    }

    /// Starts the intake listener (`serve --intake-bind`) for this console on a port of its
    /// own; answers its base, `http://127.0.0.1:<port>/intake/v1`.
    pub async fn intake(&self) -> String {
        let router = handoff_console::http::intake::router(Arc::clone(&self.app));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{addr}/intake/v1")
    }

    /// A request to `/api/v1<path>` with the token.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends `body` as JSON; answers the status and the JSON (or the text as a string).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.req(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the console answers");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Adds an integration (201) and returns its id.
    pub async fn add(&self, config: Value) -> String {
        let (status, saved) = self.post("/integrations", config).await;
        assert_eq!(status, StatusCode::CREATED, "{saved}");
        saved["id"].as_str().expect("an id").to_string()
    }

    /// Polls a job until it finishes (at most 30 s), keeping every status seen.
    pub async fn wait(&self, job: u64) -> Vec<Value> {
        let started = std::time::Instant::now();
        let mut seen = Vec::new();
        loop {
            let (status, s) = self.get(&format!("/jobs/{job}")).await;
            assert_eq!(status, StatusCode::OK, "{s}");
            let finished = s["finished"] == true;
            seen.push(s);
            if finished {
                return seen;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "the job never finished"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

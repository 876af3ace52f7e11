//! Health checks against real parts: HTTP servers on loopback (one with TLS and a short-lived
//! self-signed certificate), a blackhole that accepts connections and never answers, closed
//! ports and unresolvable hosts, SQLite files, and PostgreSQL (`HANDOFF_TEST_PG_URL`) and
//! MariaDB/MySQL (`HANDOFF_TEST_MYSQL_URL`) with healthy and broken set-ups. The local checks,
//! the kept results, and the CLI's exit code through the real binary.

mod common;
mod common_db;
// The database checks, beside this file (a test crate's root looks for modules in `tests/`).
#[path = "health/database.rs"]
mod database;

use common::{Reply, Sink, TestApp, cli, closed_port};
use common_db::{cleanly, exec, suffix};
use handoff_console::health::{Check, HealthReport, HealthStatus, IntegrationHealth};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const TIMEOUT: Option<Duration> = Some(Duration::from_millis(3000));

fn api_config(name: &str, api: Value) -> Value {
    json!({"name": name, "kind": "api", "api": api, "retry": {"maxAttempts": 1}})
}

fn db_config(name: &str, fields: Value, database: Value) -> Value {
    json!({"name": name, "kind": "database", "fields": fields, "database": database,
           "retry": {"maxAttempts": 1}})
}

/// The one integration of a run.
fn only(report: &HealthReport) -> &IntegrationHealth {
    assert_eq!(report.integrations.len(), 1, "{report:#?}");
    &report.integrations[0]
}

fn check<'a>(i: &'a IntegrationHealth, name: &str) -> &'a Check {
    i.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check '{name}' in {:#?}", i.checks))
}

fn names(i: &IntegrationHealth) -> Vec<&str> {
    i.checks.iter().map(|c| c.name.as_str()).collect()
}

fn reason(c: &Check) -> &str {
    c.reason.as_deref().unwrap_or("")
}

fn assert_status(c: &Check, status: HealthStatus) {
    assert_eq!(c.status, status, "{}: {}", c.name, reason(c));
}

/// Whether any file in the console's data dir (the store, its WAL) holds `needle`.
fn data_dir_holds(t: &TestApp, needle: &str) -> bool {
    std::fs::read_dir(t.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .any(|e| {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
}

fn assert_all_healthy(i: &IntegrationHealth) {
    for c in &i.checks {
        assert_status(c, HealthStatus::Healthy);
    }
    assert_eq!(i.status, HealthStatus::Healthy);
}

// ---- APIs ----

#[tokio::test]
async fn an_api_health_request_carries_the_credentials_and_never_collected_data() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(200, json!({"status": "ok"})));
    t.add(api_config(
        "emr",
        json!({
            "endpoint": format!("{}/patients", sink.url),
            "headers": {"X-API-Version": "1.0"},
            "authentication": {"type": "bearer", "credentials": {"token": "tok-health-1"}},
            "payloadStructure": {"name": "{{fullName}}"},
            "healthCheck": {"method": "GET", "path": "/health?deep=1"},
        }),
    ))
    .await;
    let report = t.app.health(Some("emr"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_eq!(
        names(i),
        [
            "dns",
            "connect",
            "request",
            "credentials",
            "deliveries",
            "endToEnd"
        ]
    );
    assert_all_healthy(i);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/health");
    assert_eq!(r.query.as_deref(), Some("deep=1"));
    assert_eq!(r.header("authorization"), Some("Bearer tok-health-1"));
    assert_eq!(r.header("x-api-version"), Some("1.0"));
    assert_eq!(r.header("idempotency-key"), None);
    assert!(r.body.is_empty(), "a health request has no body");
}

#[tokio::test]
async fn without_a_health_request_nothing_is_sent_to_the_api() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    t.add(api_config(
        "crm",
        json!({"endpoint": format!("{}/leads", sink.url), "method": "POST"}),
    ))
    .await;
    let report = t.app.health(Some("crm"), TIMEOUT).await.unwrap();
    let i = only(&report);
    // Plain http on loopback needs no TLS: no `tls` check. `request` is listed anyway, to say
    // that no health request is configured.
    assert_eq!(
        names(i),
        ["dns", "connect", "request", "deliveries", "endToEnd"]
    );
    assert_all_healthy(i);
    // The end-to-end check of an API is a preview: rendered, never sent, and it says so.
    let preview = check(i, "endToEnd").reason.clone().unwrap_or_default();
    assert!(preview.starts_with("preview only:"), "{preview}");
    assert!(preview.contains("nothing was sent"), "{preview}");
    assert!(
        preview.contains(&format!("POST {}/leads", sink.url)),
        "{preview}"
    );
    assert_eq!(sink.count(), 0, "a health check is never a live write");
}

#[tokio::test]
async fn rejected_credentials_are_an_error_that_names_them() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(
        401,
        json!({"error": "invalid token tok-wrong-2"}),
    ));
    t.add(api_config(
        "locked",
        json!({
            "endpoint": format!("{}/p", sink.url),
            "authentication": {"type": "api-key", "credentials": {"key": "tok-wrong-2"}},
            "healthCheck": {"path": "/status"},
        }),
    ))
    .await;
    let report = t.app.health(Some("locked"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_status(check(i, "request"), HealthStatus::Healthy);
    let creds = check(i, "credentials");
    assert_status(creds, HealthStatus::Error);
    assert!(
        reason(creds).contains("credentials rejected (401"),
        "{}",
        reason(creds)
    );
    assert_eq!(i.status, HealthStatus::Error);
    assert_eq!(report.status, HealthStatus::Error);
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("tok-wrong-2")
    );
    assert_eq!(sink.received()[0].header("x-api-key"), Some("tok-wrong-2"));
    // Nor in the kept results (the target echoed the key in its error).
    assert!(
        data_dir_holds(&t, "credentials rejected"),
        "the results were kept"
    );
    assert!(!data_dir_holds(&t, "tok-wrong-2"));
}

#[tokio::test]
async fn a_health_path_that_is_not_there_is_an_error_pointing_at_the_setting() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(404));
    t.add(api_config(
        "wrong-path",
        json!({"endpoint": format!("{}/p", sink.url), "healthCheck": {"method": "HEAD", "path": "/nope"}}),
    ))
    .await;
    let report = t.app.health(Some("wrong-path"), TIMEOUT).await.unwrap();
    let request = check(only(&report), "request");
    assert_status(request, HealthStatus::Error);
    assert!(
        reason(request).contains("api.healthCheck"),
        "{}",
        reason(request)
    );
    assert_eq!(sink.received()[0].method, "HEAD");
}

#[tokio::test]
async fn server_errors_redirects_and_slow_answers_of_the_health_request() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let config = |name: &str, path: &str| {
        api_config(
            name,
            json!({"endpoint": format!("{}/p", sink.url), "healthCheck": {"path": path},
                   "authentication": {"type": "bearer", "credentials": {"token": "tok-5xx-4"}}}),
        )
    };
    t.add(config("failing", "/fail")).await;
    t.add(config("moved", "/moved")).await;
    t.add(config("slow", "/slow")).await;
    sink.then([
        Reply::status(503),
        Reply::status(302).header("location", "https://elsewhere.example/"),
        Reply::status(200).delay(Duration::from_secs(3)),
    ]);
    // One at a time, so the queued replies meet the requests in order.
    let timeout = Some(Duration::from_millis(500));
    let failing = t.app.health(Some("failing"), timeout).await.unwrap();
    let moved = t.app.health(Some("moved"), timeout).await.unwrap();
    let slow = t.app.health(Some("slow"), timeout).await.unwrap();

    let request = check(only(&failing), "request");
    assert_status(request, HealthStatus::Error);
    assert!(
        reason(request).contains("503 Service Unavailable"),
        "{}",
        reason(request)
    );
    assert_eq!(
        reason(check(only(&failing), "credentials")),
        "not run: request failed"
    );

    let request = check(only(&moved), "request");
    assert_status(request, HealthStatus::Warning);
    assert!(reason(request).contains("redirect"), "{}", reason(request));
    assert_status(check(only(&moved), "credentials"), HealthStatus::Warning);

    let request = check(only(&slow), "request");
    assert_status(request, HealthStatus::Error);
    assert_eq!(reason(request), "no answer within 500 ms");
    let paths: Vec<String> = sink.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/fail", "/moved", "/slow"]);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error_and_the_checks_after_it_are_not_run() {
    let t = TestApp::new().await;
    let port = closed_port();
    t.add(api_config(
        "down",
        json!({"endpoint": format!("http://127.0.0.1:{port}/p"), "healthCheck": {"path": "/h"},
               "authentication": {"type": "bearer", "credentials": {"token": "tok-down-3"}}}),
    ))
    .await;
    let report = t.app.health(Some("down"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_status(check(i, "dns"), HealthStatus::Healthy);
    let connect = check(i, "connect");
    assert_status(connect, HealthStatus::Error);
    assert!(
        reason(connect).contains(&format!("127.0.0.1:{port}: connection refused")),
        "{}",
        reason(connect)
    );
    for later in ["request", "credentials"] {
        let c = check(i, later);
        assert_status(c, HealthStatus::Error);
        assert_eq!(reason(c), "not run: connect failed");
    }
}

#[tokio::test]
async fn an_unresolvable_host_is_a_dns_error() {
    let t = TestApp::new().await;
    t.add(api_config(
        "nowhere",
        json!({"endpoint": "https://nonexistent.invalid/p"}),
    ))
    .await;
    let report = t.app.health(Some("nowhere"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_eq!(
        names(i),
        ["dns", "connect", "tls", "request", "deliveries", "endToEnd"]
    );
    // The preview needs no network, so it runs even though the host is unknown; but it is no
    // better than the checks it builds on, and says so.
    let e2e = check(i, "endToEnd");
    assert_status(e2e, HealthStatus::Error);
    assert!(reason(e2e).starts_with("preview only:"), "{}", reason(e2e));
    assert!(
        reason(e2e).ends_with("no better than the checks it builds on: dns error"),
        "{}",
        reason(e2e)
    );
    let dns = check(i, "dns");
    assert_status(dns, HealthStatus::Error);
    assert!(
        reason(dns).contains("could not find the host 'nonexistent.invalid'"),
        "{}",
        reason(dns)
    );
    assert_eq!(reason(check(i, "tls")), "not run: dns failed");
}

/// A TLS server on loopback with a self-signed certificate for `localhost` that expires at the
/// start of the day `days` days from now. It completes handshakes and then closes.
async fn tls_server(days: i64) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    let day = (chrono::Utc::now() + chrono::Duration::days(days)).date_naive();
    use chrono::Datelike;
    params.not_after = rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8);
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_self_signed_certificate_is_not_trusted_and_its_near_expiry_is_reported() {
    let t = TestApp::new().await;
    // Expires at the start of the day 6 days from now: between 5 and 6 days left.
    let port = tls_server(6).await;
    t.add(api_config(
        "self-signed",
        json!({"endpoint": format!("https://localhost:{port}/p"), "healthCheck": {"path": "/h"}}),
    ))
    .await;
    let report = t.app.health(Some("self-signed"), TIMEOUT).await.unwrap();
    let i = only(&report);
    assert_status(check(i, "connect"), HealthStatus::Healthy);
    let tls = check(i, "tls");
    assert_status(tls, HealthStatus::Error);
    assert!(
        reason(tls).starts_with("certificate not trusted"),
        "{}",
        reason(tls)
    );
    assert!(reason(tls).contains("expires in 5 days"), "{}", reason(tls));
    assert_eq!(reason(check(i, "request")), "not run: tls failed");
}

/// A loopback listener that accepts connections and never answers (keeps them open).
async fn blackhole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    port
}

#[tokio::test]
async fn fifty_integrations_with_unreachable_ones_finish_in_about_one_timeout() {
    let t = TestApp::new().await;
    let hole = blackhole().await;
    let sink = Sink::start().await;
    for n in 0..50 {
        let config = match n % 5 {
            0 | 1 => api_config(
                &format!("https-hole-{n}"),
                json!({"endpoint": format!("https://localhost:{hole}/p")}),
            ),
            2 | 3 => db_config(
                &format!("pg-hole-{n}"),
                json!([{"name": "a", "type": "text"}]),
                json!({"type": "postgresql", "hostname": "127.0.0.1", "port": hole,
                       "database": "d", "username": "u", "table": "t", "fieldMapping": {"a": "a"}}),
            ),
            _ => api_config(
                &format!("up-{n}"),
                json!({"endpoint": format!("{}/p", sink.url)}),
            ),
        };
        t.add(config).await;
    }
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let report = t.app.health(None, Some(timeout)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.integrations.len(), 50);
    // Checked one after another, the 40 unreachable ones would take 40 timeouts (12 s); run
    // concurrently, about one. The bound is a quarter of the serial time, which a 2-core
    // machine under load (a build beside the tests) stays well inside; 5 timeouts was not.
    assert!(
        took < timeout * 10,
        "50 integrations took {took:?}; the per-check timeout is {timeout:?} (one after \
         another they would take {:?})",
        timeout * 40
    );
    let mut unreachable = 0;
    for i in &report.integrations {
        if i.name.starts_with("up-") {
            assert_all_healthy(i);
            continue;
        }
        unreachable += 1;
        assert_eq!(i.status, HealthStatus::Error, "{}", i.name);
        let failed = i
            .checks
            .iter()
            .find(|c| c.status == HealthStatus::Error)
            .unwrap();
        assert!(
            reason(failed).contains("within 300 ms"),
            "{}: {}",
            i.name,
            reason(failed)
        );
    }
    assert_eq!(unreachable, 40);
}

// ---- the console itself, kept results, the CLI ----

#[tokio::test]
async fn local_checks_cover_the_store_its_migrations_and_the_secrets_backend() {
    let t = TestApp::new().await;
    let report = t.app.health(None, TIMEOUT).await.unwrap();
    let local: Vec<(&str, HealthStatus)> = report
        .local
        .iter()
        .map(|c| (c.name.as_str(), c.status))
        .collect();
    assert_eq!(
        local,
        [
            ("store", HealthStatus::Healthy),
            ("migrations", HealthStatus::Healthy),
            ("secrets", HealthStatus::Healthy),
        ],
        "{:#?}",
        report.local
    );
    assert_eq!(report.status, HealthStatus::Healthy);
    assert!(report.integrations.is_empty());
}

#[tokio::test]
async fn results_are_kept_and_a_later_call_shows_the_earlier_run() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let port = closed_port();
    t.add(api_config(
        "kept",
        json!({"endpoint": format!("{}/p", sink.url)}),
    ))
    .await;
    t.add(api_config(
        "gone",
        json!({"endpoint": format!("http://127.0.0.1:{port}/p")}),
    ))
    .await;
    let first = t.app.health(None, TIMEOUT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = t.app.health(Some("kept"), TIMEOUT).await.unwrap();

    let history = t.app.health_history("kept", 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0].checked_at.timestamp_millis(),
        second.checked_at.timestamp_millis()
    );
    assert_eq!(
        history[1].checked_at.timestamp_millis(),
        first.checked_at.timestamp_millis()
    );
    assert_eq!(history[1].integration.checks, first.integrations[1].checks);

    let last = t.app.last_health().await.unwrap();
    let by_name: Vec<(&str, HealthStatus)> = last
        .integrations
        .iter()
        .map(|s| (s.integration.name.as_str(), s.integration.status))
        .collect();
    assert_eq!(
        by_name,
        [
            ("gone", HealthStatus::Error),
            ("kept", HealthStatus::Healthy)
        ]
    );
    // "gone" was only checked in the first run: its last-known state is from then.
    assert_eq!(
        last.integrations[0].checked_at.timestamp_millis(),
        first.checked_at.timestamp_millis()
    );
    assert_eq!(last.status, Some(HealthStatus::Error));
    assert_eq!(last.local.unwrap().checks.len(), 3);
    assert_eq!(t.app.health_history("kept", 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_timeout_or_an_unknown_integration_is_refused() {
    let t = TestApp::new().await;
    let e = t
        .app
        .health(None, Some(Duration::from_millis(5)))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("timeoutMs"));
    let e = t.app.health(Some("no-such"), TIMEOUT).await.unwrap_err();
    assert_eq!(e.kind, handoff_console::ErrorKind::NotFound);
}

#[tokio::test]
async fn the_cli_prints_one_document_and_exits_1_when_a_check_is_in_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = cli()
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("HANDOFF_DATA_DIR")
            .output()
            .expect("run the CLI");
        (
            out.status.code().expect("exit code"),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let sink = Sink::start().await;
    let config = dir.path().join("up.json");
    std::fs::write(
        &config,
        api_config("up", json!({"endpoint": format!("{}/p", sink.url)})).to_string(),
    )
    .unwrap();
    let (code, _) = run(&["integration", "add", "--file", config.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, stdout) = run(&["health", "--json", "--timeout-ms", "2000"]);
    assert_eq!(code, 0, "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["status"], "healthy");

    let down = dir.path().join("down.json");
    let port = closed_port();
    std::fs::write(
        &down,
        api_config(
            "down",
            json!({"endpoint": format!("http://127.0.0.1:{port}/p")}),
        )
        .to_string(),
    )
    .unwrap();
    let (code, _) = run(&["integration", "add", "--file", down.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, stdout) = run(&["health", "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).expect("one JSON document");
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["checkedAt", "integrations", "local", "status"]);
    assert_eq!(doc["status"], "error");
    let down = doc["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "down")
        .unwrap();
    let mut keys: Vec<&str> = down
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["checks", "id", "kind", "latencyMs", "name", "status"]
    );
    let connect = &down["checks"][1];
    assert_eq!(connect["name"], "connect");
    assert_eq!(connect["status"], "error");
    assert!(connect["latencyMs"].is_u64());
    assert!(
        connect["reason"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    let local = doc["local"].as_array().unwrap();
    let mut keys: Vec<&str> = local[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["name", "reason", "status"]);

    // Offline: the last-known state, without contacting anything.
    let (code, stdout) = run(&["health", "--last", "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let last: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(last["integrations"].as_array().unwrap().len(), 2);

    let (code, _) = run(&["health", "--timeout-ms", "5"]);
    assert_eq!(code, 2);
}

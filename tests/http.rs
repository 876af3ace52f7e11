//! `serve`'s JSON API and UI through the real router on a loopback listener: the token, the
//! security headers, the UI's routes, errors naming the field, and a handoff's round trip
//! (send, history, stats, a failure, a retry, a bulk retry job).

mod common;

use common::{Reply, Served, Sink, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

fn test_client() -> reqwest::Client {
    handoff_console::targets::api::install_crypto_provider();
    reqwest::Client::new()
}

async fn serve(t: TestApp) -> Served {
    let mut served = Served::start_with(t.app, t.dir).await;
    // The store's schema (on the matrix's PostgreSQL pass) lives as long as the console.
    served.schema = t.schema;
    served
}

fn api_config(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST",
                "payloadStructure": {"name": "{{fullName}}"}, "timeoutMs": 2000, "connectTimeoutMs": 500},
        "retry": {"maxAttempts": 1}
    })
}

#[tokio::test]
async fn the_api_needs_the_token_even_on_loopback() {
    let s = serve(TestApp::new().await).await;
    let info = format!("{}/info", s.base);
    let none = s.http.get(&info).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "unauthorized");

    let wrong = s
        .http
        .get(&info)
        .bearer_auth("x".repeat(43))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    // The token in a query string is not accepted (it would end up in logs and history).
    let in_query = s
        .http
        .get(format!("{info}?token={}", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status().as_u16(), 401);

    let res = s
        .http
        .get(&info)
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (status, body) = s.get("/info").await;
    assert_eq!(status, 200);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn the_ui_is_served_for_its_routes_with_a_strict_policy() {
    let s = serve(TestApp::new().await).await;
    for path in [
        "/",
        "/stats/integrations/abc",
        "/health",
        "/tests/Clinic.v2",
    ] {
        let res = s
            .http
            .get(format!("{}{path}", s.root))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let html = res.text().await.unwrap();
        assert!(html.contains("<div id=\"root\">"), "{path}: {html}");
    }
    // A missing file is a 404, not the app (a broken script tag must not load HTML).
    let missing = s
        .http
        .get(format!("{}/assets/nothing-here.js", s.root))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    // An unknown API path is a JSON not-found, after the token check.
    let (status, body) = s.get("/no-such-thing").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["kind"], "notFound");
}

#[tokio::test]
async fn bad_input_is_an_error_naming_the_field() {
    let s = serve(TestApp::new().await).await;
    let (status, body) = s.get("/attempts?status=bogus").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "status");

    let (status, body) = s.get("/attempts?limit=0").await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("limit"))
    );
    // A value of the wrong type, and a parameter the resource does not know.
    let (status, body) = s.get("/attempts?limit=ten").await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("limit")),
        "{body}"
    );
    let (status, body) = s.get("/attempts?colour=red").await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );

    let (status, body) = s
        .post(
            "/handoffs",
            json!({"integration": "x", "sessionId": 5, "data": {}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "sessionId", "{body}");

    let attempt = "01900000-0000-7000-8000-000000000000";
    let (status, body) = s
        .post("/retries", json!({"attemptId": attempt, "dryRun": true}))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("dryRun"))
    );
    // A missing field is named itself, without serde's position in the text.
    let (status, body) = s
        .post("/handoffs", json!({"integration": "x", "data": {}}))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("sessionId")),
        "{body}"
    );
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{body}"
    );
    // A body over the limit is refused in the usual error shape.
    let big = json!({"integration": "x", "sessionId": "s", "data": {"n": "x".repeat(3 << 20)}});
    let (status, body) = s.post("/handoffs", big).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("body")),
        "{body}"
    );
    let (status, body) = s.post("/retries", json!({})).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("attemptId"))
    );

    let (status, body) = s.post("/health", json!({"timeoutMs": 5})).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("timeoutMs"))
    );

    // A config with a problem names its path.
    let res = s
        .http
        .post(format!("{}/integrations", s.base))
        .bearer_auth(&s.token)
        .body(
            json!({"name": "x", "kind": "api", "fields": [], "api": {"endpoint": "ftp://x"}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "invalid");
    assert!(body["error"].to_string().contains("api.endpoint"), "{body}");

    let (status, body) = s.get("/attempts/not-an-id").await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("id"))
    );
}

#[tokio::test]
async fn a_handoff_round_trips_through_the_api() {
    let sink = Sink::start().await;
    let s = serve(TestApp::new().await).await;
    let res = s
        .http
        .post(format!("{}/integrations", s.base))
        .bearer_auth(&s.token)
        .body(api_config("emr", &sink.url).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();

    // Delivered.
    let (status, sent) = s
        .post(
            "/handoffs",
            json!({"integration": "emr", "sessionId": "s-1", "data": {"fullName": "Ann Lee"}}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["success"], true);

    // The target fails: a failed attempt, retried from the history, then delivered.
    sink.then([Reply::status(503)]);
    let (_, failed) = s
        .post(
            "/handoffs",
            json!({"integration": id, "sessionId": "s-2", "data": {"fullName": "Bo Chan"}}),
        )
        .await;
    assert_eq!(failed["success"], false);
    assert_eq!(failed["category"], "server");

    let (_, history) = s.get("/attempts?status=failed").await;
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let attempt_id = rows[0]["attemptId"].as_str().unwrap();
    let (_, detail) = s.get(&format!("/attempts/{attempt_id}")).await;
    assert_eq!(detail["attempt"]["sessionId"], "s-2");
    assert!(
        !detail.to_string().contains("Bo Chan"),
        "the raw name must not be in the detail: {detail}"
    );

    let (status, retried) = s.post("/retries", json!({"attemptId": attempt_id})).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["success"], true);
    assert_eq!(sink.count(), 3);

    let (_, stats) = s.get("/stats?integration=emr").await;
    assert_eq!(stats["total"], 3);
    assert_eq!(stats["succeeded"], 2);
    assert_eq!(stats["failed"], 1);
}

#[tokio::test]
async fn a_bulk_retry_runs_as_a_job_with_progress() {
    let sink = Sink::start().await;
    sink.then((0..3).map(|_| Reply::status(500)));
    let s = serve(TestApp::new().await).await;
    let (status, _) = s
        .call(
            reqwest::Method::POST,
            "/integrations",
            Some(api_config("emr", &sink.url)),
        )
        .await;
    assert_eq!(status, 201);
    for n in 0..3 {
        let (_, r) = s
            .post(
                "/handoffs",
                json!({"integration": "emr", "sessionId": format!("s-{n}"), "data": {"fullName": "Ann Lee"}}),
            )
            .await;
        assert_eq!(r["success"], false);
    }

    // A dry run counts first (what the UI shows before confirming).
    let (_, counted) = s
        .post("/retries", json!({"failed": true, "dryRun": true}))
        .await;
    assert_eq!(counted["matched"], 3, "{counted}");
    assert_eq!(sink.count(), 3, "a dry run sends nothing");

    let (_, started) = s.post("/retries", json!({"failed": true})).await;
    let job = started["jobId"].as_u64().expect("a job id");
    let mut status = Value::Null;
    for _ in 0..200 {
        (_, status) = s.get(&format!("/jobs/{job}")).await;
        if status["finished"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status["finished"], true, "{status}");
    assert_eq!(
        (status["done"].as_u64(), status["total"].as_u64()),
        (Some(3), Some(3))
    );
    let results = status["result"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["success"] == true), "{status}");
}

#[test]
fn serve_refuses_a_non_loopback_address_without_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::cli()
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--secrets",
            "vault",
        ])
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn serve_prints_a_sign_in_url_whose_token_opens_the_api() {
    use std::io::BufReader;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let mut child = common::ChildGuard(
        common::cli()
            .args(["--data-dir", data_dir, "--secrets", "vault", "--json"])
            .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
            .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // One JSON document (pretty-printed over several lines), then serve keeps running.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let printed: Value = serde_json::Deserializer::from_reader(stdout)
        .into_iter()
        .next()
        .expect("serve prints where it listens")
        .unwrap();
    let url = printed["url"].as_str().unwrap();
    let (base, token) = url
        .split_once("/#token=")
        .expect("the token rides in the fragment");

    let token_cmd = common::cli()
        .args(["--data-dir", data_dir, "token"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&token_cmd.stdout).trim(), token);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        test_client()
            .get(format!("{base}/api/v1/integrations"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    drop(child);
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_stored_secret_is_not_kept_for_a_changed_target() {
    let s = serve(TestApp::new().await).await;
    let mut config = api_config("emr", "http://127.0.0.1:9");
    config["api"]["authentication"] =
        json!({"type": "bearer", "credentials": {"token": "tok-stored-secret"}});
    let (status, _) = s
        .call(reqwest::Method::POST, "/integrations", Some(config.clone()))
        .await;
    assert_eq!(status, 201);
    let put = |config: Value| s.call(reqwest::Method::PUT, "/integrations/emr", Some(config));

    // The mask for the same origin (another path) keeps the stored token.
    let mut same_origin = config.clone();
    same_origin["api"]["endpoint"] = json!("http://127.0.0.1:9/v2/patients");
    same_origin["api"]["authentication"]["credentials"]["token"] = json!("••••••••");
    let (status, body) = put(same_origin).await;
    assert_eq!(status, 200, "{body}");

    // Another host with the mask: the token must be typed again, it never follows the edit.
    let mut elsewhere = config.clone();
    elsewhere["api"]["endpoint"] = json!("https://collector.example.net/patients");
    elsewhere["api"]["authentication"]["credentials"]["token"] = json!("••••••••");
    let (status, body) = put(elsewhere.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["field"],
        "api.authentication.credentials.token"
    );
    // Typed again, it is saved.
    elsewhere["api"]["authentication"]["credentials"]["token"] = json!("tok-new-secret");
    let (status, body) = put(elsewhere).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains("tok-new-secret"));
}

/// Waits until `s` follows the store's changes; answers the change number then.
async fn live_version(s: &Served) -> u64 {
    let (status, mut c) = s.get("/changes").await;
    assert_eq!(status, 200, "{c}");
    let started = std::time::Instant::now();
    while c["live"] != true {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never live: {c}"
        );
        let after = c["version"].as_u64().expect("a version");
        c = s
            .get(&format!("/changes?after={after}&waitMs=1000"))
            .await
            .1;
    }
    c["version"].as_u64().expect("a version")
}

#[tokio::test]
async fn a_wait_for_changes_ends_when_another_console_on_the_store_records_an_attempt() {
    let s = serve(TestApp::new().await).await;
    let sink = Sink::start().await;
    sink.always(Reply::status(201));
    let other = common::matrix::open_beside(
        s.dir.path(),
        s.schema.as_ref(),
        std::sync::Arc::new(handoff_console::secrets::KeyringBackend),
    )
    .await;
    s.add(api_config("Front Desk", &sink.url)).await;
    let seen = live_version(&s).await;

    // Nothing written: the wait runs its course and answers the same number.
    let (status, same) = s.get(&format!("/changes?after={seen}&waitMs=300")).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["version"], seen, "nothing changed: {same}");

    // Another console on the same store (another process's connections) sends a handoff:
    // the wait ends long before its 20 s, and the attempt is there to see.
    let started = std::time::Instant::now();
    let wait = format!("/changes?after={seen}&waitMs=20000");
    let ((status, moved), sent) = tokio::join!(s.get(&wait), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        other
            .send(
                "Front Desk",
                "live-1",
                json!({"fullName": "Ada Live"}),
                handoff_console::attempts::Trigger::Live,
            )
            .await
            .expect("the other console sends")
    });
    assert_eq!(status, 200, "{moved}");
    assert!(sent.success, "{sent:?}");
    assert_ne!(moved["version"], seen, "a change ends the wait: {moved}");
    assert_eq!(moved["live"], true);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the change ended the wait, not its 20 s"
    );
    let (_, page) = s.get("/attempts/page?session=live-1").await;
    assert_eq!(page["total"], 1, "{page}");
    other.close().await;

    // A wait is bounded, and the bound is named.
    let (status, e) = s.get("/changes?waitMs=60000").await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["field"], "waitMs", "{e}");
}

#[tokio::test]
async fn serve_stops_at_once_on_ctrl_c_while_a_view_waits_for_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = common::cli();
    serve
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--secrets",
            "vault",
            "--json",
        ])
        .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
        .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase");
    let (mut child, printed) = common::spawn_serve(serve).await;
    let url = printed["url"].as_str().unwrap();
    let (base, token) = url.split_once("/#token=").unwrap();
    let changes = |after: Option<u64>| {
        let mut req = test_client()
            .get(format!("{base}/api/v1/changes"))
            .bearer_auth(token);
        if let Some(after) = after {
            req = req.query(&[("after", after.to_string()), ("waitMs", "25000".into())]);
        }
        req.send()
    };
    // Followed first (the number moves once when following starts).
    let mut first: Value = changes(None).await.unwrap().json().await.unwrap();
    while first["live"] != true {
        let after = first["version"].as_u64();
        first = changes(after).await.unwrap().json().await.unwrap();
    }
    let version = first["version"].as_u64().unwrap();
    // A view's long wait is under way when Ctrl-C comes.
    let waiting = tokio::spawn(changes(Some(version)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve waited for the view's 25 s wait"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exited.success(), "{exited:?}");
    // The wait was answered (the number unchanged), not cut.
    let answer = waiting.await.unwrap().expect("the wait is answered");
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["version"], version);
}

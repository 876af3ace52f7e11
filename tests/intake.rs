//! Intake over real HTTP: sources added through the admin API (their secret shown once, never
//! again), signed messages posted to the separate intake listener and committed to the inbox
//! before the 202, and every refusal with its status: a bad signature, key or timestamp (401,
//! saying nothing more), a repeated message id (the first answer again), a disabled source, an
//! integration the source may not name (403), an oversized body (413), too many messages (429
//! with Retry-After); the admin token is no intake credential and an intake key no admin one.
//! A voice platform's `/handoffs` message becomes a handoff the target receives once, under the
//! handoff's Idempotency-Key.

mod common;

use common::{Served, Sink};
use handoff_console::intake::verify::Verification;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// A message's headers as a sender sends them.
type Headers = Vec<(String, String)>;

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A console serving both listeners, and its intake base URL.
async fn console() -> (Served, String) {
    let s = Served::start().await;
    let intake = s.intake().await;
    (s, intake)
}

/// Adds a source through the admin API; answers the source and its secret.
async fn add_source(s: &Served, request: Value) -> (Value, String) {
    let (status, body) = s.call(Method::POST, "/sources", Some(request)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    (body["source"].clone(), secret)
}

/// Posts `body` to `url` with `headers`; answers the status, the headers and the JSON body.
async fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().post(url).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.expect("intake answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn standard() -> Verification {
    Verification::StandardWebhooks
}

fn signed(v: &Verification, secret: &str, id: &str, body: &[u8]) -> Vec<(String, String)> {
    v.sign(secret, id, now_secs(), body).expect("sign")
}

#[tokio::test]
async fn a_signed_webhook_is_committed_to_the_inbox_before_its_202_and_a_repeat_gets_the_same_answer()
 {
    let (s, intake) = console().await;
    let (source, secret) = add_source(
        &s,
        json!({"name": "dentrix", "kind": "ehr", "verification": {"mode": "standardWebhooks"}}),
    )
    .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    // The secret is shown once: no later answer holds it.
    for path in [
        "/sources",
        &format!("/sources/{}", source["id"].as_str().unwrap()),
    ] {
        let (_, listed) = s.get(path).await;
        assert!(
            !listed.to_string().contains(&secret),
            "{path} shows the secret"
        );
    }

    let body = br#"{"type":"patient.created","data":{"firstName":"Ana"}}"#;
    let headers = signed(&standard(), &secret, "msg_1", body);
    let url = format!("{intake}/dentrix");
    let (status, h, first) = post(&url, &headers, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["status"], "received");
    assert!(h.get("idempotent-replayed").is_none());
    let id = first["id"].as_str().expect("inbox id").to_string();

    // In the inbox already (the 202 came after the commit).
    let (_, page) = s.get("/inbox").await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], id.as_str());
    assert_eq!(page["items"][0]["messageKey"], "msg_1");
    assert_eq!(page["items"][0]["sourceName"], "dentrix");
    assert_eq!(page["items"][0]["bodyBytes"], body.len());
    // The body is sealed at rest: the store holds no plain text of it.
    let store = rusqlite::Connection::open(s.dir.path().join("handoff.db")).unwrap();
    let raw: String = store
        .query_row("SELECT body FROM intake_messages", [], |r| r.get(0))
        .unwrap();
    assert!(!raw.contains("Ana"), "the body is stored in the clear");

    // The same webhook-id again (the sender retried): the first answer, nothing new.
    let again = signed(&standard(), &secret, "msg_1", body);
    let (status, h, second) = post(&url, &again, body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(second["id"], id.as_str());
    assert_eq!(h.get("idempotent-replayed").unwrap(), "true");
    let (_, page) = s.get("/inbox").await;
    assert_eq!(page["total"], 1, "a repeat was taken again: {page}");
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_missing_headers_are_401_and_say_nothing_more() {
    let (s, intake) = console().await;
    let (_, secret) = add_source(
        &s,
        json!({"name": "voice", "kind": "voice", "verification": {"mode": "standardWebhooks"}}),
    )
    .await;
    let url = format!("{intake}/voice");
    let body = br#"{"call":"ended"}"#;
    let v = standard();
    let other_secret = v.new_secret();

    let mut cases: Vec<(&str, Headers, &[u8])> = vec![
        ("wrong secret", signed(&v, &other_secret, "m1", body), body),
        (
            "altered body",
            signed(&v, &secret, "m2", body),
            br#"{"call":"ended!"}"#,
        ),
        (
            "stale timestamp",
            v.sign(&secret, "m3", now_secs() - 301, body).unwrap(),
            body,
        ),
        (
            "from the future",
            // Well past the tolerance: the server reads its clock a moment later than this.
            v.sign(&secret, "m4", now_secs() + 330, body).unwrap(),
            body,
        ),
        ("no headers", Vec::new(), body),
    ];
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let headers: Vec<_> = signed(&v, &secret, "m5", body)
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(missing))
            .collect();
        cases.push(("a missing header", headers, body));
    }
    for (what, headers, sent) in cases {
        let (status, _, answer) = post(&url, &headers, sent).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(
            answer,
            json!({"error": {"kind": "unauthorized", "message": "unauthorized"}}),
            "{what}: the answer must not say why"
        );
    }
    // An unknown source reads exactly as a bad signature.
    let (status, _, answer) = post(
        &format!("{intake}/nobody"),
        &signed(&v, &secret, "m6", body),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["message"], "unauthorized");
    let (_, page) = s.get("/inbox").await;
    assert_eq!(
        page["total"], 0,
        "a refused message reached the inbox: {page}"
    );
}

#[tokio::test]
async fn the_admin_token_is_no_intake_key_and_an_intake_key_is_no_admin_token() {
    let (s, intake) = console().await;
    let (_, key) = add_source(
        &s,
        json!({"name": "bridge", "kind": "other", "verification": {"mode": "intakeKey"}}),
    )
    .await;
    assert!(key.starts_with("hik_"), "{key}");
    let url = format!("{intake}/bridge");
    let body = b"{}";
    let bearer = |t: &str| vec![("authorization".to_string(), format!("Bearer {t}"))];

    let (status, _, _) = post(&url, &bearer(&s.token), body).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the admin token opened intake"
    );
    let (status, _, _) = post(&url, &bearer(&key), body).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the intake key itself is accepted"
    );

    let admin = reqwest::Client::new()
        .get(format!("{}/sources", s.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin.status(),
        StatusCode::UNAUTHORIZED,
        "an intake key opened the admin API"
    );
    // Nor does the intake listener route anything of the admin API.
    let routed = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/sources",
            intake.trim_end_matches("/intake/v1")
        ))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(routed.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_hmac_hex_and_a_shared_secret_source_accept_their_own_headers_only() {
    let (s, intake) = console().await;
    let hmac = json!({"mode": "hmacHex", "header": "X-Signature", "prefix": "sha256="});
    let (_, hmac_secret) = add_source(
        &s,
        json!({"name": "od", "kind": "ehr", "verification": hmac.clone()}),
    )
    .await;
    let shared = json!({"mode": "sharedSecret", "header": "X-Webhook-Secret"});
    let (_, shared_secret) = add_source(
        &s,
        json!({"name": "ed", "kind": "ehr", "verification": shared.clone()}),
    )
    .await;
    let body = br#"{"event":"appointment.booked"}"#;
    let hmac: Verification = serde_json::from_value(hmac).unwrap();
    let shared: Verification = serde_json::from_value(shared).unwrap();

    let good = signed(&hmac, &hmac_secret, "a1", body);
    let (status, _, answer) = post(&format!("{intake}/od"), &good, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (status, _, _) = post(&format!("{intake}/od"), &good, b"{\"event\":\"x\"}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an altered body passed");

    let good = signed(&shared, &shared_secret, "b1", body);
    let (status, _, answer) = post(&format!("{intake}/ed"), &good, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let wrong = vec![("X-Webhook-Secret".to_string(), hmac_secret.clone())];
    let (status, _, _) = post(&format!("{intake}/ed"), &wrong, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_too_many_messages_429_with_retry_after() {
    let (s, intake) = console().await;
    let (_, key) = add_source(
        &s,
        json!({"name": "busy", "kind": "voice", "verification": {"mode": "intakeKey"},
               "ratePerMinute": 3}),
    )
    .await;
    let url = format!("{intake}/busy");
    let auth = vec![("authorization".to_string(), format!("Bearer {key}"))];

    let big = vec![b' '; handoff_console::intake::MAX_INTAKE_BODY + 1];
    let (status, _, _) = post(&url, &auth, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Streamed without a Content-Length: refused as it passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..17).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let streamed = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&key)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);

    for n in 0..3 {
        let (status, _, answer) = post(&url, &auth, b"{}").await;
        assert_eq!(status, StatusCode::ACCEPTED, "message {n}: {answer}");
    }
    let (status, headers, answer) = post(&url, &auth, b"{}").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    let wait: u64 = headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    let (_, page) = s.get("/inbox?source=busy").await;
    assert_eq!(page["total"], 3, "{page}");
}

#[tokio::test]
async fn a_disabled_source_is_403_and_a_rotated_secret_keeps_the_old_one_for_a_while() {
    let (s, intake) = console().await;
    let (source, old) = add_source(
        &s,
        json!({"name": "retell", "kind": "voice", "verification": {"mode": "standardWebhooks"}}),
    )
    .await;
    let id = source["id"].as_str().unwrap().to_string();
    let url = format!("{intake}/retell");
    let body = b"{}";

    let (status, rotated) = s
        .call(
            Method::POST,
            &format!("/sources/{id}/secret"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(
        rotated["source"]["previousSecretUntil"].is_string(),
        "{rotated}"
    );
    for (secret, n) in [(&old, "r1"), (&new, "r2")] {
        let (status, _, answer) = post(&url, &signed(&standard(), secret, n, body), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{n}: {answer}");
    }
    // A rotation that keeps nothing: the replaced secret stops at once.
    let (_, rotated) = s
        .call(
            Method::POST,
            &format!("/sources/{id}/secret"),
            Some(json!({"keepPreviousHours": 0})),
        )
        .await;
    let newest = rotated["secret"].as_str().unwrap().to_string();
    let (status, _, _) = post(&url, &signed(&standard(), &new, "r3", body), body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = post(&url, &signed(&standard(), &newest, "r4", body), body).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (status, changed) = s
        .call(
            Method::PUT,
            &format!("/sources/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (status, _, answer) = post(&url, &signed(&standard(), &newest, "r5", body), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["message"], "this source is disabled");

    // The trail records each change, never a secret.
    let trail = s.app.audit_log(&Default::default()).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"source.created"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "source.secret_rotated")
            .count(),
        2
    );
    assert!(actions.contains(&"source.updated"), "{actions:?}");
    let text = serde_json::to_string(&trail).unwrap();
    for secret in [&old, &new, &newest] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in the audit trail"
        );
    }
}

#[tokio::test]
async fn a_source_is_refused_with_every_problem_named() {
    let (s, _) = console().await;
    let (status, body) = s
        .call(
            Method::POST,
            "/sources",
            Some(json!({
                "name": "Bad Name", "kind": "ehr",
                "verification": {"mode": "hmacHex", "header": "bad header"},
                "ratePerMinute": 0, "integrations": ["nope"]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in ["name", "ratePerMinute", "integrations"] {
        assert!(fields.contains(&f), "{f} not named: {fields:?}");
    }
    assert!(
        fields.iter().any(|f| f.contains("header")),
        "the header not named: {fields:?}"
    );
    let (_, list) = s.get("/sources").await;
    assert_eq!(list, json!([]), "a refused source was saved");
}

#[tokio::test]
async fn a_voice_platforms_handoff_is_delivered_once_under_its_idempotency_key() {
    let (s, intake) = console().await;
    let sink = Sink::start().await;
    let (status, integration) = s
        .call(
            Method::POST,
            "/integrations",
            Some(json!({
                "name": "EMR", "kind": "api",
                "fields": [{"name": "fullName", "type": "name", "required": true}],
                "api": {"endpoint": format!("{}/patients", sink.url),
                        "payloadStructure": {"name": "{{fullName}}"}},
                "retry": {"maxAttempts": 1}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{integration}");
    let (status, _) = s
        .call(
            Method::POST,
            "/integrations",
            Some(json!({
                "name": "Other", "kind": "api",
                "fields": [{"name": "fullName", "type": "name"}],
                "api": {"endpoint": format!("{}/other", sink.url),
                        "payloadStructure": {"name": "{{fullName}}"}}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, key) = add_source(
        &s,
        json!({"name": "vapi", "kind": "voice", "verification": {"mode": "intakeKey"},
               "integrations": ["EMR"]}),
    )
    .await;
    let url = format!("{intake}/vapi/handoffs");
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {key}")),
        ("idempotency-key".to_string(), "call-42".to_string()),
    ];
    let body = serde_json::to_vec(&json!({
        "integration": "EMR", "sessionId": "call-42", "data": {"fullName": "Ana Lima"}
    }))
    .unwrap();
    let (status, _, accepted) = post(&url, &headers, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let handoff = accepted["handoffId"]
        .as_str()
        .expect("the handoff id")
        .to_string();

    // Delivered in the background; the inbox shows it so.
    let inbox_id = accepted["id"].as_str().unwrap().to_string();
    let mut item = Value::Null;
    for _ in 0..100 {
        item = s.get(&format!("/inbox/{inbox_id}")).await.1["item"].clone();
        if item["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(item["status"], "delivered", "{item}");
    assert_eq!(item["integrationName"], "EMR");
    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        received[0].header("idempotency-key"),
        Some(handoff.as_str())
    );
    assert_eq!(received[0].json()["name"], "Ana Lima");

    // The sender's retry of the same call: the same answer, no second delivery.
    let (status, replayed, again) = post(&url, &headers, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["handoffId"], handoff.as_str());
    assert_eq!(again["status"], "delivered");
    assert_eq!(replayed.get("idempotent-replayed").unwrap(), "true");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.count(), 1, "a repeat was delivered again");

    // An integration the source may not name, and a body that is not the route's.
    let other = serde_json::to_vec(&json!({
        "integration": "Other", "sessionId": "call-43", "data": {"fullName": "B"}
    }))
    .unwrap();
    let (status, _, answer) = post(&url, &headers[..1], &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, _, answer) = post(&url, &headers[..1], br#"{"integration":"EMR"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "body", "{answer}");
}

/// `serve --intake-bind`: the real binary listens for intake on its own port, says where, and
/// refuses a non-loopback intake address without `--allow-remote`.
#[tokio::test]
async fn serve_listens_for_intake_apart_from_the_admin_api() {
    handoff_console::targets::api::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let vault = |cmd: &mut std::process::Command| {
        cmd.args(["--data-dir", &data_dir, "--secrets", "vault"])
            .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase");
    };

    let mut refused = common::cli();
    vault(&mut refused);
    let out = refused
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--intake-bind",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--intake-bind") && stderr.contains("--allow-remote"),
        "{stderr}"
    );

    let mut add = common::cli();
    vault(&mut add);
    let added = add
        .args([
            "--json",
            "source",
            "add",
            "voice",
            "--kind",
            "voice",
            "--verification",
            "intakeKey",
        ])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let key = serde_json::from_slice::<Value>(&added.stdout).unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let mut serve = common::cli();
    vault(&mut serve);
    serve.args([
        "--json",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--intake-bind",
        "127.0.0.1:0",
        "--no-worker",
    ]);
    let (child, printed) = common::spawn_serve(serve).await;
    let intake = printed["intake"]
        .as_str()
        .expect("the intake listener's address")
        .to_string();
    let admin = printed["address"].as_str().unwrap().to_string();
    assert!(intake.ends_with("/intake/v1/"), "{intake}");
    assert!(
        !intake.contains(&admin),
        "intake shares the admin port: {printed}"
    );

    let (status, _, answer) = post(
        &format!("{intake}voice"),
        &[("authorization".to_string(), format!("Bearer {key}"))],
        b"{}",
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    // The admin API is not on the intake port, and intake is not on the admin port.
    let intake_root = intake.trim_end_matches("/intake/v1/");
    let r = reqwest::get(format!("{intake_root}/api/v1/info"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = reqwest::Client::new()
        .post(format!("http://{admin}/intake/v1/voice"))
        .bearer_auth(&key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.status(),
        StatusCode::ACCEPTED,
        "the admin port took an intake message"
    );
    drop(child);
}

#[tokio::test]
async fn a_signed_test_event_goes_through_the_sources_own_verification_into_the_inbox() {
    let (s, _) = console().await;
    for (name, verification) in [
        ("sw", json!({"mode": "standardWebhooks"})),
        (
            "hx",
            json!({"mode": "hmacHex", "header": "X-Signature", "prefix": "sha256=", "timestampHeader": "X-Timestamp"}),
        ),
        (
            "ss",
            json!({"mode": "sharedSecret", "header": "X-Webhook-Secret"}),
        ),
        ("ik", json!({"mode": "intakeKey"})),
    ] {
        add_source(
            &s,
            json!({"name": name, "kind": "other", "verification": verification}),
        )
        .await;
        let (status, accepted) = s
            .call(
                Method::POST,
                &format!("/sources/{name}/test-event"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {accepted}");
        assert_eq!(accepted["status"], "received", "{name}: {accepted}");
        let (_, page) = s.get(&format!("/inbox?source={name}")).await;
        assert_eq!(page["total"], 1, "{name}: {page}");
        assert!(
            page["items"][0]["messageKey"]
                .as_str()
                .unwrap()
                .starts_with("test-")
        );
    }
    let (_, info) = s.get("/info").await;
    assert!(info.get("intakeUrl").is_some(), "{info}");
    s.call(Method::PUT, "/sources/sw", Some(json!({"enabled": false})))
        .await;
    let (status, refused) = s
        .call(Method::POST, "/sources/sw/test-event", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
}

/// The listener's setting (what the window's Sources screen turns on): `serve` without
/// `--intake-bind` starts, stops and moves its intake listener when the setting changes, and
/// starts it again from the setting after a restart.
#[tokio::test]
async fn the_listener_setting_starts_and_stops_intake_without_a_restart() {
    handoff_console::targets::api::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let command = || {
        let mut c = common::cli();
        c.args(["--data-dir", &data_dir, "--secrets", "vault"])
            .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase");
        c
    };
    let added = command()
        .args([
            "--json",
            "source",
            "add",
            "voice",
            "--kind",
            "voice",
            "--verification",
            "intakeKey",
        ])
        .output()
        .unwrap();
    assert!(added.status.success());
    let key = serde_json::from_slice::<Value>(&added.stdout).unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let serve = || async {
        let mut serve = command();
        serve.args(["--json", "serve", "--bind", "127.0.0.1:0", "--no-worker"]);
        let (child, printed) = common::spawn_serve(serve).await;
        (child, printed)
    };
    let (child, printed) = serve().await;
    assert!(printed["intake"].is_null(), "{printed}");
    let (base, token) = printed["url"]
        .as_str()
        .unwrap()
        .split_once("/#token=")
        .unwrap();
    let (base, token) = (base.to_string(), token.to_string());
    let http = reqwest::Client::new();
    let put = |body: Value| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let r = http
                .put(format!("{base}/api/v1/intake-listener"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let send = |url: String| {
        let key = key.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}voice"))
                .bearer_auth(key)
                .body("{}")
                .send()
                .await
        }
    };

    let port = common::closed_port();
    let (status, on) = put(json!({"enabled": true, "bind": format!("127.0.0.1:{port}")})).await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!(on["appliesNow"], true);
    let url = on["url"].as_str().expect("listening now").to_string();
    assert_eq!(
        send(url.clone()).await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    // A setting that may not be: refused, naming the field, and the listener keeps running.
    let (status, refused) = put(json!({"enabled": true, "bind": "0.0.0.0:0"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "bind");
    assert_eq!(
        send(url.clone()).await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    let (status, off) = put(json!({"enabled": false, "bind": format!("127.0.0.1:{port}")})).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert!(off["url"].is_null(), "{off}");
    assert!(
        send(url.clone()).await.is_err(),
        "still listening after it was switched off"
    );

    // On again, then a restart: the setting starts it.
    put(json!({"enabled": true, "bind": format!("127.0.0.1:{port}")})).await;
    drop(child);
    let (_child, printed) = serve().await;
    let intake = printed["intake"]
        .as_str()
        .expect("started from the setting")
        .to_string();
    assert_eq!(send(intake).await.unwrap().status(), StatusCode::ACCEPTED);
}

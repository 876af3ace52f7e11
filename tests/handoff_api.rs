//! API targets, end to end through `App::send` against a real loopback HTTP server (`Sink`):
//! methods, authentication (and that secrets never reach the store), headers, templating,
//! error categories, response expectations, idempotency across a manual retry, and the kept
//! response excerpt.

mod common;

use common::{Received, Reply, Sink, TestApp, closed_port};
use handoff_console::attempts::{Status, Trigger};
use handoff_console::service::HandoffResult;
use handoff_console::targets::ErrorCategory;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The fields the configs below declare.
fn fields() -> Value {
    json!([
        {"name": "fullName", "type": "name", "required": true},
        {"name": "age", "type": "integer"},
        {"name": "consent", "type": "boolean"},
        {"name": "reminder", "type": "boolean"},
        {"name": "email", "type": "email"},
        {"name": "visitDate", "type": "date"},
        {"name": "patientId", "type": "text"}
    ])
}

/// Collected data that passes the fields above.
fn data() -> Value {
    json!({"fullName": "Ann Lee", "age": 42, "consent": true, "email": "ann@example.com", "visitDate": "2026-03-01"})
}

/// An API integration with `api` as its section and no automatic retries.
fn config(api: Value) -> Value {
    json!({
        "name": "clinic api",
        "kind": "api",
        "fields": fields(),
        "api": api,
        "retry": {"maxAttempts": 1}
    })
}

/// The usual POST section against `sink`, with `extra` merged into it.
fn post(sink: &Sink, extra: Value) -> Value {
    let mut api = json!({
        "endpoint": format!("{}/patients", sink.url),
        "method": "POST",
        "payloadStructure": {"patient_name": "{{fullName}}", "email": "{{email}}"}
    });
    merge(&mut api, extra);
    api
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(extra)) = (into, extra) {
        into.extend(extra);
    }
}

/// Adds an integration with `api`, sends `data` once, and returns the result.
async fn send_once(t: &TestApp, api: Value, data: Value) -> HandoffResult {
    let integration = t.add(config(api)).await;
    t.app
        .send(
            &integration.id.to_string(),
            "session-1",
            data,
            Trigger::Live,
        )
        .await
        .expect("send runs")
}

/// The only request the sink received.
fn only(sink: &Sink) -> Received {
    let received = sink.received();
    assert_eq!(
        received.len(),
        1,
        "expected exactly one request: {received:?}"
    );
    received.into_iter().next().expect("one request")
}

fn query_pairs(r: &Received) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(r.query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The attempt as the store recorded it, as text, and its message.
async fn recorded(t: &TestApp, result: &HandoffResult) -> (String, String) {
    let (detail, chain) = t.app.attempt(result.attempt_id).await.expect("attempt");
    let text = serde_json::to_string(&json!({
        "request": detail.request,
        "excerpt": detail.response_excerpt,
        "chain": chain.iter().map(|a| a.message.clone()).collect::<Vec<_>>(),
    }))
    .expect("encode");
    (text, detail.summary.message)
}

/// Asserts that `secret` is nowhere in what the store kept about the attempt or the integration.
async fn assert_not_recorded(t: &TestApp, result: &HandoffResult, secret: &str) {
    let (text, message) = recorded(t, result).await;
    assert!(
        !text.contains(secret),
        "secret recorded in the attempt: {text}"
    );
    assert!(
        !message.contains(secret),
        "secret in the message: {message}"
    );
    assert!(!result.message.contains(secret), "secret in the result");
    for i in t.app.integrations(None).await.expect("list") {
        let stored = serde_json::to_string(&i).expect("encode");
        assert!(
            !stored.contains(secret),
            "secret in the stored config: {stored}"
        );
    }
}

// ---- methods ----

async fn assert_json_body_method(method: &str) {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let r = send_once(&t, post(&sink, json!({"method": method})), data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.method, method);
    assert_eq!(got.path, "/patients");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.json(),
        json!({"patient_name": "Ann Lee", "email": "ann@example.com"})
    );
    assert_eq!(got.query, None);
}

#[tokio::test]
async fn post_sends_the_rendered_json_body_with_content_type() {
    assert_json_body_method("POST").await;
}

#[tokio::test]
async fn put_sends_the_rendered_json_body_with_content_type() {
    assert_json_body_method("PUT").await;
}

async fn assert_query_method(method: &str) {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"method": method, "payloadStructure": {"name": "{{fullName}}", "age": "{{age}}", "consent": "{{consent}}"}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.method, method);
    assert_eq!(got.path, "/patients");
    assert!(
        got.body.is_empty(),
        "{method} carried a body: {:?}",
        got.body
    );
    assert_eq!(got.header("content-type"), None);
    let expected: BTreeMap<String, String> =
        [("name", "Ann Lee"), ("age", "42"), ("consent", "true")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(query_pairs(&got), expected);
}

#[tokio::test]
async fn get_sends_the_rendered_fields_as_the_query_string_and_no_body() {
    assert_query_method("GET").await;
}

#[tokio::test]
async fn delete_sends_the_rendered_fields_as_the_query_string_and_no_body() {
    assert_query_method("DELETE").await;
}

// ---- authentication ----

#[tokio::test]
async fn bearer_token_is_sent_and_not_recorded() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let token = "tok-bearer-5f1c9e";
    let api = post(
        &sink,
        json!({"authentication": {"type": "bearer", "credentials": {"token": token}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    assert_eq!(
        only(&sink).header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_not_recorded(&t, &r, token).await;
}

#[tokio::test]
async fn basic_auth_sends_base64_of_user_and_password_and_does_not_record_it() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let password = "pw-basic-8d2a c";
    let api = post(
        &sink,
        json!({"authentication": {"type": "basic", "credentials": {"username": "clinic", "password": password}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    // base64("clinic:pw-basic-8d2a c"), computed independently.
    let encoded = "Y2xpbmljOnB3LWJhc2ljLThkMmEgYw==";
    assert_eq!(
        only(&sink).header("authorization"),
        Some(format!("Basic {encoded}").as_str())
    );
    assert_not_recorded(&t, &r, password).await;
    assert_not_recorded(&t, &r, encoded).await;
}

#[tokio::test]
async fn api_key_goes_in_x_api_key_by_default_and_is_not_recorded() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let key = "key-default-77ab";
    let api = post(
        &sink,
        json!({"authentication": {"type": "api-key", "credentials": {"key": key}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.header("x-api-key"), Some(key));
    assert_eq!(got.header("authorization"), None);
    assert_not_recorded(&t, &r, key).await;
}

#[tokio::test]
async fn api_key_goes_in_a_custom_header_and_is_not_recorded() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let key = "key-custom-31fe";
    let api = post(
        &sink,
        json!({"authentication": {"type": "api-key", "credentials": {"key": key, "header": "X-Clinic-Key"}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.header("x-clinic-key"), Some(key));
    assert_eq!(got.header("x-api-key"), None);
    assert_not_recorded(&t, &r, key).await;
}

#[tokio::test]
async fn api_key_goes_in_a_query_parameter_and_is_not_recorded() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let key = "key-query-a9c4";
    let api = post(
        &sink,
        json!({"authentication": {"type": "api-key", "credentials": {"key": key, "query": "api_key"}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(
        query_pairs(&got).get("api_key").map(String::as_str),
        Some(key)
    );
    assert_eq!(got.header("x-api-key"), None);
    assert_not_recorded(&t, &r, key).await;
    // The recorded URL still says where the key went.
    let (detail, _) = t.app.attempt(r.attempt_id).await.expect("attempt");
    let url = detail.request["url"].as_str().expect("recorded url");
    assert!(url.contains("api_key="), "{url}");
}

#[tokio::test]
async fn api_key_in_the_query_is_not_recorded_when_the_target_is_unreachable() {
    let t = TestApp::new().await;
    let key = "key-refused-0c3d";
    let api = json!({
        "endpoint": format!("http://127.0.0.1:{}/patients", closed_port()),
        "authentication": {"type": "api-key", "credentials": {"key": key, "query": "api_key"}}
    });
    let r = send_once(&t, api, data()).await;
    assert_eq!(r.category, Some(ErrorCategory::Network), "{r:?}");
    assert_not_recorded(&t, &r, key).await;
}

// ---- headers and the endpoint ----

#[tokio::test]
async fn custom_headers_are_delivered() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"headers": {"X-API-Version": "1.0", "X-Clinic": "north"}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.header("x-api-version"), Some("1.0"));
    assert_eq!(got.header("x-clinic"), Some("north"));
}

#[tokio::test]
async fn endpoint_placeholders_are_percent_encoded() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"endpoint": format!("{}/patients/{{{{patientId}}}}/notes", sink.url)}),
    );
    let mut d = data();
    d["patientId"] = json!("a/b?c d#e&f");
    let r = send_once(&t, api, d).await;
    assert!(r.success, "{r:?}");
    let got = only(&sink);
    assert_eq!(got.path, "/patients/a%2Fb%3Fc%20d%23e%26f/notes");
    assert_eq!(got.query, None);
}

// ---- templating ----

#[tokio::test]
async fn lone_placeholders_keep_their_json_type_and_embedded_ones_render_as_text() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"payloadStructure": {
            "age": "{{age}}",
            "consent": "{{consent}}",
            "reminder": "{{reminder}}",
            "greeting": "Dear {{fullName}}",
            "ageText": "age {{age}}",
            "nested": {"list": ["{{age}}", "{{fullName}}"]}
        }}),
    );
    // Given as text, normalised to the declared types before rendering.
    let d = json!({"fullName": "Ann Lee", "age": "42", "consent": true, "reminder": "no"});
    let r = send_once(&t, api, d).await;
    assert!(r.success, "{r:?}");
    assert_eq!(
        only(&sink).json(),
        json!({
            "age": 42,
            "consent": true,
            "reminder": false,
            "greeting": "Dear Ann Lee",
            "ageText": "age 42",
            "nested": {"list": [42, "Ann Lee"]}
        })
    );
}

#[tokio::test]
async fn builtins_render_the_session_id_handoff_id_and_an_rfc3339_timestamp() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"payloadStructure": {"session": "{{sessionId}}", "handoff": "{{handoffId}}", "at": "{{timestamp}}"}}),
    );
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let r = send_once(&t, api, data()).await;
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert!(r.success, "{r:?}");
    let body = only(&sink).json();
    assert_eq!(body["session"], "session-1");
    assert_eq!(body["handoff"], json!(r.handoff_id.to_string()));
    let at = body["at"].as_str().expect("timestamp is text");
    let at = chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339 timestamp");
    assert!(before <= at && at <= after, "{at} not within the send");
}

// ---- error categories ----

/// Sends once against a sink answering `reply`; returns the result and the sink.
async fn against(reply: Reply) -> (HandoffResult, Sink) {
    let sink = Sink::start().await;
    sink.always(reply);
    let t = TestApp::new().await;
    let r = send_once(&t, post(&sink, json!({})), data()).await;
    (r, sink)
}

fn assert_failed(r: &HandoffResult, category: ErrorCategory, retryable: bool) {
    assert!(!r.success, "{r:?}");
    assert_eq!(r.category, Some(category), "{r:?}");
    assert_eq!(r.retryable, retryable, "{r:?}");
}

#[tokio::test]
async fn status_401_is_authentication_and_not_retryable() {
    let (r, _) = against(Reply::status(401)).await;
    assert_failed(&r, ErrorCategory::Authentication, false);
    assert_eq!(r.status_code, Some(401));
}

#[tokio::test]
async fn status_403_is_authentication() {
    let (r, _) = against(Reply::status(403)).await;
    assert_failed(&r, ErrorCategory::Authentication, false);
    assert_eq!(r.status_code, Some(403));
}

#[tokio::test]
async fn status_404_is_configuration() {
    let (r, _) = against(Reply::status(404)).await;
    assert_failed(&r, ErrorCategory::Configuration, false);
}

#[tokio::test]
async fn status_400_is_validation() {
    let (r, _) = against(Reply::json(400, json!({"message": "email is malformed"}))).await;
    assert_failed(&r, ErrorCategory::Validation, false);
    assert!(r.message.contains("email is malformed"), "{}", r.message);
}

#[tokio::test]
async fn status_422_is_validation() {
    let (r, _) = against(Reply::status(422)).await;
    assert_failed(&r, ErrorCategory::Validation, false);
}

#[tokio::test]
async fn status_500_is_server_and_retryable() {
    let (r, _) = against(Reply::status(500)).await;
    assert_failed(&r, ErrorCategory::Server, true);
    assert_eq!(r.status_code, Some(500));
}

#[tokio::test]
async fn status_429_with_retry_after_is_server_and_the_retry_waits_for_it() {
    let sink = Sink::start().await;
    sink.always(Reply::status(429).header("Retry-After", "120"));
    let t = TestApp::new().await;
    let mut cfg = config(post(&sink, json!({})));
    cfg["retry"] = json!({"maxAttempts": 3});
    let integration = t.add(cfg).await;
    let before = chrono::Utc::now();
    let r = t
        .app
        .send(&integration.id.to_string(), "s-429", data(), Trigger::Live)
        .await
        .expect("send runs");
    assert_failed(&r, ErrorCategory::Server, true);
    assert_eq!(r.handoff_status, Status::Pending);
    let next = r.next_retry_at.expect("a retry is scheduled");
    assert!(
        next >= before + chrono::Duration::seconds(119),
        "retry at {next}, sent at {before}"
    );
}

#[tokio::test]
async fn refused_connection_is_network_and_retryable() {
    let t = TestApp::new().await;
    let api = json!({"endpoint": format!("http://127.0.0.1:{}/patients", closed_port())});
    let r = send_once(&t, api, data()).await;
    assert_failed(&r, ErrorCategory::Network, true);
    assert_eq!(r.status_code, None);
}

#[tokio::test]
async fn slow_target_is_timeout_and_retryable() {
    let (sink, t) = (Sink::start().await, TestApp::new().await);
    sink.always(Reply::json(201, json!({"id": "late"})).delay(Duration::from_secs(2)));
    let id = t
        .add(config(post(&sink, json!({"timeoutMs": 300}))))
        .await
        .id
        .to_string();
    let started = Instant::now();
    let r = t
        .app
        .send(&id, "s-slow", data(), Trigger::Live)
        .await
        .expect("send runs");
    let waited = started.elapsed();
    assert_failed(&r, ErrorCategory::Timeout, true);
    // The reply comes after 2 s; giving up well before it is the 300 ms timeout at work.
    assert!(
        waited < Duration::from_millis(1800),
        "waited {waited:?} despite a 300 ms timeout"
    );
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn missing_required_field_is_validation_and_nothing_is_sent() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let r = send_once(
        &t,
        post(&sink, json!({})),
        json!({"email": "ann@example.com"}),
    )
    .await;
    assert_failed(&r, ErrorCategory::Validation, false);
    assert!(r.message.contains("fullName"), "{}", r.message);
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn bad_field_value_is_validation_and_nothing_is_sent() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    let mut d = data();
    d["visitDate"] = json!("2026-13-45");
    let r = send_once(&t, post(&sink, json!({})), d).await;
    assert_failed(&r, ErrorCategory::Validation, false);
    assert!(r.message.contains("visitDate"), "{}", r.message);
    assert_eq!(sink.count(), 0);
}

// ---- response expectations ----

#[tokio::test]
async fn unexpected_success_status_is_a_configuration_failure() {
    let sink = Sink::start().await;
    sink.always(Reply::json(200, json!({"id": "x"})));
    let t = TestApp::new().await;
    let r = send_once(
        &t,
        post(&sink, json!({"expect": {"status": [201]}})),
        data(),
    )
    .await;
    assert_failed(&r, ErrorCategory::Configuration, false);
    assert_eq!(r.status_code, Some(200));
}

#[tokio::test]
async fn missing_required_pointer_fails_and_present_one_succeeds() {
    let sink = Sink::start().await;
    sink.then([
        Reply::json(201, json!({"id": "no-data"})),
        Reply::json(201, json!({"id": "with-data", "data": {}})),
    ]);
    let t = TestApp::new().await;
    let integration = t
        .add(config(post(
            &sink,
            json!({"expect": {"requirePointer": "/data"}}),
        )))
        .await;
    let id = integration.id.to_string();
    let missing = t
        .app
        .send(&id, "s1", data(), Trigger::Live)
        .await
        .expect("send");
    assert_failed(&missing, ErrorCategory::Configuration, false);
    assert!(missing.message.contains("/data"), "{}", missing.message);
    let present = t
        .app
        .send(&id, "s2", data(), Trigger::Live)
        .await
        .expect("send");
    assert!(present.success, "{present:?}");
    assert_eq!(present.submission_id.as_deref(), Some("with-data"));
}

#[tokio::test]
async fn submission_id_pointer_picks_the_id() {
    let sink = Sink::start().await;
    sink.always(Reply::json(
        201,
        json!({"id": "not-this", "data": {"ref": "R-7"}}),
    ));
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"expect": {"submissionIdPointer": "/data/ref"}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.submission_id.as_deref(), Some("R-7"));
    let (detail, _) = t.app.attempt(r.attempt_id).await.expect("attempt");
    assert_eq!(detail.submission_id.as_deref(), Some("R-7"));
}

#[tokio::test]
async fn submission_id_defaults_to_id_then_submission_id() {
    let sink = Sink::start().await;
    sink.then([
        Reply::json(201, json!({"id": "first", "submissionId": "second"})),
        Reply::json(201, json!({"submissionId": "only-sub"})),
        Reply::json(201, json!({"other": 1})),
    ]);
    let t = TestApp::new().await;
    let id = t.add(config(post(&sink, json!({})))).await.id.to_string();
    let mut got = Vec::new();
    for s in ["s1", "s2", "s3"] {
        let r = t
            .app
            .send(&id, s, data(), Trigger::Live)
            .await
            .expect("send");
        assert!(r.success, "{r:?}");
        got.push(r.submission_id);
    }
    assert_eq!(
        got,
        [
            Some("first".to_string()),
            Some("only-sub".to_string()),
            None
        ]
    );
}

// ---- idempotency and manual retry ----

#[tokio::test]
async fn idempotency_key_is_the_handoff_id_and_stays_the_same_on_a_manual_retry() {
    let sink = Sink::start().await;
    sink.then([Reply::status(500)]);
    let t = TestApp::new().await;
    let first = send_once(&t, post(&sink, json!({})), data()).await;
    assert_failed(&first, ErrorCategory::Server, true);
    assert_eq!(
        first.handoff_status,
        Status::Failed,
        "maxAttempts 1: no automatic retry"
    );
    assert_eq!(first.attempt_number, 1);

    let second = t.app.retry_attempt(first.attempt_id).await.expect("retry");
    assert!(second.success, "{second:?}");
    assert_eq!(second.handoff_id, first.handoff_id);
    assert_eq!(second.attempt_number, 2);
    assert_ne!(second.attempt_id, first.attempt_id);

    let received = sink.received();
    assert_eq!(received.len(), 2);
    let key = first.handoff_id.to_string();
    for r in &received {
        assert_eq!(r.header("idempotency-key"), Some(key.as_str()));
    }
    let (detail, chain) = t.app.attempt(second.attempt_id).await.expect("attempt");
    assert_eq!(detail.previous_attempt_id, Some(first.attempt_id));
    assert_eq!(detail.summary.trigger, Trigger::Retry);
    assert_eq!(detail.handoff.status, Status::Succeeded);
    let chain: Vec<_> = chain.iter().map(|a| a.attempt_id).collect();
    assert_eq!(chain, [first.attempt_id, second.attempt_id]);
}

// ---- response excerpt ----

#[tokio::test]
async fn response_excerpt_is_kept_and_capped() {
    let sink = Sink::start().await;
    let padding = "x".repeat(120 * 1024);
    sink.always(Reply::json(201, json!({"id": "big-1", "padding": padding})));
    let t = TestApp::new().await;
    let r = send_once(&t, post(&sink, json!({})), data()).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.submission_id.as_deref(), Some("big-1"));
    let (detail, _) = t.app.attempt(r.attempt_id).await.expect("attempt");
    let excerpt = detail.response_excerpt.expect("an excerpt is kept");
    assert!(
        excerpt.starts_with(r#"{"id":"big-1""#),
        "{}",
        &excerpt[..40]
    );
    assert!(excerpt.contains("truncated"), "no truncation marker");
    assert!(
        excerpt.len() <= 16 * 1024 + 32,
        "excerpt is {} bytes",
        excerpt.len()
    );
    assert!(
        excerpt.len() >= 16 * 1024,
        "excerpt is {} bytes",
        excerpt.len()
    );
}

// ---- secrets echoed back by the target ----

#[tokio::test]
async fn secrets_echoed_in_an_error_response_are_not_recorded() {
    let sink = Sink::start().await;
    let token = "tok-echoed-e11a";
    sink.always(Reply::json(
        401,
        json!({"message": format!("token {token} is not valid")}),
    ));
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"authentication": {"type": "bearer", "credentials": {"token": token}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert_failed(&r, ErrorCategory::Authentication, false);
    assert!(r.message.contains("is not valid"), "{}", r.message);
    assert_not_recorded(&t, &r, token).await;
}

#[tokio::test]
async fn credentials_echoed_by_an_echo_service_are_not_recorded() {
    let sink = Sink::start().await;
    let (password, key) = ("pw-echo-5c", "key+echo/7d");
    // base64("clinic:pw-echo-5c")
    let basic = "Y2xpbmljOnB3LWVjaG8tNWM=";
    let t = TestApp::new().await;
    sink.always(Reply::json(
        200,
        json!({"id": "e-1", "headers": {"authorization": format!("Basic {basic}")}}),
    ));
    let api = post(
        &sink,
        json!({"authentication": {"type": "basic", "credentials": {"username": "clinic", "password": password}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    assert_not_recorded(&t, &r, basic).await;

    // An echoed URL carries the api key percent-encoded.
    let sink = Sink::start().await;
    sink.always(Reply::json(
        200,
        json!({"id": "e-2", "url": format!("{}/patients?api_key=key%2Becho%2F7d", sink.url), "args": {"api_key": key}}),
    ));
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"authentication": {"type": "api-key", "credentials": {"key": key, "query": "api_key"}}}),
    );
    let r = send_once(&t, api, data()).await;
    assert!(r.success, "{r:?}");
    assert_eq!(
        query_pairs(&only(&sink)).get("api_key").map(String::as_str),
        Some(key)
    );
    assert_not_recorded(&t, &r, key).await;
    assert_not_recorded(&t, &r, "key%2Becho%2F7d").await;
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_and_data_stay_put() {
    let elsewhere = Sink::start().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(307).header("Location", &format!("{}/stolen", elsewhere.url)));
    let t = TestApp::new().await;
    t.add(serde_json::json!({
        "name": "emr", "kind": "api",
        "api": {"endpoint": format!("{}/p", sink.url), "method": "POST",
                "authentication": {"type": "api-key", "credentials": {"key": "k-123"}},
                "payloadStructure": {"n": "{{n}}"}},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    let r = t
        .app
        .send("emr", "s", serde_json::json!({"n": "Ann"}), Trigger::Live)
        .await
        .unwrap();
    assert!(!r.success);
    assert_eq!(r.status_code, Some(307));
    assert_eq!(r.category, Some(ErrorCategory::Configuration));
    assert_eq!(
        elsewhere.count(),
        0,
        "the key and the data did not follow the redirect"
    );
}

#[tokio::test]
async fn collected_values_are_masked_in_what_an_attempt_records() {
    let sink = Sink::start().await;
    // A target that echoes the data back, in the body and in its error.
    sink.always(Reply::json(
        409,
        json!({"message": "patient Ann Lee (ann@example.com) exists", "echo": {"patient_name": "Ann Lee"}}),
    ));
    let t = TestApp::new().await;
    let r = send_once(&t, post(&sink, json!({})), data()).await;
    assert!(!r.success);
    // What went out was the real data.
    assert_eq!(sink.received()[0].json()["patient_name"], "Ann Lee");
    let (text, message) = recorded(&t, &r).await;
    for raw in ["Ann Lee", "ann@example.com"] {
        assert!(!text.contains(raw), "{raw} recorded: {text}");
        assert!(!message.contains(raw), "{raw} in the message: {message}");
        assert!(!r.message.contains(raw), "{raw} in the result");
    }
    assert!(
        text.contains("A*** L***") && text.contains("a***@example.com"),
        "{text}"
    );
    // The handoff keeps the raw data, so a retry resends it unchanged.
    sink.always(Reply::json(201, json!({"id": "ok"})));
    let again = t.app.retry_attempt(r.attempt_id).await.unwrap();
    assert!(again.success, "{again:?}");
    assert_eq!(sink.received()[1].json()["patient_name"], "Ann Lee");
}

#[tokio::test]
async fn credential_headers_are_kept_in_the_secrets_backend_not_the_config() {
    let sink = Sink::start().await;
    let secret = "hdr-secret-7c1e9";
    sink.always(Reply::json(
        200,
        json!({"id": "h-1", "echo": format!("client secret {secret}")}),
    ));
    let t = TestApp::new().await;
    let api = post(
        &sink,
        json!({"headers": {"X-Client-Secret": secret, "X-Version": "2"}}),
    );
    let r = send_once(&t, api.clone(), data()).await;
    assert!(r.success, "{r:?}");
    assert_eq!(sink.received()[0].header("x-client-secret"), Some(secret));
    assert_eq!(sink.received()[0].header("x-version"), Some("2"));
    // The stored config holds the mask; the value is nowhere in the data dir or the record.
    let saved = &t.app.integrations(None).await.unwrap()[0];
    let shown = serde_json::to_string(&saved.config).unwrap();
    assert!(
        !shown.contains(secret) && shown.contains("••••••••"),
        "{shown}"
    );
    assert_not_recorded(&t, &r, secret).await;
    for entry in std::fs::read_dir(t.dir.path()).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds it",
            entry.path().display()
        );
    }
    // An update that gives the mask keeps the value; a new value replaces it.
    let mut masked = serde_json::to_value(&saved.config).unwrap();
    masked["description"] = json!("kept");
    t.app
        .update_integration(
            &saved.id.to_string(),
            serde_json::from_value(masked.clone()).unwrap(),
        )
        .await
        .unwrap();
    t.app
        .send(&saved.id.to_string(), "s-2", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(sink.received()[1].header("x-client-secret"), Some(secret));
    t.app
        .set_integration_secret(
            &saved.id.to_string(),
            handoff_console::integrations::SecretSlot::ApiHeaders,
            json!({"X-Client-Secret": "hdr-rotated-2"}).to_string(),
        )
        .await
        .unwrap();
    t.app
        .send(&saved.id.to_string(), "s-3", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(
        sink.received()[2].header("x-client-secret"),
        Some("hdr-rotated-2")
    );
    // A new credential header given only as the mask has no value to keep.
    masked["api"]["headers"]["X-Api-Token"] = json!("••••••••");
    let e = t
        .app
        .update_integration(
            &saved.id.to_string(),
            serde_json::from_value(masked).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("api.headers.X-Api-Token"), "{e}");
    // Renamed to a name that is not a credential's, the mask would be sent as the value.
    let mut renamed = serde_json::to_value(&saved.config).unwrap();
    let headers = renamed["api"]["headers"].as_object_mut().unwrap();
    let mask = headers.remove("X-Client-Secret").unwrap();
    headers.insert("X-Client-Id".into(), mask);
    let e = t
        .app
        .update_integration(
            &saved.id.to_string(),
            serde_json::from_value(renamed).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("api.headers.X-Client-Id"), "{e}");
    // set-secret takes only usable values for exactly the credential headers.
    for bad in [
        json!({"X-Client-Secret": ""}),
        json!({"X-Client-Secret": "a\nb"}),
        json!({"X-Other": "v"}),
        json!("not an object"),
    ] {
        let e = t
            .app
            .set_integration_secret(
                &saved.id.to_string(),
                handoff_console::integrations::SecretSlot::ApiHeaders,
                bad.to_string(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("api.headers"), "{bad}: {e}");
    }
}

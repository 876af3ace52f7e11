//! The console's two OpenAPI documents as `serve` answers them (`/api/v1/openapi.json`, with the
//! token; `/intake/v1/openapi.json` on the intake listener, without credentials), checked by a
//! real validator: `openapi-spec-validator`, pinned in tests/openapi/requirements.txt and
//! installed by `scripts/deps.sh test` (the test fails, never skips, without it). Both pass, and
//! a broken document fails. Every operation of the list and every intake route is in them, and
//! answers the console really gives (the intake refusals included) match the schemas the
//! documents declare for them.

mod common;

use common::{Served, Sink};
use handoff_console::http::intake_routes::{ROUTES, Refusal};
use handoff_console::intake::MAX_INTAKE_BODY;
use handoff_console::service::operations::{all, camel_case};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The venv `scripts/deps.sh test` makes (or `HANDOFF_PY_VENV`).
fn venv() -> PathBuf {
    match std::env::var_os("HANDOFF_PY_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(&std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/handoff-console/py"),
    }
}

/// A program of the venv; the test fails, saying how to install it, when it is missing.
fn venv_program(name: &str) -> PathBuf {
    let program = venv().join("bin").join(name);
    assert!(
        program.exists(),
        "{} is missing: run `scripts/deps.sh test` to install the pinned OpenAPI validator \
         (tests/openapi/requirements.txt) there, or set HANDOFF_PY_VENV to a venv that has it",
        program.display()
    );
    program
}

/// The document in a temp file (the validator reads files).
fn written(document: &Value) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".json")
        .tempfile()
        .expect("temp file");
    file.write_all(document.to_string().as_bytes())
        .expect("write the document");
    file
}

/// Runs openapi-spec-validator on `document`: whether it passed, and what it said.
fn validate(document: &Value) -> (bool, String) {
    let file = written(document);
    let output = Command::new(venv_program("openapi-spec-validator"))
        .arg(file.path())
        .output()
        .expect("the validator runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Its error names the whole document when a reference is dangling: keep the report short.
    let said: String = said.chars().take(2000).collect();
    (output.status.success(), said)
}

/// A console serving both listeners, and both documents as it answers them.
async fn documents() -> (Served, String, Value, Value) {
    let s = Served::start().await;
    let intake = s.intake().await;
    let (status, admin) = s.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{admin}");
    let response = reqwest::get(format!("{intake}/openapi.json"))
        .await
        .expect("the intake listener answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the intake document's type"
    );
    let intake_doc: Value = response.json().await.expect("JSON");
    (s, intake, admin, intake_doc)
}

#[tokio::test]
async fn both_documents_pass_a_real_openapi_validator() {
    let (_s, _, admin, intake) = documents().await;
    for (name, document) in [("admin", &admin), ("intake", &intake)] {
        assert_eq!(document["openapi"], "3.1.0", "{name}");
        let (ok, said) = validate(document);
        assert!(ok, "the {name} document fails the validator:\n{said}");
    }
}

#[tokio::test]
async fn the_validator_fails_a_broken_document() {
    let (_s, _, admin, intake) = documents().await;
    // A schema that is referenced but gone, a parameter in no place OpenAPI knows, a response
    // without its description: each alone must fail.
    let mut dangling = admin.clone();
    let removed = dangling["components"]["schemas"]
        .as_object_mut()
        .expect("schemas")
        .remove("Integration");
    assert!(removed.is_some(), "the admin document has Integration");
    let mut misplaced = admin.clone();
    misplaced["paths"]["/inbox"]["get"]["parameters"][0]["in"] = json!("body");
    let mut undescribed = intake.clone();
    undescribed["paths"]["/intake/v1/{source}"]["post"]["responses"]["202"]
        .as_object_mut()
        .expect("the 202")
        .remove("description");
    for (what, broken) in [
        ("a dangling reference", dangling),
        ("a parameter in the body", misplaced),
        ("a response without a description", undescribed),
    ] {
        let (ok, said) = validate(&broken);
        assert!(!ok, "the validator passed {what}:\n{said}");
    }
}

#[tokio::test]
async fn every_operation_and_every_intake_route_is_described() {
    let (s, intake, admin, intake_doc) = documents().await;
    let ops = all();
    assert!(ops.len() >= 40, "{}", ops.len());
    for op in ops {
        let described = &admin["paths"][op.path][op.method.to_ascii_lowercase()];
        if op.desktop_only {
            assert!(described.is_null(), "{} is the window's alone", op.name);
            continue;
        }
        assert_eq!(
            described["operationId"],
            camel_case(op.name),
            "{} {} ({}) is missing from /api/v1/openapi.json",
            op.method,
            op.path,
            op.name
        );
        let status = if op.created { "201" } else { "200" };
        assert!(
            described["responses"][status]["content"]["application/json"]["schema"].is_object(),
            "{}: its {status} answer",
            op.name
        );
        for param in op.params {
            let declared = described["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == *param && p["in"] == "path");
            assert!(declared, "{}: path parameter {param}", op.name);
        }
    }
    let origin = intake.trim_end_matches("/intake/v1");
    for route in ROUTES {
        let method = route.method.as_str().to_ascii_lowercase();
        let described = &intake_doc["paths"][route.path][&method];
        assert_eq!(
            described["operationId"], route.name,
            "{} {} is missing from /intake/v1/openapi.json",
            route.method, route.path
        );
        // And the listener serves it: a source that does not exist is a 401, not a 404.
        let url = format!("{origin}{}", route.path.replace("{source}", "nosuch"));
        let answer = s
            .http
            .request(route.method.clone(), &url)
            .body("{}")
            .send()
            .await
            .expect("the listener answers");
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{url}");
    }
    let described: usize = intake_doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|methods| methods.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(described, ROUTES.len(), "only the table's routes");
}

#[tokio::test]
async fn the_admin_document_needs_the_token_and_the_intake_one_no_credentials() {
    let (s, intake, _, _) = documents().await;
    let anonymous = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // The console's token means nothing on the intake listener, its document included.
    let with_token = s
        .http
        .get(format!("{intake}/openapi.json"))
        .bearer_auth(&s.token)
        .send()
        .await
        .expect("answers");
    assert_eq!(with_token.status(), StatusCode::OK);
    let text = with_token.text().await.expect("text");
    assert!(!text.contains(&s.token), "the document holds no credential");
}

/// One answer the console gave, and where its document declares it.
struct Seen {
    label: String,
    /// The path as the document writes it, and the method in lower case.
    path: &'static str,
    method: &'static str,
    status: u16,
    body: Value,
}

/// The JSON pointer of the schema `document` declares for an answer (its own status, else
/// its range `4XX`/`5XX`), through a `$ref` to a shared response; `None` when none is declared.
fn answer_schema(document: &Value, seen: &Seen) -> Option<String> {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let responses = format!("/paths/{}/{}/responses", escape(seen.path), seen.method);
    let declared = document.pointer(&responses)?;
    let key = [seen.status.to_string(), format!("{}XX", seen.status / 100)]
        .into_iter()
        .find(|k| declared.get(k).is_some())?;
    let mut pointer = format!("{responses}/{key}");
    if let Some(r) = document
        .pointer(&pointer)?
        .get("$ref")
        .and_then(Value::as_str)
    {
        pointer = r.strip_prefix('#')?.to_string();
    }
    let schema = format!("{pointer}/content/application~1json/schema");
    document.pointer(&schema).map(|_| schema)
}

/// What the jsonschema library finds wrong with each answer against its declared schema (one
/// process for all).
fn answer_problems(document: &Value, seen: &[Seen]) -> Vec<String> {
    let mut checks = Vec::new();
    for s in seen {
        let pointer = answer_schema(document, s).unwrap_or_else(|| {
            panic!(
                "{}: the document declares no {} answer for {} {}",
                s.label, s.status, s.method, s.path
            )
        });
        checks.push(json!({ "label": s.label, "pointer": pointer, "instance": s.body }));
    }
    let file = written(document);
    let mut child = Command::new(venv_program("python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/openapi/answers.py"
        ))
        .arg(file.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(checks).to_string().as_bytes())
        .expect("the helper reads the answers");
    let output = child.wait_with_output().expect("the helper ends");
    assert!(
        output.status.success(),
        "the answers' helper failed (run `scripts/deps.sh test`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every answer matches its declared schema.
fn check_answers(document: &Value, seen: &[Seen]) {
    let problems = answer_problems(document, seen);
    assert!(
        problems.is_empty(),
        "answers that do not match their declared schemas:\n{}",
        problems.join("\n")
    );
}

/// Posts `body` to the intake listener.
async fn post_intake(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("the listener answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn answers_match_the_schemas_the_documents_declare() {
    let (s, intake, admin, intake_doc) = documents().await;
    let sink = Sink::start().await;
    let mut seen: Vec<Seen> = Vec::new();
    let mut admin_call = |label: &str,
                          path: &'static str,
                          method: &'static str,
                          (status, body): (StatusCode, Value)| {
        seen.push(Seen {
            label: label.into(),
            path,
            method,
            status: status.as_u16(),
            body,
        });
    };

    admin_call("info", "/info", "get", s.get("/info").await);
    let config = json!({
        "name": "EMR", "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {"endpoint": format!("{}/patients", sink.url),
                "payloadStructure": {"name": "{{fullName}}"}},
        "retry": {"maxAttempts": 1}
    });
    let added = s.post("/integrations", config).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    admin_call("add integration", "/integrations", "post", added);
    admin_call(
        "integrations",
        "/integrations",
        "get",
        s.get("/integrations").await,
    );
    let sent = s
        .post(
            "/handoffs",
            json!({"integration": "EMR", "sessionId": "call-1", "data": {"fullName": "Ada Lovelace"}}),
        )
        .await;
    assert_eq!(sent.0, StatusCode::OK, "{}", sent.1);
    let attempt = sent.1["attemptId"]
        .as_str()
        .expect("an attempt")
        .to_string();
    admin_call("send", "/handoffs", "post", sent);
    admin_call("attempts", "/attempts", "get", s.get("/attempts").await);
    admin_call(
        "attempt",
        "/attempts/{id}",
        "get",
        s.get(&format!("/attempts/{attempt}")).await,
    );
    admin_call(
        "handoffs page",
        "/handoffs/page",
        "get",
        s.get("/handoffs/page").await,
    );
    admin_call("stats", "/stats", "get", s.get("/stats").await);
    admin_call(
        "deliveries",
        "/deliveries",
        "get",
        s.get("/deliveries").await,
    );
    admin_call("last health", "/health", "get", s.get("/health").await);
    let key_source = |name: &str, extra: Value| {
        let mut request = json!({"name": name, "kind": "voice",
                                 "verification": {"mode": "intakeKey"}, "integrations": ["EMR"]});
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        request
    };
    let vapi = s.post("/sources", key_source("vapi", json!({}))).await;
    assert_eq!(vapi.0, StatusCode::CREATED, "{}", vapi.1);
    let key = vapi.1["secret"].as_str().expect("the key").to_string();
    admin_call("add source", "/sources", "post", vapi);
    let slow = s
        .post("/sources", key_source("slow", json!({"ratePerMinute": 1})))
        .await;
    let slow_key = slow.1["secret"].as_str().expect("the key").to_string();
    let off = s
        .post("/sources", key_source("off", json!({"enabled": false})))
        .await;
    let off_key = off.1["secret"].as_str().expect("the key").to_string();
    let hmac = s
        .post(
            "/sources",
            json!({"name": "dentrix", "kind": "ehr",
                   "verification": {"mode": "hmacHex", "header": "X-Signature", "prefix": "sha256="}}),
        )
        .await;
    admin_call("add hmac source", "/sources", "post", hmac);
    admin_call("sources", "/sources", "get", s.get("/sources").await);
    admin_call(
        "source",
        "/sources/{id}",
        "get",
        s.get("/sources/vapi").await,
    );
    admin_call(
        "a refused source",
        "/sources",
        "post",
        s.post("/sources", json!({"name": "Not A Name"})).await,
    );
    admin_call(
        "no such source",
        "/sources/{id}",
        "get",
        s.get("/sources/nosuch").await,
    );
    let anonymous = s
        .http
        .get(format!("{}/info", s.base))
        .send()
        .await
        .expect("answers");
    let status = anonymous.status();
    admin_call(
        "no token",
        "/info",
        "get",
        (status, anonymous.json().await.expect("JSON")),
    );

    // The intake listener: an accepted message and each refusal it can provoke here (503 needs
    // a broken store), each checked against the route table and the document.
    let webhook = "/intake/v1/{source}";
    let handoffs = "/intake/v1/{source}/handoffs";
    let bearer = |k: &str| format!("Bearer {k}");
    let (vapi_auth, slow_auth, off_auth) = (bearer(&key), bearer(&slow_key), bearer(&off_key));
    let handoff =
        json!({"integration": "EMR", "sessionId": "call-2", "data": {"fullName": "Grace Hopper"}});
    let mut intake_seen: Vec<(Seen, Option<Refusal>, reqwest::header::HeaderMap)> = Vec::new();
    let mut intake_call =
        |label: &str,
         path: &'static str,
         refusal: Option<Refusal>,
         (status, headers, body): (u16, reqwest::header::HeaderMap, Value)| {
            intake_seen.push((
                Seen {
                    label: label.into(),
                    path,
                    method: "post",
                    status,
                    body,
                },
                refusal,
                headers,
            ));
        };
    let accepted = post_intake(
        &format!("{intake}/vapi/handoffs"),
        &[("authorization", &vapi_auth), ("idempotency-key", "call-2")],
        handoff.to_string().into_bytes(),
    )
    .await;
    assert_eq!(accepted.0, 202, "{}", accepted.2);
    let inbox_id = accepted.2["id"].as_str().expect("an inbox id").to_string();
    intake_call("accepted", handoffs, None, accepted);
    let repeated = post_intake(
        &format!("{intake}/vapi/handoffs"),
        &[("authorization", &vapi_auth), ("idempotency-key", "call-2")],
        handoff.to_string().into_bytes(),
    )
    .await;
    assert_eq!(repeated.1["idempotent-replayed"], "true");
    intake_call("repeated", handoffs, None, repeated);
    intake_call(
        "unknown source",
        webhook,
        Some(Refusal::Unauthorized),
        post_intake(&format!("{intake}/nosuch"), &[], b"{}".to_vec()).await,
    );
    intake_call(
        "disabled source",
        webhook,
        Some(Refusal::Forbidden),
        post_intake(
            &format!("{intake}/off"),
            &[("authorization", &off_auth)],
            b"{}".to_vec(),
        )
        .await,
    );
    intake_call(
        "oversized",
        webhook,
        Some(Refusal::TooLarge),
        post_intake(
            &format!("{intake}/vapi"),
            &[("authorization", &vapi_auth)],
            vec![b' '; MAX_INTAKE_BODY + 1],
        )
        .await,
    );
    intake_call(
        "not a handoff",
        handoffs,
        Some(Refusal::Invalid),
        post_intake(
            &format!("{intake}/vapi/handoffs"),
            &[("authorization", &vapi_auth)],
            br#"{"integration": "EMR"}"#.to_vec(),
        )
        .await,
    );
    let first = post_intake(
        &format!("{intake}/slow"),
        &[("authorization", &slow_auth)],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(first.0, 202, "{}", first.2);
    intake_call("a webhook", webhook, None, first);
    intake_call(
        "over the rate",
        webhook,
        Some(Refusal::RateLimited),
        post_intake(
            &format!("{intake}/slow"),
            &[("authorization", &slow_auth)],
            b"{}".to_vec(),
        )
        .await,
    );

    for (seen, refusal, headers) in &intake_seen {
        let route = ROUTES
            .iter()
            .find(|r| r.path == seen.path)
            .expect("a route of the table");
        let declared =
            &intake_doc["paths"][seen.path]["post"]["responses"][seen.status.to_string()];
        assert!(
            !declared.is_null(),
            "{}: {} is not declared",
            seen.label,
            seen.status
        );
        if let Some(refusal) = refusal {
            assert_eq!(
                seen.status,
                refusal.status(),
                "{}: {}",
                seen.label,
                seen.body
            );
            assert_eq!(seen.body["error"]["kind"], refusal.kind(), "{}", seen.label);
            assert!(
                route.refusals.contains(refusal),
                "{}: {refusal:?} not in the table",
                seen.label
            );
            let response = declared["$ref"]
                .as_str()
                .and_then(|r| intake_doc.pointer(r.strip_prefix('#')?))
                .expect("a shared response");
            for name in response["headers"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(n, _)| n)
            {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{}: {name}",
                    seen.label
                );
            }
        }
    }
    let (intake_answers, _): (Vec<Seen>, Vec<_>) = intake_seen
        .into_iter()
        .map(|(seen, refusal, _)| (seen, refusal))
        .unzip();
    check_answers(&intake_doc, &intake_answers);
    // The check can fail: an answer that is not the declared shape is caught.
    let doctored = Seen {
        label: "doctored".into(),
        path: handoffs,
        method: "post",
        status: 202,
        body: json!({"id": 7, "status": "lost"}),
    };
    let problems = answer_problems(&intake_doc, &[doctored]);
    assert!(problems.len() >= 2, "{problems:?}");

    admin_call("inbox", "/inbox", "get", s.get("/inbox").await);
    admin_call(
        "inbox item",
        "/inbox/{id}",
        "get",
        s.get(&format!("/inbox/{inbox_id}")).await,
    );
    check_answers(&admin, &seen);
}

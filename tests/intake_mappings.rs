//! Mappings and the inbox over real HTTP: every preset (Dentrix-, OpenDental-, Eaglesoft-style
//! events, a voice platform's end-of-call report) saved as a mapping, tried on its sample and
//! then posted signed to the intake listener, ending delivered to a real loopback API (a
//! `manual` one only once released); a message no mapping takes is ignored and reprocessed
//! once one does; one that cannot be mapped fails naming the field; bodies are shown masked and
//! revealed only with an audit entry; a mapping is refused naming each problem.

mod common;

use common::{Served, Sink};
use handoff_console::intake::presets::presets;
use handoff_console::intake::verify::Verification;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// The demo workspace's fields, on an API integration posting to `sink`.
fn clinic_api(name: &str, sink: &Sink) -> Value {
    json!({
        "name": name, "kind": "api",
        "fields": [
            {"name": "fullName", "type": "name", "required": true},
            {"name": "email", "type": "email"},
            {"name": "phoneNumber", "type": "phone"},
            {"name": "appointmentDate", "type": "date"},
            {"name": "additionalNotes", "type": "text"}
        ],
        "api": {"endpoint": format!("{}/patients", sink.url),
                "payloadStructure": {"name": "{{fullName}}", "phone": "{{phoneNumber}}",
                                     "email": "{{email}}", "date": "{{appointmentDate}}",
                                     "notes": "{{additionalNotes}}"}},
        "retry": {"maxAttempts": 1}
    })
}

struct Setup {
    s: Served,
    intake: String,
    sink: Sink,
}

async fn setup() -> Setup {
    let s = Served::start().await;
    let intake = s.intake().await;
    let sink = Sink::start().await;
    let (status, body) = s
        .call(
            Method::POST,
            "/integrations",
            Some(clinic_api("Clinic EMR", &sink)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Setup { s, intake, sink }
}

impl Setup {
    /// Adds a source; answers its secret.
    async fn source(&self, name: &str, kind: &str, verification: &Value) -> String {
        let (status, body) = self
            .s
            .call(
                Method::POST,
                "/sources",
                Some(
                    json!({"name": name, "kind": kind, "verification": verification,
                            "integrations": ["Clinic EMR"]}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["secret"].as_str().unwrap().to_string()
    }

    /// Posts `body` signed as `verification` says, with `extra` headers; answers the 202's
    /// inbox id.
    async fn post(
        &self,
        source: &str,
        verification: &Verification,
        secret: &str,
        message_id: &str,
        extra: &serde_json::Map<String, Value>,
        body: &Value,
    ) -> String {
        let answer = self
            .post_answer(source, verification, secret, message_id, extra, body)
            .await;
        answer["id"].as_str().unwrap().to_string()
    }

    /// As [`Setup::post`], answering the whole 202.
    async fn post_answer(
        &self,
        source: &str,
        verification: &Verification,
        secret: &str,
        message_id: &str,
        extra: &serde_json::Map<String, Value>,
        body: &Value,
    ) -> Value {
        let bytes = serde_json::to_vec(body).unwrap();
        let headers = verification
            .sign(secret, message_id, chrono::Utc::now().timestamp(), &bytes)
            .unwrap();
        let mut req = reqwest::Client::new()
            .post(format!("{}/{source}", self.intake))
            .body(bytes);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        for (k, v) in extra {
            req = req.header(k.as_str(), v.as_str().unwrap());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        answer
    }

    /// Waits until the message leaves `received` (and `mapped` when `past_mapped`).
    async fn settled(&self, id: &str, past_mapped: bool) -> Value {
        let mut view = Value::Null;
        for _ in 0..200 {
            view = self.s.get(&format!("/inbox/{id}")).await.1;
            let status = view["item"]["status"].as_str().unwrap_or_default();
            if status != "received" && !(past_mapped && status == "mapped") {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("message {id} did not settle: {view}");
    }
}

#[tokio::test]
async fn every_preset_maps_its_sample_and_its_signed_event_ends_delivered() {
    let t = setup().await;
    let mut delivered = 0;
    for system in presets() {
        let secret = t
            .source(
                &system.system,
                system.kind.as_str(),
                &serde_json::to_value(&system.verification).unwrap(),
            )
            .await;
        for preset in &system.events {
            let mut mapping = serde_json::to_value(&preset.mapping).unwrap();
            mapping["source"] = json!(system.system);
            mapping["integration"] = json!("Clinic EMR");
            let (status, saved) = t.s.call(Method::POST, "/mappings", Some(mapping)).await;
            assert_eq!(status, StatusCode::CREATED, "{}: {saved}", preset.id);

            let (status, preview) = t
                .s
                .call(
                    Method::POST,
                    "/mappings/try",
                    Some(json!({"source": system.system, "body": preset.sample, "headers": preset.headers})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{preview}");
            assert_eq!(preview["matched"], true, "{}: {preview}", preset.id);
            assert_eq!(
                preview["mapping"],
                preset.mapping.name.as_str(),
                "{}: another mapping took it",
                preset.id
            );
            assert_eq!(preview["problems"], json!([]), "{}: {preview}", preset.id);
            assert!(
                preview["data"]["fullName"]
                    .as_str()
                    .is_some_and(|n| n.contains(' ')),
                "{}: {preview}",
                preset.id
            );

            let id = t
                .post(
                    &system.system,
                    &system.verification,
                    &secret,
                    &format!("{}-1", preset.id),
                    &preset.headers,
                    &preset.sample,
                )
                .await;
            let manual = preset.mapping.sync
                == Some(handoff_console::intake::mappings::SyncFrequency::Manual);
            // A realtime one is `mapped` only while its delivery is under way.
            let mut view = t.settled(&id, !manual).await;
            if manual {
                assert_eq!(view["item"]["status"], "mapped", "{}: {view}", preset.id);
                assert!(
                    view["item"]["handoffId"].is_null(),
                    "held, yet a handoff: {view}"
                );
                let (status, released) =
                    t.s.call(Method::POST, &format!("/inbox/{id}/release"), None)
                        .await;
                assert_eq!(status, StatusCode::OK, "{released}");
                view = t.settled(&id, true).await;
            }
            assert_eq!(view["item"]["status"], "delivered", "{}: {view}", preset.id);
            assert_eq!(view["item"]["integrationName"], "Clinic EMR");
            assert_eq!(view["item"]["mappingName"], preset.mapping.name.as_str());
            delivered += 1;
        }
    }
    assert_eq!(delivered, 13);
    let received = t.sink.received();
    assert_eq!(received.len(), 13, "each event delivered once");
    let names: Vec<String> = received
        .iter()
        .map(|r| r.json()["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Ana Lima".to_string()), "{names:?}");
    assert!(names.contains(&"Dana Reyes".to_string()), "{names:?}");
    // Every delivery carries its handoff's Idempotency-Key.
    assert!(
        received
            .iter()
            .all(|r| r.header("idempotency-key").is_some())
    );
}

#[tokio::test]
async fn a_message_no_mapping_takes_is_ignored_and_reprocessing_maps_it_once_one_does() {
    let t = setup().await;
    let v = Verification::StandardWebhooks;
    let secret = t
        .source("bridge", "ehr", &json!({"mode": "standardWebhooks"}))
        .await;
    let body =
        json!({"type": "patient.created", "patient": {"name": "Eva Souza", "phone": "5551234567"}});
    let id = t
        .post("bridge", &v, &secret, "e1", &Default::default(), &body)
        .await;
    let view = t.settled(&id, false).await;
    assert_eq!(view["item"]["status"], "ignored", "{view}");
    assert_eq!(t.sink.count(), 0);

    let (status, saved) = t
        .s
        .call(
            Method::POST,
            "/mappings",
            Some(json!({
                "source": "bridge", "name": "new patients", "integration": "Clinic EMR",
                "event": {"pointer": "/type", "equals": "patient.created"},
                "fields": [
                    {"field": "fullName", "value": {"pointer": "/patient/name"}},
                    {"field": "phoneNumber", "value": {"pointer": "/patient/phone"}, "transforms": [{"type": "phone"}]}
                ]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (status, item) =
        t.s.call(Method::POST, &format!("/inbox/{id}/reprocess"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let view = t.settled(&id, true).await;
    assert_eq!(view["item"]["status"], "delivered", "{view}");
    assert_eq!(t.sink.received()[0].json()["phone"], "+15551234567");
    // Delivered: reprocessing again would make a second handoff, so it is refused.
    let (status, refused) =
        t.s.call(Method::POST, &format!("/inbox/{id}/reprocess"), None)
            .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (_, page) = t.s.get("/inbox?status=delivered").await;
    assert_eq!(page["total"], 1);
    let trail = t.s.app.audit_log(&Default::default()).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action.as_str() == "inbox.reprocessed")
    );
}

#[tokio::test]
async fn a_webhook_a_kept_realtime_mapping_takes_is_accepted_with_its_handoff_begun() {
    // The listener keeps a source's mappings once a message has needed them; a webhook a
    // realtime one takes is then mapped before its 202, and the commit that accepts it also
    // begins its handoff: the 202 says `mapped`, and the inbox names the handoff at once (on
    // the SQLite store).
    let t = setup().await;
    let v = Verification::StandardWebhooks;
    let secret = t
        .source("bridge", "ehr", &json!({"mode": "standardWebhooks"}))
        .await;
    let (status, saved) =
        t.s.call(
            Method::POST,
            "/mappings",
            Some(json!({
                "source": "bridge", "name": "everything", "integration": "Clinic EMR",
                "fields": [{"field": "fullName", "value": {"pointer": "/patient/name"}}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let body = json!({"patient": {"name": "Eva Souza"}});
    let no_headers = serde_json::Map::new();
    let post = |key: &'static str| t.post_answer("bridge", &v, &secret, key, &no_headers, &body);

    // The first message reads the mappings after its 202.
    let first = post("k1").await;
    assert_eq!(first["status"], "received", "{first}");
    t.settled(first["id"].as_str().unwrap(), true).await;

    let second = post("k2").await;
    // The shared store does not combine the two commits: there the message is mapped after
    // its 202, as the first one was.
    if !common::matrix::on_postgres() {
        assert_eq!(second["status"], "mapped", "{second}");
        let (_, view) =
            t.s.get(&format!("/inbox/{}", second["id"].as_str().unwrap()))
                .await;
        assert_ne!(view["item"]["status"], "received", "{view}");
        assert_eq!(view["item"]["handoffId"], second["handoffId"], "{view}");
        assert_eq!(view["item"]["mappingName"], "everything", "{view}");
    }
    let view = t.settled(second["id"].as_str().unwrap(), true).await;
    assert_eq!(view["item"]["status"], "delivered", "{view}");

    // A repeat is answered with the first answer and delivers nothing more.
    let again = post("k2").await;
    assert_eq!(again["id"], second["id"], "{again}");
    assert_eq!(again["handoffId"], second["handoffId"], "{again}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(t.sink.count(), 2);
}

#[tokio::test]
async fn a_changed_mapping_or_integration_takes_the_very_next_message() {
    // The listener keeps a source's mappings and their integrations between messages; a change
    // must still hold for the next message, with no wait.
    let t = setup().await;
    let v = Verification::StandardWebhooks;
    let secret = t
        .source("bridge", "ehr", &json!({"mode": "standardWebhooks"}))
        .await;
    let mapping = |notes: &str| {
        json!({
            "source": "bridge", "name": "everything", "integration": "Clinic EMR",
            "fields": [
                {"field": "fullName", "value": {"pointer": "/patient/name"}},
                {"field": "additionalNotes", "value": {"constant": notes}}
            ]
        })
    };
    let (status, saved) =
        t.s.call(Method::POST, "/mappings", Some(mapping("first")))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let body = json!({"patient": {"name": "Eva Souza"}});
    let delivered = |n: usize, key: &'static str| {
        let sink = &t.sink;
        async move {
            for _ in 0..200 {
                if sink.count() >= n {
                    return sink.received()[n - 1].json()[key].clone();
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("delivery {n} did not arrive");
        }
    };

    t.post("bridge", &v, &secret, "c1", &Default::default(), &body)
        .await;
    assert_eq!(delivered(1, "notes").await, "first");

    let id = saved["id"].as_str().unwrap();
    let (status, changed) =
        t.s.call(
            Method::PUT,
            &format!("/mappings/{id}"),
            Some(mapping("second")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    t.post("bridge", &v, &secret, "c2", &Default::default(), &body)
        .await;
    assert_eq!(delivered(2, "notes").await, "second");

    let mut config = clinic_api("Clinic EMR", &t.sink);
    config["api"]["payloadStructure"]["version"] = json!("2");
    let (status, changed) =
        t.s.call(Method::PUT, "/integrations/Clinic%20EMR", Some(config))
            .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    t.post("bridge", &v, &secret, "c3", &Default::default(), &body)
        .await;
    assert_eq!(delivered(3, "version").await, "2");

    let (status, removed) =
        t.s.call(Method::DELETE, &format!("/mappings/{id}"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let ignored = t
        .post("bridge", &v, &secret, "c4", &Default::default(), &body)
        .await;
    let view = t.settled(&ignored, false).await;
    assert_eq!(view["item"]["status"], "ignored", "{view}");
    assert_eq!(t.sink.count(), 3);
}

#[tokio::test]
async fn a_message_that_cannot_be_mapped_fails_naming_the_field_and_its_body_is_shown_masked() {
    let t = setup().await;
    let v = Verification::IntakeKey;
    let key = t
        .source("vendor", "other", &json!({"mode": "intakeKey"}))
        .await;
    let (status, saved) = t
        .s
        .call(
            Method::POST,
            "/mappings",
            Some(json!({
                "source": "vendor", "name": "all", "integration": "Clinic EMR",
                "fields": [
                    {"field": "fullName", "value": {"pointer": "/who"}},
                    {"field": "email", "value": {"pointer": "/contact/email"}},
                    {"field": "appointmentDate", "value": {"pointer": "/when"}, "transforms": [{"type": "date", "from": "%m/%d/%Y"}]}
                ]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");

    // A date that does not read as the mapping says: failed, naming the field only.
    let body = json!({"who": "Rui Alves", "contact": {"email": "rui@example.com"}, "when": "2026-13-45", "ssn": "123-45-6789"});
    let id = t
        .post("vendor", &v, &key, "f1", &Default::default(), &body)
        .await;
    let view = t.settled(&id, false).await;
    assert_eq!(view["item"]["status"], "failed", "{view}");
    let error = view["item"]["error"].as_str().unwrap();
    assert!(error.contains("appointmentDate"), "{error}");
    assert!(
        !error.contains("2026-13-45"),
        "the error shows the value: {error}"
    );
    assert_eq!(view["item"]["mappingName"], "all");

    // Masked: the mapped email by its type, everything else hidden.
    let shown = view["maskedBody"].to_string();
    for value in ["123-45-6789", "rui@example.com", "Rui Alves"] {
        assert!(!shown.contains(value), "{value} shown: {shown}");
    }
    assert_eq!(view["maskedBody"]["ssn"], "•••");
    assert!(
        view["maskedBody"]["contact"]["email"]
            .as_str()
            .unwrap()
            .contains("@example.com"),
        "{shown}"
    );

    // The reveal shows it as received, and the trail says who looked.
    let (status, revealed) =
        t.s.call(Method::POST, &format!("/inbox/{id}/reveal"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert!(revealed["body"].as_str().unwrap().contains("123-45-6789"));
    assert!(
        revealed["headers"].get("authorization").is_none(),
        "the key was kept: {revealed}"
    );
    let trail = t.s.app.audit_log(&Default::default()).await.unwrap();
    assert!(trail.iter().any(|e| e.action.as_str() == "inbox.revealed"));

    // Ignored by a person: it stays so, and cannot be released.
    let (status, ignored) =
        t.s.call(Method::POST, &format!("/inbox/{id}/ignore"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{ignored}");
    assert_eq!(ignored["status"], "ignored");
    let (status, _) =
        t.s.call(Method::POST, &format!("/inbox/{id}/release"), None)
            .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(t.sink.count(), 0);
}

#[tokio::test]
async fn a_mapping_is_refused_naming_each_problem_against_its_integrations_fields() {
    let t = setup().await;
    t.source("bridge", "ehr", &json!({"mode": "standardWebhooks"}))
        .await;
    let sink2 = Sink::start().await;
    let (status, _) =
        t.s.call(
            Method::POST,
            "/integrations",
            Some(clinic_api("Not Allowed", &sink2)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        t.s.call(
            Method::POST,
            "/mappings",
            Some(json!({
                "source": "bridge", "name": "bad", "integration": "Clinic EMR",
                "fields": [
                    {"field": "nope", "value": {"pointer": "/a"}},
                    {"field": "email", "value": {"pointer": "no-slash"}}
                ]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let details = body["error"]["details"].as_array().unwrap();
    let named = |f: &str| details.iter().any(|d| d["field"] == f);
    assert!(named("fields[0].field"), "{body}");
    assert!(named("fields[1].value.pointer"), "{body}");
    assert!(
        details
            .iter()
            .any(|d| d["field"] == "fields" && d["reason"].as_str().unwrap().contains("fullName")),
        "the unmapped required field is not named: {body}"
    );

    let (status, body) =
        t.s.call(
            Method::POST,
            "/mappings",
            Some(
                json!({"source": "bridge", "name": "x", "integration": "Not Allowed",
                        "fields": [{"field": "fullName", "value": {"pointer": "/n"}}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "integration");
    let (_, list) = t.s.get("/mappings").await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_key_rotation_reseals_inbox_messages_and_keeps_the_old_key_until_it_has() {
    let t = setup().await;
    let v = Verification::IntakeKey;
    let key = t
        .source("vendor", "other", &json!({"mode": "intakeKey"}))
        .await;
    let body = json!({"who": "Rui Alves"});
    let mut extra = serde_json::Map::new();
    extra.insert("x-event-type".into(), json!("ping"));
    let id = t.post("vendor", &v, &key, "k1", &extra, &body).await;
    t.settled(&id, false).await;
    let store = rusqlite::Connection::open(t.s.dir.path().join("handoff.db")).unwrap();
    let sealed_under = |col: &str| -> String {
        let v: String = store
            .query_row(&format!("SELECT {col} FROM intake_messages"), [], |r| {
                r.get(0)
            })
            .unwrap();
        v.split(':').nth(1).unwrap().to_string()
    };
    let before = sealed_under("body");

    let rotated =
        t.s.app
            .rotate_data_key(
                handoff_console::service::RotationOptions {
                    keep_retired: Duration::ZERO,
                    ..Default::default()
                },
                &|_, _| {},
            )
            .await
            .unwrap();
    assert_ne!(
        sealed_under("body"),
        before,
        "the body stayed under the old key"
    );
    assert_eq!(sealed_under("body"), rotated.key);
    assert_eq!(sealed_under("headers"), rotated.key);
    assert!(rotated.deleted_keys >= 1, "{rotated:?}");
    // Still readable, under the new key alone.
    let (status, revealed) =
        t.s.call(Method::POST, &format!("/inbox/{id}/reveal"), None)
            .await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert!(revealed["body"].as_str().unwrap().contains("Rui Alves"));
    assert_eq!(revealed["headers"]["x-event-type"], "ping");
}

#[tokio::test]
async fn the_seeds_database_test_and_push_routes_work_on_a_source_and_never_choose_their_target() {
    let t = setup().await;
    let (status, demo) = t.s.call(Method::POST, "/demo", None).await;
    assert_eq!(status, StatusCode::OK, "{demo}");
    let db = demo
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "database")
        .expect("the demo's database integration")
        .clone();
    let db_name = db["name"].as_str().unwrap().to_string();
    let file = db["config"]["database"]["database"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) =
        t.s.call(
            Method::POST,
            "/sources",
            Some(
                json!({"name": "legacy", "kind": "other", "verification": {"mode": "intakeKey"},
                        "integrations": [db_name, "Clinic EMR"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["secret"].as_str().unwrap().to_string();
    let origin = t.intake.trim_end_matches("/intake/v1").to_string();
    let post = |path: &str, body: Value| {
        let (url, key) = (format!("{}/intake/v1/legacy{path}", origin), key.clone());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let db_config = json!({"type": "sqlite", "database": file, "table": "patient_data",
                           "username": "ignored", "password": "never-used"});

    // The seed's test: the integration dbConfig names, checked; nothing kept.
    let (status, tested) = post(
        "/api/data-handoff/test-database",
        json!({"dbConfig": db_config, "testOnly": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["success"], true, "{tested}");
    assert_eq!(tested["integration"], db_name.as_str());

    // The seed's database handoff: delivered into the table.
    let (status, accepted) = post(
        "/api/data-handoff/database",
        json!({"dbConfig": db_config, "data": {"fullName": "Lia Moura", "email": "lia@example.com"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["id"].as_str().unwrap();
    let view = t.settled(id, true).await;
    assert_eq!(view["item"]["status"], "delivered", "{view}");
    assert_eq!(view["item"]["integrationName"], db_name.as_str());
    let rows: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT count(*) FROM patient_data", [], |r| r.get(0))
        .unwrap();
    assert!(rows >= 1);
    // The body cannot choose a table the source may not name.
    let mut elsewhere = db_config.clone();
    elsewhere["table"] = json!("users");
    let (status, refused) = post(
        "/api/data-handoff/database",
        json!({"dbConfig": elsewhere, "data": {"fullName": "X"}}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // The seed's push: the mapping it names maps `data`.
    let (status, saved) =
        t.s.call(
            Method::POST,
            "/mappings",
            Some(json!({
                "source": "legacy", "name": "incidents_to_events", "integration": "Clinic EMR",
                "event": {"pointer": "/never", "equals": "x"},
                "fields": [{"field": "fullName", "value": {"pointer": "/title"}}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (status, accepted) = post(
        "/api/integrations/push",
        json!({"system": "legacy", "mapping": "incidents_to_events",
               "data": {"id": "12345", "title": "Noa Prado"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let view = t.settled(accepted["id"].as_str().unwrap(), true).await;
    assert_eq!(view["item"]["status"], "delivered", "{view}");
    assert_eq!(view["item"]["mappingName"], "incidents_to_events");
    assert_eq!(t.sink.received()[0].json()["name"], "Noa Prado");
    for (body, field) in [
        (
            json!({"system": "other", "mapping": "incidents_to_events", "data": {}}),
            "system",
        ),
        (
            json!({"system": "legacy", "mapping": "nope", "data": {}}),
            "mapping",
        ),
    ] {
        let (status, refused) = post("/api/integrations/push", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
}

//! Collected data at rest: sealed with AES-256-GCM under the data key (kept in the secrets
//! backend), bound to its handoff, opened for retries and for an audited reveal; without the
//! key the history still opens and retries say why they wait.

mod common;

use common::{Reply, Sink, TestApp};
use handoff_console::App;
use handoff_console::attempts::{StoredData, Trigger};
use handoff_console::audit::{AuditAction, AuditFilter};
use handoff_console::secrets::{KeyringBackend, SecretsBackend};
use handoff_console::service::RotationOptions;
use handoff_console::stats::StatsFilter;
use handoff_console::store::STORE_FILE;
use serde_json::{Value, json};
use std::path::Path;

const NAME: &str = "Quincy Vandersloot";
const EMAIL: &str = "quincy.v@example.org";
const PHONE: &str = "+1 555 867 5309";

fn data() -> Value {
    json!({"fullName": NAME, "email": EMAIL, "phone": PHONE})
}

fn config(url: &str) -> Value {
    json!({
        "name": "emr", "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true},
                   {"name": "email", "type": "email"}, {"name": "phone", "type": "phone"}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST"},
        "retry": {"maxAttempts": 3, "baseDelayMs": 3_600_000}
    })
}

/// Whether any file in the data dir (the store and its WAL) holds `needle`.
fn data_dir_holds(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        e.path().is_file()
            && std::fs::read(e.path())
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
    })
}

async fn store_pool(dir: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join(STORE_FILE).display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collected_data_is_sealed_at_rest_and_a_retry_resends_it() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.then([Reply::status(503)]);
    t.add(config(&sink.url)).await;
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert!(!first.success);
    for raw in [NAME, EMAIL, PHONE] {
        assert!(
            !data_dir_holds(t.dir.path(), raw),
            "{raw} is stored in the clear"
        );
    }
    let h = t
        .app
        .store()
        .handoff(first.handoff_id)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&h.data, StoredData::Sealed(s) if s.starts_with("hc1:")));
    assert_eq!(
        h.masked,
        Some(
            json!({"fullName": "Q*** V***", "email": "q***@example.org", "phone": "***-***-5309"})
        )
    );
    // A retry opens the data and sends it as collected.
    sink.always(Reply::json(201, json!({"id": "p-1"})));
    let again = t.app.retry_attempt(first.attempt_id).await.unwrap();
    assert!(again.success, "{again:?}");
    let sent = sink.received();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].json(), sent[1].json());
    assert_eq!(sent[1].json()["fullName"], NAME);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_data_moved_to_another_handoff_is_refused() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    t.add(config(&sink.url)).await;
    let a = t
        .app
        .send("emr", "s-a", data(), Trigger::Live)
        .await
        .unwrap();
    let b = t
        .app
        .send(
            "emr",
            "s-b",
            json!({"fullName": "Other Person"}),
            Trigger::Live,
        )
        .await
        .unwrap();
    // Someone with access to the file copies a's sealed data onto b (once the store's journal
    // is moved into it).
    t.app.store().settle().await.unwrap();
    let pool = store_pool(t.dir.path()).await;
    sqlx::query(
        "UPDATE handoffs SET data = (SELECT data FROM handoffs WHERE id = ?1) WHERE id = ?2",
    )
    .bind(a.handoff_id.to_string())
    .bind(b.handoff_id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let e = t.app.retry_attempt(b.attempt_id).await.unwrap_err();
    assert!(e.message.contains("fails authentication"), "{e}");
    assert_eq!(sink.count(), 2, "nothing was sent");
    // a's own data still opens.
    sink.always(Reply::json(201, json!({"id": "p-2"})));
    assert!(t.app.retry_attempt(a.attempt_id).await.unwrap().success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_data_key_the_history_opens_and_retry_and_reveal_say_why() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    t.add(config(&sink.url)).await;
    let r = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    let key_id: String = sqlx::query_scalar("SELECT id FROM data_keys")
        .fetch_one(&store_pool(t.dir.path()).await)
        .await
        .unwrap();
    t.app.close().await;
    // The key is gone (another machine, or deleted).
    let name = format!("data-key/{key_id}");
    tokio::task::spawn_blocking(move || KeyringBackend.delete(&name).unwrap())
        .await
        .unwrap();
    let app = App::open(t.dir.path()).await.unwrap();
    let (detail, _) = app.attempt(r.attempt_id).await.unwrap();
    assert_eq!(detail.summary.status.as_str(), "failed");
    assert_eq!(
        app.stats(&StatsFilter::default(), false)
            .await
            .unwrap()
            .total,
        1
    );
    let h = app.store().handoff(r.handoff_id).await.unwrap().unwrap();
    assert_eq!(h.masked.unwrap()["fullName"], "Q*** V***");
    for e in [
        app.retry_attempt(r.attempt_id).await.unwrap_err(),
        app.reveal(r.handoff_id).await.unwrap_err(),
    ] {
        assert!(e.message.contains(&format!("data key {key_id}")), "{e}");
        assert!(e.message.contains("masked data are still available"), "{e}");
    }
    assert_eq!(sink.count(), 1, "nothing was resent");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reveal_shows_the_raw_data_and_is_audited_without_it() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::json(201, json!({"id": "p-1"})));
    t.add(config(&sink.url)).await;
    let r = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(t.app.reveal(r.handoff_id).await.unwrap(), data());
    let trail = t
        .app
        .audit_log(&AuditFilter {
            action: Some(AuditAction::DataRevealed),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    let entry = serde_json::to_string(&trail[0]).unwrap();
    assert!(entry.contains("fullName") && entry.contains(&r.handoff_id.to_string()));
    for raw in [NAME, EMAIL, PHONE] {
        assert!(!entry.contains(raw), "{raw} in the audit entry");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_making_the_first_key_agree_on_one() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    t.add(config(&sink.url)).await;
    let other = App::open(t.dir.path()).await.unwrap();
    let (a, b) = tokio::join!(
        t.app.send("emr", "s-a", data(), Trigger::Live),
        other.send("emr", "s-b", data(), Trigger::Live)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    other.close().await;
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM data_keys")
        .fetch_one(&store_pool(t.dir.path()).await)
        .await
        .unwrap();
    assert_eq!(keys, 1);
    // A third console opens both.
    let third = App::open(t.dir.path()).await.unwrap();
    assert_eq!(third.reveal(a.handoff_id).await.unwrap(), data());
    assert_eq!(third.reveal(b.handoff_id).await.unwrap(), data());
    third.close().await;
}

/// The key id each handoff's data is sealed under ("" when plain).
async fn sealing_keys(dir: &Path) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM handoffs ORDER BY id")
        .fetch_all(&store_pool(dir).await)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(d,)| {
            handoff_console::crypto::key_id(&d)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_reseals_everything_resumes_when_cut_short_and_drops_the_old_key() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    let i = t.add(config(&sink.url)).await;
    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(
            t.app
                .send("emr", &format!("s-{n}"), data(), Trigger::Live)
                .await
                .unwrap(),
        );
    }
    // And one recorded before encryption at rest: plain JSON, no masked copy.
    let legacy = handoff_console::ids::HandoffId::new();
    let now = chrono::Utc::now().timestamp_millis();
    let legacy_attempt = handoff_console::ids::AttemptId::new();
    t.app
        .store()
        .begin_attempt(&handoff_console::attempts::BeginAttempt {
            attempt_id: legacy_attempt,
            handoff_id: legacy,
            integration_id: i.id,
            integration_name: "emr",
            session_id: "s-old",
            trigger: Trigger::Live,
            automatic: false,
            previous_attempt_id: None,
            claim: handoff_console::attempts::Claim::New,
            data: Some(&data().to_string()),
            data_masked: None,
            started_at: now,
            lease_until: now,
            owner: "test",
            taken_by: None,
        })
        .await
        .unwrap();
    // Its attempt recorded the raw values, as attempts did before they were masked.
    let raw_request =
        json!({"method": "POST", "body": data(), "memberNo": 7654321, "url": "u"}).to_string();
    let raw_message = format!("409 Conflict: {NAME} exists");
    t.app
        .store()
        .finish_attempt(&handoff_console::attempts::FinishAttempt {
            attempt_id: legacy_attempt,
            handoff_id: legacy,
            trigger: handoff_console::attempts::Trigger::Live,
            status: handoff_console::attempts::Status::Failed,
            category: Some(handoff_console::targets::ErrorCategory::Validation),
            status_code: Some(409),
            message: &raw_message,
            submission_id: None,
            request: &raw_request,
            response_excerpt: Some(&raw_request),
            finished_at: now,
            duration_ms: 5,
            next_attempt_at: None,
            handoff_status: handoff_console::attempts::Status::Failed,
        })
        .await
        .unwrap();
    // Recorded before structural masking: no mark (written behind the store's back, once the
    // journal's entries are in).
    t.app.store().settle().await.unwrap();
    sqlx::query("UPDATE attempts SET masking = NULL WHERE id = ?")
        .bind(legacy_attempt.to_string())
        .execute(&store_pool(t.dir.path()).await)
        .await
        .unwrap();
    assert!(
        data_dir_holds(t.dir.path(), NAME),
        "the legacy rows hold raw values"
    );
    let before = sealing_keys(t.dir.path()).await;
    let old = before.iter().find(|k| !k.is_empty()).unwrap().clone();

    // Cut short after two.
    // Old keys may go as soon as nothing uses them (no send is under way here).
    let now = |limit| RotationOptions {
        limit,
        keep_retired: std::time::Duration::ZERO,
    };
    let first = t
        .app
        .rotate_data_key(now(Some(2)), &|_, _| {})
        .await
        .unwrap();
    assert!(!first.resumed);
    assert_eq!(
        (first.resealed, first.remaining, first.deleted_keys),
        (2, 2, 0)
    );
    assert_ne!(first.key, old);
    // Mixed keys still open: everything can be revealed meanwhile.
    for r in &sent {
        assert_eq!(t.app.reveal(r.handoff_id).await.unwrap(), data());
    }
    // Run again: it finishes this rotation rather than starting another.
    let second = t.app.rotate_data_key(now(None), &|_, _| {}).await.unwrap();
    assert!(second.resumed);
    assert_eq!(second.key, first.key);
    assert_eq!(
        (second.resealed, second.remaining, second.deleted_keys),
        (2, 0, 1)
    );
    assert!(
        sealing_keys(t.dir.path())
            .await
            .iter()
            .all(|k| *k == first.key)
    );
    // The legacy handoff got a masked copy, and every handoff still retries.
    let h = t.app.store().handoff(legacy).await.unwrap().unwrap();
    assert_eq!(h.masked.unwrap()["email"], "q***@example.org");
    assert_eq!(t.app.reveal(legacy).await.unwrap(), data());
    let (old_attempt, _) = t.app.attempt(legacy_attempt).await.unwrap();
    assert_eq!(
        old_attempt.summary.message,
        "409 Conflict: Q*** V*** exists"
    );
    // Only the request's string values were masked: its structure and numbers are intact.
    assert_eq!(old_attempt.request["body"]["fullName"], "Q*** V***");
    assert_eq!(old_attempt.request["memberNo"], 7654321);
    assert_eq!(old_attempt.request["url"], "u");
    for raw in [NAME, EMAIL, PHONE] {
        assert!(
            !data_dir_holds(t.dir.path(), raw),
            "{raw} left in the clear"
        );
    }
    // The old key is gone from the backend.
    let name = format!("data-key/{old}");
    let gone = tokio::task::spawn_blocking(move || KeyringBackend.get(&name))
        .await
        .unwrap();
    assert!(gone.is_err());
    let trail = t
        .app
        .audit_log(&AuditFilter {
            action: Some(AuditAction::KeysRotated),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_do_not_fit_their_type_are_masked_not_kept() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    let canaries = ["ENUMCANARY has condition X", "INTCANARY 123-45-6789"];
    t.add(json!({
        "name": "emr", "kind": "api",
        "fields": [{"name": "visitType", "type": "enum", "values": ["new", "follow-up"]},
                   {"name": "memberNo", "type": "integer"}],
        "api": {"endpoint": format!("{}/p", sink.url), "method": "POST"},
        "retry": {"maxAttempts": 1}
    }))
    .await;
    let r = t
        .app
        .send(
            "emr",
            "s-1",
            json!({"visitType": canaries[0], "memberNo": canaries[1]}),
            Trigger::Live,
        )
        .await
        .unwrap();
    assert!(!r.success, "validation refuses them");
    assert_eq!(sink.count(), 0);
    for raw in canaries {
        assert!(!data_dir_holds(t.dir.path(), raw), "{raw} stored");
        assert!(!r.message.contains(raw), "{raw} in {}", r.message);
    }
    let h = t.app.store().handoff(r.handoff_id).await.unwrap().unwrap();
    assert_eq!(
        h.masked,
        Some(json!({"visitType": "***", "memberNo": "***"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_current_key_gets_a_new_one_for_new_data_and_rotation_skips_what_it_cannot_open()
{
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.always(Reply::status(503));
    t.add(config(&sink.url)).await;
    let old = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    let key_id: String = sqlx::query_scalar("SELECT id FROM data_keys")
        .fetch_one(&store_pool(t.dir.path()).await)
        .await
        .unwrap();
    t.app.close().await;
    let name = format!("data-key/{key_id}");
    tokio::task::spawn_blocking(move || KeyringBackend.delete(&name).unwrap())
        .await
        .unwrap();
    let app = App::open(t.dir.path()).await.unwrap();
    // New handoffs are not blocked: they are sealed under a new key.
    let new = app.send("emr", "s-2", data(), Trigger::Live).await.unwrap();
    assert!(new.category.is_some(), "delivered (and failed) as usual");
    assert_eq!(app.reveal(new.handoff_id).await.unwrap(), data());
    assert!(app.reveal(old.handoff_id).await.is_err());
    // A rotation re-seals what it can and skips what it cannot open.
    let rotation = app
        .rotate_data_key(RotationOptions::default(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!((rotation.resealed, rotation.skipped), (1, 1));
    assert_eq!(app.reveal(new.handoff_id).await.unwrap(), data());
    // With a limit, skipped data does not use it up: a limited run still makes progress.
    let more = app.send("emr", "s-3", data(), Trigger::Live).await.unwrap();
    let next = app
        .rotate_data_key(
            RotationOptions {
                limit: Some(1),
                ..RotationOptions::default()
            },
            &|_, _| {},
        )
        .await
        .unwrap();
    assert_eq!((next.resealed, next.skipped), (1, 1), "{next:?}");
    assert_eq!(app.reveal(more.handoff_id).await.unwrap(), data());
    app.close().await;
}

//! Consoles on one PostgreSQL store (issue 17, the store back end): what is written for the
//! shared store so far works across instances — integrations with their audit trail, the data
//! key's adoption and rotation — and what is not yet written says so by name instead of
//! failing obscurely. Against the real PostgreSQL of `HANDOFF_TEST_PG_URL`, each test in a
//! schema of its own, dropped afterwards; the keyring is the real Secret Service.

mod common;
mod common_db;

use common::cli;
use common_db::{cleanly, exec, pg_store_url as store_url, postgres, suffix};
use handoff_console::integrations::IntegrationConfig;
use handoff_console::secrets::{KeyringBackend, SecretsBackend};
use handoff_console::store::postgres::StoreUrl;
use handoff_console::store::{Store, StoreChoice};
use handoff_console::{App, ErrorKind};
use serde_json::{Value, json};
use std::sync::Arc;

const TOKEN: &str = "tok-SHARED-store-5b9e";

/// A fresh schema name on the test server, and the server's admin pool to drop it with.
async fn fresh_schema() -> (String, sqlx::PgPool) {
    let server = postgres().await;
    (format!("hc_shared_{}", suffix()), server.pool)
}

async fn drop_schema(admin: &sqlx::PgPool, name: &str) {
    exec(admin, format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await;
}

async fn console(dir: &std::path::Path, schema: &str) -> App {
    let url = StoreUrl::parse(&store_url(schema)).unwrap();
    App::open_on(dir, StoreChoice::Shared(url), Arc::new(KeyringBackend))
        .await
        .expect("open a console on the shared store")
}

fn api_config(name: &str) -> IntegrationConfig {
    serde_json::from_value(json!({
        "name": name,
        "kind": "api",
        "fields": [{"name": "n", "type": "integer"}],
        "api": {
            "endpoint": "http://127.0.0.1:9/p",
            "method": "POST",
            "authentication": {"type": "bearer", "credentials": {"token": TOKEN}},
        }
    }))
    .unwrap()
}

/// An API integration posting `{"name": fullName}` to `<url>/patients`, with `retry`.
fn patients_api(name: &str, url: &str, retry: Value) -> IntegrationConfig {
    serde_json::from_value(json!({
        "name": name, "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST",
                "payloadStructure": {"name": "{{fullName}}"},
                "timeoutMs": 2000, "connectTimeoutMs": 500},
        "retry": retry
    }))
    .unwrap()
}

#[tokio::test]
async fn two_consoles_on_one_postgres_store_share_integrations_and_their_audit_trail() {
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    cleanly(
        async {
            let front = console(dir_a.path(), &schema).await;
            let support = console(dir_b.path(), &schema).await;
            assert!(front.store().path().is_none(), "no store file");
            assert!(front.store().location().contains(&schema));

            let added = front
                .add_integration(api_config("Front Desk API"))
                .await
                .unwrap();
            // The other console finds it, by id and by name in any ASCII case.
            let seen = support.integration("front desk api").await.unwrap();
            assert_eq!(seen.id, added.id);
            assert_eq!(
                support
                    .integration(&added.id.to_string())
                    .await
                    .unwrap()
                    .name,
                "Front Desk API"
            );
            let names: Vec<String> = support
                .integrations(None)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect();
            assert_eq!(names, ["Front Desk API"]);

            // The name is taken whatever the case, from either console.
            let e = support
                .add_integration(api_config("FRONT DESK api"))
                .await
                .expect_err("a name differing only in case is taken");
            assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
            assert!(e.to_string().contains("name"), "{e}");

            support
                .update_integration("front desk api", api_config("Front Desk v2"))
                .await
                .unwrap();
            assert_eq!(
                front.integration(&added.id.to_string()).await.unwrap().name,
                "Front Desk v2",
                "the first console sees the second's change"
            );
            front.remove_integration("FRONT DESK V2").await.unwrap();
            let e = support.integration("front desk v2").await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound);

            // One trail, newest first, written by both consoles; by its first name (in
            // another case) the creation, by its id all three.
            let by = |integration: String| handoff_console::audit::AuditFilter {
                integration: Some(integration),
                ..Default::default()
            };
            let created = front.audit_log(&by("FRONT DESK API".into())).await.unwrap();
            assert_eq!(created.len(), 1, "{created:?}");
            let trail = support
                .audit_log(&handoff_console::audit::AuditFilter {
                    integration: Some(added.id.to_string()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(
                actions,
                [
                    "integration.removed",
                    "integration.updated",
                    "integration.created"
                ],
                "{trail:?}"
            );
            // No secret in the shared store's rows.
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT concat_ws(' ', actor, object_name, details) FROM {schema}.audit_log"
            )))
            .fetch_all(&admin)
            .await
            .unwrap();
            assert_eq!(rows.len(), 3);
            assert!(rows.iter().all(|r| !r.contains(TOKEN)), "{rows:?}");
            front.close().await;
            support.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn a_postgres_store_keeps_one_current_data_key_and_one_rotation_wins() {
    let (schema, admin) = fresh_schema().await;
    cleanly(
        async {
            let url = StoreUrl::parse(&store_url(&schema)).unwrap();
            let a = Store::open_shared(&url, None).await.unwrap();
            let b = Store::open_shared(&url, None).await.unwrap();
            assert_eq!(a.current_data_key().await.unwrap(), None);
            assert_eq!(a.adopt_data_key("k1").await.unwrap(), "k1");
            assert_eq!(
                b.adopt_data_key("k2").await.unwrap(),
                "k1",
                "the key made first stays current"
            );

            // Two instances rotate from k1 at once: exactly one wins.
            let (ra, rb) = tokio::join!(
                a.rotate_in_data_key(Some("k1"), "k3", true),
                b.rotate_in_data_key(Some("k1"), "k4", true)
            );
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert!(ra != rb, "one rotation wins: {ra} {rb}");
            let winner = if ra { "k3" } else { "k4" };
            assert_eq!(b.current_data_key().await.unwrap().as_deref(), Some(winner));
            assert!(a.rotation_pending(winner).await.unwrap());
            a.finish_rotation(winner).await.unwrap();
            assert!(!b.rotation_pending(winner).await.unwrap());
            let retired: Vec<String> = a
                .retired_data_keys()
                .await
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            assert_eq!(retired, ["k1"]);
            assert!(b.forget_data_key("k1").await.unwrap());
            assert!(
                !b.forget_data_key(winner).await.unwrap(),
                "the current key is never forgotten"
            );
            a.checkpoint_truncate().await.unwrap();
            a.close().await;
            b.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn intake_sources_mappings_and_health_results_are_shared_through_postgres() {
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    cleanly(
        async {
            let admin_console = console(dir_a.path(), &schema).await;
            let support = console(dir_b.path(), &schema).await;
            let emr = patients_api("Clinic EMR", "http://127.0.0.1:9", json!({}));
            admin_console.add_integration(emr).await.unwrap();

            let added = admin_console
                .add_source(
                    serde_json::from_value(json!({
                        "name": "bridge", "kind": "ehr",
                        "verification": {"mode": "standardWebhooks"},
                        "integrations": ["clinic emr"]
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            let secret = serde_json::to_value(&added).unwrap();
            let seen = support.source("bridge").await.unwrap();
            assert_eq!(seen.rate_per_minute, 6000);
            assert!(seen.enabled);
            support
                .update_source(
                    "bridge",
                    serde_json::from_value(json!({"enabled": false, "ratePerMinute": 60})).unwrap(),
                )
                .await
                .unwrap();
            let after = admin_console.sources().await.unwrap();
            assert_eq!(after.len(), 1);
            assert!(!after[0].enabled && after[0].rate_per_minute == 60);

            let mapping = support
                .add_mapping(
                    serde_json::from_value(json!({
                        "source": "bridge", "name": "new patients", "integration": "Clinic EMR",
                        "event": {"pointer": "/type", "equals": "patient.created"},
                        "fields": [{"field": "fullName", "value": {"pointer": "/patient/name"}}]
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            let listed = admin_console.mappings(&Default::default()).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].id, mapping.id);
            assert_eq!(listed[0].event, mapping.event);
            let e = admin_console
                .add_mapping(
                    serde_json::from_value(json!({
                        "source": "bridge", "name": "new patients", "integration": "Clinic EMR",
                        "fields": [{"field": "fullName", "value": {"pointer": "/name"}}]
                    }))
                    .unwrap(),
                )
                .await
                .expect_err("one name per source");
            assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
            admin_console
                .remove_mapping(&mapping.id.to_string())
                .await
                .unwrap();
            assert!(
                support
                    .mappings(&Default::default())
                    .await
                    .unwrap()
                    .is_empty()
            );
            support.remove_source("bridge").await.unwrap();
            assert!(admin_console.sources().await.unwrap().is_empty());
            // The secret went to the keyring, never into the shared store.
            let secret_text = secret["secret"].as_str().unwrap().to_string();
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT concat_ws(' ', details) FROM {schema}.audit_log"
            )))
            .fetch_all(&admin)
            .await
            .unwrap();
            assert!(rows.iter().all(|r| !r.contains(&secret_text)), "{rows:?}");

            // One console checks; the other reads the results (the console's own checks pass
            // on the shared store; the integration's API is down).
            let report = admin_console
                .health(None, Some(std::time::Duration::from_secs(5)))
                .await
                .unwrap();
            let local: Vec<(&str, String)> = report
                .local
                .iter()
                .map(|c| (c.name.as_str(), c.status.as_str().to_string()))
                .collect();
            assert!(
                local.contains(&("store", "healthy".into()))
                    && local.contains(&("migrations", "healthy".into())),
                "{:?}",
                report.local
            );
            let last = support.last_health().await.unwrap();
            assert_eq!(last.integrations.len(), 1);
            assert_eq!(last.integrations[0].integration.name, "Clinic EMR");
            assert_eq!(
                last.integrations[0].integration.status,
                report.integrations[0].status
            );
            assert_eq!(
                last.local.as_ref().map(|l| l.checks.len()),
                Some(report.local.len())
            );
            admin_console.close().await;
            support.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn a_handoff_sent_by_one_console_is_retried_by_another_on_the_postgres_store() {
    use common::{Reply, Sink};
    use handoff_console::attempts::{
        HandoffFilter, HandoffSort, HandoffState, HistoryFilter, Status, Trigger,
    };
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sink = Sink::start().await;
    cleanly(
        async {
            let front = console(dir_a.path(), &schema).await;
            let worker = console(dir_b.path(), &schema).await;
            let emr = patients_api(
                "emr",
                &sink.url,
                json!({"maxAttempts": 3, "baseDelayMs": 50}),
            );
            front.add_integration(emr).await.unwrap();
            sink.then([Reply::status(503)]);
            let first = front
                .send(
                    "emr",
                    "call-1",
                    json!({"fullName": "Ann Lee"}),
                    Trigger::Live,
                )
                .await
                .unwrap();
            assert!(
                !first.success && first.handoff_status == Status::Pending,
                "{first:?}"
            );
            assert!(first.next_retry_at.is_some());

            // The other console's worker finds it due and delivers it.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let settled = loop {
                worker.run_due_retries().await.expect("worker pass");
                let h = worker
                    .store()
                    .handoff(first.handoff_id)
                    .await
                    .unwrap()
                    .unwrap();
                if h.summary.status != Status::Pending || std::time::Instant::now() > deadline {
                    break h.summary.status;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            };
            assert_eq!(settled, Status::Succeeded);
            let chain = front.store().attempts_of(first.handoff_id).await.unwrap();
            let numbers: Vec<(u32, bool, Status)> = chain
                .iter()
                .map(|a| (a.attempt_number, a.automatic, a.status))
                .collect();
            assert_eq!(
                numbers,
                [(1, false, Status::Failed), (2, true, Status::Succeeded)]
            );
            let keys: Vec<String> = sink
                .received()
                .iter()
                .map(|r| r.header("idempotency-key").unwrap().to_string())
                .collect();
            assert_eq!(keys, vec![first.handoff_id.to_string(); 2]);
            assert_eq!(sink.received()[1].json(), json!({"name": "Ann Lee"}));

            // History and the attempt view from either console.
            let history = front.history(&HistoryFilter::default()).await.unwrap();
            assert_eq!(history.len(), 2);
            assert_eq!(history[0].attempt_id, chain[1].attempt_id, "newest first");
            assert_eq!(
                worker
                    .store()
                    .history_count(&HistoryFilter::default())
                    .await
                    .unwrap(),
                2
            );
            // The handoff list, searched without regard to ASCII case as on SQLite.
            let listed = worker
                .handoffs(&HandoffFilter {
                    text: Some("CALL-1".into()),
                    state: Some(HandoffState::Delivered),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(
                (listed[0].handoff_id, listed[0].attempts),
                (first.handoff_id, 2)
            );
            let counted = front
                .store()
                .handoff_count(&HandoffFilter {
                    sort: HandoffSort::Status,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(counted, 1);
            let detail = worker.attempt(chain[0].attempt_id).await.unwrap();
            assert_eq!(detail.0.summary.status, Status::Failed);
            assert_eq!(detail.1.len(), 2, "its retry chain");
            assert_eq!(worker.store().next_due_at().await.unwrap(), None);
            // Nothing plain or sealed leaks into the attempt rows: the data is sealed.
            let data: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT data FROM {schema}.handoffs"
            )))
            .fetch_one(&admin)
            .await
            .unwrap();
            assert!(
                data.starts_with("hc1:") && !data.contains("Ann Lee"),
                "{data}"
            );
            front.close().await;
            worker.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn statistics_on_the_postgres_store_agree_with_the_exact_count() {
    use common::{Reply, Sink};
    use handoff_console::attempts::{Status, Trigger};
    use handoff_console::stats::StatsFilter;
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sink = Sink::start().await;
    cleanly(
        async {
            let front = console(dir_a.path(), &schema).await;
            let support = console(dir_b.path(), &schema).await;
            let emr = patients_api(
                "emr",
                &sink.url,
                json!({"maxAttempts": 2, "baseDelayMs": 50}),
            );
            let emr = front.add_integration(emr).await.unwrap();
            sink.then([
                Reply::status(201),
                Reply::status(500),
                Reply::status(400),
                Reply::status(503),
            ]);
            for n in 0..4 {
                front
                    .send(
                        "emr",
                        &format!("call-{n}"),
                        json!({"fullName": "Ann Lee"}),
                        Trigger::Live,
                    )
                    .await
                    .unwrap();
            }
            // The two retryable failures are retried (and delivered) by the other console.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while support.store().next_due_at().await.unwrap().is_some() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "retries never settled"
                );
                support.run_due_retries().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            let store = support.store();
            let day = 86_400_000;
            let now = handoff_console::store::now_ms();
            let filters = [
                StatsFilter::default(),
                // A whole day from the rollups (yesterday, empty) and today's part from the
                // attempts.
                StatsFilter {
                    since_ms: Some((now / day - 1) * day),
                    until_ms: Some(now + 3_600_000),
                    ..Default::default()
                },
                StatsFilter {
                    trigger: Some(Trigger::Retry),
                    ..Default::default()
                },
                StatsFilter {
                    integration: Some(emr.id),
                    bucket: handoff_console::stats::SeriesBucket::Hour,
                    since_ms: Some(now - 3_600_000),
                    until_ms: Some(now + 3_600_000),
                    ..Default::default()
                },
                // Every hour, from the hourly rollups (spread rows summed).
                StatsFilter {
                    bucket: handoff_console::stats::SeriesBucket::Hour,
                    ..Default::default()
                },
            ];
            for f in &filters {
                let fast = store.stats(f).await.unwrap();
                let exact = store.stats_exact(f).await.unwrap();
                let key = |s: &handoff_console::stats::Stats| {
                    (
                        (s.total, s.succeeded, s.failed, s.pending),
                        s.failures_by_category.clone(),
                        s.handoffs,
                        s.top_errors
                            .iter()
                            .map(|e| serde_json::to_string(e).unwrap())
                            .collect::<Vec<_>>(),
                        s.series
                            .iter()
                            .map(|p| (p.start, p.total, p.succeeded, p.failed, p.pending))
                            .collect::<Vec<_>>(),
                    )
                };
                assert_eq!(key(&fast), key(&exact), "{f:?}");
            }
            let all = store.stats(&StatsFilter::default()).await.unwrap();
            assert_eq!((all.total, all.succeeded, all.failed), (6, 3, 3), "{all:?}");
            assert_eq!(
                (
                    all.handoffs.total,
                    all.handoffs.delivered,
                    all.handoffs.undelivered
                ),
                (4, 3, 1)
            );
            let retried = store
                .stats(&StatsFilter {
                    trigger: Some(Trigger::Retry),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(retried.handoffs.total, 2, "{retried:?}");
            assert!(all.p50_ms.is_some());
            let chain = front
                .history(&Default::default())
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.status == Status::Failed)
                .count();
            assert_eq!(chain, 3);
            front.close().await;
            support.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn a_webhook_repeated_to_another_console_on_postgres_is_recognised_and_delivered_once() {
    use common::Sink;
    use handoff_console::intake::inbox::{InboxStatus, IntakeEndpoint};
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sink = Sink::start().await;
    cleanly(
        async {
            let one = Arc::new(console(dir_a.path(), &schema).await);
            let two = Arc::new(console(dir_b.path(), &schema).await);
            let emr = patients_api("Clinic EMR", &sink.url, json!({}));
            one.add_integration(emr).await.unwrap();
            let secret = "shared-SECRET-0c4e9a";
            one.add_source(
                serde_json::from_value(json!({
                    "name": "bridge", "kind": "ehr",
                    "verification": {"mode": "sharedSecret", "header": "X-Webhook-Secret"},
                    "integrations": ["Clinic EMR"], "secret": secret
                }))
                .unwrap(),
            )
            .await
            .unwrap();
            two.add_mapping(
                serde_json::from_value(json!({
                    "source": "bridge", "name": "new patients", "integration": "Clinic EMR",
                    "event": {"pointer": "/type", "equals": "patient.created"},
                    "fields": [{"field": "fullName", "value": {"pointer": "/patient/name"}}]
                }))
                .unwrap(),
            )
            .await
            .unwrap();

            let body = br#"{"type":"patient.created","patient":{"name":"Ann Lee"}}"#;
            let headers = [
                ("x-webhook-secret".to_string(), secret.to_string()),
                ("idempotency-key".to_string(), "evt-0001".to_string()),
                ("content-type".to_string(), "application/json".to_string()),
            ];
            let first = one
                .accept_intake("bridge", IntakeEndpoint::Webhook, &headers, body)
                .await
                .unwrap();
            assert!(!first.repeat);
            // The sender retries against the other console: the shared store recognises it.
            let again = two
                .accept_intake("bridge", IntakeEndpoint::Webhook, &headers, body)
                .await
                .unwrap();
            assert!(again.repeat, "{again:?}");
            assert_eq!((again.id, again.handoff_id), (first.id, first.handoff_id));

            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let item = loop {
                let page = two.inbox(&Default::default()).await.unwrap();
                assert_eq!(page.total, 1, "one message, not two");
                let item = page.items[0].clone();
                if item.status == InboxStatus::Delivered || std::time::Instant::now() > deadline {
                    break item;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            };
            assert_eq!(item.status, InboxStatus::Delivered, "{item:?}");
            assert_eq!(item.mapping_name.as_deref(), Some("new patients"));
            assert_eq!(item.handoff_id, first.handoff_id);
            let got = sink.received();
            assert_eq!(got.len(), 1, "delivered once");
            assert_eq!(
                got[0].header("idempotency-key"),
                first.handoff_id.map(|h| h.to_string()).as_deref()
            );
            assert_eq!(got[0].json(), json!({"name": "Ann Lee"}));
            // Found by a prefix of its message id, in any case.
            let found = one
                .inbox(&serde_json::from_value(json!({"search": "EVT-0"})).unwrap())
                .await
                .unwrap();
            assert_eq!(found.total, 1);
            // The body is sealed in the shared store.
            let stored: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT body FROM {schema}.intake_messages"
            )))
            .fetch_one(&admin)
            .await
            .unwrap();
            assert!(stored.starts_with("hc1:") && !stored.contains("Ann Lee"));
            one.close().await;
            two.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

#[tokio::test]
async fn a_console_lacking_the_postgres_store_s_data_key_refuses_new_data_and_makes_none() {
    use common::Sink;
    use handoff_console::attempts::Trigger;
    use handoff_console::secrets::{Secret, VaultBackend};
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sink = Sink::start().await;
    cleanly(
        async {
            let front = console(dir_a.path(), &schema).await;
            // Another machine: its own (empty) vault, not the front desk's keyring.
            let vault = VaultBackend::new(
                dir_b.path().join("secrets.vault"),
                Some(Secret::new("another-passphrase".to_string())),
            );
            let url = StoreUrl::parse(&store_url(&schema)).unwrap();
            let other = App::open_on(dir_b.path(), StoreChoice::Shared(url), Arc::new(vault))
                .await
                .unwrap();
            let emr = patients_api("emr", &sink.url, json!({}));
            front.add_integration(emr).await.unwrap();
            let sent = front
                .send(
                    "emr",
                    "call-1",
                    json!({"fullName": "Ann Lee"}),
                    Trigger::Live,
                )
                .await
                .unwrap();
            assert!(sent.success);
            let key = front.store().current_data_key().await.unwrap().unwrap();

            let e = other
                .send(
                    "emr",
                    "call-2",
                    json!({"fullName": "Bo Chen"}),
                    Trigger::Live,
                )
                .await
                .expect_err("no new handoff without the shared key");
            assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
            assert!(e.to_string().contains(&key), "names the key it lacks: {e}");
            assert_eq!(
                other.store().current_data_key().await.unwrap().as_deref(),
                Some(key.as_str()),
                "no key of its own made current"
            );
            assert_eq!(sink.count(), 1, "nothing sent for the refused handoff");
            let e = other
                .reveal(sent.handoff_id)
                .await
                .expect_err("cannot reveal");
            assert!(e.to_string().contains(&key), "{e}");
            // The history is readable all the same.
            let history = other.history(&Default::default()).await.unwrap();
            assert_eq!(history.len(), 1);
            front.close().await;
            other.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

fn run(cmd: &mut std::process::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_opens_the_postgres_store_its_flag_env_or_setting_names() {
    let (schema, admin) = fresh_schema().await;
    let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = store_url(&schema);
    let password_key = StoreUrl::parse(&url).unwrap().password_key();
    cleanly(
        async {
            let app = console(other.path(), &schema).await;
            app.add_integration(api_config("Shared Intake"))
                .await
                .unwrap();
            app.close().await;
            let names = |stdout: &str| -> Vec<String> {
                let list: Value = serde_json::from_str(stdout).unwrap();
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_string())
                    .collect()
            };
            let cli_in = |d: &std::path::Path| {
                let mut c = cli();
                c.env("HANDOFF_DATA_DIR", d).env_remove("HANDOFF_STORE_URL");
                c
            };

            // A password in the URL: refused (exit 2), and not repeated.
            let with_password = url.replacen("@", ":pw-NOT-ECHOED@", 1);
            let (code, _, err) =
                run(cli_in(dir.path()).args(["--store", &with_password, "integration", "list"]));
            assert_eq!(code, 2, "{err}");
            assert!(err.contains("--store") && err.contains("password"), "{err}");
            assert!(!err.contains("pw-NOT-ECHOED"), "{err}");

            // A store nobody answers for: refused at once, saying why.
            let started = std::time::Instant::now();
            let (code, _, err) = run(cli_in(dir.path()).args([
                "--store",
                "postgres://console@127.0.0.1:1/handoffs",
                "integration",
                "list",
            ]));
            assert_eq!(code, 1, "{err}");
            assert!(
                err.contains("127.0.0.1:1") && err.contains("refused"),
                "{err}"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(8));

            // The flag, then the environment, then the setting.
            let (code, out, err) =
                run(cli_in(dir.path()).args(["--store", &url, "integration", "list", "--json"]));
            assert_eq!(
                (code, names(&out)),
                (0, vec!["Shared Intake".into()]),
                "{err}"
            );
            let (code, out, err) = run(cli_in(dir.path()).env("HANDOFF_STORE_URL", &url).args([
                "integration",
                "list",
                "--json",
            ]));
            assert_eq!(
                (code, names(&out)),
                (0, vec!["Shared Intake".into()]),
                "{err}"
            );
            let (code, out, err) = run(cli_in(dir.path()).args(["store", "use", &url]));
            assert_eq!(code, 0, "{out}{err}");
            let (code, out, err) = run(cli_in(dir.path()).args(["integration", "list", "--json"]));
            assert_eq!(
                (code, names(&out)),
                (0, vec!["Shared Intake".into()]),
                "{err}"
            );
            // `store status` says which store, what chose it, and that it is usable.
            let (code, out, err) = run(cli_in(dir.path()).args(["store", "status", "--json"]));
            assert_eq!(code, 0, "{out}{err}");
            let status: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                (&status["kind"], &status["chosenBy"], &status["opens"]),
                (&json!("postgres"), &json!("setting"), &json!(true)),
                "{status}"
            );
            assert!(status["store"].as_str().unwrap().contains(&schema));
            let checks = status["checks"].as_array().unwrap();
            assert!(
                checks.len() == 2 && checks.iter().all(|c| c["status"] == "healthy"),
                "{status}"
            );
            let (code, out, _) = run(cli_in(dir.path()).args([
                "--store",
                "postgres://console@127.0.0.1:1/handoffs",
                "store",
                "status",
                "--json",
            ]));
            assert_eq!(code, 1, "{out}");
            let status: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(status["opens"], false);
            assert!(
                status["error"].as_str().unwrap().contains("refused"),
                "{status}"
            );
            // `local` names the data dir's own store again.
            let (code, out, err) = run(cli_in(dir.path())
                .env("HANDOFF_STORE_URL", "local")
                .args(["integration", "list", "--json"]));
            assert_eq!((code, names(&out)), (0, Vec::<String>::new()), "{err}");

            // The password goes to the secrets backend, under the store's key, from stdin.
            let mut set = cli_in(dir.path());
            set.args(["store", "set-password", "--json"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = set.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"store-PW-7f3a\n")
                .unwrap();
            let done = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&done.stdout);
            assert!(
                done.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&done.stderr)
            );
            assert!(!stdout.contains("store-PW-7f3a"), "{stdout}");
            let report: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(report["key"], password_key.as_str());
            let kept = tokio::task::spawn_blocking({
                let key = password_key.clone();
                move || KeyringBackend.get(&key)
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(kept.expose(), "store-PW-7f3a");
            // The store opens with it (the test server trusts loopback, so it is only sent).
            let (code, _, err) = run(cli_in(dir.path()).args(["integration", "list", "--json"]));
            assert_eq!(code, 0, "{err}");

            // The local store has no password.
            let (code, _, err) = run(cli_in(dir.path())
                .env("HANDOFF_STORE_URL", "local")
                .args(["store", "set-password"])
                .stdin(std::process::Stdio::null()));
            assert_eq!(code, 2, "{err}");
            assert!(err.contains("local store has no password"), "{err}");
        },
        async {
            let key = password_key.clone();
            let _ = tokio::task::spawn_blocking(move || KeyringBackend.delete(&key)).await;
            drop_schema(&admin, &schema).await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_wait_for_changes_on_postgres_ends_on_another_console_s_commit_and_sees_the_last_of_a_burst()
 {
    use std::time::{Duration, Instant};
    let (schema, admin) = fresh_schema().await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    cleanly(
        async {
            let front = console(dir_a.path(), &schema).await;
            let support = console(dir_b.path(), &schema).await;
            let store = support.store();
            let mut seen = store.changes_after(None, Duration::ZERO).await;
            let started = Instant::now();
            while !seen.live {
                assert!(started.elapsed() < Duration::from_secs(10), "never live");
                seen = store
                    .changes_after(Some(seen.version), Duration::from_secs(1))
                    .await;
            }

            // Another store in the same database notifies on the same channel: not a change
            // of this one.
            exec(
                &admin,
                "SELECT pg_notify('handoff_console_changes', 'hc_shared_someone_else')".into(),
            )
            .await;
            let same = store
                .changes_after(Some(seen.version), Duration::from_millis(500))
                .await;
            assert_eq!(same.version, seen.version, "another schema's change");

            // Five commits in a burst: a view that refreshes on each signal sees all five after
            // the last one (the burst's last notification comes after its last commit).
            let (_, last_seen) = tokio::join!(
                async {
                    for i in 0..5 {
                        front
                            .add_integration(api_config(&format!("Burst {i}")))
                            .await
                            .unwrap();
                    }
                },
                async {
                    let (mut version, mut count, mut signals) = (seen.version, 0, 0);
                    loop {
                        let s = store
                            .changes_after(Some(version), Duration::from_secs(2))
                            .await;
                        if s.version == version {
                            return (count, signals);
                        }
                        version = s.version;
                        signals += 1;
                        count = support.integrations(None).await.unwrap().len();
                    }
                }
            );
            let (count, signals) = last_seen;
            assert!(signals >= 1, "the burst was signalled");
            assert_eq!(count, 5, "read after the last signal ({signals} signals)");

            // A server stopping ends a wait at once.
            let now = store.changes_after(None, Duration::ZERO).await.version;
            let started = Instant::now();
            let (ended, ()) = tokio::join!(
                store.changes_after(Some(now), Duration::from_secs(20)),
                async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    store.stop_change_waits();
                }
            );
            assert_eq!(ended.version, now);
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "stopped, not waited out"
            );
            front.close().await;
            support.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

/// Past days' statistics rows on the PostgreSQL store fold into one row per key (what a worker
/// does once an hour) without changing any figure; today's stay spread; a late change to a
/// folded day still counts; a second fold finds nothing to do.
#[tokio::test]
async fn folding_past_days_spread_rollups_on_postgres_keeps_every_figure() {
    use handoff_console::stats::StatsFilter;
    let (schema, admin) = fresh_schema().await;
    let dir = tempfile::tempdir().unwrap();
    cleanly(
        async {
            let app = console(dir.path(), &schema).await;
            let day = 86_400_000_i64;
            let now = handoff_console::store::now_ms();
            let today = now / day;
            let url = StoreUrl::parse(&store_url(&schema)).unwrap();
            let pool = sqlx::PgPool::connect_with(url.connect_options(None))
                .await
                .unwrap();
            // The rollups leave room on their pages for in-place updates.
            let settings: Vec<(String, Vec<String>)> = sqlx::query_as(
                "SELECT relname::text, reloptions FROM pg_class
                 WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
                   AND relname LIKE 'stats\\_%' AND relname <> 'stats_buckets' ORDER BY 1",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert_eq!(settings.len(), 12, "{settings:?}");
            for (table, options) in &settings {
                assert!(
                    options.contains(&"fillfactor=50".to_string()),
                    "{table}: {options:?}"
                );
            }
            // 400 attempts with their handoffs, over the last five days and today, on two
            // integrations, every outcome; the store's triggers make the rollups.
            exec(
                &pool,
                format!(
                    "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
                         created_at, updated_at, origin, integration_name, last_attempt_id)
                     SELECT lpad(to_hex(i), 32, '0')::uuid::text,
                            CASE WHEN i % 3 = 0 THEN 'int-b' ELSE 'int-a' END, 's' || i,
                            CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'pending'
                                 ELSE 'succeeded' END,
                            '{{}}', 1 + (i % 2), {now} - (i % 6) * {day} - i * 1000,
                            {now} - (i % 6) * {day} - i * 1000, 'live', 'clinic',
                            ('1' || lpad(to_hex(i), 31, '0'))::uuid::text
                     FROM generate_series(1, 400) AS i"
                ),
            )
            .await;
            exec(
                &pool,
                format!(
                    "INSERT INTO attempts (id, handoff_id, integration_id, integration_name,
                         session_id, trigger, attempt_number, status, category, retryable,
                         message, started_at, finished_at, duration_ms)
                     SELECT ('1' || lpad(to_hex(i), 31, '0'))::uuid::text,
                            lpad(to_hex(i), 32, '0')::uuid::text,
                            CASE WHEN i % 3 = 0 THEN 'int-b' ELSE 'int-a' END, 'clinic', 's' || i,
                            CASE WHEN i % 2 = 0 THEN 'retry' ELSE 'live' END, 1,
                            CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'pending'
                                 ELSE 'succeeded' END,
                            CASE WHEN i % 7 = 0 THEN (ARRAY['network', 'server'])[1 + i % 2] END,
                            false,
                            CASE WHEN i % 7 = 0 THEN 'HTTP ' || (500 + i % 3) ELSE '201' END,
                            {now} - (i % 6) * {day} - i * 1000,
                            CASE WHEN i % 11 = 0 AND i % 7 <> 0 THEN NULL
                                 ELSE {now} - (i % 6) * {day} - i * 1000 + 40 + i END,
                            CASE WHEN i % 11 = 0 AND i % 7 <> 0 THEN NULL ELSE 40 + i END
                     FROM generate_series(1, 400) AS i"
                ),
            )
            .await;
            let spread_rows = |past: bool| {
                let pool = pool.clone();
                async move {
                    let mut n = 0;
                    for (table, day) in [
                        ("stats_daily", "day"),
                        ("stats_durations_daily", "day"),
                        ("stats_errors_daily", "day"),
                        ("stats_handoffs_daily", "day"),
                        ("stats_hourly", "hour / 24"),
                        ("stats_durations_hourly", "hour / 24"),
                        ("stats_errors_hourly", "hour / 24"),
                        ("stats_handoffs_hourly", "hour / 24"),
                        ("stats_durations_daily_all", "day"),
                        ("stats_durations_hourly_all", "hour / 24"),
                    ] {
                        let op = if past { "<" } else { ">=" };
                        let c: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                            "SELECT count(*) FROM {table} WHERE spread <> 0 AND {day} {op} {}",
                            today - 1
                        )))
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                        n += c;
                    }
                    n
                }
            };
            let store = app.store();
            let figures = |s: handoff_console::stats::Stats| serde_json::to_value(&s).unwrap();
            let check = |label: &'static str| async move {
                for f in [
                    StatsFilter::default(),
                    StatsFilter {
                        since_ms: Some((today - 4) * day + 3_600_000),
                        until_ms: Some(now + 1),
                        ..Default::default()
                    },
                    StatsFilter {
                        trigger: Some(handoff_console::attempts::Trigger::Retry),
                        ..Default::default()
                    },
                ] {
                    let fast = store.stats(&f).await.unwrap();
                    let exact = store.stats_exact(&f).await.unwrap();
                    assert_eq!(
                        (
                            fast.total,
                            fast.succeeded,
                            fast.failed,
                            fast.pending,
                            fast.handoffs
                        ),
                        (
                            exact.total,
                            exact.succeeded,
                            exact.failed,
                            exact.pending,
                            exact.handoffs
                        ),
                        "{label}: {f:?}"
                    );
                    assert_eq!(
                        fast.failures_by_category, exact.failures_by_category,
                        "{label}"
                    );
                    assert_eq!(
                        serde_json::to_value(&fast.top_errors).unwrap(),
                        serde_json::to_value(&exact.top_errors).unwrap(),
                        "{label}"
                    );
                }
                figures(store.stats(&StatsFilter::default()).await.unwrap())
            };
            let before = check("before the fold").await;
            let (past, current) = (spread_rows(true).await, spread_rows(false).await);
            assert!(
                past > 20 && current > 0,
                "spread rows: {past} past, {current} today"
            );

            // A writer holding the rows at spread 0 of the oldest day's counts: the fold leaves
            // that day for later instead of waiting for it, and folds the rest.
            let mut writer = pool.begin().await.unwrap();
            let held: Vec<i64> = sqlx::query_scalar(
                "SELECT total FROM stats_daily WHERE spread = 0
                   AND day = (SELECT min(day) FROM stats_daily) FOR UPDATE",
            )
            .fetch_all(&mut *writer)
            .await
            .unwrap();
            assert!(!held.is_empty());
            let t = std::time::Instant::now();
            let first = store.fold_rollup_spread(today - 1).await.unwrap();
            assert_eq!(first.skipped, 1, "{first:?}");
            assert!(t.elapsed() < std::time::Duration::from_secs(5));
            assert!(spread_rows(true).await > 0, "the held day is left");
            assert_eq!(check("beside a writer").await, before);
            writer.rollback().await.unwrap();
            let folded = store.fold_rollup_spread(today - 1).await.unwrap();
            assert_eq!(folded.skipped, 0, "{folded:?}");
            assert_eq!(
                first.rows + folded.rows,
                past as u64,
                "{first:?} {folded:?}"
            );
            assert_eq!(spread_rows(true).await, 0, "past days keep no spread rows");
            assert_eq!(
                spread_rows(false).await,
                current,
                "today's rows stay spread"
            );
            let after = check("after the fold").await;
            assert_eq!(before, after, "the fold changed a figure");
            store.vacuum_rollups().await.unwrap();

            // A late change to a folded day (a pending attempt finishing) still counts.
            exec(
                &pool,
                format!(
                    "UPDATE attempts SET status = 'succeeded', duration_ms = 90,
                         finished_at = started_at + 90
                     WHERE status = 'pending' AND started_at < {}",
                    (today - 1) * day
                ),
            )
            .await;
            let late = check("after a late change").await;
            assert_ne!(late["pending"], before["pending"], "the change was seen");
            assert!(store.fold_rollup_spread(today - 1).await.unwrap().rows > 0);
            assert_eq!(
                store.fold_rollup_spread(today - 1).await.unwrap(),
                Default::default(),
                "a second fold has nothing to do"
            );
            assert_eq!(check("after folding the late change").await, late);
            pool.close().await;
            app.close().await;
        },
        drop_schema(&admin, &schema),
    )
    .await;
}

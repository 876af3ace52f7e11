//! Handoffs as their own figures: each handoff's state (delivered, undelivered, pending) through
//! real deliveries to a loopback target, retries and bulk retries; their counts in `stats`
//! (rollups and the exact reference, every filter, a window by creation time); the handoff
//! list in the store, the CLI and the HTTP API; a store and an export from before handoffs had
//! an origin; and a bulk retry that skips what was delivered since.

mod common;

use common::{Reply, Served, Sink, TestApp, cli};
use handoff_console::App;
use handoff_console::attempts::{HandoffState, RetryFilter, Status, Trigger};
use handoff_console::export::ExportFilter;
use handoff_console::ids::IntegrationId;
use handoff_console::service::requests::HandoffsQuery;
use handoff_console::service::{TestData, TestRequest};
use handoff_console::stats::{HandoffCounts, StatsFilter};
use handoff_console::store::STORE_FILE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const D0: i64 = 1_767_225_600_000;
const D1: i64 = D0 + DAY;
const D2: i64 = D0 + 2 * DAY;
/// The migration this file is about.
const ORIGIN_MIGRATION: &str = "20261202120000_handoff_origin.sql";

fn config(name: &str, url: &str, retry: Value) -> Value {
    json!({
        "name": name, "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true},
                   {"name": "email", "type": "email"}],
        "api": {"endpoint": format!("{url}/patients"), "method": "POST",
                "payloadStructure": {"name": "{{fullName}}", "email": "{{email}}"}},
        "retry": retry
    })
}

fn data() -> Value {
    json!({"fullName": "Ann Lee", "email": "ann@example.com"})
}

fn counts(total: u64, delivered: u64, undelivered: u64, pending: u64) -> HandoffCounts {
    HandoffCounts {
        total,
        delivered,
        undelivered,
        pending,
    }
}

/// The handoff counts for `f`, from the rollups, after checking they equal the exact ones.
async fn handoffs(app: &App, f: &StatsFilter) -> HandoffCounts {
    let fast = app.stats(f, false).await.expect("stats").handoffs;
    let exact = app.stats(f, true).await.expect("exact stats").handoffs;
    assert_eq!(
        fast, exact,
        "rollups and the exact count disagree for {f:?}"
    );
    assert_eq!(
        fast.total,
        fast.delivered + fast.undelivered + fast.pending,
        "{fast:?}"
    );
    fast
}

#[tokio::test]
async fn handoff_counts_follow_each_handoff_to_what_became_of_it() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(config("emr", &sink.url, json!({"maxAttempts": 1})))
        .await;
    // Its retries are an hour apart: a failure waits for its retry.
    t.add(config(
        "lab",
        &sink.url,
        json!({"maxAttempts": 3, "baseDelayMs": 3_600_000, "maxDelayMs": 3_600_000}),
    ))
    .await;
    let app = &t.app;
    let all = StatsFilter::default();

    // Delivered at once.
    let delivered = app
        .send("emr", "s-delivered", data(), Trigger::Live)
        .await
        .unwrap();
    assert!(delivered.success);
    // Failed for good, then retried by hand and delivered.
    sink.then([Reply::status(503)]);
    let fixed = app
        .send("emr", "s-fixed", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(fixed.handoff_status, Status::Failed);
    assert_eq!(handoffs(app, &all).await, counts(2, 1, 1, 0));
    let retried = app.retry_attempt(fixed.attempt_id).await.unwrap();
    assert!(retried.success);
    assert_eq!(
        handoffs(app, &all).await,
        counts(2, 2, 0, 0),
        "a handoff whose retry was delivered is delivered"
    );
    // Two that fail for good, then a bulk retry delivers both.
    sink.then([Reply::status(500), Reply::status(500)]);
    for s in ["s-bulk-1", "s-bulk-2"] {
        let r = app.send("emr", s, data(), Trigger::Live).await.unwrap();
        assert_eq!(r.handoff_status, Status::Failed);
    }
    assert_eq!(handoffs(app, &all).await, counts(4, 2, 2, 0));
    let bulk = app
        .retry_failed(&RetryFilter::default(), false, &|_, _| {})
        .await
        .unwrap();
    assert_eq!((bulk.matched, bulk.results.len()), (2, 2));
    assert!(bulk.results.iter().all(|r| r.success));
    assert_eq!(handoffs(app, &all).await, counts(4, 4, 0, 0));
    // A failure whose automatic retry is scheduled: its handoff is stored as pending, but it is
    // waiting, not under way: undelivered.
    sink.then([Reply::status(503)]);
    let waiting = app
        .send("lab", "s-waiting", data(), Trigger::Live)
        .await
        .unwrap();
    assert_eq!(waiting.handoff_status, Status::Pending);
    assert!(waiting.next_retry_at.is_some());
    assert_eq!(handoffs(app, &all).await, counts(5, 4, 1, 0));
    // A configuration test sends too (trigger test), and is not a handoff.
    let report = app
        .run_test(
            "emr",
            TestRequest {
                data: TestData::Custom(data()),
                preview: false,
                commit: false,
            },
        )
        .await
        .unwrap();
    assert!(report.outcome.success, "{:?}", report.outcome);
    assert_eq!(handoffs(app, &all).await, counts(5, 4, 1, 0));
    let s = app.stats(&all, false).await.unwrap();
    assert_eq!(s.total, 9, "every attempt still counts, the test's too");
    assert_eq!(s.failed, 4, "the failed attempts stay failed attempts");
    // One under way: the target holds the request while the counts are read.
    sink.then([Reply::json(201, json!({"id": "late"})).delay(Duration::from_millis(1500))]);
    let before = sink.count();
    let sending = app.send("emr", "s-in-flight", data(), Trigger::Live);
    let during = async {
        while sink.count() == before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handoffs(app, &all).await
    };
    let (sent, during) = tokio::join!(sending, during);
    assert_eq!(during, counts(6, 4, 1, 1), "in flight: pending");
    assert!(sent.unwrap().success);
    assert_eq!(handoffs(app, &all).await, counts(6, 5, 1, 0));

    // Which trigger: an origin, or retried at least once; tests are never handoffs.
    let by = |trigger| StatsFilter {
        trigger: Some(trigger),
        ..StatsFilter::default()
    };
    assert_eq!(handoffs(app, &by(Trigger::Live)).await, counts(6, 5, 1, 0));
    assert_eq!(handoffs(app, &by(Trigger::Retry)).await, counts(3, 3, 0, 0));
    assert_eq!(
        handoffs(app, &by(Trigger::Webhook)).await,
        counts(0, 0, 0, 0)
    );
    assert_eq!(handoffs(app, &by(Trigger::Test)).await, counts(0, 0, 0, 0));

    // The list says the same, one row per handoff, no test among them.
    let rows = app.handoffs_query(&HandoffsQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.session_id.starts_with("s-")));
    let row = |s: &str| rows.iter().find(|r| r.session_id == s).unwrap();
    let fixed_row = row("s-fixed");
    assert_eq!(fixed_row.status, HandoffState::Delivered);
    assert_eq!(fixed_row.attempts, 2);
    assert_eq!(fixed_row.last_attempt_id, Some(retried.attempt_id));
    assert_eq!(fixed_row.last_category, None);
    let waiting_row = row("s-waiting");
    assert_eq!(waiting_row.status, HandoffState::Undelivered);
    assert_eq!(waiting_row.last_status_code, Some(503));
    assert_eq!(
        waiting_row.last_category,
        Some(handoff_console::targets::ErrorCategory::Server)
    );
    assert_eq!(waiting_row.next_retry_at, waiting.next_retry_at);
    assert_eq!(waiting_row.integration_name, "lab");
    // Newest first (the last one sent is in flight).
    assert_eq!(rows[0].session_id, "s-in-flight");
    assert!(rows.windows(2).all(|w| w[0].created_at >= w[1].created_at));

    // show-attempt's handoff speaks the same vocabulary.
    let (first, _) = app.attempt(fixed.attempt_id).await.unwrap();
    assert_eq!(first.handoff.status, Status::Succeeded);
    assert_eq!(first.handoff.state, HandoffState::Delivered);
    assert_eq!(first.handoff.next_retry_at, None);
    let (w, _) = app.attempt(waiting.attempt_id).await.unwrap();
    assert_eq!(w.handoff.status, Status::Pending);
    assert_eq!(w.handoff.state, HandoffState::Undelivered);
    assert_eq!(w.handoff.next_retry_at, waiting.next_retry_at);
}

/// One handoff as the window test writes it, with its tries.
struct Handoff {
    integration: IntegrationId,
    session: &'static str,
    origin: &'static str,
    created_at: i64,
    /// Each try's start and outcome.
    tries: &'static [(i64, &'static str)],
    /// The handoff's stored status, in flight or not, and a scheduled retry.
    status: &'static str,
    in_flight: bool,
    next_attempt_at: Option<i64>,
}

async fn pool(dir: &Path) -> SqlitePool {
    SqlitePool::connect(&format!("sqlite://{}", dir.join(STORE_FILE).display()))
        .await
        .expect("open the store file")
}

/// Writes handoffs and their attempts straight into a store of the current schema: each
/// handoff goes in as its first attempt left it (in flight), then takes its final state, as the
/// console's own writes do (so the rollup triggers see both).
async fn record(pool: &SqlitePool, list: &[Handoff]) {
    for h in list {
        // Ids as the console makes them.
        let id = uuid::Uuid::now_v7().to_string();
        let attempt_ids: Vec<String> = h
            .tries
            .iter()
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let last = attempt_ids.last().cloned();
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, in_flight_until,
                                   last_attempt_id, created_at, updated_at, origin, integration_name)
             VALUES (?, ?, ?, 'pending', '{}', 1, ?, ?, ?, ?, ?, 'n')",
        )
        .bind(&id)
        .bind(h.integration.to_string())
        .bind(h.session)
        .bind(h.created_at + 60_000)
        .bind(&last)
        .bind(h.created_at)
        .bind(h.created_at)
        .bind(h.origin)
        .execute(pool)
        .await
        .unwrap();
        for (n, (started, status)) in h.tries.iter().enumerate() {
            let trigger = if n == 0 { h.origin } else { "retry" };
            sqlx::query(
                "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                       attempt_number, status, category, message, started_at)
                 VALUES (?, ?, ?, 'n', ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&attempt_ids[n])
            .bind(&id)
            .bind(h.integration.to_string())
            .bind(h.session)
            .bind(trigger)
            .bind(n as i64 + 1)
            .bind(status)
            .bind((*status == "failed").then_some("server"))
            .bind(if *status == "failed" { "503" } else { "201" })
            .bind(started)
            .execute(pool)
            .await
            .unwrap();
        }
        let updated = h.tries.last().map_or(h.created_at, |t| t.0);
        sqlx::query(
            "UPDATE handoffs SET status = ?, attempts = ?, in_flight_until = ?, next_attempt_at = ?,
                    updated_at = ? WHERE id = ?",
        )
        .bind(h.status)
        .bind(h.tries.len() as i64)
        .bind(h.in_flight.then_some(updated + 60_000))
        .bind(h.next_attempt_at)
        .bind(updated)
        .bind(&id)
        .execute(pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn filters_and_a_window_by_creation_time_select_the_handoffs_counted() {
    let t = TestApp::new().await;
    let (a, b) = (IntegrationId::new(), IntegrationId::new());
    let h = |integration, session, origin, created_at, tries, status| Handoff {
        integration,
        session,
        origin,
        created_at,
        tries,
        status,
        in_flight: false,
        next_attempt_at: None,
    };
    let list = [
        h(
            a,
            "s-1",
            "live",
            D0 + HOUR,
            &[(D0 + HOUR, "succeeded")],
            "succeeded",
        ),
        // Created late on D0, delivered by its retry on D1: it counts on D0.
        h(
            a,
            "s-2",
            "live",
            D0 + 23 * HOUR,
            &[(D0 + 23 * HOUR, "failed"), (D1 + HOUR, "succeeded")],
            "succeeded",
        ),
        h(
            b,
            "s-3",
            "webhook",
            D1 + 2 * HOUR,
            &[(D1 + 2 * HOUR, "failed")],
            "failed",
        ),
        h(
            a,
            "s-4",
            "test",
            D1 + 3 * HOUR,
            &[(D1 + 3 * HOUR, "failed")],
            "failed",
        ),
        Handoff {
            in_flight: true,
            ..h(
                b,
                "s-5",
                "live",
                D1 + 12 * HOUR,
                &[(D1 + 12 * HOUR, "pending")],
                "pending",
            )
        },
        Handoff {
            next_attempt_at: Some(D2 + 9 * HOUR),
            ..h(
                a,
                "s-6",
                "live",
                D2 + HOUR,
                &[(D2 + HOUR, "failed"), (D2 + 3 * HOUR, "failed")],
                "pending",
            )
        },
        h(
            b,
            "s-2",
            "live",
            D2 + 5 * HOUR,
            &[
                (D2 + 5 * HOUR, "failed"),
                (D2 + 6 * HOUR, "failed"),
                (D2 + 7 * HOUR, "failed"),
            ],
            "failed",
        ),
    ];
    let pool = pool(t.dir.path()).await;
    record(&pool, &list).await;
    pool.close().await;
    let app = &t.app;
    let f = |since: Option<i64>, until: Option<i64>| StatsFilter {
        since_ms: since,
        until_ms: until,
        ..StatsFilter::default()
    };

    assert_eq!(handoffs(app, &f(None, None)).await, counts(6, 2, 3, 1));
    // Whole days: h2 was retried on D1, but it was created on D0.
    assert_eq!(handoffs(app, &f(Some(D1), None)).await, counts(4, 0, 3, 1));
    assert_eq!(handoffs(app, &f(None, Some(D1))).await, counts(2, 2, 0, 0));
    // Both edges cut days: [D0 12:00, D2 02:00) holds h2, h3, h5, h6.
    let cut = f(Some(D0 + 12 * HOUR), Some(D2 + 2 * HOUR));
    assert_eq!(handoffs(app, &cut).await, counts(4, 1, 2, 1));
    // Inside one day.
    assert_eq!(
        handoffs(app, &f(Some(D1 + HOUR), Some(D1 + 13 * HOUR))).await,
        counts(2, 0, 1, 1)
    );
    assert_eq!(
        handoffs(app, &f(Some(D1 + 13 * HOUR), Some(D2))).await,
        counts(0, 0, 0, 0)
    );
    let of = |integration| StatsFilter {
        integration: Some(integration),
        ..StatsFilter::default()
    };
    assert_eq!(handoffs(app, &of(a)).await, counts(3, 2, 1, 0));
    assert_eq!(handoffs(app, &of(b)).await, counts(3, 0, 2, 1));
    assert_eq!(
        handoffs(
            app,
            &StatsFilter {
                integration: Some(b),
                ..cut.clone()
            }
        )
        .await,
        counts(2, 0, 1, 1)
    );
    let session = StatsFilter {
        session: Some("s-2".into()),
        ..StatsFilter::default()
    };
    assert_eq!(handoffs(app, &session).await, counts(2, 1, 1, 0));
    assert_eq!(
        handoffs(
            app,
            &StatsFilter {
                session: Some("s-4".into()),
                ..StatsFilter::default()
            }
        )
        .await,
        counts(0, 0, 0, 0),
        "a test's session has no handoff"
    );
    let by = |trigger| StatsFilter {
        trigger: Some(trigger),
        ..StatsFilter::default()
    };
    assert_eq!(handoffs(app, &by(Trigger::Live)).await, counts(5, 2, 2, 1));
    assert_eq!(
        handoffs(app, &by(Trigger::Webhook)).await,
        counts(1, 0, 1, 0)
    );
    assert_eq!(handoffs(app, &by(Trigger::Retry)).await, counts(3, 1, 2, 0));
    assert_eq!(handoffs(app, &by(Trigger::Test)).await, counts(0, 0, 0, 0));
    assert_eq!(
        handoffs(
            app,
            &StatsFilter {
                trigger: Some(Trigger::Retry),
                ..f(Some(D1), None)
            }
        )
        .await,
        counts(2, 0, 2, 0)
    );

    // The list's totals agree with the counts, state by state, in the same window.
    let cut_query = |status| HandoffsQuery {
        status,
        since: Some("2026-01-01T12:00:00Z".into()),
        until: Some("2026-01-03T02:00:00Z".into()),
        ..HandoffsQuery::default()
    };
    let page = app.handoffs_page_query(&cut_query(None)).await.unwrap();
    assert_eq!(page.total, 4);
    let mut sessions: Vec<&str> = page.rows.iter().map(|r| r.session_id.as_str()).collect();
    sessions.sort();
    assert_eq!(sessions, ["s-2", "s-3", "s-5", "s-6"]);
    for (state, n) in [
        (HandoffState::Delivered, 1),
        (HandoffState::Undelivered, 2),
        (HandoffState::Pending, 1),
    ] {
        let page = app
            .handoffs_page_query(&cut_query(Some(state)))
            .await
            .unwrap();
        assert_eq!(page.total, n, "{state:?}");
        assert!(page.rows.iter().all(|r| r.status == state));
    }
}

/// Rows as the previous schema held them (no origin, no name on the handoff): a live handoff
/// failed, then delivered by a retry after its integration was renamed; a configuration test;
/// a webhook's handoff that failed for good.
async fn record_old_schema(pool: &SqlitePool, integration: IntegrationId) {
    let id = || uuid::Uuid::now_v7().to_string();
    let handoff = |id: &str, session: &str, status: &str, attempts: i64, last: &str, at: i64| {
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
                                   last_attempt_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(integration.to_string())
        .bind(session.to_string())
        .bind(status.to_string())
        .bind(attempts)
        .bind(last.to_string())
        .bind(at)
        .bind(at)
    };
    let attempt = |id: &str,
                   handoff: &str,
                   session: &str,
                   name: &str,
                   trigger: &str,
                   n: i64,
                   status: &str| {
        sqlx::query(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, category, message, started_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'm', ?)",
        )
        .bind(id.to_string())
        .bind(handoff.to_string())
        .bind(integration.to_string())
        .bind(name.to_string())
        .bind(session.to_string())
        .bind(trigger.to_string())
        .bind(n)
        .bind(status.to_string())
        .bind((status == "failed").then_some("server"))
        .bind(D0 + n * HOUR)
    };
    let (live, live_1, live_2) = (id(), id(), id());
    handoff(&live, "s-live", "succeeded", 2, &live_2, D0)
        .execute(pool)
        .await
        .unwrap();
    attempt(&live_1, &live, "s-live", "emr", "live", 1, "failed")
        .execute(pool)
        .await
        .unwrap();
    attempt(
        &live_2,
        &live,
        "s-live",
        "emr (renamed)",
        "retry",
        2,
        "succeeded",
    )
    .execute(pool)
    .await
    .unwrap();
    let (test, test_1) = (id(), id());
    handoff(&test, "s-test", "failed", 1, &test_1, D0 + HOUR)
        .execute(pool)
        .await
        .unwrap();
    attempt(&test_1, &test, "s-test", "emr", "test", 1, "failed")
        .execute(pool)
        .await
        .unwrap();
    let (hook, hook_1) = (id(), id());
    handoff(&hook, "s-hook", "failed", 1, &hook_1, D0 + 2 * HOUR)
        .execute(pool)
        .await
        .unwrap();
    attempt(&hook_1, &hook, "s-hook", "emr", "webhook", 1, "failed")
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_store_from_before_handoff_origins_is_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::store_migrated_before(dir.path(), ORIGIN_MIGRATION).await;
    let integration = IntegrationId::new();
    record_old_schema(&pool, integration).await;
    pool.close().await;

    let app = App::open(dir.path()).await.unwrap();
    let origins: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT session_id, origin, integration_name FROM handoffs ORDER BY session_id",
    )
    .fetch_all(&pool_of(&app).await)
    .await
    .unwrap();
    assert_eq!(
        origins,
        [
            ("s-hook".into(), "webhook".into(), "emr".into()),
            ("s-live".into(), "live".into(), "emr (renamed)".into()),
            ("s-test".into(), "test".into(), "emr".into()),
        ]
    );
    // Counted (from the backfilled rollups) without the test.
    assert_eq!(
        handoffs(&app, &StatsFilter::default()).await,
        counts(2, 1, 1, 0)
    );
    let webhook = StatsFilter {
        trigger: Some(Trigger::Webhook),
        ..StatsFilter::default()
    };
    assert_eq!(handoffs(&app, &webhook).await, counts(1, 0, 1, 0));
    let rows = app.handoffs_query(&HandoffsQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 2);
    let live = rows.iter().find(|r| r.session_id == "s-live").unwrap();
    assert_eq!(live.integration_name, "emr (renamed)");
    assert_eq!((live.attempts, live.status), (2, HandoffState::Delivered));
    // A bulk retry takes the webhook's failure, never the test's.
    let dry = app
        .retry_failed(&RetryFilter::default(), true, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(dry.matched, 1);
    assert_eq!(dry.already_delivered, 1, "live's first attempt");
    app.close().await;
}

async fn pool_of(app: &App) -> SqlitePool {
    pool(app.data_dir()).await
}

#[tokio::test]
async fn an_export_from_before_handoff_origins_is_read_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::store_migrated_before(dir.path(), ORIGIN_MIGRATION).await;
    record_old_schema(&pool, IntegrationId::new()).await;
    // What `export` wrote then: the store's schema plus export_meta.
    sqlx::raw_sql(
        "CREATE TABLE export_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
         INSERT INTO export_meta VALUES ('format', 'handoff-console-history'), ('version', '1');",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let file = dir.path().join(STORE_FILE);

    let app = App::open_history(&file).await.unwrap();
    assert_eq!(
        handoffs(&app, &StatsFilter::default()).await,
        counts(2, 1, 1, 0)
    );
    let page = app
        .handoffs_page_query(&HandoffsQuery {
            sort: Some(handoff_console::attempts::HandoffSort::Integration),
            order: Some(handoff_console::attempts::SortOrder::Asc),
            ..HandoffsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    let names: Vec<&str> = page
        .rows
        .iter()
        .map(|r| r.integration_name.as_str())
        .collect();
    assert_eq!(names, ["emr", "emr (renamed)"]);
    let undelivered = app
        .handoffs_page_query(&HandoffsQuery {
            status: Some(HandoffState::Undelivered),
            ..HandoffsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(undelivered.total, 1);
    assert_eq!(undelivered.rows[0].session_id, "s-hook");
    // The attempt view's handoff has its state too.
    let attempt = app
        .history_query(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.session_id == "s-live" && a.attempt_number == 1)
        .unwrap();
    let view = app.attempt_view(attempt.attempt_id).await.unwrap();
    assert_eq!(view.attempt.handoff.state, HandoffState::Delivered);
    assert_eq!(view.retry_chain.len(), 2);
    app.close().await;
}

/// Runs the binary on `dir`; answers the exit code, stdout and stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = cli()
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HANDOFF_DATA_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"))
}

const ROW_KEYS: [&str; 13] = [
    "handoffId",
    "integrationId",
    "integrationName",
    "sessionId",
    "status",
    "attempts",
    "lastAttemptId",
    "lastCategory",
    "lastStatusCode",
    "lastMessage",
    "createdAt",
    "updatedAt",
    "nextRetryAt",
];

fn assert_row_shape(row: &Value) {
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ROW_KEYS, "exactly these keys, in this order: {row}");
    for key in [
        "handoffId",
        "integrationId",
        "integrationName",
        "sessionId",
        "lastMessage",
    ] {
        assert!(row[key].is_string(), "{key}: {row}");
    }
    assert!(
        ["delivered", "undelivered", "pending"].contains(&row["status"].as_str().unwrap()),
        "{row}"
    );
    assert!(row["attempts"].as_u64().unwrap() >= 1, "{row}");
    assert!(row["lastAttemptId"].is_string() || row["lastAttemptId"].is_null());
    assert!(row["lastCategory"].is_string() || row["lastCategory"].is_null());
    assert!(row["lastStatusCode"].is_u64() || row["lastStatusCode"].is_null());
    for key in ["createdAt", "updatedAt"] {
        chrono::DateTime::parse_from_rfc3339(row[key].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{key} is not RFC 3339 ({e}): {row}"));
    }
    match &row["nextRetryAt"] {
        Value::Null => {}
        Value::String(t) => {
            chrono::DateTime::parse_from_rfc3339(t).unwrap();
        }
        other => panic!("nextRetryAt: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_handoffs_command_prints_rows_newest_first_filters_by_status_and_reads_history_files() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(config("emr", &sink.url, json!({"maxAttempts": 1})))
        .await;
    let delivered = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    sink.then([Reply::json(422, json!({"message": "phone is not valid"}))]);
    let failed = t
        .app
        .send("emr", "s-2", data(), Trigger::Live)
        .await
        .unwrap();
    assert!(!failed.success);
    t.app
        .run_test(
            "emr",
            TestRequest {
                data: TestData::Custom(data()),
                preview: false,
                commit: false,
            },
        )
        .await
        .unwrap();
    let file = t.dir.path().join("export.history");
    t.app
        .export_history(&file, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    t.app.close().await;
    let dir = t.dir.path().to_str().unwrap();

    let (code, out, err) = run(&["--data-dir", dir, "handoffs", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_of(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "the configuration test is not listed: {out}");
    rows.iter().for_each(assert_row_shape);
    assert_eq!(rows[0]["sessionId"], "s-2", "newest first");
    assert_eq!(rows[0]["status"], "undelivered");
    assert_eq!(rows[0]["lastCategory"], "validation");
    assert_eq!(rows[0]["lastStatusCode"], 422);
    assert_eq!(rows[0]["lastAttemptId"], failed.attempt_id.to_string());
    assert_eq!(rows[0]["handoffId"], failed.handoff_id.to_string());
    assert_eq!(rows[0]["integrationName"], "emr");
    assert_eq!(rows[0]["attempts"], 1);
    assert_eq!(rows[1]["sessionId"], "s-1");
    assert_eq!(rows[1]["status"], "delivered");
    assert_eq!(rows[1]["lastCategory"], Value::Null);
    assert_eq!(rows[1]["handoffId"], delivered.handoff_id.to_string());

    let (code, out, _) = run(&[
        "--data-dir",
        dir,
        "handoffs",
        "--status",
        "delivered",
        "--json",
    ]);
    assert_eq!(code, 0);
    let only = json_of(&out);
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["sessionId"], "s-1");
    let (code, out, _) = run(&["--data-dir", dir, "handoffs", "--session", "s-2", "--json"]);
    assert_eq!((code, json_of(&out).as_array().unwrap().len()), (0, 1));
    let (code, out, _) = run(&["--data-dir", dir, "handoffs", "--limit", "1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json_of(&out)[0]["sessionId"], "s-2");
    let (code, out, _) = run(&["--data-dir", dir, "handoffs", "--status", "lost", "--json"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        json_of(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lost")
    );
    let (code, out, _) = run(&[
        "--data-dir",
        dir,
        "handoffs",
        "--integration",
        "nope",
        "--json",
    ]);
    assert_eq!(code, 2, "{out}");

    // Human output: one line per handoff with its state and its last attempt.
    let (code, out, _) = run(&["--data-dir", dir, "handoffs"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[1].contains("undelivered") && lines[1].contains("validation"),
        "{out}"
    );
    assert!(
        lines[1].contains("s-2") && lines[1].contains("422"),
        "{out}"
    );
    assert!(
        lines[2].contains("delivered") && lines[2].contains("s-1"),
        "{out}"
    );

    // The same from the history file, read-only.
    let file = file.to_str().unwrap();
    let (code, out, err) = run(&["--history-file", file, "handoffs", "--json"]);
    assert_eq!(code, 0, "{err}");
    let from_file = json_of(&out);
    assert_eq!(from_file.as_array().unwrap(), rows);
    let (code, out, _) = run(&[
        "--history-file",
        file,
        "handoffs",
        "--status",
        "undelivered",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(json_of(&out).as_array().unwrap().len(), 1);

    // stats --json carries the handoff counts next to the attempt figures, --exact the same.
    for extra in [None, Some("--exact")] {
        let mut args = vec!["--data-dir", dir, "stats", "--json"];
        args.extend(extra);
        let (code, out, _) = run(&args);
        assert_eq!(code, 0);
        let s = json_of(&out);
        assert_eq!(
            s["handoffs"],
            json!({"total": 2, "delivered": 1, "undelivered": 1, "pending": 0}),
            "{s}"
        );
        assert_eq!(s["total"], 3, "attempts: two sends and the test");
    }
    let (_, out, _) = run(&["--history-file", file, "stats", "--json"]);
    assert_eq!(json_of(&out)["handoffs"]["total"], 2);
    let (_, out, _) = run(&["--data-dir", dir, "stats"]);
    assert!(
        out.contains("2 handoffs: 1 delivered, 1 undelivered, 0 pending"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_retry_skips_what_was_delivered_since_and_that_is_no_failure() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(config("emr", &sink.url, json!({"maxAttempts": 1})))
        .await;
    sink.then([Reply::status(500), Reply::status(500)]);
    let first = t
        .app
        .send("emr", "s-1", data(), Trigger::Live)
        .await
        .unwrap();
    t.app
        .send("emr", "s-2", data(), Trigger::Live)
        .await
        .unwrap();
    // s-1 is retried by hand and delivered.
    assert!(t.app.retry_attempt(first.attempt_id).await.unwrap().success);
    t.app.close().await;
    let dir = t.dir.path().to_str().unwrap();

    let (code, out, _) = run(&[
        "--data-dir",
        dir,
        "retry",
        "--failed",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0);
    let dry = json_of(&out);
    assert_eq!(
        (dry["matched"].as_u64(), dry["alreadyDelivered"].as_u64()),
        (Some(1), Some(1))
    );
    let (code, out, _) = run(&["--data-dir", dir, "retry", "--failed", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("skipped 1 failed attempt(s) whose handoff was delivered since"),
        "{out}"
    );

    // s-2 is delivered by the bulk retry; s-1's failed attempt is skipped: exit 0.
    let (code, out, err) = run(&["--data-dir", dir, "retry", "--failed"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 matched: 1 delivered"), "{out}");
    assert!(
        out.contains("skipped 1 failed attempt(s) whose handoff was delivered since"),
        "{out}"
    );
    // Nothing left to retry: still no failure; both failed attempts are now behind delivered
    // handoffs.
    let (code, out, _) = run(&["--data-dir", dir, "retry", "--failed", "--json"]);
    assert_eq!(code, 0, "{out}");
    let bulk = json_of(&out);
    assert_eq!(
        (bulk["matched"].as_u64(), bulk["alreadyDelivered"].as_u64()),
        (Some(0), Some(2))
    );

    // A retried handoff that fails again is a failure (exit 1).
    let app = App::open(t.dir.path()).await.unwrap();
    sink.then([Reply::status(500), Reply::status(500)]);
    app.send("emr", "s-3", data(), Trigger::Live).await.unwrap();
    app.close().await;
    let (code, out, _) = run(&["--data-dir", dir, "retry", "--failed", "--json"]);
    assert_eq!(code, 1, "{out}");
    let bulk = json_of(&out);
    assert_eq!(
        (bulk["matched"].as_u64(), bulk["alreadyDelivered"].as_u64()),
        (Some(1), Some(2))
    );
    // The filter applies to what is skipped too.
    let (_, out, _) = run(&[
        "--data-dir",
        dir,
        "retry",
        "--failed",
        "--dry-run",
        "--category",
        "timeout",
        "--json",
    ]);
    assert_eq!(json_of(&out)["alreadyDelivered"], 0);
}

/// A served console with `n` handoffs over two integrations (`emr` for the even ones, every third
/// refused with 422; `lab` for the odd ones), and a configuration test.
async fn served(n: usize) -> (Served, Sink) {
    let sink = Sink::start().await;
    let s = Served::start().await;
    for name in ["emr", "lab"] {
        let c = serde_json::from_value(config(name, &sink.url, json!({"maxAttempts": 1}))).unwrap();
        s.app.add_integration(c).await.unwrap();
    }
    for i in 0..n {
        let reply = if i % 3 == 0 {
            Reply::json(422, json!({"message": "rejected by the clinic"}))
        } else {
            Reply::json(201, json!({"id": format!("sub-{i}")}))
        };
        sink.then([reply]);
        let integration = if i % 2 == 0 { "emr" } else { "lab" };
        s.app
            .send(integration, &format!("sess-{i:02}"), data(), Trigger::Live)
            .await
            .unwrap();
    }
    s.app
        .run_test(
            "emr",
            TestRequest {
                data: TestData::Custom(data()),
                preview: false,
                commit: false,
            },
        )
        .await
        .unwrap();
    (s, sink)
}

async fn get(s: &Served, path: &str) -> Value {
    let (status, body) = s.call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn invalid_field(s: &Served, path: &str) -> String {
    let (status, body) = s.call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(body["error"]["kind"], "invalid", "{body}");
    body["error"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A cell as it sorts: times by the instant (their text may or may not have a fraction), the
/// rest as written.
fn sort_value(v: &Value) -> String {
    match v.as_str().map(chrono::DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => format!("{:020}", t.timestamp_millis()),
        _ => v.to_string(),
    }
}

fn rows(page: &Value) -> &Vec<Value> {
    page["rows"].as_array().unwrap()
}

#[tokio::test]
async fn the_handoff_routes_list_page_sort_and_search_and_name_bad_fields() {
    let (s, _sink) = served(30).await;

    let list = get(&s, "/handoffs").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 30, "the test is not listed");
    list.iter().for_each(assert_row_shape);
    assert_eq!(list[0]["sessionId"], "sess-29", "newest activity first");
    assert_eq!(
        get(&s, "/handoffs?limit=5").await.as_array().unwrap().len(),
        5
    );
    let undelivered = get(&s, "/handoffs?status=undelivered&limit=100").await;
    assert_eq!(undelivered.as_array().unwrap().len(), 10);

    // Pages: an offset and the total; they neither overlap nor skip.
    let mut seen = std::collections::HashSet::new();
    for offset in [0, 10, 20, 30] {
        let page = get(&s, &format!("/handoffs/page?limit=10&offset={offset}")).await;
        assert_eq!(
            (page["total"].as_u64(), page["offset"].as_u64()),
            (Some(30), Some(offset))
        );
        assert_eq!(rows(&page).len(), if offset == 30 { 0 } else { 10 });
        for r in rows(&page) {
            assert!(seen.insert(r["handoffId"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), 30);
    let page = get(&s, "/handoffs/page").await;
    assert_eq!(rows(&page).len(), 30, "a page holds 100 unless told");

    // Every sort orders its column, both ways (ties by creation time).
    for (sort, key) in [
        ("updatedAt", "updatedAt"),
        ("createdAt", "createdAt"),
        ("status", "status"),
        ("integration", "integrationName"),
        ("sessionId", "sessionId"),
        ("attempts", "attempts"),
    ] {
        for order in ["asc", "desc"] {
            let page = get(
                &s,
                &format!("/handoffs/page?sort={sort}&order={order}&limit=100"),
            )
            .await;
            let values: Vec<String> = rows(&page).iter().map(|r| sort_value(&r[key])).collect();
            let mut sorted = values.clone();
            sorted.sort();
            if order == "desc" {
                sorted.reverse();
            }
            assert_eq!(values, sorted, "{sort} {order}");
            assert_eq!(page["total"], 30);
        }
    }
    let by_state = get(&s, "/handoffs/page?sort=status&limit=100").await;
    assert_eq!(
        rows(&by_state)[0]["status"],
        "undelivered",
        "needs attention first"
    );

    // Filters and search.
    let validation = get(&s, "/handoffs/page?category=validation&limit=100").await;
    assert_eq!(validation["total"], 10);
    assert!(
        rows(&validation)
            .iter()
            .all(|r| r["lastCategory"] == "validation")
    );
    let lab = get(&s, "/handoffs/page?integration=lab&limit=100").await;
    assert_eq!(lab["total"], 15);
    assert!(rows(&lab).iter().all(|r| r["integrationName"] == "lab"));
    let by_session = get(&s, "/handoffs/page?q=sess-1&limit=100").await;
    assert_eq!(by_session["total"], 10, "sess-10 to sess-19");
    let by_name = get(&s, "/handoffs/page?q=LAB&limit=100").await;
    assert_eq!(by_name["total"], 15, "case-insensitive integration name");
    let message = rows(&validation)[0]["lastMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("rejected by the clinic"), "{message}");
    let by_message = get(
        &s,
        &format!(
            "/handoffs/page?q={}&limit=100",
            url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(by_message["total"], 10);
    let literal = get(&s, "/handoffs/page?q=%25").await;
    assert_eq!(literal["total"], 0, "% is not a wildcard");
    let windowed = get(&s, "/handoffs/page?since=1h&until=2099-01-01").await;
    assert_eq!(windowed["total"], 30);
    let none = get(&s, "/handoffs/page?until=2020-01-01").await;
    assert_eq!(none["total"], 0);

    // Typed fields: a value that is not one of them names the field.
    for (query, field) in [
        ("status=done", "status"),
        ("status=failed", "status"),
        ("sort=when", "sort"),
        ("order=up", "order"),
        ("category=nope", "category"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=100000001", "offset"),
        ("since=yesterdayish", "since"),
    ] {
        assert_eq!(
            invalid_field(&s, &format!("/handoffs/page?{query}")).await,
            field,
            "{query}"
        );
    }
    assert_eq!(
        invalid_field(&s, &format!("/handoffs/page?q={}", "x".repeat(201))).await,
        "q"
    );
    assert_eq!(invalid_field(&s, "/handoffs?limit=10001").await, "limit");
    assert_eq!(invalid_field(&s, "/handoffs?limit=0").await, "limit");
    assert_eq!(invalid_field(&s, "/handoffs?status=lost").await, "status");
    let (status, _) = s
        .call(Method::GET, "/handoffs/page?integration=nope", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Sending still answers on the same path.
    let (status, sent) = s
        .call(
            Method::POST,
            "/handoffs",
            Some(json!({"integration": "lab", "sessionId": "sess-new", "data": data()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["handoffStatus"], "succeeded");
    // Without the token, nothing.
    let r = s
        .http
        .get(format!("{}/handoffs/page", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // stats and the bulk retry's dry run over HTTP.
    let stats = get(&s, "/stats").await;
    assert_eq!(
        stats["handoffs"],
        json!({"total": 31, "delivered": 21, "undelivered": 10, "pending": 0})
    );
    let first = &rows(&validation)[0];
    let (status, retried) = s
        .call(
            Method::POST,
            "/retries",
            Some(json!({"attemptId": first["lastAttemptId"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["success"], true);
    let (status, dry) = s
        .call(
            Method::POST,
            "/retries",
            Some(json!({"failed": true, "dryRun": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(
        (dry["matched"].as_u64(), dry["alreadyDelivered"].as_u64()),
        (Some(9), Some(1))
    );
    let row = get(
        &s,
        &format!("/handoffs?session={}", first["sessionId"].as_str().unwrap()),
    )
    .await;
    assert_eq!(row[0]["status"], "delivered");
    assert_eq!(row[0]["attempts"], 2);
}

#[tokio::test]
async fn a_history_file_pages_attempts_and_handoffs_and_shows_one_attempt() {
    let (source, _sink) = served(12).await;
    let file = source.dir.path().join("export.history");
    source
        .app
        .export_history(&file, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    let live_handoffs = get(&source, "/handoffs/page?sort=createdAt").await;
    let live_attempts = get(&source, "/attempts/page").await;

    let s = Served::start().await;
    let resp = s
        .req(Method::POST, "/history-files?name=export.history")
        .body(std::fs::read(&file).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let fid = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let handoffs = get(
        &s,
        &format!("/history-files/{fid}/handoffs/page?sort=createdAt"),
    )
    .await;
    assert_eq!(handoffs, live_handoffs, "the file lists what the store did");
    assert_eq!(handoffs["total"], 12, "tests are exported but not listed");
    let undelivered = get(
        &s,
        &format!("/history-files/{fid}/handoffs/page?status=undelivered&limit=2&offset=2"),
    )
    .await;
    assert_eq!(
        (undelivered["total"].as_u64(), rows(&undelivered).len()),
        (Some(4), 2)
    );
    assert_eq!(undelivered["offset"], 2);
    let attempts = get(&s, &format!("/history-files/{fid}/attempts/page?limit=5")).await;
    assert_eq!(attempts["total"], live_attempts["total"]);
    assert_eq!(
        attempts["total"], 13,
        "the test's attempt is in the history"
    );
    assert_eq!(rows(&attempts).len(), 5);
    let id = rows(&attempts)[0]["attemptId"].as_str().unwrap();
    let view = get(&s, &format!("/history-files/{fid}/attempts/{id}")).await;
    assert_eq!(view["attempt"]["attemptId"], id);
    assert!(view["retryChain"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(view["attempt"]["handoff"]["state"].is_string(), "{view}");
    assert!(
        view["attempt"]["handoff"].get("nextRetryAt").is_some(),
        "{view}"
    );
    assert!(
        view["attempt"]["handoff"].get("nextAttemptAt").is_none(),
        "{view}"
    );
    assert_eq!(view, get(&source, &format!("/attempts/{id}")).await);

    assert_eq!(
        invalid_field(&s, &format!("/history-files/{fid}/attempts/not-an-id")).await,
        "attemptId"
    );
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/history-files/{fid}/attempts/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        invalid_field(&s, &format!("/history-files/{fid}/handoffs/page?sort=when")).await,
        "sort"
    );
    let (status, _) = s
        .call(Method::GET, "/history-files/nope/handoffs/page", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_attempt_says_what_became_of_its_handoff() {
    let sink = Sink::start().await;
    let t = TestApp::new().await;
    t.add(config("emr", &sink.url, json!({"maxAttempts": 1})))
        .await;
    sink.then([Reply::status(503)]);
    let failed = t
        .app
        .send("emr", "call-1", data(), Trigger::Live)
        .await
        .unwrap();
    assert!(!failed.success);
    let q = handoff_console::service::requests::HistoryQuery::default();
    let rows = t.app.history_page_query(&q).await.unwrap().rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].handoff_state, HandoffState::Undelivered);
    // The retry is delivered: the failed try now belongs to a delivered handoff, in the history
    // and in the retry chain alike.
    assert!(
        t.app
            .retry_attempt(failed.attempt_id)
            .await
            .unwrap()
            .success
    );
    let rows = t.app.history_page_query(&q).await.unwrap().rows;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.handoff_state == HandoffState::Delivered),
        "{rows:?}"
    );
    let (_, chain) = t.app.attempt(failed.attempt_id).await.unwrap();
    assert_eq!(chain[0].status, Status::Failed);
    assert_eq!(chain[0].handoff_state, HandoffState::Delivered);
}

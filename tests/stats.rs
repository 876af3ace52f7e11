//! Statistics: against a hand-computed history (every filter, window edges that cut days, series
//! buckets), percentile accuracy on a large random history, rollups that follow attempts as
//! they finish, a store from before the rollups (backfilled by the migration), and the CLI.

mod common;

use common::{Reply, Sink, TestApp, cli};
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::ids::IntegrationId;
use handoff_console::stats::{SeriesBucket, Stats, StatsFilter, histogram};
use handoff_console::store::STORE_FILE;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use std::path::Path;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const D0: i64 = 1_767_225_600_000;
const D1: i64 = D0 + DAY;
const D2: i64 = D0 + 2 * DAY;

/// One recorded attempt, as the history test writes it.
struct Row {
    integration: IntegrationId,
    session: &'static str,
    trigger: &'static str,
    status: &'static str,
    category: Option<&'static str>,
    duration_ms: Option<i64>,
    message: &'static str,
    started_at: i64,
}

async fn pool(dir: &Path) -> SqlitePool {
    SqlitePool::connect(&format!("sqlite://{}", dir.join(STORE_FILE).display()))
        .await
        .expect("open the store file")
}

/// Writes attempts (each with its own handoff) straight into the store, in one transaction.
async fn record(pool: &SqlitePool, rows: &[Row]) {
    let mut tx = pool.begin().await.unwrap();
    for r in rows {
        let handoff = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, created_at, updated_at)
             VALUES (?, ?, ?, ?, '{}', 1, ?, ?)",
        )
        .bind(&handoff)
        .bind(r.integration.to_string())
        .bind(r.session)
        .bind(r.status)
        .bind(r.started_at)
        .bind(r.started_at)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, category, message, started_at, finished_at, duration_ms)
             VALUES (?, ?, ?, 'n', ?, ?, 1, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&handoff)
        .bind(r.integration.to_string())
        .bind(r.session)
        .bind(r.trigger)
        .bind(r.status)
        .bind(r.category)
        .bind(r.message)
        .bind(r.started_at)
        .bind(r.duration_ms.map(|d| r.started_at + d))
        .bind(r.duration_ms)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Ten attempts over three UTC days, two integrations (see the expectations in each test).
fn history(a: IntegrationId, b: IntegrationId) -> Vec<Row> {
    let row = |integration, trigger, status, category, duration_ms, message, started_at| Row {
        integration,
        session: if started_at == D1 + HOUR {
            "s-5"
        } else {
            "s-x"
        },
        trigger,
        status,
        category,
        duration_ms,
        message,
        started_at,
    };
    let unavailable = "503 Service Unavailable";
    vec![
        row(
            a,
            "live",
            "succeeded",
            None,
            Some(10),
            "201 Created",
            D0 + HOUR,
        ),
        row(
            a,
            "live",
            "succeeded",
            None,
            Some(20),
            "201 Created",
            D0 + 2 * HOUR,
        ),
        row(
            a,
            "live",
            "failed",
            Some("server"),
            Some(30),
            unavailable,
            D0 + 3 * HOUR,
        ),
        row(
            b,
            "live",
            "failed",
            Some("network"),
            Some(40),
            "could not connect",
            D0 + 4 * HOUR,
        ),
        row(
            a,
            "retry",
            "succeeded",
            None,
            Some(50),
            "201 Created",
            D1 + HOUR,
        ),
        row(
            a,
            "live",
            "failed",
            Some("server"),
            Some(60),
            unavailable,
            D1 + 12 * HOUR,
        ),
        row(b, "live", "pending", None, None, "", D1 + 13 * HOUR),
        row(
            b,
            "live",
            "succeeded",
            None,
            Some(250),
            "inserted",
            D2 + HOUR / 2,
        ),
        row(
            a,
            "test",
            "failed",
            Some("validation"),
            Some(70),
            "missing fullName",
            D2 + 6 * HOUR,
        ),
        row(
            a,
            "live",
            "failed",
            Some("server"),
            Some(80),
            unavailable,
            D2 + 23 * HOUR,
        ),
    ]
}

async fn seeded() -> (TestApp, IntegrationId, IntegrationId) {
    let t = TestApp::new().await;
    let (a, b) = (IntegrationId::new(), IntegrationId::new());
    let pool = pool(t.dir.path()).await;
    record(&pool, &history(a, b)).await;
    pool.close().await;
    (t, a, b)
}

fn series(s: &Stats) -> Vec<(i64, u64, u64, u64, u64)> {
    s.series
        .iter()
        .map(|p| {
            let start = p.start.timestamp_millis();
            (start, p.total, p.succeeded, p.failed, p.pending)
        })
        .collect()
}

/// The rollups give what the attempts themselves give, except that percentiles above 100 ms
/// may differ by up to 1%.
async fn assert_matches_exact(app: &App, f: &StatsFilter) -> Stats {
    let fast = app.stats(f, false).await.expect("stats");
    let exact = app.stats(f, true).await.expect("exact stats");
    assert!(!fast.exact && exact.exact);
    for (got, want) in [
        (fast.p50_ms, exact.p50_ms),
        (fast.p95_ms, exact.p95_ms),
        (fast.p99_ms, exact.p99_ms),
    ] {
        match (got, want) {
            (Some(g), Some(w)) => assert!((g - w).abs() <= w * 0.01, "{g} vs exact {w}"),
            (g, w) => assert_eq!(g, w),
        }
    }
    let same = |s: &Stats| Stats {
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        exact: false,
        ..s.clone()
    };
    assert_eq!(same(&fast), same(&exact), "{f:?}");
    fast
}

#[tokio::test]
async fn stats_match_a_hand_computed_history() {
    let (t, a, _b) = seeded().await;
    let all = assert_matches_exact(&t.app, &StatsFilter::default()).await;
    assert_eq!(
        (all.total, all.succeeded, all.failed, all.pending),
        (10, 4, 5, 1)
    );
    assert_eq!(all.success_rate, Some(4.0 / 9.0));
    // Finished durations: 10 20 30 40 50 60 70 80 250.
    assert_eq!(all.avg_ms, Some(67.8));
    assert_eq!(all.p50_ms, Some(50.0));
    // 250 ms lies in the bucket 249..=253, shown as its geometric middle.
    assert_eq!(all.p95_ms, Some(251.0));
    assert_eq!(all.p99_ms, Some(251.0));
    let by_category: Vec<(&str, u64)> = all
        .failures_by_category
        .iter()
        .map(|(c, n)| (*c, *n))
        .collect();
    assert_eq!(
        by_category,
        vec![
            ("authentication", 0),
            ("configuration", 0),
            ("network", 1),
            ("server", 3),
            ("timeout", 0),
            ("validation", 1)
        ]
    );
    let top: Vec<(&str, u64)> = all
        .top_errors
        .iter()
        .map(|e| (e.message.as_str(), e.count))
        .collect();
    assert_eq!(
        top,
        vec![
            ("503 Service Unavailable", 3),
            ("could not connect", 1),
            ("missing fullName", 1)
        ]
    );
    assert_eq!(
        all.top_errors[0].category.map(|c| c.as_str()),
        Some("server")
    );
    assert_eq!(
        series(&all),
        vec![(D0, 4, 2, 2, 0), (D1, 3, 1, 1, 1), (D2, 3, 1, 2, 0)]
    );
    assert_eq!(all.series[0].avg_ms, Some(25.0));
    assert_eq!(all.series[2].avg_ms, Some(133.3));

    let one = assert_matches_exact(
        &t.app,
        &StatsFilter {
            integration: Some(a),
            ..StatsFilter::default()
        },
    )
    .await;
    assert_eq!(
        (one.total, one.succeeded, one.failed, one.pending),
        (7, 3, 4, 0)
    );
    assert_eq!(one.avg_ms, Some(45.7));
    assert_eq!(one.p50_ms, Some(50.0));

    let retries = assert_matches_exact(
        &t.app,
        &StatsFilter {
            trigger: Some(Trigger::Retry),
            ..StatsFilter::default()
        },
    )
    .await;
    assert_eq!((retries.total, retries.succeeded), (1, 1));

    let session = assert_matches_exact(
        &t.app,
        &StatsFilter {
            session: Some("s-5".into()),
            ..StatsFilter::default()
        },
    )
    .await;
    assert_eq!((session.total, session.p50_ms), (1, Some(50.0)));
}

#[tokio::test]
async fn a_window_that_cuts_days_counts_only_what_started_inside_it() {
    let (t, a, _b) = seeded().await;
    // From 03:00 on day 0 (inclusive) to 06:00 on day 2 (exclusive): the part of day 0 and of
    // day 2 come from the attempts, day 1 from the rollups.
    let f = StatsFilter {
        since_ms: Some(D0 + 3 * HOUR),
        until_ms: Some(D2 + 6 * HOUR),
        ..StatsFilter::default()
    };
    let s = assert_matches_exact(&t.app, &f).await;
    assert_eq!((s.total, s.succeeded, s.failed, s.pending), (6, 2, 3, 1));
    assert_eq!(
        series(&s),
        vec![(D0, 2, 0, 2, 0), (D1, 3, 1, 1, 1), (D2, 1, 1, 0, 0)]
    );
    // Within one day: attempts only.
    let f = StatsFilter {
        integration: Some(a),
        since_ms: Some(D0),
        until_ms: Some(D0 + 5 * HOUR),
        bucket: SeriesBucket::Hour,
        ..StatsFilter::default()
    };
    let s = assert_matches_exact(&t.app, &f).await;
    assert_eq!(
        series(&s),
        vec![
            (D0, 0, 0, 0, 0),
            (D0 + HOUR, 1, 1, 0, 0),
            (D0 + 2 * HOUR, 1, 1, 0, 0),
            (D0 + 3 * HOUR, 1, 0, 1, 0),
            (D0 + 4 * HOUR, 0, 0, 0, 0)
        ]
    );
    // Exactly whole days: rollups only.
    let f = StatsFilter {
        since_ms: Some(D1),
        until_ms: Some(D2),
        ..StatsFilter::default()
    };
    let s = assert_matches_exact(&t.app, &f).await;
    assert_eq!((s.total, s.pending), (3, 1));
    assert_eq!(series(&s), vec![(D1, 3, 1, 1, 1)]);
}

/// Windows whose ends fall anywhere (minutes into an hour, hours into a day) over attempts
/// spread across three days: whole days from the daily rollups, the whole hours at the edges
/// from the hourly ones, the partial hours from the attempts; every figure is the exact one.
#[tokio::test]
async fn windows_cut_at_any_minute_match_the_attempts() {
    let t = TestApp::new().await;
    let ids = [IntegrationId::new(), IntegrationId::new()];
    let mut rng = Xorshift(0x5151_2026_1206_0001);
    let failures = [
        ("server", "503 Service Unavailable"),
        ("network", "could not connect"),
        ("timeout", "timed out"),
    ];
    let rows: Vec<Row> = (0..600)
        .map(|i| {
            let r = rng.unit();
            let (status, failure) = if r < 0.05 {
                ("pending", None)
            } else if r < 0.7 {
                ("succeeded", None)
            } else {
                ("failed", Some(failures[i % failures.len()]))
            };
            Row {
                integration: ids[i % 2],
                session: "s",
                trigger: ["live", "retry", "webhook", "test"][(rng.next() % 4) as usize],
                status,
                category: failure.map(|f| f.0),
                duration_ms: (status != "pending").then(|| 1 + (rng.next() % 2_000) as i64),
                message: failure.map_or("201 Created", |f| f.1),
                started_at: D0 + (rng.next() % (3 * DAY as u64)) as i64,
            }
        })
        .collect();
    let pool = pool(t.dir.path()).await;
    record(&pool, &rows).await;
    pool.close().await;
    let minute = 60_000;
    let mut windows = 0;
    for k in 0..24 {
        // Starts every 3 h 7 min, ends 5 h 53 min, 1 day 11 h or 2 days 2 min later (or open).
        let since = D0 - HOUR + k * (3 * HOUR + 7 * minute);
        for length in [
            Some(5 * HOUR + 53 * minute),
            Some(DAY + 11 * HOUR),
            Some(2 * DAY + 2 * minute),
            None,
        ] {
            let f = StatsFilter {
                integration: (k % 3 == 0).then_some(ids[0]),
                trigger: (k % 5 == 1).then_some(Trigger::Retry),
                since_ms: Some(since),
                until_ms: length.map(|l| since + l),
                ..StatsFilter::default()
            };
            assert_matches_exact(&t.app, &f).await;
            // The hourly series: whole hours from the hourly rollups, the edges' partial hours
            // from the attempts.
            let hourly = StatsFilter {
                bucket: SeriesBucket::Hour,
                ..f
            };
            assert!(
                !assert_matches_exact(&t.app, &hourly)
                    .await
                    .series
                    .is_empty()
            );
            windows += 1;
        }
    }
    assert_eq!(windows, 96);
    // Open at both ends: every hour from the rollups.
    let all_hours = StatsFilter {
        bucket: SeriesBucket::Hour,
        ..StatsFilter::default()
    };
    assert_matches_exact(&t.app, &all_hours).await;
}

/// The whole hours at a window's edges are read from the hourly rollups (not from the attempts):
/// a count added to one hour's rollup row shows in every window that holds that whole hour at
/// an edge, and in no other.
#[tokio::test]
async fn a_windows_whole_edge_hours_come_from_the_hourly_rollups() {
    let (t, a, _b) = seeded().await;
    // Day 0's 03:00 hour holds one failed live attempt of `a`; count 100 more in its rollup.
    let pool = pool(t.dir.path()).await;
    let bumped = sqlx::query(
        "UPDATE stats_hourly SET total = total + 100, succeeded = succeeded + 100
         WHERE hour = ? AND integration_id = ? AND trigger = 'live'",
    )
    .bind((D0 + 3 * HOUR) / HOUR)
    .bind(a.to_string())
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(bumped.rows_affected(), 1);
    pool.close().await;
    let total = |since: i64, until: i64| {
        let app = &t.app;
        async move {
            let f = StatsFilter {
                since_ms: Some(since),
                until_ms: Some(until),
                ..StatsFilter::default()
            };
            let fast = app.stats(&f, false).await.unwrap().total;
            let exact = app.stats(&f, true).await.unwrap().total;
            (fast, exact)
        }
    };
    // 02:30 on day 0 to day 2: hour 03 is a whole hour at the start edge.
    assert_eq!(total(D0 + 2 * HOUR + HOUR / 2, D2).await, (105, 5));
    // Within day 0: hours 03 and 04 whole.
    assert_eq!(total(D0 + 3 * HOUR, D0 + 5 * HOUR).await, (102, 2));
    // 03:30 on: hour 03 is partial, read from the attempts (the one at 03:00 is before it).
    assert_eq!(total(D0 + 3 * HOUR + HOUR / 2, D2).await, (4, 4));
    // Whole days are read from the daily rollups, which were not touched.
    assert_eq!(total(D0, D2).await, (7, 7));
}

/// An hourly series (the chart of a day or a week) reads its whole hours from the hourly
/// rollups, not from every attempt of the window: a count added to one hour's rollup row shows
/// at that hour when the hour is whole in the window, and not when the window cuts it.
#[tokio::test]
async fn an_hourly_series_reads_its_whole_hours_from_the_hourly_rollups() {
    let (t, a, _b) = seeded().await;
    let pool = pool(t.dir.path()).await;
    let bumped = sqlx::query(
        "UPDATE stats_hourly SET total = total + 100, succeeded = succeeded + 100
         WHERE hour = ? AND integration_id = ? AND trigger = 'live'",
    )
    .bind((D1 + 12 * HOUR) / HOUR)
    .bind(a.to_string())
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(bumped.rows_affected(), 1);
    pool.close().await;
    let at_noon = |since: Option<i64>| {
        let app = &t.app;
        async move {
            let f = StatsFilter {
                since_ms: since,
                until_ms: since.map(|_| D2),
                bucket: SeriesBucket::Hour,
                ..StatsFilter::default()
            };
            let total_at = |s: Stats| {
                s.series
                    .iter()
                    .find(|p| p.start.timestamp_millis() == D1 + 12 * HOUR)
                    .map(|p| p.total)
            };
            let fast = total_at(app.stats(&f, false).await.unwrap());
            let exact = total_at(app.stats(&f, true).await.unwrap());
            (fast, exact)
        }
    };
    // All time, and a window holding 12:00 on day 1 whole.
    assert_eq!(at_noon(None).await, (Some(101), Some(1)));
    assert_eq!(
        at_noon(Some(D1 + 11 * HOUR + 1)).await,
        (Some(101), Some(1))
    );
    // A window starting at 12:00:00.001 cuts that hour: it is counted from the attempts (the one
    // at 12:00:00 is before the window), and shows as an empty bucket.
    assert_eq!(at_noon(Some(D1 + 12 * HOUR + 1)).await, (Some(0), Some(0)));
}

/// A window over all integrations reads its durations from the rollups kept over all
/// integrations (a row per trigger and bucket): counts added to one of their rows move the
/// percentiles of such a window, and not those of a window of one integration, which reads the
/// per-integration rows.
#[tokio::test]
async fn a_window_over_all_integrations_reads_the_durations_kept_over_all_integrations() {
    let (t, a, _b) = seeded().await;
    let pool = pool(t.dir.path()).await;
    // Day 1 holds two finished live attempts of `a` (50 and 60 ms); count 100 of 5 s beside them.
    sqlx::query(
        "INSERT INTO stats_durations_daily_all (day, trigger, bucket, n) VALUES (?, 'live', ?, 100)
         ON CONFLICT (day, trigger, bucket) DO UPDATE SET n = n + 100",
    )
    .bind(D1 / DAY)
    .bind(histogram::bucket_of(5_000) as i64)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let p50 = |integration: Option<IntegrationId>| {
        let app = &t.app;
        async move {
            let f = StatsFilter {
                integration,
                since_ms: Some(D1),
                until_ms: Some(D2),
                ..StatsFilter::default()
            };
            let fast = app.stats(&f, false).await.unwrap().p50_ms.unwrap();
            let exact = app.stats(&f, true).await.unwrap().p50_ms.unwrap();
            (fast, exact)
        }
    };
    let (fast, exact) = p50(None).await;
    assert_eq!(exact, 50.0);
    assert!((fast - 5_000.0).abs() <= 50.0, "p50 {fast}");
    assert_eq!(p50(Some(a)).await, (50.0, 50.0));
}

/// A history file exported by a console whose last migration came before `migration`: the
/// hand-computed history recorded, then the file copied elsewhere and opened read-only (its
/// folder is returned with it, to be kept while the store is used).
async fn old_history_file(migration: &str) -> (tempfile::TempDir, handoff_console::store::Store) {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::store_migrated_before(dir.path(), migration).await;
    let (a, b) = (IntegrationId::new(), IntegrationId::new());
    record(&pool, &history(a, b)).await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let file = tempfile::tempdir().unwrap();
    let copy = file.path().join("old-history.db");
    std::fs::copy(dir.path().join(STORE_FILE), &copy).unwrap();
    let store = handoff_console::store::Store::open_read_only(&copy)
        .await
        .unwrap();
    (file, store)
}

/// A window that starts and ends inside hours, days apart, over the hand-computed history.
fn cut_window() -> StatsFilter {
    StatsFilter {
        since_ms: Some(D0 + 2 * HOUR + HOUR / 2),
        until_ms: Some(D2 + 6 * HOUR + 1),
        ..StatsFilter::default()
    }
}

/// A history file exported before the durations over all integrations, opened read-only, reads
/// a window's durations from the per-integration rollups and gives the exact figures.
#[tokio::test]
async fn an_old_history_file_without_the_durations_over_all_integrations_sums_its_integrations() {
    let (_file, store) = old_history_file("20270108120000_stats_durations_all.sql").await;
    let f = cut_window();
    let (fast, exact) = (
        store.stats(&f).await.unwrap(),
        store.stats_exact(&f).await.unwrap(),
    );
    assert_eq!((fast.total, fast.p50_ms), (7, Some(50.0)));
    assert_eq!(
        (fast.total, fast.p50_ms, series(&fast)),
        (exact.total, exact.p50_ms, series(&exact))
    );
    // 250 ms is in the bucket 249..=253, reported as its geometric middle.
    assert_eq!((fast.p95_ms, exact.p95_ms), (Some(251.0), Some(250.0)));
    store.close().await;
}

/// A history file exported before the hourly rollups, opened read-only, counts a window's
/// partial days from its attempts and gives the exact figures.
#[tokio::test]
async fn an_old_history_file_without_hourly_rollups_counts_the_edges_from_its_attempts() {
    let (_file, store) = old_history_file("20270107120000_stats_hourly.sql").await;
    let f = cut_window();
    let fast = store.stats(&f).await.unwrap();
    let exact = store.stats_exact(&f).await.unwrap();
    assert_eq!(
        (fast.total, fast.succeeded, fast.failed, fast.pending),
        (7, 2, 4, 1)
    );
    assert_eq!(
        (fast.total, fast.failed, fast.handoffs, fast.series.len()),
        (
            exact.total,
            exact.failed,
            exact.handoffs,
            exact.series.len()
        )
    );
    // Its hourly series too comes from the attempts.
    let hourly = StatsFilter {
        bucket: SeriesBucket::Hour,
        ..f
    };
    let (fast, exact) = (
        store.stats(&hourly).await.unwrap(),
        store.stats_exact(&hourly).await.unwrap(),
    );
    assert_eq!(series(&fast), series(&exact));
    assert_eq!(series(&fast).iter().map(|p| p.1).sum::<u64>(), 7);
    store.close().await;
}

#[tokio::test]
async fn a_series_with_too_many_points_or_an_empty_window_is_refused() {
    let (t, _a, _b) = seeded().await;
    let f = StatsFilter {
        since_ms: Some(D0),
        until_ms: Some(D0 + 8 * DAY),
        bucket: SeriesBucket::Minute,
        ..StatsFilter::default()
    };
    let e = t.app.stats(&f, false).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("bucket"), "{e}");
    assert!(e.message.contains("11520 minute buckets"), "{e}");
    let f = StatsFilter {
        since_ms: Some(D1),
        until_ms: Some(D0),
        ..StatsFilter::default()
    };
    let e = t.app.stats(&f, false).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("until"), "{e}");
    // Minute buckets over the data's own span (under 10 000 points) are fine.
    let f = StatsFilter {
        bucket: SeriesBucket::Minute,
        ..StatsFilter::default()
    };
    let s = assert_matches_exact(&t.app, &f).await;
    assert_eq!(
        s.series.first().unwrap().start.timestamp_millis(),
        D0 + HOUR
    );
    assert_eq!(
        s.series.last().unwrap().start.timestamp_millis(),
        D2 + 23 * HOUR
    );
}

/// A small deterministic generator (xorshift), so the history is the same on every run.
struct Xorshift(u64);
impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[tokio::test]
async fn percentiles_are_within_one_percent_of_exact() {
    let t = TestApp::new().await;
    let ids = [IntegrationId::new(), IntegrationId::new()];
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let rows: Vec<Row> = (0..8_000)
        .map(|i| {
            // Log-uniform between 1 ms and 100 s.
            let duration = (rng.unit() * 100_000f64.ln()).exp() as i64;
            let failed = rng.next().is_multiple_of(5);
            Row {
                integration: ids[i % 2],
                session: "s",
                trigger: "live",
                status: if failed { "failed" } else { "succeeded" },
                category: failed.then_some("server"),
                duration_ms: Some(duration),
                message: "m",
                started_at: D0 + (rng.next() % (10 * DAY as u64)) as i64,
            }
        })
        .collect();
    let pool = pool(t.dir.path()).await;
    record(&pool, &rows).await;
    pool.close().await;
    for f in [
        StatsFilter::default(),
        StatsFilter {
            integration: Some(ids[0]),
            ..StatsFilter::default()
        },
        StatsFilter {
            since_ms: Some(D0 + 2 * DAY + 5 * HOUR),
            until_ms: Some(D0 + 7 * DAY + 9 * HOUR),
            ..StatsFilter::default()
        },
    ] {
        let s = assert_matches_exact(&t.app, &f).await;
        assert!(s.p99_ms.unwrap() > 100.0, "the test covers bucketed values");
    }
}

#[tokio::test]
async fn the_rust_buckets_are_the_stores_buckets() {
    let t = TestApp::new().await;
    let pool = pool(t.dir.path()).await;
    let stored: Vec<(i64, i64)> =
        sqlx::query_as("SELECT lo, bucket FROM stats_buckets ORDER BY lo")
            .fetch_all(&pool)
            .await
            .unwrap();
    let ours: Vec<(i64, i64)> = histogram::table().map(|(lo, b)| (lo, b as i64)).collect();
    assert_eq!(stored, ours);
}

#[tokio::test(flavor = "multi_thread")]
async fn attempts_are_counted_as_they_finish() {
    let t = TestApp::new().await;
    let sink = Sink::start().await;
    sink.then([Reply::json(201, json!({"id": "s-1"})), Reply::status(503)]);
    let integration = t
        .add(json!({
            "name": "clinic api", "kind": "api",
            "fields": [{"name": "fullName", "type": "name"}],
            "api": {"endpoint": format!("{}/p", sink.url), "method": "POST"},
            "retry": {"maxAttempts": 3, "baseDelayMs": 3_600_000}
        }))
        .await;
    let f = StatsFilter {
        integration: Some(integration.id),
        ..StatsFilter::default()
    };
    assert_eq!(t.app.stats(&f, false).await.unwrap().total, 0);
    for _ in 0..2 {
        t.app
            .send(
                &integration.name,
                "sess",
                json!({"fullName": "Ann Lee"}),
                Trigger::Live,
            )
            .await
            .unwrap();
    }
    let s = assert_matches_exact(&t.app, &f).await;
    // The 503 is retryable and its retry is scheduled: the attempt counts as failed.
    assert_eq!((s.total, s.succeeded, s.failed, s.pending), (2, 1, 1, 0));
    assert_eq!(s.failures_by_category["server"], 1);
    assert_eq!(s.top_errors[0].message, "503 Service Unavailable");
    assert_eq!(s.success_rate, Some(0.5));
    assert!(s.avg_ms.is_some() && s.p50_ms.is_some());
}

#[tokio::test]
async fn a_store_from_before_the_rollups_is_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    // Only the migrations before the rollups', as an older console left them.
    let pool = common::store_migrated_before(dir.path(), "20261124130000_stats.sql").await;
    let (a, b) = (IntegrationId::new(), IntegrationId::new());
    record(&pool, &history(a, b)).await;
    pool.close().await;

    let app = App::open(dir.path()).await.unwrap();
    let s = assert_matches_exact(&app, &StatsFilter::default()).await;
    assert_eq!((s.total, s.succeeded, s.failed, s.pending), (10, 4, 5, 1));
    assert_eq!(s.p95_ms, Some(251.0));
    app.close().await;
}

#[tokio::test]
async fn the_cli_prints_the_documented_shape() {
    let (t, a, _b) = seeded().await;
    t.app.close().await;
    let run = |args: &[&str]| {
        let out = cli()
            .arg("--data-dir")
            .arg(t.dir.path())
            .args(args)
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), json)
    };
    let (code, s) = run(&["stats", "--json"]);
    assert_eq!(code, Some(0), "{s}");
    for key in [
        "total",
        "succeeded",
        "failed",
        "pending",
        "successRate",
        "avgMs",
        "p50Ms",
        "p95Ms",
        "p99Ms",
        "failuresByCategory",
        "topErrors",
        "series",
    ] {
        assert!(s.get(key).is_some(), "{key} missing from {s}");
    }
    assert_eq!(s["total"], 10);
    assert_eq!(s["failuresByCategory"]["server"], 3);
    assert_eq!(s["series"][0]["start"], "2026-01-01T00:00:00Z");

    let id = a.to_string();
    let (code, s) = run(&[
        "stats",
        "--json",
        "--integration",
        &id,
        "--since",
        "2026-01-02",
        "--until",
        "2026-01-03",
        "--exact",
    ]);
    assert_eq!(code, Some(0), "{s}");
    assert_eq!(
        (s["total"].as_u64(), s["exact"].as_bool()),
        (Some(2), Some(true))
    );

    let (code, s) = run(&[
        "stats",
        "--json",
        "--bucket",
        "minute",
        "--since",
        "2026-01-01",
        "--until",
        "2026-01-09",
    ]);
    assert_eq!(code, Some(2), "{s}");
    assert_eq!(s["error"]["field"], "bucket");
}

/// The attempt rollups, each table's rows that count anything.
const ATTEMPT_ROLLUPS: [(&str, &str); 10] = [
    ("stats_daily", COUNTED),
    ("stats_hourly", COUNTED),
    ("stats_durations", "n <> 0"),
    ("stats_durations_daily", "n <> 0"),
    ("stats_durations_hourly", "n <> 0"),
    ("stats_durations_daily_all", "n <> 0"),
    ("stats_durations_hourly_all", "n <> 0"),
    ("stats_errors", "n <> 0"),
    ("stats_errors_daily", "n <> 0"),
    ("stats_errors_hourly", "n <> 0"),
];
const COUNTED: &str = "abs(total) + abs(succeeded) + abs(failed) + abs(pending) + abs(timed) \
    + abs(duration_sum) + abs(network) + abs(timeout) + abs(authentication) \
    + abs(configuration) + abs(validation) + abs(server) > 0";

/// The rollups stay exactly what the attempts give however an attempt changes: finished where
/// it started (one statement a count table: migration `20270112120000_stats_attempt_finished`),
/// changed again once finished, finished and moved at once, moved while pending to another
/// hour, integration or trigger, changed while still pending, or deleted. Each rollup table
/// equals the one a new store makes of the same attempts written into it anew.
#[tokio::test]
async fn the_rollups_follow_every_change_of_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    App::open(dir.path()).await.unwrap().close().await;
    let fresh = tempfile::tempdir().unwrap();
    App::open(fresh.path()).await.unwrap().close().await;
    let pool = pool(dir.path()).await;
    let (a, b) = (IntegrationId::new(), IntegrationId::new());
    let run = |sql: &'static str, id: usize, values: Vec<Option<String>>| {
        let pool = pool.clone();
        async move {
            let mut q = sqlx::query(sql);
            for v in values {
                q = q.bind(v);
            }
            let done = q.bind(format!("a-{id}")).execute(&pool).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql} a-{id}");
        }
    };
    for n in 0..12usize {
        let integration = if n % 2 == 0 { a } else { b };
        let trigger = if n % 3 == 0 { "test" } else { "live" };
        let started = D0 + n as i64 * 10 * 60_000;
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, created_at, updated_at)
             VALUES (?1, ?2, 's', 'pending', '{}', 1, ?3, ?3)",
        )
        .bind(format!("h-{n}"))
        .bind(integration.to_string())
        .bind(started)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, started_at)
             VALUES (?1, ?2, ?3, 'n', 's', ?4, 1, 'pending', ?5)",
        )
        .bind(format!("a-{n}"))
        .bind(format!("h-{n}"))
        .bind(integration.to_string())
        .bind(trigger)
        .bind(started)
        .execute(&pool)
        .await
        .unwrap();
    }
    const FINISH: &str = "UPDATE attempts SET status = ?1, category = ?2, message = ?3,
                                 duration_ms = ?4, finished_at = started_at + coalesce(?4, 0)
                          WHERE id = ?5";
    let s = |v: &str| Some(v.to_string());
    // Finished where they started, as the store finishes every attempt.
    for (n, outcome) in [
        (0, [s("succeeded"), None, s("201 Created"), s("42")]),
        (1, [s("succeeded"), None, s("201 Created"), s("180")]),
        (
            2,
            [
                s("failed"),
                s("server"),
                s("503 Service Unavailable"),
                s("95"),
            ],
        ),
        (
            3,
            [
                s("failed"),
                s("network"),
                s("connection refused"),
                s("1200"),
            ],
        ),
        (4, [s("succeeded"), None, s("200 OK"), s("7")]),
        (
            5,
            [
                s("failed"),
                s("server"),
                s("503 Service Unavailable"),
                s("330"),
            ],
        ),
        (6, [s("failed"), s("timeout"), s("timed out"), None]),
    ] {
        run(FINISH, n, outcome.to_vec()).await;
    }
    // Changed while still pending (the finish trigger, counting nothing).
    run(
        "UPDATE attempts SET message = ?1 WHERE id = ?2",
        7,
        vec![s("still going")],
    )
    .await;
    // Changed once finished.
    run(
        FINISH,
        0,
        vec![s("failed"), s("validation"), s("422"), s("61")],
    )
    .await;
    run(
        "UPDATE attempts SET duration_ms = 2500 WHERE id = ?1",
        5,
        vec![],
    )
    .await;
    // Moved to another hour once finished; finished and moved at once.
    run(
        "UPDATE attempts SET started_at = started_at + 7200000 WHERE id = ?1",
        1,
        vec![],
    )
    .await;
    run(
        "UPDATE attempts SET status = 'succeeded', duration_ms = 88, started_at = started_at + 90000000
         WHERE id = ?1",
        8,
        vec![],
    )
    .await;
    // Moved while pending: another integration; another trigger, finished at once.
    run(
        "UPDATE attempts SET integration_id = ?1 WHERE id = ?2",
        9,
        vec![Some(a.to_string())],
    )
    .await;
    run(
        "UPDATE attempts SET trigger = 'webhook', status = 'failed', category = 'server',
                message = 'bad gateway', duration_ms = 140
         WHERE id = ?1",
        10,
        vec![],
    )
    .await;
    // Deleted: a finished attempt and a pending one.
    for n in [2, 11] {
        run("DELETE FROM attempts WHERE id = ?1", n, vec![]).await;
    }

    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("ATTACH DATABASE ?1 AS fresh")
        .bind(fresh.path().join(STORE_FILE).display().to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    for table in ["handoffs", "attempts"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO fresh.{table} SELECT * FROM main.{table}"
        )))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    for (table, counted) in ATTEMPT_ROLLUPS {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM main.{table} WHERE {counted}"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert!(rows > 0, "{table} has rows");
        for (one, other) in [("main", "fresh"), ("fresh", "main")] {
            let differ = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM (SELECT * FROM {one}.{table} WHERE {counted}
                                       EXCEPT SELECT * FROM {other}.{table} WHERE {counted})"
            )))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            assert_eq!(differ, 0, "{table}: rows in {one} that {other} lacks");
        }
    }
}

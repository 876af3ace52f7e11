//! `stats` over a large history: seeds a store with ten million attempts (20 integrations,
//! 180 days, realistic mixes of triggers, outcomes, errors and durations), each with its
//! handoff, then times `App::stats` (the rollups) next to `App::stats` with `exact` (the naive
//! aggregate over every attempt) in the same run, for all integrations and for one, and checks
//! that the percentiles agree within 1%. The handoff counts (part of `stats`) are timed alone
//! beside them, from the rollups and exactly, and so are pages of the handoff list deep into
//! it (at a million attempts or fewer). Then it measures what the rollups cost the hot path:
//! the store's two writes per handoff on a store with the stats triggers and on one with them
//! dropped, alternating; what the hourly rollups and the durations over all integrations add,
//! against the daily rollups alone; and what the durations over all integrations add alone.
//! Goals (issue 18, SQLite at ten million): all integrations < 50 ms, one < 20 ms, the last 7
//! days < 20 ms; `--attempts 1000000` for a quicker run.
//!
//! With `--postgres 1` the same figures on a PostgreSQL store (`HANDOFF_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; a schema of its own, dropped afterwards), seeded by `generate_series` with the same mixes (values drawn
//! from hashes of the row number, so both tables' statements agree), the store's triggers
//! making the rollups as on the console's own writes; the write cost is `shared_workers`'.
//!
//! `HANDOFF_BENCH_DIR=D` (SQLite) seeds the store in `D` and keeps it; a later run measures it
//! again without seeding.
//!
//! `HANDOFF_BENCH_SCHEMA=NAME` (with `--postgres 1`) measures a schema seeded before instead,
//! and keeps it: seeding ten million attempts takes most of an hour here. `--vacuum-full 1`
//! rewrites the rollup tables to their live size first (`VACUUM FULL`: the seed leaves them
//! full of dead row versions; BENCHMARKS.md shows both). `--keep 1` keeps the seeded schema
//! for such later runs. `--fold 1` first does what a worker on a shared store does once an
//! hour: folds past days' spread rollup rows into one and vacuums the rollups (timed). The
//! rollup tables' live rows and size on disk are printed before the figures.
//!
//! `cargo bench --no-default-features --bench stats [-- --attempts N --repeat R --writes W --postgres 1]`

mod support;

use handoff_console::App;
use handoff_console::ids::IntegrationId;
use handoff_console::stats::{SeriesBucket, Stats, StatsFilter};
use handoff_console::store::STORE_FILE;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{BoxError, MemorySecrets, Options, Rng, check, summary, timed};

const DAY: i64 = 86_400_000;
const INTEGRATIONS: usize = 20;
const DAYS: i64 = 180;

const FAILURES: [(&str, &str); 10] = [
    ("server", "503 Service Unavailable"),
    ("server", "502 Bad Gateway"),
    ("server", "500 Internal Server Error: upstream EHR timeout"),
    (
        "network",
        "could not connect (https://ehr.example.org/api/patients): Connection refused",
    ),
    (
        "network",
        "request failed (https://ehr.example.org/api/patients): connection reset",
    ),
    (
        "timeout",
        "timed out (https://ehr.example.org/api/patients)",
    ),
    (
        "validation",
        "422 Unprocessable Entity: phone is not a valid number",
    ),
    (
        "validation",
        "field 'dateOfBirth' cannot be stored in column dob (date): expected a date, got text",
    ),
    ("authentication", "401 Unauthorized"),
    ("configuration", "404 Not Found"),
];

/// Writes `n` attempts (each with its handoff) in one transaction, as the console would have
/// recorded them; the stats triggers keep the rollups as it goes.
fn seed(path: &std::path::Path, n: usize, ids: &[IntegrationId], end: i64) -> Result<(), BoxError> {
    let mut conn = rusqlite::Connection::open(path)?;
    // A page cache large enough for the one transaction's hot pages: with SQLite's default
    // 2 MB, pages spill to the WAL over and over.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -4000000;",
    )?;
    let tx = conn.transaction()?;
    {
        // A handoff as its last attempt left it: a live one whose attempt is a retry was
        // tried before; a pending one is under way.
        let mut handoff = tx.prepare(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, in_flight_until,
                                   created_at, updated_at, origin, integration_name, last_attempt_id)
             VALUES (?1, ?2, ?3, ?4, '{}', ?6, ?7, ?5, ?5, ?8, 'clinic', ?9)",
        )?;
        let mut attempt = tx.prepare(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, category, retryable, message, started_at,
                                   finished_at, duration_ms)
             VALUES (?1, ?2, ?3, 'clinic', ?4, ?5, 1, ?6, ?7, 0, ?8, ?9, ?10, ?11)",
        )?;
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let start = end - DAYS * DAY;
        for i in 0..n {
            // Some integrations are busier than others.
            let integration = ids[((rng.unit() * rng.unit()) * ids.len() as f64) as usize];
            // In time order, as a store is written (spread evenly, with a little jitter): the
            // rollups' and the time indexes' pages stay hot, as they do for the console.
            let started = start
                + (i as i128 * (DAYS * DAY) as i128 / n as i128) as i64
                + (rng.next() % 1_000) as i64;
            let r = rng.unit();
            let trigger = if r < 0.90 {
                "live"
            } else if r < 0.97 {
                "retry"
            } else {
                "test"
            };
            let r = rng.unit();
            let (status, failure) = if r < 0.001 {
                ("pending", None)
            } else if r < 0.86 {
                ("succeeded", None)
            } else {
                (
                    "failed",
                    Some(FAILURES[(rng.next() % FAILURES.len() as u64) as usize]),
                )
            };
            let duration = match (status, failure) {
                ("pending", _) => None,
                (_, Some(("timeout", _))) => Some(10_000 + rng.duration(40.0, 1.0)),
                _ => Some(rng.duration(180.0, 0.8)),
            };
            // Ids as the console makes them (the handoff list reads them back).
            let handoff_id = uuid::Uuid::from_u128(i as u128).to_string();
            let attempt_id = uuid::Uuid::from_u128((1 << 64) + i as u128).to_string();
            let session = format!("s{i:08}");
            handoff.execute(rusqlite::params![
                handoff_id,
                integration.to_string(),
                session,
                status,
                started,
                if trigger == "retry" { 2 } else { 1 },
                (status == "pending").then_some(started + 45_000),
                if trigger == "test" { "test" } else { "live" },
                attempt_id,
            ])?;
            attempt.execute(rusqlite::params![
                attempt_id,
                handoff_id,
                integration.to_string(),
                session,
                trigger,
                status,
                failure.map(|f| f.0),
                failure.map_or(
                    if status == "succeeded" {
                        "201 Created"
                    } else {
                        ""
                    },
                    |f| f.1
                ),
                started,
                duration.map(|d| started + d),
                duration,
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

/// `[0, 1)` drawn from the row number `i` and the stream `k`: the same in every statement.
fn unit_sql(k: u32) -> String {
    format!("((hashint8extended(i, {k}) & 2147483647)::float8 / 2147483648.0)")
}

/// The rows of [`seed`] for PostgreSQL: row numbers `$1..=$2`, the integrations' ids `$3`, the
/// history ending at `$4`. The columns every statement computes alike, as `g`.
fn pg_rows() -> String {
    let u = unit_sql;
    let categories = FAILURES
        .iter()
        .map(|(c, _)| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let messages = FAILURES
        .iter()
        .map(|(_, m)| format!("'{}'", m.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    // Log-normal around a median (Box-Muller), as `Rng::duration`.
    let lognormal = |median: f64, sigma: f64| {
        format!(
            "round({median} * exp({sigma} * sqrt(-2 * ln(greatest({}, 1e-12))) * cos(2 * pi() * {})))::bigint",
            u(6),
            u(7)
        )
    };
    format!(
        "SELECT i, integration, started, trigger, status, f,
                CASE WHEN status = 'failed' THEN (ARRAY[{categories}])[f + 1] END AS category,
                CASE WHEN status = 'failed' THEN (ARRAY[{messages}])[f + 1]
                     WHEN status = 'succeeded' THEN '201 Created' ELSE '' END AS message,
                CASE WHEN status = 'pending' THEN NULL
                     WHEN status = 'failed' AND (ARRAY[{categories}])[f + 1] = 'timeout'
                          THEN 10000 + {timeout}
                     ELSE greatest(1, {normal}) END AS duration,
                lpad(to_hex(i), 32, '0')::uuid::text AS handoff_id,
                ('1' || lpad(to_hex(i), 16, '0'))::text AS attempt_hex,
                's' || lpad(i::text, 8, '0') AS session
         FROM (SELECT i,
                      ($3::text[])[1 + floor({u1} * {u2} * array_length($3::text[], 1))::int] AS integration,
                      $4::bigint - {span} + floor({u3} * {span})::bigint AS started,
                      CASE WHEN {u4} < 0.90 THEN 'live' WHEN {u4} < 0.97 THEN 'retry' ELSE 'test' END AS trigger,
                      CASE WHEN {u5} < 0.001 THEN 'pending' WHEN {u5} < 0.86 THEN 'succeeded' ELSE 'failed' END AS status,
                      floor({u8} * {n_failures})::int AS f
               FROM generate_series($1::bigint, $2::bigint) AS i) AS g",
        timeout = lognormal(40.0, 1.0),
        normal = lognormal(180.0, 0.8),
        u1 = u(1),
        u2 = u(2),
        u3 = u(3),
        u4 = u(4),
        u5 = u(5),
        u8 = u(8),
        span = DAYS * DAY,
        n_failures = FAILURES.len(),
    )
}

/// [`seed`] on a PostgreSQL store: `n` attempts with their handoffs, in statements of 10,000
/// rows (handoffs, then their attempts), the store's triggers keeping the rollups.
///
/// Small statements, as a store written at handoff speed commits an attempt at a time: a rollup
/// row's versions made inside one statement stay until it commits (no page can prune them),
/// so statements of 250,000 rows left the rollups 40–100× their live size.
async fn seed_pg(
    pool: &sqlx::PgPool,
    n: usize,
    ids: &[IntegrationId],
    end: i64,
) -> Result<(), BoxError> {
    const CHUNK: usize = 10_000;
    let rows = pg_rows();
    let handoffs = format!(
        "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
                               in_flight_until, created_at, updated_at, origin, integration_name,
                               last_attempt_id)
         SELECT handoff_id, integration, session, status, '{{}}',
                CASE WHEN trigger = 'retry' THEN 2 ELSE 1 END,
                CASE WHEN status = 'pending' THEN started + 45000 END, started, started,
                CASE WHEN trigger = 'test' THEN 'test' ELSE 'live' END, 'clinic',
                lpad(attempt_hex, 32, '0')::uuid::text
         FROM ({rows}) AS r"
    );
    let attempts = format!(
        "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id,
                               trigger, attempt_number, status, category, retryable, message,
                               started_at, finished_at, duration_ms)
         SELECT lpad(attempt_hex, 32, '0')::uuid::text, handoff_id, integration, 'clinic', session,
                trigger, 1, status, category, false, message, started, started + duration, duration
         FROM ({rows}) AS r"
    );
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let to = (done + CHUNK).min(n);
        for sql in [&handoffs, &attempts] {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(done as i64)
                .bind(to as i64 - 1)
                .bind(&ids)
                .bind(end)
                .execute(pool)
                .await?;
        }
        done = to;
        if done % 250_000 != 0 && done < n {
            continue;
        }
        eprintln!(
            "seeding: {done} of {n} attempts ({:.0} s)",
            t.elapsed().as_secs_f64()
        );
    }
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// The rollup tables' live rows beside their size on disk (table and indexes): what the
/// statistics read.
async fn rollup_sizes(pool: &sqlx::PgPool) -> Result<(), BoxError> {
    println!(
        "\n{:<24} {:>10} {:>10}",
        "rollup table", "live rows", "on disk"
    );
    for table in [
        "stats_daily",
        "stats_durations",
        "stats_durations_daily",
        "stats_errors",
        "stats_errors_daily",
        "stats_handoffs_daily",
    ] {
        let (rows, bytes): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT count(*) FROM {table}), pg_total_relation_size('{table}')"
        )))
        .fetch_one(pool)
        .await?;
        println!(
            "{table:<24} {rows:>10} {:>7.1} MB",
            bytes as f64 / 1_048_576.0
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The largest relative difference between the percentiles of two reports.
fn percentile_error(fast: &Stats, exact: &Stats) -> f64 {
    [
        (fast.p50_ms, exact.p50_ms),
        (fast.p95_ms, exact.p95_ms),
        (fast.p99_ms, exact.p99_ms),
    ]
    .iter()
    .map(|(f, e)| match (f, e) {
        (Some(f), Some(e)) if *e > 0.0 => (f - e).abs() / e,
        (None, None) => 0.0,
        _ => f64::INFINITY,
    })
    .fold(0.0, f64::max)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `--requests` does not apply here; `--rounds` splits the write-cost runs.
    let options = Options::parse(
        1,
        &[
            ("--attempts", 0),
            ("--repeat", 15),
            ("--writes", 6000),
            ("--postgres", 0),
            ("--vacuum-full", 0),
            ("--keep", 0),
            ("--fold", 0),
        ],
    )?;
    let on_postgres = options.get("--postgres") != 0;
    let n = match options.extra["--attempts"] {
        0 => 10_000_000,
        n => n,
    };
    let repeat = options.extra["--repeat"].max(1);
    let dir = tempfile::tempdir()?;
    // SQLite: seed the store in this dir and keep it; a later run measures it again.
    let kept_dir = std::env::var_os("HANDOFF_BENCH_DIR")
        .filter(|_| !on_postgres)
        .map(std::path::PathBuf::from);
    let secrets = Arc::new(MemorySecrets::default());
    let mut ids: Vec<IntegrationId> = (0..INTEGRATIONS).map(|_| IntegrationId::new()).collect();
    let mut end = chrono::Utc::now().timestamp_millis();
    let kept = std::env::var("HANDOFF_BENCH_SCHEMA")
        .ok()
        .filter(|_| on_postgres);
    let schema = kept
        .clone()
        .unwrap_or_else(|| format!("hc_bench_stats_{:08x}", rand::random::<u32>()));
    let t = Instant::now();
    let app = if on_postgres {
        let url =
            handoff_console::store::postgres::StoreUrl::parse(&support::pg_store_url(&schema)?)?;
        let app = App::open_on(
            dir.path(),
            handoff_console::store::StoreChoice::Shared(url.clone()),
            secrets.clone(),
        )
        .await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(url.connect_options(None))
            .await?;
        if kept.is_some() {
            // The seeded store's integrations, busiest first, and where its history ends.
            let busiest: Vec<String> = sqlx::query_scalar(
                "SELECT integration_id FROM attempts GROUP BY integration_id ORDER BY count(*) DESC",
            )
            .fetch_all(&pool)
            .await?;
            ids = busiest
                .iter()
                .map(|i| i.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| "an integration id that is not one")?;
            end = sqlx::query_scalar::<_, i64>("SELECT max(started_at) + 1 FROM attempts")
                .fetch_one(&pool)
                .await?;
        } else {
            seed_pg(&pool, n, &ids, end).await?;
        }
        if options.get("--vacuum-full") != 0 {
            let t = Instant::now();
            sqlx::query(
                "VACUUM (FULL, ANALYZE) stats_daily, stats_durations, stats_durations_daily, \
                 stats_errors, stats_errors_daily, stats_handoffs_daily",
            )
            .execute(&pool)
            .await?;
            println!(
                "the rollup tables rewritten to their live size in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        rollup_sizes(&pool).await?;
        if options.get("--fold") != 0 {
            // What a worker does once an hour: past days' spread rows folded, then a VACUUM.
            let t = Instant::now();
            let folded = app.store().fold_rollup_spread(end / DAY - 1).await?;
            let fold_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            app.store().vacuum_rollups().await?;
            println!(
                "\nfolded {} spread rows of {} table days in {fold_s:.1} s; VACUUM {:.1} s",
                folded.rows,
                folded.days,
                t.elapsed().as_secs_f64()
            );
            rollup_sizes(&pool).await?;
        }
        pool.close().await;
        app
    } else {
        let store_dir = kept_dir.as_deref().unwrap_or(dir.path());
        let file = store_dir.join(STORE_FILE);
        if file.exists() {
            // A store seeded before (`HANDOFF_BENCH_DIR`): its integrations, busiest first,
            // and where its history ends.
            let conn = rusqlite::Connection::open(&file)?;
            let mut busiest = conn.prepare(
                "SELECT integration_id FROM stats_daily GROUP BY integration_id \
                 ORDER BY sum(total) DESC",
            )?;
            ids = busiest
                .query_map([], |r| r.get::<_, String>(0))?
                .map(|id| {
                    Ok(id?
                        .parse()
                        .map_err(|_| "an integration id that is not one")?)
                })
                .collect::<Result<_, BoxError>>()?;
            end = conn.query_row("SELECT max(started_at) + 1 FROM attempts", [], |r| r.get(0))?;
            println!(
                "measuring the store seeded before in {}",
                store_dir.display()
            );
        } else {
            std::fs::create_dir_all(store_dir)?;
            App::open_with(store_dir, secrets.clone())
                .await?
                .close()
                .await;
            seed(&file, n, &ids, end)?;
        }
        App::open_with(store_dir, secrets).await?
    };
    match &kept {
        Some(schema) => println!("measuring the seeded schema {schema} (kept)"),
        None => println!(
            "seeded {n} attempts ({INTEGRATIONS} integrations, {DAYS} days) in {:.1} s, on {}",
            t.elapsed().as_secs_f64(),
            if on_postgres { "PostgreSQL" } else { "SQLite" }
        ),
    }
    if !on_postgres {
        sqlite_rollup_rows(&kept_dir.as_deref().unwrap_or(dir.path()).join(STORE_FILE))?;
    }
    // Pages deep into ten million handoffs (an OFFSET of millions) take seconds each: issue
    // 18's, measured on SQLite at a million (`benches/history.rs`).
    let result = figures(&app, &ids, end, repeat, !on_postgres, n <= 1_000_000).await;
    app.close().await;
    if on_postgres && kept.is_none() && options.get("--keep") != 0 {
        println!("kept the seeded schema: HANDOFF_BENCH_SCHEMA={schema} measures it again");
    } else if on_postgres && kept.is_none() {
        let admin = sqlx::PgPool::connect(&support::pg_server()).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await?;
    }
    let verdicts = result?;
    if !on_postgres {
        support::write_cost(
            "the rollups",
            "DROP TRIGGER stats_attempt_inserted; DROP TRIGGER stats_attempt_updated; \
             DROP TRIGGER stats_attempt_deleted; DROP TRIGGER stats_handoff_inserted; \
             DROP TRIGGER stats_handoff_updated; DROP TRIGGER stats_handoff_deleted;",
            options.extra["--writes"],
            options.rounds.max(1),
        )
        .await?;
        support::write_cost(
            "the hourly rollups and the durations over all integrations",
            &triggers_of(&[
                include_str!("../migrations/20261124130000_stats.sql"),
                include_str!("../migrations/20261202120000_handoff_origin.sql"),
            ]),
            options.extra["--writes"],
            options.rounds.max(1),
        )
        .await?;
        support::write_cost(
            "the durations over all integrations",
            &triggers_of(&[include_str!(
                "../migrations/20270107120000_stats_hourly.sql"
            )]),
            options.extra["--writes"],
            options.rounds.max(1),
        )
        .await?;
    }
    summary(&verdicts);
    Ok(())
}

/// SQL that puts back the statistics triggers as `migrations` created them (each trigger is
/// created by one of them): the other side of what a later rollup costs the store's writes.
fn triggers_of(migrations: &[&str]) -> String {
    let mut sql = String::from(
        "DROP TRIGGER stats_attempt_inserted; DROP TRIGGER stats_attempt_updated; \
         DROP TRIGGER stats_attempt_deleted; DROP TRIGGER stats_handoff_inserted; \
         DROP TRIGGER stats_handoff_updated; DROP TRIGGER stats_handoff_deleted;\n",
    );
    for &migration in migrations {
        let mut rest = migration;
        while let Some(at) = rest.find("CREATE TRIGGER stats_") {
            let trigger = &rest[at..];
            let end = trigger.find("\nEND;").expect("a trigger ends") + "\nEND;".len();
            sql.push_str(&trigger[..end]);
            sql.push('\n');
            rest = &trigger[end..];
        }
    }
    sql
}

/// The SQLite store's rollup tables and their rows, beside the attempts: what the statistics
/// read, and what the hourly tables add.
fn sqlite_rollup_rows(path: &std::path::Path) -> Result<(), BoxError> {
    let conn = rusqlite::Connection::open(path)?;
    println!("\n{:<24} {:>10}", "table", "rows");
    for table in [
        "attempts",
        "stats_daily",
        "stats_hourly",
        "stats_durations",
        "stats_durations_daily",
        "stats_durations_hourly",
        "stats_durations_daily_all",
        "stats_durations_hourly_all",
        "stats_errors",
        "stats_errors_daily",
        "stats_errors_hourly",
        "stats_handoffs_daily",
        "stats_handoffs_hourly",
    ] {
        let rows: i64 =
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        println!("{table:<24} {rows:>10}");
    }
    let bytes = std::fs::metadata(path)?.len();
    println!("store file: {:.0} MB", bytes as f64 / 1_048_576.0);
    Ok(())
}

/// The stats and handoff figures of `app`'s seeded store; the goals' verdicts (the last 7 days'
/// goal is SQLite's, issue 18's).
async fn figures(
    app: &App,
    ids: &[IntegrationId],
    end: i64,
    repeat: usize,
    sqlite: bool,
    deep_pages: bool,
) -> Result<Vec<bool>, BoxError> {
    let busiest = StatsFilter {
        integration: Some(ids[0]),
        ..StatsFilter::default()
    };
    let week = StatsFilter {
        since_ms: Some(end - 7 * DAY),
        ..StatsFilter::default()
    };
    // What the Stats panel asks for the last 7 days: its chart's Auto bucket is the hour there.
    let week_hourly = StatsFilter {
        bucket: SeriesBucket::Hour,
        ..week.clone()
    };

    println!(
        "\n{:<44} {:>10} {:>10} {:>9}",
        "stats", "median", "slowest", "total"
    );
    let mut verdicts = Vec::new();
    for (name, filter, goal) in [
        ("all integrations", StatsFilter::default(), Some(50.0)),
        ("one integration (the busiest)", busiest, Some(20.0)),
        (
            "all integrations, last 7 days",
            week,
            sqlite.then_some(20.0),
        ),
        (
            "last 7 days, hourly series (the panel's chart)",
            week_hourly,
            sqlite.then_some(20.0),
        ),
    ] {
        let (median, slowest, fast) = timed(repeat, || app.stats(&filter, false)).await?;
        let exact_repeat = repeat.min(3);
        let (naive, _, exact) = timed(exact_repeat, || app.stats(&filter, true)).await?;
        println!(
            "{:<44} {:>10} {:>10} {:>9}",
            format!("{name}: rollups"),
            ms(median),
            ms(slowest),
            fast.total
        );
        println!(
            "{:<44} {:>10} {:>10} {:>9}",
            format!("{name}: naive (every attempt, exact)"),
            ms(naive),
            "",
            exact.total
        );
        let error = percentile_error(&fast, &exact);
        let speedup = naive.as_secs_f64() / median.as_secs_f64();
        println!(
            "  {speedup:.0}x faster; p50/p95/p99 {:?}/{:?}/{:?} ms vs exact {:?}/{:?}/{:?} (largest difference {:.2}%)",
            fast.p50_ms,
            fast.p95_ms,
            fast.p99_ms,
            exact.p50_ms,
            exact.p95_ms,
            exact.p99_ms,
            error * 100.0
        );
        let same_counts = (fast.total, fast.succeeded, fast.failed, fast.pending)
            == (exact.total, exact.succeeded, exact.failed, exact.pending)
            && fast.failures_by_category == exact.failures_by_category
            && fast.top_errors == exact.top_errors
            && points(&fast) == points(&exact);
        verdicts.push(check(
            &format!("{name}: counts, series and top errors equal the naive query's"),
            same_counts.to_string(),
            "true",
            same_counts,
        ));
        verdicts.push(check(
            &format!("{name}: percentiles within 1% of exact"),
            format!("{:.2}%", error * 100.0),
            "<= 1%",
            error <= 0.01,
        ));
        if let Some(goal) = goal {
            let got = median.as_secs_f64() * 1000.0;
            verdicts.push(check(
                &format!("{name}: median time"),
                format!("{got:.1} ms"),
                &format!("< {goal} ms"),
                got < goal,
            ));
        }
    }
    handoff_figures(app, ids, end, repeat, deep_pages, &mut verdicts).await?;
    Ok(verdicts)
}

/// A series' points without their averages (which the rollups round the same way, but compare
/// as floats).
fn points(s: &Stats) -> Vec<(i64, u64, u64, u64, u64)> {
    s.series
        .iter()
        .map(|p| {
            let start = p.start.timestamp_millis();
            (start, p.total, p.succeeded, p.failed, p.pending)
        })
        .collect()
}

/// The handoff counts alone (rollups and exact, which must agree) and pages of the handoff
/// list deep into it.
async fn handoff_figures(
    app: &App,
    ids: &[IntegrationId],
    end: i64,
    repeat: usize,
    deep_pages: bool,
    verdicts: &mut Vec<bool>,
) -> Result<(), BoxError> {
    use handoff_console::attempts::{HandoffSort, HandoffState};
    use handoff_console::service::requests::HandoffsQuery;
    println!(
        "\n{:<44} {:>10} {:>10} {:>9}",
        "handoffs", "median", "slowest", "total"
    );
    let week = StatsFilter {
        since_ms: Some(end - 7 * DAY + 3_600_000),
        ..StatsFilter::default()
    };
    let busiest = StatsFilter {
        integration: Some(ids[0]),
        ..StatsFilter::default()
    };
    for (name, filter, goal) in [
        (
            "counts, all integrations",
            StatsFilter::default(),
            Some(20.0),
        ),
        ("counts, one integration", busiest, Some(20.0)),
        ("counts, last 7 days (edges cut days)", week, None),
    ] {
        let store = app.store();
        let (median, slowest, fast) = timed(repeat, || async {
            Ok::<_, BoxError>(store.handoff_counts(&filter, false).await?)
        })
        .await?;
        let (naive, _, exact) = timed(repeat.min(3), || async {
            Ok::<_, BoxError>(store.handoff_counts(&filter, true).await?)
        })
        .await?;
        println!(
            "{:<44} {:>10} {:>10} {:>9}",
            format!("{name}: rollups"),
            ms(median),
            ms(slowest),
            fast.total
        );
        println!(
            "{:<44} {:>10} {:>10} {:>9}",
            format!("{name}: exact (every handoff)"),
            ms(naive),
            "",
            exact.total
        );
        verdicts.push(check(
            &format!("handoffs {name}: rollups equal the exact count"),
            format!("{fast:?}"),
            &format!("{exact:?}"),
            fast == exact,
        ));
        if let Some(goal) = goal {
            let got = median.as_secs_f64() * 1000.0;
            verdicts.push(check(
                &format!("handoffs {name}: median time"),
                format!("{got:.1} ms"),
                &format!("< {goal} ms"),
                got < goal,
            ));
        }
    }
    let total = app
        .store()
        .handoff_counts(&StatsFilter::default(), false)
        .await?
        .total;
    for (name, query) in [
        ("page 1 (100 rows), newest first", HandoffsQuery::default()),
        (
            "page in the middle, newest first",
            HandoffsQuery {
                offset: Some(total / 2),
                ..HandoffsQuery::default()
            },
        ),
        (
            "page in the middle, by status",
            HandoffsQuery {
                offset: Some(total / 2),
                sort: Some(HandoffSort::Status),
                ..HandoffsQuery::default()
            },
        ),
        (
            "page in the middle, by integration",
            HandoffsQuery {
                offset: Some(total / 2),
                sort: Some(HandoffSort::Integration),
                ..HandoffsQuery::default()
            },
        ),
        (
            "undelivered, page 1",
            HandoffsQuery {
                status: Some(HandoffState::Undelivered),
                ..HandoffsQuery::default()
            },
        ),
    ] {
        if !deep_pages && query.offset.is_some() {
            continue;
        }
        let (median, slowest, page) = timed(repeat, || async {
            Ok::<_, BoxError>(app.handoffs_page_query(&query).await?)
        })
        .await?;
        println!(
            "{:<44} {:>10} {:>10} {:>9}",
            format!("list: {name}"),
            ms(median),
            ms(slowest),
            page.total
        );
    }
    Ok(())
}

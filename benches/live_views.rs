//! Live views (issue 17): how long after one console sends a handoff another console on the
//! same store shows it delivered, in one run, on both stores and by two ways of watching:
//!
//! - **signal**: the viewer waits on the store's change number (`Store::changes_after`, what the
//!   UI's `GET /changes` long wait answers: `PRAGMA data_version` on SQLite, `LISTEN/NOTIFY`
//!   on PostgreSQL) and re-reads its page when it moves;
//! - **poll 1 s** (the baseline): the viewer re-reads its page every second, as a view without
//!   signals would have to (the UI refreshed every 10 s before).
//!
//! Each sample: the writer console sends one handoff to a loopback sink (gaps of 50 to 250 ms
//! between sends); the viewer console, on its own connections, reads the first page of the
//! attempts (newest first, 50 rows) and notes when the session first shows delivered. Latency is
//! from the send's start to that moment. Printed per store and way: p50, p95, max, and the
//! pages the viewer read while nothing changed for 3 s (what watching costs when idle).
//!
//! `cargo bench --no-default-features --bench live_views [-- --requests N]` (default 100
//! samples per store and way); PostgreSQL from `HANDOFF_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), in a schema of its own dropped afterwards.

mod support;

use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::service::requests::HistoryQuery;
use handoff_console::store::StoreChoice;
use handoff_console::store::postgres::StoreUrl;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{BoxError, MemorySecrets, Options, Samples, check, summary};

/// How often the baseline viewer re-reads its page.
const POLL: Duration = Duration::from_secs(1);
/// The idle stretch over which the viewers' reads are counted.
const IDLE: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq)]
enum Way {
    Signal,
    Poll,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::Poll => "poll 1 s",
        }
    }
}

fn main() -> Result<(), BoxError> {
    let opts = Options::parse(100, &[])?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(opts.requests))
}

async fn run(samples: usize) -> Result<(), BoxError> {
    handoff_console::targets::api::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_url = format!("http://{}", listener.local_addr()?);
    let router = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::CREATED, "{\"id\":\"ok\"}") });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&support::pg_server())
        .await?;
    let schema = format!("hc_bench_live_{:08x}", rand::random::<u32>());
    let pg_url = support::pg_store_url(&schema)?;
    println!(
        "live views: {samples} handoffs per store and way, sent by one console and watched by \
         another on its own connections"
    );
    println!(
        "{:<11} {:<9} {:>9} {:>9} {:>9} {:>16} {:>12}",
        "store", "way", "p50 ms", "p95 ms", "max ms", "idle reads in 3 s", "send max ms"
    );
    let mut verdicts = Vec::new();
    let sqlite_dir = tempfile::tempdir()?;
    let result = async {
        for (store, choice) in [
            ("sqlite", StoreChoice::Local),
            ("postgresql", StoreChoice::Shared(StoreUrl::parse(&pg_url)?)),
        ] {
            let secrets = Arc::new(MemorySecrets::default());
            let (dir_w, dir_v) = (tempfile::tempdir()?, tempfile::tempdir()?);
            // The local store is one file: both consoles open the same data dir.
            let (dir_w, dir_v) = match choice {
                StoreChoice::Local => (sqlite_dir.path(), sqlite_dir.path()),
                StoreChoice::Shared(_) => (dir_w.path(), dir_v.path()),
            };
            let writer = App::open_on(dir_w, choice.clone(), secrets.clone()).await?;
            writer
                .add_integration(support::emr_patients_api(
                    &sink_url,
                    json!({"maxAttempts": 1}),
                )?)
                .await?;
            // Not measured: the store's first handoff makes its data key.
            writer
                .send(
                    "emr",
                    "warm-up",
                    json!({"fullName": "Warm Up"}),
                    Trigger::Live,
                )
                .await?;
            let viewer = Arc::new(App::open_on(dir_v, choice, secrets).await?);
            for way in [Way::Signal, Way::Poll] {
                let (mut s, idle_reads, send_max) =
                    measure(&writer, &viewer, way, samples, store).await?;
                s.sort();
                let ms = |p: f64| s.percentile_us(p) / 1000.0;
                println!(
                    "{store:<11} {:<9} {:>9.1} {:>9.1} {:>9.1} {idle_reads:>16} {:>12.1}",
                    way.name(),
                    ms(50.0),
                    ms(95.0),
                    ms(100.0),
                    send_max.as_secs_f64() * 1000.0
                );
                if way == Way::Signal {
                    verdicts.push(check(
                        &format!("{store}: another console shows an attempt (p95)"),
                        format!("{:.0} ms", ms(95.0)),
                        "within about a second (1,000 ms)",
                        ms(95.0) <= 1_000.0,
                    ));
                    verdicts.push(check(
                        &format!("{store}: pages read while nothing changed"),
                        idle_reads.to_string(),
                        "none",
                        idle_reads == 0,
                    ));
                }
            }
            writer.close().await;
            viewer.close().await;
        }
        Ok::<_, BoxError>(())
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await?;
    result?;
    summary(&verdicts);
    Ok(())
}

/// `samples` sends by `writer`, watched by `viewer` the `way` given: each send's latency until
/// the viewer's page shows it delivered, and the pages the viewer read over [`IDLE`] with
/// nothing sent.
async fn measure(
    writer: &App,
    viewer: &Arc<App>,
    way: Way,
    samples: usize,
    store: &str,
) -> Result<(Samples, usize, Duration), BoxError> {
    let prefix = format!(
        "{store}-{}-{:06x}",
        way.name().replace(' ', ""),
        rand::random::<u32>() >> 8
    );
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reads = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (viewer, seen, reads, stop) =
            (viewer.clone(), seen.clone(), reads.clone(), stop.clone());
        tokio::spawn(async move {
            let page = HistoryQuery {
                limit: Some(50),
                ..Default::default()
            };
            let mut version = viewer
                .store()
                .changes_after(None, Duration::ZERO)
                .await
                .version;
            while !stop.load(Ordering::SeqCst) {
                match way {
                    Way::Signal => {
                        let now = viewer
                            .store()
                            .changes_after(Some(version), Duration::from_millis(500))
                            .await;
                        if now.version == version {
                            continue;
                        }
                        version = now.version;
                    }
                    Way::Poll => tokio::time::sleep(POLL).await,
                }
                reads.fetch_add(1, Ordering::SeqCst);
                let Ok(rows) = viewer.history_page_query(&page).await else {
                    continue;
                };
                let at = Instant::now();
                let mut seen = seen.lock().unwrap();
                for row in rows.rows {
                    if row.status == handoff_console::attempts::Status::Succeeded {
                        seen.entry(row.session_id).or_insert(at);
                    }
                }
            }
        })
    };
    // The viewer is live before the first send (the listener connects on the first wait).
    let started = Instant::now();
    while !viewer
        .store()
        .changes_after(None, Duration::ZERO)
        .await
        .live
    {
        if started.elapsed() > Duration::from_secs(10) {
            return Err(format!("{store}: the viewer never followed changes").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sent = Vec::with_capacity(samples);
    let mut send_max = Duration::ZERO;
    for i in 0..samples {
        let session = format!("{prefix}-{i}");
        let t0 = Instant::now();
        let r = writer
            .send(
                "emr",
                &session,
                json!({"fullName": format!("Patient {i}")}),
                Trigger::Live,
            )
            .await?;
        if !r.success {
            return Err(format!("{store}: a send failed: {}", r.message).into());
        }
        send_max = send_max.max(t0.elapsed());
        sent.push((session, t0));
        tokio::time::sleep(Duration::from_millis(
            50 + u64::from(rand::random::<u8>()) % 200,
        ))
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let missing = {
            let seen = seen.lock().unwrap();
            sent.iter().filter(|(s, _)| !seen.contains_key(s)).count()
        };
        if missing == 0 {
            break;
        }
        if Instant::now() > deadline {
            stop.store(true, Ordering::SeqCst);
            return Err(format!("{store} {}: {missing} sends never showed", way.name()).into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Idle: nothing is sent; what the viewer reads now is what watching costs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = reads.load(Ordering::SeqCst);
    tokio::time::sleep(IDLE).await;
    let idle_reads = reads.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    let _ = watcher.await;
    let seen = seen.lock().unwrap();
    let latencies = sent
        .iter()
        .map(|(s, t0)| seen[s].saturating_duration_since(*t0))
        .collect();
    Ok((
        Samples {
            latencies,
            ..Default::default()
        },
        idle_reads,
        send_max,
    ))
}

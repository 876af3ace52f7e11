//! Shared work on one PostgreSQL store: 1, 2 and 4 worker processes (the real binary,
//! `handoff-console --store URL worker`) draining due retries to a loopback sink, in one run.
//! Each round has a fresh store (a schema of its own) seeded with the same 50,000 handoffs, each
//! refused once (503) and then made due at once; it ends when every one is recorded delivered.
//! (A fresh store per round: reusing one makes every later round slower, as its tables grow.) Printed per round: handoffs/s, the speed-up over one
//! worker, and where the CPU went (the workers, PostgreSQL's processes, this process's sink),
//! so that the text can say what the limit is; and a check that the sink saw each handoff
//! exactly once (no kill here, so no second delivery is allowed). Beside each round, the
//! store's floor: its two write transactions per handoff alone (`begin_attempt`,
//! `finish_attempt`), from as many tasks as the workers run attempts at once, with nothing
//! sent: the most handoffs a second this database takes at that concurrency.
//!
//! `cargo bench --no-default-features --bench shared_workers [-- --handoffs N --sink-delay-ms D]`
//! against `HANDOFF_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), each round
//! in a schema of its own that is dropped afterwards. `--without-rollups 1` drops the statistics
//! triggers after seeding, to show what they cost.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use handoff_console::App;
use handoff_console::attempts::{Status, Trigger};
use handoff_console::secrets::BackendKind;
use serde_json::json;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{
    BoxError, Options, cpu_added, cpu_by_name, cpus, drive, process_cpu, stat_cpu, store_writes,
};

const PASSPHRASE: &str = "shared workers benchmark";
/// The floor's rows: a sealed handoff's size and a request's, as the workers' are.
const FLOOR_DATA: &str = "hc1:k1:00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
const FLOOR_REQUEST: &str = r#"{"method":"POST","url":"http://127.0.0.1/patients","headers":{"content-type":"application/json","idempotency-key":"0000"},"body":{"name":"••••"}}"#;

/// The sink: 503 until `accepting`, then counts deliveries per `Idempotency-Key`.
#[derive(Default)]
struct Sink {
    accepting: AtomicBool,
    delay: Duration,
    delivered: AtomicUsize,
    keys: Mutex<HashMap<String, u32>>,
}

async fn receive(State(s): State<Arc<Sink>>, headers: HeaderMap) -> (StatusCode, &'static str) {
    if !s.accepting.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "{}");
    }
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    *s.keys.lock().unwrap().entry(key).or_default() += 1;
    s.delivered.fetch_add(1, Ordering::SeqCst);
    (StatusCode::CREATED, "{\"id\":\"ok\"}")
}

struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn succeeded(admin: &sqlx::PgPool, schema: &str) -> Result<i64, BoxError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.handoffs WHERE status = 'succeeded'"
    )))
    .fetch_one(admin)
    .await?)
}

fn main() -> Result<(), BoxError> {
    let opts = Options::parse(
        1,
        &[
            ("--handoffs", 50_000),
            ("--sink-delay-ms", 0),
            ("--without-rollups", 0),
        ],
    )?;
    let bench = Bench {
        handoffs: opts.get("--handoffs").max(1),
        without_rollups: opts.get("--without-rollups") != 0,
    };
    let delay = Duration::from_millis(opts.get("--sink-delay-ms") as u64);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(bench, delay))
}

struct Bench {
    handoffs: usize,
    without_rollups: bool,
}

/// One round's figures.
struct Round {
    seconds: f64,
    workers_cpu: Duration,
    pg_cpu: Duration,
    sink_cpu: Duration,
    floor: f64,
    exact: bool,
}

async fn run(bench: Bench, delay: Duration) -> Result<(), BoxError> {
    handoff_console::targets::api::install_crypto_provider();
    let server = support::pg_server();
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&server)
        .await?;
    let sink = Arc::new(Sink {
        delay,
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_url = format!("http://{}", listener.local_addr()?);
    let router = axum::Router::new()
        .fallback(receive)
        .with_state(Arc::clone(&sink));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    // SAFETY: set before the workers start and before any other thread reads the environment.
    unsafe { std::env::set_var("HANDOFF_VAULT_PASSPHRASE", PASSPHRASE) };
    println!(
        "shared workers: {} due retries per round, sink delay {delay:?}, {} cpus{}",
        bench.handoffs,
        cpus(),
        if bench.without_rollups {
            ", statistics rollups' triggers dropped"
        } else {
            ""
        }
    );
    println!(
        "{:>7} {:>8} {:>11} {:>8} {:>13} {:>13} {:>11} {:>11} {:>12} {:>9}",
        "workers",
        "seconds",
        "handoffs/s",
        "speed-up",
        "workers' cpu",
        "postgres cpu",
        "sink cpu",
        "cores used",
        "store floor",
        "of floor"
    );
    let mut first_rate = None;
    let mut exact = true;
    for n in [1usize, 2, 4] {
        let schema = format!("hc_bench_work_{:08x}", rand::random::<u32>());
        let result = round(&bench, &admin, &schema, &sink, &sink_url, n).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await?;
        let r = result?;
        let rate = bench.handoffs as f64 / r.seconds;
        let base = *first_rate.get_or_insert(rate);
        let cores = |d: Duration| d.as_secs_f64() / r.seconds;
        println!(
            "{n:>7} {:>8.2} {rate:>11.0} {:>7.2}x {:>13.2} {:>13.2} {:>11.2} {:>11.2} {:>12.0} {:>8.0}%",
            r.seconds,
            rate / base,
            cores(r.workers_cpu),
            cores(r.pg_cpu),
            cores(r.sink_cpu),
            cores(r.workers_cpu + r.pg_cpu + r.sink_cpu),
            r.floor,
            100.0 * rate / r.floor,
        );
        exact &= r.exact;
    }
    println!(
        "(cpu columns in cores: CPU seconds over wall seconds, the machine has {}; store floor: \
         its two write transactions per handoff alone, from 4 tasks per worker)",
        cpus()
    );
    if exact {
        println!("each round: every handoff delivered exactly once: met");
        Ok(())
    } else {
        Err("a round delivered a handoff more than once or not at all".into())
    }
}

/// Seeds a fresh store in `schema`, drains it with `n` workers, then measures its floor.
async fn round(
    bench: &Bench,
    admin: &sqlx::PgPool,
    schema: &str,
    sink: &Sink,
    sink_url: &str,
    n: usize,
) -> Result<Round, BoxError> {
    let url = support::pg_store_url(schema)?;
    // The seeding console keeps the data key in a vault in its data dir; each worker gets a
    // copy of that dir's vault (as each host would hold the vault file, same passphrase).
    let seed_dir = tempfile::tempdir()?;
    let app =
        Arc::new(App::open_chosen(seed_dir.path(), Some(BackendKind::Vault), Some(&url)).await?);
    let integration = app
        .add_integration(support::emr_patients_api(
            sink_url,
            json!({"maxAttempts": 10, "baseDelayMs": 3600000}),
        )?)
        .await?;
    sink.accepting.store(false, Ordering::SeqCst);
    {
        use futures_util::StreamExt;
        let app = &app;
        let mut sends = futures_util::stream::iter(0..bench.handoffs)
            .map(|i| async move {
                app.send(
                    "emr",
                    &format!("call-{i}"),
                    json!({"fullName": format!("Patient {i}")}),
                    Trigger::Live,
                )
                .await
            })
            .buffer_unordered(32);
        while let Some(r) = sends.next().await {
            if r?.handoff_status != Status::Pending {
                return Err("a seeded handoff is not waiting for a retry".into());
            }
        }
    }
    if bench.without_rollups {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TRIGGER stats_attempt_inserted ON {schema}.attempts;
             DROP TRIGGER stats_attempt_updated ON {schema}.attempts;
             DROP TRIGGER stats_handoff_inserted ON {schema}.handoffs;
             DROP TRIGGER stats_handoff_updated ON {schema}.handoffs"
        )))
        .execute(admin)
        .await?;
    }
    // Every handoff due now; the tables as tidy as after a quiet night.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE {schema}.handoffs SET next_attempt_at = {}",
        chrono::Utc::now().timestamp_millis()
    )))
    .execute(admin)
    .await?;
    for table in ["handoffs", "attempts"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "VACUUM ANALYZE {schema}.{table}"
        )))
        .execute(admin)
        .await?;
    }
    sink.keys.lock().unwrap().clear();
    sink.delivered.store(0, Ordering::SeqCst);
    sink.accepting.store(true, Ordering::SeqCst);
    let dirs: Vec<tempfile::TempDir> = (0..n)
        .map(|_| tempfile::tempdir())
        .collect::<Result<_, _>>()?;
    for d in &dirs {
        std::fs::copy(
            seed_dir.path().join(handoff_console::secrets::VAULT_FILE),
            d.path().join(handoff_console::secrets::VAULT_FILE),
        )?;
    }
    let pg_before = cpu_by_name("postgres");
    let self_before = process_cpu().unwrap_or_default();
    let started = Instant::now();
    let mut workers = Workers(
        dirs.iter()
            .map(|d| {
                Command::new(env!("CARGO_BIN_EXE_handoff-console"))
                    .args([
                        "--store",
                        &url,
                        "--secrets",
                        "vault",
                        "worker",
                        "--poll-ms",
                        "50",
                    ])
                    .env("HANDOFF_DATA_DIR", d.path())
                    .env_remove("HANDOFF_STORE_URL")
                    .env_remove("RUST_LOG")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
            })
            .collect::<Result<_, _>>()?,
    );
    // Done when every handoff is recorded delivered (the sink may see the last ones first).
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        if sink.delivered.load(Ordering::SeqCst) >= bench.handoffs
            && succeeded(admin, schema).await? as usize >= bench.handoffs
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{n} worker(s) did not finish in 30 minutes").into());
        }
        if let Some(c) = workers
            .0
            .iter_mut()
            .find_map(|c| c.try_wait().ok().flatten())
        {
            return Err(format!("a worker exited early: {c}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let workers_cpu: Duration = workers
        .0
        .iter()
        .filter_map(|c| stat_cpu(format!("/proc/{}/stat", c.id())).map(|(_, cpu)| cpu))
        .sum();
    let pg_cpu = cpu_added(&pg_before, &cpu_by_name("postgres"));
    let sink_cpu = process_cpu()
        .unwrap_or_default()
        .saturating_sub(self_before);
    for c in &mut workers.0 {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
    }
    drop(workers);
    sink.accepting.store(false, Ordering::SeqCst);
    let exact = {
        let keys = sink.keys.lock().unwrap();
        let once = keys.len() == bench.handoffs && keys.values().all(|c| *c == 1);
        if !once {
            let repeated: u32 = keys.values().map(|c| c.saturating_sub(1)).sum();
            println!(
                "        MISSED: {} handoffs reached the sink, {repeated} more than once",
                keys.len()
            );
        }
        once
    };
    // The floor at the same concurrency (each worker runs 4 attempts at once), on the same
    // store after the round.
    let floor = {
        let app = Arc::clone(&app);
        drive(bench.handoffs.min(5_000), 4 * n, move |i| {
            let app = Arc::clone(&app);
            async move { store_writes(&app, integration.id, "emr", i, FLOOR_DATA, FLOOR_REQUEST).await }
        })
        .await?
    };
    app.close().await;
    Ok(Round {
        seconds,
        workers_cpu,
        pg_cpu,
        sink_cpu,
        floor: floor.throughput(),
        exact,
    })
}

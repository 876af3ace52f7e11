//! API handoffs against a bare reqwest loop, side by side in one run (machines are noisy: compare
//! the ratios across runs, not the absolute figures).
//!
//! An axum sink on 127.0.0.1:0 (its own single-threaded runtime, on its own thread) answers
//! `201 {"id": "sub-<n>"}`. At concurrency 1 and 32 both sides are warmed up, then measured in
//! alternating rounds:
//!
//! - `bare`: `reqwest` with the console's client settings POSTs the seed's payload as JSON,
//!   with an `Idempotency-Key`, and reads the answer;
//! - `handoff`: `App::send` to an API integration pointing at the same sink: it looks the
//!   integration up, records the attempt in the SQLite store (temp data dir), renders and sends
//!   the payload, and records the outcome.
//!
//! Goals: handoff throughput >= 70% of bare; at concurrency 1, handoff p50 - bare p50 < 1 ms.
//! Two more rows show where a handoff's time goes (they are not part of the goals): `- store`,
//! its two store transactions alone, and `- lookup`, its integration lookup alone.
//!
//! `cargo bench --no-default-features --bench handoff_api [-- --requests N --rounds R
//! --sink-delay-ms D]`, or `HANDOFF_BENCH_REQUESTS=N`: N requests per side and concurrency
//! (default 3000). `--sink-delay-ms` makes the sink wait before answering, like a real target.

mod support;

use axum::http::StatusCode;
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::integrations::IntegrationConfig;
use handoff_console::targets::api::install_crypto_provider;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{BoxError, MemorySecrets, Options, Samples, check, drive, offset, row};

const DEFAULT_REQUESTS: usize = 3000;
const CONCURRENCIES: [usize; 2] = [1, 32];
const THROUGHPUT_GOAL: f64 = 0.70;
const ADDED_P50_GOAL_US: f64 = 1000.0;
const INTEGRATION: &str = "bench-api";

fn main() -> Result<(), BoxError> {
    let opts = Options::parse(DEFAULT_REQUESTS, &[("--sink-delay-ms", 0)])?;
    let delay = Duration::from_millis(opts.get("--sink-delay-ms") as u64);
    let sink = start_sink(delay)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts, sink, delay))
}

/// Starts the sink on its own thread and runtime, so that it does not share the scheduler of
/// the side being measured. Returns its base URL.
fn start_sink(delay: Duration) -> Result<String, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("sink".into())
        .spawn(move || {
            runtime.block_on(async move {
                let counter = Arc::new(AtomicU64::new(0));
                let app = axum::Router::new().fallback(move || {
                    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                    async move {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        (
                            StatusCode::CREATED,
                            axum::Json(json!({ "id": format!("sub-{n}") })),
                        )
                    }
                });
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = axum::serve(l, app).await {
                            eprintln!("sink stopped: {e}");
                        }
                    }
                    Err(e) => eprintln!("sink cannot listen: {e}"),
                }
            })
        })?;
    Ok(format!("http://{addr}"))
}

/// The seed's example collected data, already in normalised form.
fn collected(i: usize) -> Value {
    json!({
        "fullName": format!("Jane Doe {i}"),
        "email": "jane.doe@example.com",
        "phoneNumber": "+1 555 123 4567",
        "appointmentDate": "2026-12-01",
        "additionalNotes": "Prefers morning appointments; allergic to penicillin.",
    })
}

/// What the integration renders from [`collected`]: the seed's `payloadStructure`.
fn rendered(i: usize, timestamp: &str) -> Value {
    json!({
        "patient_name": format!("Jane Doe {i}"),
        "email": "jane.doe@example.com",
        "phone": "+1 555 123 4567",
        "appointment_date": "2026-12-01",
        "notes": "Prefers morning appointments; allergic to penicillin.",
        "created_at": timestamp,
    })
}

/// The seed's API example, without its bearer token, retried never.
fn integration_config(endpoint: &str) -> Result<IntegrationConfig, BoxError> {
    let config = json!({
        "name": INTEGRATION,
        "kind": "api",
        "fields": [
            {"name": "fullName", "type": "name", "required": true},
            {"name": "email", "type": "email"},
            {"name": "phoneNumber", "type": "phone"},
            {"name": "appointmentDate", "type": "date"},
            {"name": "additionalNotes", "type": "text"},
        ],
        "api": {
            "endpoint": endpoint,
            "method": "POST",
            "headers": {"X-API-Version": "1.0"},
            "payloadStructure": {
                "patient_name": "{{fullName}}",
                "email": "{{email}}",
                "phone": "{{phoneNumber}}",
                "appointment_date": "{{appointmentDate}}",
                "notes": "{{additionalNotes}}",
                "created_at": "{{timestamp}}",
            },
        },
        "retry": {"maxAttempts": 1},
    });
    Ok(serde_json::from_value(config)?)
}

/// The console's API client settings (see `targets/api.rs`).
fn bare_client() -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("handoff-console/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

async fn bare_request(client: &reqwest::Client, url: &str, i: usize) -> Result<(), BoxError> {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let resp = client
        .post(url)
        .header("X-API-Version", "1.0")
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .timeout(Duration::from_secs(10))
        .json(&rendered(i, &timestamp))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    if status != reqwest::StatusCode::CREATED || body.is_empty() {
        return Err(format!("bare: unexpected answer {status}").into());
    }
    Ok(())
}

async fn handoff_request(app: &App, i: usize) -> Result<(), BoxError> {
    let session = format!("bench-{i}");
    let r = app
        .send(INTEGRATION, &session, collected(i), Trigger::Live)
        .await?;
    if !r.success {
        return Err(format!("handoff failed: {}", r.message).into());
    }
    Ok(())
}

async fn run(opts: Options, sink: String, delay: Duration) -> Result<(), BoxError> {
    install_crypto_provider();
    let dir = tempfile::tempdir()?;
    let app = Arc::new(App::open_with(dir.path(), Arc::new(MemorySecrets::default())).await?);
    let endpoint = format!("{sink}/patients");
    let integration_id = app
        .add_integration(integration_config(&endpoint)?)
        .await?
        .id;
    let client = bare_client()?;

    let bare = {
        let (client, url) = (client.clone(), Arc::new(endpoint.clone()));
        move |i| {
            let (client, url) = (client.clone(), Arc::clone(&url));
            async move { bare_request(&client, &url, i).await }
        }
    };
    let handoff = {
        let app = Arc::clone(&app);
        move |i| {
            let app = Arc::clone(&app);
            async move { handoff_request(&app, i).await }
        }
    };
    // A request summary of the size `App::send` records for this integration.
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let request = Arc::new(
        json!({
            "method": "POST",
            "url": endpoint,
            "headers": {
                "Content-Type": "application/json",
                "Idempotency-Key": uuid::Uuid::now_v7().to_string(),
                "X-API-Version": "1.0",
            },
            "body": rendered(0, &timestamp),
        })
        .to_string(),
    );
    let data0 = collected(0).to_string();
    let store = {
        let request = Arc::clone(&request);
        let app = Arc::clone(&app);
        move |i| {
            let (app, request) = (Arc::clone(&app), Arc::clone(&request));
            async move {
                let data = collected(i).to_string();
                support::store_writes(&app, integration_id, INTEGRATION, i, &data, &request).await
            }
        }
    };
    let lookup = {
        let app = Arc::clone(&app);
        move |_| {
            let app = Arc::clone(&app);
            async move {
                app.integration(INTEGRATION).await?;
                Ok(())
            }
        }
    };

    println!(
        "handoff_api: {} requests per side and concurrency in {} alternating rounds, after a \
         warm-up; sink delay {} ms; {} CPUs",
        opts.requests,
        opts.rounds,
        delay.as_millis(),
        support::cpus()
    );
    println!("sink {sink}; store {}", app.store().location());
    println!();
    support::header(
        "bare: reqwest loop; handoff: App::send; - store / - lookup: parts of a handoff alone;\n\
         - sqlite floor: the store's rows and commits in-thread (the least any handoff costs)",
    );
    let mut verdicts = Vec::new();
    let mut seq = 0;
    let mut handoffs_sent = 0;
    let per_round = opts.requests.div_ceil(opts.rounds);
    for concurrency in CONCURRENCIES {
        let warmup = (opts.requests / 10).max(concurrency * 4);
        drive(warmup, concurrency, offset(&bare, &mut seq, warmup)).await?;
        drive(warmup, concurrency, offset(&handoff, &mut seq, warmup)).await?;
        handoffs_sent += warmup;
        let (mut b, mut h) = (Samples::default(), Samples::default());
        for _ in 0..opts.rounds {
            b.add(drive(per_round, concurrency, offset(&bare, &mut seq, per_round)).await?);
            h.add(
                drive(
                    per_round,
                    concurrency,
                    offset(&handoff, &mut seq, per_round),
                )
                .await?,
            );
            handoffs_sent += per_round;
        }
        let mut st = drive(per_round, concurrency, offset(&store, &mut seq, per_round)).await?;
        let mut lk = drive(per_round, concurrency, lookup.clone()).await?;
        let floor_dir = tempfile::tempdir()?;
        let mut fl =
            support::sqlite_floor(floor_dir.path(), per_round, concurrency, &data0, &request)
                .await?;
        for s in [&mut b, &mut h, &mut st, &mut lk, &mut fl] {
            s.sort();
        }
        row(concurrency, "bare", &b);
        row(concurrency, "handoff", &h);
        row(concurrency, "- store", &st);
        row(concurrency, "- lookup", &lk);
        row(concurrency, "- sqlite floor", &fl);
        support::ceiling(concurrency, &b, &fl);
        let ratio = h.throughput() / b.throughput();
        verdicts.push(check(
            "handoff/bare throughput",
            format!("{:.1}%", ratio * 100.0),
            &format!(">= {:.0}%", THROUGHPUT_GOAL * 100.0),
            ratio >= THROUGHPUT_GOAL,
        ));
        if concurrency == 1 {
            let added = h.percentile_us(50.0) - b.percentile_us(50.0);
            verdicts.push(check(
                "added p50 latency",
                format!("{added:.0} µs"),
                &format!("< {ADDED_P50_GOAL_US:.0} µs"),
                added < ADDED_P50_GOAL_US,
            ));
        }
    }

    let (attempts, succeeded) = support::count_live_attempts(&app).await?;
    println!();
    println!(
        "store: {attempts} live attempts recorded, {succeeded} succeeded (handoffs sent: \
         {handoffs_sent})"
    );
    app.close().await;
    if attempts != handoffs_sent as i64 || succeeded != attempts {
        return Err("the store does not hold one succeeded attempt per handoff".into());
    }
    support::summary(&verdicts);
    Ok(())
}

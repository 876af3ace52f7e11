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
//! Then, at concurrency 32, both again against a sink that waits `--sink-delay-ms` (default 20,
//! a real clinic API's latency) before answering: one that answers when each request's delay
//! ends (the goal's), and, for comparison with the earlier runs, one on the runtime's timer,
//! whose whole-millisecond ticks answer every request due within a tick together.
//!
//! Goals (issue 18), each against a limit printed in the same run: at concurrency 1 and 32,
//! handoff/bare at least 80% of the ceiling the sqlite floor sets (`- sqlite floor`: the store's
//! rows and commits, in-thread); at concurrency 1, added p50 (handoff p50 - bare p50) at most the
//! floor's own p50 + 100 µs; against the slow sink, handoff/bare at least 97%.
//! At concurrency 1, `- floor + request` is the floor's two commits in the calling task around
//! the bare side's request: a request made after a commit's time in SQLite takes longer than one
//! in the bare loop (the sink's and the runtime's threads idled meanwhile, and this project's
//! machines halt an idle vCPU), so this is the least a handoff adds here, and the added-p50 goal
//! is also judged against it ("at the floor").
//! Against the slow sink, the floor's two commits around the same request are printed two ways,
//! for comparison: in each calling task, one commit at a time, and batched by a minimal group
//! commit (one thread); the store's handoff does better than both there, so neither is a limit.
//! Beside them `- journal model` (`support::FloorJournal`): a model of a redesign, the same two
//! writes as one-row commits to a journal file whose rows a thread moves into the store's tables
//! hundreds at a time (BENCHMARKS.md, "A journal in front of the store").
//! Rows prefixed with `-` show where a handoff's time goes (not goals): `- store`, its two store
//! transactions alone; `- lookup`, its integration lookup alone. At concurrency 1 the CPU of a
//! handoff is also printed by part: lookup, templating and checks, sealing and masking, store
//! (with what its rollup and search-queue triggers take, from the floor with and without them),
//! the request (the bare side, sink included), and what is left.
//!
//! `cargo bench --no-default-features --bench handoff_api [-- --requests N --rounds R
//! --sink-delay-ms D]`, or `HANDOFF_BENCH_REQUESTS=N`: N requests per side and concurrency
//! (default 3000).
//!
//! For a profiler, `-- --profile-handoffs N [--profile-concurrency C] [--profile-slow 1]`
//! runs only N handoffs (after a warm-up) at concurrency C (default 32) against the instant
//! sink (or the slow one), prints their rate and CPU, and stops: e.g. `perf record -g
//! --call-graph dwarf <binary> --bench --profile-handoffs 20000`.

mod support;

use axum::http::StatusCode;
use handoff_console::App;
use handoff_console::attempts::Trigger;
use handoff_console::crypto::DataKey;
use handoff_console::integrations::FieldSpec;
use handoff_console::integrations::IntegrationConfig;
use handoff_console::masking::mask_data;
use handoff_console::targets::api::install_crypto_provider;
use handoff_console::templating::{self, RenderContext};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{
    BoxError, MemorySecrets, Options, Samples, check, drive, drive_settled, offset, row,
};

const DEFAULT_REQUESTS: usize = 3000;
const CONCURRENCIES: [usize; 2] = [1, 32];
/// handoff/bare at least this share of the ceiling the sqlite floor sets.
const CEILING_GOAL: f64 = 0.80;
/// At concurrency 1: added p50 at most the floor's own p50 plus this.
const ADDED_P50_OVER_FLOOR_US: f64 = 100.0;
/// Against the slow sink, at [`SLOW_CONCURRENCY`].
const SLOW_SINK_GOAL: f64 = 0.97;
const SLOW_CONCURRENCY: usize = 32;
const INTEGRATION: &str = "bench-api";
/// The integrations pointing at the slow sinks, in their order.
const SLOW_INTEGRATIONS: [&str; 2] = ["bench-api-slow", "bench-api-slow-ticks"];

fn main() -> Result<(), BoxError> {
    let opts = Options::parse(
        DEFAULT_REQUESTS,
        &[
            ("--sink-delay-ms", 20),
            ("--profile-handoffs", 0),
            ("--profile-concurrency", SLOW_CONCURRENCY),
            ("--profile-slow", 0),
        ],
    )?;
    let delay = Duration::from_millis(opts.get("--sink-delay-ms") as u64);
    let sink = start_sink(Duration::ZERO, Timer::Exact)?;
    let slow_sinks = [
        (start_sink(delay, Timer::Exact)?, Timer::Exact),
        (start_sink(delay, Timer::Ticks)?, Timer::Ticks),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts, sink, slow_sinks, delay))
}

/// How the slow sink waits before it answers.
#[derive(Clone, Copy, PartialEq)]
enum Timer {
    /// The delay itself (a thread sleeps it): answers come when each request's delay ends, as a
    /// real API's do.
    Exact,
    /// The runtime's timer, which fires on whole-millisecond ticks: every request whose delay
    /// ends within one tick is answered at that tick's end, together, which can gather
    /// closed-loop clients into bursts (the earlier runs' sink, kept for comparison).
    Ticks,
}

impl Timer {
    fn describe(self) -> &'static str {
        match self {
            Self::Exact => "exact delay",
            Self::Ticks => "the runtime's timer, 1 ms ticks",
        }
    }
}

/// Starts the sink on its own thread and runtime, so that it does not share the scheduler of
/// the side being measured. Returns its base URL.
fn start_sink(delay: Duration, timer: Timer) -> Result<String, BoxError> {
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
                            match timer {
                                Timer::Exact => {
                                    let _ = tokio::task::spawn_blocking(move || {
                                        std::thread::sleep(delay)
                                    })
                                    .await;
                                }
                                Timer::Ticks => tokio::time::sleep(delay).await,
                            }
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
fn integration_config(name: &str, endpoint: &str) -> Result<IntegrationConfig, BoxError> {
    let config = json!({
        "name": name,
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

/// Microseconds per call of `f`, a piece of pure CPU work, over enough calls to time it well.
fn per_call_us(f: impl Fn(usize) -> Result<(), BoxError>) -> Result<f64, BoxError> {
    const CALLS: usize = 20_000;
    for i in 0..CALLS / 10 {
        f(i)?;
    }
    let started = std::time::Instant::now();
    for i in 0..CALLS {
        f(i)?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / CALLS as f64)
}

/// A handoff's templating and checks alone: the data checked against the fields, the payload
/// rendered and encoded.
fn template_and_check(fields: &[FieldSpec], template: &Value, i: usize) -> Result<(), BoxError> {
    let data = collected(i);
    let checked = templating::check_data(fields, &data)
        .map_err(|p| format!("the bench's data does not pass its checks: {p:?}"))?;
    let ctx = RenderContext {
        data: &checked,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        session_id: "bench",
        handoff_id: uuid::Uuid::now_v7().to_string(),
    };
    let body = serde_json::to_vec(&templating::render(template, &ctx))?;
    std::hint::black_box(body);
    Ok(())
}

/// A handoff's sealing and masking alone: the data as stored (encoded, sealed under the data
/// key) and its masked copy.
fn seal_and_mask(fields: &[FieldSpec], key: &DataKey, i: usize) -> Result<(), BoxError> {
    let data = collected(i);
    let text = data.to_string();
    let sealed = key.seal(text.as_bytes(), &uuid::Uuid::now_v7().to_string());
    let masked = match &data {
        Value::Object(m) => Value::Object(mask_data(fields, m)).to_string(),
        _ => String::new(),
    };
    std::hint::black_box((sealed, masked));
    Ok(())
}

async fn handoff_request(app: &App, integration: &str, i: usize) -> Result<(), BoxError> {
    let session = format!("bench-{i}");
    let r = app
        .send(integration, &session, collected(i), Trigger::Live)
        .await?;
    if !r.success {
        return Err(format!("handoff failed: {}", r.message).into());
    }
    Ok(())
}

/// Only handoffs, for a profiler: a warm-up, then `--profile-handoffs` of them at
/// `--profile-concurrency`, counted until the store has settled.
async fn profile_handoffs(
    app: &Arc<App>,
    integration: &'static str,
    opts: &Options,
) -> Result<(), BoxError> {
    let (count, concurrency) = (
        opts.get("--profile-handoffs"),
        opts.get("--profile-concurrency").max(1),
    );
    let handoff = {
        let app = Arc::clone(app);
        move |i| {
            let app = Arc::clone(&app);
            async move { handoff_request(&app, integration, i).await }
        }
    };
    let mut seq = 0;
    let warmup = (count / 10).max(concurrency * 4);
    drive_settled(
        app.store(),
        warmup,
        concurrency,
        offset(&handoff, &mut seq, warmup),
    )
    .await?;
    let mut s = drive_settled(
        app.store(),
        count,
        concurrency,
        offset(&handoff, &mut seq, count),
    )
    .await?;
    s.sort();
    support::header(&format!("profile: {count} handoffs to {integration} only"));
    row(concurrency, "handoff", &s);
    app.close().await;
    Ok(())
}

async fn run(
    opts: Options,
    sink: String,
    slow_sinks: [(String, Timer); 2],
    delay: Duration,
) -> Result<(), BoxError> {
    install_crypto_provider();
    let dir = tempfile::tempdir()?;
    let app = Arc::new(App::open_with(dir.path(), Arc::new(MemorySecrets::default())).await?);
    let endpoint = format!("{sink}/patients");
    let config = integration_config(INTEGRATION, &endpoint)?;
    let integration_id = app.add_integration(config.clone()).await?.id;
    for ((url, _), name) in slow_sinks.iter().zip(SLOW_INTEGRATIONS) {
        app.add_integration(integration_config(name, &format!("{url}/patients"))?)
            .await?;
    }
    let client = bare_client()?;
    if opts.get("--profile-handoffs") > 0 {
        let integration = match opts.get("--profile-slow") {
            0 => INTEGRATION,
            _ => SLOW_INTEGRATIONS[0],
        };
        return profile_handoffs(&app, integration, &opts).await;
    }

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
            async move { handoff_request(&app, INTEGRATION, i).await }
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

    // The parts of a handoff that run in the console's own code, each alone.
    let fields = config.fields.clone();
    let template = config
        .api
        .as_ref()
        .and_then(|a| a.payload_structure.clone())
        .ok_or("the integration has no payload")?;
    let key = DataKey::generate();

    println!(
        "handoff_api: {} requests per side and concurrency in {} alternating rounds, after a \
         warm-up; {} CPUs",
        opts.requests,
        opts.rounds,
        support::cpus()
    );
    println!(
        "sink {sink} (answers at once); slow sinks {} and {} (answer after {} ms: {}, {}); \
         store {}",
        slow_sinks[0].0,
        slow_sinks[1].0,
        delay.as_millis(),
        slow_sinks[0].1.describe(),
        slow_sinks[1].1.describe(),
        app.store().location()
    );
    println!();
    support::header(
        "bare: reqwest loop; handoff: App::send; - store / - lookup: parts of a handoff alone;\n\
         - sqlite floor: the store's rows and commits in-thread (the least any handoff costs)",
    );
    // The floor's commits around the same request, in the calling task (see `FloorAround`).
    let floor_dir = tempfile::tempdir()?;
    let around = support::FloorAround::open(floor_dir.path(), &data0, &request).await?;
    let floor_handoff = {
        let (client, url) = (client.clone(), Arc::new(endpoint.clone()));
        move |i| {
            let (client, url, around) = (client.clone(), Arc::clone(&url), around.clone());
            async move { around.handoff(bare_request(&client, &url, i)).await }
        }
    };
    let mut verdicts = Vec::new();
    let mut seq = 0;
    let mut handoffs_sent = 0;
    let per_round = opts.requests.div_ceil(opts.rounds);
    for concurrency in CONCURRENCIES {
        let warmup = (opts.requests / 10).max(concurrency * 4);
        drive(warmup, concurrency, offset(&bare, &mut seq, warmup)).await?;
        drive(warmup, concurrency, offset(&handoff, &mut seq, warmup)).await?;
        handoffs_sent += warmup;
        // Only at concurrency 1: under concurrency it commits one handoff at a time.
        let with_request = concurrency == 1;
        if with_request {
            drive(warmup, 1, offset(&floor_handoff, &mut seq, warmup)).await?;
        }
        let (mut b, mut h, mut fr) = (Samples::default(), Samples::default(), Samples::default());
        for _ in 0..opts.rounds {
            b.add(drive(per_round, concurrency, offset(&bare, &mut seq, per_round)).await?);
            h.add(
                drive_settled(
                    app.store(),
                    per_round,
                    concurrency,
                    offset(&handoff, &mut seq, per_round),
                )
                .await?,
            );
            handoffs_sent += per_round;
            if with_request {
                fr.add(drive(per_round, 1, offset(&floor_handoff, &mut seq, per_round)).await?);
            }
        }
        let mut st = drive_settled(
            app.store(),
            per_round,
            concurrency,
            offset(&store, &mut seq, per_round),
        )
        .await?;
        let mut lk = drive(per_round, concurrency, lookup.clone()).await?;
        let floor = |triggers: &'static [&'static str]| {
            let (data, request) = (data0.clone(), Arc::clone(&request));
            async move {
                let dir = tempfile::tempdir()?;
                support::sqlite_floor_without(
                    dir.path(),
                    per_round,
                    concurrency,
                    &data,
                    &request,
                    triggers,
                )
                .await
            }
        };
        let mut fl = floor(&[]).await?;
        for s in [&mut b, &mut h, &mut st, &mut lk, &mut fl, &mut fr] {
            s.sort();
        }
        row(concurrency, "bare", &b);
        row(concurrency, "handoff", &h);
        row(concurrency, "- store", &st);
        row(concurrency, "- lookup", &lk);
        row(concurrency, "- sqlite floor", &fl);
        if with_request {
            row(concurrency, "- floor + request", &fr);
        }
        let ceiling = support::ceiling(concurrency, &b, &fl);
        if concurrency == 1 {
            let no_rollups = floor(support::ROLLUP_TRIGGERS).await?;
            let both: &'static [&'static str] =
                [support::ROLLUP_TRIGGERS, support::SEARCH_TRIGGERS]
                    .concat()
                    .leak();
            let neither = floor(both).await?;
            // Pure CPU in this thread: timed by the clock over many rounds (the process's CPU
            // time is counted in ticks, too coarse for a few microseconds).
            let tp = per_call_us(|i| template_and_check(&fields, &template, i))?;
            let sm = per_call_us(|i| seal_and_mask(&fields, &key, i))?;
            let cpu = |s: &Samples| s.cpu_per_request_us();
            let parts = [
                ("lookup", cpu(&lk)),
                ("templating and checks", tp),
                ("sealing and masking", sm),
                ("store", cpu(&st)),
                ("request (bare, sink included)", cpu(&b)),
            ];
            let rest = cpu(&h) - parts.iter().map(|(_, c)| c).sum::<f64>();
            let listed: Vec<String> = parts.iter().map(|(n, c)| format!("{n} {c:.0}")).collect();
            println!(
                "{:>5}  CPU by part, µs per handoff: {}; the rest {rest:.0} (the handoff {:.0})",
                "",
                listed.join(", "),
                cpu(&h)
            );
            println!(
                "{:>5}    within the store, from the floor without them: rollups {:.0}, search \
                 queue {:.0} (floor {:.0})",
                "",
                cpu(&fl) - cpu(&no_rollups),
                cpu(&no_rollups) - cpu(&neither),
                cpu(&fl)
            );
        }
        let ratio = h.throughput() / b.throughput();
        verdicts.push(check(
            "handoff/bare throughput",
            format!(
                "{:.1}% ({:.0}% of the ceiling)",
                ratio * 100.0,
                100.0 * ratio / ceiling
            ),
            &format!(
                ">= {:.0}% of the ceiling ({:.1}%)",
                CEILING_GOAL * 100.0,
                CEILING_GOAL * ceiling * 100.0
            ),
            ratio >= CEILING_GOAL * ceiling,
        ));
        if concurrency == 1 {
            let added = h.percentile_us(50.0) - b.percentile_us(50.0);
            let limit = fl.percentile_us(50.0) + ADDED_P50_OVER_FLOOR_US;
            verdicts.push(check(
                "added p50 latency",
                format!("{added:.0} µs"),
                &format!("<= floor p50 + {ADDED_P50_OVER_FLOOR_US:.0} µs ({limit:.0} µs)"),
                added <= limit,
            ));
            // The request after a commit's time in SQLite takes longer than the bare loop's
            // (its peers idled meanwhile): the floor with its request shows what any handoff
            // adds here, and whether the limit above is within reach at all.
            let floor_added = fr.percentile_us(50.0) - b.percentile_us(50.0);
            println!(
                "{:>5}  the floor with its request adds {floor_added:.0} µs p50 (its request \
                 about {:.0} µs where bare's takes {:.0}){}",
                "",
                fr.percentile_us(50.0) - fl.percentile_us(50.0),
                b.percentile_us(50.0),
                if floor_added > limit {
                    ": the limit above is out of reach in this harness"
                } else {
                    ""
                }
            );
            verdicts.push(check(
                "added p50 latency, at the floor",
                format!(
                    "{:.0} µs over the floor with its request",
                    added - floor_added
                ),
                &format!("<= {ADDED_P50_OVER_FLOOR_US:.0} µs"),
                added - floor_added <= ADDED_P50_OVER_FLOOR_US,
            ));
        }
    }

    // A sink with a real clinic API's latency: the console's costs hide behind the wait. Judged
    // against the sink that answers when each delay ends; the one on the runtime's timer,
    // which answers on whole-millisecond ticks, is printed beside it.
    for ((url, timer), integration) in slow_sinks.iter().zip(SLOW_INTEGRATIONS) {
        let slow_bare = {
            let (client, url) = (client.clone(), Arc::new(format!("{url}/patients")));
            move |i| {
                let (client, url) = (client.clone(), Arc::clone(&url));
                async move { bare_request(&client, &url, i).await }
            }
        };
        let slow_handoff = {
            let app = Arc::clone(&app);
            move |i| {
                let app = Arc::clone(&app);
                async move { handoff_request(&app, integration, i).await }
            }
        };
        // The floor's two commits around the same slow request, two ways (only against the
        // goal's sink): in each calling task, one handoff's commit at a time (`FloorAround`),
        // and shared among the concurrent handoffs by a minimal group commit (`FloorBatched`:
        // one thread, one transaction for all that is queued). What the same rows, written
        // before and after the request, leave of bare's throughput when nothing else in a
        // handoff costs anything, done the simple ways.
        let exact = *timer == Timer::Exact;
        let (floor_dirs, slow_url) = (
            [tempfile::tempdir()?, tempfile::tempdir()?],
            Arc::new(format!("{url}/patients")),
        );
        let in_task = if exact {
            let around = support::FloorAround::open(floor_dirs[0].path(), &data0, &request).await?;
            let (client, url) = (client.clone(), Arc::clone(&slow_url));
            Some(move |i| {
                let (client, url, around) = (client.clone(), Arc::clone(&url), around.clone());
                async move { around.handoff(bare_request(&client, &url, i)).await }
            })
        } else {
            None
        };
        let batched = if exact {
            let floor = support::FloorBatched::open(floor_dirs[1].path(), &data0, &request).await?;
            let (client, url) = (client.clone(), Arc::clone(&slow_url));
            Some(move |i| {
                let (client, url, floor) = (client.clone(), Arc::clone(&url), floor.clone());
                async move { floor.handoff(bare_request(&client, &url, i)).await }
            })
        } else {
            None
        };
        // A model of a redesign, not a floor: the same two writes as one-row commits to a
        // journal file, moved into the store's tables in the background (`FloorJournal`).
        let journal_dir = tempfile::tempdir()?;
        let journal_model = if exact {
            Some(support::FloorJournal::open(journal_dir.path(), &data0, &request).await?)
        } else {
            None
        };
        let journal = if let Some(journal) = journal_model.clone() {
            let (client, url) = (client.clone(), Arc::clone(&slow_url));
            Some(move |i| {
                let (client, url, journal) = (client.clone(), Arc::clone(&url), journal.clone());
                async move { journal.handoff(bare_request(&client, &url, i)).await }
            })
        } else {
            None
        };
        let warmup = (opts.requests / 10).max(SLOW_CONCURRENCY * 4);
        drive(
            warmup,
            SLOW_CONCURRENCY,
            offset(&slow_bare, &mut seq, warmup),
        )
        .await?;
        if let (Some(t), Some(b), Some(j)) = (&in_task, &batched, &journal) {
            drive(warmup, SLOW_CONCURRENCY, offset(t, &mut seq, warmup)).await?;
            drive(warmup, SLOW_CONCURRENCY, offset(b, &mut seq, warmup)).await?;
            drive(warmup, SLOW_CONCURRENCY, offset(j, &mut seq, warmup)).await?;
        }
        drive(
            warmup,
            SLOW_CONCURRENCY,
            offset(&slow_handoff, &mut seq, warmup),
        )
        .await?;
        handoffs_sent += warmup;
        let (mut b, mut h) = (Samples::default(), Samples::default());
        let (mut ft, mut fb, mut fj) = (Samples::default(), Samples::default(), Samples::default());
        for _ in 0..opts.rounds {
            b.add(
                drive(
                    per_round,
                    SLOW_CONCURRENCY,
                    offset(&slow_bare, &mut seq, per_round),
                )
                .await?,
            );
            if let (Some(t), Some(f), Some(j)) = (&in_task, &batched, &journal) {
                ft.add(drive(per_round, SLOW_CONCURRENCY, offset(t, &mut seq, per_round)).await?);
                fb.add(drive(per_round, SLOW_CONCURRENCY, offset(f, &mut seq, per_round)).await?);
                fj.add(drive(per_round, SLOW_CONCURRENCY, offset(j, &mut seq, per_round)).await?);
            }
            h.add(
                drive_settled(
                    app.store(),
                    per_round,
                    SLOW_CONCURRENCY,
                    offset(&slow_handoff, &mut seq, per_round),
                )
                .await?,
            );
            handoffs_sent += per_round;
        }
        b.sort();
        h.sort();
        ft.sort();
        fb.sort();
        fj.sort();
        if let Some(model) = &journal_model {
            model
                .check_moved(warmup + fj.latencies.len(), journal_dir.path())
                .await?;
        }
        println!();
        println!(
            "slow sink ({} ms, {}):",
            delay.as_millis(),
            timer.describe()
        );
        row(SLOW_CONCURRENCY, "bare", &b);
        row(SLOW_CONCURRENCY, "handoff", &h);
        let ratio = h.throughput() / b.throughput();
        if exact {
            row(SLOW_CONCURRENCY, "- floor, in task", &ft);
            row(SLOW_CONCURRENCY, "- floor, batched", &fb);
            let best = ft.throughput().max(fb.throughput()) / b.throughput();
            println!(
                "{:>5}  the floor's commits around the request: {:.1}% of bare in each task, \
                 {:.1}% batched{}",
                "",
                100.0 * ft.throughput() / b.throughput(),
                100.0 * fb.throughput() / b.throughput(),
                if ratio > best {
                    format!(
                        "; the handoff ({:.1}%) does better than both, so neither bounds it",
                        100.0 * ratio
                    )
                } else {
                    String::new()
                }
            );
            row(SLOW_CONCURRENCY, "- journal model", &fj);
            println!(
                "{:>5}  a journal's model (one-row commits, rows moved in the background; not \
                 how the store works): {:.1}% of bare",
                "",
                100.0 * fj.throughput() / b.throughput()
            );
        }
        if *timer == Timer::Exact {
            verdicts.push(check(
                &format!("handoff/bare throughput, sink {} ms", delay.as_millis()),
                format!("{:.1}%", ratio * 100.0),
                &format!(">= {:.0}%", SLOW_SINK_GOAL * 100.0),
                ratio >= SLOW_SINK_GOAL,
            ));
        } else {
            println!(
                "  handoff/bare throughput {:.1}% (not a goal: {})",
                ratio * 100.0,
                timer.describe()
            );
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

//! Shared work on one PostgreSQL store (issue 17): worker processes split the due retries
//! between them through leases (`FOR UPDATE SKIP LOCKED` reservations with an expiry), never run
//! one handoff twice at once, and when some are killed with `kill -9` the others take over what
//! they held once its lease runs out, with the same handoff id (the `Idempotency-Key`). The
//! workers are the real binary (`handoff-console --store URL worker`); the target is a loopback
//! sink that counts deliveries per key.

mod common;
mod common_db;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{ChildGuard, cli};
use common_db::{cleanly, exec, pg_store_url, postgres, suffix};
use handoff_console::App;
use handoff_console::attempts::{Status, Trigger};
use handoff_console::ids::HandoffId;
use handoff_console::secrets::KeyringBackend;
use handoff_console::store::StoreChoice;
use handoff_console::store::postgres::StoreUrl;
use rand::RngExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The target: refuses everything (503) until `accepting`, then counts each delivery per
/// `Idempotency-Key`, notes a key delivered twice at the same moment, and a body naming another
/// handoff than its key. Answers after a short delay, so deliveries are in flight at a kill.
#[derive(Default)]
struct Target {
    accepting: AtomicBool,
    deliveries: Mutex<HashMap<String, u32>>,
    delivered: AtomicUsize,
    in_flight: Mutex<HashSet<String>>,
    overlaps: AtomicUsize,
    mismatched: AtomicUsize,
}

/// Takes a key out of the target's in-flight set when its request ends, also when the request
/// is cut short (a killed worker's connection closes and the server drops the handler).
struct InFlight<'a>(&'a Target, String);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.lock().unwrap().remove(&self.1);
    }
}

async fn receive(
    State(t): State<Arc<Target>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    if !t.accepting.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "{}");
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let named: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if named["handoff"].as_str() != Some(key.as_str()) {
        t.mismatched.fetch_add(1, Ordering::SeqCst);
    }
    // Counted as it arrives: the target has seen it, whether or not its sender lives to read
    // the answer.
    *t.deliveries.lock().unwrap().entry(key.clone()).or_default() += 1;
    t.delivered.fetch_add(1, Ordering::SeqCst);
    if !t.in_flight.lock().unwrap().insert(key.clone()) {
        t.overlaps.fetch_add(1, Ordering::SeqCst);
    }
    let _in_flight = InFlight(&t, key);
    tokio::time::sleep(Duration::from_millis(3)).await;
    (StatusCode::CREATED, "{\"id\":\"ok\"}")
}

async fn start_target() -> (Arc<Target>, String) {
    let target = Arc::new(Target::default());
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(Arc::clone(&target));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (target, url)
}

/// A worker process on the store: `worker` until SIGINT, printing its pass as JSON; its log
/// goes to `worker.log` in its data dir (see [`logs`]).
fn spawn_worker(url: &str, dir: &std::path::Path) -> ChildGuard {
    ChildGuard(
        cli()
            .args(["--store", url, "--json", "worker", "--poll-ms", "100"])
            .env("HANDOFF_DATA_DIR", dir)
            .env_remove("HANDOFF_STORE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("worker.log")).unwrap())
            .spawn()
            .expect("start a worker"),
    )
}

/// The end of each worker's log, for a failure's message.
fn logs(dirs: &[tempfile::TempDir]) -> String {
    dirs.iter()
        .enumerate()
        .map(|(i, d)| {
            let log = std::fs::read_to_string(d.path().join("worker.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            format!("worker {i}: {}", tail.join(" | "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn count(admin: &sqlx::PgPool, sql: String) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(admin)
        .await
        .unwrap()
}

const HANDOFFS: usize = 10_000;
const WORKERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_postgres_workers_share_due_retries_and_two_killed_mid_run_lose_nothing() {
    let server = postgres().await;
    let admin = server.pool;
    let schema = format!("hc_work_{}", suffix());
    let url = pg_store_url(&schema);
    let (target, target_url) = start_target().await;
    let dirs: Vec<tempfile::TempDir> = (0..=WORKERS)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    cleanly(
        async {
            // Seed: every handoff's first attempt refused (503), so all wait as due retries.
            let front = App::open_on(
                dirs[WORKERS].path(),
                StoreChoice::Shared(StoreUrl::parse(&url).unwrap()),
                Arc::new(KeyringBackend),
            )
            .await
            .expect("open the seeding console");
            let config = serde_json::from_value(json!({
                "name": "emr", "kind": "api",
                "fields": [{"name": "fullName", "type": "name", "required": true}],
                "api": {"endpoint": format!("{target_url}/patients"), "method": "POST",
                        "payloadStructure": {"name": "{{fullName}}", "handoff": "{{handoffId}}"},
                        "timeoutMs": 2000, "connectTimeoutMs": 500},
                "retry": {"maxAttempts": 5, "baseDelayMs": 60000}
            }))
            .unwrap();
            front.add_integration(config).await.unwrap();
            use futures_util::StreamExt;
            let seeding = Instant::now();
            let seeded: Vec<HandoffId> = futures_util::stream::iter(0..HANDOFFS)
                .map(|n| {
                    let front = &front;
                    async move {
                        let r = front
                            .send(
                                "emr",
                                &format!("call-{n}"),
                                json!({"fullName": format!("Patient {n}")}),
                                Trigger::Live,
                            )
                            .await
                            .unwrap();
                        assert_eq!(r.handoff_status, Status::Pending, "{r:?}");
                        r.handoff_id
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await;
            front.close().await;
            eprintln!("seeded {HANDOFFS} in {:?}", seeding.elapsed());
            // All due now.
            exec(
                &admin,
                format!(
                    "UPDATE {schema}.handoffs SET next_attempt_at = {}",
                    chrono::Utc::now().timestamp_millis()
                ),
            )
            .await;
            target.accepting.store(true, Ordering::SeqCst);

            let mut workers: Vec<ChildGuard> = dirs[..WORKERS]
                .iter()
                .map(|d| spawn_worker(&url, d.path()))
                .collect();
            // Two of them killed at random moments: one early, one in the middle.
            let mut rng = rand::rng();
            let kills = [
                rng.random_range(HANDOFFS / 10..HANDOFFS * 3 / 10),
                rng.random_range(HANDOFFS * 4 / 10..HANDOFFS * 6 / 10),
            ];
            let deadline = Instant::now() + Duration::from_secs(420);
            for (victim, at) in kills.iter().enumerate() {
                while target.delivered.load(Ordering::SeqCst) < *at {
                    assert!(
                        Instant::now() < deadline,
                        "deliveries stalled before the kill at {}:\n{}",
                        target.delivered.load(Ordering::SeqCst),
                        logs(&dirs[..WORKERS])
                    );
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                workers[victim].kill().unwrap(); // SIGKILL
                workers[victim].wait().unwrap();
                eprintln!("killed worker {victim} at {at} deliveries");
            }
            let delivered_at_kills = target.delivered.load(Ordering::SeqCst);
            // The survivors finish, taking over what the killed ones held once their leases run
            // out (the reservation's 15 s, an attempt's 7.5 s here).
            let succeeded = loop {
                let n = count(
                    &admin,
                    format!("SELECT count(*) FROM {schema}.handoffs WHERE status = 'succeeded'"),
                )
                .await;
                if n as usize == HANDOFFS || Instant::now() > deadline {
                    break n;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            // The survivors stop on SIGINT and say what they ran.
            let mut survivors_ran = Vec::new();
            for w in workers.iter_mut().skip(kills.len()) {
                unsafe { libc::kill(w.id() as i32, libc::SIGINT) };
                let stdout = w.stdout.take().unwrap();
                let pass: Value = tokio::task::spawn_blocking(move || {
                    serde_json::from_reader(std::io::BufReader::new(stdout)).unwrap()
                })
                .await
                .unwrap();
                assert!(w.wait().unwrap().success());
                survivors_ran.push(pass["ran"].as_u64().unwrap());
            }
            assert_eq!(
                succeeded as usize, HANDOFFS,
                "every handoff delivered (killed at {kills:?}, {delivered_at_kills} deliveries by then)"
            );

            // The target saw every handoff, each under its own key, never two at once.
            let deliveries = target.deliveries.lock().unwrap().clone();
            let expected: HashSet<String> = seeded.iter().map(|h| h.to_string()).collect();
            let keys: HashSet<String> = deliveries.keys().cloned().collect();
            assert_eq!(keys, expected, "each handoff's key reached the target");
            assert_eq!(target.mismatched.load(Ordering::SeqCst), 0, "a key named another handoff");
            assert_eq!(
                target.overlaps.load(Ordering::SeqCst),
                0,
                "two workers delivered one handoff at the same time"
            );
            // A second delivery only where a killed worker had sent it and not recorded it: that
            // attempt is closed as interrupted, on the same handoff.
            let interrupted: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT handoff_id, count(*) FROM {schema}.attempts
                 WHERE message LIKE 'interrupted:%' GROUP BY handoff_id"
            )))
            .fetch_all(&admin)
            .await
            .unwrap();
            let interrupted: HashMap<String, i64> = interrupted.into_iter().collect();
            let repeated: Vec<(&String, u32)> = deliveries
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(k, n)| (k, *n))
                .collect();
            for (key, n) in &repeated {
                assert!(
                    interrupted.get(*key).copied().unwrap_or(0) >= i64::from(*n - 1),
                    "{key} delivered {n} times without an interrupted attempt for each extra"
                );
            }
            let extra: u32 = repeated.iter().map(|(_, n)| n - 1).sum();
            let interrupted_total: i64 = interrupted.values().sum();
            // Each worker runs at most 4 at once: a kill interrupts at most 4 attempts.
            assert!(
                interrupted_total <= 8,
                "{interrupted_total} attempts interrupted by two kills"
            );
            // Nothing left half-done: no attempt pending, no lease held.
            assert_eq!(
                count(
                    &admin,
                    format!(
                        "SELECT count(*) FROM {schema}.attempts WHERE status = 'pending'"
                    )
                )
                .await,
                0
            );
            assert_eq!(
                count(
                    &admin,
                    format!(
                        "SELECT count(*) FROM {schema}.handoffs
                         WHERE lease_owner IS NOT NULL OR in_flight_until IS NOT NULL"
                    )
                )
                .await,
                0
            );
            // Every attempt accounted for: the refused first one, the delivery, and one per
            // interruption.
            assert_eq!(
                count(&admin, format!("SELECT count(*) FROM {schema}.attempts")).await,
                2 * HANDOFFS as i64 + interrupted_total
            );
            // Both survivors had a share of the work.
            assert!(
                survivors_ran.iter().all(|ran| *ran > 0),
                "survivors ran {survivors_ran:?}"
            );
            eprintln!(
                "killed at {kills:?} deliveries; survivors ran {survivors_ran:?}; \
                 {interrupted_total} attempts interrupted, {extra} repeated deliveries"
            );
        },
        exec(&admin, format!("DROP SCHEMA IF EXISTS {schema} CASCADE")),
    )
    .await;
}

/// The test's load balancer: sends each request to the next instance in turn, and to the other
/// one when that one does not answer (as a balancer's health check would), else 502.
struct Balancer {
    backends: Vec<String>,
    next: AtomicUsize,
    http: reqwest::Client,
}

async fn balance(
    State(lb): State<Arc<Balancer>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, axum::body::Bytes) {
    let first = lb.next.fetch_add(1, Ordering::SeqCst);
    for i in 0..lb.backends.len() {
        let backend = &lb.backends[(first + i) % lb.backends.len()];
        let mut req = lb
            .http
            .post(format!("{backend}{}", uri.path()))
            .body(body.clone())
            .timeout(Duration::from_secs(5));
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                req = req.header(name, value);
            }
        }
        if let Ok(answer) = req.send().await {
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            if let Ok(bytes) = answer.bytes().await {
                return (status, bytes);
            }
        }
    }
    (StatusCode::BAD_GATEWAY, axum::body::Bytes::new())
}

/// `serve` on the store with an intake listener; answers the child and its intake base URL.
async fn spawn_serve(url: &str, dir: &std::path::Path) -> (ChildGuard, String) {
    let mut serve = cli();
    serve
        .args(["--store", url, "--json", "serve", "--bind", "127.0.0.1:0"])
        .args(["--intake-bind", "127.0.0.1:0"])
        .env("HANDOFF_DATA_DIR", dir)
        .env_remove("HANDOFF_STORE_URL")
        .env_remove("RUST_LOG");
    let (child, printed) = common::spawn_serve(serve).await;
    // `http://127.0.0.1:PORT/intake/v1/`: the balancer appends the request's own path.
    let intake = printed["intake"].as_str().unwrap();
    let base = intake.trim_end_matches('/').trim_end_matches("/intake/v1");
    (child, base.to_string())
}

/// Sends signed webhooks `c<client>-<n>` through the balancer until `stop`; a message not
/// answered 2xx is sent again with the same id (as webhook senders do), up to 50 times.
/// Answers the accepted ones (id → the handoff id of the 202).
async fn stream(
    client: usize,
    url: String,
    secret: String,
    stop: Arc<AtomicBool>,
) -> HashMap<String, String> {
    use handoff_console::intake::verify::Verification;
    let http = reqwest::Client::new();
    let mut accepted = HashMap::new();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let id = format!("c{client}-{n}");
        let body = serde_json::to_vec(&json!({"name": format!("Patient {client} {n}")})).unwrap();
        for _ in 0..50 {
            let headers = Verification::StandardWebhooks
                .sign(&secret, &id, chrono::Utc::now().timestamp(), &body)
                .unwrap();
            let mut req = http
                .post(&url)
                .body(body.clone())
                .timeout(Duration::from_secs(10));
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Ok(r) = req.send().await
                && r.status().is_success()
            {
                let answer: Value = r.json().await.unwrap();
                accepted.insert(
                    id.clone(),
                    answer["handoffId"].as_str().unwrap().to_string(),
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_instances_on_postgres_behind_a_balancer_lose_no_webhook_when_one_is_killed() {
    handoff_console::targets::api::install_crypto_provider();
    let server = postgres().await;
    let admin = server.pool;
    let schema = format!("hc_lb_{}", suffix());
    let url = pg_store_url(&schema);
    let (target, target_url) = start_target().await;
    target.accepting.store(true, Ordering::SeqCst);
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    cleanly(
        async {
            let setup = App::open_on(
                dirs[2].path(),
                StoreChoice::Shared(StoreUrl::parse(&url).unwrap()),
                Arc::new(KeyringBackend),
            )
            .await
            .expect("open the setup console");
            setup
                .add_integration(
                    serde_json::from_value(json!({
                        "name": "EMR", "kind": "api",
                        "fields": [{"name": "fullName", "type": "text", "required": true}],
                        // Short timeouts: an attempt the kill cut short is taken over soon.
                        "api": {"endpoint": format!("{target_url}/patients"),
                                "timeoutMs": 2000, "connectTimeoutMs": 500,
                                "payloadStructure": {"name": "{{fullName}}", "handoff": "{{handoffId}}"}}
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            let secret = setup
                .add_source(
                    serde_json::from_value(json!({
                        "name": "ehr", "kind": "ehr", "verification": {"mode": "standardWebhooks"},
                        "integrations": ["EMR"], "ratePerMinute": 1_000_000
                    }))
                    .unwrap(),
                )
                .await
                .unwrap()
                .secret;
            setup
                .add_mapping(
                    serde_json::from_value(json!({
                        "source": "ehr", "name": "all", "integration": "EMR",
                        "fields": [{"field": "fullName", "value": {"pointer": "/name"}}]
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            setup.close().await;

            let (mut one, one_url) = spawn_serve(&url, dirs[0].path()).await;
            let (_two, two_url) = spawn_serve(&url, dirs[1].path()).await;
            let lb = Arc::new(Balancer {
                backends: vec![one_url, two_url],
                next: AtomicUsize::new(0),
                http: reqwest::Client::new(),
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let lb_url = format!("http://{}/intake/v1/ehr", listener.local_addr().unwrap());
            let router = axum::Router::new().fallback(balance).with_state(lb);
            tokio::spawn(async move { axum::serve(listener, router).await });

            let stop = Arc::new(AtomicBool::new(false));
            let clients: Vec<_> = (0..4)
                .map(|i| tokio::spawn(stream(i, lb_url.clone(), secret.clone(), Arc::clone(&stop))))
                .collect();
            // Kill one instance at a random moment once deliveries flow; keep streaming through
            // the other for a while.
            let kill_at = rand::rng().random_range(100..400);
            let deadline = Instant::now() + Duration::from_secs(60);
            while target.delivered.load(Ordering::SeqCst) < kill_at {
                assert!(Instant::now() < deadline, "deliveries stalled before the kill");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            one.kill().unwrap(); // SIGKILL
            one.wait().unwrap();
            let at_kill = target.delivered.load(Ordering::SeqCst);
            while target.delivered.load(Ordering::SeqCst) < at_kill + 200 {
                assert!(Instant::now() < deadline, "the other instance stalled after the kill");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            stop.store(true, Ordering::SeqCst);
            let mut accepted: HashMap<String, String> = HashMap::new();
            for c in clients {
                accepted.extend(c.await.unwrap());
            }

            // The survivor takes over what the killed one held: its attempts once their leases
            // run out, the messages it accepted but had not made into handoffs after 10 s.
            let deadline = Instant::now() + Duration::from_secs(120);
            let handoffs: Vec<String> = accepted.values().cloned().collect();
            let delivered = loop {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {schema}.handoffs
                     WHERE status = 'succeeded' AND id = ANY($1)"
                )))
                .bind(&handoffs)
                .fetch_one(&admin)
                .await
                .unwrap();
                if n as usize == handoffs.len() || Instant::now() > deadline {
                    break n as usize;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            assert_eq!(
                delivered,
                handoffs.len(),
                "every webhook answered 2xx ends delivered (killed at {at_kill} deliveries)"
            );
            // One inbox message per webhook id, each the handoff its 202 named: a webhook the
            // balancer sent again to the other instance was recognised in the shared store.
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT message_key, handoff_id FROM {schema}.intake_messages"
            )))
            .fetch_all(&admin)
            .await
            .unwrap();
            let inbox: HashMap<String, Option<String>> = rows.iter().cloned().collect();
            assert_eq!(inbox.len(), rows.len(), "a webhook id recorded twice");
            for (id, handoff) in &accepted {
                assert_eq!(
                    inbox.get(id).cloned().flatten().as_ref(),
                    Some(handoff),
                    "{id}: the inbox's handoff is the one its 202 named"
                );
            }
            // The target saw every handoff under its own key, never two at once; a key twice
            // only where an attempt was cut short by the kill.
            let deliveries = target.deliveries.lock().unwrap().clone();
            for handoff in accepted.values() {
                assert!(deliveries.contains_key(handoff), "{handoff} never reached the target");
            }
            assert_eq!(target.mismatched.load(Ordering::SeqCst), 0);
            assert_eq!(target.overlaps.load(Ordering::SeqCst), 0);
            let interrupted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {schema}.attempts WHERE message LIKE 'interrupted:%'"
            )))
            .fetch_one(&admin)
            .await
            .unwrap();
            let extra: u32 = deliveries.values().map(|n| n - 1).sum();
            assert!(
                i64::from(extra) <= interrupted,
                "{extra} repeated deliveries but {interrupted} interrupted attempts"
            );
            eprintln!(
                "{} webhooks accepted, instance killed at {at_kill} deliveries, \
                 {interrupted} attempts interrupted, {extra} repeated deliveries",
                accepted.len()
            );
        },
        exec(&admin, format!("DROP SCHEMA IF EXISTS {schema} CASCADE")),
    )
    .await;
}

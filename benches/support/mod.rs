//! What the handoff benchmarks share: options, a concurrent driver that times every request,
//! percentiles, the table they print, a secrets backend that needs no keyring, and the store's
//! part of a handoff measured on its own.
//!
//! (A folder, not `benches/support.rs`, so that cargo does not take it for a benchmark.)
#![allow(dead_code)] // each benchmark uses its own subset

use handoff_console::App;
use handoff_console::attempts::{BeginAttempt, Claim, FinishAttempt, Status, Trigger};
use handoff_console::ids::{AttemptId, HandoffId, IntegrationId};
use handoff_console::secrets::{Secret, SecretsBackend, SecretsError};
use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn Error + Send + Sync>;

/// xorshift: the same history on every run, no dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-normal around `median` ms.
    pub fn duration(&mut self, median: f64, sigma: f64) -> i64 {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median * (sigma * z).exp()).round().max(1.0) as i64
    }
}

pub struct Options {
    /// Requests per side and concurrency.
    pub requests: usize,
    /// Alternating rounds the measured requests are split into.
    pub rounds: usize,
    /// Values of the benchmark's own `--name N` flags.
    pub extra: HashMap<&'static str, usize>,
}

impl Options {
    /// `--requests N` (or `HANDOFF_BENCH_REQUESTS`), `--rounds R`, and the benchmark's own
    /// numeric flags (`extra`: name and default). cargo's `--bench` is ignored.
    pub fn parse(
        default_requests: usize,
        extra: &[(&'static str, usize)],
    ) -> Result<Self, BoxError> {
        fn number(name: &str, v: Option<String>) -> Result<usize, BoxError> {
            let v = v.ok_or_else(|| format!("{name} needs a value"))?;
            v.parse::<usize>()
                .map_err(|_| format!("{name}: '{v}' is not a number").into())
        }
        let mut requests = match std::env::var("HANDOFF_BENCH_REQUESTS") {
            Ok(v) => number("HANDOFF_BENCH_REQUESTS", Some(v))?,
            Err(_) => default_requests,
        };
        let mut rounds = 3;
        let mut values: HashMap<&'static str, usize> = extra.iter().copied().collect();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg, None),
            };
            let mut value = || inline.clone().or_else(|| args.next());
            match flag.as_str() {
                "--bench" => {}
                "--requests" | "-n" => requests = number("--requests", value())?,
                "--rounds" => rounds = number("--rounds", value())?,
                other => match extra.iter().find(|(name, _)| *name == other) {
                    Some((name, _)) => {
                        values.insert(name, number(name, value())?);
                    }
                    None => {
                        let known: Vec<&str> = ["--requests N", "--rounds R"]
                            .into_iter()
                            .chain(extra.iter().map(|(n, _)| *n))
                            .collect();
                        return Err(format!(
                            "unknown argument '{other}' (known: {})",
                            known.join(", ")
                        )
                        .into());
                    }
                },
            }
        }
        if requests == 0 || rounds == 0 {
            return Err("--requests and --rounds must be at least 1".into());
        }
        Ok(Self {
            requests,
            rounds,
            extra: values,
        })
    }

    pub fn get(&self, name: &str) -> usize {
        self.extra.get(name).copied().unwrap_or_default()
    }
}

/// Keeps secrets in memory: the benchmarks need no keyring (their configs carry none, unless a
/// database URL has a password).
#[derive(Default)]
pub struct MemorySecrets(Mutex<HashMap<String, String>>);

impl SecretsBackend for MemorySecrets {
    fn name(&self) -> &'static str {
        "memory (benchmark)"
    }
    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key.into(), value.expose().clone());
        Ok(())
    }
    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .map(|v| Secret::new(v.clone()))
            .ok_or_else(|| SecretsError::Missing { what: key.into() })
    }
    fn delete(&self, key: &str) -> Result<(), SecretsError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(())
    }
}

/// Wall time of a measured run, the CPU time this process spent in it, and each request's
/// latency.
#[derive(Default)]
pub struct Samples {
    pub wall: Duration,
    pub cpu: Option<Duration>,
    pub latencies: Vec<Duration>,
}

impl Samples {
    pub fn add(&mut self, other: Samples) {
        self.wall += other.wall;
        self.cpu = match (self.latencies.is_empty(), self.cpu, other.cpu) {
            (true, _, cpu) => cpu,
            (false, Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.latencies.extend(other.latencies);
    }
    /// CPU time of this process (every thread: runtime, SQLite workers, the sink) per request.
    pub fn cpu_per_request_us(&self) -> f64 {
        match self.cpu {
            Some(cpu) if !self.latencies.is_empty() => {
                cpu.as_secs_f64() * 1e6 / self.latencies.len() as f64
            }
            _ => f64::NAN,
        }
    }
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
    pub fn sort(&mut self) {
        self.latencies.sort_unstable();
    }
    /// Nearest-rank percentile of the (sorted) samples, in microseconds.
    pub fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[i].as_secs_f64() * 1e6
    }
}

/// Runs `requests` calls of `f` (given a sequence number) from `concurrency` tasks, timing each.
pub async fn drive<F, Fut>(requests: usize, concurrency: usize, f: F) -> Result<Samples, BoxError>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let next = Arc::clone(&next);
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(requests / concurrency + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, BoxError>(latencies);
                }
                let t = Instant::now();
                f(i).await?;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut samples = Samples::default();
    for task in tasks {
        samples.latencies.extend(task.await??);
    }
    samples.wall = started.elapsed();
    samples.cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(samples)
}

/// [`drive`], with its wall time and CPU counted until `store` holds everything written (the
/// local store's journal moved into its tables): what a handoff leaves to the journal's mover is
/// part of its cost, and a mover that fell behind shows here.
pub async fn drive_settled<F, Fut>(
    store: &handoff_console::store::Store,
    requests: usize,
    concurrency: usize,
    f: F,
) -> Result<Samples, BoxError>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut samples = drive(requests, concurrency, f).await?;
    store.settle().await?;
    samples.wall = started.elapsed();
    samples.cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(samples)
}

/// User and system CPU time of the whole process so far, from `/proc/self/stat` (Linux; in
/// USER_HZ ticks, which the proc ABI fixes at 100 a second). `None` elsewhere.
pub fn process_cpu() -> Option<Duration> {
    stat_cpu("/proc/self/stat").map(|(_, cpu)| cpu)
}

/// The command name and CPU time so far of the process whose `stat` file is at `path`.
pub fn stat_cpu(path: impl AsRef<std::path::Path>) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: skip past it.
    let name = stat[stat.find('(')? + 1..stat.rfind(')')?].to_string();
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, Duration::from_millis((utime + stime) * 10)))
}

/// CPU time so far of every running process named `name` (e.g. `postgres`: the server and
/// the backends serving the benchmark's connections), by pid.
pub fn cpu_by_name(name: &str) -> HashMap<u32, Duration> {
    processes_cpu(name, |dir| stat_cpu(dir.join("stat")))
}

/// As [`cpu_by_name`] for single-threaded processes (PostgreSQL's backends), to the nanosecond:
/// from `/proc/<pid>/schedstat`, whose first field is the time the process's (main) thread
/// ran, where `stat` counts in ticks of 10 ms, too coarse for a round of a few hundred ms.
pub fn thread_cpu_by_name(name: &str) -> HashMap<u32, Duration> {
    processes_cpu(name, |dir| {
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        let schedstat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
        let ns: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
        Some((comm.trim_end().to_string(), Duration::from_nanos(ns)))
    })
}

/// Every running process whose name `read` (given its `/proc/<pid>` folder) says is `name`,
/// by pid, with the CPU time it read.
fn processes_cpu(
    name: &str,
    read: impl Fn(&std::path::Path) -> Option<(String, Duration)>,
) -> HashMap<u32, Duration> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let (comm, cpu) = read(&e.path())?;
            (comm == name).then_some((pid, cpu))
        })
        .collect()
}

/// The CPU time `after` adds to `before` (processes that started in between count whole).
pub fn cpu_added(before: &HashMap<u32, Duration>, after: &HashMap<u32, Duration>) -> Duration {
    after
        .iter()
        .map(|(pid, cpu)| cpu.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}

/// Runs `f` `repeat` times (at least once): the median and the slowest time, and the last result.
pub async fn timed<T, E, F, Fut>(
    repeat: usize,
    mut f: F,
) -> Result<(Duration, Duration, T), BoxError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    let mut times = Vec::with_capacity(repeat);
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        last = Some(f().await.map_err(Into::into)?);
        times.push(t.elapsed());
    }
    times.sort();
    let last = last.ok_or("repeat must be at least 1")?;
    Ok((times[times.len() / 2], times[times.len() - 1], last))
}

pub fn header(title: &str) {
    println!("{title}");
    println!(
        "{:>5}  {:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "conc", "side", "req/s", "p50 µs", "p95 µs", "p99 µs", "cpu µs/r", "n"
    );
}

pub fn row(concurrency: usize, name: &str, s: &Samples) {
    println!(
        "{concurrency:>5}  {name:<16} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>7}",
        s.throughput(),
        s.percentile_us(50.0),
        s.percentile_us(95.0),
        s.percentile_us(99.0),
        s.cpu_per_request_us(),
        s.latencies.len()
    );
}

/// Prints `what` against its goal and returns whether it was met.
pub fn check(what: &str, value: String, goal: &str, met: bool) -> bool {
    println!(
        "{:>5}  {what} {value} (goal {goal}): {}",
        "",
        if met { "met" } else { "MISSED" }
    );
    met
}

pub fn summary(verdicts: &[bool]) {
    let missed = verdicts.iter().filter(|m| !**m).count();
    if missed == 0 {
        println!("all goals met");
    } else {
        println!("{missed} of {} goal(s) MISSED", verdicts.len());
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// The store's part of one handoff alone: `begin_attempt` and `finish_attempt`, the two write
/// transactions `App::send` makes, with a handoff row of `data` and an attempt row recording
/// `request`. Recorded with the `test` trigger, so that it can be told apart from the
/// benchmark's live handoffs.
pub async fn store_writes(
    app: &App,
    integration_id: IntegrationId,
    integration_name: &str,
    i: usize,
    data: &str,
    request: &str,
) -> Result<(), BoxError> {
    let store = app.store();
    let handoff_id = HandoffId::new();
    let attempt_id = AttemptId::new();
    let session = format!("bench-store-{i}");
    let started = chrono::Utc::now().timestamp_millis();
    let begun = store
        .begin_attempt(&BeginAttempt {
            attempt_id,
            handoff_id,
            integration_id,
            integration_name,
            session_id: &session,
            trigger: Trigger::Test,
            automatic: false,
            previous_attempt_id: None,
            claim: Claim::New,
            data: Some(data),
            // A handoff also keeps the masked copy of its data (about the same size).
            data_masked: Some(data),
            started_at: started,
            lease_until: started + 45_000,
            owner: app.worker_name(),
            taken_by: None,
        })
        .await?;
    if begun.is_none() {
        return Err("store: a new handoff could not be claimed".into());
    }
    let finished = chrono::Utc::now().timestamp_millis();
    store
        .finish_attempt(&FinishAttempt {
            attempt_id,
            handoff_id,
            trigger: Trigger::Test,
            status: Status::Succeeded,
            category: None,
            status_code: None,
            message: "delivered: submission 1",
            submission_id: Some("1"),
            request,
            response_excerpt: None,
            finished_at: finished,
            duration_ms: finished - started,
            next_attempt_at: None,
            handoff_status: Status::Succeeded,
        })
        .await?;
    Ok(())
}

/// Live attempts in the store and how many succeeded, to check that every handoff was recorded.
pub async fn count_live_attempts(app: &App) -> Result<(i64, i64), BoxError> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.store().path().expect("a local store"))
        .read_only(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await?;
    let row: (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(status = 'succeeded'), 0) FROM attempts WHERE trigger = 'live'",
    )
    .fetch_one(&mut conn)
    .await?;
    sqlx::Connection::close(conn).await?;
    Ok(row)
}

/// The least SQLite itself needs for the store's part of `handoffs` handoffs: the same rows
/// (a handoff row of `data`, an attempt row recording `request`) and the same two commits per
/// handoff, on a store file in `dir` with the store's schema and settings, but run in this
/// thread with prepared statements: no queue, no hop to another thread, no async. With
/// `per_commit` > 1, that many handoffs share each commit, as concurrent ones do in the store.
/// Each handoff's latency is that of its group. No handoff can cost less than this.
pub async fn sqlite_floor(
    dir: &std::path::Path,
    handoffs: usize,
    per_commit: usize,
    data: &str,
    request: &str,
) -> Result<Samples, BoxError> {
    sqlite_floor_without(dir, handoffs, per_commit, data, request, &[]).await
}

/// The store's rollup triggers (stats): what keeps the statistics current in every write.
pub const ROLLUP_TRIGGERS: &[&str] = &[
    "stats_attempt_inserted",
    "stats_attempt_updated",
    "stats_handoff_inserted",
    "stats_handoff_updated",
];
/// The search index's queue triggers (issue 18): what the store's writes do for text search.
pub const SEARCH_TRIGGERS: &[&str] = &[
    "history_search_attempt_inserted",
    "history_search_attempt_updated",
];

/// [`sqlite_floor`] on a store file whose `triggers` were dropped first: the difference from
/// the whole floor is what those triggers cost.
pub async fn sqlite_floor_without(
    dir: &std::path::Path,
    handoffs: usize,
    per_commit: usize,
    data: &str,
    request: &str,
    triggers: &[&str],
) -> Result<Samples, BoxError> {
    let rows = FloorRows::handoff(data, request);
    let path = floor_file(dir).await?;
    if !triggers.is_empty() {
        let conn = rusqlite::Connection::open(&path)?;
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {t}"))?;
        }
    }
    tokio::task::spawn_blocking(move || sqlite_floor_blocking(&path, handoffs, per_commit, &rows))
        .await?
}

/// A store file with the store's schema and file settings (WAL), from the store itself.
async fn floor_file(dir: &std::path::Path) -> Result<std::path::PathBuf, BoxError> {
    handoff_console::store::Store::open(dir)
        .await?
        .close()
        .await;
    Ok(dir.join(handoff_console::store::STORE_FILE))
}

/// What each item of a floor writes: an accepted message's inbox row (one commit; and the
/// mapping that took it, one more), a handoff's rows begun and finished (two commits), or both,
/// in that order, as a webhook that is accepted, then mapped and delivered, makes them.
#[derive(Clone)]
pub struct FloorRows {
    pub inbox: Option<InboxFloorRow>,
    pub handoff: Option<HandoffFloorRow>,
}

impl FloorRows {
    /// A live handoff's rows of `data`, its attempt recording `request`, with no inbox row.
    pub fn handoff(data: &str, request: &str) -> Self {
        Self {
            inbox: None,
            handoff: Some(HandoffFloorRow {
                data: data.to_string(),
                data_masked: None,
                origin: "live",
                trigger: "test",
                request: request.to_string(),
                response_excerpt: None,
            }),
        }
    }
}

/// An inbox row: a webhook's sealed body and sealed headers (as the store keeps them).
#[derive(Clone)]
pub struct InboxFloorRow {
    pub body: String,
    pub headers: Option<String>,
    pub body_bytes: usize,
    /// With a handoff row: the mapping that took the message, recorded in the handoff's
    /// first commit (as the console records a realtime message's).
    pub mapping_recorded: bool,
}

/// A handoff row of `data` (and its masked copy) begun with an attempt row, then both finished,
/// the attempt recording `request` (and what the target answered).
#[derive(Clone)]
pub struct HandoffFloorRow {
    pub data: String,
    pub data_masked: Option<String>,
    /// `handoffs.origin`: `live`, `test` or `webhook`.
    pub origin: &'static str,
    /// `attempts.trigger`.
    pub trigger: &'static str,
    pub request: String,
    pub response_excerpt: Option<String>,
}

/// As [`sqlite_floor`], for any [`FloorRows`]: `items` of them, `per_commit` sharing each of
/// its commits.
pub async fn sqlite_floor_rows(
    dir: &std::path::Path,
    items: usize,
    per_commit: usize,
    rows: FloorRows,
) -> Result<Samples, BoxError> {
    let path = floor_file(dir).await?;
    tokio::task::spawn_blocking(move || sqlite_floor_blocking(&path, items, per_commit, &rows))
        .await?
}

fn sqlite_floor_blocking(
    path: &std::path::Path,
    items: usize,
    per_commit: usize,
    rows: &FloorRows,
) -> Result<Samples, BoxError> {
    let writer = FloorWriter::open(path, rows.clone())?;
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut samples = Samples::default();
    let mut done = 0;
    while done < items {
        let n = per_commit.min(items - done);
        let ids: Vec<FloorIds> = (0..n).map(|_| FloorIds::new()).collect();
        let t = Instant::now();
        let now = chrono::Utc::now().timestamp_millis();
        writer.inbox(&ids, now)?;
        writer.begin(&ids, now)?;
        writer.finish(&ids, now)?;
        let elapsed = t.elapsed();
        samples.latencies.extend(std::iter::repeat_n(elapsed, n));
        done += n;
    }
    samples.wall = started.elapsed();
    samples.cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(samples)
}

/// The ids one floor item writes.
#[derive(Clone)]
struct FloorIds {
    message: String,
    handoff: String,
    attempt: String,
}

impl FloorIds {
    fn new() -> Self {
        Self {
            message: handoff_console::ids::InboxId::new().to_string(),
            handoff: HandoffId::new().to_string(),
            attempt: AttemptId::new().to_string(),
        }
    }
}

/// The floor's connection and statements, one commit at a time: [`FloorRows`]' inbox rows,
/// then its handoff rows begun, then finished, each a transaction of its own.
struct FloorWriter {
    conn: rusqlite::Connection,
    integration: String,
    source: String,
    rows: FloorRows,
}

impl FloorWriter {
    fn open(path: &std::path::Path, rows: FloorRows) -> Result<Self, BoxError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )?;
        Ok(Self {
            conn,
            integration: IntegrationId::new().to_string(),
            source: handoff_console::ids::SourceId::new().to_string(),
            rows,
        })
    }

    /// The inbox rows of `ids` in one commit (none without [`FloorRows::inbox`]).
    fn inbox(&self, ids: &[FloorIds], now: i64) -> Result<(), BoxError> {
        use rusqlite::params;
        let Some(inbox) = &self.rows.inbox else {
            return Ok(());
        };
        let conn = &self.conn;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        for ids in ids {
            conn.prepare_cached(
                "INSERT INTO intake_messages (id, source_id, source_name, endpoint, message_key, body,
                                              body_bytes, status, handoff_id, integration_id,
                                              session_id, received_at, updated_at, headers)
                 VALUES (?1, ?2, 'bench-floor', 'webhook', ?1, ?3, ?4, 'received', ?5, NULL, NULL, ?6, ?6, ?7)
                 ON CONFLICT (source_id, message_key) WHERE message_key IS NOT NULL DO NOTHING",
            )?
            .execute(params![
                ids.message,
                self.source,
                inbox.body,
                inbox.body_bytes as i64,
                ids.handoff,
                now,
                inbox.headers
            ])?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// The handoff and attempt rows of `ids` begun, in one commit (none without
    /// [`FloorRows::handoff`]).
    fn begin(&self, ids: &[FloorIds], now: i64) -> Result<(), BoxError> {
        let Some(handoff) = &self.rows.handoff else {
            return Ok(());
        };
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        for ids in ids {
            self.begin_one(handoff, ids, now)?;
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// One handoff's rows begun, inside the caller's transaction.
    fn begin_one(
        &self,
        handoff: &HandoffFloorRow,
        ids: &FloorIds,
        now: i64,
    ) -> Result<(), BoxError> {
        use rusqlite::params;
        let mapping_recorded = self.rows.inbox.as_ref().is_some_and(|i| i.mapping_recorded);
        let (conn, integration) = (&self.conn, &self.integration);
        let FloorIds {
            message: m,
            handoff: h,
            attempt: a,
        } = ids;
        if mapping_recorded {
            conn.prepare_cached(
                "UPDATE intake_messages SET mapping_id = ?1, mapping_name = 'floor' WHERE id = ?2",
            )?
            .execute(params![integration, m])?;
        }
        conn.prepare_cached(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked, attempts,
                                   in_flight_until, last_attempt_id, created_at, updated_at,
                                   origin, integration_name, lease_owner)
             VALUES (?1, ?2, 'bench-floor', 'pending', ?3, ?4, 1, ?5, ?6, ?7, ?7, ?8, 'floor',
                     'floor-host:12345:0123abcd')",
        )?
        .execute(params![
            h,
            integration,
            handoff.data,
            handoff.data_masked,
            now + 45_000,
            a,
            now,
            handoff.origin
        ])?;
        conn.prepare_cached(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   automatic, attempt_number, status, started_at)
             VALUES (?1, ?2, ?3, 'floor', 'bench-floor', ?4, 0, 1, 'pending', ?5)",
        )?
        .execute(params![a, h, integration, handoff.trigger, now])?;
        Ok(())
    }

    /// The handoff and attempt rows of `ids` finished (delivered), in one commit.
    fn finish(&self, ids: &[FloorIds], now: i64) -> Result<(), BoxError> {
        let Some(handoff) = &self.rows.handoff else {
            return Ok(());
        };
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        for ids in ids {
            self.finish_one(handoff, ids, now)?;
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// One handoff's rows finished (delivered), inside the caller's transaction.
    fn finish_one(
        &self,
        handoff: &HandoffFloorRow,
        ids: &FloorIds,
        now: i64,
    ) -> Result<(), BoxError> {
        use rusqlite::params;
        let conn = &self.conn;
        let FloorIds {
            handoff: h,
            attempt: a,
            ..
        } = ids;
        conn.prepare_cached(
            "UPDATE handoffs SET status = 'succeeded', in_flight_until = NULL, lease_owner = NULL, next_attempt_at = NULL,
                    submission_id = '1', updated_at = ?1
             WHERE id = ?2 AND status != 'succeeded' AND last_attempt_id = ?3",
        )?
        .execute(params![now, h, a])?;
        conn.prepare_cached(
            "UPDATE attempts SET status = 'succeeded', message = 'delivered: submission 1',
                    submission_id = '1', request = ?1, response_excerpt = ?2, finished_at = ?3,
                    duration_ms = 1
             WHERE id = ?4",
        )?
        .execute(params![handoff.request, handoff.response_excerpt, now, a])?;
        Ok(())
    }

    /// A batch of handoffs' rows, each begun or finished, in one commit.
    fn batch(&self, jobs: &[FloorJob]) -> Result<(), BoxError> {
        let Some(handoff) = &self.rows.handoff else {
            return Ok(());
        };
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let outcome = jobs.iter().try_for_each(|job| match job.step {
            FloorStep::Begin => self.begin_one(handoff, &job.ids, job.now),
            FloorStep::Finish => self.finish_one(handoff, &job.ids, job.now),
        });
        match outcome {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Which of a handoff's two writes a [`FloorJob`] is.
#[derive(Clone, Copy)]
enum FloorStep {
    Begin,
    Finish,
}

/// One handoff's write queued for [`FloorBatched`]'s thread.
struct FloorJob {
    ids: Arc<FloorIds>,
    step: FloorStep,
    now: i64,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The floor's two commits of each handoff around its request, under concurrency: every write
/// goes to one thread that commits all that is queued in one transaction and then answers each
/// (the least a group commit is: no inline path, no savepoints, no checkpointer). The writes
/// of concurrent handoffs share commits as the store's do. Each write takes two thread hops
/// (to the thread and back), which the store's inline path saves when its writer is idle: at
/// the slow sink the store does better than this (BENCHMARKS.md), so it is printed for
/// comparison, not as a floor.
#[derive(Clone)]
pub struct FloorBatched {
    jobs: std::sync::mpsc::Sender<FloorJob>,
}

impl FloorBatched {
    /// A store file in `dir` as [`sqlite_floor`] makes it, and the thread that writes it (it
    /// ends when the last handle is dropped).
    pub async fn open(dir: &std::path::Path, data: &str, request: &str) -> Result<Self, BoxError> {
        let path = floor_file(dir).await?;
        let writer = FloorWriter::open(&path, FloorRows::handoff(data, request))?;
        let (jobs, queue) = std::sync::mpsc::channel::<FloorJob>();
        std::thread::Builder::new()
            .name("floor-writer".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < 256 {
                        let Ok(job) = queue.try_recv() else { break };
                        batch.push(job);
                    }
                    let outcome = writer.batch(&batch).map_err(|e| e.to_string());
                    for job in batch {
                        let _ = job.done.send(outcome.clone());
                    }
                }
            })?;
        Ok(Self { jobs })
    }

    /// One handoff's rows begun, `request` awaited, the rows finished.
    pub async fn handoff<Fut>(&self, request: Fut) -> Result<(), BoxError>
    where
        Fut: Future<Output = Result<(), BoxError>>,
    {
        let ids = Arc::new(FloorIds::new());
        self.write(Arc::clone(&ids), FloorStep::Begin).await?;
        request.await?;
        self.write(ids, FloorStep::Finish).await
    }

    async fn write(&self, ids: Arc<FloorIds>, step: FloorStep) -> Result<(), BoxError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let now = chrono::Utc::now().timestamp_millis();
        self.jobs
            .send(FloorJob {
                ids,
                step,
                now,
                done,
            })
            .map_err(|_| "the floor's writer stopped")?;
        Ok(answer.await.map_err(|_| "the floor's writer stopped")??)
    }
}

/// A model of a store whose hot path is a journal (not how the store works: a measure of what
/// such a redesign would leave of bare's throughput): each of a handoff's two writes appends one
/// row to a file of its own (a table with no index and no trigger; `BEGIN`/`INSERT`/`COMMIT` in
/// the calling task, as the store's inline writes are), and a background thread moves the
/// journal's rows into the floor's tables (the same rows and statements as [`sqlite_floor`], on a
/// file with the store's schema) in transactions of up to [`JOURNAL_MOVE_BATCH`] handoffs' writes,
/// then deletes them from the journal. Each durable commit a handoff waits for writes about one
/// page to the WAL (a median of 1, at most 4), not the store's 28 and 19 (BENCHMARKS.md, "The
/// slow sink: exact delays"), and the indexes and rollups are kept up in transactions shared by
/// hundreds of writes. The mover's CPU is this process's, so `cpu µs/r` counts it.
#[derive(Clone)]
pub struct FloorJournal {
    journal: Arc<Mutex<rusqlite::Connection>>,
    rows: Arc<FloorRows>,
    wake: std::sync::mpsc::SyncSender<()>,
    /// The mover's first error: the next append fails with it.
    failed: Arc<Mutex<Option<String>>>,
}

/// The most journal rows one move into the store's tables takes.
pub const JOURNAL_MOVE_BATCH: usize = 512;

impl FloorJournal {
    /// The journal's file and the floor's store file in `dir`, and the thread that moves rows
    /// from one to the other (it ends once every handle is dropped, after a last move).
    pub async fn open(dir: &std::path::Path, data: &str, request: &str) -> Result<Self, BoxError> {
        let store = floor_file(dir).await?;
        let path = dir.join("journal.db");
        let open = |path: &std::path::Path| -> Result<rusqlite::Connection, BoxError> {
            let conn = rusqlite::Connection::open(path)?;
            conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
            conn.busy_timeout(Duration::from_secs(5))?;
            Ok(conn)
        };
        let journal = open(&path)?;
        journal.execute_batch(
            "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, step INTEGER NOT NULL,
                 handoff TEXT NOT NULL, attempt TEXT NOT NULL, at INTEGER NOT NULL, body TEXT)",
        )?;
        let rows = FloorRows::handoff(data, request);
        let mover_journal = open(&path)?;
        let writer = FloorWriter::open(&store, rows.clone())?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let failed = Arc::new(Mutex::new(None));
        let mover_failed = Arc::clone(&failed);
        std::thread::Builder::new()
            .name("floor-journal".into())
            .spawn(move || {
                // Every few milliseconds, or at once when woken; a last move once closed.
                loop {
                    let closed = matches!(
                        woken.recv_timeout(Duration::from_millis(5)),
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
                    );
                    loop {
                        match move_journal(&mover_journal, &writer) {
                            Ok(n) if n == JOURNAL_MOVE_BATCH => {}
                            Ok(_) => break,
                            Err(e) => {
                                *lock_ignoring_poison(&mover_failed) = Some(e.to_string());
                                return;
                            }
                        }
                    }
                    if closed {
                        return;
                    }
                }
            })?;
        Ok(Self {
            journal: Arc::new(Mutex::new(journal)),
            rows: Arc::new(rows),
            wake,
            failed,
        })
    }

    /// Waits (up to 10 s) until every appended row was moved into the store's tables, and
    /// checks that the store holds one delivered handoff per handoff appended: the model's
    /// figures count a mover that kept up and wrote everything.
    pub async fn check_moved(
        &self,
        handoffs: usize,
        store_dir: &std::path::Path,
    ) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = lock_ignoring_poison(&self.failed).clone() {
                return Err(format!("the journal's mover failed: {e}").into());
            }
            let left: i64 = lock_ignoring_poison(&self.journal).query_row(
                "SELECT count(*) FROM journal",
                [],
                |r| r.get(0),
            )?;
            if left == 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the journal's mover left {left} rows").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let store = rusqlite::Connection::open(store_dir.join(handoff_console::store::STORE_FILE))?;
        let delivered: i64 = store.query_row(
            "SELECT count(*) FROM handoffs WHERE status = 'succeeded'",
            [],
            |r| r.get(0),
        )?;
        if delivered != handoffs as i64 {
            return Err(format!(
                "the journal's model moved {delivered} delivered handoffs of {handoffs}"
            )
            .into());
        }
        Ok(())
    }

    /// One handoff's begun row appended (committed), `request` awaited, its finished row
    /// appended (committed).
    pub async fn handoff<Fut>(&self, request: Fut) -> Result<(), BoxError>
    where
        Fut: Future<Output = Result<(), BoxError>>,
    {
        let ids = FloorIds::new();
        let Some(handoff) = &self.rows.handoff else {
            return Err("the journal's model has handoff rows only".into());
        };
        self.append(FloorStep::Begin, &ids, &handoff.data)?;
        request.await?;
        self.append(FloorStep::Finish, &ids, &handoff.request)
    }

    fn append(&self, step: FloorStep, ids: &FloorIds, body: &str) -> Result<(), BoxError> {
        if let Some(e) = lock_ignoring_poison(&self.failed).clone() {
            return Err(format!("the journal's mover failed: {e}").into());
        }
        let conn = lock_ignoring_poison(&self.journal);
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        conn.prepare_cached(
            "INSERT INTO journal (step, handoff, attempt, at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            matches!(step, FloorStep::Finish) as i64,
            ids.handoff,
            ids.attempt,
            chrono::Utc::now().timestamp_millis(),
            body
        ])?;
        conn.prepare_cached("COMMIT")?.execute([])?;
        drop(conn);
        // A wake already pending is enough.
        let _ = self.wake.try_send(());
        Ok(())
    }
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Moves up to [`JOURNAL_MOVE_BATCH`] journal rows into the store's tables in one transaction,
/// then deletes them from the journal; returns how many it moved.
fn move_journal(journal: &rusqlite::Connection, writer: &FloorWriter) -> Result<usize, BoxError> {
    let Some(handoff) = &writer.rows.handoff else {
        return Ok(0);
    };
    let mut moved = Vec::new();
    {
        let mut rows = journal.prepare_cached(
            "SELECT seq, step, handoff, attempt, at FROM journal ORDER BY seq LIMIT ?1",
        )?;
        let mut q = rows.query([JOURNAL_MOVE_BATCH as i64])?;
        while let Some(r) = q.next()? {
            let ids = FloorIds {
                message: String::new(),
                handoff: r.get(2)?,
                attempt: r.get(3)?,
            };
            moved.push((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)? == 1,
                ids,
                r.get::<_, i64>(4)?,
            ));
        }
    }
    let Some(&(last, ..)) = moved.last() else {
        return Ok(0);
    };
    writer.conn.execute_batch("BEGIN IMMEDIATE")?;
    for (_, finish, ids, at) in &moved {
        let outcome = if *finish {
            writer.finish_one(handoff, ids, *at)
        } else {
            writer.begin_one(handoff, ids, *at)
        };
        if let Err(e) = outcome {
            let _ = writer.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    writer.conn.execute_batch("COMMIT")?;
    journal
        .prepare_cached("DELETE FROM journal WHERE seq <= ?1")?
        .execute([last])?;
    Ok(moved.len())
}

/// The floor's two commits of a handoff around a real request, both in the calling task's
/// thread: `BEGIN`/`COMMIT` of the begun rows, the request, the finished rows. At concurrency 1
/// this is the least a handoff can take *with its request* in this harness: what the request
/// itself takes after the task's thread spent a commit's time in SQLite (its peers idle
/// meanwhile, and an idle core may have halted) is in it, as it is in a handoff's. Under
/// concurrency its tasks share one connection and commit one handoff at a time, which the
/// store's group commit beats: there it is printed for comparison, not as a floor.
#[derive(Clone)]
pub struct FloorAround(Arc<Mutex<FloorWriter>>);

impl FloorAround {
    /// A store file in `dir` as [`sqlite_floor`] makes it, for handoff rows of `data` recording
    /// `request`.
    pub async fn open(dir: &std::path::Path, data: &str, request: &str) -> Result<Self, BoxError> {
        let path = floor_file(dir).await?;
        let rows = FloorRows::handoff(data, request);
        Ok(Self(Arc::new(Mutex::new(FloorWriter::open(&path, rows)?))))
    }

    /// One handoff's rows begun, `request` awaited, the rows finished.
    pub async fn handoff<Fut>(&self, request: Fut) -> Result<(), BoxError>
    where
        Fut: Future<Output = Result<(), BoxError>>,
    {
        let ids = [FloorIds::new()];
        let now = chrono::Utc::now().timestamp_millis();
        // Blocking in the task, as the store's inline writes do: no hop to another thread.
        self.writer().begin(&ids, now)?;
        request.await?;
        self.writer()
            .finish(&ids, chrono::Utc::now().timestamp_millis())
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, FloorWriter> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The best handoff/bare ratio `floor` leaves room for, were everything else in a handoff free:
/// at concurrency 1 by time per request, under concurrency by CPU per request (the machine's
/// cores are the limit there). Printed beside the goals, so that a goal above it reads as
/// out of reach by construction; returned as a fraction, for goals stated against it.
pub fn ceiling(concurrency: usize, bare: &Samples, floor: &Samples) -> f64 {
    ceiling_of("handoff/bare", concurrency, bare, floor)
}

/// [`ceiling`] for a ratio `what` (e.g. `intake/bare`), printed, and returned as a fraction.
pub fn ceiling_of(what: &str, concurrency: usize, bare: &Samples, floor: &Samples) -> f64 {
    ceiling_of_parts(
        "ceiling set by the sqlite floor",
        what,
        concurrency,
        bare,
        &[("floor", floor)],
    )
}

/// As [`ceiling_of`], with other parts that every request needs besides the floor (each
/// measured alone, named as printed): the best ratio they leave room for together.
pub fn ceiling_of_parts(
    title: &str,
    what: &str,
    concurrency: usize,
    bare: &Samples,
    parts: &[(&str, &Samples)],
) -> f64 {
    let cost = |s: &Samples| {
        if concurrency == 1 {
            1e6 / s.throughput()
        } else {
            s.cpu_per_request_us()
        }
    };
    let b = cost(bare);
    let costs: Vec<(&str, f64)> = parts.iter().map(|(n, s)| (*n, cost(s))).collect();
    let ratio = b / (b + costs.iter().map(|(_, c)| c).sum::<f64>());
    let terms: String = costs
        .iter()
        .map(|(n, c)| format!(" + {n} {c:.0} µs"))
        .collect();
    println!(
        "{:>5}  {title}: {what} <= {:.1}% ({} per request: bare {b:.0} µs{terms})",
        "",
        100.0 * ratio,
        if concurrency == 1 { "time" } else { "CPU" },
    );
    ratio
}

/// `f` with its sequence numbers shifted past those used so far, so that each request of the
/// run has its own (session ids, names, message ids).
pub fn offset<F, Fut>(
    f: &F,
    seq: &mut usize,
    n: usize,
) -> impl Fn(usize) -> Fut + Clone + use<F, Fut>
where
    F: Fn(usize) -> Fut + Clone,
{
    let (f, base) = (f.clone(), *seq);
    *seq += n;
    move |i| f(base + i)
}

/// The API integration `emr` of the shared-store benchmarks: posts `{"name": fullName}` to
/// `<sink_url>/patients`, with the given retry policy.
pub fn emr_patients_api(
    sink_url: &str,
    retry: serde_json::Value,
) -> Result<handoff_console::integrations::IntegrationConfig, BoxError> {
    Ok(serde_json::from_value(serde_json::json!({
        "name": "emr", "kind": "api",
        "fields": [{"name": "fullName", "type": "name", "required": true}],
        "api": {"endpoint": format!("{sink_url}/patients"), "method": "POST",
                "payloadStructure": {"name": "{{fullName}}"},
                "timeoutMs": 5000, "connectTimeoutMs": 1000},
        "retry": retry
    }))?)
}

/// The PostgreSQL server the benchmarks use: `HANDOFF_TEST_PG_URL`, else the machine's own.
pub fn pg_server() -> String {
    std::env::var("HANDOFF_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A store URL on [`pg_server`] whose store lives in `schema` (made when first opened).
pub fn pg_store_url(schema: &str) -> Result<String, BoxError> {
    let u = url::Url::parse(&pg_server())?;
    Ok(format!(
        "postgres://{}@{}:{}{}?schema={schema}",
        u.username(),
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(5432),
        u.path()
    ))
}

/// What some of the store's triggers cost a handoff's store writes (`begin_attempt` +
/// `finish_attempt`, [`store_writes`]): two fresh stores, one with `drop` run on it first,
/// written to in alternating rounds at concurrency 1 and 16 (`what` names the dropped part).
pub async fn write_cost(
    what: &str,
    drop: &str,
    writes: usize,
    rounds: usize,
) -> Result<(), BoxError> {
    let mut sides = Vec::new();
    for keep in [true, false] {
        let dir = tempfile::tempdir()?;
        let secrets = Arc::new(MemorySecrets::default());
        App::open_with(dir.path(), secrets.clone())
            .await?
            .close()
            .await;
        if !keep {
            let conn =
                rusqlite::Connection::open(dir.path().join(handoff_console::store::STORE_FILE))?;
            conn.execute_batch(drop)?;
        }
        let app = Arc::new(App::open_with(dir.path(), secrets).await?);
        sides.push((dir, app));
    }
    let names = [format!("- store, {what}"), format!("- store, no {what}")];
    header(&format!(
        "\nwhat {what} cost a handoff's store writes ({writes} per side and concurrency)"
    ));
    let data = r#"{"fullName":"Ann Lee","phone":"+1 555 0100","email":"ann@example.com"}"#;
    let request =
        r#"{"method":"POST","url":"https://ehr.example.org/api/patients","headers":{},"body":{}}"#;
    for concurrency in [1, 16] {
        let mut samples = [Samples::default(), Samples::default()];
        for round in 0..=rounds {
            for (side, (_, app)) in sides.iter().enumerate() {
                let app = Arc::clone(app);
                let id = IntegrationId::new();
                // Round 0 warms up and is not counted.
                let n = if round == 0 {
                    writes / 10
                } else {
                    writes / rounds
                };
                let store = app.store().clone();
                let s = drive_settled(&store, n, concurrency, move |i| {
                    let app = Arc::clone(&app);
                    async move { store_writes(&app, id, "bench", i, data, request).await }
                })
                .await?;
                if round > 0 {
                    samples[side].add(s);
                }
            }
        }
        for (side, s) in samples.iter_mut().enumerate() {
            s.sort();
            row(concurrency, &names[side], s);
        }
        println!(
            "{:>5}  {what} keep {:.0}% of the store's throughput",
            "",
            100.0 * samples[0].throughput() / samples[1].throughput()
        );
    }
    for (_, app) in &sides {
        app.close().await;
    }
    Ok(())
}

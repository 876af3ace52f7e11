//! What deliveries say, over a large history: seeds a store with 128 integrations and a million
//! attempts (180 days; live, webhook, retry and configuration-test handoffs, some of them
//! retried tests; pending ones), then times the store reads that recompute health at read
//! time: `App::last_health` (a `deliveries` check per integration) and `App::delivery_summaries`
//! (the Integrations list's columns) over 24 hours and over 90 days.
//!
//! `cargo bench --no-default-features --bench health [-- --attempts N --repeat R]`

mod support;

use handoff_console::App;
use handoff_console::ids::{AttemptId, HandoffId};
use handoff_console::integrations::IntegrationConfig;
use handoff_console::store::STORE_FILE;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{BoxError, MemorySecrets, Options, check, summary, timed};

const DAY: i64 = 86_400_000;
const INTEGRATIONS: usize = 128;
const DAYS: i64 = 180;

/// xorshift: the same history on every run, no dependency.
struct Rng(u64);
impl Rng {
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

/// Writes `n` attempts in one transaction, as the console would have recorded them. About one
/// handoff in ten is retried (a second attempt, trigger `retry`), tests included.
fn seed(path: &std::path::Path, n: usize, ids: &[String], end: i64) -> Result<(), BoxError> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    {
        let mut handoff = tx.prepare(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, '{}', 1, ?5, ?5)",
        )?;
        let mut attempt = tx.prepare(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, category, retryable, status_code, message,
                                   started_at, finished_at, duration_ms)
             VALUES (?1, ?2, ?3, 'clinic', ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11, ?12, 100)",
        )?;
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let start = end - DAYS * DAY;
        let mut written = 0;
        let mut h = 0;
        while written < n {
            h += 1;
            let integration = &ids[((rng.unit() * rng.unit()) * ids.len() as f64) as usize];
            let started = start + (rng.next() % (DAYS * DAY) as u64) as i64;
            let r = rng.unit();
            let first = if r < 0.85 {
                "live"
            } else if r < 0.95 {
                "webhook"
            } else {
                "test"
            };
            let tries = if rng.unit() < 0.1 { 2 } else { 1 };
            // Real ids: the reads parse them.
            let handoff_id = HandoffId::new().to_string();
            let session = format!("s{h:08}");
            handoff.execute(rusqlite::params![
                handoff_id,
                integration,
                session,
                "succeeded",
                started
            ])?;
            for number in 1..=tries {
                let r = rng.unit();
                let (status, category, code, message) = if r < 0.001 {
                    ("pending", None, None, "")
                } else if r < 0.86 {
                    ("succeeded", None, Some(201), "201 Created")
                } else {
                    (
                        "failed",
                        Some("server"),
                        Some(503),
                        "503 Service Unavailable: upstream EHR timeout",
                    )
                };
                let at = started + i64::from(number - 1) * 60_000;
                attempt.execute(rusqlite::params![
                    AttemptId::new().to_string(),
                    handoff_id,
                    integration,
                    session,
                    if number == 1 { first } else { "retry" },
                    number,
                    status,
                    category,
                    code,
                    message,
                    at,
                    (status != "pending").then_some(at + 100),
                ])?;
                written += 1;
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let options = Options::parse(1, &[("--attempts", 1_000_000), ("--repeat", 9)])?;
    let n = options.extra["--attempts"];
    let repeat = options.extra["--repeat"].max(1);
    let dir = tempfile::tempdir()?;
    let secrets = Arc::new(MemorySecrets::default());
    let app = App::open_with(dir.path(), secrets.clone()).await?;
    let mut ids = Vec::new();
    for k in 0..INTEGRATIONS {
        let config: IntegrationConfig = serde_json::from_value(serde_json::json!({
            "name": format!("clinic {k:03}"), "kind": "api",
            "api": {"endpoint": "https://ehr.example.org/api/patients"},
        }))?;
        ids.push(app.add_integration(config).await?.id.to_string());
    }
    app.close().await;
    let end = chrono::Utc::now().timestamp_millis();
    let t = Instant::now();
    seed(&dir.path().join(STORE_FILE), n, &ids, end)?;
    println!(
        "seeded {n} attempts ({INTEGRATIONS} integrations, {DAYS} days) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let app = App::open_with(dir.path(), secrets).await?;
    println!("\n{:<52} {:>10} {:>10}", "read", "median", "slowest");
    let mut verdicts = Vec::new();
    let (median, slowest, last) = timed(repeat, || app.last_health()).await?;
    println!(
        "{:<52} {:>10} {:>10}",
        "last_health (a deliveries check per integration)",
        ms(median),
        ms(slowest)
    );
    // Read, not merely listed: a store error would make a warning saying so.
    let checked = last
        .integrations
        .iter()
        .filter(|s| {
            s.integration.checks.iter().any(|c| {
                c.name == "deliveries"
                    && !c
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("could not read"))
            })
        })
        .count();
    verdicts.push(check(
        "every integration has its deliveries check",
        checked.to_string(),
        &INTEGRATIONS.to_string(),
        checked == INTEGRATIONS,
    ));
    verdicts.push(check(
        "last_health: median time",
        ms(median),
        "< 250 ms",
        median < Duration::from_millis(250),
    ));
    // The longest window counts about half the history: measured, with no goal (every
    // attempt in it is read; see BENCHMARKS.md).
    for (name, window, goal) in [
        (
            "delivery_summaries, 24 h",
            chrono::Duration::hours(24),
            Some(250),
        ),
        (
            "delivery_summaries, 7 days",
            chrono::Duration::days(7),
            None,
        ),
        (
            "delivery_summaries, 90 days",
            chrono::Duration::days(90),
            None,
        ),
    ] {
        let (median, slowest, summaries) =
            timed(repeat.min(5), || app.delivery_summaries(window)).await?;
        let total: u64 = summaries.iter().map(|s| s.window.deliveries).sum();
        println!(
            "{:<52} {:>10} {:>10}  ({total} deliveries)",
            name,
            ms(median),
            ms(slowest)
        );
        if let Some(goal) = goal {
            verdicts.push(check(
                &format!("{name}: median time"),
                ms(median),
                &format!("< {goal} ms"),
                median < Duration::from_millis(goal),
            ));
        }
    }
    app.close().await;
    summary(&verdicts);
    Ok(())
}

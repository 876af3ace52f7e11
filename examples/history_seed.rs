//! Seeds a console's data dir with N attempts for the history benchmark
//! (ui/e2e/bench-history.mjs): real rows in the store's own tables (each attempt with its
//! handoff, a masked copy of its data and a recorded request), written in one transaction with
//! rusqlite because sending 100 000 handoffs through a target would take minutes. The store is
//! opened (and migrated) by the console itself first, and its stats triggers keep the rollups
//! as the rows go in, so the panel reads them exactly as it reads recorded attempts.
//!
//! `cargo run --no-default-features --example history_seed -- --dir D --attempts N`

use handoff_console::store::{STORE_FILE, Store};

const FAILURES: [(&str, &str, Option<i64>); 5] = [
    ("server", "503 Service Unavailable", Some(503)),
    (
        "network",
        "could not connect (http://127.0.0.1:9/p): Connection refused",
        None,
    ),
    ("timeout", "timed out (http://127.0.0.1:9/p)", None),
    (
        "validation",
        "422 Unprocessable Entity: phone is not a valid number",
        Some(422),
    ),
    ("authentication", "401 Unauthorized", Some(401)),
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(arg("--dir").ok_or("--dir DIR is required")?);
    let n: usize = arg("--attempts")
        .unwrap_or_else(|| "100000".into())
        .parse()?;
    std::fs::create_dir_all(&dir)?;
    Store::open(&dir).await?.close().await;

    let mut conn = rusqlite::Connection::open(dir.join(STORE_FILE))?;
    // A page cache large enough for the one transaction's pages (the attempts' start times are
    // random, so their indexes are written all over): with SQLite's default 2 MB, the pages
    // spill to the WAL over and over.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000000;",
    )?;
    let mut integrations: Vec<(String, String)> = conn
        .prepare("SELECT id, name FROM integrations ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if integrations.is_empty() {
        integrations.push((
            handoff_console::ids::IntegrationId::new().to_string(),
            "clinic".into(),
        ));
    }
    let end = chrono::Utc::now().timestamp_millis();
    let start = end - 30 * 86_400_000;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let tx = conn.transaction()?;
    {
        let mut handoff = tx.prepare(
            "INSERT INTO handoffs (id, integration_id, integration_name, session_id, status, data,
                                   data_masked, attempts, last_attempt_id, created_at, updated_at)
             VALUES (?1, ?2, ?8, ?3, ?4, '{}', ?5, 1, ?6, ?7, ?7)",
        )?;
        let mut attempt = tx.prepare(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                                   attempt_number, status, category, retryable, status_code, message,
                                   request, response_excerpt, started_at, finished_at, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'live', 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for i in 0..n {
            let (integration_id, integration_name) = &integrations[i % integrations.len()];
            let started = start + (next() % (end - start) as u64) as i64;
            let failure = (next() % 100 < 12).then(|| FAILURES[(next() % 5) as usize]);
            let status = if failure.is_some() {
                "failed"
            } else {
                "succeeded"
            };
            let duration = 20 + (next() % 900) as i64;
            let handoff_id = handoff_console::ids::HandoffId::new().to_string();
            let attempt_id = handoff_console::ids::AttemptId::new().to_string();
            let session = format!("call-{i:06}");
            handoff.execute(rusqlite::params![
                handoff_id,
                integration_id,
                session,
                status,
                r#"{"fullName":"A. L.","phone":"•••• •• 42"}"#,
                attempt_id,
                started,
                integration_name
            ])?;
            attempt.execute(rusqlite::params![
                attempt_id,
                handoff_id,
                integration_id,
                integration_name,
                session,
                status,
                failure.map(|f| f.0),
                failure.is_some_and(|f| matches!(f.0, "server" | "network" | "timeout")),
                failure.map_or(Some(201), |f| f.2),
                failure.map_or("201 Created", |f| f.1),
                r#"{"method":"POST","url":"http://127.0.0.1:9/p","body":{"name":"A. L."}}"#,
                failure.map_or(r#"{"id":"sub-1"}"#, |_| ""),
                started,
                started + duration,
                duration
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    drop(conn);
    // A store indexes its attempts for search within a second of each (`serve`'s worker): here,
    // all of them before the benchmark, as the store would have, so that the console it serves
    // is not still indexing a million attempts while the panel is timed.
    let started = std::time::Instant::now();
    let store = Store::open(&dir).await?;
    let mut indexed = 0;
    loop {
        let n = store
            .index_history_search(handoff_console::attempts::INDEX_BATCH)
            .await?;
        indexed += n;
        if n < u64::from(handoff_console::attempts::INDEX_BATCH) {
            break;
        }
    }
    store.close().await;
    println!(
        "seeded {n} attempts in {} (indexed {indexed} for search in {:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

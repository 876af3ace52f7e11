//! The history's text search index (`attempts::search`, migrations/*_history_search.sql) on
//! both stores: over random rows, a search finds exactly the attempts (and handoffs, by their
//! last attempt) whose session id, integration name, message or masked values hold the text,
//! as reading every row by the same rule finds them; and the index follows every write: an
//! attempt's finish, a new attempt of a retry, a change of masked data, a deleted attempt.
//! (That raw values are never found: tests/http_history.rs, over real handoffs.)

mod common;
mod common_db;

use common_db::{cleanly, exec, pg_store_url, postgres, suffix};
use handoff_console::attempts::{AttemptSummary, HandoffFilter, HandoffRow, HistoryFilter};
use handoff_console::store::postgres::StoreUrl;
use handoff_console::store::{STORE_FILE, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Characters the rows are made of: ASCII of both cases, digits, what LIKE and FTS5 treat
/// specially, and lower-case letters of other scripts (whose case the test never flips).
const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'A', 'B', 'C', 'x', 'Y', '0', '1', '7', ' ', '-', '%', '_', '\\', '"', '*',
    '\'', '(', ')', ':', 'é', 'ß', '日',
];

/// One handoff's rows: its attempts' (session id, integration name, message), last one last,
/// and its masked data.
struct Seeded {
    handoff: String,
    attempts: Vec<(String, String, String, String)>,
    masked: Value,
}

fn random_text(rng: &mut StdRng, max: usize) -> String {
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn rows(rng: &mut StdRng, n: usize) -> Vec<Seeded> {
    (0..n)
        .map(|i| {
            let handoff = uuid::Uuid::from_u128(i as u128).to_string();
            let session = format!("s{i}-{}", random_text(rng, 6));
            let integration = format!("int-{}", random_text(rng, 3));
            let attempts = (0..rng.random_range(1..=2u32))
                .map(|k| {
                    let id = uuid::Uuid::from_u128((1 << 64) + (i as u128) * 4 + k as u128);
                    (
                        id.to_string(),
                        session.clone(),
                        integration.clone(),
                        random_text(rng, 12),
                    )
                })
                .collect();
            let masked = json!({
                "name": random_text(rng, 8),
                "nested": {"list": [random_text(rng, 5), rng.random_range(0..100_000)]},
                "flag": rng.random_bool(0.5),
                "none": null,
            });
            Seeded {
                handoff,
                attempts,
                masked,
            }
        })
        .collect()
}

/// The masked values as the index takes them: every string, number and boolean, at any depth.
fn masked_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|v| masked_values(v, out)),
        Value::Array(a) => a.iter().for_each(|v| masked_values(v, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Null => {}
    }
}

fn holds(texts: &[&str], query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    texts.iter().any(|t| t.to_ascii_lowercase().contains(&q))
}

/// What reading every row finds: the attempt ids and the handoff ids (by the last attempt).
fn expected(seeded: &[Seeded], query: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut attempts = BTreeSet::new();
    let mut handoffs = BTreeSet::new();
    for s in seeded {
        let mut values = Vec::new();
        masked_values(&s.masked, &mut values);
        for (k, (id, session, integration, message)) in s.attempts.iter().enumerate() {
            let mut texts: Vec<&str> = vec![session, integration, message];
            texts.extend(values.iter().map(String::as_str));
            if holds(&texts, query) {
                attempts.insert(id.clone());
                if k == s.attempts.len() - 1 {
                    handoffs.insert(s.handoff.clone());
                }
            }
        }
    }
    (attempts, handoffs)
}

/// Searches drawn from the rows (pieces of every text, with ASCII case flipped), and random.
fn queries(rng: &mut StdRng, seeded: &[Seeded], n: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let s = &seeded[rng.random_range(0..seeded.len())];
        let a = &s.attempts[rng.random_range(0..s.attempts.len())];
        let mut values = vec![a.1.clone(), a.2.clone(), a.3.clone()];
        masked_values(&s.masked, &mut values);
        // Some text most rows hold (the integration names' prefix): enough matches that SQLite
        // reads the lists in order (`attempts::search`, 5,000 matches or more).
        if rng.random_bool(0.05) {
            out.push(["int-", "INT-", "nt-"][rng.random_range(0..3)].to_string());
            continue;
        }
        let source: Vec<char> = if rng.random_bool(0.15) {
            random_text(rng, 6).chars().collect()
        } else {
            values[rng.random_range(0..values.len())].chars().collect()
        };
        if source.is_empty() {
            continue;
        }
        let start = rng.random_range(0..source.len());
        let len = rng.random_range(1..=6.min(source.len() - start));
        let query: String = source[start..start + len]
            .iter()
            .map(|c| match rng.random_bool(0.5) {
                true if c.is_ascii_lowercase() => c.to_ascii_uppercase(),
                true if c.is_ascii_uppercase() => c.to_ascii_lowercase(),
                _ => *c,
            })
            .collect();
        out.push(query);
    }
    out
}

/// Writes the rows as the console's tables hold them (one statement text for both stores).
macro_rules! write_rows {
    ($pool:expr, $seeded:expr) => {
        for s in $seeded {
            let last = &s.attempts.last().unwrap().0;
            sqlx::query(
                "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked,
                     attempts, created_at, updated_at, integration_name, last_attempt_id)
                 VALUES ($1, '00000000-0000-4000-8000-0000000000aa', $2, 'succeeded', '{}', $3, $4, 1, 1, $5, $6)",
            )
            .bind(&s.handoff)
            .bind(&s.attempts[0].1)
            .bind(s.masked.to_string())
            .bind(s.attempts.len() as i64)
            .bind(&s.attempts[0].2)
            .bind(last)
            .execute($pool)
            .await
            .unwrap();
            for (k, (id, session, integration, message)) in s.attempts.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO attempts (id, handoff_id, integration_id, integration_name,
                         session_id, trigger, attempt_number, status, message, started_at)
                     VALUES ($1, $2, '00000000-0000-4000-8000-0000000000aa', $3, $4, 'live', $5, 'succeeded', $6, $7)",
                )
                .bind(id)
                .bind(&s.handoff)
                .bind(integration)
                .bind(session)
                .bind(k as i64 + 1)
                .bind(message)
                .bind(k as i64 + 1)
                .execute($pool)
                .await
                .unwrap();
            }
        }
    };
}

/// Every query finds, in both lists and their counts, what reading every row finds. With
/// `dense`, some queries must have matched 5,000 attempts or more.
async fn finds_what_reading_finds(
    store: &Store,
    seeded: &[Seeded],
    queries: &[String],
    dense: bool,
) {
    let mut searched_short = 0;
    let mut searched_dense = 0;
    for q in queries {
        let (want_attempts, want_handoffs) = expected(seeded, q);
        let attempts: BTreeSet<String> = store
            .history(&HistoryFilter {
                text: Some(q.clone()),
                limit: Some(10_000),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.attempt_id.to_string())
            .collect();
        assert_eq!(attempts, want_attempts, "attempts holding {q:?}");
        let count = store
            .history_count(&HistoryFilter {
                text: Some(q.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            count as usize,
            want_attempts.len(),
            "attempt count of {q:?}"
        );
        let filter = HandoffFilter {
            text: Some(q.clone()),
            limit: Some(10_000),
            ..Default::default()
        };
        let handoffs: BTreeSet<String> = store
            .handoffs(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.handoff_id.to_string())
            .collect();
        assert_eq!(handoffs, want_handoffs, "handoffs holding {q:?}");
        assert_eq!(
            store.handoff_count(&filter).await.unwrap() as usize,
            want_handoffs.len(),
            "handoff count of {q:?}"
        );
        // With a condition besides the text (one every row meets), counted from the rows.
        let since_ever = HandoffFilter {
            since_ms: Some(0),
            ..filter.clone()
        };
        assert_eq!(
            store.handoff_count(&since_ever).await.unwrap() as usize,
            want_handoffs.len(),
            "handoff count of {q:?} with a condition besides it"
        );
        pages_near_the_start_read_as_among_every_match(store, q, &want_attempts, &want_handoffs)
            .await;
        // As a page reads them: the matches collected once (SQLite, 3+ characters), then both
        // lists and their counts read among them, one after another on their connection.
        let mut matches = store.text_matches(Some(q)).await.unwrap();
        if let Some(m) = matches.as_mut() {
            assert_eq!(
                m.attempt_count().await.unwrap() as usize,
                want_attempts.len(),
                "matches of {q:?}"
            );
        }
        let attempts: BTreeSet<String> = store
            .history_with_matches(
                &HistoryFilter {
                    text: Some(q.clone()),
                    limit: Some(10_000),
                    ..Default::default()
                },
                matches.as_mut(),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.attempt_id.to_string())
            .collect();
        assert_eq!(
            attempts, want_attempts,
            "attempts holding {q:?}, among its matches"
        );
        let handoffs: BTreeSet<String> = store
            .handoffs_with_matches(&filter, matches.as_mut())
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.handoff_id.to_string())
            .collect();
        assert_eq!(
            handoffs, want_handoffs,
            "handoffs holding {q:?}, among its matches"
        );
        assert_eq!(
            store
                .handoff_count_with_matches(&since_ever, matches.as_mut())
                .await
                .unwrap() as usize,
            want_handoffs.len(),
            "handoff count of {q:?} among its matches"
        );
        assert_eq!(
            store
                .history_count_with_matches(
                    &HistoryFilter {
                        text: Some(q.clone()),
                        since_ms: Some(0),
                        ..Default::default()
                    },
                    matches.as_mut(),
                )
                .await
                .unwrap() as usize,
            want_attempts.len(),
            "attempt count of {q:?} among its matches, with a condition besides it"
        );
        if q.chars().count() < 3 {
            searched_short += 1;
        } else if want_attempts.len() >= 5_000 {
            searched_dense += 1;
        }
    }
    assert_eq!(searched_dense > 0, dense, "{searched_dense} dense searches");
    assert!(
        searched_short > 0 && searched_short < queries.len(),
        "both paths searched: {searched_short} short of {}",
        queries.len()
    );
}

/// Both lists as the Stats panel reads them (SQLite, 3+ characters): the matches collected, the
/// count taken, then a page of 100 at the start and one 3,000 rows in. A dense text (5,000
/// matches or more) is counted from the index and its first page tests the list's rows by the
/// rule, without collecting every match; the deeper page collects them. Each page must be
/// the one read among every match (a list read on its own collects them all), and each count
/// what reading every row finds.
async fn pages_near_the_start_read_as_among_every_match(
    store: &Store,
    q: &str,
    want_attempts: &BTreeSet<String>,
    want_handoffs: &BTreeSet<String>,
) {
    let Some(mut m) = store.text_matches(Some(q)).await.unwrap() else {
        return;
    };
    let dense = want_attempts.len() >= 5_000;
    let text = HistoryFilter {
        text: Some(q.to_owned()),
        ..Default::default()
    };
    let count = store
        .history_count_with_matches(&text, Some(&mut m))
        .await
        .unwrap();
    assert_eq!(
        count as usize,
        want_attempts.len(),
        "attempt count of {q:?}"
    );
    for offset in [0, 3_000] {
        let f = HistoryFilter {
            offset: Some(offset),
            limit: Some(100),
            ..text.clone()
        };
        let page = store.history_with_matches(&f, Some(&mut m)).await.unwrap();
        let among_all = store.history(&f).await.unwrap();
        let ids = |rows: &[AttemptSummary]| -> Vec<String> {
            rows.iter().map(|a| a.attempt_id.to_string()).collect()
        };
        assert_eq!(
            ids(&page),
            ids(&among_all),
            "attempts of {q:?} from {offset}"
        );
        assert!(ids(&page).iter().all(|id| want_attempts.contains(id)));
        assert_eq!(
            m.is_complete(),
            !dense || offset > 0,
            "{q:?} from {offset}: collected in full"
        );
    }

    // (Its connection back to the pool: a history file's has two.)
    drop(m);
    let mut m = store.text_matches(Some(q)).await.unwrap().unwrap();
    let text = HandoffFilter {
        text: Some(q.to_owned()),
        ..Default::default()
    };
    let count = store
        .handoff_count_with_matches(&text, Some(&mut m))
        .await
        .unwrap();
    assert_eq!(
        count as usize,
        want_handoffs.len(),
        "handoff count of {q:?}"
    );
    for offset in [0, 3_000] {
        let f = HandoffFilter {
            offset: Some(offset),
            limit: Some(100),
            ..text.clone()
        };
        let page = store.handoffs_with_matches(&f, Some(&mut m)).await.unwrap();
        let among_all = store.handoffs(&f).await.unwrap();
        let ids = |rows: &[HandoffRow]| -> Vec<String> {
            rows.iter().map(|h| h.handoff_id.to_string()).collect()
        };
        assert_eq!(
            ids(&page),
            ids(&among_all),
            "handoffs of {q:?} from {offset}"
        );
        assert!(ids(&page).iter().all(|id| want_handoffs.contains(id)));
        assert_eq!(
            m.is_complete(),
            !dense || offset > 0,
            "{q:?}'s handoffs from {offset}: collected in full"
        );
    }
}

/// Deletes every seventh handoff with its attempts (rows and index entries), so that the rowids
/// have gaps a VACUUM could close, and returns the rows left.
async fn delete_some(pool: &sqlx::SqlitePool, seeded: Vec<Seeded>) -> Vec<Seeded> {
    let mut kept = Vec::new();
    for (i, s) in seeded.into_iter().enumerate() {
        if i % 7 != 3 {
            kept.push(s);
            continue;
        }
        sqlx::query("DELETE FROM attempts WHERE handoff_id = $1")
            .bind(&s.handoff)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM handoffs WHERE id = $1")
            .bind(&s.handoff)
            .execute(pool)
            .await
            .unwrap();
    }
    kept
}

/// With rows deleted and the file vacuumed (as an export is): the index is keyed by the
/// attempts' rowids, which VACUUM keeps for a table with indexes.
#[tokio::test]
async fn a_search_finds_what_reading_every_row_finds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap().close().await;
    let mut rng = StdRng::seed_from_u64(18);
    // Enough rows that text in most of them has 5,000 matches.
    let seeded = rows(&mut rng, 4_500);
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(STORE_FILE).display()
    ))
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    write_rows!(&mut *tx, &seeded);
    tx.commit().await.unwrap();
    let seeded = delete_some(&pool, seeded).await;
    sqlx::query("VACUUM").execute(&pool).await.unwrap();
    pool.close().await;
    let store = Store::open(dir.path()).await.unwrap();
    // Fewer earlier tries than the dense searches' matches: their handoff counts read these
    // (`count_last_attempts`), the others read their matches.
    let pool = sqlite_pool(&dir.path().join(STORE_FILE)).await;
    let not_last = not_last_is_exact(&pool).await;
    assert!((1_000..5_000).contains(&not_last), "{not_last}");
    pool.close().await;
    // Most of the ~5,760 attempts indexed (enough that a common text reads the lists in order),
    // the last few hundred still queued: a search reads both.
    for _ in 0..5 {
        assert_eq!(store.index_history_search(1_000).await.unwrap(), 1_000);
    }
    let queries = queries(&mut rng, &seeded, 100);
    finds_what_reading_finds(&store, &seeded, &queries, true).await;
    store.close().await;

    // The same file opened read-only, as a history export is: a search collects its matches
    // in a TEMP table on a read-only connection, and finds the same.
    let file = tempfile::tempdir().unwrap();
    let copy = file.path().join("history.db");
    std::fs::copy(dir.path().join(STORE_FILE), &copy).unwrap();
    let read_only = Store::open_read_only(&copy).await.unwrap();
    finds_what_reading_finds(&read_only, &seeded, &queries[..40], true).await;
    read_only.close().await;
}

/// The store file in `dir`, written by an older console: a copy of it opened read-only (as a
/// history file is, unmigrated) finds what reading finds; then the store itself, opened (so
/// migrated), has the not-last table its backfill made (some handoffs were tried twice) and
/// finds the same.
async fn finds_in_a_copy_read_only_then_migrated(
    dir: &std::path::Path,
    seeded: &[Seeded],
    queries: &[String],
) {
    assert!(
        seeded.iter().any(|s| s.attempts.len() > 1),
        "some handoffs were tried again"
    );
    let file = tempfile::tempdir().unwrap();
    let copy = file.path().join("history.db");
    std::fs::copy(dir.join(STORE_FILE), &copy).unwrap();
    let read_only = Store::open_read_only(&copy).await.unwrap();
    finds_what_reading_finds(&read_only, seeded, queries, false).await;
    read_only.close().await;

    let store = Store::open(dir).await.unwrap();
    let pool = sqlite_pool(&dir.join(STORE_FILE)).await;
    assert!(not_last_is_exact(&pool).await > 0);
    pool.close().await;
    finds_what_reading_finds(&store, seeded, queries, false).await;
    store.close().await;
}

/// A store from before the index gets it when opened (its attempts indexed by the migration);
/// a history file from before it, opened read-only, is searched by reading every attempt. Both
/// find what reading finds.
#[tokio::test]
async fn a_store_from_before_the_index_is_indexed_and_an_old_history_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let pool = common::store_migrated_before(dir.path(), "20270106120000_history_search.sql").await;
    let mut rng = StdRng::seed_from_u64(1818);
    let seeded = rows(&mut rng, 150);
    write_rows!(&pool, &seeded);
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let queries = queries(&mut rng, &seeded, 120);
    finds_in_a_copy_read_only_then_migrated(dir.path(), &seeded, &queries).await;
}

/// A history file from before the not-last table (indexed, some handoffs tried twice), opened
/// read-only, counts its handoff view from the rows; the store it came from, opened, gets the
/// table from its migration's backfill. Both find what reading finds.
#[tokio::test]
async fn a_history_file_from_before_the_not_last_table_counts_its_handoffs_from_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let pool =
        common::store_migrated_before(dir.path(), "20270110120000_history_not_last.sql").await;
    let mut rng = StdRng::seed_from_u64(18_18);
    let seeded = rows(&mut rng, 300);
    write_rows!(&pool, &seeded);
    // Half of the attempts indexed as the batch indexer does, the rest still queued.
    sqlx::query(
        "INSERT INTO history_search (rowid, text) SELECT attempt_rowid, text \
         FROM history_search_source WHERE attempt_rowid % 2 = 0",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM history_search_queue WHERE attempt_rowid % 2 = 0")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let queries = queries(&mut rng, &seeded, 80);
    finds_in_a_copy_read_only_then_migrated(dir.path(), &seeded, &queries).await;
}

/// The PostgreSQL store in a schema of its own (migrated by opening it), and a pool on it.
async fn postgres_store(schema: &str) -> (Store, sqlx::PgPool) {
    let url = StoreUrl::parse(&pg_store_url(schema)).unwrap();
    let store = Store::open_shared(&url, None).await.unwrap();
    let pool = sqlx::PgPool::connect_with(url.connect_options(None))
        .await
        .unwrap();
    (store, pool)
}

#[tokio::test]
async fn a_search_finds_what_reading_every_row_finds_on_postgres() {
    let server = postgres().await;
    let schema = format!("hc_search_{}", suffix());
    cleanly(
        async {
            let (store, pool) = postgres_store(&schema).await;
            let mut rng = StdRng::seed_from_u64(18);
            let seeded = rows(&mut rng, 300);
            write_rows!(&pool, &seeded);
            let trigram_index: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = $1
                   AND indexname = 'history_search_trigrams'",
            )
            .bind(&schema)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(trigram_index, 1, "pg_trgm serves the search");
            let queries = queries(&mut rng, &seeded, 250);
            finds_what_reading_finds(&store, &seeded, &queries, false).await;
            pool.close().await;
            store.close().await;
        },
        exec(
            &server.pool,
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ),
    )
    .await;
}

/// How many attempts, and handoffs, a search finds.
async fn found(store: &Store, text: &str) -> (u64, u64) {
    let attempts = store
        .history_count(&HistoryFilter {
            text: Some(text.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let handoffs = store
        .handoff_count(&HandoffFilter {
            text: Some(text.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    (attempts, handoffs)
}

/// `found`, then again once the attempts the store queued for its search index are indexed
/// (SQLite; PostgreSQL's triggers index at once): the same either way.
async fn found_queued_and_indexed(store: &Store, text: &str) -> (u64, u64) {
    let queued = found(store, text).await;
    while store.index_history_search(1_000).await.unwrap() > 0 {}
    let indexed = found(store, text).await;
    assert_eq!(queued, indexed, "{text:?} before and after indexing");
    indexed
}

/// An attempt found by its message once it is written, by its handoff's masked data once that
/// changes, no longer once deleted; a retry's attempt found beside the first, the handoff by
/// its last attempt only.
macro_rules! follows_every_write {
    ($pool:expr, $store:expr) => {{
        let (pool, store) = ($pool, $store);
        let seeded = [Seeded {
            handoff: uuid::Uuid::from_u128(1).to_string(),
            attempts: vec![(
                uuid::Uuid::from_u128(2).to_string(),
                "call-Writes".into(),
                "emr".into(),
                String::new(),
            )],
            masked: json!({"phone": "***-***-4242", "fullName": "Z*** Q***"}),
        }];
        write_rows!(pool, &seeded);
        assert_eq!(found_queued_and_indexed(store, "4242").await, (1, 1), "masked value");
        assert_eq!(found_queued_and_indexed(store, "CALL-writes").await, (1, 1), "session id, any case");
        assert_eq!(found_queued_and_indexed(store, "refused").await, (0, 0));
        // The attempt finishes: its message is written.
        sqlx::query("UPDATE attempts SET message = 'connection refused by EHR' WHERE id = $1")
            .bind(&seeded[0].attempts[0].0)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(found_queued_and_indexed(store, "refused by ehr").await, (1, 1), "the finished message");
        // A retry: a second attempt, now the handoff's last.
        let retry = uuid::Uuid::from_u128(3).to_string();
        sqlx::query(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id,
                 trigger, attempt_number, status, message, started_at)
             VALUES ($1, $2, '00000000-0000-4000-8000-0000000000aa', 'emr', 'call-Writes', 'retry', 2, 'succeeded', '201 Created', 2)",
        )
        .bind(&retry)
        .bind(&seeded[0].handoff)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("UPDATE handoffs SET last_attempt_id = $1, attempts = 2 WHERE id = $2")
            .bind(&retry)
            .bind(&seeded[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(found_queued_and_indexed(store, "refused").await, (1, 0), "no longer the last attempt");
        assert_eq!(found_queued_and_indexed(store, "201 created").await, (1, 1));
        assert_eq!(found_queued_and_indexed(store, "4242").await, (2, 1), "both attempts by masked data");
        // The masked data changes (a key rotation's re-masking): both attempts follow.
        sqlx::query("UPDATE handoffs SET data_masked = $1 WHERE id = $2")
            .bind(json!({"phone": "***-***-9876"}).to_string())
            .bind(&seeded[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(found_queued_and_indexed(store, "4242").await, (0, 0), "the old masked value");
        assert_eq!(found_queued_and_indexed(store, "9876").await, (2, 1));
        // Deleted attempts leave the index.
        sqlx::query("UPDATE handoffs SET last_attempt_id = NULL WHERE id = $1")
            .bind(&seeded[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM attempts WHERE handoff_id = $1")
            .bind(&seeded[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(found_queued_and_indexed(store, "9876").await, (0, 0));
        assert_eq!(found_queued_and_indexed(store, "call-writes").await.0, 0);
        // A handoff deleted with its attempts, its last attempt indexed: neither is found.
        let gone = [Seeded {
            handoff: uuid::Uuid::from_u128(4).to_string(),
            attempts: vec![(
                uuid::Uuid::from_u128(5).to_string(),
                "call-Gone".into(),
                "emr".into(),
                "gone away".into(),
            )],
            masked: json!({}),
        }];
        write_rows!(pool, &gone);
        assert_eq!(found_queued_and_indexed(store, "call-gone").await, (1, 1));
        sqlx::query("DELETE FROM attempts WHERE handoff_id = $1")
            .bind(&gone[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM handoffs WHERE id = $1")
            .bind(&gone[0].handoff)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(found_queued_and_indexed(store, "call-gone").await, (0, 0));
        // A configuration test's handoff: its attempt is in the history, the handoff is not.
        sqlx::query(
            "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked,
                 attempts, created_at, updated_at, integration_name, last_attempt_id, origin)
             VALUES ($1, '00000000-0000-4000-8000-0000000000aa', 'call-Tested', 'succeeded', '{}',
                 '{}', 1, 1, 1, 'emr', $2, 'test')",
        )
        .bind(uuid::Uuid::from_u128(6).to_string())
        .bind(uuid::Uuid::from_u128(7).to_string())
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id,
                 trigger, attempt_number, status, message, started_at)
             VALUES ($1, $2, '00000000-0000-4000-8000-0000000000aa', 'emr', 'call-Tested', 'test', 1, 'succeeded', '200 OK', 3)",
        )
        .bind(uuid::Uuid::from_u128(7).to_string())
        .bind(uuid::Uuid::from_u128(6).to_string())
        .execute(pool)
        .await
        .unwrap();
        assert_eq!(found_queued_and_indexed(store, "call-tested").await, (1, 0), "a test is no handoff");
    }};
}

#[tokio::test]
async fn the_index_follows_every_write_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(STORE_FILE).display()
    ))
    .await
    .unwrap();
    follows_every_write!(&pool, &store);
    not_last_is_exact(&pool).await;
    pool.close().await;
    store.close().await;
}

#[tokio::test]
async fn the_index_follows_every_write_on_postgres() {
    let server = postgres().await;
    let schema = format!("hc_search_{}", suffix());
    cleanly(
        async {
            let (store, pool) = postgres_store(&schema).await;
            follows_every_write!(&pool, &store);
            pool.close().await;
            store.close().await;
        },
        exec(
            &server.pool,
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ),
    )
    .await;
}

/// A console on a temp dir with an API integration `emr` (one phone field, `retry` its retry
/// policy) posting to a sink that answers 201 unless told otherwise.
async fn console_with_emr(
    retry: Value,
) -> (
    common::Sink,
    tempfile::TempDir,
    handoff_console::App,
    handoff_console::integrations::Integration,
) {
    let sink = common::Sink::start().await;
    sink.always(common::Reply::json(201, json!({"id": "sub-1"})));
    let dir = tempfile::tempdir().unwrap();
    let app = handoff_console::App::open(dir.path()).await.unwrap();
    let config = serde_json::from_value(json!({
        "name": "emr", "kind": "api",
        "fields": [{"name": "phone", "type": "phone", "required": true}],
        "api": {"endpoint": format!("{}/patients", sink.url), "method": "POST",
                "payloadStructure": {"phone": "{{phone}}"}},
        "retry": retry
    }))
    .unwrap();
    let integration = app.add_integration(config).await.unwrap();
    (sink, dir, app, integration)
}

/// The worker (`serve`, the desktop app, `worker`) fills the index from the queue every
/// second: handoffs a console sent are all indexed once it has run for a while, and found.
#[tokio::test]
async fn the_worker_indexes_what_the_store_queued() {
    use handoff_console::attempts::Trigger;
    let (_sink, dir, app, _) = console_with_emr(json!({"maxAttempts": 1})).await;
    for i in 0..3 {
        let sent = app
            .send(
                "emr",
                &format!("call-worker-{i}"),
                json!({"phone": format!("+1 555 010 424{i}")}),
                Trigger::Live,
            )
            .await
            .unwrap();
        assert!(sent.success, "{sent:?}");
    }
    let queued = || async {
        // Read from the file behind the store's back: once the journal's entries are in.
        app.store().settle().await.unwrap();
        let pool = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}?mode=ro",
            dir.path().join(STORE_FILE).display()
        ))
        .await
        .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM history_search_queue")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    };
    assert_eq!(queued().await, 3, "written, queued, not indexed");
    // Found while queued, by the same rule.
    assert_eq!(found(app.store(), "call-WORKER").await, (3, 3));
    assert_eq!(found(app.store(), "-4241").await, (1, 1), "a masked phone");
    app.run_worker(
        std::time::Duration::from_millis(100),
        tokio::time::sleep(std::time::Duration::from_millis(2_500)),
    )
    .await
    .unwrap();
    assert_eq!(queued().await, 0, "the worker indexed every queued attempt");
    assert_eq!(found(app.store(), "call-WORKER").await, (3, 3));
    assert_eq!(found(app.store(), "-4241").await, (1, 1));
    app.close().await;
}

/// The rowids `history_not_last` holds, checked against its definition (an attempt that is not
/// the last attempt of a listed handoff: migrations/20270110120000_history_not_last.sql); how
/// many.
async fn not_last_is_exact(pool: &sqlx::SqlitePool) -> usize {
    let kept: Vec<i64> =
        sqlx::query_scalar("SELECT attempt_rowid FROM history_not_last ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    let defined: Vec<i64> = sqlx::query_scalar(
        "SELECT a.rowid FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM handoffs h
             WHERE h.id = a.handoff_id AND h.last_attempt_id = a.id AND h.origin <> 'test')
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        kept, defined,
        "the attempts that are not a listed handoff's last"
    );
    kept.len()
}

async fn sqlite_pool(file: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", file.display()))
        .await
        .unwrap()
}

/// Through a console's own writes (new handoffs, retries by hand and by the worker, an attempt
/// its process left pending, configuration tests) and into a history export, the attempts that
/// are not a handoff's last are kept exactly, and a search's handoff count (text alone, read
/// from them) is what counting the rows finds.
#[tokio::test]
async fn a_consoles_writes_keep_the_attempts_that_are_not_the_last() {
    use common::Reply;
    use handoff_console::attempts::{BeginAttempt, Claim, Trigger};
    use handoff_console::export::ExportFilter;
    use handoff_console::ids::{AttemptId, HandoffId};
    let (sink, dir, app, integration) =
        console_with_emr(json!({"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 10})).await;
    let send = |i: u32, trigger: Trigger| {
        let app = &app;
        async move {
            app.send(
                "emr",
                &format!("call-last-{i}"),
                json!({"phone": format!("+1 555 010 {i:04}")}),
                trigger,
            )
            .await
            .unwrap()
        }
    };
    // Delivered at once; failed, then retried by hand until delivered; failed, then retried by
    // the worker; configuration tests.
    for i in 0..4 {
        assert!(send(i, Trigger::Live).await.success);
    }
    for i in 4..7 {
        sink.then([Reply::status(503), Reply::status(503)]);
        let first = send(i, Trigger::Live).await;
        assert!(!first.success);
        let second = app.retry_attempt(first.attempt_id).await.unwrap();
        assert!(!second.success);
        assert!(app.retry_attempt(second.attempt_id).await.unwrap().success);
    }
    sink.then([Reply::status(503)]);
    assert!(!send(7, Trigger::Live).await.success);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(app.run_due_retries().await.unwrap().succeeded, 1);
    for i in 8..10 {
        assert!(send(i, Trigger::Test).await.success);
    }
    // An attempt its process left pending, taken over by a retry.
    let handoff = HandoffId::new();
    let now = chrono::Utc::now().timestamp_millis();
    let data = r#"{"phone": "+1 555 010 0010"}"#;
    app.store()
        .begin_attempt(&BeginAttempt {
            attempt_id: AttemptId::new(),
            handoff_id: handoff,
            integration_id: integration.id,
            integration_name: "emr",
            session_id: "call-last-10",
            trigger: Trigger::Live,
            automatic: false,
            previous_attempt_id: None,
            claim: Claim::New,
            data: Some(data),
            data_masked: Some(r#"{"phone": "***-***-0010"}"#),
            started_at: now - 60_000,
            lease_until: now - 1,
            owner: "test",
            taken_by: None,
        })
        .await
        .unwrap();
    assert!(app.run_due_retries().await.unwrap().succeeded >= 1);

    let store_file = dir.path().join(STORE_FILE);
    let pool = sqlite_pool(&store_file).await;
    // Two earlier tries of each of three handoffs, one of the worker's, the interrupted one,
    // the two tests.
    assert_eq!(not_last_is_exact(&pool).await, 6 + 1 + 1 + 2);
    pool.close().await;
    for (text, attempts, handoffs) in [("call-last", 19, 9), ("emr", 19, 9), ("call-last-5", 3, 1)]
    {
        assert_eq!(
            found(app.store(), text).await,
            (attempts, handoffs),
            "{text:?}"
        );
    }
    while app.store().index_history_search(1_000).await.unwrap() > 0 {}
    for (text, attempts, handoffs) in [("call-last", 19, 9), ("call-last-8", 1, 0), ("-0010", 2, 1)]
    {
        assert_eq!(
            found(app.store(), text).await,
            (attempts, handoffs),
            "{text:?}, indexed"
        );
    }

    // An export writes each handoff before its attempts: the same attempts are kept there.
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("history.db");
    app.store()
        .export(&file, &ExportFilter::default(), &|_, _| {})
        .await
        .unwrap();
    let pool = sqlite_pool(&file).await;
    assert_eq!(not_last_is_exact(&pool).await, 10);
    pool.close().await;
    let history = Store::open_read_only(&file).await.unwrap();
    assert_eq!(found(&history, "call-last").await, (19, 9));
    history.close().await;
    app.close().await;
}

/// Text neither rare nor dense (6,000 attempts of 72,000 hold it: its first 5,000 matches reach
/// past ten times as many attempts) is collected whole when the search begins, reading on past
/// its first matches in the same pass over the index: each list's count, and its pages at the
/// start and deep in, are what reading every row finds.
#[tokio::test]
async fn text_neither_rare_nor_dense_is_collected_whole_at_once() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap().close().await;
    let file = dir.path().join(STORE_FILE);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let (n, every) = (72_000, 12);
    for sql in [
        "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts,
             created_at, updated_at, integration_name, last_attempt_id)
         WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?1)
         SELECT printf('00000000-0000-4000-8000-%012d', n), '00000000-0000-4000-8000-0000000000aa',
                'call-' || n, 'succeeded', '{}', 1, n, n, 'emr',
                printf('00000000-0000-4000-9000-%012d', n)
         FROM i",
        "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id,
             trigger, attempt_number, status, message, started_at)
         WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?1)
         SELECT printf('00000000-0000-4000-9000-%012d', n), printf('00000000-0000-4000-8000-%012d', n),
                '00000000-0000-4000-8000-0000000000aa', 'emr', 'call-' || n, 'live', 1, 'succeeded',
                CASE WHEN n % ?2 = 0 THEN 'upstream quokka timeout' ELSE 'delivered' END, n
         FROM i",
    ] {
        sqlx::query(sql)
            .bind(n as i64)
            .bind(every as i64)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let store = Store::open(dir.path()).await.unwrap();
    while store.index_history_search(20_000).await.unwrap() > 0 {}
    let matching: Vec<u64> = (1..=n).filter(|i| i % every == 0).collect();
    let m = store.text_matches(Some("QUOKKA")).await.unwrap().unwrap();
    assert!(m.is_complete(), "collected whole as the search began");
    drop(m);
    assert_eq!(
        found(&store, "QUOKKA").await,
        (matching.len() as u64, matching.len() as u64)
    );
    let uuid = |group: &str, i: u64| format!("00000000-0000-4000-{group}-{i:012}");
    for offset in [0, 3_000, 5_950] {
        let text = || Some("quokka".to_owned());
        let page = store
            .history(&HistoryFilter {
                text: text(),
                offset: Some(offset),
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        // Newest first.
        let want: Vec<String> = matching
            .iter()
            .rev()
            .skip(offset as usize)
            .take(100)
            .map(|&i| uuid("9000", i))
            .collect();
        let got: Vec<String> = page.iter().map(|a| a.attempt_id.to_string()).collect();
        assert_eq!(got, want, "attempts from {offset}");
        let page = store
            .handoffs(&HandoffFilter {
                text: text(),
                offset: Some(offset),
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        let got: BTreeSet<String> = page.iter().map(|h| h.handoff_id.to_string()).collect();
        assert_eq!(got.len(), want.len().min(100), "handoffs from {offset}");
        assert!(
            got.iter()
                .all(|id| matching.contains(&id[24..].parse::<u64>().unwrap())),
            "handoffs from {offset} hold the text"
        );
    }
    store.close().await;
}

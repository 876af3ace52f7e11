//! The local store: created on first open, migrated at every open, and reopened with its data.

mod common;

use handoff_console::App;
use handoff_console::store::{STORE_FILE, Store};
use serde_json::json;

#[tokio::test]
async fn a_store_is_created_migrated_and_reopened_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert!(dir.path().join(STORE_FILE).exists());
    store.close().await;

    let app = App::open(dir.path()).await.unwrap();
    let config = serde_json::from_value(json!({
        "name": "db", "kind": "database",
        "database": {"type": "sqlite", "database": "/tmp/none.db", "table": "t", "fieldMapping": {"a": "a"}}
    }))
    .unwrap();
    let saved = app.add_integration(config).await.unwrap();
    app.close().await;

    // Reopening applies nothing new and keeps the data.
    let app = App::open(dir.path()).await.unwrap();
    assert_eq!(app.integration("db").await.unwrap().id, saved.id);
    // Files only, as sqlx reads the directory: migrations/postgres/ holds PostgreSQL's twins.
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(
            &sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.path().join(STORE_FILE).display()
            ))
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        applied, migrations,
        "every migration in migrations/ is applied"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STORE_FILE), b"this is not a database").unwrap();
    let err = Store::open(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("cannot open the store"), "{err}");
    assert!(
        err.contains(&dir.path().display().to_string()),
        "names the place: {err}"
    );
}

#[tokio::test]
async fn a_store_from_a_newer_console_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap().close().await;
    // Pretend a newer version applied a migration this build does not know.
    let url = format!("sqlite://{}", dir.path().join(STORE_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (99990101000000, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let err = Store::open(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("migration"), "{err}");
}

fn begin(
    handoff: handoff_console::ids::HandoffId,
    now: i64,
) -> handoff_console::attempts::BeginAttempt<'static> {
    use handoff_console::attempts::{BeginAttempt, Claim, Trigger};
    use handoff_console::ids::{AttemptId, IntegrationId};
    BeginAttempt {
        attempt_id: AttemptId::new(),
        handoff_id: handoff,
        integration_id: IntegrationId::new(),
        integration_name: "x",
        session_id: "s",
        trigger: Trigger::Live,
        automatic: false,
        previous_attempt_id: None,
        claim: Claim::New,
        data: Some("{}"),
        data_masked: None,
        started_at: now,
        lease_until: now + 1000,
        owner: "test",
        taken_by: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_does_not_fail_the_writes_committed_with_it() {
    use handoff_console::ids::HandoffId;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // Handoffs made from inbox messages (trigger `webhook`), whose ids were made before: they
    // go through the group commit, which refuses an id made twice (the journal takes only
    // handoffs whose ids are made as they begin).
    let from_inbox = |id| {
        let mut b = begin(id, now);
        b.trigger = handoff_console::attempts::Trigger::Webhook;
        b
    };
    let taken = HandoffId::new();
    store.begin_attempt(&from_inbox(taken)).await.unwrap();
    // Many writes queued at once (so they share transactions), one of which reuses an id.
    let ids: Vec<HandoffId> = (0..50).map(|_| HandoffId::new()).collect();
    let mut writes: Vec<_> = ids.iter().map(|id| from_inbox(*id)).collect();
    writes.insert(25, from_inbox(taken));
    let outcomes =
        futures_util::future::join_all(writes.iter().map(|w| store.begin_attempt(w))).await;
    assert!(outcomes[25].is_err(), "the duplicate handoff id is refused");
    let ok = outcomes.iter().filter(|o| matches!(o, Ok(Some(1)))).count();
    assert_eq!(ok, 50, "every other write is committed");
    for id in ids {
        assert!(store.handoff(id).await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_handoffs_are_each_recorded() {
    use handoff_console::attempts::{HistoryFilter, Status, Trigger};
    let sink = common::Sink::start().await;
    let t = common::TestApp::new().await;
    t.add(json!({"name": "emr", "kind": "api", "api": {"endpoint": format!("{}/p", sink.url)}, "retry": {"maxAttempts": 1}}))
        .await;
    let sends = (0..64).map(|i| t.app.send("emr", "s", json!({"n": i}), Trigger::Live));
    let results = futures_util::future::join_all(sends).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.success)));
    let filter = HistoryFilter {
        status: Some(Status::Succeeded),
        limit: Some(1000),
        ..Default::default()
    };
    assert_eq!(t.app.history(&filter).await.unwrap().len(), 64);
    assert_eq!(sink.count(), 64);
}

#[tokio::test]
async fn closing_commits_queued_writes_and_checkpoints_the_wal() {
    use handoff_console::ids::HandoffId;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let id = HandoffId::new();
    store
        .begin_attempt(&begin(id, chrono::Utc::now().timestamp_millis()))
        .await
        .unwrap();
    assert!(
        dir.path().join(format!("{STORE_FILE}-wal")).exists(),
        "writes go to the WAL first"
    );
    store.close().await;
    // The last connection closed cleanly: SQLite checkpointed the WAL into the file and removed it.
    assert!(!dir.path().join(format!("{STORE_FILE}-wal")).exists());
    let err = store
        .begin_attempt(&begin(HandoffId::new(), 0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("writer has stopped"), "{err}");
    let reopened = Store::open(dir.path()).await.unwrap();
    assert!(reopened.handoff(id).await.unwrap().is_some());
}

fn finish(
    attempt: handoff_console::ids::AttemptId,
    handoff: handoff_console::ids::HandoffId,
    ok: bool,
) -> handoff_console::attempts::FinishAttempt<'static> {
    use handoff_console::attempts::{FinishAttempt, Status};
    let now = chrono::Utc::now().timestamp_millis();
    FinishAttempt {
        attempt_id: attempt,
        handoff_id: handoff,
        trigger: handoff_console::attempts::Trigger::Live,
        status: if ok {
            Status::Succeeded
        } else {
            Status::Failed
        },
        category: (!ok).then_some(handoff_console::targets::ErrorCategory::Validation),
        status_code: Some(if ok { 201 } else { 409 }),
        message: "m",
        submission_id: ok.then_some("sub-1"),
        request: "{}",
        response_excerpt: None,
        finished_at: now,
        duration_ms: 1,
        next_attempt_at: None,
        handoff_status: if ok {
            Status::Succeeded
        } else {
            Status::Failed
        },
    }
}

/// An attempt whose lease ran out (its process looked dead) was taken over by a second one;
/// the first then delivers after all. Whichever finishes first, the delivery is kept.
#[tokio::test]
async fn a_taken_over_attempt_that_delivers_is_not_forgotten() {
    use handoff_console::attempts::{BeginAttempt, Claim, Status, Trigger};
    use handoff_console::ids::{AttemptId, HandoffId, IntegrationId};
    for first_finisher_is_the_old_attempt in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let handoff = HandoffId::new();
        let past = chrono::Utc::now().timestamp_millis() - 60_000;
        let mut old = begin(handoff, past);
        old.lease_until = past + 1_000; // long expired
        let old_id = old.attempt_id;
        store.begin_attempt(&old).await.unwrap();
        let new_id = AttemptId::new();
        let now = chrono::Utc::now().timestamp_millis();
        let takeover = BeginAttempt {
            attempt_id: new_id,
            handoff_id: handoff,
            integration_id: IntegrationId::new(),
            integration_name: "x",
            session_id: "s",
            trigger: Trigger::Retry,
            automatic: true,
            previous_attempt_id: Some(old_id),
            claim: Claim::Due,
            data: None,
            data_masked: None,
            started_at: now,
            lease_until: now + 10_000,
            owner: "test",
            taken_by: None,
        };
        assert_eq!(
            store.begin_attempt(&takeover).await.unwrap(),
            Some(2),
            "the worker takes it over"
        );
        if first_finisher_is_the_old_attempt {
            store
                .finish_attempt(&finish(old_id, handoff, true))
                .await
                .unwrap();
            store
                .finish_attempt(&finish(new_id, handoff, false))
                .await
                .unwrap();
        } else {
            store
                .finish_attempt(&finish(new_id, handoff, false))
                .await
                .unwrap();
            store
                .finish_attempt(&finish(old_id, handoff, true))
                .await
                .unwrap();
        }
        let h = store.handoff(handoff).await.unwrap().unwrap();
        assert_eq!(
            h.summary.status,
            Status::Succeeded,
            "old finished first: {first_finisher_is_the_old_attempt}"
        );
        assert_eq!(h.summary.submission_id.as_deref(), Some("sub-1"));
    }
}

/// Frames in the store's WAL right now (a checkpoint reports the WAL's size).
fn wal_frames(dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(STORE_FILE)).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_small_while_handoffs_go_on() {
    use handoff_console::ids::HandoffId;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    // Two commits per handoff, one at a time: 3000 commits, each adding several pages (about
    // 29 000 frames in all). Unless checkpoints keep up, the WAL holds every one of them.
    let now = chrono::Utc::now().timestamp_millis();
    for _ in 0..1500 {
        let b = begin(HandoffId::new(), now);
        store.begin_attempt(&b).await.unwrap();
        store
            .finish_attempt(&finish(b.attempt_id, b.handoff_id, true))
            .await
            .unwrap();
    }
    let frames = wal_frames(dir.path());
    assert!(
        frames < 3000,
        "the WAL holds {frames} frames after 3000 commits: it is not being checkpointed"
    );
    store.close().await;
}

/// A database integration named `name` writing to `table`.
fn db_config(name: &str, table: &str) -> handoff_console::integrations::IntegrationConfig {
    serde_json::from_value(json!({
        "name": name, "kind": "database",
        "database": {"type": "sqlite", "database": "/tmp/none.db", "table": table, "fieldMapping": {"a": "a"}}
    }))
    .unwrap()
}

fn table_of(i: &handoff_console::integrations::Integration) -> String {
    i.config.database.as_ref().unwrap().table.clone()
}

/// Integrations looked up are kept in memory (`store::memo`): another console (or the
/// CLI) on the same file changes them, and the next lookup here sees the change, by id and by
/// name, renames and removals included.
#[tokio::test]
async fn an_integration_another_console_changes_is_seen_at_the_next_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let here = App::open(dir.path()).await.unwrap();
    let saved = here.add_integration(db_config("ehr", "one")).await.unwrap();
    let id = saved.id.to_string();
    // Looked up twice each way: the second answer comes from memory.
    for _ in 0..2 {
        assert_eq!(table_of(&here.integration("ehr").await.unwrap()), "one");
        assert_eq!(table_of(&here.integration(&id).await.unwrap()), "one");
        let by_id = here.store().integration(saved.id).await.unwrap().unwrap();
        assert_eq!(table_of(&by_id), "one");
    }

    let there = App::open(dir.path()).await.unwrap();
    there
        .update_integration("ehr", db_config("ehr", "two"))
        .await
        .unwrap();
    assert_eq!(table_of(&here.integration("ehr").await.unwrap()), "two");
    assert_eq!(table_of(&here.integration(&id).await.unwrap()), "two");
    let by_id = here.store().integration(saved.id).await.unwrap().unwrap();
    assert_eq!(table_of(&by_id), "two");

    // A rename: the old name finds nothing, the new one finds it.
    sqlx::query("UPDATE integrations SET name = 'ehr-main' WHERE id = ?1")
        .bind(&id)
        .execute(&sqlite_pool(dir.path()).await)
        .await
        .unwrap();
    let err = here.integration("ehr").await.unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");
    assert_eq!(here.integration("ehr-main").await.unwrap().id, saved.id);

    there.remove_integration(&id).await.unwrap();
    for key in ["ehr-main", id.as_str()] {
        let err = here.integration(key).await.unwrap_err().to_string();
        assert!(err.contains("not found"), "{key}: {err}");
    }
    assert!(here.store().integration(saved.id).await.unwrap().is_none());
    there.close().await;
    here.close().await;
}

/// What decides whether a lookup is answered from memory is the integrations' version alone:
/// a row changed behind the version's back (its trigger dropped) is not seen until the version
/// moves.
#[tokio::test]
async fn a_lookup_at_the_same_integrations_version_is_answered_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).await.unwrap();
    app.add_integration(db_config("ehr", "one")).await.unwrap();
    assert_eq!(table_of(&app.integration("ehr").await.unwrap()), "one");

    let other = sqlite_pool(dir.path()).await;
    sqlx::raw_sql(
        "DROP TRIGGER integrations_version_updated;
         UPDATE integrations SET config = replace(config, '\"one\"', '\"two\"');",
    )
    .execute(&other)
    .await
    .unwrap();
    assert_eq!(
        table_of(&app.integration("ehr").await.unwrap()),
        "one",
        "the same version: answered from memory"
    );
    sqlx::query("UPDATE integrations_version SET version = version + 1")
        .execute(&other)
        .await
        .unwrap();
    assert_eq!(table_of(&app.integration("ehr").await.unwrap()), "two");
    app.close().await;
}

async fn sqlite_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join(STORE_FILE).display()))
        .await
        .unwrap()
}

/// Page-cache misses on `conn` since the last call.
fn cache_misses(conn: &rusqlite::Connection) -> i32 {
    let (mut now, mut high) = (0, 0);
    // SAFETY: the handle is `conn`'s, open for the call; the status call only reads counters.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS,
            &mut now,
            &mut high,
            1,
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    now
}

/// Each connection keeps the pages it read: another connection of the process reading a lot
/// does not take them. (SQLite built with `SQLITE_ENABLE_MEMORY_MANAGEMENT`, as the bundled
/// library is by default, shares one page cache among all connections, and at a million
/// attempts a search on one read connection then ran three times slower after a search on
/// another: `.cargo/config.toml` builds it without.)
#[test]
fn each_connection_keeps_its_own_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let setup = rusqlite::Connection::open(&path).unwrap();
    setup
        .execute_batch(
            "CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 \
             FROM n WHERE i < 3000) INSERT INTO t SELECT randomblob(1000) FROM n;",
        )
        .unwrap();
    drop(setup);
    let open = || {
        let c = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        // 100 pages each: the table has about 1,000.
        c.execute_batch("PRAGMA cache_size = 100").unwrap();
        c
    };
    let (mine, other) = (open(), open());
    let read_first_rows = |c: &rusqlite::Connection| {
        let n: i64 = c
            .query_row(
                "SELECT count(length(x)) FROM t WHERE rowid <= 120",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 120);
    };
    read_first_rows(&mine);
    assert!(cache_misses(&mine) > 0, "the first read loads its pages");
    let n: i64 = other
        .query_row("SELECT count(length(x)) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3000);
    read_first_rows(&mine);
    assert_eq!(
        cache_misses(&mine),
        0,
        "the other connection's reading took this one's cached pages"
    );
}

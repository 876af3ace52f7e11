//! What the local store's journal (`store::journal`) holds of attempts: a new handoff's
//! beginning ([`Begin`], when its id was made as it began) and its attempts' finishes
//! ([`Finish`]; a handoff from the inbox, trigger `webhook`, keeps the group commit for both;
//! `Store::begin_attempt`, `Store::finish_attempt`), as JSON, and how each is written into the store's tables when the journal is
//! moved: by `attempts::writer`'s own statements, the ones the group commit runs.

use super::writer::{self, Begin, Finish};
use crate::store::{Store, StoreError};
use rusqlite::Connection;
use std::collections::HashMap;

const BEGIN: i64 = 1;
const FINISH: i64 = 2;

/// One entry of the journal.
pub(crate) enum Entry {
    /// A new handoff and its first attempt.
    Begin(Begin),
    /// An attempt's outcome and what becomes of its handoff.
    Finish(Finish),
}

impl Entry {
    /// The entry's kind and body, as the journal keeps them.
    pub(crate) fn encode(&self) -> Result<(i64, String), StoreError> {
        let body = match self {
            Entry::Begin(b) => serde_json::to_string(b).map(|s| (BEGIN, s)),
            Entry::Finish(f) => serde_json::to_string(f).map(|s| (FINISH, s)),
        };
        body.map_err(|e| StoreError::Corrupt(format!("a journal entry cannot be written: {e}")))
    }

    /// An entry as the journal keeps it, read back. A body that cannot be read, or an unknown
    /// kind, is a conversion failure: the journal sets the entry aside.
    fn decode(kind: i64, body: &str) -> Result<Self, rusqlite::Error> {
        let unreadable = |e: Box<dyn std::error::Error + Send + Sync>| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e)
        };
        match kind {
            BEGIN => serde_json::from_str(body).map(Entry::Begin),
            FINISH => serde_json::from_str(body).map(Entry::Finish),
            other => return Err(unreadable(format!("unknown kind {other}").into())),
        }
        .map_err(|e| unreadable(e.into()))
    }
}

/// Writes a run of entries into the store's tables (`store::journal::Apply`), in order; a new
/// handoff whose finish is in the same run is inserted finished where it begins
/// (`writer::begin_finished`), which leaves the tables as writing the two in turn would: the
/// entries between them are other handoffs' (a handoff's later attempts are begun through
/// the group commit, after the journal is moved), and the rollups they share only add up.
fn apply(conn: &Connection, entries: &[(i64, &str)]) -> Result<(), rusqlite::Error> {
    let entries: Vec<Entry> = entries
        .iter()
        .map(|&(kind, body)| Entry::decode(kind, body))
        .collect::<Result<_, _>>()?;
    // Each attempt's finish in this run, by attempt id; none where an attempt has two (which
    // no run writes: then each is written as it comes).
    let mut finishes: HashMap<&str, Option<usize>> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Entry::Finish(f) = entry {
            finishes
                .entry(f.attempt_id.as_str())
                .and_modify(|j| *j = None)
                .or_insert(Some(i));
        }
    }
    let mut written_with_its_begin = vec![false; entries.len()];
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            Entry::Begin(b) => {
                let finish = finishes.get(b.attempt_id()).copied().flatten();
                let finish = finish.and_then(|j| match &entries[j] {
                    Entry::Finish(f) if j > i && writer::finishes_new(b, f) => Some((j, f)),
                    _ => None,
                });
                match finish {
                    Some((j, f)) => {
                        writer::begin_finished(conn, b, f)?;
                        written_with_its_begin[j] = true;
                    }
                    None => writer::begin_attempt(conn, b).map(drop)?,
                }
            }
            Entry::Finish(_) if written_with_its_begin[i] => {}
            Entry::Finish(f) => writer::finish(conn, f)?,
        }
    }
    Ok(())
}

/// Puts the journal in front of `store`'s hot-path writes (a local store; nothing otherwise),
/// first moving into the store whatever an earlier run left in it. What a console opens for
/// its work is journaled so (`App::open`); a store opened on its own writes through the group
/// commit only.
pub async fn attach_journal(store: &Store) -> Result<(), StoreError> {
    store.attach_journal(apply).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempts::{BeginAttempt, Claim, FinishAttempt, Status, Trigger};
    use crate::category::ErrorCategory;
    use crate::ids::{AttemptId, HandoffId, IntegrationId};
    use crate::store::journal::JOURNAL_FILE;
    use crate::store::{STORE_FILE, Store};
    use rusqlite::params;
    use std::path::Path;

    fn begin(handoff: HandoffId, attempt: AttemptId) -> Entry {
        let now = crate::store::now_ms();
        Entry::Begin(Begin::of(&BeginAttempt {
            attempt_id: attempt,
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
            lease_until: now + 60_000,
            owner: "test",
            taken_by: None,
        }))
    }

    fn finish(handoff: HandoffId, attempt: AttemptId) -> Entry {
        Entry::Finish(Finish::of(&FinishAttempt {
            attempt_id: attempt,
            handoff_id: handoff,
            trigger: Trigger::Live,
            status: Status::Succeeded,
            category: None,
            status_code: Some(201),
            message: "m",
            submission_id: None,
            request: "{}",
            response_excerpt: None,
            finished_at: crate::store::now_ms(),
            duration_ms: 1,
            next_attempt_at: None,
            handoff_status: Status::Succeeded,
        }))
    }

    /// Every row of every table of the store in `dir` but the migrations' own, sorted, as
    /// text; a rollup's row counting nothing (`n = 0`, a state a handoff passed through) left
    /// out, as every reader of the rollups sums them.
    fn every_row(dir: &Path) -> Vec<(String, Vec<String>)> {
        let conn = Connection::open(dir.join(STORE_FILE)).unwrap();
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut all = Vec::new();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let n = columns.iter().position(|c| c == "n");
            let mut rows: Vec<Vec<String>> = stmt
                .query_map([], |r| {
                    (0..columns.len())
                        .map(|i| {
                            r.get::<_, rusqlite::types::Value>(i)
                                .map(|v| format!("{v:?}"))
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            if let Some(n) = n {
                rows.retain(|row| row[n] != "Integer(0)");
            }
            rows.sort();
            all.extend(rows.into_iter().map(|row| (table.clone(), row)));
        }
        all
    }

    /// Writes `runs` into the store in `dir` through `apply` (no journal: straight through its
    /// group commit), each run as one move would.
    async fn write_runs(dir: &Path, runs: &[Vec<&Entry>]) {
        let store = Store::open(dir).await.unwrap();
        let commits = store.local("test").unwrap().group_commit.clone();
        for run in runs {
            let run: Vec<(i64, String)> = run.iter().map(|e| e.encode().unwrap()).collect();
            commits
                .write(move |conn| {
                    let run: Vec<(i64, &str)> = run.iter().map(|(k, b)| (*k, b.as_str())).collect();
                    apply(conn, &run)
                })
                .await
                .unwrap();
        }
        store.close().await;
    }

    /// A handoff begun and finished in one move is inserted finished, without the updates; the
    /// store's tables (handoffs, attempts, every rollup, the search queue) end as writing each
    /// entry alone would leave them: delivered, failed for good, failed and due again, a test
    /// run, one whose finish comes in a later move, and one still in flight.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handoff_begun_and_finished_in_one_move_is_stored_as_if_written_one_by_one() {
        let started = 1_796_000_000_000;
        let begin = |trigger: Trigger, at: i64| {
            let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
            let entry = Entry::Begin(Begin::of(&BeginAttempt {
                attempt_id: attempt,
                handoff_id: handoff,
                integration_id: IntegrationId::new(),
                integration_name: "clinic",
                session_id: "session",
                trigger,
                automatic: false,
                previous_attempt_id: None,
                claim: Claim::New,
                data: Some("{sealed}"),
                data_masked: Some("{masked}"),
                started_at: at,
                lease_until: at + 60_000,
                owner: "test",
                taken_by: None,
            }));
            (handoff, attempt, entry)
        };
        let finish = |(handoff, attempt): (HandoffId, AttemptId),
                      trigger: Trigger,
                      status: Status,
                      category: Option<ErrorCategory>,
                      next: Option<i64>,
                      handoff_status: Status| {
            Entry::Finish(Finish::of(&FinishAttempt {
                attempt_id: attempt,
                handoff_id: handoff,
                trigger,
                status,
                category,
                status_code: Some(if status == Status::Succeeded {
                    201
                } else {
                    503
                }),
                message: if status == Status::Succeeded {
                    "created"
                } else {
                    "unavailable"
                },
                submission_id: (status == Status::Succeeded).then_some("sub-1"),
                request: "POST /patients {masked}",
                response_excerpt: Some("{}"),
                finished_at: started + 250,
                duration_ms: 250,
                next_attempt_at: next,
                handoff_status,
            }))
        };
        let (live, test) = (Trigger::Live, Trigger::Test);
        let (h1, a1, b1) = begin(live, started);
        let (h2, a2, b2) = begin(live, started + 1);
        let (h3, a3, b3) = begin(test, started + 2);
        let (h4, a4, b4) = begin(live, started + 3);
        let (h5, a5, b5) = begin(live, started + 4);
        let (_, _, b6) = begin(live, started + 5);
        let f1 = finish(
            (h1, a1),
            live,
            Status::Succeeded,
            None,
            None,
            Status::Succeeded,
        );
        let network = Some(ErrorCategory::Network);
        let f2 = finish(
            (h2, a2),
            live,
            Status::Failed,
            network,
            Some(started + 9_000),
            Status::Pending,
        );
        let f3 = finish(
            (h3, a3),
            test,
            Status::Succeeded,
            None,
            None,
            Status::Succeeded,
        );
        let validation = Some(ErrorCategory::Validation);
        let f4 = finish(
            (h4, a4),
            live,
            Status::Failed,
            validation,
            None,
            Status::Failed,
        );
        let f5 = finish(
            (h5, a5),
            live,
            Status::Succeeded,
            None,
            None,
            Status::Succeeded,
        );
        let moves = vec![
            vec![&b1, &b2, &f1, &b3, &b4, &b5, &f3, &f2, &b6, &f4],
            vec![&f5],
        ];
        let one_by_one: Vec<Vec<&Entry>> = moves.concat().into_iter().map(|e| vec![e]).collect();
        let (merged, alone) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_runs(merged.path(), &moves).await;
        write_runs(alone.path(), &one_by_one).await;
        // Written one by one, each finished handoff passed through `pending` and left its
        // rollup's row there at 0; inserted finished, it never did: h1 to h4 were merged, h5
        // (its finish in the next move) was not.
        let passed_through = |dir: &Path| {
            let sql = "SELECT count(*) FROM stats_handoffs_daily WHERE state = 'pending' AND n = 0";
            count(dir, STORE_FILE, sql)
        };
        assert_eq!(passed_through(alone.path()), 5);
        assert_eq!(passed_through(merged.path()), 1, "four inserted finished");
        let (merged, alone) = (every_row(merged.path()), every_row(alone.path()));
        let attempts =
            |rows: &[(String, Vec<String>)]| rows.iter().filter(|(t, _)| t == "attempts").count();
        assert_eq!(attempts(&alone), 6, "every attempt written");
        assert_eq!(merged.len(), alone.len(), "as many rows");
        for (m, a) in merged.iter().zip(&alone) {
            assert_eq!(m, a);
        }
    }

    /// A store in `dir` with its journal attached.
    async fn open(dir: &Path) -> Store {
        let store = Store::open(dir).await.unwrap();
        attach_journal(&store).await.unwrap();
        store
    }

    /// Appends `entry` to `store`'s journal.
    fn append(store: &Store, entry: &Entry) {
        let (kind, body) = entry.encode().unwrap();
        let local = store.local("test").unwrap();
        local.journal().unwrap().append(kind, &body).unwrap();
    }

    /// Writes `entries` into the journal of the closed store in `dir` (numbered as given, or
    /// next), as a run that stopped before its mover took them.
    fn leave_in_journal(dir: &Path, entries: &[(Option<i64>, Entry)]) {
        let conn = Connection::open(dir.join(JOURNAL_FILE)).unwrap();
        for (seq, entry) in entries {
            let (kind, body) = entry.encode().unwrap();
            conn.execute(
                "INSERT INTO entries (seq, kind, body) VALUES (?1, ?2, ?3)",
                params![seq, kind, body],
            )
            .unwrap();
        }
    }

    fn count(dir: &Path, file: &str, sql: &str) -> i64 {
        let conn = Connection::open(dir.join(file)).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn left_in_journal(dir: &Path) -> i64 {
        count(dir, JOURNAL_FILE, "SELECT count(*) FROM entries")
    }

    fn moved_by_store(dir: &Path) -> i64 {
        count(dir, STORE_FILE, "SELECT moved FROM store_journal")
    }

    async fn delivered(store: &Store, handoff: HandoffId) -> bool {
        let h = store.handoff(handoff).await.unwrap();
        h.is_some_and(|h| h.summary.status == Status::Succeeded)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn entries_a_run_left_in_the_journal_are_in_the_store_once_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path()).await.close().await;
        let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
        leave_in_journal(
            dir.path(),
            &[
                (None, begin(handoff, attempt)),
                (None, finish(handoff, attempt)),
            ],
        );
        let store = open(dir.path()).await;
        assert!(
            delivered(&store, handoff).await,
            "moved before the first read"
        );
        store.close().await;
        assert_eq!(left_in_journal(dir.path()), 0);
        assert_eq!(moved_by_store(dir.path()), 2);
    }

    /// A run that moved entries and stopped before deleting them from the journal: the next
    /// open deletes them, and writes nothing twice (a new handoff written twice would be
    /// refused, and set aside).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn entries_the_store_holds_already_are_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path()).await.close().await;
        let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
        let entries = || {
            [
                (Some(1), begin(handoff, attempt)),
                (Some(2), finish(handoff, attempt)),
            ]
        };
        leave_in_journal(dir.path(), &entries());
        open(dir.path()).await.close().await;
        assert_eq!(moved_by_store(dir.path()), 2);
        leave_in_journal(dir.path(), &entries());
        let store = open(dir.path()).await;
        assert!(delivered(&store, handoff).await);
        store.close().await;
        assert_eq!(left_in_journal(dir.path()), 0);
        let refused = "SELECT count(*) FROM store_journal_refused";
        assert_eq!(
            count(dir.path(), STORE_FILE, refused),
            0,
            "nothing written twice"
        );
        let attempts = "SELECT count(*) FROM attempts";
        assert_eq!(count(dir.path(), STORE_FILE, attempts), 1);
    }

    /// The journal's file deleted between runs: the new one numbers on from what the store
    /// holds, so what is appended to it is not taken for moved already.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_journal_made_anew_numbers_on_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        for _ in 0..3 {
            let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
            append(&store, &begin(handoff, attempt));
            append(&store, &finish(handoff, attempt));
        }
        store.close().await;
        assert_eq!(moved_by_store(dir.path()), 6);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("{JOURNAL_FILE}{suffix}")));
        }
        let store = open(dir.path()).await;
        let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
        append(&store, &begin(handoff, attempt));
        append(&store, &finish(handoff, attempt));
        assert!(delivered(&store, handoff).await);
        store.close().await;
        assert_eq!(moved_by_store(dir.path()), 8);
    }

    /// An entry the store refuses (here a handoff id begun twice) is set aside with the
    /// store's reason; the entries after it are moved.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_the_store_refuses_is_set_aside_and_the_rest_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let (twice, first, second) = (HandoffId::new(), AttemptId::new(), AttemptId::new());
        let (after, after_attempt) = (HandoffId::new(), AttemptId::new());
        for entry in [
            begin(twice, first),
            begin(twice, second),
            begin(after, after_attempt),
            finish(after, after_attempt),
        ] {
            append(&store, &entry);
        }
        assert!(
            delivered(&store, after).await,
            "the entries after it are moved"
        );
        assert!(
            store.check_file().is_ok(),
            "the mover goes on: {:?}",
            store.check_file()
        );
        store.close().await;
        let conn = Connection::open(dir.path().join(STORE_FILE)).unwrap();
        let (seq, reason): (i64, String) = conn
            .query_row("SELECT seq, reason FROM store_journal_refused", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(seq, 2);
        assert!(reason.contains("UNIQUE"), "{reason}");
    }

    /// While the store cannot take the journal's entries (another process holds its write
    /// lock), a new handoff is refused once the bound of entries waits, saying why; a finish of
    /// one begun is still taken, so no delivery goes unrecorded; once the store takes them, new
    /// handoffs are taken again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_handoffs_are_refused_while_too_many_entries_wait_to_be_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let journal = store.local("test").unwrap().journal().unwrap().clone();
        journal.set_ahead_cap(4);
        let append_new = |entry: Entry| {
            let (kind, body) = entry.encode().unwrap();
            journal.append_new(kind, &body)
        };
        let holder = Connection::open(dir.path().join(STORE_FILE)).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let begun: Vec<_> = (0..4)
            .map(|_| (HandoffId::new(), AttemptId::new()))
            .collect();
        for &(handoff, attempt) in &begun {
            append_new(begin(handoff, attempt)).unwrap();
        }
        let refused = append_new(begin(HandoffId::new(), AttemptId::new())).unwrap_err();
        assert!(
            matches!(&refused, StoreError::Unavailable(why)
                if why.contains("holds 4 entries not yet moved into the store")),
            "{refused:?}"
        );
        let (handoff, attempt) = begun[0];
        append(&store, &finish(handoff, attempt));
        holder.execute_batch("COMMIT").unwrap();
        store.settle().await.unwrap();
        assert!(delivered(&store, handoff).await, "its finish was taken");
        let (after, after_attempt) = (HandoffId::new(), AttemptId::new());
        append_new(begin(after, after_attempt)).unwrap();
        append(&store, &finish(after, after_attempt));
        assert!(delivered(&store, after).await);
        store.close().await;
    }

    /// Whatever reads the store after a write returned sees it: each read waits for the
    /// journal's entries before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_after_a_recorded_handoff_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        for _ in 0..50 {
            let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
            append(&store, &begin(handoff, attempt));
            append(&store, &finish(handoff, attempt));
            assert!(delivered(&store, handoff).await);
        }
        store.close().await;
    }

    /// Another store open on the same files (another process, as the CLI beside the desktop
    /// app) reads what this one recorded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_store_on_the_same_file_reads_what_this_one_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let other = open(dir.path()).await;
        for _ in 0..20 {
            let (handoff, attempt) = (HandoffId::new(), AttemptId::new());
            append(&store, &begin(handoff, attempt));
            append(&store, &finish(handoff, attempt));
            assert!(delivered(&other, handoff).await);
        }
        other.close().await;
        store.close().await;
        assert_eq!(left_in_journal(dir.path()), 0);
        // Each entry went in once, whichever store's mover took it.
        let refused = "SELECT count(*) FROM store_journal_refused";
        assert_eq!(count(dir.path(), STORE_FILE, refused), 0);
        let attempts = "SELECT count(*) FROM attempts WHERE status = 'succeeded'";
        assert_eq!(count(dir.path(), STORE_FILE, attempts), 20);
    }
}

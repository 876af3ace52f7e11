//! What the local store's journal (`store::journal`) holds of attempts: a new handoff's
//! beginning ([`Begin`], when its id was made as it began) and its attempts' finishes
//! ([`Finish`]; a handoff from the inbox, trigger `webhook`, keeps the group commit for both;
//! `Store::begin_attempt`, `Store::finish_attempt`), as JSON, and how each is written into the store's tables when the journal is
//! moved: by `attempts::writer`'s own statements, the ones the group commit runs.

use super::writer::{self, Begin, Finish};
use crate::store::{Store, StoreError};
use rusqlite::Connection;

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
}

/// Writes one entry into the store's tables (`store::journal::Apply`). A body that cannot be
/// read, or an unknown kind, is a conversion failure: the journal sets the entry aside.
fn apply(conn: &Connection, kind: i64, body: &str) -> Result<(), rusqlite::Error> {
    let unreadable = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e)
    };
    match kind {
        BEGIN => {
            let begin: Begin = serde_json::from_str(body).map_err(|e| unreadable(e.into()))?;
            writer::begin_attempt(conn, &begin).map(drop)
        }
        FINISH => {
            let finish: Finish = serde_json::from_str(body).map_err(|e| unreadable(e.into()))?;
            writer::finish(conn, &finish)
        }
        other => Err(unreadable(format!("unknown kind {other}").into())),
    }
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

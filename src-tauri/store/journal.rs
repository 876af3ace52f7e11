//! The local store's journal: hot-path writes committed small and moved into the store's tables
//! in the background.
//!
//! Each entry (a kind and a body; `attempts::journal` writes a new handoff's beginning and its
//! attempts' finishes, but those of handoffs from the inbox) is committed as one row of a table with no index and no trigger, in a file
//! of its own beside the store ([`JOURNAL_FILE`]): one WAL frame or two, where the same write
//! in the store's tables (the handoff's and attempt's indexes, the statistics rollups, the
//! search queue) is 20 to 30 pages. A thread (`store-journal`) moves what was appended into the
//! store's tables through the group commit, hundreds of entries to a transaction, so that work
//! is shared by many handoffs and no handoff waits for it. As with the group commit, the store
//! knows no entry's SQL: whoever attaches the journal ([`Journal::open`]) gives the function
//! that writes an entry ([`Apply`]). BENCHMARKS.md measured the model this follows ("A journal
//! in front of the store: a model") and then this ("The journal in front of the store").
//!
//! **Order.** Every other read and write of the store first waits until each entry committed
//! before it started is in the store's tables ([`Journal::settle`]; the store's read pool does
//! it before handing out a connection, its write paths before they write). So whatever a
//! caller reads or writes after `send` returned sees that handoff, as it did without the
//! journal. Otherwise the mover lets appends gather for up to [`GATHER`] before it moves them,
//! so that one move's commit serves many. Another process on the same store sees an entry once
//! it is moved (within about that: the other process's own reads settle on its own appends
//! only after its mover ran).
//!
//! **Crash safety.** The store keeps how far it has moved the journal (`store_journal.moved`),
//! written in each move's own transaction, and the journal's numbers only grow
//! (`AUTOINCREMENT`). At open, entries up to that number are deleted and the rest moved before
//! the store is used; a move that committed but was not yet deleted from the journal is
//! skipped, not written twice. Two processes moving the same journal read the number under the
//! store's write lock, so each entry goes in once.

use super::{BUSY_TIMEOUT, GroupCommit, StoreError, StoreFile};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// The journal's file, beside the store's (`STORE_FILE`).
pub const JOURNAL_FILE: &str = "handoff-journal.db";

/// The most entries one move takes into the store (one transaction).
const MOVE_BATCH: usize = 512;
/// How long a read or write waits for the entries before it to be moved.
const SETTLE_WAIT: Duration = BUSY_TIMEOUT;
/// How often an idle mover looks for entries another process appended.
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// How soon a failed move is tried again (a lock let go, space freed: at once, nearly).
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// How many entries may wait in the journal, appended by this process and not yet moved,
/// before it takes no new work ([`Journal::append_new`]): the journal has no other bound while
/// the store cannot take its entries (another process holding the store's write lock for
/// long, a full disk on the store's side), and a handoff refused at its start loses nothing.
/// Entries run up to 2 kB or so (a finish records its request): a few hundred MB at most.
const AHEAD_CAP: i64 = 100_000;
/// How long the mover lets appends gather once one woke it, unless a read or write is waiting
/// for them ([`Journal::settle`]): a move's commit writes the store's pages that every entry
/// touches (the rollups, the indexes' last pages) once however many entries it holds, so a
/// move of a few handoffs costs nearly as much as a move of dozens (BENCHMARKS.md, "Appends
/// gathered for the mover").
const GATHER: Duration = Duration::from_millis(10);

/// Writes a run of entries (each its kind and body, as appended, in the journal's order) into
/// the store's tables, on the store's write connection inside the move's transaction. The
/// tables must end as if each entry were written alone, one after the other; a later entry's
/// change to an earlier one's rows may be written with them (a handoff begun and finished in
/// one move is inserted finished). An entry it cannot read is an
/// `rusqlite::Error::FromSqlConversionFailure`, set aside as the store's refusals are (then
/// each entry is given alone).
pub(crate) type Apply = fn(&Connection, &[(i64, &str)]) -> Result<(), rusqlite::Error>;

/// The journal of one open store (cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct Journal(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// The connection appends commit on (one at a time), and the mover's deletes: they wait
    /// for each other on this lock, not in SQLite's busy handler, which sleeps a millisecond
    /// and more when it finds the journal's write lock taken.
    append: Arc<Mutex<Connection>>,
    /// A connection of its own for the last number appended (what a settle waits for).
    peek: Mutex<Connection>,
    /// The journal's file as opened.
    file: StoreFile,
    /// The store's file as opened: an entry for a store deleted or replaced is refused, as a
    /// write to it would be.
    store: StoreFile,
    /// How far the store holds the journal, as the mover last saw it.
    moved: watch::Receiver<i64>,
    /// The mover's last failure, until a move succeeds again.
    failure: Arc<Mutex<Option<String>>>,
    wake: SyncSender<Wake>,
    /// Set by a settle: the mover moves at once, without letting appends gather.
    urgent: Arc<AtomicBool>,
    /// The number of the last entry this process appended.
    appended: AtomicI64,
    /// [`AHEAD_CAP`], or a test's.
    ahead_cap: AtomicI64,
    /// Answered once the mover made its last move and stopped.
    stopped: Mutex<Option<oneshot::Receiver<()>>>,
}

enum Wake {
    Move,
    Stop,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The journal's path for the store at `store`.
pub(crate) fn path_beside(store: &Path) -> PathBuf {
    store.with_file_name(JOURNAL_FILE)
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // As the store: WAL, and NORMAL (an application crash loses no commit). What is deleted
    // (moved entries: collected data, sealed, and masked records) is zeroed in the file.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
    )?;
    Ok(conn)
}

impl Journal {
    /// Opens (making it if needed) the journal beside the store at `store` (migrated, written
    /// through `commits`), moves whatever an earlier run left in it into the store with
    /// `apply`, and starts the mover's thread.
    pub(crate) async fn open(
        store: &StoreFile,
        commits: GroupCommit,
        apply: Apply,
    ) -> Result<Self, StoreError> {
        let path = path_beside(&store.path);
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        super::prepare_files(&path).map_err(|e| open_err(&e))?;
        let append = open_connection(&path).map_err(|e| open_err(&e))?;
        append
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS entries (
                     seq  INTEGER PRIMARY KEY AUTOINCREMENT,
                     kind INTEGER NOT NULL,
                     body TEXT NOT NULL
                 )",
            )
            .map_err(|e| open_err(&e))?;
        let file = StoreFile::of(&path).map_err(|e| open_err(&e))?;
        let moved_by_store = commits.write(read_moved).await?;
        // A journal made anew (deleted, or never there) numbers on from what the store holds,
        // so that nothing appended now is taken for moved.
        append
            .execute_batch("BEGIN IMMEDIATE")
            .and_then(|()| {
                append.execute(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT 'entries', ?1
                     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'entries')",
                    [moved_by_store],
                )?;
                append.execute(
                    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'entries' AND seq < ?1",
                    [moved_by_store],
                )?;
                append.execute_batch("COMMIT")
            })
            .map_err(|e| {
                let _ = append.execute_batch("ROLLBACK");
                open_err(&e)
            })?;
        let mover_conn = open_connection(&path).map_err(|e| open_err(&e))?;
        let peek = open_connection(&path).map_err(|e| open_err(&e))?;
        let (moved_tx, moved) = watch::channel(moved_by_store);
        let append = Arc::new(Mutex::new(append));
        let urgent = Arc::new(AtomicBool::new(false));
        let mover = Mover {
            conn: mover_conn,
            append: Arc::clone(&append),
            commits,
            moved: moved_tx,
            apply,
            urgent: Arc::clone(&urgent),
        };
        // What an earlier run left: in the store before anything reads it (blocking work, on
        // a thread the runtime keeps for it).
        let mover = tokio::task::spawn_blocking(move || {
            while mover.round()? == MOVE_BATCH {}
            Ok::<_, StoreError>(mover)
        })
        .await
        .map_err(|e| open_err(&format!("its first move stopped: {e}")))??;
        let moved_at_open = *mover.moved.borrow();
        let failure = Arc::new(Mutex::new(None));
        let (wake, woken) = sync_channel(1);
        let (stopped_tx, stopped) = oneshot::channel();
        let thread_failure = Arc::clone(&failure);
        std::thread::Builder::new()
            .name("store-journal".into())
            .spawn(move || {
                mover.run(&woken, &thread_failure);
                let _ = stopped_tx.send(());
            })
            .map_err(|e| open_err(&format!("cannot start its mover's thread: {e}")))?;
        Ok(Self(Arc::new(Shared {
            append,
            peek: Mutex::new(peek),
            file,
            store: store.clone(),
            moved,
            failure,
            wake,
            urgent,
            appended: AtomicI64::new(moved_at_open),
            ahead_cap: AtomicI64::new(AHEAD_CAP),
            stopped: Mutex::new(Some(stopped)),
        })))
    }

    /// [`Journal::append`] for an entry that starts new work (a handoff's beginning): refused
    /// while [`AHEAD_CAP`] entries this process appended wait to be moved, with what keeps
    /// the mover from them. What finishes work already begun is always taken (`append`), so
    /// that no delivery goes unrecorded.
    pub(crate) fn append_new(&self, kind: i64, body: &str) -> Result<(), StoreError> {
        let ahead = self.0.appended.load(Ordering::Acquire) - *self.0.moved.borrow();
        if ahead >= self.0.ahead_cap.load(Ordering::Relaxed) {
            let why = lock(&self.0.failure)
                .clone()
                .unwrap_or_else(|| "it is moving them".into());
            return Err(StoreError::Unavailable(format!(
                "the store's journal holds {ahead} entries not yet moved into the store ({why}); \
                 no new handoff is taken until they are — try again shortly"
            )));
        }
        self.append(kind, body)
    }

    /// Commits `entry` to the journal: durable when this returns (as a commit to the store
    /// is), in the store's tables soon after. It does not wait for the store: while the store
    /// cannot take entries (another process holding its write lock, say), they wait here, up
    /// to a bound for new work ([`Journal::append_new`]).
    pub(crate) fn append(&self, kind: i64, body: &str) -> Result<(), StoreError> {
        {
            let conn = lock(&self.0.append);
            self.0.store.check()?;
            self.0.file.check()?;
            let append = || -> Result<(), rusqlite::Error> {
                conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
                conn.prepare_cached("INSERT INTO entries (kind, body) VALUES (?1, ?2)")?
                    .execute(params![kind, body])?;
                conn.prepare_cached("COMMIT")?.execute([])?;
                Ok(())
            };
            if let Err(e) = append() {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                return Err(e.into());
            }
            self.0
                .appended
                .store(conn.last_insert_rowid(), Ordering::Release);
            // A commit into a deleted or replaced journal is lost all the same.
            self.0.file.check()?;
            self.0.store.check()?;
        }
        // A wake already pending is enough.
        let _ = self.0.wake.try_send(Wake::Move);
        Ok(())
    }

    /// Sets how many entries may wait before new work is refused (a test's small bound).
    #[cfg(test)]
    pub(crate) fn set_ahead_cap(&self, cap: i64) {
        self.0.ahead_cap.store(cap, Ordering::Relaxed);
    }

    /// The number of the last entry committed to the journal, by any process.
    fn last_appended(&self) -> Result<i64, StoreError> {
        let conn = lock(&self.0.peek);
        let last: Option<i64> = conn
            .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'entries'")?
            .query_row([], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(last.unwrap_or(0))
    }

    /// Waits until every entry committed to the journal before this call is in the store's
    /// tables (see the module's doc). At once when the mover is failing: its error.
    pub(crate) async fn settle(&self) -> Result<(), StoreError> {
        let target = self.last_appended()?;
        let mut moved = self.0.moved.clone();
        if *moved.borrow_and_update() >= target {
            return Ok(());
        }
        if let Some(failure) = lock(&self.0.failure).clone() {
            return Err(StoreError::Unavailable(failure));
        }
        self.0.urgent.store(true, Ordering::Release);
        let _ = self.0.wake.try_send(Wake::Move);
        match tokio::time::timeout(SETTLE_WAIT, moved.wait_for(|m| *m >= target)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(StoreError::WriterStopped),
            Err(_) => Err(StoreError::Unavailable(
                lock(&self.0.failure).clone().unwrap_or_else(|| {
                    format!(
                        "the store's journal was not moved into it within {} s (another \
                         process may hold the store's write lock) — try again",
                        SETTLE_WAIT.as_secs()
                    )
                }),
            )),
        }
    }

    /// [`Journal::settle`] before a read: a read that cannot wait (the mover failing, or slow)
    /// goes on with what is moved, and the failure is logged; the writes and the health check
    /// report it.
    pub(crate) async fn settle_for_read(&self) {
        if let Err(e) = self.settle().await {
            tracing::warn!("a read did not wait for the store's journal: {e}");
        }
    }

    /// Whether the journal's file is still the one opened, and its mover working.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        self.0.file.check()?;
        match lock(&self.0.failure).clone() {
            Some(failure) => Err(StoreError::Unavailable(failure)),
            None => Ok(()),
        }
    }

    /// Writes the journal's WAL back into its file and empties it, so that what was deleted
    /// from it lingers in no page image (see `Store::checkpoint_truncate`). Best effort.
    pub(crate) fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        let conn = lock(&self.0.append);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Moves what is left and stops the mover (before the group commit closes).
    pub(crate) async fn close(&self) {
        let _ = self.0.wake.send(Wake::Stop);
        let stopped = lock(&self.0.stopped).take();
        if let Some(stopped) = stopped {
            let _ = stopped.await;
        }
    }
}

/// The mover's side: its own journal connection, the store's group commit, and where it
/// publishes how far the store holds the journal.
struct Mover {
    /// Reads the journal (a read never waits for the appends).
    conn: Connection,
    /// The appends' connection, for deleting what was moved.
    append: Arc<Mutex<Connection>>,
    commits: GroupCommit,
    moved: watch::Sender<i64>,
    apply: Apply,
    /// See [`Shared::urgent`].
    urgent: Arc<AtomicBool>,
}

/// An entry read from the journal for a move.
struct Read {
    seq: i64,
    kind: i64,
    body: String,
}

/// Entries read from the journal for one move.
type Batch = Vec<Read>;

/// How a move treats an entry the store refuses (a constraint: a handoff id made twice, which
/// the journal never takes knowingly) or that cannot be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusals {
    /// The whole move fails (no savepoint per entry: what a move costs, nearly always).
    FailTheMove,
    /// Each entry under a savepoint; one refused is set aside in `store_journal_refused` with
    /// the store's reason, and the move goes on.
    SetAside,
}

/// An entry the store refuses (a constraint) or that cannot be read: set aside, not retried.
fn is_refusal(e: &rusqlite::Error) -> bool {
    super::group_commit::is_constraint(e)
        || matches!(e, rusqlite::Error::FromSqlConversionFailure(..))
}

/// How far the store holds the journal.
fn read_moved(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.prepare_cached("SELECT moved FROM store_journal WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Writes `batch` into the store's tables, skipping what the store holds already, and records
/// how far it holds the journal now; returns that number. Run under the store's write lock.
fn move_into(
    conn: &Connection,
    apply: Apply,
    batch: &Batch,
    refusals: Refusals,
) -> Result<i64, rusqlite::Error> {
    let held = read_moved(conn)?;
    let fresh = batch.iter().filter(|read| read.seq > held);
    // The batch is in the journal's order.
    let Some(moved) = batch
        .last()
        .map(|read| read.seq)
        .filter(|&last| last > held)
    else {
        return Ok(held);
    };
    match refusals {
        Refusals::FailTheMove => {
            let entries: Vec<(i64, &str)> = fresh.map(|r| (r.kind, r.body.as_str())).collect();
            apply(conn, &entries)?;
        }
        Refusals::SetAside => {
            for read in fresh {
                conn.execute_batch("SAVEPOINT entry")?;
                match apply(conn, &[(read.kind, &read.body)]) {
                    Ok(()) => {}
                    Err(e) if is_refusal(&e) => {
                        conn.execute_batch("ROLLBACK TO entry")?;
                        tracing::error!(
                            "the store refused journal entry {} ({e}): it is set aside in \
                             store_journal_refused",
                            read.seq
                        );
                        conn.prepare_cached(
                            "INSERT INTO store_journal_refused (seq, kind, body, reason, at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![
                            read.seq,
                            read.kind,
                            read.body,
                            e.to_string(),
                            super::now_ms()
                        ])?;
                    }
                    Err(e) => return Err(e),
                }
                conn.execute_batch("RELEASE entry")?;
            }
        }
    }
    conn.prepare_cached("UPDATE store_journal SET moved = ?1 WHERE id = 1")?
        .execute([moved])?;
    Ok(moved)
}

impl Mover {
    /// Up to [`MOVE_BATCH`] entries after what the store held when last seen.
    fn read_batch(&self) -> Result<Batch, StoreError> {
        let after = *self.moved.borrow();
        let mut rows = self.conn.prepare_cached(
            "SELECT seq, kind, body FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut q = rows.query(params![after, MOVE_BATCH as i64])?;
        let mut batch = Vec::new();
        while let Some(r) = q.next()? {
            batch.push(Read {
                seq: r.get(0)?,
                kind: r.get(1)?,
                body: r.get(2)?,
            });
        }
        Ok(batch)
    }

    /// Publishes how far the store holds the journal, and deletes what it holds from the
    /// journal.
    fn moved_to(&self, moved: i64) -> Result<(), StoreError> {
        self.moved.send_if_modified(|m| {
            let newer = moved > *m;
            if newer {
                *m = moved;
            }
            newer
        });
        lock(&self.append)
            .prepare_cached("DELETE FROM entries WHERE seq <= ?1")?
            .execute([moved])?;
        // The journal's WAL copied into its file here, beside the appends, so that the
        // automatic checkpoint an append's commit may run finds it done (as the store's
        // checkpointer does for the group commit; `group_commit`).
        super::group_commit::checkpoint_passive(&self.conn);
        Ok(())
    }

    /// One move, from the thread; returns how many entries it read. A move the store refuses
    /// on a constraint is made again entry by entry, setting aside what it refuses.
    fn round(&self) -> Result<usize, StoreError> {
        // A settle from now on waits for entries this round may not read: it asks again.
        self.urgent.store(false, Ordering::Release);
        let batch = Arc::new(self.read_batch()?);
        let read = batch.len();
        let (first, apply) = (Arc::clone(&batch), self.apply);
        let moved = match self
            .commits
            .write_blocking(move |conn| move_into(conn, apply, &first, Refusals::FailTheMove))
        {
            Err(StoreError::Write(e)) if is_refusal(&e) => self
                .commits
                .write_blocking(move |conn| move_into(conn, apply, &batch, Refusals::SetAside))?,
            other => other?,
        };
        self.moved_to(moved)?;
        Ok(read)
    }

    /// After an append woke the mover: lets more appends come for up to [`GATHER`], until a
    /// settle asks for them. Whether to stop after the move.
    fn gather(&self, woken: &Receiver<Wake>) -> bool {
        let until = Instant::now() + GATHER;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if self.urgent.load(Ordering::Acquire) || left.is_zero() {
                return false;
            }
            match woken.recv_timeout(left) {
                Ok(Wake::Move) => {}
                Err(RecvTimeoutError::Timeout) => return false,
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
            }
        }
    }

    /// Moves whenever woken (an append, after letting more gather; a settle, at once), and
    /// every [`IDLE_LOOK`] (another process's appends); after a failure, again every
    /// [`RETRY_AFTER`]. A last move once stopped, or once every handle to the journal is gone.
    fn run(&self, woken: &Receiver<Wake>, failure: &Mutex<Option<String>>) {
        let mut wait = IDLE_LOOK;
        loop {
            let stop = match woken.recv_timeout(wait) {
                Ok(Wake::Move) => self.gather(woken),
                Err(RecvTimeoutError::Timeout) => false,
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => true,
            };
            let outcome = loop {
                match self.round() {
                    Ok(n) if n == MOVE_BATCH => {}
                    Ok(_) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            wait = if outcome.is_ok() {
                IDLE_LOOK
            } else {
                RETRY_AFTER
            };
            match outcome {
                Ok(()) => {
                    if lock(failure).take().is_some() {
                        tracing::info!("the store's journal is moved into the store again");
                    }
                }
                Err(e) => {
                    let text = format!(
                        "the store's journal cannot be moved into the store ({e}); its entries \
                         are kept in {JOURNAL_FILE} and moved once the store takes them"
                    );
                    let mut failure = lock(failure);
                    // Once per failure, not at every try.
                    if failure.as_deref() != Some(text.as_str()) {
                        tracing::error!("{text}");
                    }
                    *failure = Some(text);
                }
            }
            if stop {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Records each entry written, in a table of the writer's connection.
    fn record(conn: &Connection, entries: &[(i64, &str)]) -> Result<(), rusqlite::Error> {
        for (kind, body) in entries {
            conn.execute(
                "INSERT INTO temp.applied (kind, body) VALUES (?1, ?2)",
                params![kind, body],
            )?;
        }
        Ok(())
    }

    fn batch(seqs: &[i64]) -> Batch {
        seqs.iter()
            .map(|&seq| Read {
                seq,
                kind: 1,
                body: format!("entry {seq}"),
            })
            .collect()
    }

    /// A move whose entries the store holds already (another process moved them after this
    /// one read them) writes only the ones after, and the store's number moves on with them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_move_skips_what_the_store_holds_already() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let commits = store.local("test").unwrap().group_commit.clone();
        let mv = |seqs: &[i64]| {
            let batch = batch(seqs);
            commits.write(move |conn| {
                conn.execute_batch(
                    "CREATE TEMP TABLE IF NOT EXISTS applied (kind INTEGER, body TEXT)",
                )?;
                let moved = move_into(conn, record, &batch, Refusals::FailTheMove)?;
                let applied: Vec<String> = conn
                    .prepare("SELECT body FROM temp.applied ORDER BY rowid")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok((moved, applied))
            })
        };
        let (moved, applied) = mv(&[1, 2]).await.unwrap();
        assert_eq!(
            (moved, applied),
            (2, vec!["entry 1".into(), "entry 2".into()])
        );
        let (moved, applied) = mv(&[1, 2, 3]).await.unwrap();
        assert_eq!(moved, 3);
        assert_eq!(
            applied,
            ["entry 1", "entry 2", "entry 3"],
            "1 and 2 not again"
        );
        let (moved, applied) = mv(&[2]).await.unwrap();
        assert_eq!(
            (moved, applied.len()),
            (3, 3),
            "nothing written, nothing moved back"
        );
        store.close().await;
    }
}

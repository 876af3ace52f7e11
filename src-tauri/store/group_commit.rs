//! Group commit for the hot path: callers queue a write and wait; one thread commits everything
//! queued in one transaction and only then answers each caller, so a caller still returns after
//! its rows are durable, while concurrent writes share one commit. Each write runs under its own
//! savepoint, so one bad write fails alone and its neighbours still commit (a write alone in its
//! batch needs none: the whole transaction is its own).
//!
//! A write that finds nothing queued, the connection free and SQLite's write lock free commits
//! itself, in the caller's thread (the *inline* path): at low load a write then costs what
//! SQLite costs, not two thread wake-ups besides (the writer's, then the caller's), which on a
//! machine whose idle cores halt were a third of a handoff's time. It never waits there: the
//! connection is only tried, and the write lock is asked for with no busy timeout, so a caller's
//! thread never blocks on another connection's transaction (one that may itself be waiting for
//! the runtime); anything busy sends the write to the queue, whose thread may wait.
//!
//! The store knows no write's SQL: a write is a function of the connection (the attempts'
//! writes are in `attempts::writer`).
//!
//! The writer is a plain thread, not a runtime task: SQLite blocks (on the disk, and on another
//! process's write lock for up to the busy timeout), and the runtime's threads must not.
//!
//! Checkpoints: a thread of their own (`store-checkpointer`, on a connection of its own) copies
//! committed WAL frames into the database file every [`CHECKPOINT_EVERY`] commits, beside the
//! writes (a passive checkpoint never blocks a writer). Copying is most of a checkpoint's cost
//! (4–8 ms for a thousand frames on this project's machines, where `fsync` takes 0.2), and it
//! was paid inside a commit, stalling every write queued behind it. SQLite's own automatic
//! checkpoint stays on in the committing thread: it finds most frames copied already, copies
//! the rest, and so completes, and the WAL restarts from its beginning. (A checkpointer alone
//! never caught up under steady writes, and the WAL grew: it never finds the WAL fully copied
//! at a moment no write follows.)

use super::{BUSY_TIMEOUT, StoreError, StoreFile};
use rusqlite::{Connection, ErrorCode};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError, mpsc as sync_mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this make callers wait to queue (back-pressure).
const QUEUE: usize = 4096;
/// Commits between two background checkpoints: about 200 WAL frames of handoffs, so the
/// committing thread's automatic checkpoint (at 1,000) is left a few hundred at most.
const CHECKPOINT_EVERY: u32 = 8;

/// One queued write: run under the batch's savepoint, then told how the batch ended.
trait Job: Send {
    fn apply(&mut self, conn: &Connection) -> Result<(), rusqlite::Error>;
    fn answer(self: Box<Self>, outcome: Result<(), StoreError>);
}

/// A write returning `R` to its caller once committed.
struct Typed<F, R> {
    run: Option<F>,
    value: Option<R>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

/// What a caller waits on for its write's outcome.
type Answer<R> = oneshot::Receiver<Result<R, StoreError>>;

impl<F, R> Typed<F, R>
where
    F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send + 'static,
    R: Send + 'static,
{
    /// `write` as a queued job, and where its outcome comes.
    fn job(write: F) -> (Box<dyn Job>, Answer<R>) {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed {
            run: Some(write),
            value: None,
            reply,
        });
        (job, answer)
    }
}

impl<F, R> Job for Typed<F, R>
where
    F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send,
    R: Send,
{
    fn apply(&mut self, conn: &Connection) -> Result<(), rusqlite::Error> {
        if let Some(run) = self.run.take() {
            self.value = Some(run(conn)?);
        }
        Ok(())
    }

    fn answer(self: Box<Self>, outcome: Result<(), StoreError>) {
        let Self { value, reply, .. } = *self;
        let _ = reply.send(outcome.and_then(|()| value.ok_or(StoreError::WriterStopped)));
    }
}

enum Message {
    Job(Box<dyn Job>),
    /// Commit what came before, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// The writer's connection, shared by its thread and the inline path; `None` once closed.
type Shared = Arc<Mutex<Option<Connection>>>;

/// Set while the writer's thread holds writes it took from the queue and waits for the
/// connection: the inline path then queues too, so that it cannot keep taking the connection
/// from under those writes (a lock that is only tried would otherwise barge ahead of them).
type Waiting = Arc<AtomicBool>;

#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Message>,
    conn: Shared,
    writer_waiting: Waiting,
    file: StoreFile,
    checkpoints: Option<Arc<Checkpointer>>,
}

/// The background checkpoint's thread, woken every [`CHECKPOINT_EVERY`] commits.
#[derive(Debug)]
struct Checkpointer {
    wake: sync_mpsc::SyncSender<Wake>,
    commits: AtomicU32,
}

enum Wake {
    Checkpoint,
    Stop,
}

impl Checkpointer {
    /// Starts the thread on a connection of its own to `path`; `None` when either cannot be had
    /// (a file opened read-only, say): the committing thread's automatic checkpoint then does
    /// all the copying, as it always could.
    fn start(path: &std::path::Path) -> Option<(Arc<Self>, JoinHandle<()>)> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        // A passive checkpoint waits for nothing; neither does anything else it runs.
        conn.busy_timeout(Duration::ZERO).ok()?;
        let (wake, woken) = sync_mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("store-checkpointer".into())
            .spawn(move || {
                while let Ok(Wake::Checkpoint) = woken.recv() {
                    // Busy (another checkpoint running) or failed: the next wake tries again,
                    // and the committing thread's own checkpoint is still there.
                    checkpoint_passive(&conn);
                }
                let _ = conn.close();
            })
            .ok()?;
        Some((
            Arc::new(Self {
                wake,
                commits: AtomicU32::new(0),
            }),
            thread,
        ))
    }

    /// Counts a commit, waking the thread every [`CHECKPOINT_EVERY`] (never waiting for it).
    fn committed(&self) {
        if self.commits.fetch_add(1, Ordering::Relaxed) + 1 >= CHECKPOINT_EVERY {
            self.commits.store(0, Ordering::Relaxed);
            let _ = self.wake.try_send(Wake::Checkpoint);
        }
    }
}

/// A passive checkpoint through SQLite's C API, not `PRAGMA wal_checkpoint`, which first loads
/// the store's whole schema into the connection (about 340 KB that the checkpointer never
/// uses; BENCHMARKS.md, "Desktop window").
pub(super) fn checkpoint_passive(conn: &Connection) {
    let checkpoint = || {
        let (mut frames, mut copied) = (-1, -1);
        // SAFETY: the connection is open and used by this thread alone; a null name means
        // every database of the connection.
        unsafe {
            rusqlite::ffi::sqlite3_wal_checkpoint_v2(
                conn.handle(),
                std::ptr::null(),
                rusqlite::ffi::SQLITE_CHECKPOINT_PASSIVE,
                &mut frames,
                &mut copied,
            )
        };
        frames
    };
    if checkpoint() < 0 {
        // Nothing was checkpointed: a connection opens the WAL at its first read transaction,
        // and until then the C API's checkpoint does nothing. Reading the header's data
        // version is a read transaction that needs no schema.
        let _ = conn.query_row("PRAGMA data_version", [], |_| Ok(()));
        checkpoint();
    }
}

impl GroupCommit {
    /// Starts the writer thread on `conn` (the store's `file`, migrated); the thread ends when
    /// every handle is dropped or [`GroupCommit::close`] is called.
    pub(crate) fn start(conn: Connection, file: StoreFile) -> Result<Self, StoreError> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        // A file opened read-only (an export) is never written, so it needs no checkpoints,
        // and no connection that could write it.
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true);
        let (checkpoints, checkpoint_thread) = (!read_only)
            .then(|| Checkpointer::start(&file.path))
            .flatten()
            .unzip();
        let conn: Shared = Arc::new(Mutex::new(Some(conn)));
        let writer_waiting = Waiting::default();
        let writer = Writer {
            conn: conn.clone(),
            waiting: writer_waiting.clone(),
            file: file.clone(),
            checkpoints: checkpoints.clone(),
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&writer, rx, checkpoint_thread))
            .map_err(|e| StoreError::Open {
                path: "the store's writer".into(),
                reason: format!("cannot start its thread: {e}"),
            })?;
        Ok(Self {
            jobs,
            conn,
            writer_waiting,
            file,
            checkpoints,
        })
    }

    /// Commits `write`, inline when it can (see the module's doc), else through the queue, and
    /// returns once it is committed (its value) or failed. A write that breaks a constraint
    /// fails alone; any other error of it fails the whole batch.
    pub(crate) async fn write<F, R>(&self, write: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send + 'static,
        R: Send + 'static,
    {
        let (job, mut answer) = Typed::job(write);
        if let Some(job) = self.try_inline(job) {
            self.jobs
                .send(Message::Job(job))
                .await
                .map_err(|_| StoreError::WriterStopped)?;
        }
        // Answered already when the write went inline: no wait, no wake-up.
        match answer.try_recv() {
            Ok(outcome) => outcome,
            Err(oneshot::error::TryRecvError::Closed) => Err(StoreError::WriterStopped),
            Err(oneshot::error::TryRecvError::Empty) => {
                answer.await.map_err(|_| StoreError::WriterStopped)?
            }
        }
    }

    /// [`GroupCommit::write`] for a plain thread (the journal's mover), which blocks until the
    /// write is committed. Never called from a runtime thread.
    pub(crate) fn write_blocking<F, R>(&self, write: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, rusqlite::Error> + Send + 'static,
        R: Send + 'static,
    {
        let (job, answer) = Typed::job(write);
        if let Some(job) = self.try_inline(job) {
            self.jobs
                .blocking_send(Message::Job(job))
                .map_err(|_| StoreError::WriterStopped)?;
        }
        answer
            .blocking_recv()
            .map_err(|_| StoreError::WriterStopped)?
    }

    /// Commits `job` in the caller's thread when nothing is queued before it, the connection
    /// is free and so is SQLite's write lock; otherwise gives it back, for the queue. Never
    /// waits: see the module's doc.
    fn try_inline(&self, job: Box<dyn Job>) -> Option<Box<dyn Job>> {
        if self.jobs.capacity() < self.jobs.max_capacity()
            || self.writer_waiting.load(Ordering::Acquire)
        {
            return Some(job);
        }
        let guard = match self.conn.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Some(job),
        };
        let Some(conn) = guard.as_ref() else {
            // Closed: the queue answers that the writer stopped.
            return Some(job);
        };
        let mut batch = vec![job];
        let checkpoints = self.checkpoints.as_deref();
        let outcomes = commit(conn, &self.file, checkpoints, &mut batch, Lock::Try);
        // The connection is let go before the answer: a caller that writes again at once
        // finds it free.
        drop(guard);
        match outcomes {
            Some(outcomes) => {
                answer(&mut batch, outcomes);
                None
            }
            None => batch.pop(),
        }
    }

    /// Commits what is queued and closes the writer's connection; later writes fail with
    /// [`StoreError::WriterStopped`].
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

/// The connection, whatever a caller that panicked while holding it left (its transaction, if
/// one was left open, is rolled back by the next batch).
fn lock(conn: &Shared) -> MutexGuard<'_, Option<Connection>> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the writer's thread holds.
struct Writer {
    conn: Shared,
    waiting: Waiting,
    file: StoreFile,
    checkpoints: Option<Arc<Checkpointer>>,
}

fn run(
    writer: &Writer,
    mut rx: mpsc::Receiver<Message>,
    mut checkpoint_thread: Option<JoinHandle<()>>,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        let mut close = None;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Job(job) if close.is_none() => batch.push(job),
                // Nothing after a close is taken: its caller sees the writer stopped.
                Message::Job(_) => {}
                Message::Close(done) => close = close.or(Some(done)),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        writer.waiting.store(true, Ordering::Release);
        let mut guard = lock(&writer.conn);
        writer.waiting.store(false, Ordering::Release);
        let outcomes = match guard.as_ref() {
            _ if batch.is_empty() => Vec::new(),
            Some(conn) => {
                let checkpoints = writer.checkpoints.as_deref();
                commit(conn, &writer.file, checkpoints, &mut batch, Lock::Wait)
                    // (Only `Lock::Try` gives a batch back.)
                    .unwrap_or_else(|| failed(batch.len(), &StoreError::WriterStopped))
            }
            None => failed(batch.len(), &StoreError::WriterStopped),
        };
        let Some(done) = close else {
            // Let go before answering: a caller that writes again at once finds it free.
            drop(guard);
            answer(&mut batch, outcomes);
            continue;
        };
        rx.close();
        // The checkpointer's connection first, so that the writer's is the last.
        if let (Some(c), Some(thread)) = (&writer.checkpoints, checkpoint_thread.take()) {
            let _ = c.wake.send(Wake::Stop);
            let _ = thread.join();
        }
        // A clean close lets SQLite checkpoint the WAL when it is the last connection.
        if let Some(conn) = guard.take() {
            let _ = conn.close();
        }
        drop(guard);
        answer(&mut batch, outcomes);
        let _ = done.send(());
        return;
    }
}

/// How a batch asks for SQLite's write lock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// Waits up to the busy timeout (the writer's thread).
    Wait,
    /// Asks once (the inline path in a caller's thread).
    Try,
}

/// Why a batch failed as a whole.
enum BatchFailure {
    Sql(rusqlite::Error),
    File(StoreError),
}

/// Runs the batch in one transaction, each write under a savepoint (a write alone in its
/// batch under none), and returns each write's outcome, for [`answer`]: after `COMMIT` for
/// the writes that went in, with its own error for a write that failed on a constraint, and
/// with the same error for all when the transaction itself fails (disk full, the lock held too
/// long by another process) or the store's file was deleted or replaced. The file is checked
/// before the batch, once the write lock is held (it may have been replaced while the batch
/// waited for it), and right after the commit (a commit into a replaced file is lost all the
/// same). `None` when [`Lock::Try`] found the write lock held: nothing ran.
fn commit(
    conn: &Connection,
    file: &StoreFile,
    checkpoints: Option<&Checkpointer>,
    batch: &mut [Box<dyn Job>],
    lock: Lock,
) -> Option<Vec<Result<(), StoreError>>> {
    if let Err(e) = file.check() {
        return Some(failed(batch.len(), &e));
    }
    // Left open by a write that panicked: nothing of it is kept.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let begin = |conn: &Connection| {
        conn.prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
    };
    if lock == Lock::Try {
        // The busy timeout is the connection's: none while asking, the usual one once held.
        let begun = conn.busy_timeout(Duration::ZERO).and_then(|()| begin(conn));
        let restored = conn.busy_timeout(BUSY_TIMEOUT);
        match (begun, restored) {
            (Ok(_), Ok(())) => {}
            (Ok(_), Err(_)) => {
                let _ = conn.execute_batch("ROLLBACK");
                return None;
            }
            // Busy, or anything else: the writer's thread tries again and answers what it finds.
            (Err(_), _) => return None,
        }
    }
    let committed = || {
        if let Some(c) = checkpoints {
            c.committed();
        }
    };
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
    let whole = (|| -> Result<(), BatchFailure> {
        if lock == Lock::Wait {
            begin(conn).map_err(BatchFailure::Sql)?;
        }
        file.check().map_err(BatchFailure::File)?;
        let sql = |s: &str| conn.prepare_cached(s).and_then(|mut s| s.execute([]));
        // A write alone in its batch needs no savepoint (under one, SQLite copies every page
        // the write changes into a sub-journal first): when it fails on a constraint, the
        // whole transaction, which holds nothing else, is rolled back instead.
        if let [job] = &mut *batch {
            return match job.apply(conn) {
                Ok(()) => {
                    outcomes.push(Ok(()));
                    sql("COMMIT").map_err(BatchFailure::Sql)?;
                    committed();
                    Ok(())
                }
                Err(e) if is_constraint(&e) => {
                    sql("ROLLBACK").map_err(BatchFailure::Sql)?;
                    outcomes.push(Err(e.into()));
                    Ok(())
                }
                Err(e) => Err(BatchFailure::Sql(e)),
            };
        }
        for job in batch.iter_mut() {
            sql("SAVEPOINT write").map_err(BatchFailure::Sql)?;
            match job.apply(conn) {
                Ok(()) => outcomes.push(Ok(())),
                Err(e) if is_constraint(&e) => {
                    sql("ROLLBACK TO write").map_err(BatchFailure::Sql)?;
                    outcomes.push(Err(e.into()));
                }
                Err(e) => return Err(BatchFailure::Sql(e)),
            }
            sql("RELEASE write").map_err(BatchFailure::Sql)?;
        }
        sql("COMMIT").map_err(BatchFailure::Sql)?;
        committed();
        Ok(())
    })();
    let failed_whole = match whole {
        Ok(()) => file.check().err(),
        Err(failure) => {
            // Whatever failed may have left the transaction open; a ROLLBACK with none open
            // changes nothing.
            let _ = conn.execute_batch("ROLLBACK");
            Some(match failure {
                BatchFailure::Sql(e) => StoreError::from(e),
                BatchFailure::File(e) => e,
            })
        }
    };
    Some(match failed_whole {
        Some(e) => failed(batch.len(), &e),
        None => outcomes,
    })
}

/// `n` outcomes of `e`: a batch that failed as a whole.
fn failed(n: usize, e: &StoreError) -> Vec<Result<(), StoreError>> {
    (0..n).map(|_| Err(e.for_another())).collect()
}

/// Answers each write of the batch with its outcome.
fn answer(batch: &mut Vec<Box<dyn Job>>, outcomes: Vec<Result<(), StoreError>>) {
    for (job, outcome) in batch.drain(..).zip(outcomes) {
        job.answer(outcome);
    }
}

pub(super) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

#[cfg(test)]
mod tests {
    use super::super::{Store, StoreError};
    use super::GroupCommit;
    use std::time::Duration;

    /// The store's file is replaced while writes wait for the write lock another connection
    /// holds: once they get the lock, they fail as replaced instead of writing into a file
    /// nobody will read again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_for_the_lock_while_the_file_is_replaced_get_the_replaced_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let path = store.path().unwrap().to_path_buf();
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let local = store.local("test").unwrap();
        let group = local.group_commit.clone();
        let group = tokio::spawn(async move { group.write(|_| Ok(())).await });
        let pool = local.write.clone();
        let pool = tokio::spawn(async move {
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            tx.rollback().await
        });
        // Both have checked the file and wait on the lock (the busy timeout is 10 s).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!group.is_finished() && !pool.is_finished());
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"").unwrap();
        std::fs::rename(&other, &path).unwrap();
        blocker.execute_batch("ROLLBACK").unwrap();

        for (what, outcome) in [
            ("group commit", group.await.unwrap()),
            ("write pool", pool.await.unwrap()),
        ] {
            assert!(
                matches!(outcome, Err(StoreError::Replaced { .. })),
                "{what}: {outcome:?}"
            );
        }
        store.close().await;
    }

    /// The name of the thread a write ran in.
    fn thread_of_write(c: &rusqlite::Connection) -> Result<String, rusqlite::Error> {
        c.execute_batch("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")?;
        Ok(std::thread::current().name().unwrap_or("").to_string())
    }

    /// With nothing queued and the write lock free, a write commits in the caller's thread (no
    /// hop to the writer and back); with the write lock held by another connection, it goes to
    /// the writer's thread, which waits for the lock, and the caller's thread is not blocked
    /// meanwhile: on a runtime of one thread, the other connection's transaction (a sqlx one,
    /// which needs the runtime to finish) commits while the write waits, and then the write
    /// commits too.
    #[tokio::test(flavor = "current_thread")]
    async fn a_write_commits_in_the_callers_thread_unless_the_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let local = store.local("test").unwrap();
        let group = local.group_commit.clone();
        let caller = std::thread::current().name().unwrap_or("").to_string();
        assert_eq!(group.write(thread_of_write).await.unwrap(), caller);

        let mut tx = local.write.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO t (k) VALUES ('held')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let write = tokio::spawn({
            let group = group.clone();
            async move { group.write(thread_of_write).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!write.is_finished());
        tx.commit().await.unwrap();
        assert_eq!(write.await.unwrap().unwrap(), "store-writer");

        // Free again: inline again.
        assert_eq!(group.write(thread_of_write).await.unwrap(), caller);
        store.close().await;
        assert!(matches!(
            group.write(thread_of_write).await,
            Err(StoreError::WriterStopped)
        ));
    }

    /// Rows in `t` as the database file alone holds them (`immutable`: the WAL is not read), i.e.
    /// what a checkpoint has copied there; `None` while the table itself is not there yet.
    fn rows_in_the_file(path: &std::path::Path) -> Option<i64> {
        let uri = format!("file:{}?immutable=1", path.display());
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(uri, flags).unwrap();
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .ok()
    }

    /// Every few commits the checkpointer's thread copies them into the database file, long
    /// before SQLite's own checkpoint would (at a thousand WAL frames; these commits write a few
    /// dozen), and under steady writes the WAL still restarts, which keeps it near that thousand
    /// frames instead of growing with every commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_reach_the_database_file_beside_the_writes_and_the_wal_keeps_restarting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let path = store.path().unwrap().to_path_buf();
        let group = store.local("test").unwrap().group_commit.clone();
        group.write(thread_of_write).await.unwrap();
        // A checkpoint when the store was opened may have left the file anywhere up to here.
        let before = rows_in_the_file(&path).unwrap_or(0);
        for k in 0..2 * super::CHECKPOINT_EVERY {
            group
                .write(move |c| c.execute("INSERT INTO t VALUES (?1)", [format!("k{k}")]))
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rows_in_the_file(&path).unwrap_or(0) < before + i64::from(super::CHECKPOINT_EVERY) {
            assert!(
                std::time::Instant::now() < deadline,
                "no commit reached the database file: {:?} rows there",
                rows_in_the_file(&path)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Under steady writes the WAL must keep restarting (writing from its start again),
        // or it would hold every frame ever committed. Each restart bumps the checkpoint
        // sequence number in the WAL's header. Counted rather than timed: a slow disk can hold
        // a checkpoint in `fsync` for seconds, and the writes (which do not wait for it) go on
        // meanwhile, so the WAL's largest size depends on the disk; that it restarts does not.
        let wal = dir.path().join(format!("{}-wal", super::super::STORE_FILE));
        let sequence = || {
            let mut header = [0u8; 16];
            let mut file = std::fs::File::open(&wal).ok()?;
            std::io::Read::read_exact(&mut file, &mut header).ok()?;
            Some(u32::from_be_bytes([
                header[12], header[13], header[14], header[15],
            ]))
        };
        let (mut restarts, mut last) = (0, sequence());
        let mut commits = 0;
        // A restart comes about every 150 of these commits (7 frames each); 30,000 commits
        // are 800 MB of frames, were the WAL never to restart.
        while restarts < 5 && commits < 30_000 {
            group
                .write(move |c| {
                    c.execute(
                        "INSERT INTO t VALUES (?1)",
                        [format!("{commits:05}{}", "x".repeat(2048))],
                    )
                })
                .await
                .unwrap();
            commits += 1;
            let now = sequence();
            // One more than the last seen: a read torn by a header being written is not counted.
            if let (Some(a), Some(b)) = (last, now)
                && b == a.wrapping_add(1)
            {
                restarts += 1;
            }
            last = now.or(last);
        }
        assert_eq!(
            restarts, 5,
            "the WAL restarted {restarts} times over {commits} commits"
        );
        store.close().await;
        assert!(!wal.exists(), "the WAL is removed when the store closes");
    }

    /// A batch whose file was replaced after its commit is not answered as recorded.
    #[tokio::test]
    async fn a_write_committed_into_a_replaced_file_gets_the_replaced_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let path = store.path().unwrap().to_path_buf();
        let other = dir.path().join("other.db");
        let outcome = store
            .local("test")
            .unwrap()
            .group_commit
            .write(move |_| {
                // Inside the transaction, after the check that follows BEGIN IMMEDIATE.
                std::fs::write(&other, b"").unwrap();
                std::fs::rename(&other, &path).unwrap();
                Ok(())
            })
            .await;
        assert!(
            matches!(outcome, Err(StoreError::Replaced { .. })),
            "{outcome:?}"
        );
        store.close().await;
    }

    /// A write that breaks a constraint after changing a row fails alone, and what it changed
    /// is undone: alone in its batch (no savepoint, the transaction rolled back) and beside
    /// other writes (its savepoint rolled back, theirs committed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_breaks_a_constraint_leaves_nothing_alone_or_in_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let path = store.path().unwrap().to_path_buf();
        let group = store.local("test").unwrap().group_commit.clone();
        group
            .write(|c| c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            .await
            .unwrap();
        let twice = |k: &'static str| {
            move |c: &rusqlite::Connection| {
                c.execute("INSERT INTO t VALUES (?1)", [k])?;
                c.execute("INSERT INTO t VALUES (?1)", [k])
            }
        };
        let keys = |group: GroupCommit| async move {
            group
                .write(|c| {
                    let mut s = c.prepare("SELECT k FROM t ORDER BY k")?;
                    s.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .await
                .unwrap()
        };

        assert!(group.write(twice("alone")).await.is_err());
        assert!(keys(group.clone()).await.is_empty());

        // Another connection holds the write lock while writes queue, so they go as one batch.
        let blocker = rusqlite::Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let first = tokio::spawn({
            let group = group.clone();
            async move {
                group
                    .write(|c| c.execute("INSERT INTO t VALUES ('a')", []))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut queued = Vec::new();
        for k in ["b", "bad", "c"] {
            let group = group.clone();
            queued.push(tokio::spawn(async move {
                if k == "bad" {
                    group.write(twice(k)).await
                } else {
                    group
                        .write(move |c| c.execute("INSERT INTO t VALUES (?1)", [k]))
                        .await
                }
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        blocker.execute_batch("ROLLBACK").unwrap();
        assert!(first.await.unwrap().is_ok());
        let outcomes: Vec<bool> = futures_util::future::join_all(queued)
            .await
            .into_iter()
            .map(|o| o.unwrap().is_ok())
            .collect();
        assert_eq!(outcomes, [true, false, true]);
        assert_eq!(keys(group.clone()).await, ["a", "b", "c"]);
        store.close().await;
    }
}

//! Group commit for the hot path: the writes that start a new handoff and that finish any
//! attempt. One thread owns a store connection (rusqlite, so statements run in that thread
//! with no further hop); callers queue their write and wait; the thread commits everything
//! queued in one transaction and only then answers each caller, so `send` still returns after
//! its rows are durable, while concurrent handoffs share one commit. Each write runs under its
//! own savepoint, so one bad write fails alone and its neighbours still commit.
//!
//! The thread is a plain one, not a runtime task: SQLite blocks (on the disk, and on another
//! process's write lock for up to the busy timeout), and the runtime's threads must not.
//!
//! SQLite's own automatic checkpoint stays on, in this thread: it runs right after a commit,
//! while no new frames arrive, so it completes and the WAL restarts from its beginning. (A
//! checkpointer beside the writer never caught up under steady writes, and the WAL grew.)

use crate::store::{StoreError, StoreFile};
use rusqlite::{Connection, ErrorCode, params};
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this make callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// A new handoff, inserted already claimed by its first (pending) attempt.
pub(crate) struct BeginNew {
    pub handoff_id: String,
    pub attempt_id: String,
    pub integration_id: String,
    pub integration_name: String,
    pub session_id: String,
    pub trigger: &'static str,
    /// Where the handoff came from (`live`, `test`, `webhook`; see `HandoffOrigin`).
    pub origin: &'static str,
    pub automatic: bool,
    pub data: String,
    pub data_masked: Option<String>,
    pub started_at: i64,
    pub lease_until: i64,
}

/// How an attempt ended, and what becomes of its handoff.
pub(crate) struct Finish {
    pub attempt_id: String,
    pub handoff_id: String,
    pub status: &'static str,
    pub category: Option<&'static str>,
    pub retryable: bool,
    pub status_code: Option<i64>,
    pub message: String,
    pub submission_id: Option<String>,
    pub request: String,
    pub response_excerpt: Option<String>,
    pub finished_at: i64,
    pub duration_ms: i64,
    pub next_attempt_at: Option<i64>,
    pub handoff_status: &'static str,
}

pub(crate) enum Write {
    BeginNew(BeginNew),
    Finish(Finish),
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

enum Message {
    Job(Box<Job>),
    /// Commit what came before, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

#[derive(Clone, Debug)]
pub(crate) struct AttemptWriter {
    jobs: mpsc::Sender<Message>,
}

impl AttemptWriter {
    /// Starts the writer thread on `conn` (the store's `file`, migrated); the thread ends when
    /// every handle is dropped or [`AttemptWriter::close`] is called.
    pub(crate) fn start(conn: Connection, file: StoreFile) -> Result<Self, StoreError> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, file, rx))
            .map_err(|e| StoreError::Open {
                path: "the store's writer".into(),
                reason: format!("cannot start its thread: {e}"),
            })?;
        Ok(Self { jobs })
    }

    /// Queues a write and waits until it is committed (or failed).
    pub(crate) async fn write(&self, write: Write) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Message::Job(Box::new(Job { write, reply })))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
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

fn run(conn: Connection, file: StoreFile, mut rx: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        let mut close = None;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Job(job) if close.is_none() => batch.push(*job),
                // Nothing after a close is taken: its caller sees the writer stopped.
                Message::Job(_) => {}
                Message::Close(done) => close = close.or(Some(done)),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit_and_answer(&conn, &file, &mut batch);
        }
        if let Some(done) = close {
            rx.close();
            // A clean close lets SQLite checkpoint the WAL when it is the last connection.
            let _ = conn.close();
            let _ = done.send(());
            return;
        }
    }
}

/// Runs the batch in one transaction, each write under a savepoint, and answers every
/// caller once the outcome is known: after `COMMIT` for the writes that went in, with its
/// own error for a write that failed on a constraint, and with the same error for all when
/// the transaction itself fails (disk full, the lock held too long by another process) or
/// the store's file was deleted or replaced (checked first: SQLite would write on into it).
fn commit_and_answer(conn: &Connection, file: &StoreFile, batch: &mut Vec<Job>) {
    if let Err(e) = file.check() {
        fail_all(batch, &e);
        return;
    }
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
    let whole = (|| -> Result<(), rusqlite::Error> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        for job in batch.iter() {
            conn.prepare_cached("SAVEPOINT write")?.execute([])?;
            match apply(conn, &job.write) {
                Ok(()) => outcomes.push(Ok(())),
                Err(e) if is_constraint(&e) => {
                    conn.prepare_cached("ROLLBACK TO write")?.execute([])?;
                    outcomes.push(Err(e.into()));
                }
                Err(e) => return Err(e),
            }
            conn.prepare_cached("RELEASE write")?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    })();
    if let Err(e) = whole {
        // Whatever failed may have left the transaction open; a ROLLBACK with none open
        // changes nothing.
        let _ = conn.execute_batch("ROLLBACK");
        fail_all(batch, &StoreError::from(e));
        return;
    }
    for (job, outcome) in batch.drain(..).zip(outcomes) {
        let _ = job.reply.send(outcome);
    }
}

/// Answers every write in the batch with `e`.
fn fail_all(batch: &mut Vec<Job>, e: &StoreError) {
    for job in batch.drain(..) {
        let _ = job.reply.send(Err(e.for_another()));
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

fn apply(conn: &Connection, write: &Write) -> Result<(), rusqlite::Error> {
    match write {
        Write::BeginNew(b) => {
            conn.prepare_cached(
                "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked, attempts,
                                       in_flight_until, last_attempt_id, created_at, updated_at,
                                       origin, integration_name)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?8, 1, ?5, ?6, ?7, ?7, ?9, ?10)",
            )?
            .execute(params![
                b.handoff_id,
                b.integration_id,
                b.session_id,
                b.data,
                b.lease_until,
                b.attempt_id,
                b.started_at,
                b.data_masked,
                b.origin,
                b.integration_name,
            ])?;
            conn.prepare_cached(
                "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger, automatic,
                                       attempt_number, status, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 'pending', ?8)",
            )?
            .execute(params![
                b.attempt_id,
                b.handoff_id,
                b.integration_id,
                b.integration_name,
                b.session_id,
                b.trigger,
                b.automatic,
                b.started_at,
            ])?;
        }
        Write::Finish(f) => {
            // The handoff takes the outcome when this attempt still holds it, and also when it
            // delivered after another attempt took over (its process looked dead): a delivery
            // is never forgotten, and nothing overwrites one.
            let took = conn
                .prepare_cached(
                    "UPDATE handoffs SET status = ?1, in_flight_until = NULL, next_attempt_at = ?2,
                            submission_id = coalesce(?3, submission_id), updated_at = ?4
                     WHERE id = ?5 AND status != 'succeeded' AND (last_attempt_id = ?6 OR ?7 = 'succeeded')",
                )?
                .execute(params![
                    f.handoff_status,
                    f.next_attempt_at,
                    f.submission_id,
                    f.finished_at,
                    f.handoff_id,
                    f.attempt_id,
                    f.status,
                ])?;
            // The attempt names a retry schedule only if the handoff took it.
            let next_retry_at = if took > 0 { f.next_attempt_at } else { None };
            conn.prepare_cached(
                "UPDATE attempts SET status = ?1, category = ?2, retryable = ?3, status_code = ?4, message = ?5,
                        submission_id = ?6, request = ?7, response_excerpt = ?8, finished_at = ?9,
                        duration_ms = ?10, next_retry_at = ?11, masking = 'structural'
                 WHERE id = ?12",
            )?
            .execute(params![
                f.status,
                f.category,
                f.retryable,
                f.status_code,
                f.message,
                f.submission_id,
                f.request,
                f.response_excerpt,
                f.finished_at,
                f.duration_ms,
                next_retry_at,
                f.attempt_id,
            ])?;
        }
    }
    Ok(())
}

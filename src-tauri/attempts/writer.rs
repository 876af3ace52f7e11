//! Group commit for the hot path: the writes that start a new handoff and that finish any
//! attempt. One task owns a store connection; callers queue their write and wait; the task
//! commits everything queued in one transaction and only then answers each caller, so `send`
//! still returns after its rows are durable, while concurrent handoffs share one commit.
//! Each write is one multi-statement call, so a handoff costs one round trip to SQLite's thread
//! per write instead of one per statement.

use crate::store::StoreError;
use sqlx::SqliteConnection;
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
    pub automatic: bool,
    pub data: String,
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
    /// Starts the writer task on the current runtime; it ends when every handle is dropped.
    pub(crate) fn start(conn: SqliteConnection) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, rx));
        Self { jobs }
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

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut messages, MAX_BATCH).await > 0 {
        let mut close = None;
        for message in messages.drain(..) {
            match message {
                Message::Job(job) if close.is_none() => batch.push(*job),
                // Nothing after a close is taken: its caller sees the writer stopped.
                Message::Job(_) => {}
                Message::Close(done) => close = close.or(Some(done)),
            }
        }
        if !batch.is_empty() {
            commit_and_answer(&mut conn, &mut batch).await;
        }
        if let Some(done) = close {
            rx.close();
            // A clean close lets SQLite checkpoint the WAL when it is the last connection.
            let _ = sqlx::Connection::close(conn).await;
            let _ = done.send(());
            return;
        }
    }
}

async fn commit_and_answer(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    match commit(conn, batch).await {
        Ok(()) => batch.drain(..).for_each(|job| {
            let _ = job.reply.send(Ok(()));
        }),
        Err(e) if batch.len() == 1 => {
            if let Some(job) = batch.pop() {
                let _ = job.reply.send(Err(e));
            }
        }
        // A store-wide failure (disk full, locked too long) would fail each write again, one
        // busy timeout at a time: every caller gets it now.
        Err(e) if !is_constraint(&e) => {
            let message = e.to_string();
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(StoreError::Batch(message.clone())));
            }
        }
        // One bad write must not fail its neighbours: the batch was rolled back as a whole,
        // so run each write on its own to give every caller its own answer.
        Err(_) => {
            for job in batch.drain(..) {
                let outcome = commit(conn, std::slice::from_ref(&job)).await;
                let _ = job.reply.send(outcome);
            }
        }
    }
}

fn is_constraint(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.kind() != sqlx::error::ErrorKind::Other)
}

/// Runs the writes in one transaction; on any error everything is rolled back.
async fn commit(conn: &mut SqliteConnection, jobs: &[Job]) -> Result<(), StoreError> {
    let n = jobs.len();
    for (i, job) in jobs.iter().enumerate() {
        if let Err(e) = apply(conn, &job.write, Place::of(i, n)).await {
            // The error may have left the transaction open (or failed the COMMIT); an error
            // from ROLLBACK (none open) changes nothing.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(e);
        }
    }
    Ok(())
}

/// Where a write stands in its transaction. The first write opens the transaction and the last
/// commits it in the same call, so a lone write is one round trip to SQLite's thread. The
/// texts are constants (eight in all), which keeps sqlx's prepared-statement cache small.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Only,
    First,
    Middle,
    Last,
}

impl Place {
    fn of(i: usize, n: usize) -> Self {
        match (i == 0, i + 1 == n) {
            (true, true) => Self::Only,
            (true, false) => Self::First,
            (false, true) => Self::Last,
            (false, false) => Self::Middle,
        }
    }
}

macro_rules! with_place {
    ($name:ident, $text:literal) => {
        fn $name(at: Place) -> &'static str {
            match at {
                Place::Only => concat!("BEGIN IMMEDIATE; ", $text, "; COMMIT"),
                Place::First => concat!("BEGIN IMMEDIATE; ", $text),
                Place::Middle => $text,
                Place::Last => concat!($text, "; COMMIT"),
            }
        }
    };
}

with_place!(begin_new_sql, "INSERT INTO handoffs (id, integration_id, session_id, status, data, attempts, in_flight_until,
                                       last_attempt_id, created_at, updated_at)
                 VALUES (?, ?, ?, 'pending', ?, 1, ?, ?, ?, ?);
                 INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger, automatic,
                                       attempt_number, status, started_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'pending', ?)");
// The handoff takes the outcome when this attempt still holds it, and also when it delivered
// after another attempt took over (its process looked dead): a delivery is never forgotten, and
// nothing overwrites one. The attempt's `next_retry_at` is kept only if the schedule was written
// (`changes()` counts the rows of the statement before it).
with_place!(finish_sql, "UPDATE handoffs SET status = ?, in_flight_until = NULL, next_attempt_at = ?,
                        submission_id = coalesce(?, submission_id), updated_at = ?
                 WHERE id = ? AND status != 'succeeded' AND (last_attempt_id = ? OR ? = 'succeeded');
                 UPDATE attempts SET status = ?, category = ?, retryable = ?, status_code = ?, message = ?, submission_id = ?,
                        request = ?, response_excerpt = ?, finished_at = ?, duration_ms = ?,
                        next_retry_at = CASE WHEN changes() > 0 THEN ? END
                 WHERE id = ?");

async fn apply(conn: &mut SqliteConnection, write: &Write, at: Place) -> Result<(), StoreError> {
    match write {
        Write::BeginNew(b) => {
            sqlx::query(begin_new_sql(at))
                .bind(&b.handoff_id)
                .bind(&b.integration_id)
                .bind(&b.session_id)
                .bind(&b.data)
                .bind(b.lease_until)
                .bind(&b.attempt_id)
                .bind(b.started_at)
                .bind(b.started_at)
                .bind(&b.attempt_id)
                .bind(&b.handoff_id)
                .bind(&b.integration_id)
                .bind(&b.integration_name)
                .bind(&b.session_id)
                .bind(b.trigger)
                .bind(b.automatic)
                .bind(b.started_at)
                .execute(&mut *conn)
                .await?;
        }
        Write::Finish(f) => {
            sqlx::query(finish_sql(at))
                .bind(f.handoff_status)
                .bind(f.next_attempt_at)
                .bind(&f.submission_id)
                .bind(f.finished_at)
                .bind(&f.handoff_id)
                .bind(&f.attempt_id)
                .bind(f.status)
                .bind(f.status)
                .bind(f.category)
                .bind(f.retryable)
                .bind(f.status_code)
                .bind(&f.message)
                .bind(&f.submission_id)
                .bind(&f.request)
                .bind(&f.response_excerpt)
                .bind(f.finished_at)
                .bind(f.duration_ms)
                .bind(f.next_attempt_at)
                .bind(&f.attempt_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

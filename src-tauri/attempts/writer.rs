//! The one write interface for attempts ([`AttemptWrites`]): beginning an attempt (a new
//! handoff, or a claim of an existing one) and finishing it. The SQLite store implements it
//! through its group commit (`store::GroupCommit`), so every attempt row is written here, by
//! one statement per table with its column list given once (and one more per table for a new
//! handoff the journal moves begun and finished at once, [`begin_finished`]); the PostgreSQL
//! store implements the same trait with the same statements (numbered `$n` for it), one
//! transaction per begin or finish.

use super::HandoffOrigin;
use super::queries::{BeginAttempt, Claim, FinishAttempt};
use crate::category::ErrorCategory;
use crate::ids::MappingId;
use crate::intake::inbox::{self, InboxAnswer, InboxStatus, MappingVersion, NewInboxMessage};
use crate::store::postgres::{Shared, numbered};
use crate::store::{GroupCommit, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::LazyLock;

/// The writes that start and end attempts.
#[allow(async_fn_in_trait)] // used generically (no `dyn`), so no `Send` bound is needed
pub trait AttemptWrites {
    /// Records the start of an attempt, claiming the handoff as `claim` allows. Returns the
    /// attempt's number, or `None` when the handoff could not be claimed (nothing is written).
    async fn begin_attempt(&self, a: &BeginAttempt<'_>) -> Result<Option<u32>, StoreError>;
    /// Records how an attempt ended and what becomes of its handoff, in one transaction.
    async fn finish_attempt(&self, f: &FinishAttempt<'_>) -> Result<(), StoreError>;
}

/// An attempt's row as it starts (always `pending`).
#[derive(Serialize, Deserialize)]
struct NewAttempt {
    attempt_id: String,
    handoff_id: String,
    integration_id: String,
    integration_name: String,
    session_id: String,
    trigger: Cow<'static, str>,
    automatic: bool,
    previous_attempt_id: Option<String>,
    started_at: i64,
}

/// A beginning as the writer thread takes it (owned: it outlives the caller's borrow), and as
/// the journal keeps a new handoff's (`store::journal`; serialized, always a [`Claim::New`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct Begin {
    attempt: NewAttempt,
    #[serde(skip, default = "claim_new")]
    claim: Claim,
    /// Where a new handoff came from (`live`, `test`, `webhook`; see `HandoffOrigin`).
    origin: Cow<'static, str>,
    data: String,
    data_masked: Option<String>,
    lease_until: i64,
    /// Who holds the handoff while the attempt runs (see `BeginAttempt::owner`).
    owner: String,
    /// The inbox message (id, mapping id, mapping name) a new handoff was made from.
    taken_by: Option<(String, String, String)>,
}

fn claim_new() -> Claim {
    Claim::New
}

/// How an attempt ended, and what becomes of its handoff (serialized as the journal keeps it).
#[derive(Serialize, Deserialize)]
pub(crate) struct Finish {
    pub attempt_id: String,
    pub handoff_id: String,
    pub status: Cow<'static, str>,
    pub category: Option<Cow<'static, str>>,
    pub retryable: bool,
    pub status_code: Option<i64>,
    pub message: String,
    pub submission_id: Option<String>,
    pub request: String,
    pub response_excerpt: Option<String>,
    pub finished_at: i64,
    pub duration_ms: i64,
    pub next_attempt_at: Option<i64>,
    pub handoff_status: Cow<'static, str>,
}

impl Begin {
    /// The id of the attempt this begins.
    pub(crate) fn attempt_id(&self) -> &str {
        &self.attempt.attempt_id
    }

    /// `a` owned, for the writer thread.
    pub(crate) fn of(a: &BeginAttempt<'_>) -> Self {
        Begin {
            attempt: NewAttempt {
                attempt_id: a.attempt_id.to_string(),
                handoff_id: a.handoff_id.to_string(),
                integration_id: a.integration_id.to_string(),
                integration_name: a.integration_name.to_string(),
                session_id: a.session_id.to_string(),
                trigger: Cow::Borrowed(a.trigger.as_str()),
                automatic: a.automatic,
                previous_attempt_id: a.previous_attempt_id.map(|p| p.to_string()),
                started_at: a.started_at,
            },
            claim: a.claim,
            origin: Cow::Borrowed(HandoffOrigin::of(a.trigger).as_str()),
            data: a.data.unwrap_or("{}").to_string(),
            data_masked: a.data_masked.map(str::to_string),
            lease_until: a.lease_until,
            owner: a.owner.to_string(),
            taken_by: a.taken_by.map(|t| {
                (
                    t.message.to_string(),
                    t.mapping.to_string(),
                    t.mapping_name.to_string(),
                )
            }),
        }
    }
}

impl AttemptWrites for GroupCommit {
    async fn begin_attempt(&self, a: &BeginAttempt<'_>) -> Result<Option<u32>, StoreError> {
        let begin = Begin::of(a);
        self.write(move |conn| begin_attempt(conn, &begin)).await
    }

    async fn finish_attempt(&self, f: &FinishAttempt<'_>) -> Result<(), StoreError> {
        let outcome = Finish::of(f);
        self.write(move |conn| finish(conn, &outcome)).await
    }
}

impl Finish {
    /// `f` owned, for the writer thread or the journal.
    pub(crate) fn of(f: &FinishAttempt<'_>) -> Self {
        Finish {
            attempt_id: f.attempt_id.to_string(),
            handoff_id: f.handoff_id.to_string(),
            status: Cow::Borrowed(f.status.as_str()),
            category: f.category.map(|c| Cow::Borrowed(c.as_str())),
            retryable: f.category.is_some_and(ErrorCategory::retryable),
            status_code: f.status_code.map(i64::from),
            message: f.message.to_string(),
            submission_id: f.submission_id.map(str::to_string),
            request: f.request.to_string(),
            response_excerpt: f.response_excerpt.map(str::to_string),
            finished_at: f.finished_at,
            duration_ms: f.duration_ms,
            next_attempt_at: f.next_attempt_at,
            handoff_status: Cow::Borrowed(f.handoff_status.as_str()),
        }
    }
}

/// An inbox message written with its new handoff begun (see [`GroupCommit::add_to_inbox_and_begin`]).
#[derive(Debug)]
pub struct InboxBegun {
    /// The inbox's answer: the message added, or the first one with its message id.
    pub answer: InboxAnswer,
    /// The attempt's number once the handoff is begun; `None` for a repeat, or when the
    /// source's mappings changed since the message was mapped.
    pub begun: Option<u32>,
    /// When they changed: the versions read, with which the message (written alone) is to be
    /// mapped again.
    pub versions: Option<Vec<MappingVersion>>,
}

impl GroupCommit {
    /// Adds `message` to the inbox with the mapping that took it, and begins its handoff (`a`,
    /// a [`Claim::New`]), in one commit: a realtime webhook mapped before its answer takes one
    /// commit instead of two (the inbox row, then the handoff with the mapping recorded on the
    /// row). Its source's mapping versions are read first in the same transaction: when they
    /// are not `expected` (a mapping or its integration changed since), the message is added
    /// alone, as received, and the versions read are returned to map it again. A repeated
    /// message id adds nothing.
    pub(crate) async fn add_to_inbox_and_begin(
        &self,
        mut message: NewInboxMessage,
        mapping: (MappingId, String),
        expected: Vec<MappingVersion>,
        a: &BeginAttempt<'_>,
    ) -> Result<InboxBegun, StoreError> {
        let begin = Begin::of(a);
        self.write(move |conn| {
            let versions = inbox::read_versions(conn, message.source_id)?;
            if versions != expected {
                let answer = inbox::insert_message(conn, &message)?;
                let versions = (!answer.repeat).then_some(versions);
                return Ok(InboxBegun {
                    answer,
                    begun: None,
                    versions,
                });
            }
            message.mapping = Some(mapping);
            let mut answer = inbox::insert_message(conn, &message)?;
            let begun = if answer.repeat {
                None
            } else {
                begin_attempt(conn, &begin)?
            };
            if begun.is_some() {
                answer.status = InboxStatus::Mapped;
            }
            Ok(InboxBegun {
                answer,
                begun,
                versions: None,
            })
        })
        .await
    }
}

// A claim makes the new attempt the handoff's last one, and the handoff takes the name that
// attempt records (the integration may have been renamed since the last one).
const CLAIM_MANUAL: &str =
    "UPDATE handoffs SET attempts = attempts + 1, status = 'pending', in_flight_until = ?1,
        next_attempt_at = NULL, last_attempt_id = ?2, updated_at = ?3, integration_name = ?5,
        reserved_until = NULL, lease_owner = ?6
    WHERE id = ?4 AND status != 'succeeded' AND (in_flight_until IS NULL OR in_flight_until <= ?3)
    RETURNING attempts";
// The worker claims what it reserved (`Store::lease_due_handoffs`; still its own: nobody took
// it since), or what is due and neither in flight nor reserved.
const CLAIM_DUE: &str =
    "UPDATE handoffs SET attempts = attempts + 1, status = 'pending', in_flight_until = ?1,
        next_attempt_at = NULL, last_attempt_id = ?2, updated_at = ?3, integration_name = ?5,
        reserved_until = NULL, lease_owner = ?6
    WHERE id = ?4 AND status = 'pending'
      AND ((reserved_until IS NOT NULL AND lease_owner = ?6)
           OR ((reserved_until IS NULL OR reserved_until <= ?3)
               AND ((in_flight_until IS NULL AND next_attempt_at IS NOT NULL
                     AND next_attempt_at <= ?3)
                    OR in_flight_until <= ?3)))
    RETURNING attempts";

const INSERT_HANDOFF: &str =
    "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked, attempts,
                           in_flight_until, last_attempt_id, created_at, updated_at,
                           origin, integration_name, lease_owner)
     VALUES (?1, ?2, ?3, 'pending', ?4, ?8, 1, ?5, ?6, ?7, ?7, ?9, ?10, ?11)";

/// An attempt still pending when its handoff is claimed belonged to a process that died
/// mid-request.
const CLOSE_INTERRUPTED: &str =
    "UPDATE attempts SET status = 'failed', category = 'network', retryable = TRUE, message = ?1,
            finished_at = ?2, masking = 'structural'
     WHERE handoff_id = ?3 AND status = 'pending'";

const INSERT_ATTEMPT: &str =
    "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                           automatic, attempt_number, previous_attempt_id, status, started_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10)";

// The handoff takes the outcome when this attempt still holds it, and also when it delivered
// after another attempt took over (its process looked dead): a delivery is never forgotten,
// and nothing overwrites one.
const FINISH_HANDOFF: &str =
    "UPDATE handoffs SET status = ?1, in_flight_until = NULL, reserved_until = NULL, lease_owner = NULL, next_attempt_at = ?2,
            submission_id = coalesce(?3, submission_id), updated_at = ?4
     WHERE id = ?5 AND status != 'succeeded' AND (last_attempt_id = ?6 OR ?7 = 'succeeded')";

const FINISH_ATTEMPT: &str =
    "UPDATE attempts SET status = ?1, category = ?2, retryable = ?3, status_code = ?4,
            message = ?5, submission_id = ?6, request = ?7, response_excerpt = ?8,
            finished_at = ?9, duration_ms = ?10, next_retry_at = ?11, masking = 'structural'
     WHERE id = ?12";

// A new handoff begun and finished in one move of the journal (`attempts::journal`), written
// as the two statements of each of [`begin_attempt`] and [`finish`] leave it, without the
// updates: a row, its indexes and its rollups written once instead of twice. The journal's
// test `a_handoff_begun_and_finished_in_one_move_is_stored_as_if_written_one_by_one` holds
// them to that.
const INSERT_HANDOFF_FINISHED: &str =
    "INSERT INTO handoffs (id, integration_id, session_id, status, data, data_masked, attempts,
                           last_attempt_id, created_at, updated_at, origin, integration_name,
                           next_attempt_at, submission_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

const INSERT_ATTEMPT_FINISHED: &str =
    "INSERT INTO attempts (id, handoff_id, integration_id, integration_name, session_id, trigger,
                           automatic, attempt_number, previous_attempt_id, status, started_at,
                           category, retryable, status_code, message, submission_id, request,
                           response_excerpt, finished_at, duration_ms, next_retry_at, masking)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, 'structural')";

const INTERRUPTED: &str = "interrupted: the console stopped before this attempt finished; the target may or may not have received it";

/// Inserts a new handoff already claimed by its first attempt, or claims an existing one under
/// the claim's condition (closing an attempt its dead process left pending), then inserts the
/// attempt. `None`: the handoff could not be claimed, nothing written.
pub(crate) fn begin_attempt(conn: &Connection, b: &Begin) -> Result<Option<u32>, rusqlite::Error> {
    let a = &b.attempt;
    let number = match b.claim {
        Claim::New => {
            // Nothing else can hold a new handoff yet: no claim to check, no interrupted
            // attempt to close.
            conn.prepare_cached(INSERT_HANDOFF)?.execute(params![
                a.handoff_id,
                a.integration_id,
                a.session_id,
                b.data,
                b.lease_until,
                a.attempt_id,
                a.started_at,
                b.data_masked,
                b.origin,
                a.integration_name,
                b.owner,
            ])?;
            if let Some((message, mapping, name)) = &b.taken_by {
                crate::intake::inbox::record_mapping(conn, message, mapping, name)?;
            }
            1
        }
        Claim::Manual | Claim::Due => {
            // Claiming and counting in one statement; the WHERE clause is the claim's condition.
            let sql = if b.claim == Claim::Manual {
                CLAIM_MANUAL
            } else {
                CLAIM_DUE
            };
            let number: Option<i64> = conn
                .prepare_cached(sql)?
                .query_row(
                    params![
                        b.lease_until,
                        a.attempt_id,
                        a.started_at,
                        a.handoff_id,
                        a.integration_name,
                        b.owner
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(number) = number else {
                return Ok(None);
            };
            conn.prepare_cached(CLOSE_INTERRUPTED)?.execute(params![
                INTERRUPTED,
                a.started_at,
                a.handoff_id
            ])?;
            number
        }
    };
    insert_attempt(conn, a, number)?;
    Ok(Some(number as u32))
}

/// The one statement that inserts an attempt.
fn insert_attempt(conn: &Connection, a: &NewAttempt, number: i64) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(INSERT_ATTEMPT)?.execute(params![
        a.attempt_id,
        a.handoff_id,
        a.integration_id,
        a.integration_name,
        a.session_id,
        a.trigger,
        a.automatic,
        number,
        a.previous_attempt_id,
        a.started_at,
    ])?;
    Ok(())
}

/// Whether `b` begins a new handoff (not one from the inbox) whose attempt `f` finishes: the
/// two can be written as one ([`begin_finished`]).
pub(crate) fn finishes_new(b: &Begin, f: &Finish) -> bool {
    b.claim == Claim::New
        && b.taken_by.is_none()
        && f.attempt_id == b.attempt.attempt_id
        && f.handoff_id == b.attempt.handoff_id
}

/// A new handoff ([`Claim::New`]) and its first attempt, inserted as `f` leaves them: what
/// [`begin_attempt`] then [`finish`] write, for a beginning whose outcome is known before it is
/// written (both in one move of the journal). Only where [`finishes_new`] holds.
pub(crate) fn begin_finished(
    conn: &Connection,
    b: &Begin,
    f: &Finish,
) -> Result<(), rusqlite::Error> {
    debug_assert!(finishes_new(b, f));
    let a = &b.attempt;
    // The handoff's finish: the attempt holds it (it is new), so the outcome is taken, the
    // lease and flight end, and the attempt names the handoff's retry schedule.
    conn.prepare_cached(INSERT_HANDOFF_FINISHED)?
        .execute(params![
            a.handoff_id,
            a.integration_id,
            a.session_id,
            f.handoff_status,
            b.data,
            b.data_masked,
            a.attempt_id,
            a.started_at,
            f.finished_at,
            b.origin,
            a.integration_name,
            f.next_attempt_at,
            f.submission_id,
        ])?;
    conn.prepare_cached(INSERT_ATTEMPT_FINISHED)?
        .execute(params![
            a.attempt_id,
            a.handoff_id,
            a.integration_id,
            a.integration_name,
            a.session_id,
            a.trigger,
            a.automatic,
            a.previous_attempt_id,
            f.status,
            a.started_at,
            f.category,
            f.retryable,
            f.status_code,
            f.message,
            f.submission_id,
            f.request,
            f.response_excerpt,
            f.finished_at,
            f.duration_ms,
            f.next_attempt_at,
        ])?;
    Ok(())
}

/// Records how an attempt ended and what becomes of its handoff.
pub(crate) fn finish(conn: &Connection, f: &Finish) -> Result<(), rusqlite::Error> {
    let took = conn.prepare_cached(FINISH_HANDOFF)?.execute(params![
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
    conn.prepare_cached(FINISH_ATTEMPT)?.execute(params![
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
    Ok(())
}

/// The statements above as PostgreSQL numbers its parameters (`$n`), made once.
struct PgStatements {
    insert_handoff: String,
    claim_manual: String,
    claim_due: String,
    close_interrupted: String,
    insert_attempt: String,
    finish_handoff: String,
    finish_attempt: String,
    record_mapping: String,
}

static PG: LazyLock<PgStatements> = LazyLock::new(|| PgStatements {
    insert_handoff: numbered(INSERT_HANDOFF),
    claim_manual: numbered(CLAIM_MANUAL),
    claim_due: numbered(CLAIM_DUE),
    close_interrupted: numbered(CLOSE_INTERRUPTED),
    insert_attempt: numbered(INSERT_ATTEMPT),
    finish_handoff: numbered(FINISH_HANDOFF),
    finish_attempt: numbered(FINISH_ATTEMPT),
    record_mapping: numbered(crate::intake::inbox::RECORD_MAPPING),
});

/// The shared store: each begin and each finish in a transaction of its own. A claim is one
/// `UPDATE … WHERE <condition> RETURNING`: of two instances claiming one handoff, the second
/// waits for the first's row lock, then finds the condition false and claims nothing.
impl AttemptWrites for Shared {
    async fn begin_attempt(&self, a: &BeginAttempt<'_>) -> Result<Option<u32>, StoreError> {
        let pg = &*PG;
        let (attempt, handoff) = (a.attempt_id.to_string(), a.handoff_id.to_string());
        let mut tx = self.write.begin().await?;
        let number: i64 = match a.claim {
            Claim::New => {
                sqlx::query(sqlx::AssertSqlSafe(pg.insert_handoff.as_str()))
                    .bind(&handoff)
                    .bind(a.integration_id.to_string())
                    .bind(a.session_id)
                    .bind(a.data.unwrap_or("{}"))
                    .bind(a.lease_until)
                    .bind(&attempt)
                    .bind(a.started_at)
                    .bind(a.data_masked)
                    .bind(HandoffOrigin::of(a.trigger).as_str())
                    .bind(a.integration_name)
                    .bind(a.owner)
                    .execute(&mut *tx)
                    .await?;
                if let Some(t) = a.taken_by {
                    sqlx::query(sqlx::AssertSqlSafe(pg.record_mapping.as_str()))
                        .bind(t.mapping.to_string())
                        .bind(t.mapping_name)
                        .bind(t.message.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                1
            }
            Claim::Manual | Claim::Due => {
                let sql = if a.claim == Claim::Manual {
                    &pg.claim_manual
                } else {
                    &pg.claim_due
                };
                let number: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(a.lease_until)
                    .bind(&attempt)
                    .bind(a.started_at)
                    .bind(&handoff)
                    .bind(a.integration_name)
                    .bind(a.owner)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(number) = number else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                sqlx::query(sqlx::AssertSqlSafe(pg.close_interrupted.as_str()))
                    .bind(INTERRUPTED)
                    .bind(a.started_at)
                    .bind(&handoff)
                    .execute(&mut *tx)
                    .await?;
                number
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(pg.insert_attempt.as_str()))
            .bind(&attempt)
            .bind(&handoff)
            .bind(a.integration_id.to_string())
            .bind(a.integration_name)
            .bind(a.session_id)
            .bind(a.trigger.as_str())
            .bind(a.automatic)
            .bind(number)
            .bind(a.previous_attempt_id.map(|p| p.to_string()))
            .bind(a.started_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(number as u32))
    }

    async fn finish_attempt(&self, f: &FinishAttempt<'_>) -> Result<(), StoreError> {
        let pg = &*PG;
        let (attempt, handoff) = (f.attempt_id.to_string(), f.handoff_id.to_string());
        let mut tx = self.write.begin().await?;
        let took = sqlx::query(sqlx::AssertSqlSafe(pg.finish_handoff.as_str()))
            .bind(f.handoff_status.as_str())
            .bind(f.next_attempt_at)
            .bind(f.submission_id)
            .bind(f.finished_at)
            .bind(&handoff)
            .bind(&attempt)
            .bind(f.status.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let next_retry_at = if took > 0 { f.next_attempt_at } else { None };
        sqlx::query(sqlx::AssertSqlSafe(pg.finish_attempt.as_str()))
            .bind(f.status.as_str())
            .bind(f.category.map(ErrorCategory::as_str))
            .bind(f.category.is_some_and(ErrorCategory::retryable))
            .bind(f.status_code.map(i64::from))
            .bind(f.message)
            .bind(f.submission_id)
            .bind(f.request)
            .bind(f.response_excerpt)
            .bind(f.finished_at)
            .bind(f.duration_ms)
            .bind(next_retry_at)
            .bind(&attempt)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

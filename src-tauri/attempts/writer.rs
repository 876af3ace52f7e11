//! The hot path's writes, run by the store's group commit (`store::GroupCommit`): the writes
//! that start a new handoff and that finish any attempt.

use rusqlite::{Connection, params};

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

/// Inserts a new handoff and its first (pending) attempt.
pub(crate) fn begin_new(conn: &Connection, b: &BeginNew) -> Result<(), rusqlite::Error> {
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
    Ok(())
}

/// Records how an attempt ended and what becomes of its handoff.
pub(crate) fn finish(conn: &Connection, f: &Finish) -> Result<(), rusqlite::Error> {
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
    Ok(())
}

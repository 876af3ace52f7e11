//! SQL over `handoffs` and `attempts`. Values are always bound.

use super::journal::Entry;
use super::search::{Reader, TextLookup, TextMatches};
use super::writer::{AttemptWrites, Begin, Finish};
use super::{
    AttemptDetail, AttemptSummary, HandoffOrigin, HandoffRecord, HandoffState, HandoffSummary,
    Status, StoredData, Trigger, opt_time,
};
use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::store::{Backend, Store, StoreError, from_ms, on_backend};
use sqlx::{AssertSqlSafe, Database, Encode, QueryBuilder, Type};

/// The most rows one history query returns.
pub const MAX_HISTORY_LIMIT: u32 = 10_000;
/// The most handoffs one bulk retry takes.
pub const MAX_BULK_RETRY: u32 = 10_000;

/// Reserving due handoffs (`Store::lease_due_handoffs`): $1 the reservation's end, $2 its
/// owner, $3 now, $4 how many. Due: an attempt whose holder's lease ran out (its process died),
/// or a scheduled retry whose time has come; and reserved by nobody (or the reservation ran
/// out). Each kind is read in its own index's order (`handoffs_in_flight`, `handoffs_due`), so a
/// reservation reads the few rows it takes, not every waiting handoff.
macro_rules! lease_due {
    ($lock:literal) => {
        concat!(
            "WITH expired AS (
               SELECT id FROM handoffs
               WHERE in_flight_until <= $3 AND status = 'pending'
                 AND (reserved_until IS NULL OR reserved_until <= $3)
               ORDER BY in_flight_until LIMIT $4",
            $lock,
            "), scheduled AS (
               SELECT id FROM handoffs
               WHERE next_attempt_at <= $3 AND in_flight_until IS NULL AND status = 'pending'
                 AND (reserved_until IS NULL OR reserved_until <= $3)
               ORDER BY next_attempt_at LIMIT $4",
            $lock,
            ")
             UPDATE handoffs SET reserved_until = $1, lease_owner = $2
             WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM scheduled LIMIT $4)
             RETURNING id"
        )
    };
}
const LEASE_DUE_SQLITE: &str = lease_due!("");
const LEASE_DUE_PG: &str = lease_due!(" FOR UPDATE SKIP LOCKED");

/// Under which condition an attempt may start on a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A new handoff: insert it.
    New,
    /// A person retries: not delivered, not in flight.
    Manual,
    /// The worker retries: reserved by this owner (`Store::lease_due_handoffs`), or scheduled
    /// and due, or in flight past its lease (the process died).
    Due,
}

pub struct BeginAttempt<'a> {
    pub attempt_id: AttemptId,
    pub handoff_id: HandoffId,
    pub integration_id: IntegrationId,
    pub integration_name: &'a str,
    pub session_id: &'a str,
    pub trigger: Trigger,
    pub automatic: bool,
    pub previous_attempt_id: Option<AttemptId>,
    pub claim: Claim,
    /// For [`Claim::New`]: the collected data (sealed, see `crypto`) and its masked copy.
    pub data: Option<&'a str>,
    pub data_masked: Option<&'a str>,
    pub started_at: i64,
    /// Until when the attempt holds the handoff; past it, the worker may take it over.
    pub lease_until: i64,
    /// Who holds the handoff while the attempt runs: the console's worker name
    /// (`App::worker_name`), so that a reservation it made lets it claim (`Claim::Due`).
    pub owner: &'a str,
    /// For [`Claim::New`] made from an inbox message: the mapping that took the message,
    /// recorded on it in the same commit as the handoff.
    pub taken_by: Option<TakenBy<'a>>,
}

/// The inbox message a new handoff was made from and the mapping that took it.
#[derive(Debug, Clone, Copy)]
pub struct TakenBy<'a> {
    pub message: crate::ids::InboxId,
    pub mapping: crate::ids::MappingId,
    pub mapping_name: &'a str,
}

pub struct FinishAttempt<'a> {
    pub attempt_id: AttemptId,
    pub handoff_id: HandoffId,
    /// The attempt's trigger (as begun): where the local store records the finish (see
    /// [`Store::finish_attempt`]).
    pub trigger: Trigger,
    pub status: Status,
    pub category: Option<ErrorCategory>,
    pub status_code: Option<u16>,
    pub message: &'a str,
    pub submission_id: Option<&'a str>,
    pub request: &'a str,
    pub response_excerpt: Option<&'a str>,
    pub finished_at: i64,
    pub duration_ms: i64,
    /// Set when an automatic retry is scheduled.
    pub next_attempt_at: Option<i64>,
    pub handoff_status: Status,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub status: Option<Status>,
    pub integration: Option<IntegrationId>,
    pub session: Option<String>,
    pub trigger: Option<Trigger>,
    pub category: Option<ErrorCategory>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: Option<u32>,
    /// Rows to skip (paging).
    pub offset: Option<u64>,
    /// Newest first unless set.
    pub sort: Option<HistorySort>,
    /// Text the session id, message, integration name or the handoff's masked values contain
    /// (case-insensitive; see `attempts::search`).
    pub text: Option<String>,
    /// Keyset paging for exports: only attempts after this (started_at ms, id) in newest-first
    /// order (the sort is then newest first whatever `sort` says).
    pub cursor: Option<(i64, AttemptId)>,
}

impl HistoryFilter {
    /// Whether text is the only condition (paging and sort aside).
    fn filters_only_text(&self) -> bool {
        let Self {
            status,
            integration,
            session,
            trigger,
            category,
            since_ms,
            until_ms,
            limit: _,
            offset: _,
            sort: _,
            text,
            cursor,
        } = self;
        text.is_some()
            && status.is_none()
            && integration.is_none()
            && session.is_none()
            && trigger.is_none()
            && category.is_none()
            && since_ms.is_none()
            && until_ms.is_none()
            && cursor.is_none()
    }
}

/// The column the history is sorted by; ties go by start time, then id, in the same direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum SortKey {
    StartedAt,
    DurationMs,
    Status,
    Integration,
    SessionId,
}

impl SortKey {
    pub const ALL: [Self; 5] = [
        Self::StartedAt,
        Self::DurationMs,
        Self::Status,
        Self::Integration,
        Self::SessionId,
    ];
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartedAt => "startedAt",
            Self::DurationMs => "durationMs",
            Self::Status => "status",
            Self::Integration => "integration",
            Self::SessionId => "sessionId",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    fn column(self) -> &'static str {
        match self {
            Self::StartedAt => "started_at",
            Self::DurationMs => "duration_ms",
            Self::Status => "status",
            Self::Integration => "integration_name",
            Self::SessionId => "session_id",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistorySort {
    pub key: SortKey,
    pub descending: bool,
}

/// The longest history text search (longer text is refused by the request layer).
pub const MAX_HISTORY_TEXT: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct RetryFilter {
    pub integration: Option<IntegrationId>,
    /// The handoffs a trigger selects, as the statistics count them (an origin, or retried).
    pub trigger: Option<Trigger>,
    pub category: Option<ErrorCategory>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

pub(super) fn parse<T: std::str::FromStr>(s: String, what: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} '{s}'")))
}

/// An attempt's row (with its handoff's state) as both back ends return it; the detail's
/// columns too (a summary's query selects them as well: `attempts.*`).
#[derive(sqlx::FromRow)]
struct AttemptRow {
    id: String,
    handoff_id: String,
    integration_id: String,
    integration_name: String,
    session_id: String,
    trigger: String,
    automatic: bool,
    attempt_number: i64,
    status: String,
    category: Option<String>,
    retryable: bool,
    status_code: Option<i64>,
    started_at: i64,
    finished_at: Option<i64>,
    duration_ms: Option<i64>,
    message: String,
    next_retry_at: Option<i64>,
    handoff_state: String,
    request: Option<String>,
    previous_attempt_id: Option<String>,
    submission_id: Option<String>,
    response_excerpt: Option<String>,
}

impl AttemptRow {
    fn summary(&self) -> Result<AttemptSummary, StoreError> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v}"));
        Ok(AttemptSummary {
            attempt_id: parse(self.id.clone(), "attempt id")?,
            handoff_id: parse(self.handoff_id.clone(), "handoff id")?,
            integration_id: parse(self.integration_id.clone(), "integration id")?,
            integration_name: self.integration_name.clone(),
            session_id: self.session_id.clone(),
            trigger: Trigger::parse(&self.trigger)
                .ok_or_else(|| corrupt("trigger", &self.trigger))?,
            automatic: self.automatic,
            attempt_number: self.attempt_number as u32,
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            category: self.category.as_deref().and_then(ErrorCategory::parse),
            retryable: self.retryable,
            status_code: self.status_code.map(|c| c as u16),
            started_at: from_ms(self.started_at),
            finished_at: opt_time(self.finished_at),
            duration_ms: self.duration_ms.map(|d| d.max(0) as u64),
            message: self.message.clone(),
            next_retry_at: opt_time(self.next_retry_at),
            handoff_state: HandoffState::parse(&self.handoff_state)
                .ok_or_else(|| corrupt("handoff state", &self.handoff_state))?,
        })
    }
}

/// An attempt's columns and its handoff's state (`handoff_state`), for [`AttemptRow`].
fn attempt_columns() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "attempts.*, (SELECT {} FROM handoffs h WHERE h.id = attempts.handoff_id) AS \
             handoff_state",
            HandoffState::SQL
        )
    });
    &COLUMNS
}

/// A handoff's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct HandoffRow {
    id: String,
    integration_id: String,
    session_id: String,
    status: String,
    in_flight_until: Option<i64>,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_attempt_id: Option<String>,
    submission_id: Option<String>,
    created_at: i64,
    data: String,
    data_masked: Option<String>,
    origin: String,
}

impl HandoffRow {
    fn summary(&self) -> Result<HandoffSummary, StoreError> {
        let status = Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {}", self.status)))?;
        Ok(HandoffSummary {
            handoff_id: parse(self.id.clone(), "handoff id")?,
            integration_id: parse(self.integration_id.clone(), "integration id")?,
            session_id: self.session_id.clone(),
            status,
            state: HandoffState::of(status, self.in_flight_until.is_some()),
            attempts: self.attempts as u32,
            next_retry_at: opt_time(self.next_attempt_at),
            last_attempt_id: self
                .last_attempt_id
                .clone()
                .map(|l| parse(l, "attempt id"))
                .transpose()?,
            submission_id: self.submission_id.clone(),
            created_at: from_ms(self.created_at),
        })
    }
}

/// The WHERE conditions of a history query (after `WHERE 1 = 1`).
fn push_history_where<DB: Database>(q: &mut QueryBuilder<DB>, f: &HistoryFilter, lookup: TextLookup)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(s) = f.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(i) = f.integration {
        q.push(" AND integration_id = ").push_bind(i.to_string());
    }
    if let Some(s) = &f.session {
        q.push(" AND session_id = ").push_bind(s.clone());
    }
    if let Some(t) = f.trigger {
        q.push(" AND trigger = ").push_bind(t.as_str());
    }
    push_category_and_window(q, f.category, f.since_ms, f.until_ms, "");
    if let Some((at, id)) = &f.cursor {
        q.push(" AND (started_at, id) < (")
            .push_bind(*at)
            .push(", ")
            .push_bind(id.to_string())
            .push(")");
    }
    if let Some(text) = f.text.as_deref() {
        super::search::push_text_condition(q, text, "attempts", lookup);
    }
}

/// An attempt's failure category and a window of start times (`[since, until)`), on the attempts
/// table named by `alias` (`""` or `"a."`).
fn push_category_and_window<DB: Database>(
    q: &mut QueryBuilder<DB>,
    category: Option<ErrorCategory>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    alias: &str,
) where
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(c) = category {
        q.push(format!(" AND {alias}category = "))
            .push_bind(c.as_str());
    }
    if let Some(since) = since_ms {
        q.push(format!(" AND {alias}started_at >= "))
            .push_bind(since);
    }
    if let Some(until) = until_ms {
        q.push(format!(" AND {alias}started_at < "))
            .push_bind(until);
    }
}

/// `SELECT h.id ...` of [`Store::failed_handoffs`]. A failed handoff is an undelivered one: the
/// state index (`handoffs_state`) finds them, and no index of the handoffs' status is kept
/// (each handoff's two commits wrote it; migration `..._drop_handoffs_status.sql`).
fn push_failed_handoffs<DB: Database>(q: &mut QueryBuilder<DB>, f: &RetryFilter, now: i64)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    q.push(format!(
        "SELECT h.id FROM handoffs h JOIN attempts a ON a.id = h.last_attempt_id
         WHERE a.status = 'failed' AND h.status = 'failed' AND h.origin <> 'test'
           AND {} = 'undelivered'
           AND (h.in_flight_until IS NULL OR h.in_flight_until <= ",
        HandoffState::SQL
    ));
    q.push_bind(now).push(")");
    if let Some(i) = f.integration {
        q.push(" AND h.integration_id = ").push_bind(i.to_string());
    }
    super::push_handoff_trigger(q, f.trigger, "h.origin", "h.attempts > 1");
    push_category_and_window(q, f.category, f.since_ms, f.until_ms, "a.");
    q.push(" ORDER BY a.started_at, h.id LIMIT ")
        .push_bind(i64::from(MAX_BULK_RETRY));
}

impl Store {
    /// Records the start of an attempt, claiming the handoff as `claim` allows. Returns the
    /// attempt's number, or `None` when the handoff could not be claimed (nothing is written).
    /// On the local store a new handoff's beginning goes to the journal (`store::journal`),
    /// and anything else through the group commit once the journal is moved: a claim of an
    /// existing handoff (its condition is read in the commit), and a new handoff made from an
    /// inbox message (trigger `webhook`), whose id was made when the message arrived, so that
    /// another process taking the same message may make it too, and only the first may.
    pub async fn begin_attempt(&self, a: &BeginAttempt<'_>) -> Result<Option<u32>, StoreError> {
        match self.backend() {
            Backend::Sqlite(local) => match local.journal() {
                Some(journal) if a.claim == Claim::New && a.trigger != Trigger::Webhook => {
                    let (kind, body) = Entry::Begin(Begin::of(a)).encode()?;
                    journal.append_new(kind, &body)?;
                    Ok(Some(1))
                }
                _ => {
                    local.settle().await?;
                    local.group_commit.begin_attempt(a).await
                }
            },
            Backend::Postgres(shared) => shared.begin_attempt(a).await,
        }
    }

    /// Adds an inbox message and begins the handoff its mapping made of it, in one commit
    /// (see `GroupCommit::add_to_inbox_and_begin`). `None` on the shared store, which does
    /// not combine them: nothing is written, and the message goes the usual way.
    pub async fn add_to_inbox_and_begin(
        &self,
        message: crate::intake::inbox::NewInboxMessage,
        mapping: (crate::ids::MappingId, String),
        expected: Vec<crate::intake::inbox::MappingVersion>,
        a: &BeginAttempt<'_>,
    ) -> Result<Option<super::writer::InboxBegun>, StoreError> {
        match self.backend() {
            // No wait for the journal (`store::journal`): its entries never touch the inbox,
            // and this handoff is new, made from the message (trigger `webhook`, which the
            // journal never takes).
            Backend::Sqlite(local) => local
                .group_commit
                .add_to_inbox_and_begin(message, mapping, expected, a)
                .await
                .map(Some),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// Records how an attempt ended and what becomes of its handoff, in one transaction (on
    /// the local store, one entry of its journal). An attempt of trigger `webhook` (a handoff
    /// made from the inbox, begun through the group commit) finishes there too: intake runs
    /// many messages at once, whose commits the group commit shares already, and the journal's
    /// extra commit and move cost each message about 100 µs of CPU (BENCHMARKS.md, "The journal
    /// in front of the store").
    pub async fn finish_attempt(&self, f: &FinishAttempt<'_>) -> Result<(), StoreError> {
        match self.backend() {
            Backend::Sqlite(local) => match local.journal() {
                Some(journal) if f.trigger != Trigger::Webhook => {
                    let (kind, body) = Entry::Finish(Finish::of(f)).encode()?;
                    journal.append(kind, &body)
                }
                // (No wait for the journal: a webhook's first attempt was begun here too,
                // and no entry touches its handoff.)
                _ => local.group_commit.finish_attempt(f).await,
            },
            Backend::Postgres(shared) => shared.finish_attempt(f).await,
        }
    }

    pub async fn handoff(&self, id: HandoffId) -> Result<Option<HandoffRecord>, StoreError> {
        let row: Option<HandoffRow> = on_backend!(self, db => {
            sqlx::query_as("SELECT * FROM handoffs WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&db.read)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let summary = row.summary()?;
        let data = if crate::crypto::is_sealed(&row.data) {
            StoredData::Sealed(row.data)
        } else {
            StoredData::Plain(
                serde_json::from_str(&row.data)
                    .map_err(|e| StoreError::Corrupt(format!("handoff data: {e}")))?,
            )
        };
        Ok(Some(HandoffRecord {
            summary,
            origin: HandoffOrigin::parse(&row.origin)
                .ok_or_else(|| StoreError::Corrupt(format!("handoff origin {}", row.origin)))?,
            data,
            masked: row.data_masked.and_then(|m| serde_json::from_str(&m).ok()),
        }))
    }

    pub async fn attempt(&self, id: AttemptId) -> Result<Option<AttemptDetail>, StoreError> {
        static ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {} FROM attempts WHERE id = $1", attempt_columns())
        });
        let row: Option<AttemptRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(ONE.as_str()))
                .bind(id.to_string())
                .fetch_optional(&db.read)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let summary = row.summary()?;
        let handoff = self
            .handoff(summary.handoff_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("attempt {id} has no handoff")))?;
        Ok(Some(AttemptDetail {
            summary,
            previous_attempt_id: row
                .previous_attempt_id
                .map(|p| parse(p, "attempt id"))
                .transpose()?,
            submission_id: row.submission_id,
            request: row
                .request
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or(serde_json::Value::Null),
            response_excerpt: row.response_excerpt,
            handoff: handoff.summary,
        }))
    }

    /// Attempts, newest first (or as `f.sort` says), from `f.offset` on.
    pub async fn history(&self, f: &HistoryFilter) -> Result<Vec<AttemptSummary>, StoreError> {
        self.history_with_matches(f, None).await
    }

    /// [`Store::history`] among `matches`, collected for `f.text` (see [`TextMatches`]); without
    /// them, a search collects its own.
    pub async fn history_with_matches(
        &self,
        f: &HistoryFilter,
        matches: Option<&mut TextMatches>,
    ) -> Result<Vec<AttemptSummary>, StoreError> {
        let mut own = None;
        let mut matches = self
            .given_or_text_matches(f.text.as_deref(), matches, &mut own)
            .await?;
        let limit = f.limit.unwrap_or(50).clamp(1, MAX_HISTORY_LIMIT);
        let offset = i64::try_from(f.offset.unwrap_or(0)).unwrap_or(i64::MAX);
        let page_lookup = match matches.as_deref_mut() {
            Some(m) => {
                let counted = m.known_attempt_count().filter(|_| f.filters_only_text());
                let end = (offset as u64).saturating_add(u64::from(limit));
                Some(m.page_lookup(end, counted).await?)
            }
            None => None,
        };
        let sort = f
            .sort
            .filter(|_| f.cursor.is_none())
            .unwrap_or(HistorySort {
                key: SortKey::StartedAt,
                descending: true,
            });
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let col = sort.key.column();
        // Every ordering ends in a unique column, so pages never overlap or skip rows: the id
        // for the default order (as the CLI always listed); for the others, SQLite's rowid
        // (its indexes hold it, so they page without reading the rows they skip) and the id
        // on PostgreSQL, which has no rowid.
        let rows: Vec<AttemptRow> = on_backend!(self, db => {
            let lookup = page_lookup.unwrap_or_else(|| TextLookup::of(db.text_search(), None));
            let tie = db.dialect().pick("rowid", "id");
            let order = if sort.key == SortKey::StartedAt {
                format!(" ORDER BY started_at {dir}, id {dir}")
            } else {
                format!(" ORDER BY {col} {dir}, started_at {dir}, {tie} {dir}")
            };
            // SQLite: the page's rowids first, from the indexes alone; then only those rows
            // are read. An offset deep into 100 000 attempts would otherwise read every row
            // it skips.
            let mut q = QueryBuilder::new(format!(
                "SELECT {} FROM attempts WHERE {tie} IN (SELECT {tie} FROM attempts WHERE 1 = 1",
                attempt_columns()
            ));
            push_history_where(&mut q, f, lookup);
            q.push(&order);
            q.push(" LIMIT ").push_bind(i64::from(limit));
            q.push(" OFFSET ").push_bind(offset);
            q.push(")").push(&order);
            let mut conn = db.reader(matches).await?;
            q.build_query_as().fetch_all(&mut *conn).await
        })?;
        rows.iter().map(AttemptRow::summary).collect()
    }

    /// How many attempts match `f` (its limit, offset and sort play no part).
    pub async fn history_count(&self, f: &HistoryFilter) -> Result<u64, StoreError> {
        self.history_count_with_matches(f, None).await
    }

    /// [`Store::history_count`] among `matches`, collected for `f.text`; without them, a search
    /// collects its own.
    pub async fn history_count_with_matches(
        &self,
        f: &HistoryFilter,
        matches: Option<&mut TextMatches>,
    ) -> Result<u64, StoreError> {
        let mut own = None;
        let mut matches = self
            .given_or_text_matches(f.text.as_deref(), matches, &mut own)
            .await?;
        if let Some(m) = matches.as_deref_mut() {
            // Text alone: the matches are the count (a dense text's, from the index).
            if f.filters_only_text() {
                return m.attempt_count().await;
            }
            // With other conditions, counted among the matches.
            m.complete().await?;
        }
        let n: i64 = on_backend!(self, db => {
            let lookup = TextLookup::of(db.text_search(), matches.as_deref());
            let mut q = QueryBuilder::new("SELECT count(*) FROM attempts WHERE 1 = 1");
            push_history_where(&mut q, f, lookup);
            let mut conn = db.reader(matches).await?;
            q.build_query_scalar().fetch_one(&mut *conn).await
        })?;
        Ok(n.max(0) as u64)
    }

    /// The masked copies of some handoffs' data (for exports), by handoff id.
    pub async fn masked_data(
        &self,
        handoffs: &[HandoffId],
    ) -> Result<std::collections::HashMap<HandoffId, serde_json::Value>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in handoffs.chunks(500) {
            let rows: Vec<(String, String)> = on_backend!(self, db => {
                let mut q = QueryBuilder::new(
                    "SELECT id, data_masked FROM handoffs WHERE data_masked IS NOT NULL AND id IN (",
                );
                let mut list = q.separated(", ");
                for h in chunk {
                    list.push_bind(h.to_string());
                }
                q.push(")");
                q.build_query_as().fetch_all(&db.read).await
            })?;
            for (id, masked) in rows {
                let id: HandoffId = parse(id, "handoff id")?;
                if let Ok(v) = serde_json::from_str(&masked) {
                    out.insert(id, v);
                }
            }
        }
        Ok(out)
    }

    /// The attempts of one handoff, oldest first (its retry chain).
    pub async fn attempts_of(&self, handoff: HandoffId) -> Result<Vec<AttemptSummary>, StoreError> {
        static CHAIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {} FROM attempts WHERE handoff_id = $1 ORDER BY attempt_number",
                attempt_columns()
            )
        });
        let rows: Vec<AttemptRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(CHAIN.as_str()))
                .bind(handoff.to_string())
                .fetch_all(&db.read)
                .await
        })?;
        rows.iter().map(AttemptRow::summary).collect()
    }

    /// Handoffs that failed for good (not those still scheduled for an automatic retry) and
    /// are not in flight, oldest failure first. Configuration tests are left out: a bulk retry
    /// must not re-send test data to a live target (`retry ATTEMPT_ID` still can).
    pub async fn failed_handoffs(
        &self,
        f: &RetryFilter,
        now: i64,
    ) -> Result<Vec<HandoffId>, StoreError> {
        let ids: Vec<String> = on_backend!(self, db => {
            let mut q = QueryBuilder::new("");
            push_failed_handoffs(&mut q, f, now);
            q.build_query_scalar().fetch_all(&db.read).await
        })?;
        ids.into_iter().map(|s| parse(s, "handoff id")).collect()
    }

    /// Failed attempts matching `f` (by their own integration, category and start) whose
    /// handoff was delivered since: what a bulk retry skips because there is nothing left to
    /// deliver. Configuration tests are left out, as they are from the retry itself.
    pub async fn failed_attempts_since_delivered(
        &self,
        f: &RetryFilter,
    ) -> Result<u64, StoreError> {
        let n: i64 = on_backend!(self, db => {
            let mut q = QueryBuilder::new(
                "SELECT count(*) FROM attempts a JOIN handoffs h ON h.id = a.handoff_id
                 WHERE a.status = 'failed' AND h.status = 'succeeded' AND h.origin <> 'test'",
            );
            if let Some(i) = f.integration {
                q.push(" AND a.integration_id = ").push_bind(i.to_string());
            }
            super::push_handoff_trigger(&mut q, f.trigger, "h.origin", "h.attempts > 1");
            if let Some(c) = f.category {
                q.push(" AND a.category = ").push_bind(c.as_str());
            }
            if let Some(since) = f.since_ms {
                q.push(" AND a.started_at >= ").push_bind(since);
            }
            if let Some(until) = f.until_ms {
                q.push(" AND a.started_at < ").push_bind(until);
            }
            q.build_query_scalar().fetch_one(&db.read).await
        })?;
        Ok(n.max(0) as u64)
    }

    /// Reserves for `owner` until `until` up to `limit` handoffs the worker should try now: a
    /// scheduled retry is due, or an attempt's lease ran out because its process died. While a
    /// reservation (`reserved_until`, `lease_owner`) lasts no other worker reserves the handoff
    /// or claims it as due, and `owner` claims it with [`Claim::Due`]. On the PostgreSQL store,
    /// workers reserving at once pass over each other's rows (`FOR UPDATE SKIP LOCKED`);
    /// SQLite runs one write at a time.
    pub async fn lease_due_handoffs(
        &self,
        owner: &str,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<HandoffId>, StoreError> {
        let ids: Vec<String> = on_backend!(self, db => {
            let sql = db.dialect().pick(LEASE_DUE_SQLITE, LEASE_DUE_PG);
            sqlx::query_scalar(sql)
                .bind(until)
                .bind(owner)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *db.write.acquire().await?)
                .await
        })?;
        ids.into_iter().map(|s| parse(s, "handoff id")).collect()
    }

    /// Moves a due handoff's next try to `until` without using up an attempt (it could not be
    /// tried, e.g. the keyring was locked), releasing `owner`'s reservation of it.
    pub async fn postpone_handoff(
        &self,
        id: HandoffId,
        until: i64,
        owner: &str,
    ) -> Result<(), StoreError> {
        on_backend!(self, db => {
            sqlx::query(
                "UPDATE handoffs SET next_attempt_at = $1, in_flight_until = NULL,
                        reserved_until = NULL, lease_owner = NULL, updated_at = $2
                 WHERE id = $3 AND status = 'pending' AND lease_owner = $4
                   AND (in_flight_until IS NULL OR in_flight_until <= $2)",
            )
            .bind(until)
            .bind(crate::store::now_ms())
            .bind(id.to_string())
            .bind(owner)
            .execute(&mut *db.write.acquire().await?)
            .await?;
            db.write.changed().await;
        });
        Ok(())
    }

    /// Gives up on a handoff that can no longer be attempted (its integration was removed, or it
    /// was a configuration test whose process died): its pending attempt fails with `category`.
    pub async fn abandon_handoff(
        &self,
        id: HandoffId,
        category: ErrorCategory,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = crate::store::now_ms();
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            sqlx::query(
                "UPDATE attempts SET status = 'failed', category = coalesce(category, $1),
                        message = $2, finished_at = $3, masking = 'structural'
                 WHERE handoff_id = $4 AND status = 'pending'",
            )
            .bind(category.as_str())
            .bind(reason)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE handoffs SET status = 'failed', next_attempt_at = NULL,
                        in_flight_until = NULL, reserved_until = NULL, lease_owner = NULL,
                        updated_at = $1
                 WHERE id = $2",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }

    /// When the next scheduled retry (or lease expiry) is, if any. Two index reads (the
    /// earliest of each kind), not a scan of every waiting handoff.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        let (scheduled, expiring): (Option<i64>, Option<i64>) = on_backend!(self, db => {
            sqlx::query_as(
                "SELECT (SELECT min(next_attempt_at) FROM handoffs
                         WHERE next_attempt_at IS NOT NULL AND status = 'pending'),
                        (SELECT min(in_flight_until) FROM handoffs
                         WHERE in_flight_until IS NOT NULL AND status = 'pending')",
            )
            .fetch_one(&db.read)
            .await
        })?;
        Ok(match (scheduled, expiring) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

impl Store {
    /// Rewrites what a handoff's attempts recorded (request, response excerpt, message) with
    /// `mask`: for attempts recorded before collected values were masked. Attempts recorded
    /// with structural masking (`masking` set) hold no collected value and are left alone.
    pub async fn remask_attempts(
        &self,
        handoff_id: &str,
        echo: &crate::masking::EchoMask,
    ) -> Result<(), StoreError> {
        // The request is JSON: only its string values are masked (keys, numbers and the
        // structure stay). The excerpt and message are text.
        let mask_request = |r: &str| match serde_json::from_str::<serde_json::Value>(r) {
            Ok(v) => echo.json(&v).to_string(),
            Err(_) => echo.text(r),
        };
        let mask = |t: &str| echo.text(t);
        on_backend!(self, db => {
            let mut conn = db.write.acquire().await?;
            let rows: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
                "SELECT id, request, response_excerpt, message FROM attempts
                 WHERE handoff_id = $1 AND masking IS NULL",
            )
            .bind(handoff_id)
            .fetch_all(&mut *conn)
            .await?;
            for (id, request, excerpt, message) in rows {
                let (r, e, m) = (
                    request.as_deref().map(mask_request),
                    excerpt.as_deref().map(mask),
                    mask(&message),
                );
                if r != request || e != excerpt || m != message {
                    sqlx::query(
                        "UPDATE attempts SET request = $1, response_excerpt = $2, message = $3
                         WHERE id = $4",
                    )
                    .bind(r)
                    .bind(e)
                    .bind(m)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            // The stats triggers moved those attempts' counts to the masked messages; the rows
            // of the old messages are left at zero and still hold their text. A key's count is
            // the sum of its rows (PostgreSQL spreads a key over several, and one may be below
            // zero while the key is not), so a key goes only when its sum does.
            sqlx::query(
                "DELETE FROM stats_errors WHERE (integration_id, trigger, category, message) IN
                   (SELECT integration_id, trigger, category, message FROM stats_errors
                    GROUP BY integration_id, trigger, category, message HAVING sum(n) <= 0)",
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "DELETE FROM stats_errors_daily
                 WHERE (day, integration_id, trigger, category, message) IN
                   (SELECT day, integration_id, trigger, category, message FROM stats_errors_daily
                    GROUP BY day, integration_id, trigger, category, message HAVING sum(n) <= 0)",
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "DELETE FROM stats_errors_hourly
                 WHERE (hour, integration_id, trigger, category, message) IN
                   (SELECT hour, integration_id, trigger, category, message FROM stats_errors_hourly
                    GROUP BY hour, integration_id, trigger, category, message HAVING sum(n) <= 0)",
            )
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bulk retry's list of failed handoffs reads an index of the handoffs (the state's, or
    /// an integration's), never every handoff or attempt, now that no index of the status is
    /// kept.
    #[tokio::test]
    async fn failed_handoffs_are_read_from_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let pool = &store.local("test").unwrap().read;
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'handoffs'",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(
            !indexes.iter().any(|i| i == "handoffs_status"),
            "{indexes:?}"
        );
        for f in [
            RetryFilter::default(),
            RetryFilter {
                integration: Some(IntegrationId::new()),
                ..Default::default()
            },
        ] {
            let mut q = QueryBuilder::<sqlx::Sqlite>::new("EXPLAIN QUERY PLAN ");
            push_failed_handoffs(&mut q, &f, 0);
            let rows: Vec<(i64, i64, i64, String)> =
                q.build_query_as().fetch_all(pool).await.unwrap();
            let plan: Vec<String> = rows.into_iter().map(|r| r.3).collect();
            assert!(
                plan.iter()
                    .any(|p| p.starts_with("SEARCH h USING INDEX handoffs_")),
                "{plan:?}"
            );
            assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "{plan:?}");
        }
        store.close().await;
    }
}

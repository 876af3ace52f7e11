//! The handoff list: what each session asked to deliver, what became of it ([`HandoffState`])
//! and its last attempt. Configuration tests are never listed (nor counted, see `stats`).

use super::queries::parse;
use super::search::{Reader, TextLookup, TextMatches};
use super::{HandoffState, Trigger, opt_time};
use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::store::{Backend, Dialect, Store, StoreError, from_ms, on_backend};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Database, Encode, QueryBuilder, Sqlite, Type};

/// The most rows one handoff query returns.
pub const MAX_HANDOFF_LIMIT: u32 = 10_000;

/// One handoff as the list shows it: its state, and its last attempt's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffRow {
    pub handoff_id: HandoffId,
    pub integration_id: IntegrationId,
    /// As its last attempt recorded it.
    pub integration_name: String,
    pub session_id: String,
    pub status: HandoffState,
    /// How many times it was tried.
    pub attempts: u32,
    pub last_attempt_id: Option<AttemptId>,
    /// The last attempt's failure category (`None` when it succeeded or is under way).
    pub last_category: Option<ErrorCategory>,
    pub last_status_code: Option<u16>,
    pub last_message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the next automatic retry is due, if one is scheduled.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// One page of the handoff list, and how many handoffs match in all.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffPage {
    pub rows: Vec<HandoffRow>,
    pub total: u64,
    /// Where this page starts in the whole list.
    pub offset: u64,
}

/// The column the handoff list is sorted by; ties go by the last change (for `status`), then
/// by creation time, then insertion order, in the same direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum HandoffSort {
    /// The last change (a new attempt, its outcome): the Stats panel's order.
    UpdatedAt,
    /// When the session asked for it: the newest handoff first by default.
    #[default]
    CreatedAt,
    /// By state: descending lists undelivered, then pending, then delivered.
    Status,
    /// By the integration's name (as the last attempt recorded it).
    Integration,
    SessionId,
    /// By the number of tries.
    Attempts,
}

impl HandoffSort {
    pub const ALL: [Self; 6] = [
        Self::UpdatedAt,
        Self::CreatedAt,
        Self::Status,
        Self::Integration,
        Self::SessionId,
        Self::Attempts,
    ];

    /// The ORDER BY columns (over `handoffs h`) before the rowid; each sort has an index with
    /// exactly these (migration `..._handoff_origin.sql`).
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::UpdatedAt => &["h.updated_at", "h.created_at"],
            Self::CreatedAt => &["h.created_at"],
            Self::Status => &[HandoffState::SQL, "h.updated_at", "h.created_at"],
            Self::Integration => &["h.integration_name", "h.created_at"],
            Self::SessionId => &["h.session_id", "h.created_at"],
            Self::Attempts => &["h.attempts", "h.created_at"],
        }
    }
}

/// A sort's direction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Which handoffs to list. Times are UTC milliseconds of creation; `since` inclusive, `until`
/// not.
#[derive(Debug, Clone, Default)]
pub struct HandoffFilter {
    pub state: Option<HandoffState>,
    pub integration: Option<IntegrationId>,
    pub session: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// As the statistics' handoff counts take it (see [`push_handoff_trigger`]).
    pub trigger: Option<Trigger>,
    /// The last attempt's failure category.
    pub category: Option<ErrorCategory>,
    /// Text the session id, the integration name, the last attempt's message or the masked
    /// values contain (case-insensitive; see `attempts::search`).
    pub text: Option<String>,
    pub sort: HandoffSort,
    pub order: SortOrder,
    /// 1 to [`MAX_HANDOFF_LIMIT`] (default 50).
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

impl HandoffFilter {
    /// Whether text is the only condition (the sort, limit and offset aside).
    fn is_text_only(&self) -> bool {
        // Every field named: a new condition must say whether it is one.
        let Self {
            state,
            integration,
            session,
            since_ms,
            until_ms,
            trigger,
            category,
            text: _,
            sort: _,
            order: _,
            limit: _,
            offset: _,
        } = self;
        state.is_none()
            && integration.is_none()
            && session.is_none()
            && since_ms.is_none()
            && until_ms.is_none()
            && trigger.is_none()
            && category.is_none()
    }

    /// Whether the conditions need the last attempt joined (a text search read in the list's
    /// order tests each last attempt).
    fn needs_last_attempt(&self, lookup: TextLookup) -> bool {
        self.category.is_some() || (tests_last_attempt(lookup) && self.text.is_some())
    }
}

/// Whether a text search tests each handoff's last attempt (reading the list in its order, for
/// many matches), not the handoffs found from the matching attempts.
fn tests_last_attempt(lookup: TextLookup) -> bool {
    matches!(
        lookup,
        TextLookup::Matches { in_order: true } | TextLookup::RuleInOrder
    )
}

/// `FROM handoffs h ... WHERE ...`: tests are left out (which also lets the list's partial
/// indexes serve), then the filter's conditions.
fn push_from_where<DB: Database>(q: &mut QueryBuilder<DB>, f: &HandoffFilter, lookup: TextLookup)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    q.push(" FROM handoffs h");
    if f.needs_last_attempt(lookup) {
        q.push(" LEFT JOIN attempts a ON a.id = h.last_attempt_id");
    }
    q.push(" WHERE h.origin <> 'test'");
    push_handoff_conditions(q, f);
    if let Some(c) = f.category {
        q.push(" AND a.category = ").push_bind(c.as_str());
    }
    let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) else {
        return;
    };
    if tests_last_attempt(lookup) {
        super::search::push_text_condition(q, text, "a", lookup);
    } else {
        // The handoffs whose last attempt holds the text, found from the attempts that do (the
        // matches, each checked against its handoff's last attempt): with the last attempt
        // joined and tested row by row, every handoff in the sort's order would be read until
        // a page was full, which pays only when many of them hold it.
        q.push(
            " AND h.id IN (SELECT m.handoff_id FROM attempts m WHERE m.id = \
             (SELECT l.last_attempt_id FROM handoffs l WHERE l.id = m.handoff_id)",
        );
        super::search::push_text_condition(q, text, "m", lookup);
        q.push(")");
    }
}

/// ` AND ...`: the filter's conditions on the handoff `h` itself.
fn push_handoff_conditions<DB: Database>(q: &mut QueryBuilder<DB>, f: &HandoffFilter)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(s) = f.state {
        q.push(format!(" AND {} = ", HandoffState::SQL))
            .push_bind(s.as_str());
    }
    if let Some(i) = f.integration {
        q.push(" AND h.integration_id = ").push_bind(i.to_string());
    }
    if let Some(s) = &f.session {
        q.push(" AND h.session_id = ").push_bind(s.clone());
    }
    if let Some(since) = f.since_ms {
        q.push(" AND h.created_at >= ").push_bind(since);
    }
    if let Some(until) = f.until_ms {
        q.push(" AND h.created_at < ").push_bind(until);
    }
    push_handoff_trigger(q, f.trigger, "h.origin", "h.attempts > 1");
}

/// The handoffs a trigger filter selects, as the statistics count them: an origin (`live`,
/// `webhook`), or tried more than once (`retry`); `test` selects none (tests are not handoffs).
/// `origin` and `retried` are the columns (or conditions) to test, over the rows or the rollups.
pub(crate) fn push_handoff_trigger<DB: sqlx::Database>(
    q: &mut QueryBuilder<DB>,
    trigger: Option<Trigger>,
    origin: &str,
    retried: &str,
) {
    match trigger {
        Some(Trigger::Live) => {
            q.push(format!(" AND {origin} = 'live'"));
        }
        Some(Trigger::Webhook) => {
            q.push(format!(" AND {origin} = 'webhook'"));
        }
        Some(Trigger::Retry) => {
            q.push(format!(" AND {retried}"));
        }
        Some(Trigger::Test) => {
            q.push(" AND 0 = 1");
        }
        None => {}
    }
}

/// A listed handoff's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct ListedRow {
    id: String,
    integration_id: String,
    integration_name: String,
    session_id: String,
    state: String,
    attempts: i64,
    last_attempt_id: Option<String>,
    category: Option<String>,
    status_code: Option<i64>,
    message: Option<String>,
    created_at: i64,
    updated_at: i64,
    next_attempt_at: Option<i64>,
}

impl ListedRow {
    fn into_row(self) -> Result<HandoffRow, StoreError> {
        Ok(HandoffRow {
            handoff_id: parse(self.id, "handoff id")?,
            integration_id: parse(self.integration_id, "integration id")?,
            integration_name: self.integration_name,
            session_id: self.session_id,
            status: HandoffState::parse(&self.state)
                .ok_or_else(|| StoreError::Corrupt(format!("handoff state {}", self.state)))?,
            attempts: self.attempts.max(0) as u32,
            last_attempt_id: self
                .last_attempt_id
                .map(|l| parse(l, "attempt id"))
                .transpose()?,
            last_category: self.category.as_deref().and_then(ErrorCategory::parse),
            last_status_code: self.status_code.map(|c| c as u16),
            last_message: self.message.unwrap_or_default(),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            next_retry_at: opt_time(self.next_attempt_at),
        })
    }
}

/// ` ORDER BY ...` of `f`'s sort, ending in the row key (SQLite's rowid, PostgreSQL's id) so
/// that the order is total: pages neither overlap nor skip.
fn order_by(f: &HandoffFilter, dialect: Dialect) -> String {
    let dir = match f.order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    let columns = match (f.sort, f.state) {
        // Within one state, ordering by it is moot; leaving it out lets SQLite see that the
        // state index serves the rest of the order.
        (HandoffSort::Status, Some(_)) => &f.sort.columns()[1..],
        _ => f.sort.columns(),
    };
    let key = dialect.row_key("h");
    let columns: Vec<String> = columns
        .iter()
        .copied()
        .chain([key.as_str()])
        .map(|c| format!("{c} {dir}"))
        .collect();
    format!(" ORDER BY {}", columns.join(", "))
}

/// `SELECT h.rowid ...` (PostgreSQL: `h.id`) of the page `f` asks for: from an index alone when
/// the filter allows (the sort's index holds the sort column, `created_at` and the rowid),
/// without reading the rows it skips.
fn push_page_rowids<DB: Database>(
    q: &mut QueryBuilder<DB>,
    f: &HandoffFilter,
    dialect: Dialect,
    lookup: TextLookup,
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    q.push(format!("SELECT {}", dialect.row_key("h")));
    push_from_where(q, f, lookup);
    q.push(order_by(f, dialect));
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_HANDOFF_LIMIT);
    q.push(" LIMIT ").push_bind(i64::from(limit));
    q.push(" OFFSET ")
        .push_bind(i64::try_from(f.offset.unwrap_or(0)).unwrap_or(i64::MAX));
}

impl Store {
    /// Handoffs (tests left out), sorted as `f` says (the newest first by default), from
    /// `f.offset` on.
    pub async fn handoffs(&self, f: &HandoffFilter) -> Result<Vec<HandoffRow>, StoreError> {
        self.handoffs_with_matches(f, None).await
    }

    /// [`Store::handoffs`] among `matches`, collected for `f.text` (see [`TextMatches`]);
    /// without them, a search collects its own.
    pub async fn handoffs_with_matches(
        &self,
        f: &HandoffFilter,
        matches: Option<&mut TextMatches>,
    ) -> Result<Vec<HandoffRow>, StoreError> {
        let mut own = None;
        let mut matches = self
            .given_or_text_matches(f.text.as_deref(), matches, &mut own)
            .await?;
        let page_lookup = match matches.as_deref_mut() {
            Some(m) => {
                let counted = m.known_handoff_count().filter(|_| f.is_text_only());
                let end = f
                    .offset
                    .unwrap_or(0)
                    .saturating_add(u64::from(f.limit.unwrap_or(50).clamp(1, MAX_HANDOFF_LIMIT)));
                Some(m.page_lookup(end, counted).await?)
            }
            None => None,
        };
        // The page's rowids first; then only those rows are read, with their last attempt. An
        // offset deep into 100 000 handoffs would otherwise read (and join) every row it skips.
        let rows: Vec<ListedRow> = on_backend!(self, db => {
            let dialect = db.dialect();
            let lookup = page_lookup.unwrap_or_else(|| TextLookup::of(db.text_search(), None));
            let mut q = QueryBuilder::new(format!(
                "SELECT h.id, h.integration_id, h.integration_name, h.session_id, {} AS state, \
                 h.attempts, h.last_attempt_id, a.category, a.status_code, a.message, \
                 h.created_at, h.updated_at, h.next_attempt_at \
                 FROM handoffs h LEFT JOIN attempts a ON a.id = h.last_attempt_id \
                 WHERE {} IN (",
                HandoffState::SQL,
                dialect.row_key("h")
            ));
            push_page_rowids(&mut q, f, dialect, lookup);
            q.push(")").push(order_by(f, dialect));
            let mut conn = db.reader(matches).await?;
            q.build_query_as().fetch_all(&mut *conn).await
        })?;
        rows.into_iter().map(ListedRow::into_row).collect()
    }

    /// How many handoffs match `f` (its sort, limit and offset play no part).
    pub async fn handoff_count(&self, f: &HandoffFilter) -> Result<u64, StoreError> {
        self.handoff_count_with_matches(f, None).await
    }

    /// [`Store::handoff_count`] among `matches`, collected for `f.text`; without them, a search
    /// collects its own.
    pub async fn handoff_count_with_matches(
        &self,
        f: &HandoffFilter,
        matches: Option<&mut TextMatches>,
    ) -> Result<u64, StoreError> {
        let mut own = None;
        let matches = self
            .given_or_text_matches(f.text.as_deref(), matches, &mut own)
            .await?;
        // Counted from the matches, however many. Text alone: the matches less those that are
        // not a listed handoff's last attempt (no row read; a dense text's, from the index). With other conditions: each
        // matching attempt's row, then its handoff's (in that order: two lookups a match), kept
        // when the attempt is the handoff's last. Reading every handoff in the list's order
        // with its last attempt costs about as much at 86 % of them matching, and far more
        // below.
        if let (Backend::Sqlite(local), Some(m)) = (self.backend(), matches) {
            if local.keeps_not_last() && f.is_text_only() {
                if !m.is_complete() {
                    return m.dense_handoff_count().await;
                }
                return count_last_attempts(m).await;
            }
            m.complete().await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT count(*) FROM temp.history_matches t CROSS JOIN attempts a \
                 CROSS JOIN handoffs h WHERE a.rowid = t.attempt_rowid AND h.id = a.handoff_id \
                 AND h.last_attempt_id = a.id AND h.origin <> 'test'",
            );
            push_handoff_conditions(&mut q, f);
            if let Some(c) = f.category {
                q.push(" AND a.category = ").push_bind(c.as_str());
            }
            let n: i64 = q.build_query_scalar().fetch_one(m.connection()).await?;
            return Ok(n.max(0) as u64);
        }
        let n: i64 = on_backend!(self, db => {
            let lookup = TextLookup::of(db.text_search(), None);
            let mut q = QueryBuilder::new("SELECT count(*)");
            push_from_where(&mut q, f, lookup);
            q.build_query_scalar().fetch_one(&db.read).await
        })?;
        Ok(n.max(0) as u64)
    }
}

/// Below this many matches, counting the handoffs among them reads each match (looking it up
/// among the attempts that are not a last one) without first counting those.
const READ_MATCHES_UNDER: u64 = 1_000;

/// How many of `m` are a listed handoff's last attempt (SQLite, text alone): all of them but
/// those in `history_not_last` (migrations/20270110120000_history_not_last.sql), found by
/// reading the smaller of the two sets and looking each row up in the other: no row of
/// `attempts` or `handoffs` is read.
async fn count_last_attempts(m: &mut TextMatches) -> Result<u64, StoreError> {
    let matches = m.attempt_count().await?;
    let conn = m.connection();
    let read_matches = matches < READ_MATCHES_UNDER || {
        // A count of a table this narrow reads its pages without decoding its rows.
        let not_last: i64 = sqlx::query_scalar("SELECT count(*) FROM history_not_last")
            .fetch_one(&mut *conn)
            .await?;
        matches <= not_last.max(0) as u64
    };
    // CROSS JOIN keeps the order written: the outer table is the one read.
    let sql = if read_matches {
        "SELECT count(*) FROM temp.history_matches t CROSS JOIN history_not_last n \
         WHERE n.attempt_rowid = t.attempt_rowid"
    } else {
        "SELECT count(*) FROM history_not_last n CROSS JOIN temp.history_matches t \
         WHERE t.attempt_rowid = n.attempt_rowid"
    };
    let not_last: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await?;
    Ok(matches.saturating_sub(not_last.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan(store: &Store, f: &HandoffFilter) -> String {
        let mut q = QueryBuilder::<sqlx::Sqlite>::new("EXPLAIN QUERY PLAN ");
        push_page_rowids(&mut q, f, Dialect::Sqlite, TextLookup::Rule);
        let rows: Vec<(i64, i64, i64, String)> = q
            .build_query_as()
            .fetch_all(&store.local("test").unwrap().read)
            .await
            .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    /// Every sort, both ways, pages from its index without sorting (so an offset skips index
    /// entries, not rows), alone and with a status or integration filter; counts by state come
    /// from the state index.
    #[tokio::test]
    async fn every_sort_pages_from_an_index_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        for sort in HandoffSort::ALL {
            for order in [SortOrder::Asc, SortOrder::Desc] {
                let f = HandoffFilter {
                    sort,
                    order,
                    offset: Some(90_000),
                    ..Default::default()
                };
                let p = plan(&store, &f).await;
                assert!(
                    p.contains("USING INDEX handoffs_"),
                    "{sort:?} {order:?}: {p}"
                );
                assert!(!p.contains("TEMP B-TREE"), "{sort:?} {order:?}: {p}");
                assert!(
                    !p.contains("SEARCH a ") && !p.contains("SCAN a "),
                    "no join without a need: {p}"
                );
            }
        }
        // "What needs attention" and one integration's handoffs, newest activity first.
        for sort in [HandoffSort::Status, HandoffSort::UpdatedAt] {
            let f = HandoffFilter {
                state: Some(HandoffState::Undelivered),
                sort,
                ..Default::default()
            };
            let p = plan(&store, &f).await;
            assert!(p.contains("handoffs_state"), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "{sort:?}: {p}");
        }
        let f = HandoffFilter {
            integration: Some(IntegrationId::new()),
            sort: HandoffSort::UpdatedAt,
            ..Default::default()
        };
        let p = plan(&store, &f).await;
        assert!(p.contains("handoffs_integration_updated"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");

        let mut q = QueryBuilder::<sqlx::Sqlite>::new("EXPLAIN QUERY PLAN SELECT count(*)");
        push_from_where(
            &mut q,
            &HandoffFilter {
                state: Some(HandoffState::Pending),
                ..Default::default()
            },
            TextLookup::Rule,
        );
        let rows: Vec<(i64, i64, i64, String)> = q
            .build_query_as()
            .fetch_all(&store.local("test").unwrap().read)
            .await
            .unwrap();
        assert!(
            rows.iter().any(|r| r.3.contains("handoffs_state")),
            "{rows:?}"
        );
        store.close().await;
    }
}

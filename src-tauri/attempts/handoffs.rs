//! The handoff list: what each session asked to deliver, what became of it ([`HandoffState`])
//! and its last attempt. Configuration tests are never listed (nor counted, see `stats`).

use super::queries::{like_escape, parse};
use super::{HandoffState, Trigger, opt_time};
use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::store::{Store, StoreError, from_ms};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

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
    /// Text the session id, the integration name or the last attempt's message contains
    /// (case-insensitive for ASCII; LIKE's wildcards match literally).
    pub text: Option<String>,
    pub sort: HandoffSort,
    pub order: SortOrder,
    /// 1 to [`MAX_HANDOFF_LIMIT`] (default 50).
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

impl HandoffFilter {
    /// Whether the conditions need the last attempt joined.
    fn needs_last_attempt(&self) -> bool {
        self.category.is_some() || self.text.as_deref().is_some_and(|t| !t.is_empty())
    }
}

/// `FROM handoffs h ... WHERE ...`: tests are left out (which also lets the list's partial
/// indexes serve), then the filter's conditions.
fn push_from_where(q: &mut QueryBuilder<Sqlite>, f: &HandoffFilter) {
    q.push(" FROM handoffs h");
    if f.needs_last_attempt() {
        q.push(" LEFT JOIN attempts a ON a.id = h.last_attempt_id");
    }
    q.push(" WHERE h.origin <> 'test'");
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
    if let Some(c) = f.category {
        q.push(" AND a.category = ").push_bind(c.as_str());
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", like_escape(text));
        q.push(" AND (h.session_id LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR h.integration_name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR a.message LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
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

fn row_from(row: &SqliteRow) -> Result<HandoffRow, StoreError> {
    let state: String = row.try_get("state")?;
    let last: Option<String> = row.try_get("last_attempt_id")?;
    let category: Option<String> = row.try_get("category")?;
    Ok(HandoffRow {
        handoff_id: parse(row.try_get("id")?, "handoff id")?,
        integration_id: parse(row.try_get("integration_id")?, "integration id")?,
        integration_name: row.try_get("integration_name")?,
        session_id: row.try_get("session_id")?,
        status: HandoffState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("handoff state {state}")))?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
        last_attempt_id: last.map(|l| parse(l, "attempt id")).transpose()?,
        last_category: category.as_deref().and_then(ErrorCategory::parse),
        last_status_code: row
            .try_get::<Option<i64>, _>("status_code")?
            .map(|c| c as u16),
        last_message: row
            .try_get::<Option<String>, _>("message")?
            .unwrap_or_default(),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
        next_retry_at: opt_time(row.try_get("next_attempt_at")?),
    })
}

/// ` ORDER BY ...` of `f`'s sort, ending in the rowid so that the order is total: pages neither
/// overlap nor skip.
fn order_by(f: &HandoffFilter) -> String {
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
    let columns: Vec<String> = columns
        .iter()
        .chain(&["h.rowid"])
        .map(|c| format!("{c} {dir}"))
        .collect();
    format!(" ORDER BY {}", columns.join(", "))
}

/// `SELECT h.rowid ...` of the page `f` asks for: from an index alone when the filter allows
/// (the sort's index holds the sort column, `created_at` and the rowid), without reading the
/// rows it skips.
fn push_page_rowids(q: &mut QueryBuilder<Sqlite>, f: &HandoffFilter) {
    q.push("SELECT h.rowid");
    push_from_where(q, f);
    q.push(order_by(f));
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_HANDOFF_LIMIT);
    q.push(" LIMIT ").push_bind(i64::from(limit));
    q.push(" OFFSET ")
        .push_bind(i64::try_from(f.offset.unwrap_or(0)).unwrap_or(i64::MAX));
}

impl Store {
    /// Handoffs (tests left out), sorted as `f` says (the newest first by default), from
    /// `f.offset` on.
    pub async fn handoffs(&self, f: &HandoffFilter) -> Result<Vec<HandoffRow>, StoreError> {
        // The page's rowids first; then only those rows are read, with their last attempt. An
        // offset deep into 100 000 handoffs would otherwise read (and join) every row it skips.
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT h.id, h.integration_id, h.integration_name, h.session_id, {} AS state, \
             h.attempts, h.last_attempt_id, a.category, a.status_code, a.message, h.created_at, \
             h.updated_at, h.next_attempt_at \
             FROM handoffs h LEFT JOIN attempts a ON a.id = h.last_attempt_id \
             WHERE h.rowid IN (",
            HandoffState::SQL
        ));
        push_page_rowids(&mut q, f);
        q.push(")").push(order_by(f));
        let rows = q
            .build()
            .fetch_all(&self.local("the handoff history")?.read)
            .await?;
        rows.iter().map(row_from).collect()
    }

    /// How many handoffs match `f` (its sort, limit and offset play no part).
    pub async fn handoff_count(&self, f: &HandoffFilter) -> Result<u64, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT count(*)");
        push_from_where(&mut q, f);
        let n: i64 = q
            .build_query_scalar()
            .fetch_one(&self.local("the handoff history")?.read)
            .await?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SORTS: [HandoffSort; 6] = [
        HandoffSort::UpdatedAt,
        HandoffSort::CreatedAt,
        HandoffSort::Status,
        HandoffSort::Integration,
        HandoffSort::SessionId,
        HandoffSort::Attempts,
    ];

    async fn plan(store: &Store, f: &HandoffFilter) -> String {
        let mut q = QueryBuilder::<Sqlite>::new("EXPLAIN QUERY PLAN ");
        push_page_rowids(&mut q, f);
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
        for sort in SORTS {
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

        let mut q = QueryBuilder::<Sqlite>::new("EXPLAIN QUERY PLAN SELECT count(*)");
        push_from_where(
            &mut q,
            &HandoffFilter {
                state: Some(HandoffState::Pending),
                ..Default::default()
            },
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

//! Handoffs and attempts: the durable record of every try. An attempt is written (as `pending`)
//! before its request leaves and completed before `send` returns, so a crash mid-request leaves
//! a trace, and the handoff's lease makes the retry worker pick it up again.

mod handoffs;
mod journal;
mod queries;
mod search;
mod writer;

pub use journal::attach_journal;
pub use writer::{AttemptWrites, InboxBegun};

pub(crate) use handoffs::push_handoff_trigger;
pub use handoffs::{
    HandoffFilter, HandoffPage, HandoffRow, HandoffSort, MAX_HANDOFF_LIMIT, SortOrder,
};
pub use queries::{
    BeginAttempt, Claim, FinishAttempt, HistoryFilter, HistorySort, MAX_HISTORY_TEXT, RetryFilter,
    SortKey, TakenBy,
};
pub use search::{INDEX_BATCH, TextMatches};

use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::store::from_ms;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Live,
    Test,
    Retry,
    Webhook,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
            Self::Retry => "retry",
            Self::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Live, Self::Test, Self::Retry, Self::Webhook]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Status of an attempt, and as stored of a handoff (a handoff is `pending` while in flight or
/// while an automatic retry is scheduled; [`HandoffState`] tells the two apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Where a handoff came from. Retries are attempts of an existing handoff, never its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOrigin {
    Live,
    /// A configuration test: never retried automatically, never counted nor listed as a handoff.
    Test,
    Webhook,
}

impl HandoffOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
            Self::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Live, Self::Test, Self::Webhook]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
    /// The origin of a handoff whose first attempt has `trigger` (a new handoff is never a
    /// retry; if one were, it would be live, as the migration's backfill says).
    pub fn of(trigger: Trigger) -> Self {
        match trigger {
            Trigger::Test => Self::Test,
            Trigger::Webhook => Self::Webhook,
            Trigger::Live | Trigger::Retry => Self::Live,
        }
    }
}

/// What became of a handoff, as support asks it: delivered, still undelivered (failed with no
/// retry left, or waiting for a scheduled retry), or pending (an attempt is under way, or its
/// process died and the worker will take over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum HandoffState {
    Delivered,
    Undelivered,
    Pending,
}

impl HandoffState {
    pub const ALL: [Self; 3] = [Self::Delivered, Self::Undelivered, Self::Pending];

    /// The state as SQL over `handoffs h`: the one expression every query, the `handoffs_state`
    /// index and the rollup triggers use (the migration spells it without the `h.` and with
    /// `NEW.`/`OLD.`; a test checks they agree). The index serves a query only when the query
    /// has exactly this expression.
    pub const SQL: &'static str = "CASE WHEN h.status = 'succeeded' THEN 'delivered' \
        WHEN h.status = 'pending' AND h.in_flight_until IS NOT NULL THEN 'pending' \
        ELSE 'undelivered' END";

    /// The state of a handoff with this stored `status`, in flight or not (the same rule as
    /// [`HandoffState::SQL`]).
    pub fn of(status: Status, in_flight: bool) -> Self {
        match status {
            Status::Succeeded => Self::Delivered,
            Status::Pending if in_flight => Self::Pending,
            Status::Pending | Status::Failed => Self::Undelivered,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Pending => "pending",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One attempt as the history lists it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AttemptSummary {
    pub attempt_id: AttemptId,
    pub handoff_id: HandoffId,
    pub integration_id: IntegrationId,
    pub integration_name: String,
    pub session_id: String,
    pub trigger: Trigger,
    pub automatic: bool,
    pub attempt_number: u32,
    pub status: Status,
    pub category: Option<ErrorCategory>,
    pub retryable: bool,
    pub status_code: Option<u16>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub message: String,
    /// When the automatic retry of this failure is due, if one was scheduled.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// What became of this attempt's handoff: a failed try of a handoff delivered since is
    /// history, not work (the lists offer no retry for it).
    pub handoff_state: HandoffState,
}

/// One page of the history, and how many attempts match in all.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AttemptPage {
    pub rows: Vec<AttemptSummary>,
    pub total: u64,
    /// Where this page starts in the whole list.
    pub offset: u64,
}

/// Everything recorded about one attempt (secrets were redacted before it was written).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AttemptDetail {
    #[serde(flatten)]
    pub summary: AttemptSummary,
    pub previous_attempt_id: Option<AttemptId>,
    pub submission_id: Option<String>,
    pub request: serde_json::Value,
    pub response_excerpt: Option<String>,
    pub handoff: HandoffSummary,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffSummary {
    pub handoff_id: HandoffId,
    pub integration_id: IntegrationId,
    pub session_id: String,
    /// As stored: `pending` both while in flight and while a retry is scheduled (`state` tells).
    pub status: Status,
    /// What became of it (see [`HandoffState`]).
    pub state: HandoffState,
    pub attempts: u32,
    /// When the next automatic retry is due, if one is scheduled.
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_attempt_id: Option<AttemptId>,
    pub submission_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A handoff with the data a retry resends.
#[derive(Debug, Clone)]
pub struct HandoffRecord {
    pub summary: HandoffSummary,
    pub origin: HandoffOrigin,
    pub data: StoredData,
    /// The masked copy for display (`None` for handoffs recorded before it was kept).
    pub masked: Option<serde_json::Value>,
}

/// A handoff's collected data as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredData {
    /// Sealed under a data key (see `crypto`): opening it needs that key.
    Sealed(String),
    /// Plain JSON: recorded before encryption at rest, or a history export's masked copy.
    Plain(serde_json::Value),
}

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

#[cfg(test)]
mod tests {
    use super::{HandoffOrigin, HandoffState, Status, Trigger};

    const MIGRATION: &str = include_str!("../../migrations/20261202120000_handoff_origin.sql");

    /// The rule in Rust is the rule in SQL, for every stored status, in flight or not.
    #[test]
    fn the_state_function_and_the_state_expression_agree() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = format!(
            "SELECT {} FROM (SELECT ?1 AS status, ?2 AS in_flight_until) h",
            HandoffState::SQL
        );
        for status in [Status::Pending, Status::Succeeded, Status::Failed] {
            for in_flight in [None, Some(1_i64)] {
                let state: String = conn
                    .query_row(&sql, rusqlite::params![status.as_str(), in_flight], |r| {
                        r.get(0)
                    })
                    .unwrap();
                assert_eq!(
                    state,
                    HandoffState::of(status, in_flight.is_some()).as_str(),
                    "{status:?}, in flight {in_flight:?}"
                );
            }
        }
        assert_eq!(
            HandoffState::of(Status::Pending, true),
            HandoffState::Pending
        );
        assert_eq!(
            HandoffState::of(Status::Pending, false),
            HandoffState::Undelivered
        );
    }

    /// The index, the backfill and the triggers spell the same expression (an index serves a
    /// query only when the query's expression is the indexed one), and so do the views that
    /// read older exports.
    #[test]
    fn the_migration_and_the_legacy_views_use_the_same_state_expression() {
        let bare = HandoffState::SQL.replace("h.", "");
        assert!(MIGRATION.matches(&bare).count() >= 2, "index and backfill");
        for row in ["NEW.", "OLD."] {
            let prefixed = HandoffState::SQL.replace("h.", row);
            assert!(MIGRATION.contains(&prefixed), "{row}");
        }
        assert!(crate::store::LEGACY_HANDOFF_VIEWS.contains(HandoffState::SQL));
    }

    #[test]
    fn a_new_handoff_takes_its_origin_from_its_first_trigger() {
        assert_eq!(HandoffOrigin::of(Trigger::Live), HandoffOrigin::Live);
        assert_eq!(HandoffOrigin::of(Trigger::Test), HandoffOrigin::Test);
        assert_eq!(HandoffOrigin::of(Trigger::Webhook), HandoffOrigin::Webhook);
        for o in [
            HandoffOrigin::Live,
            HandoffOrigin::Test,
            HandoffOrigin::Webhook,
        ] {
            assert_eq!(HandoffOrigin::parse(o.as_str()), Some(o));
            assert!(MIGRATION.contains(&format!("'{}'", o.as_str())));
        }
    }
}

//! Handoffs and attempts: the durable record of every try. An attempt is written (as `pending`)
//! before its request leaves and completed before `send` returns, so a crash mid-request leaves
//! a trace, and the handoff's lease makes the retry worker pick it up again.

mod queries;
mod writer;

pub use queries::{
    BeginAttempt, Claim, FinishAttempt, HistoryFilter, HistorySort, MAX_HISTORY_TEXT, RetryFilter,
    SortKey,
};
pub(crate) use writer::AttemptWriter;

use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::store::from_ms;
use crate::targets::ErrorCategory;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Status of an attempt, and of a handoff (a handoff is `pending` while in flight or while an
/// automatic retry is scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One attempt as the history lists it.
#[derive(Debug, Clone, Serialize)]
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
}

/// One page of the history, and how many attempts match in all.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AttemptPage {
    pub rows: Vec<AttemptSummary>,
    pub total: u64,
    /// Where this page starts in the whole list.
    pub offset: u64,
}

/// Everything recorded about one attempt (secrets were redacted before it was written).
#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffSummary {
    pub handoff_id: HandoffId,
    pub integration_id: IntegrationId,
    pub session_id: String,
    pub status: Status,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_id: Option<AttemptId>,
    pub submission_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A handoff with the data a retry resends.
#[derive(Debug, Clone)]
pub struct HandoffRecord {
    pub summary: HandoffSummary,
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

//! The requests the UI makes, shared by its two adapters (the HTTP API and the Tauri commands):
//! plain serde types with the UI's camelCase names, and one `App` method per request that
//! checks them (errors name the field) and calls the capability. The adapters only move these
//! in and out; the CLI fills the same requests from its flags.

use super::{App, BulkRetry, HandoffResult, JobId, TestData, TestRequest};
use crate::attempts::{
    AttemptSummary, HandoffFilter, HandoffRow, HandoffSort, HandoffState, HistoryFilter,
    HistorySort, MAX_HANDOFF_LIMIT, MAX_HISTORY_TEXT, RetryFilter, SortKey, SortOrder, Status,
    Trigger,
};
use crate::error::AppError;
use crate::ids::{AttemptId, IntegrationId};
use crate::integrations::TargetKind;
use crate::stats::{SeriesBucket, Stats, StatsFilter};
use crate::targets::ErrorCategory;
use crate::testing::{GenerateOptions, TestReport};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// `GET /api/v1/integrations`: every integration, or those of one kind.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationsQuery {
    #[cfg_attr(test, ts(optional))]
    pub kind: Option<TargetKind>,
}

/// Filters of the attempt history (the CLI's `history` flags). Times are RFC 3339, a date or an
/// age (`30m`, `2h`, `7d`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryQuery {
    #[cfg_attr(test, ts(optional))]
    pub status: Option<Status>,
    /// An integration's id or name.
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub session: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub trigger: Option<Trigger>,
    #[cfg_attr(test, ts(optional))]
    pub category: Option<ErrorCategory>,
    #[cfg_attr(test, ts(optional))]
    pub since: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub until: Option<String>,
    /// 1 to 10 000 (default 50); a page (`/attempts/page`) takes 1 to 1 000 (default 100).
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    /// Rows to skip (paging), at most 100 000 000.
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub offset: Option<u64>,
    /// `startedAt` (default), `durationMs`, `status`, `integration` or `sessionId`.
    #[cfg_attr(test, ts(optional))]
    pub sort: Option<SortKey>,
    /// `asc` or `desc` (default).
    #[cfg_attr(test, ts(optional))]
    pub order: Option<SortOrder>,
    /// Text the session id, message, integration name or masked data contains, ignoring case
    /// (at most 200 characters).
    #[cfg_attr(test, ts(optional))]
    pub q: Option<String>,
}

/// Filters, sort and paging of the handoff list (the CLI's `handoffs` flags). Times are RFC
/// 3339, a date or an age (`30m`, `2h`, `7d`), of the handoff's creation.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandoffsQuery {
    #[cfg_attr(test, ts(optional))]
    pub status: Option<HandoffState>,
    /// An integration's id or name.
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub session: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub since: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub until: Option<String>,
    /// As the statistics take it: `live` and `webhook` select that origin, `retry` the
    /// handoffs tried more than once, `test` none (configuration tests are not handoffs).
    #[cfg_attr(test, ts(optional))]
    pub trigger: Option<Trigger>,
    /// The last attempt's failure category.
    #[cfg_attr(test, ts(optional))]
    pub category: Option<ErrorCategory>,
    /// Text the session id, the integration name, the last attempt's message or the masked data
    /// contains, ignoring case (at most 200 characters).
    #[cfg_attr(test, ts(optional))]
    pub q: Option<String>,
    /// `createdAt` (default, newest first), `updatedAt`, `status`, `integration`, `sessionId` or `attempts`.
    #[cfg_attr(test, ts(optional))]
    pub sort: Option<HandoffSort>,
    /// `desc` (default) or `asc`.
    #[cfg_attr(test, ts(optional))]
    pub order: Option<SortOrder>,
    /// A list (`/handoffs`) takes 1 to 10 000 (default 50); a page (`/handoffs/page`) 1 to 1 000
    /// (default 100).
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    /// Rows to skip (paging), at most 100 000 000.
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub offset: Option<u64>,
}

/// The statistics' filters (the CLI's `stats` flags).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatsQuery {
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub session: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub trigger: Option<Trigger>,
    #[cfg_attr(test, ts(optional))]
    pub since: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub until: Option<String>,
    /// `minute`, `hour` or `day` (default).
    #[cfg_attr(test, ts(optional))]
    pub bucket: Option<SeriesBucket>,
}

/// The longest a `changes` call waits (a proxy in front of `serve` may cut a request held
/// longer).
pub const MAX_CHANGES_WAIT_MS: u32 = 25_000;

/// `GET /api/v1/changes`: wait for the store to change (a live view's signal to refresh).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesQuery {
    /// The change number the caller last saw: the answer comes once the store's differs (at
    /// once without one).
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub after: Option<u64>,
    /// How long to wait for a change, in milliseconds (0 to 25000; default 0).
    #[cfg_attr(test, ts(optional))]
    pub wait_ms: Option<u32>,
}

impl ChangesQuery {
    pub fn wait(&self) -> Result<std::time::Duration, AppError> {
        match self.wait_ms.unwrap_or(0) {
            ms if ms > MAX_CHANGES_WAIT_MS => Err(AppError::invalid(
                "waitMs",
                format!("must be 0 to {MAX_CHANGES_WAIT_MS} (milliseconds)"),
            )),
            ms => Ok(std::time::Duration::from_millis(u64::from(ms))),
        }
    }
}

/// The store's change number: it moves whenever any instance on the store commits a change
/// (an attempt started or finished, a message received, a setting saved).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    #[cfg_attr(test, ts(type = "number"))]
    pub version: u64,
    /// Whether changes are being followed now; `false` while the store's change feed is not
    /// connected (views then rely on their own timer).
    pub live: bool,
}

/// `POST /api/v1/handoffs`: deliver one session's collected data.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    pub integration: String,
    pub session_id: String,
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub data: serde_json::Value,
}

/// `POST /api/v1/retries`: one attempt's handoff, or every failed handoff matching the filter.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryRequest {
    #[cfg_attr(test, ts(optional, type = "string"))]
    pub attempt_id: Option<AttemptId>,
    /// Bulk: every handoff that failed for good and matches the filter below.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub failed: bool,
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    /// `live`/`webhook`: handoffs of that origin; `retry`: those tried more than once (as the
    /// statistics count handoffs).
    #[cfg_attr(test, ts(optional))]
    pub trigger: Option<Trigger>,
    #[cfg_attr(test, ts(optional))]
    pub category: Option<ErrorCategory>,
    #[cfg_attr(test, ts(optional))]
    pub since: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub until: Option<String>,
    /// Only count the handoffs that match.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub dry_run: bool,
}

/// `POST /api/v1/tests`: test an integration's configuration.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestRunRequest {
    pub integration: String,
    /// Custom test data; without it, data is generated from the field schema.
    #[cfg_attr(test, ts(optional, type = "Record<string, unknown>"))]
    pub data: Option<serde_json::Value>,
    /// The seed of generated data (reproduces it); at most 2^53 so that it survives JSON.
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub seed: Option<u64>,
    /// Generate every field, not only the required ones.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub all_fields: bool,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub preview: bool,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub commit: bool,
}

/// `POST /api/v1/health`: run checks (as a job).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthRunRequest {
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    /// 100 to 60 000 (default 5 000).
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub timeout_ms: Option<u64>,
}

/// `POST /api/v1/exports`: write the history to a file, as the CLI's `export` does (its flags'
/// names and time syntax: RFC 3339, a date, or an age such as `7d`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    /// An integration's id or name (or a removed one's id).
    #[cfg_attr(test, ts(optional))]
    pub integration: Option<String>,
    /// Attempts started then or later.
    #[cfg_attr(test, ts(optional))]
    pub since: Option<String>,
    /// Attempts started before then.
    #[cfg_attr(test, ts(optional))]
    pub until: Option<String>,
}

/// A job just started (poll `GET /api/v1/jobs/{id}`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct JobStarted {
    #[cfg_attr(test, ts(type = "number"))]
    pub job_id: JobId,
}

/// What `POST /api/v1/retries` answers: one result, or a bulk job (or a dry run's count).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", untagged)]
pub enum RetryResponse {
    One(HandoffResult),
    Counted(BulkRetry),
    Started(JobStarted),
}

/// The largest seed the UI can send back unchanged (JavaScript numbers are exact up to 2^53).
pub(crate) const MAX_SEED: u64 = (1 << 53) - 1;
const MAX_HEALTH_TIMEOUT_MS: u64 = 60_000;
/// The furthest a history (or handoff) page may start.
const MAX_HISTORY_OFFSET: u64 = 100_000_000;
/// The longest session id a filter takes (no session id is longer).
const MAX_SESSION_FILTER: usize = 200;

fn time(v: Option<&str>, field: &str) -> Result<Option<i64>, AppError> {
    super::time_arg::parse_opt(v.filter(|v| !v.is_empty()), field)
}

impl App {
    /// An integration filter: by id or name, or the bare id of a removed integration (its
    /// history stays).
    pub async fn integration_filter(
        &self,
        id_or_name: Option<&str>,
    ) -> Result<Option<IntegrationId>, AppError> {
        let Some(i) = id_or_name.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        match self.integration(i).await {
            Ok(found) => Ok(Some(found.id)),
            Err(e) => i.parse().map(Some).map_err(|_| e),
        }
    }

    pub async fn integrations_query(
        &self,
        q: &IntegrationsQuery,
    ) -> Result<Vec<crate::integrations::Integration>, AppError> {
        self.integrations(q.kind).await
    }

    pub async fn history_query(&self, q: &HistoryQuery) -> Result<Vec<AttemptSummary>, AppError> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=10_000).contains(&limit) {
            return Err(AppError::invalid("limit", "must be 1 to 10000"));
        }
        let filter = self.history_filter(q, limit).await?;
        self.history(&filter).await
    }

    /// The store's filter for `q` (checked), with `limit` rows.
    pub(crate) async fn history_filter(
        &self,
        q: &HistoryQuery,
        limit: u32,
    ) -> Result<HistoryFilter, AppError> {
        let text = checked_offset_and_text(q.offset, q.q.as_deref())?;
        Ok(HistoryFilter {
            status: q.status,
            integration: self.integration_filter(q.integration.as_deref()).await?,
            session: q.session.clone().filter(|s| !s.is_empty()),
            trigger: q.trigger,
            category: q.category,
            since_ms: time(q.since.as_deref(), "since")?,
            until_ms: time(q.until.as_deref(), "until")?,
            limit: Some(limit),
            offset: q.offset,
            sort: Some(HistorySort {
                key: q.sort.unwrap_or(SortKey::StartedAt),
                descending: q.order.unwrap_or_default() == SortOrder::Desc,
            }),
            text: text.map(str::to_string),
            cursor: None,
        })
    }

    /// Handoffs matching `q` (at most 10 000; 50 unless `limit` says).
    pub async fn handoffs_query(&self, q: &HandoffsQuery) -> Result<Vec<HandoffRow>, AppError> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=MAX_HANDOFF_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_HANDOFF_LIMIT}"),
            ));
        }
        let filter = self.handoff_filter(q, limit).await?;
        self.handoffs(&filter).await
    }

    /// The store's filter for `q` (checked), with `limit` rows.
    pub(crate) async fn handoff_filter(
        &self,
        q: &HandoffsQuery,
        limit: u32,
    ) -> Result<HandoffFilter, AppError> {
        let text = checked_offset_and_text(q.offset, q.q.as_deref())?;
        let session = q
            .session
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if session.is_some_and(|s| s.chars().count() > MAX_SESSION_FILTER) {
            return Err(AppError::invalid(
                "session",
                format!("must be at most {MAX_SESSION_FILTER} characters"),
            ));
        }
        Ok(HandoffFilter {
            state: q.status,
            integration: self.integration_filter(q.integration.as_deref()).await?,
            session: session.map(str::to_string),
            since_ms: time(q.since.as_deref(), "since")?,
            until_ms: time(q.until.as_deref(), "until")?,
            trigger: q.trigger,
            category: q.category,
            text: text.map(str::to_string),
            sort: q.sort.unwrap_or_default(),
            order: q.order.unwrap_or_default(),
            limit: Some(limit),
            offset: q.offset,
        })
    }

    pub async fn stats_query(&self, q: &StatsQuery) -> Result<Stats, AppError> {
        let filter = self.stats_filter(q).await?;
        self.stats(&filter, false).await
    }

    pub async fn send_request(&self, r: SendRequest) -> Result<HandoffResult, AppError> {
        self.send(&r.integration, &r.session_id, r.data, Trigger::Live)
            .await
    }

    pub async fn test_request(&self, r: TestRunRequest) -> Result<TestReport, AppError> {
        if r.seed.is_some_and(|s| s > MAX_SEED) {
            return Err(AppError::invalid(
                "seed",
                format!("must be at most {MAX_SEED}"),
            ));
        }
        let data = match r.data {
            Some(data) => {
                if r.seed.is_some() || r.all_fields {
                    return Err(AppError::invalid(
                        "data",
                        "custom data cannot be combined with seed or allFields (they are for \
                         generated data)",
                    ));
                }
                TestData::Custom(data)
            }
            None => TestData::Generate(GenerateOptions {
                seed: Some(r.seed.unwrap_or_else(|| rand::random::<u64>() & MAX_SEED)),
                all_fields: r.all_fields,
            }),
        };
        let request = TestRequest {
            data,
            preview: r.preview,
            commit: r.commit,
        };
        self.run_test(&r.integration, request).await
    }

    /// Runs health checks as a job; its result is the `HealthReport`.
    pub fn start_health(
        self: &Arc<Self>,
        jobs: &super::Jobs,
        r: HealthRunRequest,
    ) -> Result<JobStarted, AppError> {
        let timeout = health_timeout(&r)?;
        let app = Arc::clone(self);
        let job_id = jobs.start("health", move |progress| async move {
            let report: Box<dyn Fn(usize, usize) + Send + Sync> =
                Box::new(move |done, total| progress.set(done, total));
            app.health_with_progress(r.integration.as_deref(), Some(timeout), &*report)
                .await
        })?;
        Ok(JobStarted { job_id })
    }

    /// Exports the history as a job (progress per handoff written; its result is the
    /// `ExportResult`) into `place`. The filter is checked first: a bad one is an error now,
    /// not a failed job.
    pub async fn start_export(
        self: &Arc<Self>,
        jobs: &super::Jobs,
        r: ExportRequest,
        place: super::ExportPlace,
    ) -> Result<JobStarted, AppError> {
        let filter = self.export_filter(&r).await?;
        let app = Arc::clone(self);
        let job_id = jobs.start("export", move |progress| async move {
            let report = move |done: u64, total: u64| progress.set(done as usize, total as usize);
            app.export_to(place, &filter, &report).await
        })?;
        Ok(JobStarted { job_id })
    }

    /// One retry (answered at once), a dry run's count, or a bulk retry as a job (its result
    /// is the `BulkRetry`).
    pub async fn retry_request(
        self: &Arc<Self>,
        jobs: &super::Jobs,
        r: RetryRequest,
    ) -> Result<RetryResponse, AppError> {
        if let Some(id) = r.attempt_id {
            // Filters and a dry run belong to bulk retries; silently ignoring them would send
            // a handoff someone only meant to count.
            let bulk_only = [
                ("failed", r.failed),
                ("dryRun", r.dry_run),
                ("integration", r.integration.is_some()),
                ("trigger", r.trigger.is_some()),
                ("category", r.category.is_some()),
                ("since", r.since.is_some()),
                ("until", r.until.is_some()),
            ];
            if let Some((field, _)) = bulk_only.iter().find(|(_, given)| *given) {
                return Err(AppError::invalid(
                    *field,
                    "only for retrying every failed handoff (failed: true), not with attemptId",
                ));
            }
            return Ok(RetryResponse::One(self.retry_attempt(id).await?));
        }
        let filter = self.bulk_retry_filter(&r).await?;
        if r.dry_run {
            let counted = self.retry_failed(&filter, true, &|_, _| {}).await?;
            return Ok(RetryResponse::Counted(counted));
        }
        let app = Arc::clone(self);
        let job_id = jobs.start("retry", move |progress| async move {
            let report: Box<dyn Fn(usize, usize) + Send + Sync> =
                Box::new(move |done, total| progress.set(done, total));
            app.retry_failed(&filter, false, &*report).await
        })?;
        Ok(RetryResponse::Started(JobStarted { job_id }))
    }
}

// ---- The checked filters and settings of the requests whose work runs as a job here: the CLI
// ---- runs the same work in the foreground (with its progress on the terminal) from them.

impl App {
    /// The statistics' filter for `q` (checked).
    pub(crate) async fn stats_filter(&self, q: &StatsQuery) -> Result<StatsFilter, AppError> {
        Ok(StatsFilter {
            integration: self.integration_filter(q.integration.as_deref()).await?,
            session: q.session.clone().filter(|s| !s.is_empty()),
            trigger: q.trigger,
            since_ms: time(q.since.as_deref(), "since")?,
            until_ms: time(q.until.as_deref(), "until")?,
            bucket: q.bucket.unwrap_or_default(),
        })
    }

    /// The filter of a bulk retry (`failed: true`; `attemptId` is one retry, not a filter).
    pub(crate) async fn bulk_retry_filter(
        &self,
        r: &RetryRequest,
    ) -> Result<RetryFilter, AppError> {
        if !r.failed {
            return Err(AppError::invalid(
                "attemptId",
                "give the attempt to retry, or failed: true for every failed handoff",
            ));
        }
        Ok(RetryFilter {
            integration: self.integration_filter(r.integration.as_deref()).await?,
            trigger: r.trigger,
            category: r.category,
            since_ms: time(r.since.as_deref(), "since")?,
            until_ms: time(r.until.as_deref(), "until")?,
        })
    }

    /// The export's filter for `r` (checked).
    pub(crate) async fn export_filter(
        &self,
        r: &ExportRequest,
    ) -> Result<crate::export::ExportFilter, AppError> {
        Ok(crate::export::ExportFilter {
            integration: self.integration_filter(r.integration.as_deref()).await?,
            since_ms: time(r.since.as_deref(), "since")?,
            until_ms: time(r.until.as_deref(), "until")?,
        })
    }
}

/// The most each health check may take, as `r` asks (checked; 5 s unless given).
pub(crate) fn health_timeout(r: &HealthRunRequest) -> Result<Duration, AppError> {
    let timeout = r.timeout_ms.unwrap_or(5_000);
    if !(100..=MAX_HEALTH_TIMEOUT_MS).contains(&timeout) {
        return Err(AppError::invalid("timeoutMs", "must be 100 to 60000"));
    }
    Ok(Duration::from_millis(timeout))
}

/// A history or handoffs query's offset and search text, checked; the text trimmed (none when
/// empty).
fn checked_offset_and_text(
    offset: Option<u64>,
    text: Option<&str>,
) -> Result<Option<&str>, AppError> {
    if offset.is_some_and(|o| o > MAX_HISTORY_OFFSET) {
        return Err(AppError::invalid(
            "offset",
            format!("must be at most {MAX_HISTORY_OFFSET}"),
        ));
    }
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_HISTORY_TEXT) {
        return Err(AppError::invalid(
            "q",
            format!("must be at most {MAX_HISTORY_TEXT} characters"),
        ));
    }
    Ok(text)
}

//! Statistics over attempts: totals, success rate, average and p50/p95/p99 duration, failures
//! by category, top error messages and a time series, filtered by integration, session,
//! trigger and time window. Counted per attempt: a failed attempt whose retry is scheduled
//! counts as failed. Beside them, the handoffs (what sessions asked to deliver) by state
//! ([`HandoffCounts`]): a handoff whose retry was delivered counts as delivered.
//!
//! Fast on a large history because triggers keep daily and hourly rollups (migrations
//! `..._stats.sql`, `..._stats_hourly.sql`): whole UTC days are read from the daily rollups, the
//! whole hours of the partial days at a window's edges from the hourly ones, and only the partial
//! hours at its ends (and a session's attempts, which rollups don't key) from the attempts
//! themselves.
//! Percentiles come from duration buckets that are exact below 100 ms and within 1% above
//! (see [`histogram`]). [`Store::stats_exact`] computes everything from the attempts alone,
//! with exact percentiles: the reference the tests and the benchmark compare with.

mod fold;
pub mod histogram;
mod queries;

use crate::attempts::{HandoffState, Trigger};
use crate::category::ErrorCategory;
use crate::ids::IntegrationId;
use chrono::{DateTime, Utc};
use histogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

pub use fold::Folded;
pub use queries::{MAX_SERIES_POINTS, StatsError};

pub const DAY_MS: i64 = 86_400_000;
/// How many error messages `topErrors` lists.
pub const TOP_ERRORS: usize = 10;
/// Error messages are grouped by their first this many characters.
pub const ERROR_MESSAGE_CHARS: usize = 200;

/// The width of the time series' buckets (UTC-aligned).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum SeriesBucket {
    Minute,
    Hour,
    #[default]
    Day,
}

impl SeriesBucket {
    pub fn ms(self) -> i64 {
        match self {
            Self::Minute => 60_000,
            Self::Hour => 3_600_000,
            Self::Day => DAY_MS,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

/// Which attempts (and handoffs) to count. Times are UTC milliseconds; `since` is inclusive,
/// `until` not. Handoffs fall in the window by their creation time; `trigger` selects handoffs
/// of that origin (`live`, `webhook`), those retried at least once (`retry`), or none (`test`:
/// configuration tests are not handoffs).
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    pub integration: Option<IntegrationId>,
    pub session: Option<String>,
    pub trigger: Option<Trigger>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub bucket: SeriesBucket,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Attempts under way (or whose process died and the worker has not yet taken over).
    pub pending: u64,
    /// Succeeded over finished (succeeded + failed) attempts; `None` when none finished.
    pub success_rate: Option<f64>,
    /// Over finished attempts.
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Failed attempts per category; every category is listed.
    pub failures_by_category: BTreeMap<&'static str, u64>,
    /// The most frequent failure messages, most frequent first.
    pub top_errors: Vec<TopError>,
    pub series: Vec<SeriesPoint>,
    pub bucket: SeriesBucket,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `true` when computed from every attempt (exact percentiles), `false` from rollups.
    pub exact: bool,
    /// The handoffs the filters select, by state (configuration tests never count; a handoff
    /// falls in the window by its creation time).
    pub handoffs: HandoffCounts,
}

/// Handoffs by state (see `attempts::HandoffState`): `total` is the sum of the other three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffCounts {
    pub total: u64,
    pub delivered: u64,
    /// Failed with no retry left, or waiting for a scheduled retry.
    pub undelivered: u64,
    /// An attempt is under way (or its process died and the worker will take over).
    pub pending: u64,
}

impl HandoffCounts {
    fn merge(&mut self, o: &HandoffCounts) {
        self.total += o.total;
        self.delivered += o.delivered;
        self.undelivered += o.undelivered;
        self.pending += o.pending;
    }

    /// Adds `n` handoffs in `state` (as `HandoffState::SQL` spells it).
    fn add(&mut self, state: &str, n: u64) {
        match HandoffState::parse(state) {
            Some(HandoffState::Delivered) => self.delivered += n,
            Some(HandoffState::Pending) => self.pending += n,
            // The state expression has no other outcome.
            Some(HandoffState::Undelivered) | None => self.undelivered += n,
        }
        self.total += n;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TopError {
    pub message: String,
    pub category: Option<ErrorCategory>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    pub start: DateTime<Utc>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub pending: u64,
    pub avg_ms: Option<f64>,
}

/// Counts of a set of attempts (one day, one series bucket, or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    total: u64,
    succeeded: u64,
    failed: u64,
    pending: u64,
    /// Finished attempts with a duration, and the sum of those durations.
    timed: u64,
    duration_sum: i64,
    /// Failed attempts per category, in [`ErrorCategory::ALL`] order.
    by_category: [u64; 6],
}

impl Counts {
    fn merge(&mut self, o: &Counts) {
        self.total += o.total;
        self.succeeded += o.succeeded;
        self.failed += o.failed;
        self.pending += o.pending;
        self.timed += o.timed;
        self.duration_sum += o.duration_sum;
        for (a, b) in self.by_category.iter_mut().zip(o.by_category) {
            *a += b;
        }
    }

    fn avg_ms(&self) -> Option<f64> {
        (self.timed > 0).then(|| round1(self.duration_sum as f64 / self.timed as f64))
    }
}

/// Everything counted over some attempts; the parts read from rollups and from attempts merge.
#[derive(Debug, Default)]
struct Tally {
    counts: Counts,
    durations: Histogram,
    /// Exact durations, when computing exactly (then `durations` stays empty).
    exact_durations: Vec<i64>,
    /// Failures per (category, message).
    errors: HashMap<(String, String), u64>,
    /// Counts per series bucket (start in ms / bucket width).
    series: BTreeMap<i64, Counts>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.counts.merge(&o.counts);
        self.durations.merge(&o.durations);
        self.exact_durations.extend(o.exact_durations);
        for (k, n) in o.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for (k, c) in o.series {
            self.series.entry(k).or_default().merge(&c);
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The exact nearest-rank percentile of sorted durations.
fn exact_percentile(sorted: &[i64], p: f64) -> Option<f64> {
    let rank = histogram::nearest_rank(sorted.len() as u64, p)?;
    Some(sorted[rank as usize - 1] as f64)
}

impl Tally {
    /// The report. `span` is the series' first and last bucket (inclusive), when known.
    fn into_stats(mut self, filter: &StatsFilter, exact: bool, span: Option<(i64, i64)>) -> Stats {
        let c = self.counts;
        let finished = c.succeeded + c.failed;
        let (p50, p95, p99) = if exact {
            self.exact_durations.sort_unstable();
            let d = &self.exact_durations;
            (
                exact_percentile(d, 0.50),
                exact_percentile(d, 0.95),
                exact_percentile(d, 0.99),
            )
        } else {
            let h = &self.durations;
            (
                h.percentile(0.50).map(round1),
                h.percentile(0.95).map(round1),
                h.percentile(0.99).map(round1),
            )
        };
        let failures_by_category = ErrorCategory::ALL
            .iter()
            .zip(c.by_category)
            .map(|(cat, n)| (cat.as_str(), n))
            .collect();
        let mut top: Vec<TopError> = self
            .errors
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((category, message), count)| TopError {
                message,
                category: ErrorCategory::parse(&category),
                count,
            })
            .collect();
        top.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        top.truncate(TOP_ERRORS);
        let width = filter.bucket.ms();
        let series = match span {
            Some((first, last)) => (first..=last)
                .map(|b| {
                    let counts = self.series.get(&b).copied().unwrap_or_default();
                    SeriesPoint {
                        start: crate::store::from_ms(b * width),
                        total: counts.total,
                        succeeded: counts.succeeded,
                        failed: counts.failed,
                        pending: counts.pending,
                        avg_ms: counts.avg_ms(),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        Stats {
            total: c.total,
            succeeded: c.succeeded,
            failed: c.failed,
            pending: c.pending,
            success_rate: (finished > 0).then(|| c.succeeded as f64 / finished as f64),
            avg_ms: c.avg_ms(),
            p50_ms: p50,
            p95_ms: p95,
            p99_ms: p99,
            failures_by_category,
            top_errors: top,
            series,
            bucket: filter.bucket,
            since: filter.since_ms.map(crate::store::from_ms),
            until: filter.until_ms.map(crate::store::from_ms),
            exact,
            handoffs: HandoffCounts::default(),
        }
    }
}

impl From<StatsError> for crate::error::AppError {
    fn from(e: StatsError) -> Self {
        use StatsError as S;
        match e {
            S::TooManyPoints { .. } => crate::error::AppError::invalid("bucket", e.to_string()),
            S::EmptyWindow => crate::error::AppError::invalid("until", e.to_string()),
            S::Store(e) => e.into(),
        }
    }
}

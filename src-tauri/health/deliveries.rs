//! What an integration's recent deliveries say: the `deliveries` check of every health run (and
//! of the last-known state, recomputed at read time) and the Integrations list's delivery
//! summaries. Both read the same store query.
//!
//! A *delivery* is a finished attempt (succeeded or failed; pending ones are left out) of a
//! handoff that is not a configuration test, whatever its trigger (live, webhook, a retry by the
//! worker or by a person). The rule, newest first over at most `health.recentDeliveries`
//! deliveries of the last `health.windowHours`: `error` when at least `failuresForError` are in
//! the sample and the latest `failuresForError` all failed; `warning` when any in the sample
//! failed otherwise; `healthy` when none failed. With no recent delivery the check is healthy
//! and says that the probes decide alone. So once deliveries succeed again the check is no
//! longer an error.

use super::{Check, HealthStatus, ms, status_text};
use crate::category::ErrorCategory;
use crate::ids::{AttemptId, HandoffId, IntegrationId};
use crate::integrations::HealthSettings;
use crate::store::{Store, StoreError, from_ms, on_backend};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The check's name.
pub const DELIVERIES: &str = "deliveries";

/// How much of a stored message a reason or a summary quotes.
const MESSAGE_CHARS: usize = 200;

/// The one place that says which attempts belong to a configuration test: those of a handoff
/// whose `origin` is `test`. `a` is the attempt being filtered. A macro, so that the queries
/// below stay literal strings.
///
/// Only a retry (trigger `retry`) needs its handoff looked up: a configuration test's own
/// attempt has the trigger `test`, and any other trigger is the first attempt of a handoff that
/// is not a test. Testing the row's own trigger first spares the lookup for nine rows in ten,
/// which halves a long window's count.
macro_rules! not_a_test_handoff {
    () => {
        "(a.trigger <> 'test' AND (a.trigger <> 'retry' OR \
         (SELECT h.origin FROM handoffs h WHERE h.id = a.handoff_id) <> 'test'))"
    };
}

/// Deliveries of integration `$1` started at `$2` or later: finished attempts (pending ones
/// have no outcome yet) of handoffs that are not configuration tests.
macro_rules! deliveries_of {
    () => {
        concat!(
            "FROM attempts a WHERE a.integration_id = $1 AND a.started_at >= $2 \
             AND a.status IN ('succeeded', 'failed') AND ",
            not_a_test_handoff!()
        )
    };
}

/// The latest deliveries, newest first, at most `$3`. The `attempts_integration` index
/// `(integration_id, started_at DESC)` gives them in order, so only the rows returned (and
/// pending or test attempts between them) are read.
const LATEST: &str = concat!(
    "SELECT a.id, a.handoff_id, a.started_at, a.status, a.category, a.status_code, a.message ",
    deliveries_of!(),
    " ORDER BY a.started_at DESC LIMIT $3"
);

/// [`LATEST`] on PostgreSQL: ties broken by id, as SQLite's index breaks them by rowid (an
/// extra sort key there would make SQLite sort every matching row).
const LATEST_PG: &str = concat!(
    "SELECT a.id, a.handoff_id, a.started_at, a.status, a.category, a.status_code, a.message ",
    deliveries_of!(),
    " ORDER BY a.started_at DESC, a.id DESC LIMIT $3"
);

/// How many deliveries, and how many failed.
const COUNTS: &str = concat!(
    "SELECT count(*) AS deliveries, count(*) FILTER (WHERE a.status = 'failed') AS failed ",
    deliveries_of!()
);

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    Succeeded,
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// One delivery (a finished attempt that is not part of a configuration test).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub attempt_id: AttemptId,
    pub handoff_id: HandoffId,
    /// When the attempt started.
    pub at: DateTime<Utc>,
    pub status: DeliveryOutcome,
    pub category: Option<ErrorCategory>,
    pub status_code: Option<u16>,
    /// The recorded message (collected values masked), at most its first 200 characters.
    pub message: String,
}

/// An integration's deliveries over a window.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWindow {
    /// The window's start (its end is now).
    pub since: DateTime<Utc>,
    pub deliveries: u64,
    pub failed: u64,
    /// `failed / deliveries`; `None` when there was none.
    pub failure_rate: Option<f64>,
}

/// What the Integrations list shows of an integration's deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    pub integration_id: IntegrationId,
    /// The latest delivery ever (not only in the window); `None` when there was none.
    pub last_delivery: Option<Delivery>,
    pub window: DeliveryWindow,
}

/// `s` cut to `n` characters, with `…` when something was cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// A delivery's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    handoff_id: String,
    started_at: i64,
    status: String,
    category: Option<String>,
    status_code: Option<i64>,
    message: String,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("{what} '{value}'"));
        Ok(Delivery {
            attempt_id: self
                .id
                .parse()
                .map_err(|_| corrupt("attempt id", &self.id))?,
            handoff_id: self
                .handoff_id
                .parse()
                .map_err(|_| corrupt("handoff id", &self.handoff_id))?,
            at: from_ms(self.started_at),
            status: match self.status.as_str() {
                "succeeded" => DeliveryOutcome::Succeeded,
                "failed" => DeliveryOutcome::Failed,
                other => return Err(corrupt("delivery status", other)),
            },
            category: self.category.as_deref().and_then(ErrorCategory::parse),
            status_code: self.status_code.and_then(|c| u16::try_from(c).ok()),
            message: clip(&self.message, MESSAGE_CHARS),
        })
    }
}

impl Store {
    /// An integration's latest deliveries, newest first: at most `limit`, started at `since_ms`
    /// or later (at any time when `None`).
    pub(crate) async fn latest_deliveries(
        &self,
        integration: IntegrationId,
        since_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = on_backend!(self, db => {
            sqlx::query_as(db.dialect().pick(LATEST, LATEST_PG))
                .bind(integration.to_string())
                .bind(since_ms.unwrap_or(i64::MIN))
                .bind(i64::from(limit))
                .fetch_all(&db.read)
                .await
        })?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    /// How many deliveries an integration had since `since_ms`, and how many of them failed.
    pub(crate) async fn delivery_counts(
        &self,
        integration: IntegrationId,
        since_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let (deliveries, failed): (i64, i64) = on_backend!(self, db => {
            sqlx::query_as(COUNTS)
                .bind(integration.to_string())
                .bind(since_ms)
                .fetch_one(&db.read)
                .await
        })?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((count(deliveries), count(failed)))
    }

    /// An integration's last delivery and its deliveries since `since_ms`.
    pub(crate) async fn delivery_summary(
        &self,
        integration: IntegrationId,
        since_ms: i64,
    ) -> Result<DeliverySummary, StoreError> {
        let last = self.latest_deliveries(integration, None, 1).await?;
        let (deliveries, failed) = self.delivery_counts(integration, since_ms).await?;
        Ok(DeliverySummary {
            integration_id: integration,
            last_delivery: last.into_iter().next(),
            window: DeliveryWindow {
                since: from_ms(since_ms),
                deliveries,
                failed,
                failure_rate: (deliveries > 0).then(|| failed as f64 / deliveries as f64),
            },
        })
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "delivery" } else { "deliveries" }
}

/// A failed delivery in words: when, its category, status code and message.
fn failure_text(d: &Delivery) -> String {
    let category = d.category.map_or("failed", ErrorCategory::as_str);
    // An API failure's message usually starts with its status already ("503 Service …").
    let code = d
        .status_code
        .filter(|c| !d.message.starts_with(&c.to_string()))
        .map(|c| format!(", {}", status_text(c)))
        .unwrap_or_default();
    let message = if d.message.is_empty() {
        String::new()
    } else {
        format!(": {}", d.message)
    };
    format!("{}: {category}{code}{message}", time(d.at))
}

/// The rule over a sample of recent deliveries (newest first, at most
/// `settings.recent_deliveries()` of the last `settings.window_hours()`). `None` when the
/// sample is empty: the probes decide alone (see [`no_recent_reason`]).
pub fn verdict(sample: &[Delivery], settings: &HealthSettings) -> Option<(HealthStatus, String)> {
    let latest = sample.first()?;
    let n = sample.len();
    let failed: Vec<&Delivery> = sample
        .iter()
        .filter(|d| d.status == DeliveryOutcome::Failed)
        .collect();
    let Some(last_failure) = failed.first() else {
        let reason = if n == 1 {
            format!("the last delivery succeeded ({})", time(latest.at))
        } else {
            format!(
                "the last {n} deliveries succeeded (the latest {})",
                time(latest.at)
            )
        };
        return Some((HealthStatus::Healthy, reason));
    };
    let threshold = settings.failures_for_error() as usize;
    let in_a_row = sample
        .iter()
        .take_while(|d| d.status == DeliveryOutcome::Failed)
        .count();
    let mut counts = format!("{} of the last {n} {} failed", failed.len(), plural(n));
    if in_a_row == 0 {
        counts.push_str(&format!(", but the latest succeeded ({})", time(latest.at)));
    } else if in_a_row < n {
        counts.push_str(&format!(", the latest {in_a_row} in a row"));
    }
    let last = format!("last failure {}", failure_text(last_failure));
    if in_a_row >= threshold {
        return Some((
            HealthStatus::Error,
            format!("{counts}; {last} — see the failed attempts in the history"),
        ));
    }
    let note = if in_a_row > 0 {
        format!(" ({threshold} in a row would be an error)")
    } else {
        String::new()
    };
    Some((HealthStatus::Warning, format!("{counts}{note}; {last}")))
}

/// The reason when no delivery is recent: the probes decide alone; the last one ever, if any.
pub fn no_recent_reason(last: Option<&Delivery>, settings: &HealthSettings) -> String {
    let hours = settings.window_hours();
    match last {
        None => {
            format!("no deliveries in the last {hours} h (none yet), so the probes decide alone")
        }
        Some(d) => format!(
            "no deliveries in the last {hours} h, so the probes decide alone; the last one was \
             {} and {}",
            time(d.at),
            d.status.as_str()
        ),
    }
}

/// The `deliveries` check of one integration at `now`, from the store (nothing is contacted),
/// bounded by `timeout`.
pub async fn check(
    store: &Store,
    integration: IntegrationId,
    settings: &HealthSettings,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Check {
    let started = Instant::now();
    let since = now.timestamp_millis() - i64::from(settings.window_hours()) * 3_600_000;
    let read = async {
        let sample = store
            .latest_deliveries(integration, Some(since), settings.recent_deliveries())
            .await?;
        if let Some(verdict) = verdict(&sample, settings) {
            return Ok(verdict);
        }
        let last = store.latest_deliveries(integration, None, 1).await?;
        Ok::<_, StoreError>((
            HealthStatus::Healthy,
            no_recent_reason(last.first(), settings),
        ))
    };
    let (status, reason) = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(v)) => v,
        // Not knowing is not proof of failure; the store's own check says what is wrong.
        Ok(Err(e)) => (
            HealthStatus::Warning,
            format!("could not read the recent deliveries from the store: {e}"),
        ),
        Err(_) => (
            HealthStatus::Warning,
            format!(
                "the store did not give the recent deliveries within {} ms",
                ms(timeout)
            ),
        ),
    };
    Check {
        name: DELIVERIES.to_string(),
        status,
        latency_ms: ms(started.elapsed()),
        reason: Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryOutcome::{Failed, Succeeded};

    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-12-02T10:{minute:02}:00Z").parse().unwrap()
    }

    /// Deliveries newest first, one a minute back from 10:59.
    fn sample(outcomes: &[DeliveryOutcome]) -> Vec<Delivery> {
        outcomes
            .iter()
            .enumerate()
            .map(|(n, &status)| {
                let failed = status == Failed;
                Delivery {
                    attempt_id: AttemptId::new(),
                    handoff_id: HandoffId::new(),
                    at: at(59 - n as u32),
                    status,
                    category: failed.then_some(ErrorCategory::Server),
                    status_code: Some(if failed { 503 } else { 201 }),
                    message: if failed {
                        "503 Service Unavailable: down for maintenance".into()
                    } else {
                        "201 Created".into()
                    },
                }
            })
            .collect()
    }

    fn status(outcomes: &[DeliveryOutcome], settings: &HealthSettings) -> Option<HealthStatus> {
        verdict(&sample(outcomes), settings).map(|v| v.0)
    }

    #[test]
    fn the_latest_failures_in_a_row_decide_error() {
        let d = HealthSettings::default();
        assert_eq!(
            status(&[Failed, Failed, Failed], &d),
            Some(HealthStatus::Error)
        );
        assert_eq!(
            status(&[Failed, Failed, Failed, Succeeded, Succeeded], &d),
            Some(HealthStatus::Error)
        );
        // Fewer than three in the sample: never an error (no larger minimum sample).
        assert_eq!(status(&[Failed, Failed], &d), Some(HealthStatus::Warning));
        // Three failures, but not the latest three.
        assert_eq!(
            status(&[Failed, Failed, Succeeded, Failed], &d),
            Some(HealthStatus::Warning)
        );
        // Recovered: the latest succeeded.
        assert_eq!(
            status(&[Succeeded, Failed, Failed, Failed], &d),
            Some(HealthStatus::Warning)
        );
        assert_eq!(
            status(&[Succeeded, Succeeded, Succeeded], &d),
            Some(HealthStatus::Healthy)
        );
        assert_eq!(status(&[], &d), None);
    }

    #[test]
    fn the_settings_move_the_threshold() {
        let one = HealthSettings {
            failures_for_error: Some(1),
            ..Default::default()
        };
        assert_eq!(status(&[Failed], &one), Some(HealthStatus::Error));
        assert_eq!(
            status(&[Succeeded, Failed], &one),
            Some(HealthStatus::Warning)
        );
        let five = HealthSettings {
            failures_for_error: Some(5),
            ..Default::default()
        };
        assert_eq!(
            status(&[Failed, Failed, Failed, Failed], &five),
            Some(HealthStatus::Warning)
        );
        assert_eq!(
            status(&[Failed, Failed, Failed, Failed, Failed], &five),
            Some(HealthStatus::Error)
        );
    }

    #[test]
    fn the_reason_quotes_the_last_failure_and_the_counts() {
        let d = HealthSettings::default();
        let (_, reason) = verdict(&sample(&[Failed, Failed, Failed]), &d).unwrap();
        assert!(
            reason.starts_with("3 of the last 3 deliveries failed"),
            "{reason}"
        );
        assert!(
            reason.contains(
                "last failure 2026-12-02T10:59:00Z: server: 503 Service Unavailable: down for \
                 maintenance"
            ),
            "{reason}"
        );
        let (_, reason) = verdict(&sample(&[Succeeded, Failed, Succeeded]), &d).unwrap();
        assert!(
            reason.starts_with(
                "1 of the last 3 deliveries failed, but the latest succeeded \
                 (2026-12-02T10:59:00Z); last failure 2026-12-02T10:58:00Z: server"
            ),
            "{reason}"
        );
        let (_, reason) = verdict(&sample(&[Failed, Failed, Succeeded]), &d).unwrap();
        assert!(
            reason.starts_with(
                "2 of the last 3 deliveries failed, the latest 2 in a row (3 in a row would be \
                 an error); last failure 2026-12-02T10:59:00Z"
            ),
            "{reason}"
        );
        let (_, reason) = verdict(&sample(&[Succeeded, Succeeded]), &d).unwrap();
        assert_eq!(
            reason,
            "the last 2 deliveries succeeded (the latest 2026-12-02T10:59:00Z)"
        );
    }

    #[test]
    fn a_status_code_the_message_does_not_start_with_is_quoted() {
        let mut d = sample(&[Failed]).remove(0);
        d.category = Some(ErrorCategory::Validation);
        d.status_code = Some(422);
        d.message = "the target refused the data: email is invalid".into();
        assert_eq!(
            failure_text(&d),
            "2026-12-02T10:59:00Z: validation, 422 Unprocessable Entity: the target refused \
             the data: email is invalid"
        );
        d.status_code = None;
        d.category = Some(ErrorCategory::Timeout);
        d.message = "no answer within 10000 ms".into();
        assert_eq!(
            failure_text(&d),
            "2026-12-02T10:59:00Z: timeout: no answer within 10000 ms"
        );
    }

    #[test]
    fn without_recent_deliveries_the_probes_decide_and_the_last_one_is_named() {
        let d = HealthSettings {
            window_hours: Some(6),
            ..Default::default()
        };
        assert_eq!(
            no_recent_reason(None, &d),
            "no deliveries in the last 6 h (none yet), so the probes decide alone"
        );
        let last = sample(&[Failed]).remove(0);
        assert_eq!(
            no_recent_reason(Some(&last), &d),
            "no deliveries in the last 6 h, so the probes decide alone; the last one was \
             2026-12-02T10:59:00Z and failed"
        );
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ééééé", 2), "éé…");
    }
}

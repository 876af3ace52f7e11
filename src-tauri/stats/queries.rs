//! Reading statistics: from the rollups for whole days, from `attempts` for the rest. Values
//! are always bound; the only SQL assembled at run time is the choice among fixed fragments.
//! The same statements serve both back ends: sums are cast back to BIGINT (PostgreSQL's
//! `sum(bigint)` is NUMERIC), conditional counts use `FILTER (WHERE …)`.

use super::{Counts, DAY_MS, HandoffCounts, StatsFilter, Tally};
use crate::attempts::{HandoffState, Trigger};
use crate::category::ErrorCategory;
use crate::store::{Store, StoreError, now_ms, on_backend};
use futures_util::TryStreamExt;
use sqlx::{Database, Encode, QueryBuilder, Type};
use std::collections::BTreeMap;

/// The most points a time series may have (a week of minutes, 416 days of hours).
pub const MAX_SERIES_POINTS: i64 = 10_000;
/// Error groups read from the rollups per query, before merging with the edges' and picking
/// the top ones. A group outside the whole days' top 500 reaches the top ten only if the
/// partial days at the edges hold more of its failures than the 500th group has in all the
/// whole days; the benchmark and the tests compare top errors with the exact ones.
const ERROR_GROUPS: i64 = 500;

const CATEGORY_SUMS: &str = "CAST(sum(network) AS BIGINT), CAST(sum(timeout) AS BIGINT), \
     CAST(sum(authentication) AS BIGINT), CAST(sum(configuration) AS BIGINT), \
     CAST(sum(validation) AS BIGINT), CAST(sum(server) AS BIGINT)";

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(
        "the series would have {points} {bucket} buckets; the most is {MAX_SERIES_POINTS}: \
         narrow the time window or use a coarser bucket"
    )]
    TooManyPoints { points: i64, bucket: &'static str },
    #[error("the window's end must be after its start")]
    EmptyWindow,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StatsError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// Which whole days to read from the rollups: all of them, or `[first, end)`.
#[derive(Debug, Clone, Copy)]
enum Days {
    All,
    Range(i64, i64),
}

/// ` AND integration_id = ? AND trigger = ?` as the filter asks (rollups and attempts alike).
fn push_keys<DB: Database>(qb: &mut QueryBuilder<DB>, f: &StatsFilter)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(i) = f.integration {
        qb.push(" AND integration_id = ").push_bind(i.to_string());
    }
    if let Some(t) = f.trigger {
        qb.push(" AND trigger = ").push_bind(t.as_str());
    }
}

fn push_days<DB: Database>(qb: &mut QueryBuilder<DB>, days: Days)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Days::Range(first, end) = days {
        qb.push(" AND day >= ").push_bind(first);
        qb.push(" AND day < ").push_bind(end);
    }
}

/// The attempts filter: keys, session, and `[since, until)`.
fn push_attempts<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    f: &StatsFilter,
    since: Option<i64>,
    until: Option<i64>,
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    push_keys(qb, f);
    if let Some(s) = &f.session {
        qb.push(" AND session_id = ").push_bind(s.clone());
    }
    if let Some(s) = since {
        qb.push(" AND started_at >= ").push_bind(s);
    }
    if let Some(u) = until {
        qb.push(" AND started_at < ").push_bind(u);
    }
}

fn category_index(category: Option<&str>) -> Option<usize> {
    let c = ErrorCategory::parse(category?)?;
    ErrorCategory::ALL.iter().position(|x| *x == c)
}

impl Store {
    /// Statistics from the rollups (and the attempts at a window's edges): fast on any
    /// history; percentiles within 1% of exact.
    pub async fn stats(&self, f: &StatsFilter) -> Result<super::Stats, StatsError> {
        check_window(f)?;
        let day_series = f.bucket == super::SeriesBucket::Day;
        let mut tally = if f.session.is_some() {
            // A session has a handful of attempts, found by their index; rollups don't key it.
            self.tally_attempts(f, f.since_ms, f.until_ms, false, day_series)
                .await?
        } else {
            self.rollups_and_edges(f, day_series).await?
        };
        if !day_series {
            check_points(f, series_span(f, None))?;
            let (_, series) = self
                .counts_from_attempts(f, f.since_ms, f.until_ms, true)
                .await?;
            tally.series = series;
        }
        let span = self.span(f, &tally)?;
        let mut stats = tally.into_stats(f, false, span);
        stats.handoffs = self.handoff_counts(f, false).await?;
        Ok(stats)
    }

    /// Statistics computed from every matching attempt, with exact percentiles. Slow on a
    /// large history (it reads every attempt); the reference for [`Store::stats`].
    pub async fn stats_exact(&self, f: &StatsFilter) -> Result<super::Stats, StatsError> {
        check_window(f)?;
        check_points(f, series_span(f, None))?;
        let tally = self
            .tally_attempts(f, f.since_ms, f.until_ms, true, true)
            .await?;
        let span = self.span(f, &tally)?;
        let mut stats = tally.into_stats(f, true, span);
        stats.handoffs = self.handoff_counts(f, true).await?;
        Ok(stats)
    }

    /// The handoffs `f` selects, by state: whole days from the rollups (`stats_handoffs_daily`),
    /// the partial days at a window's edges and a session's handoffs from `handoffs` itself;
    /// everything from `handoffs` when `exact`. (Part of [`Store::stats`]; alone for the
    /// benchmark.)
    pub async fn handoff_counts(
        &self,
        f: &StatsFilter,
        exact: bool,
    ) -> Result<HandoffCounts, StatsError> {
        if f.trigger == Some(Trigger::Test) {
            // Configuration tests are never handoffs.
            return Ok(HandoffCounts::default());
        }
        if exact || f.session.is_some() {
            return self.handoffs_from_rows(f, f.since_ms, f.until_ms).await;
        }
        let Some((first, end)) = whole_days(f) else {
            return self.handoffs_from_rows(f, f.since_ms, f.until_ms).await;
        };
        let mut counts = self.handoffs_from_rollups(f, first, end).await?;
        if let Some(s) = f.since_ms
            && s < first * DAY_MS
        {
            let edge = self
                .handoffs_from_rows(f, Some(s), Some(first * DAY_MS))
                .await?;
            counts.merge(&edge);
        }
        if let Some(u) = f.until_ms
            && end * DAY_MS < u
        {
            let edge = self
                .handoffs_from_rows(f, Some(end * DAY_MS), Some(u))
                .await?;
            counts.merge(&edge);
        }
        Ok(counts)
    }

    /// Handoffs created on the whole days `[first, end)` (all days when unbounded).
    async fn handoffs_from_rollups(
        &self,
        f: &StatsFilter,
        first: i64,
        end: i64,
    ) -> Result<HandoffCounts, StatsError> {
        let rows: Vec<(String, i64)> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(
                "SELECT state, CAST(sum(n) AS BIGINT) FROM stats_handoffs_daily \
                 WHERE origin <> 'test'",
            );
            push_handoff_trigger(&mut qb, f, true);
            if let Some(i) = f.integration {
                qb.push(" AND integration_id = ").push_bind(i.to_string());
            }
            if first > i64::MIN {
                qb.push(" AND day >= ").push_bind(first);
            }
            if end < i64::MAX {
                qb.push(" AND day < ").push_bind(end);
            }
            qb.push(" GROUP BY state");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut counts = HandoffCounts::default();
        for (state, n) in rows {
            counts.add(&state, n.max(0) as u64);
        }
        Ok(counts)
    }

    /// Handoffs created in `[since, until)`, counted from the handoffs themselves.
    async fn handoffs_from_rows(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<HandoffCounts, StatsError> {
        let rows: Vec<(String, i64)> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {} AS state, count(*) FROM handoffs h WHERE h.origin <> 'test'",
                HandoffState::SQL
            ));
            push_handoff_trigger(&mut qb, f, false);
            if let Some(i) = f.integration {
                qb.push(" AND h.integration_id = ").push_bind(i.to_string());
            }
            if let Some(s) = &f.session {
                qb.push(" AND h.session_id = ").push_bind(s.clone());
            }
            if let Some(s) = since {
                qb.push(" AND h.created_at >= ").push_bind(s);
            }
            if let Some(u) = until {
                qb.push(" AND h.created_at < ").push_bind(u);
            }
            qb.push(" GROUP BY 1");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut counts = HandoffCounts::default();
        for (state, n) in rows {
            counts.add(&state, n.max(0) as u64);
        }
        Ok(counts)
    }

    async fn rollups_and_edges(&self, f: &StatsFilter, series: bool) -> Result<Tally, StatsError> {
        if f.since_ms.is_none() && f.until_ms.is_none() {
            return self.rollups(f, Days::All, series).await;
        }
        // Whole days inside the window come from the rollups; the rest from the attempts.
        let Some((first, end)) = whole_days(f) else {
            return self
                .tally_attempts(f, f.since_ms, f.until_ms, false, series)
                .await;
        };
        let mut tally = self.rollups(f, Days::Range(first, end), series).await?;
        if let Some(s) = f.since_ms
            && s < first * DAY_MS
        {
            let edge = self
                .tally_attempts(f, Some(s), Some(first * DAY_MS), false, series)
                .await?;
            tally.merge(edge);
        }
        if let Some(u) = f.until_ms
            && end * DAY_MS < u
        {
            let edge = self
                .tally_attempts(f, Some(end * DAY_MS), Some(u), false, series)
                .await?;
            tally.merge(edge);
        }
        Ok(tally)
    }

    /// Counts, durations and errors of whole days from the rollups (with a daily series when
    /// `series`).
    async fn rollups(
        &self,
        f: &StatsFilter,
        days: Days,
        series: bool,
    ) -> Result<Tally, StatsError> {
        let mut tally = Tally::default();

        /// Day, total, succeeded, failed, pending, timed, duration sum, then the categories.
        type DayRow = (
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        /// Category, message, failures.
        type ErrorRow = (String, String, i64);
        let (days_rows, durations, rows): (Vec<DayRow>, Vec<(i64, i64)>, Vec<ErrorRow>) = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT day, CAST(sum(total) AS BIGINT), CAST(sum(succeeded) AS BIGINT), \
                 CAST(sum(failed) AS BIGINT), CAST(sum(pending) AS BIGINT), \
                 CAST(sum(timed) AS BIGINT), CAST(sum(duration_sum) AS BIGINT), \
                 {CATEGORY_SUMS} FROM stats_daily WHERE 1 = 1"
            ));
            push_keys(&mut qb, f);
            push_days(&mut qb, days);
            qb.push(" GROUP BY day");
            let by_day = qb.build_query_as().fetch_all(&db.read).await?;

            let mut qb = QueryBuilder::new(match days {
                Days::All => {
                    "SELECT bucket, CAST(sum(n) AS BIGINT) FROM stats_durations WHERE 1 = 1"
                }
                Days::Range(..) => {
                    "SELECT bucket, CAST(sum(n) AS BIGINT) FROM stats_durations_daily \
                     WHERE 1 = 1"
                }
            });
            push_keys(&mut qb, f);
            push_days(&mut qb, days);
            qb.push(" GROUP BY bucket");
            let durations = qb.build_query_as().fetch_all(&db.read).await?;

            let mut qb = QueryBuilder::new(match days {
                Days::All => {
                    "SELECT category, message, CAST(sum(n) AS BIGINT) AS c FROM stats_errors \
                     WHERE 1 = 1"
                }
                Days::Range(..) => {
                    "SELECT category, message, CAST(sum(n) AS BIGINT) AS c \
                     FROM stats_errors_daily WHERE 1 = 1"
                }
            });
            push_keys(&mut qb, f);
            push_days(&mut qb, days);
            qb.push(" GROUP BY category, message HAVING sum(n) > 0 ORDER BY c DESC LIMIT ")
                .push_bind(ERROR_GROUPS);
            let errors = qb.build_query_as().fetch_all(&db.read).await?;
            (by_day, durations, errors)
        });
        for (day, total, succeeded, failed, pending, timed, duration_sum, c0, c1, c2, c3, c4, c5) in
            days_rows
        {
            let n = |v: i64| v.max(0) as u64;
            let c = Counts {
                total: n(total),
                succeeded: n(succeeded),
                failed: n(failed),
                pending: n(pending),
                timed: n(timed),
                duration_sum,
                by_category: [n(c0), n(c1), n(c2), n(c3), n(c4), n(c5)],
            };
            tally.counts.merge(&c);
            if series && c.total > 0 {
                tally.series.insert(day, c);
            }
        }
        for (bucket, n) in durations {
            if bucket >= 0 && n > 0 {
                tally.durations.add(bucket as usize, n as u64);
            }
        }
        for (category, message, n) in rows {
            tally.errors.insert((category, message), n as u64);
        }
        Ok(tally)
    }

    /// Everything about the attempts in `[since, until)`, read from the attempts themselves.
    /// With `series`, also counts per series bucket.
    async fn tally_attempts(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
        exact: bool,
        series: bool,
    ) -> Result<Tally, StatsError> {
        let mut tally = Tally::default();
        let (counts, by_bucket) = self.counts_from_attempts(f, since, until, series).await?;
        tally.counts = counts;
        tally.series = by_bucket;

        let rows: Vec<(String, String, i64)> = on_backend!(self, db => {
            // Streamed: an exact tally reads every matching attempt's duration.
            let mut qb = QueryBuilder::new("SELECT duration_ms FROM attempts WHERE 1 = 1");
            push_attempts(&mut qb, f, since, until);
            qb.push(" AND status <> 'pending' AND duration_ms IS NOT NULL");
            let mut rows = qb.build_query_scalar::<i64>().fetch(&db.read);
            while let Some(ms) = rows.try_next().await? {
                if exact {
                    tally.exact_durations.push(ms);
                } else {
                    tally.durations.record(ms);
                }
            }
            drop(rows);

            let mut qb = QueryBuilder::new(
                "SELECT coalesce(category, ''), substr(message, 1, 200), count(*) FROM attempts \
                 WHERE status = 'failed'",
            );
            push_attempts(&mut qb, f, since, until);
            qb.push(" GROUP BY 1, 2");
            qb.build_query_as().fetch_all(&db.read).await?
        });
        for (category, message, n) in rows {
            *tally.errors.entry((category, message)).or_default() += n.max(0) as u64;
        }
        Ok(tally)
    }

    /// The counts of the attempts in `[since, until)`, and with `series` per series bucket.
    async fn counts_from_attempts(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
        series: bool,
    ) -> Result<(Counts, BTreeMap<i64, Counts>), StatsError> {
        /// Series bucket, status, category, count, timed count, duration sum.
        type Row = (i64, String, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new("SELECT ");
            if series {
                qb.push("started_at / ").push_bind(f.bucket.ms());
            } else {
                qb.push("CAST(0 AS BIGINT)");
            }
            qb.push(
                " AS b, status, category, count(*), \
                 count(*) FILTER (WHERE status <> 'pending' AND duration_ms IS NOT NULL), \
                 CAST(coalesce(sum(CASE WHEN status <> 'pending' THEN duration_ms END), 0) \
                      AS BIGINT) \
                 FROM attempts WHERE 1 = 1",
            );
            push_attempts(&mut qb, f, since, until);
            qb.push(" GROUP BY b, status, category");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut total = Counts::default();
        let mut by_bucket = BTreeMap::new();
        for (b, status, category, n, timed, duration_sum) in rows {
            let n = n.max(0) as u64;
            let mut c = Counts {
                total: n,
                timed: timed.max(0) as u64,
                duration_sum,
                ..Counts::default()
            };
            match status.as_str() {
                "succeeded" => c.succeeded = n,
                "failed" => {
                    c.failed = n;
                    if let Some(i) = category_index(category.as_deref()) {
                        c.by_category[i] = n;
                    }
                }
                _ => c.pending = n,
            }
            total.merge(&c);
            if series {
                by_bucket.entry(b).or_insert_with(Counts::default).merge(&c);
            }
        }
        Ok((total, by_bucket))
    }

    /// The series' first and last bucket: the window's, or the data's where it is open.
    fn span(&self, f: &StatsFilter, tally: &Tally) -> Result<Option<(i64, i64)>, StatsError> {
        let data = tally
            .series
            .first_key_value()
            .zip(tally.series.last_key_value())
            .map(|((a, _), (b, _))| (*a, *b));
        let span = series_span(f, data);
        check_points(f, span)?;
        Ok(span.filter(|(a, b)| a <= b))
    }
}

/// The whole UTC days `[first, end)` inside the window (`i64::MIN`/`MAX` where it is open), or
/// `None` when it holds no whole day.
fn whole_days(f: &StatsFilter) -> Option<(i64, i64)> {
    let first = f.since_ms.map_or(i64::MIN, |s| {
        s.div_euclid(DAY_MS) + i64::from(s.rem_euclid(DAY_MS) != 0)
    });
    let end = f.until_ms.map_or(i64::MAX, |u| u.div_euclid(DAY_MS));
    (first < end).then_some((first, end))
}

/// The handoff condition of `f.trigger`, over the rollups or over `handoffs h` (the list's rule;
/// `test` selects nothing and is answered before any query).
fn push_handoff_trigger<DB: Database>(qb: &mut QueryBuilder<DB>, f: &StatsFilter, rollups: bool) {
    if f.trigger == Some(Trigger::Test) {
        return;
    }
    if rollups {
        crate::attempts::push_handoff_trigger(qb, f.trigger, "origin", "retried");
    } else {
        crate::attempts::push_handoff_trigger(qb, f.trigger, "h.origin", "h.attempts > 1");
    }
}

/// The first and last series bucket (inclusive): the window's ends, else the data's; an open
/// end after a given start is now.
fn series_span(f: &StatsFilter, data: Option<(i64, i64)>) -> Option<(i64, i64)> {
    let width = f.bucket.ms();
    let first = f
        .since_ms
        .map(|s| s.div_euclid(width))
        .or(data.map(|d| d.0));
    let last = f
        .until_ms
        .map(|u| (u - 1).div_euclid(width))
        .or(f.since_ms.map(|_| now_ms().div_euclid(width)))
        .or(data.map(|d| d.1));
    first.zip(last)
}

/// Refuses a series that would have more than [`MAX_SERIES_POINTS`] points.
fn check_points(f: &StatsFilter, span: Option<(i64, i64)>) -> Result<(), StatsError> {
    if let Some((first, last)) = span {
        let points = last.saturating_sub(first).saturating_add(1);
        if points > MAX_SERIES_POINTS {
            return Err(StatsError::TooManyPoints {
                points,
                bucket: f.bucket.as_str(),
            });
        }
    }
    Ok(())
}

fn check_window(f: &StatsFilter) -> Result<(), StatsError> {
    if let (Some(s), Some(u)) = (f.since_ms, f.until_ms)
        && u <= s
    {
        return Err(StatsError::EmptyWindow);
    }
    Ok(())
}
